//! Each function binary run as Lambda runs it: started with
//! `AWS_LAMBDA_RUNTIME_API` pointing at the emulator in `runtime.rs` and
//! the environment template.yaml gives it, handed real events, its answers
//! checked — on DynamoDB Local and moto (`source "$(bash
//! infra/emulators/up.sh)"`). Without the emulators these tests skip,
//! loudly, unless `KHAMSA_REQUIRE_EMULATORS=1`, where they fail.

use crate::fixture;
use crate::runtime::{Outcome, RuntimeApi};
use crate::template::{Index, Template, table_shape};
use khamsa_aws::dynamo::DynamoStore;
use khamsa_aws::sqs::ensure_queue;
use khamsa_domain::Timestamp;
use khamsa_domain::ids::OrderId;
use khamsa_domain::order::{Timer, TimerKind};
use khamsa_functions::Function;
use khamsa_testkit::aws::{moto_emails, sdk_config};
use khamsa_testkit::env::ALL;
use khamsa_testkit::{emulators, unique, wall_ms};
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::http::HeaderValue;
use lambda_http::http::header::AUTHORIZATION;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

// ----------------------------------------------------------- harness ---

/// Where `cargo build -p khamsa-functions` put the binaries: beside this
/// test's own executable (`<target>/<profile>/deps/deploy-*`), so the same
/// target dir and profile as the test build.
fn binary(f: Function) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("<target>/<profile>/deps");
    let path = profile_dir.join(f.name());
    assert!(
        path.is_file(),
        "{} is missing: build the function binaries first, with the same target dir \
         and profile as the tests: `cargo build -p khamsa-functions`",
        path.display()
    );
    path
}

/// A function process and its Runtime API; killed when dropped.
struct Lambda {
    function: Function,
    api: RuntimeApi,
    child: Child,
    log: PathBuf,
}

impl Lambda {
    async fn start(f: Function, env: &BTreeMap<String, String>) -> Lambda {
        let api = RuntimeApi::start().await;
        let log =
            std::env::temp_dir().join(format!("{}.log", unique(&format!("khamsa-{}", f.name()))));
        let out = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(binary(f));
        // The test's own environment carries the emulators' endpoints and
        // credentials (as Lambda's carries a region and a role's); any
        // KHAMSA_* of the caller's is dropped so only the template's count.
        for (k, _) in std::env::vars() {
            if k.starts_with("KHAMSA_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env(
                "AWS_LAMBDA_FUNCTION_NAME",
                format!("khamsa-test-{}", f.name()),
            )
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/01/01/[$LATEST]0123456789abcdef",
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/khamsa/test/{}", f.name()),
            )
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        let child = cmd.spawn().expect("start the function binary");
        Lambda {
            function: f,
            api,
            child,
            log,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn invoke(&self, event: &Value) -> Outcome {
        self.api.invoke(event).await
    }

    /// An HTTP request through API Gateway's payload 2.0: (status, body).
    async fn http(&self, req: Req) -> (u16, Value) {
        let event = req.event();
        match self.invoke(&event).await {
            Outcome::Response(v) => {
                let status = v["statusCode"].as_u64().expect("statusCode") as u16;
                let body = v["body"].as_str().unwrap_or("");
                let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
                (status, body)
            }
            Outcome::Error(e) => panic!(
                "{} failed the invocation {} {}: {e}\n--- logs ---\n{}",
                self.function.name(),
                req.method,
                req.path,
                self.logs()
            ),
        }
    }

    /// Waits for the process to end by itself.
    fn exit_status(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        while start.elapsed() < within {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        } else {
            eprintln!(
                "--- {} logs ({}) ---\n{}",
                self.function.name(),
                self.log.display(),
                self.logs()
            );
        }
    }
}

/// A caller as the JWT authorizer describes it.
#[derive(Clone)]
struct Who {
    sub: String,
    email: String,
    operator: bool,
}

fn who(prefix: &str) -> Who {
    let sub = unique(prefix);
    Who {
        email: format!("{sub}@example.com"),
        sub,
        operator: false,
    }
}

struct Req {
    method: &'static str,
    path: String,
    query: String,
    body: Option<Value>,
    who: Option<Who>,
    idempotency_key: Option<String>,
}

fn req(method: &'static str, path: impl Into<String>) -> Req {
    Req {
        method,
        path: path.into(),
        query: String::new(),
        body: None,
        who: None,
        idempotency_key: None,
    }
}

impl Req {
    fn by(mut self, w: &Who) -> Req {
        self.who = Some(w.clone());
        self
    }
    fn body(mut self, b: Value) -> Req {
        self.body = Some(b);
        self
    }
    fn key(mut self, k: &str) -> Req {
        self.idempotency_key = Some(k.to_owned());
        self
    }

    /// The fixture's event with this request's method, path, route, body
    /// and claims (the authorizer's context only when a caller is given:
    /// public routes have no authorizer in AWS).
    fn event(&self) -> Value {
        let mut e: ApiGatewayV2httpRequest = serde_json::from_value(fixture("apigw-v2-http.json"))
            .expect("the fixture is an API Gateway v2 event");
        let (route_key, id) = route_key(self.method, &self.path);
        e.route_key = Some(route_key.clone());
        if let Some(id) = id {
            e.path_parameters.insert("id".into(), id);
        }
        e.raw_path = Some(self.path.clone());
        e.raw_query_string = Some(self.query.clone());
        e.body = self.body.as_ref().map(Value::to_string);
        let ctx = &mut e.request_context;
        ctx.route_key = Some(route_key);
        ctx.http.method = self.method.parse().expect("an HTTP method");
        ctx.http.path = Some(self.path.clone());
        if let Some(k) = &self.idempotency_key {
            e.headers.insert(
                "idempotency-key",
                HeaderValue::from_str(k).expect("a header value"),
            );
        }
        match &self.who {
            Some(w) => {
                let claims = &mut ctx
                    .authorizer
                    .get_or_insert_default()
                    .jwt
                    .get_or_insert_default()
                    .claims;
                claims.insert("sub".into(), w.sub.clone());
                claims.insert("email".into(), w.email.clone());
                claims.insert("email_verified".into(), "true".into());
                claims.insert(
                    "cognito:groups".into(),
                    if w.operator { "[operators]" } else { "[]" }.into(),
                );
                e.headers.insert(
                    AUTHORIZATION,
                    HeaderValue::from_static("Bearer eyJraWQiOi.verified-by-api-gateway.sig"),
                );
            }
            None => ctx.authorizer = None,
        }
        serde_json::to_value(&e).expect("the event serializes")
    }
}

/// What API Gateway sends for a request: the `routeKey` of the route it
/// matched (`POST /orders/{id}/deliver`) and its `{id}` path parameter, or
/// `$default` and none when no route matched (the function then answers
/// 404 or 405 itself).
fn route_key(method: &str, path: &str) -> (String, Option<String>) {
    match khamsa_http::table::find(method, path) {
        Ok(found) => (
            format!("{} {}", found.row.method.as_str(), found.row.path),
            Some(found.id).filter(|id| !id.is_empty()),
        ),
        Err(_) => ("$default".to_owned(), None),
    }
}

/// The table, queues and SES sender of one test run, unique names so runs
/// on a shared emulator never meet.
struct Stack {
    table: String,
    timers_url: String,
    notifications_url: String,
    payouts_url: String,
    /// The PayPal secret (in moto's Secrets Manager), as the template's
    /// `PayPalSecretArn` names it.
    paypal_secret: String,
    /// The unsubscribe links' key, as the template's `UnsubscribeSecret`.
    unsubscribe_secret: String,
    sender: String,
    sqs: aws_sdk_sqs::Client,
    ddb: aws_sdk_dynamodb::Client,
}

/// moto serves Secrets Manager beside SQS and SES; older env files from
/// infra/emulators/up.sh do not name it.
fn secrets_endpoint() -> Option<(String, String)> {
    let url = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .or_else(|_| std::env::var("KHAMSA_MOTO_URL"))
        .ok()?;
    Some(("AWS_ENDPOINT_URL_SECRETS_MANAGER".into(), url))
}

/// A secret in moto holding `value`; returns its ARN.
async fn put_secret(name: &str, value: &str) -> String {
    let mut conf = aws_sdk_secretsmanager::config::Builder::from(&sdk_config().await);
    if let Some((_, url)) = secrets_endpoint() {
        conf = conf.endpoint_url(url);
    }
    let sm = aws_sdk_secretsmanager::Client::from_conf(conf.build());
    let out = sm
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create the secret in moto");
    out.arn().expect("an ARN").to_owned()
}

impl Stack {
    async fn create() -> Stack {
        let sdk = sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let ses = aws_sdk_ses::Client::new(&sdk);
        let name = unique("khamsa-deploy");
        // Created here as the template creates them in AWS: the functions
        // create nothing.
        DynamoStore::new(ddb.clone(), name.clone())
            .create_table()
            .await
            .expect("create the table in DynamoDB Local");
        let timers_url = ensure_queue(&sqs, &format!("{name}-timers"))
            .await
            .expect("timers queue");
        let notifications_url = ensure_queue(&sqs, &format!("{name}-notifications"))
            .await
            .expect("notifications queue");
        let payouts_url = ensure_queue(&sqs, &format!("{name}-payouts"))
            .await
            .expect("payouts queue");
        let paypal_secret = put_secret(
            &format!("{name}-paypal"),
            r#"{"client_id": "test-client", "client_secret": "test-secret"}"#,
        )
        .await;
        // The stack generates 64 alphanumeric characters; any will do here.
        let unsubscribe_secret = put_secret(&format!("{name}-unsubscribe"), &"k".repeat(64)).await;
        let sender = "no-reply@khamsa.example".to_owned();
        khamsa_aws::ses::verify_identity(&ses, &sender)
            .await
            .expect("verify the sender");
        Stack {
            table: name,
            timers_url,
            notifications_url,
            payouts_url,
            paypal_secret,
            unsubscribe_secret,
            sender,
            sqs,
            ddb,
        }
    }

    /// template.yaml's environment for `f`, with this stack's names.
    fn env(&self, t: &Template, f: Function) -> BTreeMap<String, String> {
        let mut env = t.environment(f, &|_, reference| match reference {
            "Table" => Some(self.table.clone()),
            "TimersQueue" => Some(self.timers_url.clone()),
            "NotificationsQueue" => Some(self.notifications_url.clone()),
            "PayoutsQueue" => Some(self.payouts_url.clone()),
            "PayPalSecretArn" => Some(self.paypal_secret.clone()),
            "PayPalWebhookId" => Some("WH-TEST".into()),
            "SesSender" => Some(self.sender.clone()),
            "FilesBucket" => Some("khamsa-local-files".into()),
            "UnsubscribeSecret" => Some(self.unsubscribe_secret.clone()),
            "!Sub" => Some("http://127.0.0.1:9".into()),
            _ => None,
        });
        env.extend(secrets_endpoint().filter(|_| f.calls_paypal() || f.unsubscribe_links()));
        env
    }
}

fn sqs_event(messages: &[(String, String)]) -> Value {
    let template = fixture("sqs.json")["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(id);
            r["body"] = json!(body);
            r
        })
        .collect();
    json!({ "Records": records })
}

// ------------------------------------------------------------- tests ---

#[tokio::test]
async fn a_function_missing_a_setting_refuses_to_start() {
    let t = Template::load();
    let mut env = t.environment(Function::Order, &|_, r| match r {
        "Table" => Some("khamsa-test".into()),
        "NotificationsQueue" | "TimersQueue" => Some("http://127.0.0.1:9/q".into()),
        "PayPalSecretArn" => Some("arn:aws:secretsmanager:us-east-1:000000000000:secret:p".into()),
        "PayPalWebhookId" => Some("WH-TEST".into()),
        _ => None,
    });
    assert!(env.remove("KHAMSA_TIMERS_QUEUE_URL").is_some());
    let mut l = Lambda::start(Function::Order, &env).await;
    let status = l
        .exit_status(Duration::from_secs(20))
        .expect("the function stops by itself");
    assert!(!status.success(), "a bad configuration is an error exit");
    assert!(
        l.logs().contains("KHAMSA_TIMERS_QUEUE_URL"),
        "the error names the variable:\n{}",
        l.logs()
    );
    assert_eq!(l.api.polls(), 0, "it never asked for an event");
}

#[tokio::test]
async fn the_payouts_function_refuses_a_bad_paypal_secret_without_logging_it() {
    if !emulators(
        "the_payouts_function_refuses_a_bad_paypal_secret_without_logging_it",
        ALL,
    ) {
        return;
    }
    let t = Template::load();
    let name = unique("khamsa-paypal");
    let arn = put_secret(&name, r#"{"client_id": "x", "password": "hunter2-SECRET"}"#).await;
    let mut env = t.environment(Function::Payouts, &|_, r| match r {
        "Table" => Some("khamsa-test".into()),
        "NotificationsQueue" | "PayoutsQueue" => Some("http://127.0.0.1:9/q".into()),
        "PayPalSecretArn" => Some(arn.clone()),
        "PayPalWebhookId" => Some("WH-TEST".into()),
        _ => None,
    });
    env.extend(secrets_endpoint());
    let mut l = Lambda::start(Function::Payouts, &env).await;
    let status = l
        .exit_status(Duration::from_secs(20))
        .expect("the function stops by itself");
    assert!(!status.success(), "a bad secret is an error exit");
    let logs = l.logs();
    assert!(logs.contains(&name), "the error names the secret:\n{logs}");
    assert!(!logs.contains("hunter2-SECRET"), "never its value:\n{logs}");
    assert_eq!(l.api.polls(), 0, "it never asked for an event");
}

#[tokio::test]
async fn the_table_is_the_one_the_adapter_creates() {
    if !emulators("the_table_is_the_one_the_adapter_creates", ALL) {
        return;
    }
    let stack = Stack::create().await;
    let d = stack
        .ddb
        .describe_table()
        .table_name(&stack.table)
        .send()
        .await
        .unwrap();
    let table = d.table().unwrap();
    let keys = |k: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        k.iter()
            .map(|e| {
                (
                    e.attribute_name().to_owned(),
                    e.key_type().as_str().to_owned(),
                )
            })
            .collect()
    };
    let mut gsis: Vec<Index> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap().to_owned(),
                keys(g.key_schema()),
                g.projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    gsis.sort();
    let attrs: BTreeMap<String, String> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    let ttl = stack
        .ddb
        .describe_time_to_live()
        .table_name(&stack.table)
        .send()
        .await
        .unwrap();
    let ttl_attr = ttl
        .time_to_live_description()
        .and_then(|t| t.attribute_name())
        .unwrap_or_default()
        .to_owned();
    let declared = table_shape(&Template::load());
    assert_eq!(keys(table.key_schema()), declared.keys, "key schema");
    assert_eq!(gsis, declared.indexes, "global secondary indexes");
    assert_eq!(attrs, declared.attributes, "attribute definitions");
    assert_eq!(ttl_attr, declared.ttl, "time to live");
}

#[tokio::test]
async fn every_function_answers_as_a_lambda() {
    if !emulators("every_function_answers_as_a_lambda", ALL) {
        return;
    }
    let t = Template::load();
    let stack = Stack::create().await;
    let mut lambdas: BTreeMap<&str, Lambda> = BTreeMap::new();
    for f in Function::ALL {
        lambdas.insert(f.name(), Lambda::start(f, &stack.env(&t, f)).await);
    }
    // A second accounts function with sandbox top-ups on, to fund a buyer
    // (the template's default, off, is checked below).
    let mut sandbox_env = stack.env(&t, Function::Accounts);
    sandbox_env.insert("KHAMSA_ALLOW_SANDBOX_TOPUPS".into(), "true".into());
    let sandbox = Lambda::start(Function::Accounts, &sandbox_env).await;
    let l = |name: &str| &lambdas[name];

    let seller = who("seller");
    let buyer = who("buyer");
    let mut operator = who("operator");
    operator.operator = true;

    // services + admin: a service listed, approved, public.
    let (s, svc) = l("services")
        .http(req("POST", "/services").by(&seller).body(json!({
            "title": "Arabic voice-over", "description": "One minute, studio quality.",
            "category": "audio", "price": "10.00", "delivery_days": 2
        })))
        .await;
    assert_eq!(s, 201, "{svc}");
    let svc_id = svc["id"].as_str().unwrap().to_owned();
    let (s, v) = l("admin")
        .http(req("POST", format!("/admin/services/{svc_id}/approve")).by(&operator))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("active")), "{v}");
    let (s, v) = l("services")
        .http(req("GET", format!("/services/{svc_id}")))
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (200, Some("active")),
        "anyone reads it: {v}"
    );

    // accounts: sandbox top-ups are off as deployed; on where allowed.
    let topup = json!({ "amount": "50.00", "method": "sandbox" });
    let (s, v) = l("accounts")
        .http(req("POST", "/me/topups").by(&buyer).body(topup.clone()))
        .await;
    assert_eq!(s, 422, "sandbox top-ups refused by default: {v}");
    let (s, v) = sandbox
        .http(req("POST", "/me/topups").by(&buyer).body(topup))
        .await;
    assert_eq!(s, 201, "{v}");

    // order → orders: placed through one function, seen through the other.
    let (s, order) = l("order")
        .http(
            req("POST", "/orders")
                .by(&buyer)
                .key("place-1")
                .body(json!({ "service_id": svc_id })),
        )
        .await;
    assert_eq!(s, 201, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    let (s, seen) = l("orders")
        .http(req("GET", format!("/orders/{order_id}")).by(&buyer))
        .await;
    assert_eq!(s, 200, "{seen}");
    assert_eq!(seen["id"], order["id"]);
    assert_eq!(seen["total"].as_str(), Some("10.00"));
    assert_eq!(seen["status"].as_str(), Some("in_progress"));
    let (s, v) = l("orders").http(req("GET", "/me/sales").by(&seller)).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["items"][0]["id"], order["id"],
        "the seller's incoming orders: {v}"
    );
    // A replay through the same function answers the first response.
    let (s, again) = l("order")
        .http(
            req("POST", "/orders")
                .by(&buyer)
                .key("place-1")
                .body(json!({ "service_id": svc_id })),
        )
        .await;
    assert_eq!((s, &again["id"]), (201, &order["id"]));

    // Each function serves only its routes; $default answers 404/405.
    let (s, _) = l("order").http(req("GET", "/me").by(&buyer)).await;
    assert_eq!(s, 404, "GET /me is the accounts function's");
    let (s, v) = l("services").http(req("DELETE", "/orders")).await;
    assert_eq!((s, v["code"].as_str()), (405, Some("method_not_allowed")));
    let (s, _) = l("services").http(req("GET", "/no/such/route")).await;
    assert_eq!(s, 404);
    let (s, v) = l("withdraw")
        .http(req("POST", "/withdrawals").body(json!({ "amount": "10.00" })))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("unauthorized")),
        "no claims, no caller"
    );

    // messages, deliver, receive (orders), review.
    let (s, v) = l("messages")
        .http(
            req("POST", format!("/orders/{order_id}/messages"))
                .by(&buyer)
                .body(json!({ "text": "Please read it slowly." })),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = l("messages")
        .http(req("GET", format!("/orders/{order_id}/messages")).by(&seller))
        .await;
    assert_eq!(
        (s, v["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{v}"
    );
    let (s, v) = l("deliver")
        .http(
            req("POST", format!("/orders/{order_id}/deliver"))
                .by(&seller)
                .body(json!({ "text": "Attached." })),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("delivered")), "{v}");
    let (s, v) = l("orders")
        .http(req("POST", format!("/orders/{order_id}/receive")).by(&buyer))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("completed")), "{v}");
    let (s, v) = l("review")
        .http(
            req("POST", format!("/orders/{order_id}/review"))
                .by(&buyer)
                .body(json!({ "rating": 5, "text": "Beautiful voice." })),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // withdraw: the seller's net is still pending (14 days).
    let (s, v) = l("withdraw")
        .http(
            req("POST", "/withdrawals")
                .by(&seller)
                .body(json!({ "amount": "10.00", "paypal_email": "seller@example.com" })),
        )
        .await;
    assert_eq!(s, 409, "nothing available yet: {v}");

    // cancel: a second order, cancelled by its seller, refunded.
    let (s, second) = l("order")
        .http(
            req("POST", "/orders")
                .by(&buyer)
                .body(json!({ "service_id": svc_id })),
        )
        .await;
    assert_eq!(s, 201, "{second}");
    let second_id = second["id"].as_str().unwrap().to_owned();
    let (s, v) = l("cancel")
        .http(
            req("POST", format!("/orders/{second_id}/cancel"))
                .by(&seller)
                .body(json!({ "reason": "Away this week." })),
        )
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let (s, me) = l("accounts").http(req("GET", "/me").by(&buyer)).await;
    assert_eq!(
        (s, me["balance"].as_str()),
        (200, Some("40.00")),
        "50 - 10 paid, the refund back: {me}"
    );

    // requests: posted by a user, read by anyone.
    let (s, r) = l("requests")
        .http(req("POST", "/requests").by(&buyer).body(json!({
            "title": "A logo for a bakery", "description": "Warm colours, Arabic lettering."
        })))
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, v) = l("requests")
        .http(req(
            "GET",
            format!("/requests/{}", r["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!((s, &v["id"]), (200, &r["id"]));

    // timers: a partial batch response names only the message to retry.
    let stale = Timer {
        order_id: OrderId::new(order_id.clone()),
        kind: TimerKind::AutoCancel,
        due: Timestamp(wall_ms() - 1_000),
    };
    let early = Timer {
        order_id: OrderId::new(order_id.clone()),
        kind: TimerKind::Clearing,
        due: Timestamp(wall_ms() + 3_600_000),
    };
    let batch = sqs_event(&[
        ("stale".into(), serde_json::to_string(&stale).unwrap()),
        ("malformed".into(), "not a timer".into()),
        ("early".into(), serde_json::to_string(&early).unwrap()),
    ]);
    match l("timers").invoke(&batch).await {
        Outcome::Response(v) => assert_eq!(
            v,
            json!({ "batchItemFailures": [{ "itemIdentifier": "early" }] }),
            "the completed order ignores its auto-cancel; a garbled message is dropped; \
             one not yet due comes back"
        ),
        Outcome::Error(e) => panic!("timers failed: {e}"),
    }

    // notifier: what the order function queued, sent through SES.
    let mut messages = Vec::new();
    for _ in 0..5 {
        let got = stack
            .sqs
            .receive_message()
            .queue_url(&stack.notifications_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            messages.push((
                m.message_id().unwrap().to_owned(),
                m.body().unwrap().to_owned(),
            ));
        }
        if messages.len() >= 10 {
            break;
        }
    }
    assert!(
        !messages.is_empty(),
        "the order, deliver and cancel functions queued emails"
    );
    messages.truncate(10);
    match l("notifier").invoke(&sqs_event(&messages)).await {
        Outcome::Response(v) => assert_eq!(v, json!({ "batchItemFailures": [] }), "all sent"),
        Outcome::Error(e) => panic!("notifier failed: {e}"),
    }
    let to_us = moto_emails(&[&seller.email, &buyer.email]).await.len();
    assert!(to_us >= 1, "SES got the emails");

    // sweeper: the schedule event in, what it queued out.
    match l("sweeper").invoke(&fixture("schedule.json")).await {
        Outcome::Response(v) => {
            assert!(v["timers"].is_u64() && v["outbox"].is_u64(), "{v}");
        }
        Outcome::Error(e) => panic!("sweeper failed: {e}"),
    }

    // reconcile: the daily schedule event in, the ledger check out.
    match l("reconcile").invoke(&fixture("schedule.json")).await {
        Outcome::Response(v) => assert_eq!(v, json!({ "ok": true, "violations": 0 })),
        Outcome::Error(e) => panic!("reconcile failed: {e}"),
    }

    // payouts: a withdrawal it does not know is skipped, a garbled message
    // dropped; neither is retried, and PayPal is not called for either.
    let batch = sqs_event(&[
        (
            "unknown".into(),
            json!({ "withdrawal_id": "wd_nope" }).to_string(),
        ),
        ("malformed".into(), "not a payout".into()),
    ]);
    match l("payouts").invoke(&batch).await {
        Outcome::Response(v) => assert_eq!(v, json!({ "batchItemFailures": [] })),
        Outcome::Error(e) => panic!("payouts failed: {e}"),
    }
    assert!(
        !l("payouts").logs().contains("test-secret"),
        "the secret is never logged"
    );

    // Every function took its events from the runtime API and is still up.
    for (name, lambda) in lambdas.iter_mut() {
        assert!(lambda.api.polls() >= 1, "{name} never polled");
        assert!(
            lambda.child.try_wait().unwrap().is_none(),
            "{name} died:\n{}",
            lambda.logs()
        );
    }
}
