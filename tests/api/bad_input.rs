//! The bad-input corpus: table rows generated from lists of bad values,
//! each sent to every route that takes that kind of input. Every case must
//! get a `4xx` problem+json (never a `2xx`, never a `5xx`), and afterwards
//! the ledger, the balances and the order are as they were.
//!
//! Kinds: amounts (zero, negative, sub-cent, exponents, NaN, Arabic digits
//! out of range, 2^96, JSON numbers), strings (empty, invisible-only, bidi
//! controls, NUL and other controls, CR/LF in one-line fields, 10 KB, 400
//! KB), JSON (depth 1,000, duplicate keys, wrong types, broken syntax),
//! mass assignment (`status`, `price`, `fee`, `seller_id`... on create and
//! edit bodies), long or odd path ids and long query values.

use crate::helpers::*;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Requests in flight at once.
const CONCURRENCY: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Buyer,
    Seller,
    Operator,
}

#[derive(Debug, Clone)]
struct Case {
    label: String,
    method: &'static str,
    path: String,
    who: Who,
    /// Sent as is (`None`: no body).
    body: Option<String>,
}

/// Ids of the world the cases run against.
struct World {
    buyer: User,
    seller: User,
    op: User,
    /// An active service of the seller's.
    service: String,
    /// A service of the seller's waiting for review.
    pending: String,
    /// An order in progress between them.
    order: String,
    /// A completed order between them, not reviewed yet.
    done: String,
    /// The buyer's open request.
    request: String,
    /// The seller's pending withdrawal.
    withdrawal: String,
}

async fn world(app: &TestApp) -> World {
    let seller = app.user("seller").await;
    let buyer = app.user("buyer").await;
    let op = app.operator().await;
    let big = id(&app
        .active_service(&seller, json!({ "price": "25.00" }))
        .await);
    app.topup(&buyer, "25.00").await;
    app.completed_order(&buyer, &seller, &big).await;
    app.advance_days(14).await;
    let w = app
        .post(
            &seller,
            "/withdrawals",
            json!({ "amount": "10.00", "paypal_email": "seller@example.com" }),
        )
        .await;
    let withdrawal = id(&expect_status(&w, 201));
    let service = id(&app.active_service(&seller, json!({})).await);
    let pending = id(&app
        .create_service(&seller, json!({ "title": "Waiting" }))
        .await);
    app.topup(&buyer, "50.00").await;
    let done = id(&app.completed_order(&buyer, &seller, &service).await);
    let order = id(&app.order(&buyer, &service, json!({})).await);
    let r = app
        .post(
            &buyer,
            "/requests",
            json!({ "title": "A bakery logo", "description": "Round and warm." }),
        )
        .await;
    let request = id(&expect_status(&r, 201));
    World {
        buyer,
        seller,
        op,
        service,
        pending,
        order,
        done,
        request,
        withdrawal,
    }
}

/// A route that takes a JSON body, with a body it would accept.
struct Target {
    name: &'static str,
    method: &'static str,
    path: String,
    who: Who,
    base: Value,
}

fn target(name: &'static str, method: &'static str, path: String, who: Who, base: Value) -> Target {
    Target {
        name,
        method,
        path,
        who,
        base,
    }
}

/// `base` with the value at `pointer` (`/upgrades/0/title`) set to `v`.
fn with(base: &Value, pointer: &str, v: Value) -> Value {
    let mut b = base.clone();
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON pointer");
    let slot = b.pointer_mut(parent).expect("the parent exists");
    match slot {
        Value::Object(m) => {
            m.insert(key.to_owned(), v);
        }
        Value::Array(a) => {
            let i: usize = key.parse().expect("an index");
            a[i] = v;
        }
        other => panic!("{pointer}: not a container: {other}"),
    }
    b
}

fn service_body() -> Value {
    json!({
        "title": "I will design a modern logo",
        "description": "Three concepts, two revisions.",
        "category": "design",
        "price": "5.00",
        "delivery_days": 2,
        "upgrades": [{ "title": "Source files", "price": "5.00", "extra_days": 1 }],
    })
}

/// Every route that takes a body, each with one it would accept (sent
/// only with a bad value in it).
fn targets(w: &World) -> Vec<Target> {
    let o = &w.order;
    vec![
        target(
            "create_service",
            "POST",
            "/services".into(),
            Who::Seller,
            service_body(),
        ),
        target(
            "edit_service",
            "PATCH",
            format!("/services/{}", w.service),
            Who::Seller,
            service_body(),
        ),
        target(
            "topup",
            "POST",
            "/me/topups".into(),
            Who::Buyer,
            json!({ "amount": "5.00", "method": "sandbox" }),
        ),
        target(
            "edit_me",
            "PATCH",
            "/me".into(),
            Who::Buyer,
            json!({ "display_name": "Omar", "locale": "ar", "paypal_email": "o@example.com" }),
        ),
        target(
            "order",
            "POST",
            "/orders".into(),
            Who::Buyer,
            json!({ "service_id": w.service, "upgrades": [0], "quantity": 1 }),
        ),
        target(
            "message",
            "POST",
            format!("/orders/{o}/messages"),
            Who::Buyer,
            json!({ "text": "Hello" }),
        ),
        target(
            "instructions",
            "POST",
            format!("/orders/{o}/instructions"),
            Who::Buyer,
            json!({ "text": "Blue" }),
        ),
        target(
            "changes",
            "POST",
            format!("/orders/{o}/changes"),
            Who::Buyer,
            json!({ "text": "Bigger" }),
        ),
        target(
            "deliver",
            "POST",
            format!("/orders/{o}/deliver"),
            Who::Seller,
            json!({ "text": "Here" }),
        ),
        target(
            "cancel",
            "POST",
            format!("/orders/{o}/cancel"),
            Who::Buyer,
            json!({ "reason": "Late" }),
        ),
        target(
            "receive",
            "POST",
            format!("/orders/{o}/receive"),
            Who::Buyer,
            json!({}),
        ),
        target(
            "review",
            "POST",
            format!("/orders/{}/review", w.done),
            Who::Buyer,
            json!({ "rating": 5, "text": "Great" }),
        ),
        target(
            "reply",
            "POST",
            format!("/orders/{}/review/reply", w.done),
            Who::Seller,
            json!({ "text": "Thanks" }),
        ),
        target(
            "withdraw",
            "POST",
            "/withdrawals".into(),
            Who::Seller,
            json!({ "amount": "10.00", "paypal_email": "s@example.com" }),
        ),
        target(
            "request",
            "POST",
            "/requests".into(),
            Who::Buyer,
            json!({ "title": "A logo", "description": "Round.", "budget": "10.00" }),
        ),
        target(
            "offer",
            "POST",
            format!("/requests/{}/offers", w.request),
            Who::Seller,
            json!({ "text": "I can", "service_id": w.service }),
        ),
        target(
            "reject_service",
            "POST",
            format!("/admin/services/{}/reject", w.pending),
            Who::Operator,
            json!({ "reason": "Blurry" }),
        ),
        target(
            "reject_withdrawal",
            "POST",
            format!("/admin/withdrawals/{}/reject", w.withdrawal),
            Who::Operator,
            json!({ "reason": "Blocked" }),
        ),
        target(
            "admin_cancel",
            "POST",
            format!("/admin/orders/{o}/cancel"),
            Who::Operator,
            json!({ "reason": "Fraud" }),
        ),
        target(
            "admin_complete",
            "POST",
            format!("/admin/orders/{o}/complete"),
            Who::Operator,
            json!({}),
        ),
    ]
}

/// Amount fields: (target, pointer, required).
const AMOUNT_FIELDS: &[(&str, &str, bool)] = &[
    ("create_service", "/price", true),
    ("edit_service", "/price", false),
    ("create_service", "/upgrades/0/price", true),
    ("topup", "/amount", true),
    ("withdraw", "/amount", true),
    ("request", "/budget", false),
];

fn bad_amounts(required: bool) -> Vec<Value> {
    let mut v: Vec<Value> = [
        "0",
        "0.00",
        "-0.01",
        "-5",
        "0.001",
        "5.001",
        "1e3",
        "1E3",
        "5e0",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "",
        " ",
        " 5",
        "5 ",
        "+5",
        "5.",
        ".5",
        "1,000",
        "1_000",
        "0x10",
        "5.5.5",
        "٠",
        "٠٫٠٠",
        "-٥",
        "٥٫٠٠١",
        "٥e٣",
        "٥٫",
        "٫٥",
        "٥٬٠٠٠",
        "١٢٣٤٥٦٧٨٩٠١٢٣٤",
        "٩٩٩٩٩٩٩٩٩٩٩٩٩",
        "۹۹۹۹۹۹۹۹۹۹۹۹۹",
        "79228162514264337593543950336",
        "79228162514264337593543950335",
        "-79228162514264337593543950336",
        "18446744073709551616",
        "1000000000000",
        "99999999999999999999.99",
        "5\u{0000}",
        "\u{202E}5",
        "5\u{200B}",
        "𝟓",
        "５",
        "5 USD",
        "$5",
    ]
    .iter()
    .map(|s| json!(s))
    .collect();
    v.extend([
        json!(5),
        json!(5.5),
        json!(-1),
        json!(0),
        json!(1e300),
        json!(true),
        json!([]),
        json!({}),
        json!(["5.00"]),
        json!({ "amount": "5.00" }),
    ]);
    if required {
        v.push(Value::Null);
    }
    v
}

/// Text fields: (target, pointer, required, one line).
const TEXT_FIELDS: &[(&str, &str, bool, bool)] = &[
    ("create_service", "/title", true, true),
    ("create_service", "/description", true, false),
    ("create_service", "/category", true, true),
    ("create_service", "/upgrades/0/title", true, true),
    ("create_service", "/instructions", false, false),
    ("edit_service", "/title", true, true),
    ("edit_service", "/description", true, false),
    ("edit_me", "/display_name", true, true),
    ("edit_me", "/paypal_email", true, true),
    ("edit_me", "/locale", true, true),
    ("topup", "/method", true, true),
    ("order", "/service_id", true, true),
    ("message", "/text", true, false),
    ("instructions", "/text", true, false),
    ("changes", "/text", true, false),
    ("deliver", "/text", false, false),
    ("cancel", "/reason", false, false),
    ("review", "/text", true, false),
    ("reply", "/text", true, false),
    ("withdraw", "/paypal_email", true, true),
    ("request", "/title", true, false),
    ("request", "/description", true, false),
    ("offer", "/text", true, false),
    ("offer", "/service_id", true, true),
    ("reject_service", "/reason", true, false),
    ("reject_withdrawal", "/reason", true, false),
    ("admin_cancel", "/reason", false, false),
];

/// Strings no field accepts.
fn always_bad_strings() -> Vec<(String, String)> {
    vec![
        ("bidi RLO".into(), "\u{202E}gpj.exe".into()),
        ("bidi isolate".into(), "a\u{2067}b\u{2069}c".into()),
        ("bidi LRE only".into(), "\u{202A}".into()),
        ("NUL".into(), "a\u{0000}b".into()),
        ("BEL".into(), "a\u{0007}b".into()),
        ("ESC".into(), "\u{001B}[31mred".into()),
        ("DEL".into(), "a\u{007F}b".into()),
        ("10 KB".into(), "a".repeat(10 * 1024)),
        ("10 KB Arabic".into(), "م".repeat(10 * 1024)),
        ("400 KB".into(), "a".repeat(400 * 1024)),
    ]
}

/// Strings a required field refuses (blank ones are "no value" in an
/// optional field).
fn blank_strings() -> Vec<(String, String)> {
    vec![
        ("empty".into(), String::new()),
        ("spaces".into(), "   ".into()),
        ("tab newline".into(), "\t\n".into()),
        ("zero-width space".into(), "\u{200B}".into()),
        (
            "zero-width mix".into(),
            " \u{200B}\u{200C}\u{200D}\u{FEFF} ".into(),
        ),
        ("word joiner".into(), "\u{2060}\u{2061}".into()),
        ("hangul filler".into(), "\u{3164}".into()),
        ("braille blank".into(), "\u{2800}".into()),
        ("nbsp".into(), "\u{00A0}\u{2007}\u{202F}".into()),
        ("tags".into(), "\u{E0041}\u{E007F}".into()),
        ("LRM".into(), "\u{200E}".into()),
    ]
}

fn line_breaks() -> Vec<(String, String)> {
    vec![
        ("CRLF header".into(), "a\r\nBcc: x@example.com".into()),
        ("LF".into(), "a\nb".into()),
        ("CR".into(), "a\rb".into()),
    ]
}

fn by_name<'t>(ts: &'t [Target], name: &str) -> &'t Target {
    ts.iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target {name}"))
}

fn case(t: &Target, label: String, body: String) -> Case {
    Case {
        label,
        method: t.method,
        path: t.path.clone(),
        who: t.who,
        body: Some(body),
    }
}

fn cases(w: &World) -> Vec<Case> {
    let ts = targets(w);
    let mut out = vec![];

    // Amounts.
    for (name, pointer, required) in AMOUNT_FIELDS {
        let t = by_name(&ts, name);
        for v in bad_amounts(*required) {
            let body = with(&t.base, pointer, v.clone());
            out.push(case(t, format!("amount {pointer}={v}"), body.to_string()));
        }
    }

    // Strings.
    for (name, pointer, required, line) in TEXT_FIELDS {
        let t = by_name(&ts, name);
        let mut values = always_bad_strings();
        if *required {
            values.extend(blank_strings());
        }
        if *line {
            values.extend(line_breaks());
        }
        for (label, v) in values {
            let body = with(&t.base, pointer, json!(v));
            out.push(case(
                t,
                format!("text {name}{pointer} {label}"),
                body.to_string(),
            ));
        }
    }

    // JSON that is not a body at all, on every route that reads one.
    let deep_arrays = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(1000), "}".repeat(1000));
    for t in &ts {
        let first = t
            .base
            .as_object()
            .and_then(|m| m.keys().next().cloned())
            .unwrap_or_else(|| "text".into());
        let bodies: Vec<(&str, String)> = vec![
            ("array", "[]".into()),
            ("string", r#""hello""#.into()),
            ("number", "5".into()),
            ("null", "null".into()),
            ("true", "true".into()),
            ("unclosed", "{".into()),
            ("trailing garbage", format!("{} x", t.base)),
            ("two objects", format!("{}{}", t.base, t.base)),
            ("trailing comma", r#"{"a": 1,}"#.into()),
            ("single quotes", "{'a': 1}".into()),
            ("comment", "/* hi */ {}".into()),
            ("BOM", format!("\u{FEFF}{}", t.base)),
            ("NaN literal", format!(r#"{{"{first}": NaN}}"#)),
            ("lone surrogate", format!(r#"{{"{first}": "\ud800"}}"#)),
            ("bad escape", format!(r#"{{"{first}": "\x41"}}"#)),
            ("raw control", format!("{{\"{first}\": \"a\u{0001}b\"}}")),
            ("1e400", format!(r#"{{"{first}": 1e400}}"#)),
            ("depth 1000 arrays", deep_arrays.clone()),
            ("depth 1000 objects", deep_objects.clone()),
            (
                "depth 1000 in a field",
                format!(r#"{{"{first}": {deep_arrays}}}"#),
            ),
            (
                "duplicate key",
                format!(
                    r#"{{"{first}": {v}, "{first}": {v}}}"#,
                    v = t.base.get(&first).cloned().unwrap_or(json!("x"))
                ),
            ),
        ];
        for (name, body) in bodies {
            out.push(case(t, format!("json {name}"), body));
        }
    }

    // Wrong types and out-of-range numbers.
    let not_a_string = [json!(5), json!(true), json!([]), json!({}), json!(["a"])];
    let not_an_int = [
        json!("2"),
        json!(2.5),
        json!(true),
        json!([]),
        json!({}),
        json!(9_223_372_036_854_775_808u64),
        json!(-1e30),
    ];
    let fields: &[(&str, &str, &[Value])] = &[
        (
            "create_service",
            "/delivery_days",
            &[json!(0), json!(31), json!(-1)],
        ),
        (
            "create_service",
            "/upgrades/0/extra_days",
            &[json!(31), json!(-1)],
        ),
        ("order", "/quantity", &[json!(0), json!(11), json!(-1)]),
        ("review", "/rating", &[json!(0), json!(6), json!(-1)]),
    ];
    for (name, pointer, extra) in fields {
        let t = by_name(&ts, name);
        for v in not_an_int.iter().chain(extra.iter()) {
            let body = with(&t.base, pointer, v.clone());
            out.push(case(
                t,
                format!("type {name}{pointer}={v}"),
                body.to_string(),
            ));
        }
    }
    let lists: &[(&str, &str, &[Value])] = &[
        (
            "create_service",
            "/upgrades",
            &[json!("x"), json!([1]), json!({})],
        ),
        (
            "create_service",
            "/upgrades/0",
            &[json!("x"), json!(1), json!(null), json!([])],
        ),
        (
            "order",
            "/upgrades",
            &[json!([5]), json!([-1]), json!(["0"]), json!(0), json!({})],
        ),
    ];
    for (name, pointer, wrong) in lists {
        let t = by_name(&ts, name);
        for v in wrong.iter() {
            let body = with(&t.base, pointer, v.clone());
            out.push(case(
                t,
                format!("type {name}{pointer}={v}"),
                body.to_string(),
            ));
        }
    }
    for t in &ts {
        let Some(m) = t.base.as_object() else {
            continue;
        };
        for (k, v) in m {
            if !v.is_string() {
                continue;
            }
            for bad in &not_a_string {
                let body = with(&t.base, &format!("/{k}"), bad.clone());
                out.push(case(t, format!("type {k}={bad}"), body.to_string()));
            }
        }
    }

    // Mass assignment: fields the server owns, on create and edit bodies.
    let owned = [
        ("status", json!("completed")),
        ("price", json!("0.01")),
        ("fee", json!("0.00")),
        ("seller_id", json!(w.buyer.id)),
        ("buyer_id", json!(w.seller.id)),
        ("id", json!("svc_mine")),
        ("balance", json!("1000000.00")),
        ("rating", json!({ "count": 100, "average": "5.00" })),
        ("total", json!("0.01")),
        ("seller_net", json!("25.00")),
        ("operator", json!(true)),
        ("email", json!("victim@example.com")),
        ("created_at", json!("2000-01-01T00:00:00Z")),
        ("version", json!(0)),
    ];
    let creating = [
        "create_service",
        "edit_service",
        "order",
        "edit_me",
        "topup",
        "withdraw",
        "request",
        "offer",
        "review",
        "message",
    ];
    for name in creating {
        let t = by_name(&ts, name);
        for (field, v) in &owned {
            if t.base.get(field).is_some() {
                continue;
            }
            let body = with(&t.base, &format!("/{field}"), v.clone());
            out.push(case(
                t,
                format!("mass assignment {name} {field}"),
                body.to_string(),
            ));
        }
    }
    let t = by_name(&ts, "create_service");
    for (field, v) in &owned {
        let body = with(&t.base, &format!("/upgrades/0/{field}"), v.clone());
        out.push(case(
            t,
            format!("mass assignment upgrades[0].{field}"),
            body.to_string(),
        ));
    }

    // Long and odd path ids: a 404 on every route with an `{id}`.
    let ids = [
        "o".repeat(5000),
        "o".repeat(2049),
        "o".repeat(129),
        "%00".into(),
        "a%00b".into(),
        "..%2F..%2Fadmin".into(),
        "a%20b".into(),
        "%F0%9F%92%A5".into(),
        "%E2%80%AEabc".into(),
        "svc_1.json".into(),
        "%D9%A5%D9%A0".into(),
    ];
    for (method, template) in khamsa_http::ROUTES {
        if !template.contains("{id}") {
            continue;
        }
        let who = if template.starts_with("/admin/") {
            Who::Operator
        } else {
            Who::Buyer
        };
        for bad in &ids {
            out.push(Case {
                label: format!("path id {}", &bad[..bad.len().min(20)]),
                method,
                path: template.replace("{id}", bad),
                who,
                body: (method != "GET").then(|| "{}".into()),
            });
        }
    }

    // Long and odd query values on every list.
    let lists = [
        (
            "/services",
            Who::Buyer,
            &["category", "seller_id", "cursor", "limit", "status"][..],
        ),
        ("/requests", Who::Buyer, &["cursor", "limit"][..]),
        (
            "/me/purchases",
            Who::Buyer,
            &["cursor", "limit", "status"][..],
        ),
        ("/me/sales", Who::Seller, &["cursor", "limit", "status"][..]),
        ("/me/ledger", Who::Buyer, &["cursor", "limit"][..]),
        ("/me/withdrawals", Who::Seller, &["cursor", "limit"][..]),
        (
            "/admin/services",
            Who::Operator,
            &["status", "cursor", "limit"][..],
        ),
        (
            "/admin/withdrawals",
            Who::Operator,
            &["status", "cursor", "limit"][..],
        ),
    ];
    let long = "x".repeat(5000);
    let long_arabic = "%D9%85".repeat(1000);
    for (path, who, params) in lists {
        for p in params {
            for (name, v) in [
                ("5000 chars", long.as_str()),
                ("1000 Arabic letters", long_arabic.as_str()),
            ] {
                out.push(Case {
                    label: format!("query {p} {name}"),
                    method: "GET",
                    path: format!("{path}?{p}={v}"),
                    who,
                    body: None,
                });
            }
        }
        for bad_limit in ["-1", "0", "abc", "1e3", "99999999999999999999", "%00"] {
            out.push(Case {
                label: format!("query limit={bad_limit}"),
                method: "GET",
                path: format!("{path}?limit={bad_limit}"),
                who,
                body: None,
            });
        }
        for bad_cursor in ["abc", "%00", "eyJ9", "..%2F"] {
            out.push(Case {
                label: format!("query cursor={bad_cursor}"),
                method: "GET",
                path: format!("{path}?cursor={bad_cursor}"),
                who,
                body: None,
            });
        }
    }
    for (path, who) in [
        (format!("/orders/{}/messages", w.order), Who::Buyer),
        (format!("/services/{}/reviews", w.service), Who::Buyer),
    ] {
        for q in [
            format!("cursor={long}"),
            format!("limit={long}"),
            "limit=-1".into(),
            "cursor=%00".into(),
        ] {
            out.push(Case {
                label: format!("query {}", &q[..q.len().min(12)]),
                method: "GET",
                path: format!("{path}?{q}"),
                who,
                body: None,
            });
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_input_is_a_4xx_problem_and_changes_nothing() {
    let app = Arc::new(spawn_app().await);
    let w = world(&app).await;
    let cases = cases(&w);
    assert!(cases.len() >= 750, "only {} cases", cases.len());

    let ledger = app.ledger_check().await;
    let buyer_before = app.me(&w.buyer).await;
    let seller_before = app.me(&w.seller).await;
    let order_before = app.get_order(&w.buyer, &w.order).await;

    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    let total = cases.len();
    for c in cases {
        let (app, gate) = (app.clone(), gate.clone());
        let token = match c.who {
            Who::Buyer => w.buyer.token(),
            Who::Seller => w.seller.token(),
            Who::Operator => w.op.token(),
        };
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("the gate stays open");
            let auth = format!("Bearer {token}");
            let r = match &c.body {
                Some(b) => app.send_text(c.method, &c.path, Some(&auth), b).await,
                None => app.send(c.method, &c.path, Some(&auth), None, None).await,
            };
            (c, r)
        });
    }
    let mut wrong = vec![];
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    while let Some(done) = tasks.join_next().await {
        let (c, r) = done.expect("a case ran to an answer (content type and problem checked)");
        *by_status.entry(r.0).or_default() += 1;
        if !(400..500).contains(&r.0) {
            let path = &c.path[..c.path.len().min(80)];
            wrong.push(format!(
                "{}: {} {path} -> {} {}",
                c.label, c.method, r.0, r.1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {total} cases were not a 4xx:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    eprintln!("bad-input corpus: {total} cases, answers by status {by_status:?}");

    assert_eq!(app.ledger_check().await, ledger, "the ledger changed");
    assert_eq!(app.me(&w.buyer).await, buyer_before);
    assert_eq!(app.me(&w.seller).await, seller_before);
    assert_eq!(app.get_order(&w.buyer, &w.order).await, order_before);
}
