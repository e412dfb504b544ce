//! An order from listing to payout, and the money moving with it.

use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn full_lifecycle_with_instructions_and_an_upgrade_ends_in_a_payout() {
    let app = spawn_app().await;
    let seller = app.user_en("sara").await;
    let buyer = app.user("badr").await;
    let op = app.operator().await;

    // The seller lists a service that asks for instructions, with upgrades.
    let title = "I will translate your page from English to Arabic";
    let created = app
        .create_service(
            &seller,
            json!({
                "title": title,
                "category": "writing-translation",
                "price": "10.00",
                "delivery_days": 3,
                "instructions": "Send me the text and the audience.",
                "upgrades": [
                    { "title": "Proofreading by a second translator", "price": "5.00", "extra_days": 1 },
                    { "title": "Express", "price": "10.00", "extra_days": 0 },
                ],
            }),
        )
        .await;
    let service_id = id(&created);
    // Not public until an operator approves it.
    expect_problem(
        &app.get_anon(&format!("/services/{service_id}")).await,
        404,
        "not_found",
    );
    let pending = app
        .items(&op, "/admin/services?status=pending_review")
        .await;
    assert!(ids(&pending).contains(&service_id));
    app.approve(&service_id).await;
    let public = expect_status(&app.get_anon(&format!("/services/{service_id}")).await, 200);
    assert_eq!(public["status"], "active");
    assert_eq!(public["price"], "10.00");
    assert_eq!(public["upgrades"][0]["price"], "5.00");

    // The buyer tops up and orders upgrade 0, twice.
    app.topup(&buyer, "50.00").await;
    assert_eq!(app.me(&buyer).await["balance"], "50.00");
    let order = app
        .order(
            &buyer,
            &service_id,
            json!({ "upgrades": [0], "quantity": 2 }),
        )
        .await;
    let order_id = id(&order);
    assert_eq!(order["total"], "30.00", "(10 + 5) x 2");
    assert_eq!(order["fee"], "6.00");
    assert_eq!(order["seller_net"], "24.00");
    assert_eq!(order["quantity"], 2);
    assert_eq!(order["delivery_days"], 4, "3 days + 1 for the upgrade");
    assert_eq!(order["status"], "awaiting_instructions");
    assert_eq!(order["due_at"], Value::Null);
    assert_eq!(order["service_title"], title);
    assert_eq!(order["upgrades"][0]["index"], 0);
    assert_eq!(
        order["upgrades"][0]["title"],
        "Proofreading by a second translator"
    );
    assert_eq!(order["upgrades"][0]["price"], "5.00");
    assert_eq!(order["buyer_id"], buyer.id.as_str());
    assert_eq!(order["seller_id"], seller.id.as_str());
    assert_eq!(app.me(&buyer).await["balance"], "20.00");

    // The seller was told by email: the title, the total, the net, a link.
    let mails = app.emails_to(&seller.email).await;
    let new_order = mails
        .iter()
        .find(|m| m["subject"].as_str().unwrap().starts_with("New order"))
        .unwrap_or_else(|| panic!("no new-order email: {mails:?}"));
    for part in ["text", "html"] {
        let body = new_order[part].as_str().unwrap();
        assert!(body.contains(title), "{part} names the service: {body}");
        assert!(body.contains("$30.00"), "{part} has the total: {body}");
        assert!(body.contains("$24.00"), "{part} has the net: {body}");
        assert!(
            body.contains(&format!("/orders/{order_id}")),
            "{part} links to the order: {body}"
        );
    }
    // The buyer got a receipt.
    assert_eq!(app.emails_to(&buyer.email).await.len(), 1);

    // Both sides appear in their lists.
    assert_eq!(
        ids(&app.items(&buyer, "/me/purchases").await),
        vec![order_id.clone()]
    );
    assert_eq!(
        ids(&app
            .items(&seller, "/me/sales?status=awaiting_instructions")
            .await),
        vec![order_id.clone()]
    );

    // Messages both ways, newest first.
    let msgs = format!("/orders/{order_id}/messages");
    let m1 = app
        .post(&buyer, &msgs, json!({ "text": "Is a 900-word page fine?" }))
        .await;
    assert_eq!(expect_status(&m1, 201)["sender_id"], buyer.id.as_str());
    // A person takes longer than a millisecond to answer; replies within
    // the same millisecond have their own test below.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let m2 = app
        .post(&seller, &msgs, json!({ "text": "Yes, send it over." }))
        .await;
    expect_status(&m2, 201);
    let thread = app.items(&buyer, &msgs).await;
    let seen: Vec<(&str, &str)> = thread
        .iter()
        .map(|m| {
            (
                m["sender_id"].as_str().unwrap(),
                m["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (seller.id.as_str(), "Yes, send it over."),
            (buyer.id.as_str(), "Is a 900-word page fine?"),
        ]
    );
    assert_eq!(app.items(&seller, &msgs).await, thread);

    // Instructions start the clock.
    let text = "The page is about our bakery; the audience is families.";
    let o = app
        .act_due_in(&buyer, &order_id, "instructions", text, 4)
        .await;
    assert_eq!(o["instructions"], text);
    // Instructions are a field of the order, not a message.
    assert_eq!(app.items(&buyer, &msgs).await.len(), 2);
    let told = app
        .email(&seller.email, "The buyer sent instructions")
        .await;
    assert!(told["text"].as_str().unwrap().contains("our bakery"));

    // Deliver, then receive.
    let o = app
        .act(
            &seller,
            &order_id,
            "deliver",
            json!({ "text": "Translated page attached in the files." }),
        )
        .await;
    assert_eq!(o["status"], "delivered");
    assert_eq!(o["delivery_text"], "Translated page attached in the files.");
    assert!(o["delivered_at"].is_string());
    // The buyer (Arabic by default) is told the work is in.
    assert!(
        app.emails_to(&buyer.email)
            .await
            .iter()
            .any(|m| m["subject"].as_str().unwrap().starts_with("تم تسليم طلبك")),
        "a delivered email"
    );
    assert_eq!(
        ids(&app.items(&buyer, "/me/purchases?status=delivered").await),
        vec![order_id.clone()]
    );
    assert!(
        app.items(&buyer, "/me/purchases?status=in_progress")
            .await
            .is_empty()
    );
    expect_problem(
        &app.get(&buyer, "/me/purchases?status=lost").await,
        400,
        "invalid_query",
    );
    let o = app.act(&buyer, &order_id, "receive", json!({})).await;
    assert_eq!(o["status"], "completed");
    assert_eq!(o["completed_by"], "buyer");
    assert!(o["completed_at"].is_string());

    // The net is pending for 14 days, then available.
    let me = app.me(&seller).await;
    assert_eq!(
        (
            me["earnings_pending"].as_str(),
            me["earnings_available"].as_str()
        ),
        (Some("24.00"), Some("0.00"))
    );
    app.advance_days(14).await;
    let me = app.me(&seller).await;
    assert_eq!(
        (
            me["earnings_pending"].as_str(),
            me["earnings_available"].as_str()
        ),
        (Some("0.00"), Some("24.00"))
    );

    // Withdraw it all to PayPal; an operator pays it.
    let r = app
        .post(
            &seller,
            "/withdrawals",
            json!({ "amount": "24.00", "paypal_email": "sara.pay@example.com" }),
        )
        .await;
    let w = expect_status(&r, 201);
    assert_eq!(
        (
            w["amount"].as_str(),
            w["status"].as_str(),
            w["paypal_email"].as_str()
        ),
        (
            Some("24.00"),
            Some("requested"),
            Some("sara.pay@example.com")
        )
    );
    let me = app.me(&seller).await;
    assert_eq!(me["earnings_available"], "0.00");
    assert_eq!(me["withdrawals_in_flight"], "24.00");
    let queue = app.items(&op, "/admin/withdrawals?status=requested").await;
    assert_eq!(ids(&queue), vec![id(&w)]);
    let r = app
        .post_empty(&op, &format!("/admin/withdrawals/{}/approve", id(&w)))
        .await;
    assert_eq!(expect_status(&r, 200)["status"], "approved");
    // The payouts worker sends it to (the fake) PayPal, which pays it.
    app.withdrawal_reaching(&seller, &id(&w), "paid").await;
    let me = app.me(&seller).await;
    assert_eq!(me["withdrawals_in_flight"], "0.00");
    assert_eq!(me["earnings_available"], "0.00");
    let mine = app.items(&seller, "/me/withdrawals").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["status"], "paid");
    let paid_mail = app
        .emails_to(&seller.email)
        .await
        .into_iter()
        .find(|m| m["subject"] == "Your withdrawal has been paid")
        .expect("a withdrawal-paid email");
    assert!(paid_mail["text"].as_str().unwrap().contains("$24.00"));

    // The seller's ledger tells the whole story, newest first.
    let ledger = app.items(&seller, "/me/ledger").await;
    let lines: Vec<(&str, &str, &str)> = ledger
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap(),
                l["account"].as_str().unwrap(),
                l["amount"].as_str().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![
        ("order_completed", "earnings_pending", "24.00"),
        ("earnings_cleared", "earnings_pending", "-24.00"),
        ("earnings_cleared", "earnings_available", "24.00"),
        ("withdrawal_requested", "earnings_available", "-24.00"),
        ("withdrawal_requested", "withdrawals_in_flight", "24.00"),
        ("withdrawal_paid", "withdrawals_in_flight", "-24.00"),
    ];
    let mut got = lines.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "seller ledger: {ledger:?}");
    assert_eq!(lines[0].0, "withdrawal_paid", "newest first");
    assert!(
        ledger
            .iter()
            .filter(|l| l["kind"] != "withdrawal_requested" && l["kind"] != "withdrawal_paid")
            .all(|l| l["order_id"] == order_id.as_str())
    );
    let buyer_ledger = app.items(&buyer, "/me/ledger").await;
    let b: Vec<(&str, &str, &str, &str)> = buyer_ledger
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap(),
                l["account"].as_str().unwrap(),
                l["amount"].as_str().unwrap(),
                l["balance_after"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        b,
        vec![
            ("order_placed", "balance", "-30.00", "20.00"),
            ("topup", "balance", "50.00", "50.00"),
        ]
    );

    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["accounts_total"], "0.00");
    assert_eq!(check["violations"], json!([]));
}

#[tokio::test]
async fn an_order_is_paid_from_balance_first_then_earnings_and_a_refund_returns_each_part_home() {
    let app = spawn_app().await;
    let maker = app.user_en("maker").await; // earns, then buys
    let designer = app.user("designer").await;
    let client = app.user("client").await;

    // `maker` earns 8.00 and lets it clear.
    let svc = app
        .active_service(&maker, json!({ "price": "10.00" }))
        .await;
    app.topup(&client, "10.00").await;
    app.completed_order(&client, &maker, &id(&svc)).await;
    app.advance_days(14).await;
    assert_eq!(app.me(&maker).await["earnings_available"], "8.00");

    // With 5.00 of balance, a 10.00 order takes 5 + 5.
    app.topup(&maker, "5.00").await;
    let logo = app
        .active_service(&designer, json!({ "price": "10.00" }))
        .await;
    let order = app.order(&maker, &id(&logo), json!({})).await;
    assert_eq!(order["total"], "10.00");
    let me = app.me(&maker).await;
    assert_eq!(
        (me["balance"].as_str(), me["earnings_available"].as_str()),
        (Some("0.00"), Some("3.00"))
    );
    let receipt = app.email(&maker.email, "Your order is confirmed").await;
    let text = receipt["text"].as_str().unwrap();
    assert!(text.contains("Paid from your balance: $5.00"), "{text}");
    assert!(text.contains("Paid from your earnings: $5.00"), "{text}");
    let placed: Vec<(String, String)> = app
        .items(&maker, "/me/ledger")
        .await
        .iter()
        .filter(|l| l["kind"] == "order_placed")
        .map(|l| {
            (
                l["account"].as_str().unwrap().to_owned(),
                l["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(placed.len(), 2, "{placed:?}");
    assert!(placed.contains(&("balance".into(), "-5.00".into())));
    assert!(placed.contains(&("earnings_available".into(), "-5.00".into())));

    // The seller cancels: balance part to balance, earnings part to earnings.
    let o = app.act(&designer, &id(&order), "cancel", json!({})).await;
    assert_eq!(o["status"], "cancelled");
    let me = app.me(&maker).await;
    assert_eq!(
        (me["balance"].as_str(), me["earnings_available"].as_str()),
        (Some("5.00"), Some("8.00"))
    );
    let check = app.ledger_check().await;
    assert_eq!(
        (check["ok"].clone(), check["accounts_total"].clone()),
        (json!(true), json!("0.00"))
    );
}

#[tokio::test]
async fn asking_for_changes_puts_the_order_back_in_progress_with_a_new_due_at() {
    let app = spawn_app().await;
    let seller = app.user_en("seller").await;
    let buyer = app.user("buyer").await;
    let svc = app
        .active_service(&seller, json!({ "delivery_days": 2 }))
        .await;
    app.topup(&buyer, "5.00").await;
    let before = app.now().await;
    let order = app.order(&buyer, &id(&svc), json!({})).await;
    // No instructions asked: in progress at once, due in 2 days.
    assert_eq!(order["status"], "in_progress");
    let first_due = ms(&order["due_at"]);
    assert!(first_due >= before + 2 * DAY_MS && first_due < before + 2 * DAY_MS + 60_000);
    let order_id = id(&order);
    app.deliver(&seller, &order_id).await;

    app.advance_days(1).await;
    let o = app
        .act_due_in(
            &buyer,
            &order_id,
            "changes",
            "Please make the blue darker.",
            2,
        )
        .await;
    assert!(ms(&o["due_at"]) > first_due);
    assert_eq!(o["can_cancel"], false, "not late for the buyer yet");

    let mail = app
        .email(&seller.email, "The buyer asked for changes")
        .await;
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("Please make the blue darker.")
    );

    // Deliver again, then receive.
    app.deliver(&seller, &order_id).await;
    let o = app.receive(&buyer, &order_id).await;
    assert_eq!(o["completed_by"], "buyer");
    assert_eq!(app.me(&seller).await["earnings_pending"], "4.00");
}

#[tokio::test]
async fn messages_are_listed_newest_first_even_when_sent_within_one_millisecond() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "5.00").await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let path = format!("/orders/{}/messages", id(&order));
    let mut sent = vec![];
    for i in 0..30 {
        let who = if i % 2 == 0 { &buyer } else { &seller };
        let text = format!("message number {i}");
        expect_status(&app.post(who, &path, json!({ "text": text })).await, 201);
        sent.push(text);
    }
    let listed: Vec<String> = app
        .items(&buyer, &format!("{path}?limit=100"))
        .await
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    // Newest first: the latest message is on the first page.
    sent.reverse();
    assert_eq!(listed, sent, "each message before the one sent before it");

    // Paging through with a cursor gives the same sequence.
    let mut paged = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit=7&cursor={c}"),
            None => format!("{path}?limit=7"),
        };
        let page = expect_status(&app.get(&seller, &url).await, 200);
        for m in page["items"].as_array().unwrap() {
            paged.push(m["text"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, sent);
}

#[tokio::test]
async fn user_text_in_emails_is_escaped_in_html_and_kept_in_text() {
    let app = spawn_app().await;
    let seller = app.user_en("seller").await;
    let buyer = app.user("buyer").await;
    let r = app
        .patch(&buyer, "/me", json!({ "display_name": "Badr <b>& co</b>" }))
        .await;
    assert_eq!(expect_status(&r, 200)["display_name"], "Badr <b>& co</b>");
    let svc = app
        .active_service(&seller, json!({ "instructions": "Your text, please." }))
        .await;
    app.topup(&buyer, "5.00").await;
    let order = app.order(&buyer, &id(&svc), json!({})).await;
    let sneaky = "Use <script>alert(1)</script> & \"quotes\" as the headline";
    app.act(
        &buyer,
        &id(&order),
        "instructions",
        json!({ "text": sneaky }),
    )
    .await;
    let mail = app
        .email(&seller.email, "The buyer sent instructions")
        .await;
    let html = mail["html"].as_str().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;"),
        "{html}"
    );
    assert!(mail["text"].as_str().unwrap().contains(sneaky));
    // The buyer's own name is escaped in their greeting.
    let receipt = &app.emails_to(&buyer.email).await[0];
    let html = receipt["html"].as_str().unwrap();
    assert!(
        html.contains("Badr &#60;b&#62;&#38; co&#60;/b&#62;"),
        "{html}"
    );
    assert!(!html.contains("<b>& co"), "{html}");
    // The mail reader is case-insensitive about addresses.
    assert_eq!(app.emails_to("BUYER@EXAMPLE.COM").await.len(), 1);
}

#[tokio::test]
async fn the_profile_email_follows_the_token() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let svc = app.active_service(&seller, json!({})).await;
    // The seller signs in again with a new address.
    let r = app
        .send(
            "POST",
            "/dev/token",
            None,
            Some(&json!({ "user": "seller", "email": "sara.new@example.com" })),
            None,
        )
        .await;
    let token = expect_status(&r, 200)["token"].as_str().unwrap().to_owned();
    let r = app
        .send("GET", "/me", Some(&format!("Bearer {token}")), None, None)
        .await;
    assert_eq!(expect_status(&r, 200)["email"], "sara.new@example.com");
    app.topup(&buyer, "5.00").await;
    app.order(&buyer, &id(&svc), json!({})).await;
    assert_eq!(app.order_emails_to("sara.new@example.com").await.len(), 1);
    assert!(app.order_emails_to(&seller.email).await.is_empty());
}

/// Each step (caller, action) on order `oid` is a 409 invalid_transition.
async fn refused(app: &TestApp, oid: &str, steps: &[(&User, &str)]) {
    for (who, action) in steps {
        let path = format!("/orders/{oid}/{action}");
        let r = app.post(who, &path, json!({ "text": "Some text." })).await;
        expect_problem(&r, 409, "invalid_transition");
    }
}

#[tokio::test]
async fn steps_out_of_order_are_state_conflicts_and_change_nothing() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let asks = app
        .active_service(&seller, json!({ "instructions": "The brief, please." }))
        .await;
    let plain = app.active_service(&seller, json!({})).await;
    app.topup(&buyer, "20.00").await;

    // Awaiting instructions: no delivery, receipt or changes yet.
    let waiting = id(&app.order(&buyer, &id(&asks), json!({})).await);
    let early = [
        (&seller, "deliver"),
        (&buyer, "receive"),
        (&buyer, "changes"),
    ];
    refused(&app, &waiting, &early).await;
    assert_eq!(
        app.get_order(&buyer, &waiting).await["status"],
        "awaiting_instructions"
    );

    // In progress: instructions only once (or never, if none were asked).
    let working = id(&app.order(&buyer, &id(&plain), json!({})).await);
    let working_steps = [
        (&buyer, "instructions"),
        (&buyer, "receive"),
        (&buyer, "changes"),
    ];
    refused(&app, &working, &working_steps).await;
    assert_eq!(
        app.get_order(&buyer, &working).await["instructions"],
        Value::Null
    );

    // Completed: nothing moves it again.
    app.deliver(&seller, &working).await;
    app.receive(&buyer, &working).await;
    let done = [
        (&seller, "deliver"),
        (&buyer, "receive"),
        (&buyer, "changes"),
        (&buyer, "cancel"),
        (&seller, "cancel"),
    ];
    refused(&app, &working, &done).await;
    let o = app.get_order(&buyer, &working).await;
    assert_eq!(
        (o["status"].as_str(), o["completed_by"].as_str()),
        (Some("completed"), Some("buyer"))
    );
    assert_eq!(app.me(&seller).await["earnings_pending"], "4.00");
    assert_eq!(app.me(&buyer).await["balance"], "10.00");
}
