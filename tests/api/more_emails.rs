//! The emails issue 12 adds (product.md "Conversation and notifications"):
//! moderation, a new offer, cleared earnings and a rejected withdrawal, each
//! in the recipient's language, and the preferences that turn the optional
//! ones off while orders and money always go.

use crate::helpers::*;
use serde_json::{Value, json};

fn subjects(mails: &[Value]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect()
}

fn text(m: &Value) -> &str {
    m["text"].as_str().unwrap()
}

#[tokio::test]
async fn a_seller_hears_of_approval_and_rejection_in_their_language() {
    let app = spawn_app().await;
    let en = app.user_en("sam").await;
    let ar = app.user("salma").await;

    let s = app
        .active_service(&en, json!({ "title": "I will draw a mascot" }))
        .await;
    let mail = app
        .email(&en.email, "Your service is approved: I will draw a mascot")
        .await;
    assert!(text(&mail).contains("/me/services"), "{mail}");
    assert!(mail["html"].as_str().unwrap().contains("View my services"));

    let s2 = app
        .create_service(&ar, json!({ "title": "سأرسم شخصية كرتونية" }))
        .await;
    app.reject(
        &format!("/admin/services/{}/reject", id(&s2)),
        "أضف نماذج من أعمالك",
    )
    .await;
    let mail = app
        .email(&ar.email, "لم تتم الموافقة على خدمتك: سأرسم شخصية كرتونية")
        .await;
    assert!(text(&mail).contains("أضف نماذج من أعمالك"), "{mail}");
    assert!(mail["html"].as_str().unwrap().contains("dir=\"rtl\""));

    // An edit approved says so.
    let r = app
        .patch(
            &en,
            &format!("/services/{}", id(&s)),
            json!({ "title": "I will draw two mascots" }),
        )
        .await;
    expect_status(&r, 200);
    let op = app.operator().await;
    let r = app
        .post_empty(&op, &format!("/admin/services/{}/revision/approve", id(&s)))
        .await;
    expect_status(&r, 200);
    let mail = app
        .email(
            &en.email,
            "Your service is approved: I will draw two mascots",
        )
        .await;
    assert!(text(&mail).contains("your edit"), "{mail}");
}

#[tokio::test]
async fn a_request_author_hears_of_each_new_offer_once() {
    let app = spawn_app().await;
    let author = app.user_en("huda").await;
    let seller = app.user("voice").await;
    let r = app
        .post(
            &author,
            "/requests",
            json!({ "title": "A voice-over for an ad", "description": "Warm male voice." }),
        )
        .await;
    let rid = id(&expect_status(&r, 201));
    let offers = format!("/requests/{rid}/offers");
    let r = app
        .post(
            &seller,
            &offers,
            json!({ "text": "I can record it today." }),
        )
        .await;
    expect_status(&r, 201);
    let mail = app
        .email(&author.email, "A new offer on your request")
        .await;
    assert!(text(&mail).contains("A voice-over for an ad"));
    assert!(text(&mail).contains("I can record it today."));
    assert!(text(&mail).contains(&format!("/requests/{rid}")), "{mail}");
    // A second offer by the same seller is refused: nothing new to tell.
    let r = app
        .post(
            &seller,
            &offers,
            json!({ "text": "Today, and a second take free." }),
        )
        .await;
    expect_problem(&r, 409, "duplicate_offer");
    let n = subjects(&app.emails_to(&author.email).await)
        .iter()
        .filter(|s| s.starts_with("A new offer"))
        .count();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn cleared_earnings_and_a_rejected_withdrawal_are_emailed() {
    let app = spawn_app().await;
    // seller_with_earnings completes an order and lets 14 days pass.
    let seller = seller_with_earnings(&app, "nour").await;
    let cleared = app
        .email(&seller.email, "Your earnings are available")
        .await;
    assert!(text(&cleared).contains("$20.00"), "{cleared}");
    // It links to its own order: each cleared order is its own email.
    assert!(text(&cleared).contains("/orders/"), "{cleared}");

    let r = app
        .post(
            &seller,
            "/withdrawals",
            json!({ "amount": "15.00", "paypal_email": "nour@paypal.test" }),
        )
        .await;
    let w = id(&expect_status(&r, 201));
    let op = app.operator().await;
    let r = app
        .post(
            &op,
            &format!("/admin/withdrawals/{w}/reject"),
            json!({ "reason": "The PayPal name does not match" }),
        )
        .await;
    expect_status(&r, 200);
    let mail = app
        .email(&seller.email, "Your withdrawal was rejected")
        .await;
    assert!(text(&mail).contains("$15.00"), "{mail}");
    assert!(text(&mail).contains("The PayPal name does not match"));
    assert_eq!(app.me(&seller).await["earnings_available"], "20.00");
}

#[tokio::test]
async fn preferences_turn_off_optional_emails_but_never_orders_or_money() {
    let app = spawn_app().await;
    let seller = app.user_en("pref").await;
    assert_eq!(
        app.me(&seller).await["email_prefs"],
        json!({ "moderation": true, "offers": true, "reviews": true, "messages": true })
    );
    let r = app
        .patch(
            &seller,
            "/me",
            json!({ "email_prefs": { "moderation": false } }),
        )
        .await;
    assert_eq!(
        expect_status(&r, 200)["email_prefs"],
        json!({ "moderation": false, "offers": true, "reviews": true, "messages": true })
    );
    let r = app
        .patch(
            &seller,
            "/me",
            json!({ "email_prefs": { "newsletter": false } }),
        )
        .await;
    assert!(r.0 == 400 || r.0 == 422, "{r:?}");
    let r = app
        .patch(&seller, "/me", json!({ "email_prefs": { "offers": "no" } }))
        .await;
    assert!(r.0 == 400 || r.0 == 422, "{r:?}");

    // Approval says nothing now; an order still reaches the seller.
    let s = app.active_service(&seller, json!({})).await;
    assert!(
        !subjects(&app.emails_to(&seller.email).await)
            .iter()
            .any(|s| s.starts_with("Your service is approved")),
    );
    let buyer = app.user("prefbuyer").await;
    app.topup(&buyer, "5.00").await;
    app.order(&buyer, &id(&s), json!({})).await;
    assert_eq!(app.order_emails_to(&seller.email).await.len(), 1);
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[tokio::test]
async fn a_new_message_is_emailed_at_most_once_per_order_per_15_minutes_per_recipient() {
    let app = spawn_app().await;
    let (seller, buyer, sid) = app.market(json!({}), "10.00").await;
    let o = app.order(&buyer, &sid, json!({})).await;
    let msgs = format!("/orders/{}/messages", id(&o));
    let told = |addr: String| {
        let app = &app;
        async move {
            subjects(&app.emails_to(&addr).await)
                .iter()
                .filter(|s| s.starts_with("رسالة جديدة في طلبك") || s.starts_with("A new message"))
                .count()
        }
    };

    // A burst of three from the buyer: one email to the seller, none to her.
    for text in ["Hello", "Here are the colours", "And the font"] {
        expect_status(&app.post(&buyer, &msgs, json!({ "text": text })).await, 201);
    }
    assert_eq!(told(seller.email.clone()).await, 1);
    assert_eq!(told(buyer.email.clone()).await, 0);
    let mail = app.email(&seller.email, "رسالة جديدة في طلبك").await;
    let body = mail["text"].as_str().unwrap();
    assert!(body.contains(&format!("/orders/{}", id(&o))), "{body}");
    assert!(
        !body.contains("colours"),
        "the text stays on the site: {body}"
    );

    // The seller answers: the buyer gets her one email.
    expect_status(
        &app.post(&seller, &msgs, json!({ "text": "Thanks!" })).await,
        201,
    );
    assert_eq!(told(buyer.email.clone()).await, 1);

    // 14 minutes on, still quiet; past 15, the next message emails again.
    app.advance_seconds(14 * 60).await;
    expect_status(
        &app.post(&buyer, &msgs, json!({ "text": "Any news?" }))
            .await,
        201,
    );
    assert_eq!(told(seller.email.clone()).await, 1);
    app.advance_seconds(61).await;
    expect_status(
        &app.post(&buyer, &msgs, json!({ "text": "Ping" })).await,
        201,
    );
    assert_eq!(told(seller.email.clone()).await, 2);

    // Turned off, it stops; the messages themselves are all there.
    let r = app
        .patch(
            &seller,
            "/me",
            json!({ "email_prefs": { "messages": false } }),
        )
        .await;
    expect_status(&r, 200);
    app.advance_seconds(16 * 60).await;
    expect_status(
        &app.post(&buyer, &msgs, json!({ "text": "Hello again" }))
            .await,
        201,
    );
    assert_eq!(told(seller.email.clone()).await, 2);
    assert_eq!(app.items(&seller, &msgs).await.len(), 7);
}
