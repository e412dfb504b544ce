//! Issue 12's smaller faults, as a user meets them: a new user's name, and
//! a cancellation email that says where each part of the refund went.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_new_user_is_named_after_their_email_and_emails_greet_that_name() {
    let app = spawn_app().await;
    let u = app
        .user_with_email(
            "3f2a9c1e-77b0-4c1e-9a55-0d1e2f3a4b5c",
            "layla.h@example.com",
        )
        .await;
    let me = app.me(&u).await;
    assert_eq!(me["display_name"], "layla.h");
    let profile = expect_status(&app.get_anon(&format!("/users/{}", u.id)).await, 200);
    assert_eq!(profile["display_name"], "layla.h");

    // Her first order email greets her by that name, not by the id.
    let seller = app.user("sellerx").await;
    let s = app.active_service(&seller, json!({})).await;
    app.topup(&u, "20.00").await;
    app.order(&u, s["id"].as_str().unwrap(), json!({})).await;
    let mail = &app.emails_to(&u.email).await[0];
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("layla.h"), "{text}");
    assert!(!text.contains("3f2a9c1e"), "{text}");
}

#[tokio::test]
async fn a_refund_email_names_the_balance_part_and_the_earnings_part() {
    let app = spawn_app().await;
    // A seller with $20.00 of available earnings and $1.00 of balance buys
    // a $5.00 service: $1.00 from the balance, $4.00 from earnings.
    let buyer = seller_with_earnings(&app, "buyerseller").await;
    app.topup(&buyer, "1.00").await;
    let other = app.user_en("other").await;
    let s = app.active_service(&other, json!({})).await;
    let o = app
        .order(&buyer, s["id"].as_str().unwrap(), json!({}))
        .await;
    let me = app.me(&buyer).await;
    assert_eq!(
        (&me["balance"], &me["earnings_available"]),
        (&json!("0.00"), &json!("16.00"))
    );

    let id = o["id"].as_str().unwrap();
    app.act(&other, id, "cancel", json!({ "reason": "Too busy" }))
        .await;
    let mails = app.emails_to(&buyer.email).await;
    let cancelled = mails
        .iter()
        .find(|m| m["text"].as_str().unwrap().contains("Too busy"))
        .expect("a cancellation email");
    let text = cancelled["text"].as_str().unwrap();
    assert!(
        text.contains("$1.00 has been returned to your Khamsa balance"),
        "{text}"
    );
    assert!(
        text.contains("$4.00 has been returned to your available earnings"),
        "{text}"
    );
    assert!(!text.contains("$5.00 has been returned"), "{text}");
    let me = app.me(&buyer).await;
    assert_eq!(
        (&me["balance"], &me["earnings_available"]),
        (&json!("1.00"), &json!("20.00"))
    );
}

#[tokio::test]
async fn a_public_profile_counts_every_service_however_many() {
    let app = spawn_app().await;
    let seller = app.user("prolific").await;
    let buyer = app.user("loyal").await;
    // The oldest service gets the completed, reviewed order...
    let first = app.active_service(&seller, json!({})).await;
    app.topup(&buyer, "5.00").await;
    let o = app.completed_order(&buyer, &seller, &id(&first)).await;
    let r = app
        .post(
            &buyer,
            &format!("/orders/{}/review", id(&o)),
            json!({ "rating": 4, "text": "Good work" }),
        )
        .await;
    expect_status(&r, 201);
    // ...then 100 newer ones push it past the first page of services.
    for i in 0..100 {
        app.active_service(&seller, json!({ "title": format!("Service number {i}") }))
            .await;
    }
    let profile = expect_status(&app.get_anon(&format!("/users/{}", seller.id)).await, 200);
    assert_eq!(profile["orders_completed"], 1);
    assert_eq!(profile["rating"], json!({ "average": "4.00", "count": 1 }));
    assert_eq!(profile["services"].as_array().unwrap().len(), 100);
}
