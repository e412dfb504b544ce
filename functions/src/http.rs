//! The HTTP functions' handler: an API Gateway HTTP API (payload 2.0)
//! request in, `khamsa_http::serve` — the same code the local server
//! runs — and its response out.

use crate::{Function, HttpBinary, function_for};
use khamsa_app::{App, AppError};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::convert::Infallible;
use std::marker::PhantomData;

/// One HTTP function, built once per execution environment; `B` names
/// the routes its binary serves.
pub struct Api<B> {
    pub function: Function,
    pub app: App,
    pub(crate) binary: PhantomData<B>,
}

impl<B: HttpBinary> Api<B> {
    /// Answers one request. Never fails: every refusal is problem+json.
    pub async fn handle(&self, req: Request) -> Result<Response<Body>, Infallible> {
        let req = without_stage(req);
        // API Gateway's `routeKey` names the route; `$default` (no route
        // matched) falls back to the path, answering 404 or 405 as the
        // local server does, without touching the store.
        let found = khamsa_http::resolve(&req);
        if let Ok(f) = &found
            && function_for(f.row.route) != self.function
        {
            // API Gateway sends a function only its own routes, so this
            // is a wiring mistake; refuse rather than serve a route
            // whose IAM rights this function was not given.
            tracing::warn!(
                function = self.function.name(),
                method = f.row.method.as_str(),
                route = f.row.path,
                "route belongs to another function"
            );
            return Ok(khamsa_http::error_response(&AppError::NotFound("route")));
        }
        // The Lambda deadline less a margin: whatever is still retrying
        // then is dropped, and the client gets a 503 it may retry.
        let budget = req
            .lambda_context_ref()
            .and_then(|c| crate::budget::remaining(c.deadline));
        let serve = khamsa_http::serve_only::<B>(&self.app, req, found);
        Ok(match budget {
            None => serve.await,
            Some(left) => tokio::time::timeout(left, serve)
                .await
                .unwrap_or_else(|_| khamsa_http::out_of_time()),
        })
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
    use khamsa_http::Route;
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
        ApiGatewayV2httpRequestContextHttpDescription,
    };
    use lambda_http::http::Method;
    use lambda_http::request::LambdaRequest;

    fn event(route_key: &str, stage: &str, method: Method, path: &str) -> ApiGatewayV2httpRequest {
        let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
        http.method = method;
        http.path = Some(path.to_owned());
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.route_key = Some(route_key.to_owned());
        ctx.stage = Some(stage.to_owned());
        ctx.http = http;
        let mut e = ApiGatewayV2httpRequest::default();
        e.version = Some("2.0".to_owned());
        e.route_key = Some(route_key.to_owned());
        e.raw_path = Some(path.to_owned());
        e.request_context = ctx;
        e
    }

    fn request(e: ApiGatewayV2httpRequest) -> Request {
        LambdaRequest::ApiGatewayV2(e).into()
    }

    #[test]
    fn a_named_stage_is_dropped_from_the_path() {
        let path = |stage, path| {
            without_stage(request(event("$default", stage, Method::GET, path)))
                .raw_http_path()
                .to_owned()
        };
        assert_eq!(path("prod", "/prod/orders/1"), "/orders/1");
        assert_eq!(path("$default", "/orders/1"), "/orders/1");
        // Only a whole leading segment is a stage.
        assert_eq!(path("me", "/media"), "/media");
    }

    #[test]
    fn the_route_key_names_the_route_and_its_id() {
        let mut e = event(
            "POST /orders/{id}/deliver",
            "$default",
            Method::POST,
            "/orders/o1/deliver",
        );
        e.path_parameters = [("id".to_owned(), "o1".to_owned())].into();
        let found = khamsa_http::resolve(&request(e)).unwrap();
        assert_eq!((found.row.route, found.id.as_str()), (Route::Deliver, "o1"));

        // `$default`: the path decides.
        let e = event("$default", "$default", Method::GET, "/me/sales");
        let found = khamsa_http::resolve(&request(e)).unwrap();
        assert_eq!(found.row.route, Route::MySales);
        let e = event("$default", "$default", Method::DELETE, "/me/sales");
        assert!(matches!(
            khamsa_http::resolve(&request(e)),
            Err(AppError::MethodNotAllowed)
        ));
    }

    #[test]
    fn an_id_from_api_gateway_that_cannot_be_ours_is_not_found() {
        let long = "o".repeat(5000);
        let mut e = event(
            "GET /orders/{id}",
            "$default",
            Method::GET,
            &format!("/orders/{long}"),
        );
        e.path_parameters = [("id".to_owned(), long)].into();
        assert!(matches!(
            khamsa_http::resolve(&request(e)),
            Err(AppError::NotFound("order"))
        ));
    }
}
