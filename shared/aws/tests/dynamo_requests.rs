//! DynamoDB requests per API request, counted on the wire (DynamoDB Local
//! only): an interceptor on the SDK client counts each request sent, by
//! operation, while the HTTP edge answers as a warm Lambda function does.
//!
//! Pinned at today's numbers so a change that adds a request fails here.
//! Issue 11's limit for `POST /orders` is one read round trip and one
//! transaction; the port-level counts are in
//! `shared/http/tests/round_trips.rs`.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use khamsa_aws::dynamo::DynamoStore;
use khamsa_testkit::aws::{TestTable, sdk_config};
use khamsa_testkit::edge::{self, request, send};
use khamsa_testkit::{active_service, funded_buyer};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Requests sent, by DynamoDB operation (`X-Amz-Target` names it).
#[derive(Debug, Default, Clone)]
struct Counter(Arc<Mutex<BTreeMap<String, usize>>>);

impl Counter {
    fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    /// Once per attempt on the wire, so a retry counts too.
    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = ctx.request().headers().get("x-amz-target").unwrap_or("?");
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(op)
            .or_default() += 1;
        Ok(())
    }
}

fn ops(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn place_order_and_its_transitions_on_the_wire() {
    let Some(table) = TestTable::create("dynamo_requests").await else {
        return;
    };
    let counter = Counter::default();
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk_config().await)
        .interceptor(counter.clone())
        .build();
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(conf),
        table.store.table(),
    );
    let app = edge::app_on(Arc::new(store));

    let svc = active_service(&app, "sara", "10.00").await;
    funded_buyer(&app, "omar", "50.00").await;
    for u in ["sara", "omar"] {
        assert_eq!(send(&app, request("GET", "/me", u, "", None)).await.0, 200);
    }
    counter.take();

    let body = format!(r#"{{"service_id":"{svc}"}}"#);
    let (status, order) = send(&app, request("POST", "/orders", "omar", &body, Some("k-1"))).await;
    assert_eq!(status, 201, "{order}");
    // Issue 11's limit: one read round trip (the service and the balance
    // items in one BatchGetItem) and one transaction, which also holds the
    // payment-hold condition and the key's conditional write.
    let one_read_one_write = ops(&[("BatchGetItem", 1), ("TransactWriteItems", 1)]);
    assert_eq!(
        counter.take(),
        one_read_one_write,
        "POST /orders with a key"
    );

    let (status, _) = send(&app, request("POST", "/orders", "omar", &body, None)).await;
    assert_eq!(status, 201);
    assert_eq!(
        counter.take(),
        one_read_one_write,
        "POST /orders without a key"
    );

    // A replay: the key's condition fails and returns the first answer
    // (ALL_OLD); nothing is read first, nothing placed twice.
    let (status, again) = send(&app, request("POST", "/orders", "omar", &body, Some("k-1"))).await;
    assert_eq!((status, &again["id"]), (201, &order["id"]));
    assert_eq!(counter.take(), one_read_one_write, "POST /orders replayed");

    let id = order["id"].as_str().expect("an order id");
    let (status, _) = send(
        &app,
        request("GET", &format!("/orders/{id}"), "omar", "", None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(counter.take(), ops(&[("GetItem", 1)]), "GET /orders/{{id}}");

    // A message: the order read, then one transaction with the message,
    // the order's unread count and the seller's inbox entry.
    let msgs = format!("/orders/{id}/messages");
    let (status, _) = send(
        &app,
        request("POST", &msgs, "omar", r#"{"text":"Blue, please"}"#, None),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        counter.take(),
        ops(&[("GetItem", 1), ("TransactWriteItems", 1)]),
        "POST /orders/{{id}}/messages"
    );
    // The inbox: one Query of the seller's partition, one BatchGetItem of
    // its orders. Never a Scan.
    let (status, inbox) = send(&app, request("GET", "/me/inbox", "sara", "", None)).await;
    assert_eq!(status, 200);
    assert_eq!(inbox["items"][0]["id"], id, "{inbox}");
    assert_eq!(
        counter.take(),
        ops(&[("Query", 1), ("BatchGetItem", 1)]),
        "GET /me/inbox"
    );
    // Reading: the order, the page, and one transaction marking it read.
    let (status, _) = send(&app, request("GET", &msgs, "sara", "", None)).await;
    assert_eq!(status, 200);
    assert_eq!(
        counter.take(),
        ops(&[("GetItem", 1), ("Query", 1), ("TransactWriteItems", 1)]),
        "GET /orders/{{id}}/messages"
    );
    let (status, inbox) = send(&app, request("GET", "/me/inbox", "sara", "", None)).await;
    assert_eq!(status, 200);
    assert_eq!(inbox["items"], serde_json::json!([]), "{inbox}");
    // An empty inbox reads no order.
    assert_eq!(counter.take(), ops(&[("Query", 1)]), "GET /me/inbox, empty");

    let (status, _) = send(
        &app,
        request(
            "POST",
            &format!("/orders/{id}/deliver"),
            "sara",
            r#"{"text":"Here it is"}"#,
            None,
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        counter.take(),
        ops(&[("GetItem", 1), ("TransactWriteItems", 1)]),
        "POST /orders/{{id}}/deliver"
    );

    table.drop_table().await;
}

/// The functions' SDK setup (`https::sdk_defaults`: TLS trusting the CA
/// bundle alone) is a working client: it reaches DynamoDB Local.
#[tokio::test]
async fn the_bundle_only_client_reaches_dynamodb() {
    if !khamsa_testkit::env::emulators("bundle_only_client", khamsa_testkit::env::DYNAMODB) {
        return;
    }
    let sdk = khamsa_aws::https::sdk_defaults().load().await;
    aws_sdk_dynamodb::Client::new(&sdk)
        .list_tables()
        .limit(1)
        .send()
        .await
        .expect("DynamoDB Local answers through the bundle-only client");
}
