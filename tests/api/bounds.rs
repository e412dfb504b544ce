//! Every input is bounded at the edge, before any store is asked: path ids,
//! query values, ids in bodies and `Idempotency-Key`. On the emulators a
//! 5,000-character id used to reach DynamoDB and come back a `503`; here it
//! is a `404` or `400` problem on both backends.

use crate::helpers::*;
use serde_json::{Value, json};

/// Longer than any key DynamoDB takes (2,048 bytes).
fn long() -> String {
    "o".repeat(5000)
}

#[tokio::test]
async fn an_id_that_cannot_be_ours_is_not_found_on_every_route() {
    let app = spawn_app().await;
    let user = app.user("prober").await;
    let op = app.operator().await;
    let long = long();
    expect_problem(
        &app.get(&user, &format!("/orders/{long}")).await,
        404,
        "not_found",
    );
    expect_problem(
        &app.get_anon(&format!("/services/{long}")).await,
        404,
        "not_found",
    );
    expect_problem(
        &app.get_anon(&format!("/users/{long}")).await,
        404,
        "not_found",
    );
    // Every template with an `{id}`, as a user and as an operator, with a
    // long id and with characters our ids never have.
    for (method, template) in khamsa_http::ROUTES {
        if !template.contains("{id}") {
            continue;
        }
        for bad in [
            long.as_str(),
            "svc_1.json",
            "%F0%9F%92%A5",
            "%D9%85%D9%84%D9%81",
        ] {
            let path = template.replace("{id}", bad);
            let auth = if template.starts_with("/admin/") {
                &op
            } else {
                &user
            };
            let body = (method != "GET").then(|| json!({}));
            let r = app
                .send(
                    method,
                    &path,
                    Some(&format!("Bearer {}", auth.token())),
                    body.as_ref(),
                    None,
                )
                .await;
            expect_problem(&r, 404, "not_found");
        }
    }
    assert_eq!(app.ledger_check().await["accounts_total"], "0.00");
}

#[tokio::test]
async fn an_over_long_query_value_is_invalid_query() {
    let app = spawn_app().await;
    let user = app.user("prober").await;
    let op = app.operator().await;
    let long = long();
    for query in ["category", "seller_id", "cursor", "limit", "status"] {
        let r = app.get_anon(&format!("/services?{query}={long}")).await;
        expect_problem(&r, 400, "invalid_query");
    }
    for path in [
        "/me/purchases",
        "/me/sales",
        "/me/ledger",
        "/me/withdrawals",
        "/requests",
    ] {
        let r = app.get(&user, &format!("{path}?cursor={long}")).await;
        expect_problem(&r, 400, "invalid_query");
    }
    for path in ["/admin/services", "/admin/withdrawals"] {
        let r = app.get(&op, &format!("{path}?status={long}")).await;
        expect_problem(&r, 400, "invalid_query");
    }
    // Just over each bound is refused, at the bound is read as before.
    let r = app
        .get_anon(&format!("/services?category={}", "c".repeat(65)))
        .await;
    expect_problem(&r, 400, "invalid_query");
    let r = app
        .get_anon(&format!("/services?category={}", "c".repeat(64)))
        .await;
    assert_eq!(expect_status(&r, 200)["items"], json!([]));
    let r = app
        .get_anon(&format!("/services?seller_id={}", "s".repeat(128)))
        .await;
    assert_eq!(expect_status(&r, 200)["items"], json!([]));
    // Still 401 before 400 on a signed route.
    expect_problem(
        &app.get_anon(&format!("/me/purchases?cursor={long}")).await,
        401,
        "unauthorized",
    );
}

#[tokio::test]
async fn the_cursors_we_give_out_fit_the_bound() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    for i in 0..3 {
        app.active_service(
            &seller,
            json!({ "title": format!("Logo design, offer {i}") }),
        )
        .await;
    }
    let mut path = format!("/services?limit=1&seller_id={}", seller.id);
    let mut seen = 0;
    loop {
        let page = expect_status(&app.get_anon(&path).await, 200);
        seen += page["items"].as_array().unwrap().len();
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        assert!(cursor.len() <= 1024, "{}: {cursor}", cursor.len());
        path = format!("/services?limit=1&seller_id={}&cursor={cursor}", seller.id);
    }
    assert_eq!(seen, 3);
}

#[tokio::test]
async fn an_order_for_a_service_id_that_cannot_be_ours_changes_nothing() {
    let app = spawn_app().await;
    let (_seller, buyer, _svc) = app.market(json!({}), "50.00").await;
    let before = app.me(&buyer).await;
    let r = app
        .post(&buyer, "/orders", json!({ "service_id": long() }))
        .await;
    expect_problem(&r, 404, "not_found");
    let r = app
        .post(&buyer, "/orders", json!({ "service_id": "svc_1/../x" }))
        .await;
    expect_problem(&r, 404, "not_found");
    assert_eq!(app.me(&buyer).await, before);
    let purchases = expect_status(&app.get(&buyer, "/me/purchases").await, 200);
    assert_eq!(purchases["items"], json!([]));
    assert_eq!(app.ledger_check().await["ok"], true);
}

#[tokio::test]
async fn an_offer_naming_a_service_id_that_cannot_be_ours_is_refused() {
    let app = spawn_app().await;
    let buyer = app.user("buyer").await;
    let seller = app.user("seller").await;
    let r = app
        .post(
            &buyer,
            "/requests",
            json!({ "title": "A logo for my bakery", "description": "Warm colours, Arabic lettering.", "budget": "20.00" }),
        )
        .await;
    let request = expect_status(&r, 201);
    let path = format!("/requests/{}/offers", id(&request));
    let r = app
        .post(
            &seller,
            &path,
            json!({ "text": "I can do this", "service_id": long() }),
        )
        .await;
    expect_problem(&r, 422, "validation_failed");
    let shown = expect_status(
        &app.get_anon(&format!("/requests/{}", id(&request))).await,
        200,
    );
    assert_eq!(shown["offers"], json!([]));
}

/// A POST with the `Idempotency-Key` header's raw bytes.
async fn post_with_key_bytes(
    app: &TestApp,
    u: &User,
    path: &str,
    body: &Value,
    key: &[u8],
) -> Resp {
    let auth = format!("Bearer {}", u.token());
    app.send_with_key_bytes("POST", path, Some(&auth), Some(body), key)
        .await
}

#[tokio::test]
async fn an_idempotency_key_is_text_of_1_to_64_characters() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let body = TestApp::service_body(json!({}));

    // Not UTF-8: refused, not silently ignored.
    let r = post_with_key_bytes(&app, &seller, "/services", &body, &[0x6b, 0xff, 0xfe]).await;
    expect_problem(&r, 400, "invalid_idempotency_key");

    // 64 Arabic letters are 128 bytes and 64 characters: accepted, and a
    // replay gets the first answer.
    let arabic = "م".repeat(64);
    let first = post_with_key_bytes(&app, &seller, "/services", &body, arabic.as_bytes()).await;
    let created = expect_status(&first, 201);
    let again = post_with_key_bytes(&app, &seller, "/services", &body, arabic.as_bytes()).await;
    assert_eq!(expect_status(&again, 201), created);

    // 65 characters, Arabic or not: refused.
    for key in ["م".repeat(65), "k".repeat(65)] {
        let r = post_with_key_bytes(&app, &seller, "/services", &body, key.as_bytes()).await;
        expect_problem(&r, 400, "invalid_idempotency_key");
    }
    let r = post_with_key_bytes(&app, &seller, "/services", &body, b"").await;
    expect_problem(&r, 400, "invalid_idempotency_key");

    // Only the keyed one was created.
    let op = app.operator().await;
    let pending = expect_status(
        &app.get(&op, "/admin/services?status=pending_review").await,
        200,
    );
    let ids: Vec<&Value> = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(ids, vec![&created["id"]]);
}

#[tokio::test]
async fn trailing_slashes_do_not_lengthen_an_idempotency_scope() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let body = TestApp::service_body(json!({}));
    let slashes = "/".repeat(3000);
    let first =
        post_with_key_bytes(&app, &seller, &format!("/services{slashes}"), &body, b"k1").await;
    let created = expect_status(&first, 201);
    // The same route and key without them is the same request.
    let again = post_with_key_bytes(&app, &seller, "/services", &body, b"k1").await;
    assert_eq!(expect_status(&again, 201), created);
}
