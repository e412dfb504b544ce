//! The time budget of one invocation (issue 9): the Lambda deadline less a
//! margin, so that retries (the SDK's, a commit's, `mutate`'s) stop in time
//! to answer `503` problem+json with `Retry-After` (HTTP) or to report the
//! unfinished messages as batch item failures (workers), instead of the
//! function timing out into API Gateway's bare `503` or a whole batch
//! coming back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Kept back from the deadline: time to build, log and return the answer.
pub const MARGIN: Duration = Duration::from_secs(1);

/// Time left for the work, given the deadline in milliseconds since the
/// epoch (the Runtime API's `Lambda-Runtime-Deadline-Ms`). `None` when no
/// deadline is known (0), so nothing is cut off; zero when already past.
pub fn remaining(deadline_ms: u64) -> Option<Duration> {
    if deadline_ms == 0 {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let left = Duration::from_millis(deadline_ms).saturating_sub(now);
    Some(left.saturating_sub(MARGIN))
}

/// The same, as a tokio instant, for the workers' batches.
pub fn deadline(deadline_ms: u64) -> Option<tokio::time::Instant> {
    remaining(deadline_ms).map(|left| tokio::time::Instant::now() + left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    /// A "store" that accepts connections and never answers a byte.
    async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        (format!("http://{addr}"), task)
    }

    /// An `App` on DynamoDB at `endpoint`, with the functions' SDK timeouts.
    fn app_on(endpoint: &str) -> khamsa_app::App {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        use std::sync::Arc;
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(endpoint)
            .timeout_config(khamsa_aws::https::lambda_timeouts())
            .build();
        let store = Arc::new(khamsa_aws::dynamo::DynamoStore::new(
            aws_sdk_dynamodb::Client::from_conf(conf),
            "khamsa-black-hole",
        ));
        khamsa_app::memory::InMemory::new(
            store,
            Arc::new(crate::boot::SystemClock),
            Arc::new(khamsa_app::memory::MemoryMailer::new()),
            khamsa_domain::Config::default(),
            "http://t",
        )
        .app
    }

    fn context(deadline_ms: u64) -> lambda_http::Context {
        let mut c = lambda_http::Context::default();
        c.deadline = deadline_ms;
        c
    }

    /// The deadline test (issue 9): the table's endpoint accepts and never
    /// answers; the function still answers, before its deadline, with a
    /// `503` problem the client may retry.
    #[tokio::test]
    async fn a_store_that_never_answers_gets_a_503_problem_within_the_budget() {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
        use lambda_http::request::LambdaRequest;
        use lambda_http::{Body, RequestExt};
        let (endpoint, hole) = black_hole().await;
        let api = crate::Api::<crate::bin::Services> {
            function: crate::Function::Services,
            app: app_on(&endpoint),
            binary: std::marker::PhantomData,
        };
        let mut e = ApiGatewayV2httpRequest::default();
        e.version = Some("2.0".into());
        e.route_key = Some("GET /services/{id}".into());
        e.raw_path = Some("/services/svc_1".into());
        e.request_context.route_key = e.route_key.clone();
        e.request_context.http.method = lambda_http::http::Method::GET;
        e.request_context.http.path = e.raw_path.clone();
        e.path_parameters = [("id".to_owned(), "svc_1".to_owned())].into();
        let deadline = now_ms() + 3_000;
        let req = lambda_http::Request::from(LambdaRequest::ApiGatewayV2(e))
            .with_lambda_context(context(deadline));

        let started = std::time::Instant::now();
        let r = api.handle(req).await.unwrap();
        let took = started.elapsed();
        assert!(
            now_ms() < deadline,
            "answered before the deadline ({took:?})"
        );
        assert!(
            took >= Duration::from_millis(1_500),
            "the budget was used: {took:?}"
        );
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(r.headers()["retry-after"], "1");
        let Body::Text(body) = r.body() else {
            panic!("a text body")
        };
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (v["status"].as_u64(), v["code"].as_str()),
            (Some(503), Some("unavailable"))
        );
        hole.abort();
    }

    /// The same for a worker: the messages it could not finish in time are
    /// reported as batch item failures, before the deadline.
    #[tokio::test]
    async fn a_worker_reports_what_it_could_not_finish_in_time() {
        use aws_lambda_events::event::sqs::SqsEvent;
        let (endpoint, hole) = black_hole().await;
        let worker = crate::Worker {
            function: crate::Function::Timers,
            app: app_on(&endpoint),
            scheduler: None,
            notifier: None,
        };
        let body = r#"{"order_id":"ord_1","kind":"auto_cancel","due":0}"#;
        let records: Vec<serde_json::Value> = (1..=3)
            .map(|i| {
                serde_json::json!({
                    "messageId": format!("m{i}"), "body": body,
                    "attributes": {}, "messageAttributes": {}
                })
            })
            .collect();
        let event: SqsEvent =
            serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
        let deadline = now_ms() + 2_500;
        let started = std::time::Instant::now();
        let out = worker
            .timers(lambda_runtime::LambdaEvent::new(event, context(deadline)))
            .await
            .unwrap();
        assert!(
            now_ms() < deadline,
            "answered before the deadline ({:?})",
            started.elapsed()
        );
        let v = serde_json::to_value(out).unwrap();
        let failed: Vec<_> = v["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(failed, ["m1", "m2", "m3"]);
        hole.abort();
    }

    #[test]
    fn the_budget_is_the_deadline_less_the_margin() {
        assert_eq!(remaining(0), None);
        let left = remaining(now_ms() + 10_000).unwrap();
        assert!(left <= Duration::from_secs(9) && left > Duration::from_millis(8_900));
        assert_eq!(remaining(now_ms() + 500), Some(Duration::ZERO));
        assert_eq!(remaining(1), Some(Duration::ZERO));
    }
}
