//! product.md: operators approve services, settle withdrawals and cancel or
//! complete orders, "never on their own order, service or withdrawal".

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn an_operator_never_acts_on_their_own_service_order_or_withdrawal() {
    let app = spawn_app().await;
    let op = app.operator().await;
    // Nadia is an operator who also sells and buys.
    let nadia = app.operator_named("nadia").await;
    let sami = app.user("sami").await;

    // Her own service: she cannot publish it; another operator can.
    let svc = id(&app
        .create_service(&nadia, json!({ "price": "25.00" }))
        .await);
    for action in ["approve", "reject"] {
        let path = format!("/admin/services/{svc}/{action}");
        let r = app.post(&nadia, &path, json!({ "reason": "mine" })).await;
        expect_problem(&r, 403, "forbidden");
    }
    let seen = app.my_service(&nadia, &svc).await;
    assert_eq!(seen["status"], "pending_review");
    app.approve(&svc).await;

    // Her own order, as the buyer: she can neither complete nor cancel it
    // with an operator's power.
    let samis = id(&app.active_service(&sami, json!({})).await);
    app.topup(&nadia, "50.00").await;
    let order = id(&app.order(&nadia, &samis, json!({})).await);
    for (action, body) in [
        ("complete", json!({})),
        ("cancel", json!({ "reason": "mine" })),
    ] {
        let r = app
            .post(&nadia, &format!("/admin/orders/{order}/{action}"), body)
            .await;
        expect_problem(&r, 403, "forbidden");
    }
    let before = app.get_order(&nadia, &order).await;
    assert_eq!(before["completed_at"], serde_json::Value::Null);
    assert_eq!(before["cancelled_at"], serde_json::Value::Null);

    // Her own order, as the seller, is just as much hers.
    app.topup(&sami, "50.00").await;
    let sold = id(&app.order(&sami, &svc, json!({})).await);
    let r = app
        .post(&nadia, &format!("/admin/orders/{sold}/complete"), json!({}))
        .await;
    expect_problem(&r, 403, "forbidden");

    // Her own withdrawal: she cannot pay it out; another operator can.
    app.deliver(&nadia, &sold).await;
    app.receive(&sami, &sold).await;
    app.advance_days(14).await;
    let w = app
        .post(
            &nadia,
            "/withdrawals",
            json!({ "amount": "10.00", "paypal_email": "nadia@example.com" }),
        )
        .await;
    let w = id(&expect_status(&w, 201));
    for action in ["approve", "reject"] {
        let path = format!("/admin/withdrawals/{w}/{action}");
        let r = app.post(&nadia, &path, json!({ "reason": "mine" })).await;
        expect_problem(&r, 403, "forbidden");
    }
    let approved = app
        .post(&op, &format!("/admin/withdrawals/{w}/approve"), json!({}))
        .await;
    assert_eq!(expect_status(&approved, 200)["status"], "approved");
    app.withdrawal_reaching(&nadia, &w, "paid").await;
    assert_eq!(app.ledger_check().await["ok"], true);
}
