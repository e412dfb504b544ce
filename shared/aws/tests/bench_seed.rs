//! Seeds a DynamoDB Local table for `infra/bench/lambda.sh`: a live $5
//! service, a buyer with earnings to spend, and `KHAMSA_BENCH_ORDERS`
//! placed orders (for `deliver` and `orders` events). Ignored: only the
//! benchmark runs it (`--ignored`), with `KHAMSA_TABLE` and
//! `KHAMSA_BENCH_SEED` (where the ids go, as JSON) set.

use khamsa_aws::dynamo::DynamoStore;
use khamsa_testkit::aws::sdk_config;
use khamsa_testkit::edge::{self, request, send};
use khamsa_testkit::{active_service, caller, seed_earnings};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by infra/bench/lambda.sh"]
async fn seed_bench_table() {
    let table = std::env::var("KHAMSA_TABLE").expect("KHAMSA_TABLE");
    let out = std::env::var("KHAMSA_BENCH_SEED").expect("KHAMSA_BENCH_SEED");
    let n: usize = std::env::var("KHAMSA_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2100);
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk_config().await), table);
    store.create_table().await.expect("the table");
    let app = edge::app_on(Arc::new(store));
    let svc = active_service(&app, "bench-seller", "5.00").await;
    let buyer = caller("bench-buyer");
    khamsa_app::usecases::accounts::ensure_profile(&app, &buyer)
        .await
        .expect("the buyer's profile");
    // Enough for every order here and every benchmark event after.
    seed_earnings(&app, &buyer, "bench-earnings", 1_000_000).await;
    let body = format!(r#"{{"service_id":"{svc}"}}"#);
    let mut orders = Vec::with_capacity(n);
    for _ in 0..n {
        let (status, o) = send(&app, request("POST", "/orders", "bench-buyer", &body, None)).await;
        assert_eq!(status, 201, "{o}");
        orders.push(o["id"].as_str().expect("an id").to_owned());
    }
    let seed = serde_json::json!({ "service": svc, "orders": orders });
    std::fs::write(&out, seed.to_string()).expect("the seed file");
}
