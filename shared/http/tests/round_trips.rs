//! Store round trips per request, counted through the `Store` port the way
//! a warm Lambda function makes them (the notifier only queues, as SQS
//! does in AWS; it reads nothing back).
//!
//! Each test pins today's numbers exactly: a change that adds a round trip
//! fails here and must say why. The goal (issue 11) is one read round trip
//! and one commit per state change, one read for `GET /orders/{id}`; the
//! DynamoDB request counts (which a port read can hide) are pinned in
//! `shared/aws/tests/dynamo_requests.rs`.

use khamsa_app::App;
use khamsa_app::memory::MemoryStore;
use khamsa_testkit::counting::{Calls, CountingStore};
use khamsa_testkit::edge::{self, request};
use khamsa_testkit::{active_service, funded_buyer};
use lambda_http::Request;
use std::collections::BTreeMap;
use std::sync::Arc;

struct World {
    app: App,
    store: Arc<CountingStore>,
}

fn world() -> World {
    let store = Arc::new(CountingStore::new(Arc::new(MemoryStore::new())));
    let app = edge::app_on(store.clone());
    World { app, store }
}

async fn send(w: &World, req: Request) -> (u16, serde_json::Value) {
    edge::send(&w.app, req).await
}

fn calls(reads: &[(&'static str, usize)], commits: usize) -> Calls {
    Calls {
        reads: reads.iter().copied().collect::<BTreeMap<_, _>>(),
        commits,
        marks_sent: 0,
    }
}

/// A live $10 service of `seller`'s, `buyer` with $50 and both callers
/// already known to the (warm) function; the counts start from zero.
async fn seeded(w: &World) -> String {
    let svc = active_service(&w.app, "sara", "10.00").await;
    funded_buyer(&w.app, "omar", "50.00").await;
    for u in ["sara", "omar"] {
        let (status, _) = send(w, request("GET", "/me", u, "", None)).await;
        assert_eq!(status, 200);
    }
    w.store.take();
    svc
}

async fn place(w: &World, svc: &str, key: Option<&str>) -> String {
    let body = format!(r#"{{"service_id":"{svc}"}}"#);
    let (status, order) = send(w, request("POST", "/orders", "omar", &body, key)).await;
    assert_eq!(status, 201, "{order}");
    order["id"].as_str().expect("an order id").to_owned()
}

/// One read and one commit (issue 11): the service and the balances come
/// in one read, the payment-hold check (issue 8) is a condition of the
/// commit, and the key's record is a conditional write in it.
#[tokio::test]
async fn place_order_reads_once_and_commits_once() {
    let w = world();
    let svc = seeded(&w).await;

    place(&w, &svc, None).await;
    assert_eq!(
        w.store.take(),
        calls(&[("service_and_balances", 1)], 1),
        "POST /orders without a key"
    );

    // With a key: no read of it first.
    place(&w, &svc, Some("k-1")).await;
    assert_eq!(
        w.store.take(),
        calls(&[("service_and_balances", 1)], 1),
        "POST /orders with a key"
    );

    // A replay: the commit's condition on the key finds the first answer
    // (DynamoDB returns it with the refusal), so nothing is placed twice.
    let body = format!(r#"{{"service_id":"{svc}"}}"#);
    let (status, again) = send(&w, request("POST", "/orders", "omar", &body, Some("k-1"))).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(
        w.store.take(),
        calls(&[("service_and_balances", 1)], 1),
        "POST /orders replayed"
    );
    // The same key with another body is a reuse, found the same way.
    let other = format!(r#"{{"service_id":"{svc}","quantity":2}}"#);
    let (status, _) = send(&w, request("POST", "/orders", "omar", &other, Some("k-1"))).await;
    assert_eq!(status, 422);
    let (_, mine) = send(&w, request("GET", "/me/purchases", "omar", "", None)).await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(2), "{mine}");
}

#[tokio::test]
async fn order_transitions_read_once_and_commit_once() {
    let w = world();
    let svc = seeded(&w).await;
    let id = place(&w, &svc, None).await;
    w.store.take();

    let (status, _) = send(
        &w,
        request("GET", &format!("/orders/{id}"), "omar", "", None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        w.store.take(),
        calls(&[("order", 1)], 0),
        "GET /orders/{{id}}"
    );

    let (status, _) = send(
        &w,
        request(
            "POST",
            &format!("/orders/{id}/messages"),
            "omar",
            r#"{"text":"Blue, please"}"#,
            None,
        ),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        w.store.take(),
        calls(&[("order", 1)], 1),
        "POST /orders/{{id}}/messages"
    );

    // The seller's inbox: one list read. Reading the messages clears her
    // count: the order, the page, and one commit; a second read, nothing
    // left to mark, commits nothing.
    let (status, inbox) = send(&w, request("GET", "/me/inbox", "sara", "", None)).await;
    assert_eq!(status, 200);
    assert_eq!(inbox["items"][0]["unread"], 1, "{inbox}");
    assert_eq!(w.store.take(), calls(&[("inbox", 1)], 0), "GET /me/inbox");
    for commits in [1, 0] {
        let (status, _) = send(
            &w,
            request("GET", &format!("/orders/{id}/messages"), "sara", "", None),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            w.store.take(),
            calls(&[("order", 1), ("messages", 1)], commits),
            "GET /orders/{{id}}/messages"
        );
    }

    let (status, _) = send(
        &w,
        request(
            "POST",
            &format!("/orders/{id}/deliver"),
            "sara",
            r#"{"text":"Here it is"}"#,
            Some("d-1"),
        ),
    )
    .await;
    assert_eq!(status, 200);
    // The key is the commit's conditional write: no read of it first.
    assert_eq!(
        w.store.take(),
        calls(&[("order", 1)], 1),
        "POST /orders/{{id}}/deliver with a key"
    );

    let (status, _) = send(
        &w,
        request("POST", &format!("/orders/{id}/receive"), "omar", "", None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        w.store.take(),
        calls(&[("order", 1)], 1),
        "POST /orders/{{id}}/receive"
    );
}

#[tokio::test]
async fn cancel_and_lists_read_once() {
    let w = world();
    let svc = seeded(&w).await;
    let id = place(&w, &svc, None).await;
    w.store.take();

    let (status, body) = send(
        &w,
        request(
            "POST",
            &format!("/orders/{id}/cancel"),
            "sara",
            r#"{"reason":"Too busy"}"#,
            None,
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        w.store.take(),
        calls(&[("order", 1)], 1),
        "POST /orders/{{id}}/cancel"
    );

    let (status, _) = send(&w, request("GET", "/services", "omar", "", None)).await;
    assert_eq!(status, 200);
    assert_eq!(
        w.store.take(),
        calls(&[("services", 1)], 0),
        "GET /services"
    );

    let (status, _) = send(&w, request("GET", "/me/purchases", "omar", "", None)).await;
    assert_eq!(status, 200);
    assert_eq!(
        w.store.take(),
        calls(&[("orders", 1)], 0),
        "GET /me/purchases"
    );
}
