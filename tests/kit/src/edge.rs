//! The HTTP edge without a server: API Gateway v2 events as a signed-in
//! caller, answered by `khamsa_http::handle` on an `App` the test wired,
//! and a notifier that only queues (as SQS does), so a test counts the
//! store calls a warm Lambda function makes.

use crate::T0;
use async_trait::async_trait;
use khamsa_app::memory::{FixedClock, MemoryMailer, WakeScheduler};
use khamsa_app::ports::{Notifier, Payments, Store};
use khamsa_app::{App, Ports};
use khamsa_domain::Config;
use khamsa_domain::ids::OutboxId;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription, ApiGatewayV2httpRequest,
};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request};
use std::sync::Arc;

/// What the SQS notifier is to the store: nothing is read back.
pub struct Queued;

#[async_trait]
impl Notifier for Queued {
    async fn outbox_written(&self, _ids: &[OutboxId]) {}
}

/// An `App` on `store` as a Lambda function wires it (emails queued, not
/// sent inline), with the clock standing at `T0`.
pub fn app_on(store: Arc<dyn Store>) -> App {
    App::new(
        Ports {
            store,
            clock: Arc::new(FixedClock::new(T0)),
            mailer: Arc::new(MemoryMailer::new()),
            notifier: Arc::new(Queued),
            scheduler: Arc::new(WakeScheduler::default()),
            payments: Payments::none(),
        },
        Config::default(),
        crate::PUBLIC_URL,
    )
}

/// `method path` as `user` (`user@example.com`), as API Gateway's JWT
/// authorizer hands it on, with a body and an optional `Idempotency-Key`.
pub fn request(method: &str, path: &str, user: &str, body: &str, key: Option<&str>) -> Request {
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some("$default".into());
    event.raw_path = Some(path.to_owned());
    event.raw_query_string = Some(String::new());
    event.body = (!body.is_empty()).then(|| body.to_owned());
    let ctx = &mut event.request_context;
    ctx.http.method = method.parse().expect("a method");
    ctx.http.path = Some(path.to_owned());
    ctx.domain_name = Some("localhost".into());
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims.insert("sub".into(), user.into());
    jwt.claims
        .insert("email".into(), format!("{user}@example.com"));
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    ctx.authorizer = Some(authorizer);
    if let Some(k) = key {
        event
            .headers
            .insert("idempotency-key", k.parse().expect("a header value"));
    }
    LambdaRequest::ApiGatewayV2(event).into()
}

/// Answers the request: its status and JSON body (`Null` when none).
pub async fn send(app: &App, req: Request) -> (u16, serde_json::Value) {
    let res = khamsa_http::handle(app, req).await;
    let status = res.status().as_u16();
    let body = match res.body() {
        Body::Text(s) => serde_json::from_str(s).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    (status, body)
}
