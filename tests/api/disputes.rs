//! Disputes (product.md "Disputes"): an open dispute holds the order's
//! timers; an operator (never on their own order) resolves it with a
//! stored reason, and both parties are emailed in their language.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_dispute_holds_the_auto_complete_until_an_operator_completes_it() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "50.00").await;
    // The seller reads English, the buyer Arabic (the default).
    let r = app.patch(&seller, "/me", json!({"locale": "en"})).await;
    expect_status(&r, 200);
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    app.deliver(&seller, &order).await;

    let opened = app
        .post(
            &buyer,
            &format!("/orders/{order}/dispute"),
            json!({"reason": "The logo is not what we agreed"}),
        )
        .await;
    let o = expect_status(&opened, 201);
    assert_eq!(o["dispute"]["status"], "open");
    assert_eq!(o["dispute"]["opened_by"], "buyer");
    app.email(&seller.email, "A dispute was opened").await;
    // One at a time; and only the operator's resolution ends the order.
    let again = app
        .post(
            &seller,
            &format!("/orders/{order}/dispute"),
            json!({"reason": "Me too"}),
        )
        .await;
    expect_problem(&again, 409, "invalid_transition");
    let r = app
        .post_empty(&buyer, &format!("/orders/{order}/receive"))
        .await;
    expect_problem(&r, 409, "invalid_transition");
    // Both parties can still message.
    let m = app
        .post(
            &seller,
            &format!("/orders/{order}/messages"),
            json!({"text": "Let us wait for the team"}),
        )
        .await;
    expect_status(&m, 201);

    // Well past the auto-complete (3 days) and its reminder: nothing fires.
    app.advance_days(5).await;
    let o = app.get_order(&buyer, &order).await;
    assert_eq!(o["status"], "delivered", "{o}");
    assert_eq!(app.me(&seller).await["earnings_pending"], "0.00");

    let op = app.operator().await;
    let listed = app.items(&op, "/admin/disputes").await;
    assert_eq!(ids(&listed), vec![order.clone()]);
    // A party is not an operator.
    let r = app
        .post(
            &seller,
            &format!("/admin/disputes/{order}/resolve"),
            json!({"outcome": "complete", "reason": "x"}),
        )
        .await;
    expect_problem(&r, 403, "operators_only");
    let r = app
        .post(
            &op,
            &format!("/admin/disputes/{order}/resolve"),
            json!({"outcome": "refund", "reason": "x"}),
        )
        .await;
    assert_eq!(r.0, 422, "{}", r.1);

    let done = app
        .post(
            &op,
            &format!("/admin/disputes/{order}/resolve"),
            json!({"outcome": "complete", "reason": "The delivery matches the brief"}),
        )
        .await;
    let o = expect_status(&done, 200);
    assert_eq!(o["status"], "completed");
    assert_eq!(o["completed_by"], "operator");
    assert_eq!(o["dispute"]["status"], "resolved");
    assert_eq!(o["dispute"]["outcome"], "complete");
    assert_eq!(
        o["dispute"]["resolution_reason"],
        "The delivery matches the brief"
    );
    assert_eq!(app.me(&seller).await["earnings_pending"], "4.00");
    let en = app.email(&seller.email, "Dispute resolved").await;
    assert!(
        en.to_string().contains("The delivery matches the brief"),
        "{en}"
    );
    app.email(&buyer.email, "انتهى النزاع").await;
    assert!(app.items(&op, "/admin/disputes").await.is_empty());
    let r = app
        .post(
            &op,
            &format!("/admin/disputes/{order}/resolve"),
            json!({"outcome": "cancel", "reason": "again"}),
        )
        .await;
    expect_problem(&r, 409, "invalid_transition");

    // Nothing stale fires later; clearing runs as for any completed order.
    app.advance_days(15).await;
    let o = app.get_order(&buyer, &order).await;
    assert_eq!(o["status"], "completed");
    assert_eq!(app.me(&seller).await["earnings_available"], "4.00");
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[tokio::test]
async fn a_seller_disputes_a_late_order_and_an_operator_refunds_it_but_never_their_own() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    let r = app
        .post(
            &seller,
            &format!("/orders/{order}/dispute"),
            json!({"reason": "The buyer asks for more than the service"}),
        )
        .await;
    expect_status(&r, 201);
    // Far past the due date and the auto-cancel: held.
    app.advance_days(20).await;
    assert_eq!(app.get_order(&buyer, &order).await["status"], "in_progress");
    let r = app
        .post(&buyer, &format!("/orders/{order}/cancel"), json!({}))
        .await;
    expect_problem(&r, 409, "invalid_transition");
    // An operator's plain cancel waits for the dispute's resolution too.
    let op = app.operator().await;
    let r = app
        .post(
            &op,
            &format!("/admin/orders/{order}/cancel"),
            json!({"reason": "x"}),
        )
        .await;
    expect_problem(&r, 409, "invalid_transition");

    // An operator who is this order's buyer may not resolve it.
    let op_buyer = app.operator_named("opbuyer").await;
    app.topup(&op_buyer, "20.00").await;
    let own = id(&app.order(&op_buyer, &svc, json!({})).await);
    let r = app
        .post(
            &op_buyer,
            &format!("/orders/{own}/dispute"),
            json!({"reason": "Slow"}),
        )
        .await;
    expect_status(&r, 201);
    let r = app
        .post(
            &op_buyer,
            &format!("/admin/disputes/{own}/resolve"),
            json!({"outcome": "cancel", "reason": "mine"}),
        )
        .await;
    expect_problem(&r, 403, "forbidden");

    let r = app
        .post(
            &op,
            &format!("/admin/disputes/{order}/resolve"),
            json!({"outcome": "cancel", "reason": "The request was out of scope"}),
        )
        .await;
    let o = expect_status(&r, 200);
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["cancel_reason"], "The request was out of scope");
    assert_eq!(app.me(&buyer).await["balance"], "50.00");
    app.email(&seller.email, "انتهى النزاع").await;
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}
