//! Services: validation, moderation, pause and resume, revisions of a live
//! service, and the public list with its filters and pages.

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::HashSet;

#[tokio::test]
async fn a_new_service_is_validated() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let up =
        |price: &str, days: i64| json!({ "title": "Extra", "price": price, "extra_days": days });
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({ "price": "12.00" }), 422, "validation_failed"),
        (json!({ "price": "30.00" }), 422, "validation_failed"),
        (json!({ "price": "0.00" }), 422, "validation_failed"),
        (json!({ "price": 10 }), 400, "malformed_body"),
        (json!({ "category": "cooking" }), 422, "validation_failed"),
        (
            json!({ "title": "x".repeat(121) }),
            422,
            "validation_failed",
        ),
        (json!({ "title": "" }), 422, "validation_failed"),
        (json!({ "title": "Two\nlines" }), 422, "validation_failed"),
        (
            json!({ "description": "d".repeat(5001) }),
            422,
            "validation_failed",
        ),
        (json!({ "delivery_days": 0 }), 422, "validation_failed"),
        (json!({ "delivery_days": 31 }), 422, "validation_failed"),
        (
            json!({ "upgrades": [up("2.00", 1)] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "upgrades": [up("105.00", 1)] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "upgrades": [up("5.00", 31)] }),
            422,
            "validation_failed",
        ),
        (
            json!({ "upgrades": (0..6).map(|_| up("5.00", 0)).collect::<Vec<_>>() }),
            422,
            "validation_failed",
        ),
    ];
    for (overrides, status, code) in cases {
        let body = TestApp::service_body(overrides.clone());
        let r = app.post(&seller, "/services", body).await;
        assert_eq!(
            (r.0, r.1["code"].as_str().unwrap_or("")),
            (status, code),
            "{overrides}: {}",
            r.1
        );
    }
    let op = app.operator().await;
    assert!(
        app.items(&op, "/admin/services?status=pending_review")
            .await
            .is_empty(),
        "nothing was stored"
    );

    // The limits themselves are fine.
    let ok = app
        .create_service(
            &seller,
            json!({
                "title": "t".repeat(120),
                "price": "25.00",
                "delivery_days": 30,
                "instructions": "",
                "upgrades": (0..5).map(|_| up("100.00", 30)).collect::<Vec<_>>(),
            }),
        )
        .await;
    assert_eq!(
        ok["instructions"],
        Value::Null,
        "empty instructions mean none"
    );
    assert_eq!(ok["upgrades"].as_array().unwrap().len(), 5);
    assert_eq!(ok["seller_id"], seller.id.as_str());
    assert_eq!(ok["rating"], json!({ "count": 0, "average": "0.00" }));
}

#[tokio::test]
async fn operators_publish_or_reject_new_services() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let op = app.operator().await;
    let a = app
        .create_service(&seller, json!({ "title": "Good one" }))
        .await;
    let b = app
        .create_service(&seller, json!({ "title": "Bad one" }))
        .await;
    assert!(app.items_anon("/services").await.is_empty());

    app.approve(&id(&a)).await;
    app.reject(
        &format!("/admin/services/{}/reject", id(&b)),
        "The description is unclear.",
    )
    .await;
    assert_eq!(ids(&app.items_anon("/services").await), vec![id(&a)]);
    let seen = app.my_service(&seller, &id(&b)).await;
    assert_eq!(seen["rejection_reason"], "The description is unclear.");
    // Approving twice, or a rejected one, is a state conflict.
    for sid in [id(&a), id(&b)] {
        expect_problem(
            &app.post_empty(&op, &format!("/admin/services/{sid}/approve"))
                .await,
            409,
            "invalid_transition",
        );
    }
    // A rejected service goes back to review when edited.
    let r = app
        .patch(
            &seller,
            &format!("/services/{}", id(&b)),
            json!({ "description": "A clear description now." }),
        )
        .await;
    assert_eq!(expect_status(&r, 200)["status"], "pending_review");
}

#[tokio::test]
async fn only_an_active_service_pauses_and_only_a_paused_one_resumes() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let stranger = app.user("stranger").await;
    let s = app.create_service(&seller, json!({})).await;
    let path = format!("/services/{}", id(&s));

    expect_problem(
        &app.post_empty(&seller, &format!("{path}/pause")).await,
        409,
        "invalid_transition",
    );
    app.approve(&id(&s)).await;
    expect_problem(
        &app.post_empty(&seller, &format!("{path}/resume")).await,
        409,
        "invalid_transition",
    );
    // Not the stranger's to pause.
    expect_problem(
        &app.post_empty(&stranger, &format!("{path}/pause")).await,
        403,
        "forbidden",
    );

    let r = app.post_empty(&seller, &format!("{path}/pause")).await;
    assert_eq!(expect_status(&r, 200)["status"], "paused");
    assert!(app.items_anon("/services").await.is_empty());
    expect_problem(
        &app.post_empty(&seller, &format!("{path}/pause")).await,
        409,
        "invalid_transition",
    );
    let r = app.post_empty(&seller, &format!("{path}/resume")).await;
    assert_eq!(expect_status(&r, 200)["status"], "active");
    assert_eq!(ids(&app.items_anon("/services").await), vec![id(&s)]);
}

#[tokio::test]
async fn editing_a_live_service_keeps_it_live_until_the_revision_is_approved() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let op = app.operator().await;
    let s = app
        .active_service(&seller, json!({ "title": "Old title", "price": "5.00" }))
        .await;
    let path = format!("/services/{}", id(&s));

    let r = app
        .patch(
            &seller,
            &path,
            json!({ "title": "New title", "price": "20.00" }),
        )
        .await;
    let edited = expect_status(&r, 200);
    assert_eq!(edited["status"], "active");
    assert_eq!(edited["title"], "Old title");
    assert_eq!(edited["pending_revision"]["title"], "New title");
    assert_eq!(edited["pending_revision"]["price"], "20.00");

    // The public sees the approved version, without the revision.
    let public = expect_status(&app.get_anon(&path).await, 200);
    assert_eq!(
        (public["title"].as_str(), public["price"].as_str()),
        (Some("Old title"), Some("5.00"))
    );
    assert!(public.get("pending_revision").is_none(), "{public}");
    // ... and orders it at the approved price.
    app.topup(&buyer, "25.00").await;
    let o = app.order(&buyer, &id(&s), json!({})).await;
    assert_eq!(
        (o["total"].as_str(), o["service_title"].as_str()),
        (Some("5.00"), Some("Old title"))
    );

    let revisions = app
        .items(&op, "/admin/services?status=pending_revision")
        .await;
    assert_eq!(ids(&revisions), vec![id(&s)]);
    let r = app
        .post_empty(&op, &format!("/admin/services/{}/revision/approve", id(&s)))
        .await;
    let live = expect_status(&r, 200);
    assert_eq!(
        (live["title"].as_str(), live["price"].as_str()),
        (Some("New title"), Some("20.00"))
    );
    assert_eq!(live["status"], "active");
    assert_eq!(live["pending_revision"], Value::Null);
    let public = expect_status(&app.get_anon(&path).await, 200);
    assert_eq!(public["title"], "New title");
    // The order keeps its snapshot.
    assert_eq!(
        app.get_order(&buyer, &id(&o)).await["service_title"],
        "Old title"
    );
    expect_problem(
        &app.post_empty(&op, &format!("/admin/services/{}/revision/approve", id(&s)))
            .await,
        409,
        "no_pending_revision",
    );

    // A rejected revision leaves the live version alone.
    app.patch(&seller, &path, json!({ "title": "Worse title" }))
        .await;
    let r = app
        .post_empty(&op, &format!("/admin/services/{}/revision/reject", id(&s)))
        .await;
    assert_eq!(expect_status(&r, 200)["pending_revision"], Value::Null);
    assert_eq!(
        expect_status(&app.get_anon(&path).await, 200)["title"],
        "New title"
    );

    // Only its seller edits it; an invalid edit is refused.
    expect_problem(
        &app.patch(&buyer, &path, json!({ "title": "Mine now" }))
            .await,
        403,
        "forbidden",
    );
    expect_problem(
        &app.patch(&seller, &path, json!({ "price": "7.00" })).await,
        422,
        "validation_failed",
    );
    let mine = expect_status(&app.get(&seller, &path).await, 200);
    assert_eq!(mine["pending_revision"], Value::Null);
}

#[tokio::test]
async fn the_list_filters_by_category_and_seller() {
    let app = spawn_app().await;
    let a = app.user("a").await;
    let b = app.user("b").await;
    let mut design = HashSet::new();
    for _ in 0..3 {
        design.insert(id(&app
            .active_service(&a, json!({ "category": "design" }))
            .await));
    }
    let writing = id(&app
        .active_service(&b, json!({ "category": "writing-translation" }))
        .await);
    design.insert(id(&app
        .active_service(&b, json!({ "category": "design" }))
        .await));
    app.create_service(&a, json!({ "category": "design" }))
        .await; // not approved

    let got: HashSet<String> = ids(&app.items_anon("/services?category=design").await)
        .into_iter()
        .collect();
    assert_eq!(got, design);
    assert_eq!(
        ids(&app
            .items_anon("/services?category=writing-translation")
            .await),
        vec![writing.clone()]
    );
    assert!(app.items_anon("/services?category=video").await.is_empty());
    let by_b: HashSet<String> = ids(&app
        .items_anon(&format!("/services?seller_id={}", b.id))
        .await)
    .into_iter()
    .collect();
    assert_eq!(by_b.len(), 2);
    assert!(by_b.contains(&writing));
    assert_eq!(app.items_anon("/services").await.len(), 5);
}

#[tokio::test]
async fn the_list_pages_with_limit_and_cursor() {
    let app = spawn_app().await;
    let seller = app.user("seller").await;
    let mut all = HashSet::new();
    for i in 0..7 {
        let s = app
            .active_service(&seller, json!({ "title": format!("Service number {i}") }))
            .await;
        all.insert(id(&s));
    }
    let mut seen: Vec<Value> = vec![];
    let mut pages = 0;
    let mut first_cursor = None;
    let mut url = "/services?limit=3".to_owned();
    loop {
        let page = expect_status(&app.get_anon(&url).await, 200);
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => {
                first_cursor.get_or_insert_with(|| c.to_owned());
                url = format!("/services?limit=3&cursor={c}");
            }
            None => break,
        }
        assert!(pages < 10, "the cursor must end");
    }
    assert_eq!(pages, 3);
    let seen_ids = ids(&seen);
    let unique: HashSet<String> = seen_ids.iter().cloned().collect();
    assert_eq!(unique.len(), seen_ids.len(), "no duplicates: {seen_ids:?}");
    assert_eq!(unique, all, "every item");
    let created: Vec<i64> = seen.iter().map(|s| ms(&s["created_at"])).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");

    // A cursor is opaque: one we did not give out is a 400.
    let real = first_cursor.expect("a second page");
    let tampered = format!("{}*{}", &real[..4], &real[5..]);
    for bad in ["garbage!!", "bm90LWEtY3Vyc29y", tampered.as_str()] {
        expect_problem(
            &app.get_anon(&format!("/services?limit=3&cursor={bad}"))
                .await,
            400,
            "invalid_cursor",
        );
    }
    for bad in ["0", "101", "ten"] {
        expect_problem(
            &app.get_anon(&format!("/services?limit={bad}")).await,
            400,
            "invalid_query",
        );
    }
    assert_eq!(app.items_anon("/services?limit=100").await.len(), 7);
}

/// The public list is never older than the store. The local server keeps
/// rendered pages of `GET /services` (issue 11); each change a visitor
/// could see (a service approved, paused, resumed, or an order completed)
/// shows on the very next read of a page read just before it.
#[tokio::test]
async fn the_public_list_shows_each_change_on_the_next_read() {
    let app = spawn_app().await;
    let (seller, buyer, a) = app.market(json!({ "category": "design" }), "50.00").await;
    let listed = |q: &'static str| {
        let app = &app;
        async move { ids(&app.items_anon(q).await) }
    };
    let first = app.get_anon("/services").await;
    assert_eq!(first, app.get_anon("/services").await);
    assert_eq!(listed("/services").await, [a.as_str()]);
    assert_eq!(listed("/services?category=design").await, [a.as_str()]);
    assert!(listed("/services?category=programming").await.is_empty());

    let b = id(&app
        .active_service(
            &seller,
            json!({ "title": "A second one", "category": "programming" }),
        )
        .await);
    assert_eq!(listed("/services").await, [b.as_str(), a.as_str()]);
    assert_eq!(listed("/services?category=design").await, [a.as_str()]);
    assert_eq!(listed("/services?category=programming").await, [b.as_str()]);

    let r = app
        .post_empty(&seller, &format!("/services/{a}/pause"))
        .await;
    expect_status(&r, 200);
    assert_eq!(listed("/services").await, [b.as_str()]);
    assert!(listed("/services?category=design").await.is_empty());

    let r = app
        .post_empty(&seller, &format!("/services/{a}/resume"))
        .await;
    expect_status(&r, 200);
    assert_eq!(listed("/services").await, [b.as_str(), a.as_str()]);

    let count = |items: Vec<Value>| {
        items
            .iter()
            .find(|s| s["id"] == a.as_str())
            .map(|s| s["orders_completed"].clone())
    };
    assert_eq!(count(app.items_anon("/services").await), Some(json!(0)));
    app.completed_order(&buyer, &seller, &a).await;
    assert_eq!(count(app.items_anon("/services").await), Some(json!(1)));
}
