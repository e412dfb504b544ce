//! What only the emulator mode can show: the emails really went through
//! SES (moto keeps them), and the timers travelled through SQS. These run
//! when the suite runs with `KHAMSA_BACKEND=aws` (infra/test.sh's second
//! pass); on the in-memory default there is no SES to look into.

use crate::helpers::*;
use khamsa_testkit::aws::moto_emails;
use khamsa_testkit::unique;
use serde_json::json;

/// The server, in the emulator pass only (the in-memory one has no SES).
async fn on_emulators() -> Option<TestApp> {
    if std::env::var("KHAMSA_BACKEND").as_deref() != Ok("aws") {
        eprintln!("in-memory run: the SES checks run in the emulator pass");
        return None;
    }
    Some(spawn_app().await)
}

#[tokio::test]
async fn the_new_order_email_reaches_ses_with_recipient_subject_and_amounts() {
    let Some(app) = on_emulators().await else {
        return;
    };
    let seller = app.user_en(&unique("seller")).await;
    let buyer = app.user(&unique("buyer")).await;
    let svc = app
        .active_service(
            &seller,
            json!({ "title": "Arabic voice-over", "price": "10.00",
                    "upgrades": [{ "title": "Studio quality", "price": "5.00", "extra_days": 1 }] }),
        )
        .await;
    app.topup(&buyer, "50.00").await;
    let order = app
        .order(
            &buyer,
            svc["id"].as_str().unwrap(),
            json!({ "upgrades": [0] }),
        )
        .await;
    assert_eq!(
        (order["total"].as_str(), order["seller_net"].as_str()),
        (Some("15.00"), Some("12.00"))
    );
    // The notifier worker drains the queue before /dev/emails answers.
    assert!(!app.emails_to(&seller.email).await.is_empty());

    // The seller also heard of the approval: keep what is about the order.
    let order_id = order["id"].as_str().unwrap();
    let got: Vec<_> = moto_emails(&[&seller.email])
        .await
        .into_iter()
        .filter(|m| m["body"].as_str().unwrap_or_default().contains(order_id))
        .collect();
    assert_eq!(
        got.len(),
        1,
        "exactly one email about the order to the seller in SES: {got:?}"
    );
    let m = &got[0];
    let subject = m["subject"].as_str().unwrap();
    assert!(subject.contains("Arabic voice-over"), "{subject}");
    let body = m["body"].as_str().unwrap();
    assert!(
        body.contains("$15.00") && body.contains("$12.00"),
        "total and net in the body: {body}"
    );
    assert!(
        body.contains(order["id"].as_str().unwrap()),
        "links to the order"
    );
    assert_eq!(m["source"], "no-reply@khamsa.local");
}

#[tokio::test]
async fn auto_cancel_goes_through_the_timers_queue_and_mails_the_refund() {
    let Some(app) = on_emulators().await else {
        return;
    };
    let seller = app.user(&unique("seller")).await;
    let buyer = app.user_en(&unique("buyer")).await;
    let svc = app
        .active_service(&seller, json!({ "price": "20.00", "delivery_days": 1 }))
        .await;
    app.topup(&buyer, "20.00").await;
    let order = app
        .order(&buyer, svc["id"].as_str().unwrap(), json!({}))
        .await;
    let id = order["id"].as_str().unwrap();

    // 1 day to deliver, 3 more before the system steps in.
    app.advance_days(4).await;
    let o = app.get_order(&buyer, id).await;
    assert_eq!(
        (o["status"].as_str(), o["cancelled_by"].as_str()),
        (Some("cancelled"), Some("system"))
    );
    assert_eq!(app.me(&buyer).await["balance"], "20.00");
    let mails = moto_emails(&[&buyer.email]).await;
    assert!(
        mails
            .iter()
            .any(|m| m["body"].as_str().is_some_and(|b| b.contains("$20.00"))
                && m["subject"]
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().contains("cancel"))),
        "the refund email reached SES: {mails:?}"
    );
}

#[tokio::test]
async fn ses_gets_list_unsubscribe_on_optional_emails_only() {
    let Some(app) = on_emulators().await else {
        return;
    };
    let seller = app.user_en(&unique("seller")).await;
    let buyer = app.user(&unique("buyer")).await;
    let svc = app
        .active_service(
            &seller,
            json!({ "title": "Podcast intro", "price": "5.00" }),
        )
        .await;
    app.topup(&buyer, "5.00").await;
    let order = app
        .order(&buyer, svc["id"].as_str().unwrap(), json!({}))
        .await;
    assert!(!app.emails_to(&seller.email).await.is_empty());
    let mails = moto_emails(&[&seller.email]).await;
    let find = |what: &str| {
        mails
            .iter()
            .find(|m| {
                m["subject"].as_str().is_some_and(|s| s.contains(what))
                    || m["body"].as_str().is_some_and(|b| b.contains(what))
            })
            .unwrap_or_else(|| panic!("no email with {what}: {mails:?}"))
    };
    // The raw message as SES got it: headers, a text and an HTML part.
    let approved = find("approved");
    let link = approved["headers"]["List-Unsubscribe"]
        .as_str()
        .unwrap_or_else(|| panic!("{approved}"));
    assert!(link.contains("/unsubscribe?token="), "{link}");
    assert_eq!(
        approved["headers"]["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    assert!(approved["text"].as_str().unwrap().contains("Podcast intro"));
    let about_order = find(order["id"].as_str().unwrap());
    assert!(
        about_order["headers"].get("List-Unsubscribe").is_none(),
        "an order's email is transactional: {about_order}"
    );
    // The link SES carried works.
    let r = app.one_click(link).await;
    assert_eq!(expect_status(&r, 200)["unsubscribed"], "moderation");
}
