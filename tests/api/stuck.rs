//! Operators re-arm stuck work (issue 9): failed emails are listed with
//! their reasons and attempts and sent again on request, once.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn an_operator_lists_failed_emails_and_retries_one_once() {
    let app = spawn_app().await;
    let op = app.operator().await;
    let buyer = app.user("omar").await;
    let unknown = app
        .failed_email(&buyer, "outcome unknown: timeout after sending")
        .await;
    let refused = app
        .failed_email(&buyer, "refused: MessageRejected: address blacklisted")
        .await;

    // Newest first, with reasons, a page at a time.
    let list = expect_status(&app.get(&op, "/admin/outbox?status=failed").await, 200);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [refused.as_str(), unknown.as_str()], "{list}");
    let first = &list["items"][1];
    assert_eq!(first["status"], "failed");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["to"], buyer.id.as_str());
    assert_eq!(first["kind"], "order_completed");
    assert_eq!(first["failure"], "outcome unknown: timeout after sending");
    let one = expect_status(&app.get(&op, "/admin/outbox?limit=1").await, 200);
    assert_eq!(one["items"][0]["id"], refused.as_str());
    let cursor = one["next_cursor"].as_str().expect("a next page");
    let two = expect_status(
        &app.get(&op, &format!("/admin/outbox?limit=1&cursor={cursor}"))
            .await,
        200,
    );
    assert_eq!(two["items"][0]["id"], unknown.as_str());
    assert_eq!(two["next_cursor"], serde_json::Value::Null);

    // Retried: queued again with its attempts reset, and sent once.
    let before = app.emails_to(&buyer.email).await.len();
    let path = format!("/admin/outbox/{unknown}/retry");
    let r = expect_status(&app.post(&op, &path, json!({})).await, 200);
    assert_eq!(r["retried"], true, "{r}");
    assert_eq!(r["attempts"], 0, "{r}");
    assert_eq!(r["failure"], serde_json::Value::Null, "{r}");
    assert!(r["status"] == "pending" || r["status"] == "sent", "{r}");
    app.advance_seconds(0).await;
    assert_eq!(app.emails_to(&buyer.email).await.len(), before + 1);
    let list = expect_status(&app.get(&op, "/admin/outbox").await, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["id"], refused.as_str());

    // Again: a no-op, answered as it stands; no second email.
    let again = expect_status(&app.post(&op, &path, json!({})).await, 200);
    assert_eq!(
        (&again["retried"], &again["status"]),
        (&json!(false), &json!("sent")),
        "{again}"
    );
    app.advance_seconds(0).await;
    assert_eq!(app.emails_to(&buyer.email).await.len(), before + 1);

    // Operators only; a missing row is 404; only `failed` is listed.
    expect_problem(
        &app.post(&buyer, &format!("/admin/outbox/{refused}/retry"), json!({}))
            .await,
        403,
        "operators_only",
    );
    expect_problem(
        &app.post(&op, "/admin/outbox/mail_missing0/retry", json!({}))
            .await,
        404,
        "not_found",
    );
    expect_problem(
        &app.get(&op, "/admin/outbox?status=sent").await,
        400,
        "invalid_query",
    );
    let still = expect_status(&app.get(&op, "/admin/outbox").await, 200);
    assert_eq!(still["items"][0]["status"], "failed");
}
