//! Unread counts, the inbox and kept change requests (product.md
//! "Conversation and notifications"): a message counts as unread for the
//! other party only, reading the messages clears the reader's count only,
//! and `GET /me/inbox` lists the caller's orders with unread messages,
//! newest activity first.

use crate::helpers::*;
use serde_json::{Value, json};

fn unread(o: &Value) -> u64 {
    o["unread"].as_u64().expect("unread is a count")
}

/// The order as `u` sees it in `list` (`/me/purchases`, `/me/sales`).
async fn listed(app: &TestApp, u: &User, list: &str, order: &str) -> Value {
    app.items(u, list)
        .await
        .into_iter()
        .find(|o| o["id"] == order)
        .expect("the order is in the list")
}

#[tokio::test]
async fn unread_counts_rise_for_the_other_party_only_and_reading_clears_the_readers_only() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "10.00").await;
    let op = app.operator().await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    let msgs = format!("/orders/{order}/messages");
    assert_eq!(unread(&app.get_order(&buyer, &order).await), 0);
    assert_eq!(unread(&app.get_order(&seller, &order).await), 0);

    // Two from the buyer: two unread for the seller, none for the buyer.
    for text in ["Hello", "The colours are blue and white"] {
        expect_status(&app.post(&buyer, &msgs, json!({ "text": text })).await, 201);
    }
    assert_eq!(unread(&app.get_order(&seller, &order).await), 2);
    assert_eq!(unread(&app.get_order(&buyer, &order).await), 0);
    assert_eq!(unread(&listed(&app, &seller, "/me/sales", &order).await), 2);
    assert_eq!(
        unread(&listed(&app, &buyer, "/me/purchases", &order).await),
        0
    );

    // An operator reading marks nothing read for the parties.
    assert_eq!(app.items(&op, &msgs).await.len(), 2);
    assert_eq!(unread(&app.get_order(&op, &order).await), 0);
    assert_eq!(unread(&app.get_order(&seller, &order).await), 2);
    // Nor does looking at the order itself.
    assert_eq!(unread(&app.get_order(&seller, &order).await), 2);

    // The seller answers: one unread for the buyer; hers stay.
    expect_status(
        &app.post(&seller, &msgs, json!({ "text": "Noted" })).await,
        201,
    );
    assert_eq!(unread(&app.get_order(&buyer, &order).await), 1);
    assert_eq!(unread(&app.get_order(&seller, &order).await), 2);

    // The seller reads: her count clears, the buyer's stays.
    assert_eq!(app.items(&seller, &msgs).await.len(), 3);
    assert_eq!(unread(&app.get_order(&seller, &order).await), 0);
    assert_eq!(unread(&app.get_order(&buyer, &order).await), 1);
    // The buyer reads: cleared too, and it stays cleared.
    app.items(&buyer, &msgs).await;
    assert_eq!(unread(&app.get_order(&buyer, &order).await), 0);
    assert_eq!(unread(&app.get_order(&seller, &order).await), 0);
    // A party's own messages never count for them.
    expect_status(
        &app.post(&buyer, &msgs, json!({ "text": "Thanks" })).await,
        201,
    );
    assert_eq!(unread(&app.get_order(&buyer, &order).await), 0);
    assert_eq!(unread(&app.get_order(&seller, &order).await), 1);
}

#[tokio::test]
async fn the_inbox_lists_the_callers_unread_orders_newest_activity_first_and_drops_read_ones() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "20.00").await;
    let stranger = app.user("stranger").await;
    let a = id(&app.order(&buyer, &svc, json!({})).await);
    let b = id(&app.order(&buyer, &svc, json!({})).await);
    let say = async |u: &User, o: &str, text: &str| {
        let r = app
            .post(u, &format!("/orders/{o}/messages"), json!({ "text": text }))
            .await;
        expect_status(&r, 201);
        // The next message is a second later: activity orders the inbox.
        app.advance_seconds(1).await;
    };
    assert!(app.items(&seller, "/me/inbox").await.is_empty());

    say(&buyer, &a, "About order A").await;
    say(&buyer, &b, "About order B").await;
    let inbox = app.items(&seller, "/me/inbox").await;
    assert_eq!(ids(&inbox), vec![b.clone(), a.clone()]);
    assert_eq!(
        inbox.iter().map(unread).collect::<Vec<_>>(),
        vec![1, 1],
        "each with the seller's own count"
    );
    // The sender's inbox has neither; a stranger's is empty.
    assert!(app.items(&buyer, "/me/inbox").await.is_empty());
    assert!(app.items(&stranger, "/me/inbox").await.is_empty());

    // Another message on A puts it first again, one page at a time too.
    say(&buyer, &a, "And one more on A").await;
    let first = expect_status(&app.get(&seller, "/me/inbox?limit=1").await, 200);
    assert_eq!(ids(first["items"].as_array().unwrap()), vec![a.clone()]);
    assert_eq!(unread(&first["items"][0]), 2);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = expect_status(
        &app.get(&seller, &format!("/me/inbox?limit=1&cursor={cursor}"))
            .await,
        200,
    );
    assert_eq!(ids(second["items"].as_array().unwrap()), vec![b.clone()]);
    assert!(second["next_cursor"].is_null());

    // A stranger can neither read the conversation nor clear it: 404, and
    // the seller's inbox is as it was.
    expect_problem(
        &app.get(&stranger, &format!("/orders/{a}/messages")).await,
        404,
        "not_found",
    );
    expect_problem(
        &app.get(&stranger, &format!("/orders/{a}")).await,
        404,
        "not_found",
    );
    assert_eq!(
        ids(&app.items(&seller, "/me/inbox").await),
        vec![a.clone(), b.clone()]
    );

    // Reading A drops it from the seller's inbox only.
    app.items(&seller, &format!("/orders/{a}/messages")).await;
    assert_eq!(ids(&app.items(&seller, "/me/inbox").await), vec![b.clone()]);
    // The seller answers on B: the buyer's inbox has it, hers keeps B.
    say(&seller, &b, "Working on it").await;
    assert_eq!(ids(&app.items(&buyer, "/me/inbox").await), vec![b.clone()]);
    assert_eq!(ids(&app.items(&seller, "/me/inbox").await), vec![b.clone()]);
    app.items(&seller, &format!("/orders/{b}/messages")).await;
    assert!(app.items(&seller, "/me/inbox").await.is_empty());
    assert_eq!(ids(&app.items(&buyer, "/me/inbox").await), vec![b]);
}

#[tokio::test]
async fn every_change_request_is_kept_on_the_order_in_order_up_to_ten() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "10.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    assert_eq!(app.get_order(&buyer, &order).await["changes"], json!([]));

    let mut asked = vec![];
    for i in 1..=10 {
        app.deliver(&seller, &order).await;
        let text = format!("Round {i}: a darker blue, please");
        let o = app
            .act(&buyer, &order, "changes", json!({ "text": text }))
            .await;
        assert_eq!(o["status"], "in_progress");
        asked.push(text);
        app.advance_seconds(1).await;
    }
    // Both parties see every text, oldest first, each with its time.
    for u in [&buyer, &seller] {
        let o = app.get_order(u, &order).await;
        let changes = o["changes"].as_array().unwrap();
        let texts: Vec<&str> = changes
            .iter()
            .map(|c| c["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, asked);
        let times: Vec<i64> = changes.iter().map(|c| ms(&c["at"])).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    }

    // The list is bounded: an 11th is refused and changes nothing.
    app.deliver(&seller, &order).await;
    let r = app
        .post(
            &buyer,
            &format!("/orders/{order}/changes"),
            json!({ "text": "Round 11" }),
        )
        .await;
    expect_problem(&r, 409, "too_many_changes");
    let o = app.get_order(&buyer, &order).await;
    assert_eq!(o["status"], "delivered");
    assert_eq!(o["changes"].as_array().unwrap().len(), 10);
    // Receiving still works.
    app.receive(&buyer, &order).await;
}
