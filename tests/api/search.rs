//! `GET /services?q=` (product.md "Search"), on both backends: a corpus of
//! 200 Arabic and English services and 75 queries whose expected hits were
//! worked out by `corpus/search_corpus.py`, a separate reading of the rules.

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const CORPUS: &str = include_str!("corpus/search_corpus.json");

fn search_path(q: &str, category: Option<&str>, limit: u32, cursor: Option<&str>) -> String {
    let mut pairs: Vec<(&str, String)> = vec![("q", q.to_owned()), ("limit", limit.to_string())];
    if let Some(c) = category {
        pairs.push(("category", c.to_owned()));
    }
    if let Some(c) = cursor {
        pairs.push(("cursor", c.to_owned()));
    }
    let url = reqwest::Url::parse_with_params("http://x/services", &pairs).expect("a url");
    format!("/services?{}", url.query().unwrap_or_default())
}

/// Every page of a search, in order: the ids.
async fn search_all(app: &TestApp, q: &str, category: Option<&str>, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let r = app
            .get_anon(&search_path(q, category, limit, cursor.as_deref()))
            .await;
        let page = expect_status(&r, 200);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= limit as usize, "{q}: a page over its limit");
        for s in items {
            assert_eq!(s["status"], "active", "{q}: {s}");
            ids.push(s["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert!(!items.is_empty(), "{q}: an empty page with a cursor");
                cursor = Some(c.to_owned());
            }
            None => return ids,
        }
    }
}

/// Creates and approves the corpus: corpus key → service id.
async fn seed(app: &TestApp, services: &[Value]) -> HashMap<String, String> {
    let sellers: Vec<User> = {
        let mut v = Vec::new();
        for i in 0..10 {
            v.push(app.user(&format!("searchseller{i}")).await);
        }
        v
    };
    let mut ids = HashMap::new();
    for (i, s) in services.iter().enumerate() {
        let created = app
            .active_service(
                &sellers[i % sellers.len()],
                json!({
                    "title": s["title"],
                    "description": s["description"],
                    "category": s["category"],
                }),
            )
            .await;
        ids.insert(
            s["key"].as_str().unwrap().to_owned(),
            created["id"].as_str().unwrap().to_owned(),
        );
    }
    ids
}

#[tokio::test]
async fn the_corpus_finds_what_the_rules_say_on_this_backend() {
    let app = spawn_app().await;
    let corpus: Value = serde_json::from_str(CORPUS).expect("the corpus parses");
    let services = corpus["services"].as_array().unwrap();
    let queries = corpus["queries"].as_array().unwrap();
    assert!(services.len() >= 200 && queries.len() >= 50);
    let ids = seed(&app, services).await;
    let key_of: HashMap<&str, &str> = ids.iter().map(|(k, v)| (v.as_str(), k.as_str())).collect();

    for q in queries {
        let text = q["q"].as_str().unwrap();
        let category = q["category"].as_str();
        let got = search_all(&app, text, category, 100).await;
        let got_keys: Vec<&str> = got.iter().map(|id| key_of[id.as_str()]).collect();
        let want: BTreeSet<&str> = q["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(
            got_keys.iter().copied().collect::<BTreeSet<_>>(),
            want,
            "query {text:?} in {category:?}"
        );
        assert_eq!(got_keys.len(), want.len(), "{text:?}: a service twice");
        // Ranked: more query words in the title first (nothing is rated).
        let title_hits: BTreeMap<&str, u64> = q["title_hits"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_u64().unwrap()))
            .collect();
        let order: Vec<u64> = got_keys.iter().map(|k| title_hits[k]).collect();
        assert!(
            order.windows(2).all(|w| w[0] >= w[1]),
            "{text:?}: not ranked by title hits: {order:?}"
        );
    }

    // Small pages walk the same ranking as one big page.
    for text in ["تصميم", "مقاله", "fast delivery"] {
        let whole = search_all(&app, text, None, 100).await;
        assert!(whole.len() > 20, "{text}");
        assert_eq!(search_all(&app, text, None, 7).await, whole, "{text}");
    }
}

#[tokio::test]
async fn a_search_follows_the_service_through_edits_pauses_and_moderation() {
    let app = spawn_app().await;
    let seller = app.user("searcher").await;
    let found = |q: &'static str| {
        let app = &app;
        async move { search_all(app, q, None, 100).await }
    };

    // Pending review: not found.
    let s = app
        .create_service(
            &seller,
            json!({"title": "تصميم شعار فريد", "description": "جودة"}),
        )
        .await;
    let id = s["id"].as_str().unwrap().to_owned();
    assert!(found("فريد").await.is_empty());
    app.approve(&id).await;
    assert_eq!(found("فريد").await, vec![id.clone()]);

    // An edit waits for moderation: the live words stay, the new ones wait.
    let r = app
        .patch(
            &seller,
            &format!("/services/{id}"),
            json!({"title": "مونتاج فيديو سريع"}),
        )
        .await;
    expect_status(&r, 200);
    assert_eq!(found("فريد").await, vec![id.clone()]);
    assert!(found("مونتاج").await.is_empty());
    let op = app.operator().await;
    let r = app
        .post_empty(&op, &format!("/admin/services/{id}/revision/approve"))
        .await;
    expect_status(&r, 200);
    assert_eq!(found("مونتاج سريع").await, vec![id.clone()]);
    assert!(
        found("فريد").await.is_empty(),
        "the old title still matches"
    );

    // Paused: gone; resumed: back.
    let r = app
        .post_empty(&seller, &format!("/services/{id}/pause"))
        .await;
    expect_status(&r, 200);
    assert!(found("مونتاج").await.is_empty());
    let r = app
        .post_empty(&seller, &format!("/services/{id}/resume"))
        .await;
    expect_status(&r, 200);
    assert_eq!(found("مونتاج").await, vec![id.clone()]);
}

#[tokio::test]
async fn a_query_is_bounded_and_a_blank_one_browses() {
    let app = spawn_app().await;
    let seller = app.user("boundseller").await;
    app.active_service(&seller, json!({})).await;

    let r = app.get_anon(&search_path("a ٣", None, 20, None)).await;
    expect_problem(&r, 422, "validation_failed");
    let r = app
        .get_anon(&search_path(
            "one two three four five six seven eight nine",
            None,
            20,
            None,
        ))
        .await;
    expect_problem(&r, 422, "validation_failed");
    let r = app
        .get_anon(&search_path(&"x".repeat(101), None, 20, None))
        .await;
    expect_problem(&r, 422, "validation_failed");
    let r = app.get_anon("/services?q=logo&cursor=r999999").await;
    expect_problem(&r, 400, "invalid_cursor");

    // A search box left empty lists like no search at all.
    let all = expect_status(&app.get_anon("/services").await, 200);
    let blank = expect_status(&app.get_anon("/services?q=%20%20").await, 200);
    assert_eq!(all["items"], blank["items"]);
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}

/// `?seller_id=&category=` (issue 12's combined filter): full pages over
/// more than one page, every match once, no other seller's or category's.
#[tokio::test]
async fn a_seller_in_a_category_pages_fully() {
    let app = spawn_app().await;
    let seller = app.user("pager").await;
    let other = app.user("otherpager").await;
    let mut want = std::collections::BTreeSet::new();
    for i in 0..7 {
        let category = if i % 2 == 0 { "design" } else { "video" };
        let s = app
            .active_service(
                &seller,
                json!({ "title": format!("Offer {i}"), "category": category }),
            )
            .await;
        if category == "design" {
            want.insert(s["id"].as_str().unwrap().to_owned());
        }
        app.active_service(&other, json!({ "title": format!("Other {i}") }))
            .await;
    }
    let base = format!("/services?seller_id={}&category=design&limit=2", seller.id);
    let (mut got, mut path, mut pages) = (Vec::new(), base.clone(), 0);
    loop {
        let page = expect_status(&app.get_anon(&path).await, 200);
        let items = page["items"].as_array().unwrap();
        pages += 1;
        for s in items {
            assert_eq!(
                (s["seller_id"].as_str(), s["category"].as_str()),
                (Some(seller.id.as_str()), Some("design"))
            );
            got.push(s["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), 2, "a page short of its limit before the end");
                path = format!("{base}&cursor={c}");
            }
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(got.len(), 4);
    assert_eq!(
        got.into_iter().collect::<std::collections::BTreeSet<_>>(),
        want
    );
}
