//! Who may do what, in api.md's order of checks: 401 → 404 → 403 →
//! 400/422 → 409. Refusals change nothing.

use crate::helpers::*;
use serde_json::{Value, json};

/// Seller, buyer ($50), an active service and an in-progress order.
async fn order_setup(app: &TestApp) -> (User, User, String, String) {
    let (seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = app.order(&buyer, &svc, json!({})).await;
    (seller, buyer, svc.clone(), id(&order))
}

#[tokio::test]
async fn private_routes_need_a_valid_token() {
    let app = spawn_app().await;
    let (_seller, buyer, svc, oid) = order_setup(&app).await;
    let private: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/me".into(), None),
        ("PATCH", "/me".into(), Some(json!({ "locale": "en" }))),
        ("GET", "/me/ledger".into(), None),
        ("GET", "/me/purchases".into(), None),
        (
            "POST",
            "/me/topups".into(),
            Some(json!({ "amount": "5.00", "method": "sandbox" })),
        ),
        ("POST", "/orders".into(), Some(json!({ "service_id": svc }))),
        ("GET", format!("/orders/{oid}"), None),
        ("GET", format!("/orders/{oid}/messages"), None),
        ("POST", format!("/orders/{oid}/cancel"), Some(json!({}))),
        (
            "POST",
            "/services".into(),
            Some(TestApp::service_body(json!({}))),
        ),
        (
            "POST",
            "/withdrawals".into(),
            Some(json!({ "amount": "10.00" })),
        ),
        (
            "POST",
            "/requests".into(),
            Some(json!({ "title": "t", "description": "d" })),
        ),
        ("GET", "/admin/ledger/check".into(), None),
        ("GET", "/admin/services".into(), None),
    ];
    let real = buyer.token();
    let tampered = format!("{}x", &real[..real.len() - 1]);
    for (method, path, body) in &private {
        for auth in [
            None,
            Some("Bearer garbage".to_owned()),
            Some(format!("Bearer {tampered}")),
            Some(format!("Basic {real}")),
        ] {
            let r = app
                .send(method, path, auth.as_deref(), body.as_ref(), None)
                .await;
            assert_eq!(
                (r.0, r.1["code"].as_str()),
                (401, Some("unauthorized")),
                "{method} {path} with {auth:?}: {}",
                r.1
            );
        }
    }
    // None of that ordered, cancelled or topped up anything.
    let me = app.me(&buyer).await;
    assert_eq!(me["balance"], "45.00");
    assert_eq!(me["locale"], "ar");
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "in_progress");
    // Public routes need none.
    expect_status(&app.get_anon("/services").await, 200);
    expect_status(&app.get_anon(&format!("/services/{svc}")).await, 200);
    expect_status(&app.get_anon("/requests").await, 200);
    expect_status(&app.get_anon("/health").await, 200);
}

#[tokio::test]
async fn a_stranger_gets_404_on_someone_elses_order() {
    let app = spawn_app().await;
    let (_seller, _buyer, _svc, oid) = order_setup(&app).await;
    let stranger = app.user("stranger").await;
    let missing = app.get(&stranger, &format!("/orders/{oid}")).await;
    let nonexistent = app.get(&stranger, "/orders/ord_nonexistent").await;
    expect_problem(&missing, 404, "not_found");
    expect_problem(&nonexistent, 404, "not_found");
    assert_eq!(
        missing.1["detail"], nonexistent.1["detail"],
        "indistinguishable"
    );

    expect_problem(
        &app.get(&stranger, &format!("/orders/{oid}/messages")).await,
        404,
        "not_found",
    );
    for (action, body) in [
        ("messages", json!({ "text": "hi" })),
        ("cancel", json!({})),
        ("deliver", json!({})),
        ("receive", json!({})),
        ("instructions", json!({ "text": "x" })),
        ("review", json!({ "rating": 5, "text": "x" })),
        // 404 comes before the body is read.
        ("changes", json!({ "text": 12 })),
    ] {
        expect_problem(
            &app.post(&stranger, &format!("/orders/{oid}/{action}"), body)
                .await,
            404,
            "not_found",
        );
    }
    // Not in their lists either.
    assert!(app.items(&stranger, "/me/purchases").await.is_empty());
    assert!(app.items(&stranger, "/me/sales").await.is_empty());
}

#[tokio::test]
async fn each_side_does_only_its_own_part_of_an_order() {
    let app = spawn_app().await;
    let (seller, buyer, svc, oid) = order_setup(&app).await;
    // The buyer cannot deliver; the role is checked before the body.
    expect_problem(
        &app.post(
            &buyer,
            &format!("/orders/{oid}/deliver"),
            json!({ "text": "done" }),
        )
        .await,
        403,
        "forbidden",
    );
    expect_problem(
        &app.post(
            &buyer,
            &format!("/orders/{oid}/deliver"),
            json!({ "text": 5 }),
        )
        .await,
        403,
        "forbidden",
    );
    // The seller cannot receive, ask for changes or send instructions.
    for (action, body) in [
        ("receive", json!({})),
        ("changes", json!({ "text": "more" })),
        ("instructions", json!({ "text": "do it" })),
    ] {
        expect_problem(
            &app.post(&seller, &format!("/orders/{oid}/{action}"), body)
                .await,
            403,
            "forbidden",
        );
    }
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "in_progress");

    // A seller cannot approve services nor order their own.
    let pending = app
        .create_service(&seller, json!({ "title": "Another one" }))
        .await;
    expect_problem(
        &app.post_empty(
            &seller,
            &format!("/admin/services/{}/approve", id(&pending)),
        )
        .await,
        403,
        "operators_only",
    );
    expect_problem(
        &app.get(&seller, "/admin/services?status=pending_review")
            .await,
        403,
        "operators_only",
    );
    expect_problem(
        &app.get(&seller, "/admin/ledger/check").await,
        403,
        "operators_only",
    );
    let r = app.my_service(&seller, &id(&pending)).await;
    assert_eq!(r["status"], "pending_review");
    app.topup(&seller, "20.00").await;
    expect_problem(
        &app.post(&seller, "/orders", json!({ "service_id": svc }))
            .await,
        403,
        "own_service",
    );
    assert_eq!(app.me(&seller).await["balance"], "20.00");
    assert!(app.items(&seller, "/me/purchases").await.is_empty());
}

#[tokio::test]
async fn operators_read_orders_and_messages_but_do_not_post() {
    let app = spawn_app().await;
    let (seller, buyer, _svc, oid) = order_setup(&app).await;
    let op = app.operator().await;
    let msgs = format!("/orders/{oid}/messages");
    expect_status(
        &app.post(&buyer, &msgs, json!({ "text": "Hello there" }))
            .await,
        201,
    );
    let o = app.get_order(&op, &oid).await;
    assert_eq!(o["buyer_id"], buyer.id.as_str());
    assert_eq!(o["seller_id"], seller.id.as_str());
    let thread = app.items(&op, &msgs).await;
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0]["text"], "Hello there");
    expect_problem(
        &app.post(&op, &msgs, json!({ "text": "Operator here" }))
            .await,
        403,
        "forbidden",
    );
    assert_eq!(app.items(&buyer, &msgs).await.len(), 1);
    // Nor do they act for the buyer or the seller.
    expect_problem(
        &app.post(&op, &format!("/orders/{oid}/deliver"), json!({}))
            .await,
        403,
        "forbidden",
    );
}

#[tokio::test]
async fn a_service_that_is_not_active_is_404_on_public_routes_and_listed_for_its_seller_and_operators()
 {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let stranger = app.user("stranger").await;
    let op = app.operator().await;
    let pending = app.create_service(&seller, json!({})).await;
    let path = format!("/services/{}", id(&pending));
    expect_problem(&app.get_anon(&path).await, 404, "not_found");
    expect_problem(&app.get(&stranger, &path).await, 404, "not_found");
    expect_problem(
        &app.get_anon(&format!("{path}/reviews")).await,
        404,
        "not_found",
    );
    // As in AWS, a public route reads no token: the seller and operators
    // see it on their own routes.
    expect_problem(&app.get(&seller, &path).await, 404, "not_found");
    expect_problem(&app.get(&op, &path).await, 404, "not_found");
    assert_eq!(
        app.my_service(&seller, &id(&pending)).await["status"],
        "pending_review"
    );
    assert!(
        ids(&app
            .items(&op, "/admin/services?status=pending_review")
            .await)
        .contains(&id(&pending))
    );

    // Ordering it is a 404 too, and charges nothing.
    app.topup(&stranger, "10.00").await;
    expect_problem(
        &app.post(&stranger, "/orders", json!({ "service_id": id(&pending) }))
            .await,
        404,
        "not_found",
    );
    // Paused: the same.
    app.approve(&id(&pending)).await;
    expect_status(
        &app.post_empty(&seller, &format!("{path}/pause")).await,
        200,
    );
    expect_problem(&app.get(&stranger, &path).await, 404, "not_found");
    expect_problem(
        &app.post(&stranger, "/orders", json!({ "service_id": id(&pending) }))
            .await,
        404,
        "not_found",
    );
    assert_eq!(
        app.my_service(&seller, &id(&pending)).await["status"],
        "paused"
    );
    assert_eq!(app.me(&stranger).await["balance"], "10.00");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = spawn_app().await;
    let u = app.user("ali").await;
    let auth = format!("Bearer {}", u.token());
    expect_problem(&app.get_anon("/nope").await, 404, "not_found");
    expect_problem(&app.get(&u, "/orders/x/y/z").await, 404, "not_found");
    for (method, path) in [
        ("DELETE", "/me"),
        ("PUT", "/services"),
        ("DELETE", "/orders/ord_1"),
        ("GET", "/orders/ord_1/deliver"),
        ("POST", "/me/ledger"),
        ("GET", "/dev/token"),
        ("POST", "/health"),
    ] {
        let r = app.send(method, path, Some(&auth), None, None).await;
        expect_problem(&r, 405, "method_not_allowed");
    }
}

#[tokio::test]
async fn contact_details_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app
        .market(
            json!({ "instructions": "Your brand name, please." }),
            "10.00",
        )
        .await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let oid = id(&order);
    let msgs = format!("/orders/{oid}/messages");

    for text in [
        "call me 0501234567",
        "ali@gmail.com",
        "واتساب ٠٥٠١٢٣٤٥٦٧",
        "see my work at www.example.com",
        "find me on insta @ali_designs",
    ] {
        let r = app.post(&buyer, &msgs, json!({ "text": text })).await;
        expect_problem(&r, 422, "contact_details");
        let r = app.post(&seller, &msgs, json!({ "text": text })).await;
        expect_problem(&r, 422, "contact_details");
        let r = app
            .post(
                &buyer,
                &format!("/orders/{oid}/instructions"),
                json!({ "text": text }),
            )
            .await;
        expect_problem(&r, 422, "contact_details");
    }
    assert!(app.items(&buyer, &msgs).await.is_empty());
    let o = app.get_order(&buyer, &oid).await;
    assert_eq!(o["status"], "awaiting_instructions");
    assert_eq!(o["instructions"], Value::Null);
    // Ordinary talk about prices, days and versions passes.
    let fine = "The logo in 3 colours, 2 revisions, delivered in 5 days for $10, version 2.1";
    expect_status(&app.post(&buyer, &msgs, json!({ "text": fine })).await, 201);

    // Delivery texts too.
    app.act(
        &buyer,
        &oid,
        "instructions",
        json!({ "text": "Brand: Nakhla" }),
    )
    .await;
    expect_problem(
        &app.post(
            &seller,
            &format!("/orders/{oid}/deliver"),
            json!({ "text": "Files at ali@gmail.com" }),
        )
        .await,
        422,
        "contact_details",
    );
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "in_progress");
    // A delivery may come with no body at all.
    let o = expect_status(
        &app.post_empty(&seller, &format!("/orders/{oid}/deliver"))
            .await,
        200,
    );
    assert_eq!(o["status"], "delivered");
    assert_eq!(o["delivery_text"], Value::Null);
    // Change requests, too.
    expect_problem(
        &app.post(
            &buyer,
            &format!("/orders/{oid}/changes"),
            json!({ "text": "Send the source to www.dropbox.com/s/abc" }),
        )
        .await,
        422,
        "contact_details",
    );
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "delivered");
    // And the cancel reason the other side reads.
    let second = app.order(&buyer, &svc, json!({})).await;
    expect_problem(
        &app.post(
            &seller,
            &format!("/orders/{}/cancel", id(&second)),
            json!({ "reason": "Busy; call me 0501234567 instead" }),
        )
        .await,
        422,
        "contact_details",
    );
    assert_eq!(
        app.get_order(&buyer, &id(&second)).await["status"],
        "awaiting_instructions"
    );

    // And offers on the requests board.
    let author = app.user("author").await;
    let r = app
        .post(
            &author,
            "/requests",
            json!({ "title": "A logo", "description": "For a bakery" }),
        )
        .await;
    let rid = id(&expect_status(&r, 201));
    expect_problem(
        &app.post(
            &seller,
            &format!("/requests/{rid}/offers"),
            json!({ "text": "واتساب ٠٥٠١٢٣٤٥٦٧" }),
        )
        .await,
        422,
        "contact_details",
    );
    let shown = expect_status(&app.get_anon(&format!("/requests/{rid}")).await, 200);
    assert_eq!(shown["offers"], json!([]));
}

#[tokio::test]
async fn a_refused_order_changes_nothing() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app
        .market(
            json!({ "upgrades": [{ "title": "Fast", "price": "5.00", "extra_days": 0 }] }),
            "50.00",
        )
        .await;
    let sid = svc.clone();
    for (body, status, code) in [
        (
            json!({ "service_id": sid, "quantity": 11 }),
            422,
            "validation_failed",
        ),
        (
            json!({ "service_id": sid, "quantity": 0 }),
            422,
            "validation_failed",
        ),
        (
            json!({ "service_id": sid, "upgrades": [0, 0] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "service_id": sid, "upgrades": [1] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "service_id": sid, "upgrades": [-1] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "service_id": sid, "quantity": "2" }),
            400,
            "malformed_body",
        ),
        (
            json!({ "service_id": sid, "upgrades": ["0"] }),
            400,
            "malformed_body",
        ),
        (json!({}), 422, "validation_failed"),
        (json!({ "service_id": "svc_nope" }), 404, "not_found"),
        (json!([sid]), 400, "malformed_body"),
    ] {
        let r = app.post(&buyer, "/orders", body.clone()).await;
        assert_eq!(
            (r.0, r.1["code"].as_str().unwrap_or("")),
            (status, code),
            "{body}: {}",
            r.1
        );
    }
    let r = app
        .send(
            "POST",
            "/orders",
            Some(&format!("Bearer {}", buyer.token())),
            None,
            None,
        )
        .await;
    expect_problem(&r, 422, "validation_failed");
    assert_eq!(app.me(&buyer).await["balance"], "50.00");
    assert!(app.items(&buyer, "/me/purchases").await.is_empty());
    assert!(app.order_emails_to(&seller.email).await.is_empty());

    // Not JSON at all.
    let r = app
        .send_text(
            "POST",
            "/orders",
            Some(&format!("Bearer {}", buyer.token())),
            "{\"service_id\": ",
        )
        .await;
    expect_problem(&r, 400, "malformed_body");
    assert_eq!(app.me(&buyer).await["balance"], "50.00");

    // Five of them with the upgrade is fine: (5 + 5) x 5.
    let o = app
        .order(&buyer, &sid, json!({ "upgrades": [0], "quantity": 5 }))
        .await;
    assert_eq!(o["total"], "50.00");
    assert_eq!(app.me(&buyer).await["balance"], "0.00");
}
