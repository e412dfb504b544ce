//! The requests board (قسم الطلبات): a buyer posts what they cannot find,
//! sellers answer with one offer each, the author closes it.

use crate::helpers::*;
use serde_json::json;

async fn post_request(app: &TestApp, author: &User) -> serde_json::Value {
    let r = app
        .post(
            author,
            "/requests",
            json!({
                "title": "A voice-over for a 30-second ad",
                "description": "Arabic, male voice, warm tone.",
                "budget": "20.00",
            }),
        )
        .await;
    let req = expect_status(&r, 201);
    assert_eq!(req["status"], "open");
    assert_eq!(req["budget"], "20.00");
    assert_eq!(req["author_id"], author.id.as_str());
    assert_eq!(req["offers"], json!([]));
    req
}

#[tokio::test]
async fn sellers_answer_an_open_request_with_one_offer_each() {
    let app = spawn_app().await;
    let author = app.user("huda").await;
    let voice = app.user("voice").await;
    let studio = app.user("studio").await;
    let req = post_request(&app, &author).await;
    let rid = id(&req);

    // Anyone sees the open board, without signing in.
    assert_eq!(ids(&app.items_anon("/requests").await), vec![rid.clone()]);
    let shown = expect_status(&app.get_anon(&format!("/requests/{rid}")).await, 200);
    assert_eq!(shown["title"], "A voice-over for a 30-second ad");

    // An offer without a service, and one pointing at the seller's own.
    let offers = format!("/requests/{rid}/offers");
    let r = app
        .post(&voice, &offers, json!({ "text": "I can record it today." }))
        .await;
    let plain = expect_status(&r, 201);
    assert_eq!(plain["seller_id"], voice.id.as_str());
    assert_eq!(plain["service_id"], serde_json::Value::Null);
    let svc = app
        .active_service(
            &studio,
            json!({ "category": "audio", "title": "Professional Arabic voice-over" }),
        )
        .await;
    let r = app
        .post(
            &studio,
            &offers,
            json!({ "text": "This service fits.", "service_id": id(&svc) }),
        )
        .await;
    let linked = expect_status(&r, 201);
    assert_eq!(linked["service_id"], id(&svc).as_str());

    // One offer per user.
    expect_problem(
        &app.post(&voice, &offers, json!({ "text": "Or tomorrow?" }))
            .await,
        409,
        "duplicate_offer",
    );
    // The author cannot offer on their own request.
    expect_problem(
        &app.post(&author, &offers, json!({ "text": "Me too" }))
            .await,
        403,
        "own_request",
    );
    let shown = expect_status(&app.get_anon(&format!("/requests/{rid}")).await, 200);
    let listed = shown["offers"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["text"], "I can record it today.");
    assert_eq!(listed[1]["service_id"], id(&svc).as_str());
}

#[tokio::test]
async fn an_offer_may_point_only_at_the_offerers_own_active_service() {
    let app = spawn_app().await;
    let author = app.user("huda").await;
    let voice = app.user("voice").await;
    let other = app.user("other").await;
    let rid = id(&post_request(&app, &author).await);
    let offers = format!("/requests/{rid}/offers");

    let someone_elses = app.active_service(&other, json!({})).await;
    expect_problem(
        &app.post(
            &voice,
            &offers,
            json!({ "text": "See this.", "service_id": id(&someone_elses) }),
        )
        .await,
        422,
        "validation_failed",
    );
    let not_yet_approved = app.create_service(&voice, json!({})).await;
    expect_problem(
        &app.post(
            &voice,
            &offers,
            json!({ "text": "See this.", "service_id": id(&not_yet_approved) }),
        )
        .await,
        422,
        "validation_failed",
    );
    expect_problem(
        &app.post(
            &voice,
            &offers,
            json!({ "text": "See this.", "service_id": "svc_does_not_exist" }),
        )
        .await,
        422,
        "validation_failed",
    );
    // None of those counted as the user's one offer.
    let r = app
        .post(&voice, &offers, json!({ "text": "I can do it." }))
        .await;
    expect_status(&r, 201);
    let shown = expect_status(&app.get_anon(&format!("/requests/{rid}")).await, 200);
    assert_eq!(shown["offers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_the_author_closes_and_a_closed_request_takes_no_offers() {
    let app = spawn_app().await;
    let author = app.user("huda").await;
    let voice = app.user("voice").await;
    let keep = post_request(&app, &author).await;
    let req = post_request(&app, &author).await;
    let rid = id(&req);

    expect_problem(
        &app.post_empty(&voice, &format!("/requests/{rid}/close"))
            .await,
        403,
        "forbidden",
    );
    assert_eq!(app.items_anon("/requests").await.len(), 2);

    let r = app
        .post_empty(&author, &format!("/requests/{rid}/close"))
        .await;
    assert_eq!(expect_status(&r, 200)["status"], "closed");
    // It leaves the open list but can still be read.
    assert_eq!(ids(&app.items_anon("/requests").await), vec![id(&keep)]);
    let shown = expect_status(&app.get_anon(&format!("/requests/{rid}")).await, 200);
    assert_eq!(shown["status"], "closed");

    expect_problem(
        &app.post(
            &voice,
            &format!("/requests/{rid}/offers"),
            json!({ "text": "Still available?" }),
        )
        .await,
        409,
        "request_closed",
    );
    let shown = expect_status(&app.get_anon(&format!("/requests/{rid}")).await, 200);
    assert_eq!(shown["offers"], json!([]));
    expect_problem(
        &app.post_empty(&author, &format!("/requests/{rid}/close"))
            .await,
        409,
        "invalid_transition",
    );
}

#[tokio::test]
async fn a_request_is_validated_like_any_text() {
    let app = spawn_app().await;
    let author = app.user("huda").await;
    for (body, status, code) in [
        (
            json!({ "description": "no title" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "title": "x".repeat(121), "description": "d" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "title": "Logo", "description": "d", "budget": 20 }),
            400,
            "malformed_body",
        ),
        (
            json!({ "title": "Logo", "description": "d", "budget": "-1" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "title": "Logo", "description": "Call me on 0501234567" }),
            422,
            "contact_details",
        ),
    ] {
        let r = app.post(&author, "/requests", body.clone()).await;
        assert_eq!(
            (r.0, r.1["code"].as_str().unwrap_or("")),
            (status, code),
            "{body}: {}",
            r.1
        );
    }
    assert!(app.items_anon("/requests").await.is_empty());
    expect_problem(
        &app.get_anon("/requests/req_missing").await,
        404,
        "not_found",
    );
}
