//! Timers: auto-complete, the reminder before it, clearing. `/dev/clock`
//! fires every due timer as of its own due time before it answers.

use crate::helpers::*;
use serde_json::json;

/// A delivered order of a $10 service (net 8.00): (seller, buyer, order id).
async fn delivered(app: &TestApp) -> (User, User, String) {
    let seller = app.user_en("seller").await;
    let buyer = app.user_en("buyer").await;
    let svc = app
        .active_service(&seller, json!({ "price": "10.00", "delivery_days": 2 }))
        .await;
    app.topup(&buyer, "10.00").await;
    let order = app.order(&buyer, &id(&svc), json!({})).await;
    app.deliver(&seller, &id(&order)).await;
    (seller, buyer, id(&order))
}

fn subjects(mails: &[serde_json::Value]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_delivered_order_completes_by_itself_after_3_days() {
    let app = spawn_app().await;
    let (seller, buyer, oid) = delivered(&app).await;
    let delivered_at = ms(&app.get_order(&buyer, &oid).await["delivered_at"]);

    app.advance_seconds(3 * DAY - 60).await;
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "delivered");
    assert_eq!(app.me(&seller).await["earnings_pending"], "0.00");

    app.advance_seconds(120).await;
    let o = app.get_order(&buyer, &oid).await;
    assert_eq!(o["status"], "completed");
    assert_eq!(o["completed_by"], "system");
    assert_eq!(
        ms(&o["completed_at"]),
        delivered_at + 3 * DAY_MS,
        "completed as of the timer's due time"
    );
    let me = app.me(&seller).await;
    assert_eq!(me["earnings_pending"], "8.00");
    assert_eq!(me["earnings_available"], "0.00");
    // Both sides hear of it; the seller with the net, the buyer with the total.
    let s = app.emails_to(&seller.email).await;
    let done = s
        .iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .unwrap()
                .starts_with("Order completed")
        })
        .expect("seller's completed email");
    assert!(done["text"].as_str().unwrap().contains("$8.00"));
    assert!(
        subjects(&app.emails_to(&buyer.email).await)
            .iter()
            .any(|s| s.starts_with("Order completed"))
    );
}

#[tokio::test]
async fn the_buyer_is_reminded_24_hours_before_the_auto_complete() {
    let app = spawn_app().await;
    let (_seller, buyer, oid) = delivered(&app).await;
    let reminders = |mails: &[serde_json::Value]| {
        subjects(mails)
            .iter()
            .filter(|s| s.starts_with("Reminder"))
            .count()
    };
    app.advance_seconds(2 * DAY - 60).await;
    assert_eq!(reminders(&app.emails_to(&buyer.email).await), 0);

    app.advance_seconds(120).await;
    let mails = app.emails_to(&buyer.email).await;
    assert_eq!(reminders(&mails), 1, "{:?}", subjects(&mails));
    let r = mails
        .iter()
        .find(|m| m["subject"].as_str().unwrap().starts_with("Reminder"))
        .unwrap();
    assert!(
        r["text"]
            .as_str()
            .unwrap()
            .contains(&format!("/orders/{oid}"))
    );
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "delivered");

    // Exactly one reminder, then the auto-complete.
    app.advance_seconds(DAY).await;
    assert_eq!(reminders(&app.emails_to(&buyer.email).await), 1);
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "completed");
}

#[tokio::test]
async fn no_reminder_once_the_buyer_has_received() {
    let app = spawn_app().await;
    let (_seller, buyer, oid) = delivered(&app).await;
    app.receive(&buyer, &oid).await;
    app.advance_days(4).await;
    assert!(
        !subjects(&app.emails_to(&buyer.email).await)
            .iter()
            .any(|s| s.starts_with("Reminder"))
    );
    assert_eq!(app.get_order(&buyer, &oid).await["completed_by"], "buyer");
}

#[tokio::test]
async fn auto_complete_then_clearing_in_one_clock_call_of_17_days() {
    let app = spawn_app().await;
    let (seller, buyer, oid) = delivered(&app).await;
    let delivered_at = ms(&app.get_order(&buyer, &oid).await["delivered_at"]);

    app.advance_seconds(17 * DAY + 60).await;
    let o = app.get_order(&seller, &oid).await;
    assert_eq!(o["status"], "completed");
    assert_eq!(o["completed_by"], "system");
    let me = app.me(&seller).await;
    assert_eq!(me["earnings_pending"], "0.00");
    assert_eq!(me["earnings_available"], "8.00");

    // Each posting dated as of its own timer.
    let ledger = app.items(&seller, "/me/ledger").await;
    let at_of = |kind: &str, account: &str| {
        ledger
            .iter()
            .find(|l| l["kind"] == kind && l["account"] == account)
            .map(|l| ms(&l["at"]))
            .unwrap_or_else(|| panic!("no {kind} on {account}: {ledger:?}"))
    };
    assert_eq!(
        at_of("order_completed", "earnings_pending"),
        delivered_at + 3 * DAY_MS
    );
    assert_eq!(
        at_of("earnings_cleared", "earnings_available"),
        delivered_at + 17 * DAY_MS
    );
    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "{check}");
}

#[tokio::test]
async fn clearing_waits_the_full_14_days_after_completion() {
    let app = spawn_app().await;
    let (seller, buyer, oid) = delivered(&app).await;
    app.receive(&buyer, &oid).await;
    app.advance_seconds(14 * DAY - 60).await;
    assert_eq!(app.me(&seller).await["earnings_pending"], "8.00");
    assert_eq!(app.me(&seller).await["earnings_available"], "0.00");
    app.advance_seconds(120).await;
    assert_eq!(app.me(&seller).await["earnings_available"], "8.00");
    assert_eq!(app.me(&seller).await["earnings_pending"], "0.00");
}

#[tokio::test]
async fn delivering_again_restarts_the_3_day_auto_complete() {
    let app = spawn_app().await;
    let (seller, buyer, oid) = delivered(&app).await;

    app.advance_days(2).await;
    let again = app.deliver(&seller, &oid).await;
    let second = ms(&again["delivered_at"]);

    // 3 days after the first delivery: still waiting for the buyer.
    app.advance_seconds(DAY + 60).await;
    assert_eq!(app.get_order(&buyer, &oid).await["status"], "delivered");

    app.advance_seconds(2 * DAY).await;
    let o = app.get_order(&buyer, &oid).await;
    assert_eq!(o["status"], "completed");
    assert_eq!(ms(&o["completed_at"]), second + 3 * DAY_MS);
}

#[tokio::test]
async fn asking_for_changes_disarms_the_auto_complete_and_rearms_the_auto_cancel() {
    let app = spawn_app().await;
    let (seller, buyer, oid) = delivered(&app).await; // 2 delivery days
    app.advance_days(1).await;
    let o = app
        .act(
            &buyer,
            &oid,
            "changes",
            json!({ "text": "A bigger font, please." }),
        )
        .await;
    let due = ms(&o["due_at"]);

    // Past the old auto-complete (delivery + 3 days) and the old
    // auto-cancel (first due_at + 3 days): still in progress.
    app.advance_seconds(4 * DAY + 60).await;
    let o = app.get_order(&buyer, &oid).await;
    assert_eq!(o["status"], "in_progress");
    assert_eq!(app.me(&seller).await["earnings_pending"], "0.00");
    assert!(
        !subjects(&app.emails_to(&buyer.email).await)
            .iter()
            .any(|s| s.starts_with("Reminder")),
        "no reminder for an order back in progress"
    );

    // New due_at + 3 days: cancelled by the system, refunded.
    app.advance_seconds(DAY).await;
    let o = app.get_order(&buyer, &oid).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["cancelled_by"], "system");
    assert_eq!(ms(&o["cancelled_at"]), due + 3 * DAY_MS);
    assert_eq!(app.me(&buyer).await["balance"], "10.00");
}

#[tokio::test]
async fn timers_also_fire_as_real_time_passes() {
    let app = spawn_app().await;
    let (_seller, buyer, oid) = delivered(&app).await;
    // Move the server's clock past the auto-complete directly, not through
    // /dev/clock (which fires due timers before answering): the server's
    // own timer loop must notice within its one-second tick.
    app.local.clock.advance_seconds(3 * DAY + 1);
    let mut status = String::new();
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = app.get_order(&buyer, &oid).await["status"]
            .as_str()
            .unwrap()
            .to_owned();
        if status == "completed" {
            break;
        }
    }
    assert_eq!(
        status, "completed",
        "the timer loop fired without /dev/clock"
    );
}
