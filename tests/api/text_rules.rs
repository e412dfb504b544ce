//! product.md "Text and numbers" over HTTP: NFC, invisible-only is empty,
//! bidi controls are a `422 bidi_control`, Arabic digits in amounts, and the
//! contact filter's separators.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn hidden_text_is_refused_and_nfc_is_stored() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    for title in ["\u{200B}", " \u{200B}\u{FEFF} ", "\u{3164}\u{2060}"] {
        let r = app
            .post(
                &seller,
                "/services",
                TestApp::service_body(json!({ "title": title })),
            )
            .await;
        expect_problem(&r, 422, "validation_failed");
    }
    for title in ["\u{202E}gpj.exe logo", "logo \u{2067}x\u{2069}"] {
        let r = app
            .post(
                &seller,
                "/services",
                TestApp::service_body(json!({ "title": title })),
            )
            .await;
        expect_problem(&r, 422, "bidi_control");
    }
    let s = app
        .create_service(
            &seller,
            json!({ "title": "Cafe\u{0301} logo, \u{200B}modern" }),
        )
        .await;
    assert_eq!(s["title"], "Caf\u{00E9} logo, \u{200B}modern");
}

#[tokio::test]
async fn arabic_digits_are_amounts() {
    let app = spawn_app().await;
    let buyer = app.user("buyer").await;
    let r = app
        .post(
            &buyer,
            "/me/topups",
            json!({ "amount": "٥٠", "method": "sandbox" }),
        )
        .await;
    assert_eq!(expect_status(&r, 201)["amount"], "50.00");
    let r = app
        .post(
            &buyer,
            "/me/topups",
            json!({ "amount": "٢٠٫٥٠", "method": "sandbox" }),
        )
        .await;
    assert_eq!(expect_status(&r, 201)["amount"], "20.50");
    assert_eq!(app.me(&buyer).await["balance"], "70.50");
    let seller = app.user("seller").await;
    let s = app.create_service(&seller, json!({ "price": "۱۵" })).await;
    assert_eq!(s["price"], "15.00");
    let r = app
        .post(
            &buyer,
            "/me/topups",
            json!({ "amount": "٥e٣", "method": "sandbox" }),
        )
        .await;
    expect_problem(&r, 400, "invalid_amount_format");
}

#[tokio::test]
async fn punctuation_between_digits_does_not_hide_a_phone() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let path = format!("/orders/{}/messages", id(&order));
    for text in [
        "050_123_4567",
        "٠٥٠،١٢٣،٤٥٦٧",
        "050*123*4567",
        "050|123|4567",
        "050, 123, 4567",
        "050؛١٢٣؛4567",
    ] {
        let r = app.post(&buyer, &path, json!({ "text": text })).await;
        expect_problem(&r, 422, "contact_details");
    }
    let r = app
        .post(&buyer, &path, json!({ "text": "3 days, $25, 10:30" }))
        .await;
    expect_status(&r, 201);
}
