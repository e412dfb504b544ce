//! Cancelling: by the seller, by the buyer of a late order, by the system
//! and by an operator. Every path refunds the buyer's balance at once.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn seller_cancel_refunds_the_buyer_balance_at_once_and_emails_the_amount() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({ "price": "15.00" }), "20.00").await;
    let order = app.order(&buyer, &svc, json!({})).await;
    assert_eq!(app.me(&buyer).await["balance"], "5.00");
    assert_eq!(
        order["can_cancel"], false,
        "in progress, not late: not for the buyer"
    );
    let as_seller = app.get_order(&seller, &id(&order)).await;
    assert_eq!(as_seller["can_cancel"], true);

    let o = app
        .act(
            &seller,
            &id(&order),
            "cancel",
            json!({ "reason": "I am away this week, sorry." }),
        )
        .await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["cancelled_by"], "seller");
    assert!(o["cancelled_at"].is_string());
    assert_eq!(o["can_cancel"], false);
    assert_eq!(app.me(&buyer).await["balance"], "20.00");
    assert_eq!(
        ids(&app.items(&buyer, "/me/purchases?status=cancelled").await),
        vec![id(&order)]
    );

    // Arabic by default: the buyer's email says how much came back.
    assert_eq!(app.me(&buyer).await["locale"], "ar");
    let mails = app.emails_to(&buyer.email).await;
    let mail = mails
        .iter()
        .find(|m| m["subject"].as_str().unwrap().starts_with("تم إلغاء الطلب"))
        .unwrap_or_else(|| panic!("no cancel email: {mails:?}"));
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("$15.00"), "{text}");
    assert!(text.contains("I am away this week, sorry."), "{text}");
    assert!(text.contains(&format!("/orders/{}", id(&order))), "{text}");
    // The seller is told too.
    assert!(
        app.emails_to(&seller.email)
            .await
            .iter()
            .any(|m| m["subject"].as_str().unwrap().starts_with("تم إلغاء الطلب"))
    );
    // A cancelled order cannot be cancelled again.
    expect_problem(
        &app.post(
            &seller,
            &format!("/orders/{}/cancel", id(&order)),
            json!({}),
        )
        .await,
        409,
        "invalid_transition",
    );
    let check = app.ledger_check().await;
    assert_eq!(
        (check["ok"].as_bool(), check["accounts_total"].as_str()),
        (Some(true), Some("0.00"))
    );
}

#[tokio::test]
async fn buyer_cancel_is_refused_before_due_at_and_allowed_after() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({ "delivery_days": 2 }), "5.00").await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let oid = id(&order);
    assert_eq!(order["status"], "in_progress");
    assert_eq!(order["can_cancel"], false);

    let early = app
        .post(&buyer, &format!("/orders/{oid}/cancel"), json!({}))
        .await;
    expect_problem(&early, 409, "not_late_yet");
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "in_progress");
    assert_eq!(app.me(&buyer).await["balance"], "0.00");

    // One minute short of due: still not late.
    app.advance_seconds(2 * DAY - 60).await;
    assert_eq!(app.get_order(&buyer, &oid).await["can_cancel"], false);
    expect_problem(
        &app.post(&buyer, &format!("/orders/{oid}/cancel"), json!({}))
            .await,
        409,
        "not_late_yet",
    );

    // Past due_at the button shows and works.
    app.advance_seconds(120).await;
    let o = app.get_order(&buyer, &oid).await;
    assert!(ms(&o["due_at"]) <= app.now().await);
    assert_eq!(o["can_cancel"], true);
    let o = app.act(&buyer, &oid, "cancel", json!({})).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["cancelled_by"], "buyer");
    assert_eq!(app.me(&buyer).await["balance"], "5.00");
    assert_eq!(app.me(&seller).await["earnings_pending"], "0.00");
}

#[tokio::test]
async fn buyer_may_cancel_while_awaiting_instructions() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app
        .market(json!({ "instructions": "Send me your logo." }), "5.00")
        .await;
    let order = app.order(&buyer, &svc, json!({})).await;
    assert_eq!(order["status"], "awaiting_instructions");
    assert_eq!(order["can_cancel"], true);
    let o = app.act(&buyer, &id(&order), "cancel", json!({})).await;
    assert_eq!(o["cancelled_by"], "buyer");
    assert_eq!(app.me(&buyer).await["balance"], "5.00");
}

#[tokio::test]
async fn nobody_but_an_operator_cancels_a_delivered_order() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({ "delivery_days": 1 }), "5.00").await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let oid = id(&order);
    let delivered = app.deliver(&seller, &oid).await;
    assert_eq!(
        delivered["can_cancel"], false,
        "seller on a delivered order"
    );
    // Even once it would be late, a delivered order is not the buyer's to cancel.
    app.advance_seconds(DAY + 60).await;
    assert_eq!(app.get_order(&buyer, &oid).await["can_cancel"], false);
    assert_eq!(app.get_order(&seller, &oid).await["can_cancel"], false);

    expect_problem(
        &app.post(&seller, &format!("/orders/{oid}/cancel"), json!({}))
            .await,
        409,
        "invalid_transition",
    );
    expect_problem(
        &app.post(&buyer, &format!("/orders/{oid}/cancel"), json!({}))
            .await,
        409,
        "invalid_transition",
    );
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "delivered");
    assert_eq!(app.me(&buyer).await["balance"], "0.00");

    let op = app.operator().await;
    assert_eq!(app.get_order(&op, &oid).await["can_cancel"], true);
}

#[tokio::test]
async fn an_order_still_in_progress_3_days_after_due_at_is_cancelled_by_the_system() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({ "delivery_days": 1 }), "5.00").await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let oid = id(&order);
    let due = ms(&order["due_at"]);

    app.advance_seconds(DAY + 3 * DAY - 60).await;
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "in_progress");
    assert_eq!(app.me(&buyer).await["balance"], "0.00");

    app.advance_seconds(120).await;
    let o = app.get_order(&buyer, &oid).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["cancelled_by"], "system");
    assert_eq!(
        ms(&o["cancelled_at"]),
        due + 3 * DAY_MS,
        "as of the timer's due time"
    );
    assert_eq!(app.me(&buyer).await["balance"], "5.00");
    for who in [&buyer.email, &seller.email] {
        assert!(
            app.emails_to(who)
                .await
                .iter()
                .any(|m| m["subject"].as_str().unwrap().starts_with("تم إلغاء الطلب")),
            "{who} is told of the cancel"
        );
    }
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[tokio::test]
async fn an_order_awaiting_instructions_for_7_days_is_cancelled_by_the_system() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app
        .market(
            json!({ "instructions": "Tell me the name.", "delivery_days": 1 }),
            "5.00",
        )
        .await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let oid = id(&order);
    let placed = ms(&order["placed_at"]);

    app.advance_seconds(7 * DAY - 60).await;
    assert_eq!(
        app.get_order(&buyer, &oid).await["status"],
        "awaiting_instructions"
    );
    app.advance_seconds(120).await;
    let o = app.get_order(&buyer, &oid).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["cancelled_by"], "system");
    assert_eq!(ms(&o["cancelled_at"]), placed + 7 * DAY_MS);
    assert_eq!(app.me(&buyer).await["balance"], "5.00");
}

#[tokio::test]
async fn an_operator_cancels_or_completes_any_open_order() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({ "price": "10.00" }), "20.00").await;
    let op = app.operator().await;
    let first = app.order(&buyer, &svc, json!({})).await;
    let second = app.order(&buyer, &svc, json!({})).await;
    assert_eq!(app.me(&buyer).await["balance"], "0.00");

    // Not for users.
    for path in [
        format!("/admin/orders/{}/cancel", id(&first)),
        format!("/admin/orders/{}/complete", id(&first)),
    ] {
        expect_problem(
            &app.post(&buyer, &path, json!({ "reason": "x" })).await,
            403,
            "operators_only",
        );
    }

    let r = app
        .post(
            &op,
            &format!("/admin/orders/{}/cancel", id(&first)),
            json!({ "reason": "Duplicate order reported by the buyer." }),
        )
        .await;
    let o = expect_status(&r, 200);
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["cancelled_by"], "operator");
    assert_eq!(app.me(&buyer).await["balance"], "10.00");

    let r = app
        .post(
            &op,
            &format!("/admin/orders/{}/complete", id(&second)),
            json!({ "reason": "Delivered outside the site, confirmed." }),
        )
        .await;
    let o = expect_status(&r, 200);
    assert_eq!(o["status"], "completed");
    assert_eq!(o["completed_by"], "operator");
    // The operator's reason is kept on the order (issue 12).
    assert_eq!(
        app.get_order(&buyer, &id(&second)).await["completion_reason"],
        "Delivered outside the site, confirmed."
    );
    assert_eq!(app.me(&seller).await["earnings_pending"], "8.00");
    assert_eq!(app.me(&buyer).await["balance"], "10.00");

    // Finished orders stay finished.
    expect_problem(
        &app.post(
            &op,
            &format!("/admin/orders/{}/cancel", id(&second)),
            json!({ "reason": "too late" }),
        )
        .await,
        409,
        "invalid_transition",
    );
    expect_problem(
        &app.post(
            &op,
            &format!("/admin/orders/{}/complete", id(&first)),
            json!({ "reason": "too late" }),
        )
        .await,
        409,
        "invalid_transition",
    );
    // The same emails as the normal path: the buyer hears of both.
    let subjects: Vec<String> = app
        .emails_to(&buyer.email)
        .await
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        subjects.iter().any(|s| s.starts_with("تم إلغاء الطلب")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.starts_with("اكتمل الطلب")),
        "{subjects:?}"
    );
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[tokio::test]
async fn an_operator_may_cancel_through_the_order_route_too() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app.market(json!({}), "5.00").await;
    let op = app.operator().await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let o = app.act(&op, &id(&order), "cancel", json!({})).await;
    assert_eq!(o["cancelled_by"], "operator");
    assert_eq!(app.me(&buyer).await["balance"], "5.00");
}

#[tokio::test]
async fn instructions_replace_the_7_day_auto_cancel_with_the_late_one() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app
        .market(
            json!({ "instructions": "Tell me the name.", "delivery_days": 3 }),
            "5.00",
        )
        .await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let oid = id(&order);
    app.advance_days(6).await;
    let o = app
        .act(
            &buyer,
            &oid,
            "instructions",
            json!({ "text": "The name is Nakhla." }),
        )
        .await;
    let due = ms(&o["due_at"]);
    // Past placement + 7 days: the old timer must not cancel it.
    app.advance_days(2).await;
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "in_progress");
    // due_at + 3 days: now it goes.
    app.advance_seconds(4 * DAY + 60).await;
    let o = app.get_order(&buyer, &oid).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(ms(&o["cancelled_at"]), due + 3 * DAY_MS);
}
