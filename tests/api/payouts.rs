//! Money out through PayPal Payouts (payments.md, "Money out"): an operator
//! approves a withdrawal, the payouts worker sends it to the fake PayPal
//! (`sender_batch_id` = the withdrawal id), and what PayPal reports settles
//! it: `paid`, or `failed` with the money back in available earnings. The
//! fake's webhooks are not relied on here: the poll reads the item.

use crate::helpers::*;
use khamsa_domain::{Config, Money};
use khamsa_paypal_fake::{DelayedOp, PayoutOutcome};
use serde_json::{Value, json};
use std::time::Duration;

async fn withdraw(app: &TestApp, seller: &User, amount: &str) -> Value {
    let r = app
        .post(
            seller,
            "/withdrawals",
            json!({ "amount": amount, "paypal_email": format!("{}@paypal.test", seller.id) }),
        )
        .await;
    expect_status(&r, 201)
}

async fn approve(app: &TestApp, op: &User, w: &str) -> Value {
    let r = app
        .post_empty(op, &format!("/admin/withdrawals/{w}/approve"))
        .await;
    expect_status(&r, 200)
}

async fn assert_books_balance(app: &TestApp) {
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[tokio::test]
async fn an_approved_withdrawal_is_paid_out_once_and_the_seller_told() {
    let app = spawn_app().await;
    let seller = seller_with_earnings(&app, "sami").await;
    let op = app.operator().await;
    let w = id(&withdraw(&app, &seller, "15.00").await);
    let before = fake(&app).payout_count();

    assert_eq!(approve(&app, &op, &w).await["status"], "approved");
    let paid = app.withdrawal_reaching(&seller, &w, "paid").await;
    assert!(paid["payout_item_id"].is_string(), "{paid}");
    assert!(paid["payout_batch_id"].is_string(), "{paid}");
    assert_eq!(fake(&app).payout_count(), before + 1);

    let me = app.me(&seller).await;
    assert_eq!(me["earnings_available"], "5.00");
    assert_eq!(me["withdrawals_in_flight"], "0.00");
    let mail = app
        .email(&seller.email, "Your withdrawal has been paid")
        .await;
    assert!(mail["text"].as_str().unwrap().contains("$15.00"));
    // Approved once: a second approval is a conflict and sends nothing.
    let again = app
        .post_empty(&op, &format!("/admin/withdrawals/{w}/approve"))
        .await;
    expect_problem(&again, 409, "invalid_transition");
    assert_eq!(fake(&app).payout_count(), before + 1);
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn a_failed_payout_returns_the_money_to_available_earnings() {
    let app = spawn_app().await;
    let seller = seller_with_earnings(&app, "nour").await;
    let op = app.operator().await;
    let w = id(&withdraw(&app, &seller, "20.00").await);
    fake(&app).script_next_payout(PayoutOutcome::Failed);

    approve(&app, &op, &w).await;
    let failed = app.withdrawal_reaching(&seller, &w, "failed").await;
    assert!(
        failed["reason"].as_str().unwrap_or("").contains("FAILED"),
        "{failed}"
    );
    let me = app.me(&seller).await;
    assert_eq!(me["earnings_available"], "20.00");
    assert_eq!(me["withdrawals_in_flight"], "0.00");
    let mail = app
        .email(&seller.email, "Your withdrawal could not be paid")
        .await;
    assert!(mail["text"].as_str().unwrap().contains("$20.00"));
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn an_unclaimed_payout_stays_processing_until_paypal_returns_it_30_days_later() {
    let app = spawn_app().await;
    let seller = seller_with_earnings(&app, "huda").await;
    let op = app.operator().await;
    let w = id(&withdraw(&app, &seller, "12.00").await);
    fake(&app).script_next_payout(PayoutOutcome::Unclaimed);

    approve(&app, &op, &w).await;
    let processing = app.withdrawal_reaching(&seller, &w, "processing").await;
    let item = processing["payout_item_id"]
        .as_str()
        .expect("the item id is stored")
        .to_owned();
    // Polled after an hour and every sweep after: still unclaimed.
    app.advance_seconds(2 * HOUR).await;
    app.withdrawal_reaching(&seller, &w, "processing").await;
    assert_eq!(app.me(&seller).await["withdrawals_in_flight"], "12.00");

    app.advance_days(30).await;
    assert!(fake(&app).set_payout_item(&item, PayoutOutcome::Returned));
    app.withdrawal_reaching(&seller, &w, "failed").await;
    let me = app.me(&seller).await;
    assert_eq!(me["earnings_available"], "20.00");
    assert_eq!(me["withdrawals_in_flight"], "0.00");
    app.email(&seller.email, "Your withdrawal could not be paid")
        .await;
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn a_payout_send_that_times_out_is_retried_and_pays_once() {
    let app = spawn_app().await;
    let seller = seller_with_earnings(&app, "rami").await;
    let op = app.operator().await;
    let w = id(&withdraw(&app, &seller, "10.00").await);
    let before = fake(&app).payout_count();
    // PayPal makes the payout but answers after our client gave up, and
    // its webhook is lost: only the retry and the poll can finish it.
    fake(&app).set_webhook_url("http://127.0.0.1:9/webhooks/paypal");
    fake(&app).delay_next(DelayedOp::Payout, Duration::from_secs(12));

    approve(&app, &op, &w).await;
    let still = app.items(&seller, "/me/withdrawals").await;
    assert_eq!(still[0]["status"], "approved", "{still:?}");
    // The poll sends it again with the same sender_batch_id: PayPal answers
    // with the batch it already made.
    app.advance_seconds(61).await;
    app.withdrawal_reaching(&seller, &w, "paid").await;
    assert_eq!(fake(&app).payout_count(), before + 1, "paid exactly once");
    assert_eq!(app.me(&seller).await["earnings_available"], "10.00");
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn an_operator_cannot_approve_their_own_withdrawal() {
    let app = spawn_app().await;
    // Another operator first: the one `app.approve` acts as.
    app.operator().await;
    let nadia = app.operator_named("nadia").await;
    let buyer = app.user("nadia-client").await;
    // Her service is published by another operator (`approve` is one).
    let svc = app
        .create_service(&nadia, json!({ "price": "25.00" }))
        .await;
    app.approve(&id(&svc)).await;
    app.topup(&buyer, "25.00").await;
    app.completed_order(&buyer, &nadia, &id(&svc)).await;
    app.advance_days(14).await;
    let w = id(&withdraw(&app, &nadia, "10.00").await);
    let before = fake(&app).payout_count();

    let r = app
        .post_empty(&nadia, &format!("/admin/withdrawals/{w}/approve"))
        .await;
    expect_problem(&r, 403, "forbidden");
    app.advance_seconds(120).await;
    let mine = app.items(&nadia, "/me/withdrawals").await;
    assert_eq!(mine[0]["status"], "requested");
    assert_eq!(fake(&app).payout_count(), before);
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn withdrawals_up_to_the_auto_approval_max_need_no_operator() {
    let app = spawn_app_with(Config {
        auto_approve_withdrawal_max: Money::dollars(12),
        ..Config::default()
    })
    .await;
    let seller = seller_with_earnings(&app, "lina").await;

    let small = withdraw(&app, &seller, "12.00").await;
    assert_eq!(small["status"], "approved", "{small}");
    app.withdrawal_reaching(&seller, &id(&small), "paid").await;
    assert_eq!(app.me(&seller).await["earnings_available"], "8.00");
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn withdrawals_over_the_auto_approval_max_wait_for_an_operator() {
    let app = spawn_app_with(Config {
        auto_approve_withdrawal_max: Money::dollars(10),
        ..Config::default()
    })
    .await;
    let seller = seller_with_earnings(&app, "omar").await;
    let before = fake(&app).payout_count();
    let w = withdraw(&app, &seller, "10.01").await;
    assert_eq!(w["status"], "requested", "{w}");
    app.advance_seconds(120).await;
    assert_eq!(fake(&app).payout_count(), before);
    assert_books_balance(&app).await;
}
