//! Bad input gets a clear 4xx and never a 5xx: every route of the router,
//! as every kind of caller, with every kind of broken body. (`send_text`
//! already checks that each refusal is problem+json with a `code`.)

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn no_route_answers_a_5xx_to_any_malformed_request() {
    let app = spawn_app().await;
    let user = app.user("prober").await;
    let op = app.operator().await;
    let callers = [
        Some(format!("Bearer {}", user.token())),
        Some(format!("Bearer {}", op.token())),
        Some("Bearer not.a.token".to_owned()),
        None,
    ];
    let long = "x".repeat(6000);
    let bodies = [
        String::new(),
        "{".into(),
        "[]".into(),
        "null".into(),
        "\"text\"".into(),
        json!({ "amount": 5, "price": 1e308, "quantity": -1 }).to_string(),
        json!({ "amount": "NaN", "method": [], "title": {}, "rating": "5" }).to_string(),
        json!({ "amount": "1e5", "text": long, "service_id": 7, "upgrades": "0" }).to_string(),
        json!({ "amount": "٣", "paypal_email": "a@b.c\r\nBcc: x@y.z", "locale": true }).to_string(),
        json!({ "delivery_days": 99999999999999999999u128.to_string(), "upgrades": [{}] })
            .to_string(),
    ];
    let mut checked = 0;
    for (method, template) in khamsa_http::ROUTES {
        let path = template.replace("{id}", "missing");
        for auth in &callers {
            for body in &bodies {
                let (status, answer) = app.send_text(method, &path, auth.as_deref(), body).await;
                assert!(
                    (200..500).contains(&status),
                    "{method} {path} with {body:?} -> {status}: {answer}"
                );
                checked += 1;
            }
        }
        for query in [
            "?limit=0",
            "?limit=abc",
            "?cursor=zzz",
            "?status=bogus",
            "?limit=100&cursor=%FF",
        ] {
            let (status, answer) = app
                .send_text(method, &format!("{path}{query}"), callers[0].as_deref(), "")
                .await;
            assert!(
                (200..500).contains(&status),
                "{method} {path}{query} -> {status}: {answer}"
            );
        }
    }
    assert_eq!(
        checked,
        khamsa_http::ROUTES.len() * callers.len() * bodies.len()
    );
    // And none of it moved money.
    assert_eq!(app.ledger_check().await["accounts_total"], "0.00");
}
