//! The HTTP functions' handler: an API Gateway HTTP API (payload 2.0)
//! request in, `khamsa_app::http::handle` — the same code the local server
//! runs — and its response out.

use crate::Function;
use khamsa_app::http as glue;
use khamsa_app::{App, AppError};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::convert::Infallible;

/// One HTTP function, built once per execution environment.
pub struct Api {
    pub function: Function,
    pub app: App,
}

impl Api {
    /// Answers one request. Never fails: every refusal is problem+json.
    pub async fn handle(&self, req: Request) -> Result<Response<Body>, Infallible> {
        let req = without_stage(req);
        let method = req.method().as_str().to_owned();
        let path = req.raw_http_path().to_owned();
        match glue::match_route(&method, &path) {
            Ok((template, _))
                if self
                    .function
                    .routes()
                    .contains(&(method.as_str(), template)) => {}
            Ok((template, _)) => {
                // API Gateway sends a function only its own routes, so this
                // is a wiring mistake; refuse rather than serve a route
                // whose IAM rights this function was not given.
                tracing::warn!(
                    function = self.function.name(),
                    %method,
                    route = template,
                    "route belongs to another function"
                );
                return Ok(glue::error_response(&AppError::NotFound("route")));
            }
            // `$default`: no route matched, 404 or 405 as the local server answers.
            Err(e) => return Ok(glue::error_response(&e)),
        }
        Ok(glue::handle(&self.app, req).await)
    }
}

/// On a named stage (not `$default`) API Gateway puts the stage in front of
/// `rawPath` (`/prod/orders`); the routes know nothing of stages. The
/// template uses `$default`, so this only matters if someone adds a stage.
fn without_stage(req: Request) -> Request {
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| s != "$default" && !s.is_empty()) else {
        return req;
    };
    let prefix = format!("/{stage}");
    let stripped = match req.raw_http_path().strip_prefix(&prefix) {
        Some(rest) if rest.starts_with('/') => rest.to_owned(),
        _ => return req,
    };
    req.with_raw_http_path(stripped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(stage: &str, path: &str) -> Request {
        let e = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                          "sourceIp": "1.1.1.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "$default", "stage": stage,
                "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&e.to_string()).unwrap()
    }

    #[test]
    fn a_named_stage_is_dropped_from_the_path() {
        assert_eq!(
            without_stage(event("prod", "/prod/orders/1")).raw_http_path(),
            "/orders/1"
        );
        assert_eq!(
            without_stage(event("$default", "/orders/1")).raw_http_path(),
            "/orders/1"
        );
        // Only a whole leading segment is a stage.
        assert_eq!(
            without_stage(event("me", "/media")).raw_http_path(),
            "/media"
        );
    }
}
