//! The README's walk-through, step by step, as a person would run it: a
//! service listed and approved, a $50 top-up paid on the (fake) PayPal
//! checkout page, an order with an upgrade, messages, a delivery with a
//! file uploaded and downloaded through presigned URLs, receipt
//! and review, fourteen days, and a withdrawal paid out through (fake)
//! PayPal Payouts. On both backends, like the rest of the suite.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn the_readme_walk_through_with_paypal_in_and_out() {
    let app = spawn_app().await;
    let sara = app.user("sara").await;
    let omar = app.user("omar").await;
    let op = app.operator().await;

    // Sara lists a logo service with one upgrade; an operator approves it.
    let svc = app
        .active_service(
            &sara,
            json!({
                "title": "شعار احترافي لمشروعك",
                "description": "I design a clean logo in two days.",
                "price": "10.00",
                "delivery_days": 2,
                "upgrades": [{"title": "Source files", "price": "5.00", "extra_days": 1}]
            }),
        )
        .await;
    let svc = id(&svc);

    // PayPal is on offer; Omar tops up $50 with it.
    let methods = expect_status(&app.get_anon("/payment-methods").await, 200);
    assert!(methods.to_string().contains("paypal"), "{methods}");
    let t = expect_status(
        &app.post(
            &omar,
            "/me/topups",
            json!({"amount": "50.00", "method": "paypal", "return_url": "https://khamsa.example/back"}),
        )
        .await,
        201,
    );
    assert_eq!(t["status"], "pending");
    let approve_url = t["approve_url"]
        .as_str()
        .expect("an approve_url")
        .to_owned();

    // The checkout page shows the amount; Omar clicks Approve (the page's
    // own form), and PayPal sends him back to the return URL.
    let page = app.client.get(&approve_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("$50.00"));
    let (action, query) = approve_url.split_once('?').expect("a query");
    let click = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
        .post(action)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{query}&action=approve"))
        .send()
        .await
        .unwrap();
    assert_eq!(click.status().as_u16(), 303, "back to the return URL");

    // Back on the site, the web client captures: settled, $50 in the balance
    // (PayPal's approval webhook may have captured it first: one credit).
    let captured = expect_status(
        &app.post_empty(&omar, &format!("/me/topups/{}/capture", id(&t)))
            .await,
        200,
    );
    assert_eq!(captured["status"], "settled", "{captured}");
    assert_eq!(app.me(&omar).await["balance"], "50.00");

    // He orders with the upgrade: $15 into escrow; Sara is emailed.
    let order = expect_status(
        &app.send(
            "POST",
            "/orders",
            Some(&format!("Bearer {}", omar.token())),
            Some(&json!({"service_id": svc, "upgrades": [0]})),
            Some("first-order"),
        )
        .await,
        201,
    );
    let order = id(&order);
    assert_eq!(app.me(&omar).await["balance"], "35.00");
    assert!(!app.emails_to(&sara.email).await.is_empty());

    // They talk, Sara delivers, Omar receives and reviews.
    let path = |p: &str| format!("/orders/{order}/{p}");
    expect_status(
        &app.post(
            &omar,
            &path("messages"),
            json!({"text": "Blue and white, please"}),
        )
        .await,
        201,
    );
    // Sara uploads the logo to the URL the API hands out, then delivers
    // it; Omar downloads it through the redirect.
    let logo: &[u8] = b"\x89PNG the logo";
    let f = expect_status(
        &app.post(
            &sara,
            &path("files"),
            json!({"name": "logo.png", "content_type": "image/png", "size": logo.len()}),
        )
        .await,
        201,
    );
    // The PUT sends exactly the headers the answer lists (they are signed).
    let put = app.put_upload(&f, logo).await;
    assert!(put.status().is_success(), "{}", put.status());
    let file = f["file_id"].as_str().unwrap().to_owned();
    let d = app
        .post(
            &sara,
            &path("deliver"),
            json!({"text": "Here is your logo", "file_ids": [file]}),
        )
        .await;
    assert_eq!(expect_status(&d, 200)["status"], "delivered");
    let got = app
        .client
        .get(app.url(&path(&format!("files/{file}"))))
        .bearer_auth(omar.token())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200, "the redirect followed");
    assert_eq!(got.bytes().await.unwrap().as_ref(), logo);
    let r = app.post_empty(&omar, &path("receive")).await;
    assert_eq!(expect_status(&r, 200)["status"], "completed");
    let rv = app
        .post(
            &omar,
            &path("review"),
            json!({"rating": 5, "text": "Excellent work"}),
        )
        .await;
    assert_eq!(expect_status(&rv, 201)["rating"], 5);
    assert_eq!(app.me(&sara).await["earnings_pending"], "12.00");

    // Fourteen days later the $12 clears, and Sara withdraws it to PayPal.
    app.advance_days(14).await;
    assert_eq!(app.me(&sara).await["earnings_available"], "12.00");
    let w = expect_status(
        &app.post(
            &sara,
            "/withdrawals",
            json!({"amount": "12.00", "paypal_email": sara.email}),
        )
        .await,
        201,
    );
    let w = id(&w);
    let a = app
        .post_empty(&op, &format!("/admin/withdrawals/{w}/approve"))
        .await;
    assert_eq!(expect_status(&a, 200)["status"], "approved");
    let paid = app.withdrawal_reaching(&sara, &w, "paid").await;
    assert_eq!(paid["amount"], "12.00");
    let me = app.me(&sara).await;
    assert_eq!(me["earnings_available"], "0.00");
    assert_eq!(me["withdrawals_in_flight"], "0.00");

    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}
