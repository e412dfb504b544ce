//! Money rules at the edge: amount formats, top-up and withdrawal limits,
//! insufficient funds, idempotent replays and concurrent overspending.

use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn a_withdrawal_under_10_dollars_is_refused() {
    let app = spawn_app().await;
    let seller = seller_with_earnings(&app, "sami").await;
    let r = app
        .post(
            &seller,
            "/withdrawals",
            json!({ "amount": "9.99", "paypal_email": "sami@example.com" }),
        )
        .await;
    expect_problem(&r, 422, "validation_failed");
    // 10.00 exactly is fine.
    let r = app
        .post(
            &seller,
            "/withdrawals",
            json!({ "amount": "10.00", "paypal_email": "sami@example.com" }),
        )
        .await;
    expect_status(&r, 201);
    let me = app.me(&seller).await;
    assert_eq!(me["earnings_available"], "10.00");
    assert_eq!(me["withdrawals_in_flight"], "10.00");
}

#[tokio::test]
async fn pending_earnings_and_balance_cannot_be_withdrawn() {
    let app = spawn_app().await;
    let seller = app.user("sami").await;
    let buyer = app.user("client").await;
    let svc = app
        .active_service(&seller, json!({ "price": "25.00" }))
        .await;
    app.topup(&buyer, "25.00").await;
    app.completed_order(&buyer, &seller, &id(&svc)).await;
    assert_eq!(app.me(&seller).await["earnings_pending"], "20.00");
    let body = json!({ "amount": "10.00", "paypal_email": "sami@example.com" });
    expect_problem(
        &app.post(&seller, "/withdrawals", body.clone()).await,
        409,
        "insufficient_earnings",
    );
    // A balance (top-ups, refunds) is not cash either.
    app.topup(&seller, "50.00").await;
    expect_problem(
        &app.post(&seller, "/withdrawals", body).await,
        409,
        "insufficient_earnings",
    );
    let me = app.me(&seller).await;
    assert_eq!(me["balance"], "50.00");
    assert_eq!(me["earnings_pending"], "20.00");
    assert_eq!(me["withdrawals_in_flight"], "0.00");
    assert!(app.items(&seller, "/me/withdrawals").await.is_empty());
}

#[tokio::test]
async fn a_withdrawal_needs_a_paypal_address_from_the_body_or_the_profile() {
    let app = spawn_app().await;
    let seller = seller_with_earnings(&app, "sami").await;
    let r = app
        .post(&seller, "/withdrawals", json!({ "amount": "10.00" }))
        .await;
    expect_problem(&r, 422, "no_paypal_address");
    assert_eq!(app.me(&seller).await["earnings_available"], "20.00");

    let r = app
        .patch(
            &seller,
            "/me",
            json!({ "paypal_email": "sami.pp@example.com" }),
        )
        .await;
    assert_eq!(
        expect_status(&r, 200)["paypal_email"],
        "sami.pp@example.com"
    );
    let r = app
        .post(&seller, "/withdrawals", json!({ "amount": "10.00" }))
        .await;
    let w = expect_status(&r, 201);
    assert_eq!(w["paypal_email"], "sami.pp@example.com");
    // The body's address wins over the profile's.
    let r = app
        .post(
            &seller,
            "/withdrawals",
            json!({ "amount": "10.00", "paypal_email": "other@example.com" }),
        )
        .await;
    assert_eq!(expect_status(&r, 201)["paypal_email"], "other@example.com");
    assert_eq!(app.me(&seller).await["earnings_available"], "0.00");
}

#[tokio::test]
async fn an_operator_rejecting_a_withdrawal_returns_the_money_to_available_earnings() {
    let app = spawn_app().await;
    let seller = seller_with_earnings(&app, "sami").await;
    let op = app.operator().await;
    let r = app
        .post(
            &seller,
            "/withdrawals",
            json!({ "amount": "15.00", "paypal_email": "sami@example.com" }),
        )
        .await;
    let w = expect_status(&r, 201);
    assert_eq!(app.me(&seller).await["earnings_available"], "5.00");

    // Only operators settle, and a rejection needs a reason.
    expect_problem(
        &app.post(
            &seller,
            &format!("/admin/withdrawals/{}/approve", id(&w)),
            json!({}),
        )
        .await,
        403,
        "operators_only",
    );
    app.reject(
        &format!("/admin/withdrawals/{}/reject", id(&w)),
        "The PayPal account is not verified.",
    )
    .await;
    let me = app.me(&seller).await;
    assert_eq!(me["earnings_available"], "20.00");
    assert_eq!(me["withdrawals_in_flight"], "0.00");
    assert_eq!(
        app.items(&seller, "/me/withdrawals").await[0]["status"],
        "rejected"
    );
    // Settled once: neither paid nor rejected again.
    expect_problem(
        &app.post(
            &op,
            &format!("/admin/withdrawals/{}/approve", id(&w)),
            json!({}),
        )
        .await,
        409,
        "invalid_transition",
    );
    let returned: Vec<Value> = app
        .items(&seller, "/me/ledger")
        .await
        .into_iter()
        .filter(|l| l["kind"] == "withdrawal_returned")
        .collect();
    assert_eq!(returned.len(), 2, "{returned:?}");
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[tokio::test]
async fn amounts_are_two_decimal_strings() {
    let app = spawn_app().await;
    let u = app.user("ali").await;
    let cases: &[(Value, u16, &str)] = &[
        (json!(50), 400, "malformed_body"),
        (json!(50.0), 400, "malformed_body"),
        (json!("abc"), 400, "invalid_amount_format"),
        (json!("1e3"), 400, "invalid_amount_format"),
        (json!(""), 400, "invalid_amount_format"),
        (json!("-5"), 422, "validation_failed"),
        (json!("5.001"), 422, "validation_failed"),
        (json!("0.99"), 422, "validation_failed"),
        (json!("1000.01"), 422, "validation_failed"),
    ];
    for (amount, status, code) in cases {
        let r = app
            .post(
                &u,
                "/me/topups",
                json!({ "amount": amount, "method": "sandbox" }),
            )
            .await;
        assert_eq!(
            (r.0, r.1["code"].as_str().unwrap_or("")),
            (*status, *code),
            "amount {amount}: {}",
            r.1
        );
    }
    assert_eq!(app.me(&u).await["balance"], "0.00", "nothing was added");
    assert!(app.items(&u, "/me/ledger").await.is_empty());

    // The edges of the range are fine; "20.5" reads as 20.50.
    app.topup(&u, "1.00").await;
    app.topup(&u, "1000.00").await;
    let t = app.topup(&u, "20.5").await;
    assert_eq!(t["amount"], "20.50");
    assert_eq!(app.me(&u).await["balance"], "1021.50");

    // A method that is not offered.
    expect_problem(
        &app.post(
            &u,
            "/me/topups",
            json!({ "amount": "5.00", "method": "visa" }),
        )
        .await,
        422,
        "validation_failed",
    );
    // Withdrawals read amounts the same way.
    expect_problem(
        &app.post(
            &u,
            "/withdrawals",
            json!({ "amount": 10, "paypal_email": "ali@example.com" }),
        )
        .await,
        400,
        "malformed_body",
    );
    expect_problem(
        &app.post(
            &u,
            "/withdrawals",
            json!({ "amount": "ten", "paypal_email": "ali@example.com" }),
        )
        .await,
        400,
        "invalid_amount_format",
    );
}

#[tokio::test]
async fn an_order_the_buyer_cannot_afford_changes_nothing() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({ "price": "25.00" }), "24.99").await;
    let r = app
        .post(&buyer, "/orders", json!({ "service_id": &svc }))
        .await;
    expect_problem(&r, 409, "insufficient_funds");
    assert_eq!(app.me(&buyer).await["balance"], "24.99");
    assert!(app.items(&buyer, "/me/purchases").await.is_empty());
    assert!(app.items(&seller, "/me/sales").await.is_empty());
    // The seller was not told of an order that did not happen.
    assert!(app.order_emails_to(&seller.email).await.is_empty());
    // One more cent and it goes through.
    app.topup(&buyer, "1.00").await;
    app.order(&buyer, &svc, json!({})).await;
    assert_eq!(app.me(&buyer).await["balance"], "0.99");
}

#[tokio::test]
async fn replaying_an_order_with_the_same_idempotency_key_charges_once() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app.market(json!({ "price": "10.00" }), "30.00").await;
    let body = json!({ "service_id": &svc, "quantity": 1 });

    let first = app
        .post_keyed(&buyer, "/orders", body.clone(), "order-key-1")
        .await;
    let first = expect_status(&first, 201);
    let replay = app
        .post_keyed(&buyer, "/orders", body.clone(), "order-key-1")
        .await;
    let replay = expect_status(&replay, 201);
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(app.me(&buyer).await["balance"], "20.00", "charged once");
    assert_eq!(app.items(&buyer, "/me/purchases").await.len(), 1);

    // The same key with another body is refused and changes nothing.
    let other = json!({ "service_id": &svc, "quantity": 2 });
    expect_problem(
        &app.post_keyed(&buyer, "/orders", other.clone(), "order-key-1")
            .await,
        422,
        "idempotency_key_reused",
    );
    assert_eq!(app.me(&buyer).await["balance"], "20.00");

    // Another key is another order.
    let second = app.post_keyed(&buyer, "/orders", body, "order-key-2").await;
    assert_ne!(expect_status(&second, 201)["id"], first["id"]);
    assert_eq!(app.me(&buyer).await["balance"], "10.00");

    // Keys are per caller: another buyer's same key is theirs alone.
    let other_buyer = app.user("other").await;
    app.topup(&other_buyer, "10.00").await;
    let theirs = app
        .post_keyed(
            &other_buyer,
            "/orders",
            json!({ "service_id": &svc, "quantity": 1 }),
            "order-key-1",
        )
        .await;
    assert_ne!(expect_status(&theirs, 201)["id"], first["id"]);
    assert_eq!(app.me(&other_buyer).await["balance"], "0.00");
}

#[tokio::test]
async fn a_replayed_top_up_adds_money_once() {
    let app = spawn_app().await;
    let u = app.user("ali").await;
    let body = json!({ "amount": "40.00", "method": "sandbox" });
    let a = app.post_keyed(&u, "/me/topups", body.clone(), "tk").await;
    let b = app.post_keyed(&u, "/me/topups", body, "tk").await;
    assert_eq!(expect_status(&a, 201)["id"], expect_status(&b, 201)["id"]);
    assert_eq!(app.me(&u).await["balance"], "40.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_orders_against_35_dollars_buy_exactly_seven() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (_seller, buyer, svc) = app.market(json!({ "price": "5.00" }), "35.00").await;

    let mut tasks = vec![];
    for i in 0..20 {
        let (app, buyer, sid) = (app.clone(), buyer.clone(), svc.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({ "service_id": sid });
            if i % 2 == 0 {
                app.post_keyed(&buyer, "/orders", body, &format!("race-{i}"))
                    .await
            } else {
                app.post(&buyer, "/orders", body).await
            }
        }));
    }
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.0 {
            201 => created += 1,
            409 if r.1["code"] == "insufficient_funds" => refused += 1,
            _ => panic!("unexpected answer: {} {}", r.0, r.1),
        }
    }
    assert_eq!((created, refused), (7, 13));
    assert_eq!(app.me(&buyer).await["balance"], "0.00");
    let purchases = app.items(&buyer, "/me/purchases").await;
    assert_eq!(purchases.len(), 7);
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["accounts_total"], "0.00");
}

#[tokio::test]
async fn paypal_and_cashu_top_ups_wait_for_their_provider() {
    // Issue 8 changed this contract: a paypal top-up waits for its capture
    // (payments.md), and cashu, which has no provider, is refused rather
    // than left pending forever.
    let app = spawn_app().await;
    let u = app.user("ali").await;
    let r = app
        .post(
            &u,
            "/me/topups",
            json!({ "amount": "30.00", "method": "paypal" }),
        )
        .await;
    let t = expect_status(&r, 201);
    assert_eq!(
        (t["status"].as_str(), t["amount"].as_str()),
        (Some("pending"), Some("30.00"))
    );
    let r = app
        .post(
            &u,
            "/me/topups",
            json!({ "amount": "30.00", "method": "cashu" }),
        )
        .await;
    expect_problem(&r, 422, "method_unavailable");
    assert_eq!(app.me(&u).await["balance"], "0.00");
    assert!(app.items(&u, "/me/ledger").await.is_empty());
}

#[tokio::test]
async fn an_idempotency_key_is_1_to_64_characters() {
    let app = spawn_app().await;
    let u = app.user("ali").await;
    let body = json!({ "amount": "5.00", "method": "sandbox" });
    let long = "k".repeat(64);
    expect_status(
        &app.post_keyed(&u, "/me/topups", body.clone(), &long).await,
        201,
    );
    let r = app
        .post_keyed(&u, "/me/topups", body, &"k".repeat(65))
        .await;
    assert_eq!(r.0, 400, "{}", r.1);
    assert_eq!(app.me(&u).await["balance"], "5.00");
}

#[tokio::test]
async fn a_replay_returns_the_first_refusal_too() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let svc = app
        .active_service(&seller, json!({ "price": "10.00" }))
        .await;
    let body = json!({ "service_id": id(&svc) });
    expect_problem(
        &app.post_keyed(&buyer, "/orders", body.clone(), "k1").await,
        409,
        "insufficient_funds",
    );
    app.topup(&buyer, "10.00").await;
    // Same key, same body: the first answer again, nothing charged.
    expect_problem(
        &app.post_keyed(&buyer, "/orders", body.clone(), "k1").await,
        409,
        "insufficient_funds",
    );
    assert_eq!(app.me(&buyer).await["balance"], "10.00");
    // A new key is a new attempt.
    expect_status(&app.post_keyed(&buyer, "/orders", body, "k2").await, 201);
    assert_eq!(app.me(&buyer).await["balance"], "0.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_idempotency_key_order_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (_seller, buyer, svc) = app.market(json!({ "price": "5.00" }), "50.00").await;
    let mut tasks = vec![];
    for _ in 0..10 {
        let (app, buyer, sid) = (app.clone(), buyer.clone(), svc.clone());
        tasks.push(tokio::spawn(async move {
            app.post_keyed(&buyer, "/orders", json!({ "service_id": sid }), "same-key")
                .await
        }));
    }
    let mut order_ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        match r.0 {
            201 => {
                order_ids.insert(id(&r.1));
            }
            409 => assert_eq!(r.1["code"], "idempotency_in_progress", "{}", r.1),
            _ => panic!("unexpected answer: {} {}", r.0, r.1),
        }
    }
    assert_eq!(order_ids.len(), 1, "every 201 is the same order");
    assert_eq!(app.me(&buyer).await["balance"], "45.00");
    assert_eq!(app.items(&buyer, "/me/purchases").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_withdrawals_never_overdraw_earnings() {
    let app = std::sync::Arc::new(spawn_app().await);
    let seller = seller_with_earnings(&app, "sami").await; // 20.00 available
    let mut tasks = vec![];
    for _ in 0..6 {
        let (app, seller) = (app.clone(), seller.clone());
        tasks.push(tokio::spawn(async move {
            app.post(
                &seller,
                "/withdrawals",
                json!({ "amount": "10.00", "paypal_email": "sami@example.com" }),
            )
            .await
        }));
    }
    let mut statuses = vec![];
    for t in tasks {
        let r = t.await.unwrap();
        if r.0 == 409 {
            assert_eq!(r.1["code"], "insufficient_earnings", "{}", r.1);
        }
        statuses.push(r.0);
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 201, 409, 409, 409, 409]);
    let me = app.me(&seller).await;
    assert_eq!(me["earnings_available"], "0.00");
    assert_eq!(me["withdrawals_in_flight"], "20.00");
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[tokio::test]
async fn an_idempotency_key_is_kept_for_24_hours() {
    let app = spawn_app().await;
    let u = app.user("ali").await;
    let body = json!({ "amount": "5.00", "method": "sandbox" });
    let a = expect_status(
        &app.post_keyed(&u, "/me/topups", body.clone(), "daily")
            .await,
        201,
    );
    app.advance_seconds(23 * HOUR).await;
    let b = expect_status(
        &app.post_keyed(&u, "/me/topups", body.clone(), "daily")
            .await,
        201,
    );
    assert_eq!(a["id"], b["id"]);
    assert_eq!(app.me(&u).await["balance"], "5.00");
    app.advance_seconds(2 * HOUR).await;
    let c = expect_status(&app.post_keyed(&u, "/me/topups", body, "daily").await, 201);
    assert_ne!(a["id"], c["id"], "a day later the key is free again");
    assert_eq!(app.me(&u).await["balance"], "10.00");
}
