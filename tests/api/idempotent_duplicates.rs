//! A duplicate that read its `Idempotency-Key` just before the first request
//! committed runs on the state the first one left. With exactly enough
//! money for one order, it used to answer `409 insufficient_funds`; it must
//! get the first answer, or `409 idempotency_in_progress`.

use crate::helpers::*;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_duplicate_gets_the_first_answer_or_in_progress() {
    let app = Arc::new(spawn_app().await);
    let seller = app.user("seller").await;
    let svc = id(&app
        .active_service(&seller, json!({ "price": "5.00" }))
        .await);
    for round in 0..5 {
        let buyer = app.user(&format!("buyer{round}")).await;
        app.topup(&buyer, "5.00").await;
        let mut tasks = vec![];
        for _ in 0..12 {
            let (app, buyer, svc) = (app.clone(), buyer.clone(), svc.clone());
            tasks.push(tokio::spawn(async move {
                app.post_keyed(&buyer, "/orders", json!({ "service_id": svc }), "once")
                    .await
            }));
        }
        let mut orders = std::collections::HashSet::new();
        for t in tasks {
            let r = t.await.expect("the request task");
            match r.0 {
                201 => {
                    orders.insert(id(&r.1));
                }
                409 => assert_eq!(r.1["code"], "idempotency_in_progress", "{}", r.1),
                _ => panic!("round {round}: {} {}", r.0, r.1),
            }
        }
        assert!(orders.len() <= 1, "one order at most: {orders:?}");
        // Afterwards the key always answers the first answer.
        let r = app
            .post_keyed(&buyer, "/orders", json!({ "service_id": svc }), "once")
            .await;
        assert_eq!(
            expect_status(&r, 201)["id"],
            orders.iter().next().cloned().unwrap_or_else(|| id(&r.1))
        );
        assert_eq!(app.me(&buyer).await["balance"], "0.00");
    }
    assert_eq!(app.ledger_check().await["ok"], true);
}
