//! Email goes only to verified addresses: the profile's email follows the
//! token's `email` only while `email_verified` is true.

use crate::helpers::*;
use serde_json::{Value, json};

async fn token(app: &TestApp, user: &str, email: &str, verified: bool) -> String {
    let r = app
        .send(
            "POST",
            "/dev/token",
            None,
            Some(&json!({ "user": user, "email": email, "email_verified": verified })),
            None,
        )
        .await;
    let t = expect_status(&r, 200)["token"].as_str().unwrap().to_owned();
    format!("Bearer {t}")
}

async fn me(app: &TestApp, bearer: &str) -> (u16, Value) {
    app.send("GET", "/me", Some(bearer), None, None).await
}

#[tokio::test]
async fn an_unverified_email_never_reaches_the_profile() {
    let app = spawn_app().await;
    // A new user who has not verified their address cannot start.
    let t = token(&app, "newbie", "newbie@example.com", false).await;
    expect_problem(&me(&app, &t).await, 403, "email_unverified");

    // A known user who changes their address to someone else's keeps the
    // verified one until the new one is verified too.
    let t = token(&app, "sara", "sara@example.com", true).await;
    assert_eq!(
        expect_status(&me(&app, &t).await, 200)["email"],
        "sara@example.com"
    );
    let t = token(&app, "sara", "victim@example.com", false).await;
    assert_eq!(
        expect_status(&me(&app, &t).await, 200)["email"],
        "sara@example.com"
    );
    let t = token(&app, "sara", "sara.new@example.com", true).await;
    assert_eq!(
        expect_status(&me(&app, &t).await, 200)["email"],
        "sara.new@example.com"
    );
}

#[tokio::test]
async fn order_email_goes_to_the_verified_address() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "50.00").await;
    // The seller's token now claims an address they have not proved.
    let t = token(&app, &seller.id, "victim@example.com", false).await;
    expect_status(&me(&app, &t).await, 200);
    app.order(&buyer, &svc, json!({})).await;
    assert!(app.emails_to("victim@example.com").await.is_empty());
    assert!(!app.emails_to(&seller.email).await.is_empty());
}
