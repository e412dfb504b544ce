//! Reviews: once per completed order, by its buyer, 1–5 stars, within 30
//! days; the seller replies once. Ratings roll up to the service and seller.

use crate::helpers::*;
use serde_json::json;

/// Seller, buyer (with $50) and an active $5 service.
async fn market(app: &TestApp) -> (User, User, String) {
    let seller = app.user_en("seller").await;
    let buyer = app.user("buyer").await;
    let svc = app.active_service(&seller, json!({})).await;
    app.topup(&buyer, "50.00").await;
    (seller, buyer, id(&svc))
}

#[tokio::test]
async fn a_completed_order_is_reviewed_once_and_the_rating_rolls_up() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = market(&app).await;
    let fresh = expect_status(&app.get_anon(&format!("/services/{svc}")).await, 200);
    assert_eq!(fresh["rating"], json!({ "count": 0, "average": "0.00" }));
    assert_eq!(fresh["orders_completed"], 0);

    let first = app.completed_order(&buyer, &seller, &svc).await;
    let path = format!("/orders/{}/review", id(&first));
    let r = app
        .post(
            &buyer,
            &path,
            json!({ "rating": 4, "text": "Good work, on time." }),
        )
        .await;
    let review = expect_status(&r, 201);
    assert_eq!(review["rating"], 4);
    assert_eq!(review["text"], "Good work, on time.");
    expect_problem(
        &app.post(&buyer, &path, json!({ "rating": 5, "text": "Again!" }))
            .await,
        409,
        "already_reviewed",
    );
    let s = expect_status(&app.get_anon(&format!("/services/{svc}")).await, 200);
    assert_eq!(s["rating"], json!({ "count": 1, "average": "4.00" }));

    // The seller hears of it.
    let mail = app.email(&seller.email, "New review").await;
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("Good work, on time.")
    );

    // A second order, a second review: 4 and 5 average 4.50.
    let second = app.completed_order(&buyer, &seller, &svc).await;
    let r = app
        .post(
            &buyer,
            &format!("/orders/{}/review", id(&second)),
            json!({ "rating": 5, "text": "Excellent." }),
        )
        .await;
    expect_status(&r, 201);
    let s = expect_status(&app.get_anon(&format!("/services/{svc}")).await, 200);
    assert_eq!(s["rating"], json!({ "count": 2, "average": "4.50" }));
    assert_eq!(s["orders_completed"], 2);

    let reviews = app.items_anon(&format!("/services/{svc}/reviews")).await;
    let mut stars: Vec<i64> = reviews
        .iter()
        .map(|r| r["rating"].as_i64().unwrap())
        .collect();
    stars.sort();
    assert_eq!(stars, vec![4, 5]);

    // The seller's public profile rolls up every service.
    let other = app
        .active_service(&seller, json!({ "price": "10.00" }))
        .await;
    let third = app.completed_order(&buyer, &seller, &id(&other)).await;
    let r = app
        .post(
            &buyer,
            &format!("/orders/{}/review", id(&third)),
            json!({ "rating": 3, "text": "Fine." }),
        )
        .await;
    expect_status(&r, 201);
    let profile = expect_status(&app.get_anon(&format!("/users/{}", seller.id)).await, 200);
    assert_eq!(profile["id"], seller.id.as_str());
    assert_eq!(profile["rating"], json!({ "count": 3, "average": "4.00" }));
    assert_eq!(profile["orders_completed"], 3);
    assert_eq!(profile["services"].as_array().unwrap().len(), 2);

    // A paused service leaves the public list but keeps counting.
    let r = app
        .post_empty(&seller, &format!("/services/{}/pause", id(&other)))
        .await;
    expect_status(&r, 200);
    let profile = expect_status(&app.get_anon(&format!("/users/{}", seller.id)).await, 200);
    assert_eq!(
        ids(profile["services"].as_array().unwrap()),
        vec![svc.clone()]
    );
    assert_eq!(profile["rating"], json!({ "count": 3, "average": "4.00" }));
    assert_eq!(profile["orders_completed"], 3);
    expect_problem(&app.get_anon("/users/nobody-here").await, 404, "not_found");
}

#[tokio::test]
async fn only_a_completed_order_can_be_reviewed() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = market(&app).await;
    let order = app.order(&buyer, &svc, json!({})).await;
    let path = format!("/orders/{}/review", id(&order));
    let body = json!({ "rating": 5, "text": "Great" });
    expect_problem(
        &app.post(&buyer, &path, body.clone()).await,
        409,
        "invalid_transition",
    );
    app.deliver(&seller, &id(&order)).await;
    expect_problem(
        &app.post(&buyer, &path, body.clone()).await,
        409,
        "invalid_transition",
    );
    // Nor is a cancelled one.
    let cancelled = app.order(&buyer, &svc, json!({})).await;
    app.act(&seller, &id(&cancelled), "cancel", json!({})).await;
    expect_problem(
        &app.post(&buyer, &format!("/orders/{}/review", id(&cancelled)), body)
            .await,
        409,
        "invalid_transition",
    );
    let s = expect_status(&app.get_anon(&format!("/services/{svc}")).await, 200);
    assert_eq!(s["rating"]["count"], 0);
}

#[tokio::test]
async fn a_review_is_one_to_five_stars_with_text_by_the_buyer() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = market(&app).await;
    let order = app.completed_order(&buyer, &seller, &svc).await;
    let path = format!("/orders/{}/review", id(&order));
    for bad in [json!(0), json!(6), json!(-1)] {
        expect_problem(
            &app.post(&buyer, &path, json!({ "rating": bad, "text": "ok" }))
                .await,
            422,
            "validation_failed",
        );
    }
    expect_problem(
        &app.post(&buyer, &path, json!({ "rating": 5 })).await,
        422,
        "validation_failed",
    );
    expect_problem(
        &app.post(
            &buyer,
            &path,
            json!({ "rating": 5, "text": "x".repeat(1001) }),
        )
        .await,
        422,
        "validation_failed",
    );
    expect_problem(
        &app.post(&buyer, &path, json!({ "rating": "5", "text": "ok" }))
            .await,
        400,
        "malformed_body",
    );
    expect_problem(
        &app.post(
            &buyer,
            &path,
            json!({ "rating": 5, "text": "Great! Next time write me at ali@gmail.com" }),
        )
        .await,
        422,
        "contact_details",
    );
    // The seller cannot review their own sale.
    expect_problem(
        &app.post(&seller, &path, json!({ "rating": 5, "text": "Me!" }))
            .await,
        403,
        "forbidden",
    );
    // None of those were stored; 1,000 characters are fine.
    let r = app
        .post(
            &buyer,
            &path,
            json!({ "rating": 1, "text": "y".repeat(1000) }),
        )
        .await;
    expect_status(&r, 201);
    let s = expect_status(&app.get_anon(&format!("/services/{svc}")).await, 200);
    assert_eq!(s["rating"], json!({ "count": 1, "average": "1.00" }));
}

#[tokio::test]
async fn the_review_window_closes_30_days_after_completion() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = market(&app).await;
    let early = app.completed_order(&buyer, &seller, &svc).await;
    let late = app.completed_order(&buyer, &seller, &svc).await;
    let body = json!({ "rating": 5, "text": "Worth it." });

    app.advance_seconds(30 * DAY - 60).await;
    let r = app
        .post(
            &buyer,
            &format!("/orders/{}/review", id(&early)),
            body.clone(),
        )
        .await;
    expect_status(&r, 201);

    app.advance_seconds(120).await;
    expect_problem(
        &app.post(&buyer, &format!("/orders/{}/review", id(&late)), body)
            .await,
        409,
        "review_window_closed",
    );
    let s = expect_status(&app.get_anon(&format!("/services/{svc}")).await, 200);
    assert_eq!(s["rating"]["count"], 1);
}

#[tokio::test]
async fn the_seller_replies_once_and_the_buyer_cannot_reply() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = market(&app).await;
    let order = app.completed_order(&buyer, &seller, &svc).await;
    let reply = format!("/orders/{}/review/reply", id(&order));
    // Nothing to reply to yet.
    expect_problem(
        &app.post(&seller, &reply, json!({ "text": "Thanks!" }))
            .await,
        404,
        "not_found",
    );
    let r = app
        .post(
            &buyer,
            &format!("/orders/{}/review", id(&order)),
            json!({ "rating": 2, "text": "Slow." }),
        )
        .await;
    expect_status(&r, 201);

    expect_problem(
        &app.post(&buyer, &reply, json!({ "text": "Replying to myself" }))
            .await,
        403,
        "forbidden",
    );
    let r = app
        .post(
            &seller,
            &reply,
            json!({ "text": "Sorry, it was a busy week." }),
        )
        .await;
    let replied = expect_status(&r, 200);
    assert_eq!(replied["reply"]["text"], "Sorry, it was a busy week.");
    expect_problem(
        &app.post(&seller, &reply, json!({ "text": "And another thing" }))
            .await,
        409,
        "already_replied",
    );
    let listed = app.items_anon(&format!("/services/{svc}/reviews")).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["rating"], 2);
    assert_eq!(listed[0]["reply"]["text"], "Sorry, it was a busy week.");
}
