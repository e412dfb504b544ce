//! The authorization matrix: every route in `khamsa_http::ROUTES`, as each
//! of {anonymous, buyer, seller, stranger, operator, operator on their own
//! thing}, on {their own thing, someone else's, a missing one}. A route
//! without a row fails the test, so a new route cannot ship unchecked.
//!
//! A request that gets past authorization meets a body that is not a JSON
//! object (`[]`), and api.md's order of checks (401 → 404 → 403 → body →
//! 409) makes that a `400`, so most cells change nothing. Routes that read
//! no body (pause, resume, close, approve, pay) act: for them "allowed" is
//! a `2xx`, or a `409` once an earlier cell acted, which still comes after
//! the 403. So "allowed" is a `200` for a read, and a `400
//! malformed_body`, `2xx` or `409` for a write.

use crate::helpers::*;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};

/// Who calls, in the order of a row's letters.
const WHO: [&str; 6] = [
    "anonymous",
    "buyer",
    "seller",
    "stranger",
    "operator",
    "op-own",
];

/// What a route's `{id}` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// No `{id}`: one column, the caller's own view.
    NoId,
    Order,
    /// An active service.
    Service,
    /// A service waiting for review.
    Pending,
    Request,
    Withdrawal,
    Profile,
    /// A settled (sandbox) top-up.
    Topup,
    /// A failed email (to op-own for "own").
    Email,
}

/// One route's expectations. Each string has one letter per caller in
/// `WHO` order: `P` allowed, `U` 401, `N` 404, `F` 403 `forbidden`,
/// `O` 403 `operators_only`, `R` 403 `own_request`, `V` 400 `invalid_webhook`
/// (a delivery PayPal did not vouch for), `T` 400 `invalid_unsubscribe_token`
/// (no signed link: a sign-in opens nothing there), `-` no such cell (the caller owns no such
/// thing). `own`/`other` are ignored for `Kind::NoId`.
struct Row {
    method: &'static str,
    path: &'static str,
    kind: Kind,
    own: &'static str,
    other: &'static str,
    missing: &'static str,
}

const fn row(
    method: &'static str,
    path: &'static str,
    kind: Kind,
    own: &'static str,
    other: &'static str,
    missing: &'static str,
) -> Row {
    Row {
        method,
        path,
        kind,
        own,
        other,
        missing,
    }
}

use Kind::*;

const ROWS: &[Row] = &[
    // Accounts: any signed-in caller, on their own account only.
    row("GET", "/me", NoId, "", "", "UPPPPP"),
    row("PATCH", "/me", NoId, "", "", "UPPPPP"),
    row("GET", "/me/ledger", NoId, "", "", "UPPPPP"),
    row("POST", "/me/topups", NoId, "", "", "UPPPPP"),
    row("GET", "/me/purchases", NoId, "", "", "UPPPPP"),
    row("GET", "/me/sales", NoId, "", "", "UPPPPP"),
    row("GET", "/me/inbox", NoId, "", "", "UPPPPP"),
    row("GET", "/me/withdrawals", NoId, "", "", "UPPPPP"),
    row("GET", "/me/topups", NoId, "", "", "UPPPPP"),
    row("GET", "/me/services", NoId, "", "", "UPPPPP"),
    // Capturing a settled top-up again is a 409 after the owner check.
    row(
        "POST",
        "/me/topups/{id}/capture",
        Topup,
        "-P---P",
        "UNNNNN",
        "UNNNNN",
    ),
    // Public: what can pay, and PayPal's webhook, which no token opens.
    row("GET", "/payment-methods", NoId, "", "", "PPPPPP"),
    row("POST", "/webhooks/paypal", NoId, "", "", "VVVVVV"),
    // Public too: only an email's signed link opens it, whoever sends it.
    row("POST", "/unsubscribe", NoId, "", "", "TTTTTT"),
    row("GET", "/unsubscribe", NoId, "", "", "TTTTTT"),
    // Services.
    row("POST", "/services", NoId, "", "", "UPPPPP"),
    row("GET", "/services", NoId, "", "", "PPPPPP"),
    row(
        "GET",
        "/services/{id}",
        Service,
        "--P--P",
        "PPPPPP",
        "NNNNNN",
    ),
    row(
        "PATCH",
        "/services/{id}",
        Service,
        "--P--P",
        "UFFFFF",
        "UNNNNN",
    ),
    row(
        "POST",
        "/services/{id}/pause",
        Service,
        "--P--P",
        "UFFFFF",
        "UNNNNN",
    ),
    row(
        "POST",
        "/services/{id}/resume",
        Service,
        "--P--P",
        "UFFFFF",
        "UNNNNN",
    ),
    row(
        "GET",
        "/services/{id}/reviews",
        Service,
        "--P--P",
        "PPPPPP",
        "NNNNNN",
    ),
    row("GET", "/users/{id}", Profile, "-PPPPP", "PPPPPP", "NNNNNN"),
    // Orders: the parties, and operators to read.
    row("POST", "/orders", NoId, "", "", "UPPPPP"),
    row("GET", "/orders/{id}", Order, "-PP--P", "UNNNPP", "UNNNNN"),
    row(
        "POST",
        "/orders/{id}/instructions",
        Order,
        "-PF--P",
        "UNNNFF",
        "UNNNNN",
    ),
    row(
        "POST",
        "/orders/{id}/deliver",
        Order,
        "-FP--F",
        "UNNNFF",
        "UNNNNN",
    ),
    row(
        "POST",
        "/orders/{id}/receive",
        Order,
        "-PF--P",
        "UNNNFF",
        "UNNNNN",
    ),
    row(
        "POST",
        "/orders/{id}/changes",
        Order,
        "-PF--P",
        "UNNNFF",
        "UNNNNN",
    ),
    // api.md: an operator may cancel any order here too (not their own:
    // there they are its buyer or seller).
    row(
        "POST",
        "/orders/{id}/cancel",
        Order,
        "-PP--P",
        "UNNNPP",
        "UNNNNN",
    ),
    row(
        "GET",
        "/orders/{id}/messages",
        Order,
        "-PP--P",
        "UNNNPP",
        "UNNNNN",
    ),
    row(
        "POST",
        "/orders/{id}/messages",
        Order,
        "-PP--P",
        "UNNNFF",
        "UNNNNN",
    ),
    // The body `[]` is a 400 after the checks, so no dispute opens here.
    row(
        "POST",
        "/orders/{id}/dispute",
        Order,
        "-PP--P",
        "UNNNFF",
        "UNNNNN",
    ),
    row(
        "POST",
        "/orders/{id}/files",
        Order,
        "-PP--P",
        "UNNNFF",
        "UNNNNN",
    ),
    // A file that does not exist: tests/api/files.rs downloads real ones.
    row(
        "GET",
        "/orders/{id}/files/{file_id}",
        Order,
        "-NN--N",
        "UNNNNN",
        "UNNNNN",
    ),
    row(
        "POST",
        "/orders/{id}/review",
        Order,
        "-PF--P",
        "UNNNFF",
        "UNNNNN",
    ),
    row(
        "POST",
        "/orders/{id}/review/reply",
        Order,
        "-FP--F",
        "UNNNFF",
        "UNNNNN",
    ),
    // Withdrawals.
    row("POST", "/withdrawals", NoId, "", "", "UPPPPP"),
    // Requests board.
    row("POST", "/requests", NoId, "", "", "UPPPPP"),
    row("GET", "/requests", NoId, "", "", "PPPPPP"),
    row(
        "GET",
        "/requests/{id}",
        Request,
        "-P---P",
        "PPPPPP",
        "NNNNNN",
    ),
    row(
        "POST",
        "/requests/{id}/offers",
        Request,
        "-R---R",
        "UPPPPP",
        "UNNNNN",
    ),
    row(
        "POST",
        "/requests/{id}/close",
        Request,
        "-P---P",
        "UFFFFF",
        "UNNNNN",
    ),
    // Operators only, and never on their own thing.
    row("GET", "/admin/services", NoId, "", "", "UOOOPP"),
    row(
        "POST",
        "/admin/services/{id}/approve",
        Pending,
        "--O--F",
        "UOOOPP",
        "UOOONN",
    ),
    row(
        "POST",
        "/admin/services/{id}/reject",
        Pending,
        "--O--F",
        "UOOOPP",
        "UOOONN",
    ),
    row(
        "POST",
        "/admin/services/{id}/revision/approve",
        Service,
        "--O--F",
        "UOOOPP",
        "UOOONN",
    ),
    row(
        "POST",
        "/admin/services/{id}/revision/reject",
        Service,
        "--O--F",
        "UOOOPP",
        "UOOONN",
    ),
    row("GET", "/admin/withdrawals", NoId, "", "", "UOOOPP"),
    row(
        "POST",
        "/admin/withdrawals/{id}/approve",
        Withdrawal,
        "--O--F",
        "UOOOPP",
        "UOOONN",
    ),
    row(
        "POST",
        "/admin/withdrawals/{id}/reject",
        Withdrawal,
        "--O--F",
        "UOOOPP",
        "UOOONN",
    ),
    row(
        "POST",
        "/admin/orders/{id}/cancel",
        Order,
        "-OO--F",
        "UOOOPP",
        "UOOONN",
    ),
    row(
        "POST",
        "/admin/orders/{id}/complete",
        Order,
        "-OO--F",
        "UOOOPP",
        "UOOONN",
    ),
    row("GET", "/admin/ledger/check", NoId, "", "", "UOOOPP"),
    row("GET", "/admin/disputes", NoId, "", "", "UOOOPP"),
    // No order here has a dispute: an operator finds none to resolve
    // (tests/api/disputes.rs resolves real ones, never their own).
    row(
        "POST",
        "/admin/disputes/{id}/resolve",
        Order,
        "-OO--N",
        "UOOONN",
        "UOOONN",
    ),
    // Failed emails: any operator lists and retries them, an email to
    // themself included (it moves no money); a retry of one already
    // retried is a 200 no-op.
    row("GET", "/admin/outbox", NoId, "", "", "UOOOPP"),
    row(
        "POST",
        "/admin/outbox/{id}/retry",
        Email,
        "-----P",
        "UOOOPP",
        "UOOONN",
    ),
    // Everyone owns their profile; an operator never clears their own hold.
    row(
        "POST",
        "/admin/users/{id}/clear-hold",
        Profile,
        "-OOOFF",
        "UOOOPP",
        "UOOONN",
    ),
];

/// The world every cell runs on. `buyer` (omar) bought `order` from
/// `seller` (sara); `opown` (nadia) is an operator who also sells, buys,
/// posts requests and withdraws. zaid and lina own the "someone else's"
/// things and never call.
struct World {
    users: HashMap<&'static str, User>,
    own: HashMap<(&'static str, Kind), String>,
    other: HashMap<Kind, String>,
}

async fn seller_with_withdrawal(app: &TestApp, seller: &User, buyer: &User) -> String {
    let svc = id(&app
        .active_service(seller, json!({ "price": "25.00" }))
        .await);
    app.topup(buyer, "25.00").await;
    app.completed_order(buyer, seller, &svc).await;
    app.advance_days(14).await;
    let w = app
        .post(
            seller,
            "/withdrawals",
            json!({ "amount": "10.00", "paypal_email": seller.email }),
        )
        .await;
    id(&expect_status(&w, 201))
}

async fn request(app: &TestApp, u: &User) -> String {
    let r = app
        .post(
            u,
            "/requests",
            json!({ "title": "A logo for my bakery", "description": "Round and warm.", "budget": "10.00" }),
        )
        .await;
    id(&expect_status(&r, 201))
}

async fn world(app: &TestApp) -> World {
    let op = app.operator().await;
    let omar = app.user("omar").await;
    let sara = app.user("sara").await;
    let sami = app.user("sami").await;
    let nadia = app.operator_named("nadia").await;
    let zaid = app.user("zaid").await;
    let lina = app.user("lina").await;

    let s = id(&app.active_service(&sara, json!({})).await);
    let sp = id(&app
        .create_service(&sara, json!({ "title": "Pending one" }))
        .await);
    let z = id(&app.active_service(&zaid, json!({})).await);
    let zp = id(&app
        .create_service(&zaid, json!({ "title": "Pending one" }))
        .await);
    let ns = id(&app
        .create_service(&nadia, json!({ "title": "Pending one" }))
        .await);
    let nsa = id(&app.active_service(&nadia, json!({})).await);

    let w = seller_with_withdrawal(app, &sara, &omar).await;
    let zw = seller_with_withdrawal(app, &zaid, &lina).await;
    let nw = seller_with_withdrawal(app, &nadia, &lina).await;

    let t = id(&app.topup(&omar, "50.00").await);
    let zt = id(&app.topup(&lina, "50.00").await);
    let nt = id(&app.topup(&nadia, "50.00").await);
    let o = id(&app.order(&omar, &s, json!({})).await);
    let zo = id(&app.order(&lina, &z, json!({})).await);
    let no = id(&app.order(&nadia, &z, json!({})).await);

    let r = request(app, &omar).await;
    let zr = request(app, &lina).await;
    let nr = request(app, &nadia).await;

    let ne = app.failed_email(&nadia, "refused: MessageRejected").await;
    let ze = app.failed_email(&zaid, "refused: MessageRejected").await;

    let mut own = HashMap::new();
    for (who, kind, thing) in [
        ("op-own", Kind::Email, &ne),
        ("buyer", Kind::Order, &o),
        ("buyer", Kind::Request, &r),
        ("seller", Kind::Order, &o),
        ("seller", Kind::Service, &s),
        ("seller", Kind::Pending, &sp),
        ("seller", Kind::Withdrawal, &w),
        ("op-own", Kind::Order, &no),
        ("op-own", Kind::Service, &nsa),
        ("op-own", Kind::Pending, &ns),
        ("op-own", Kind::Request, &nr),
        ("op-own", Kind::Withdrawal, &nw),
        ("buyer", Kind::Topup, &t),
        ("op-own", Kind::Topup, &nt),
    ] {
        own.insert((who, kind), thing.clone());
    }
    let users: HashMap<&'static str, User> = [
        ("buyer", omar),
        ("seller", sara),
        ("stranger", sami),
        ("operator", op),
        ("op-own", nadia),
    ]
    .into_iter()
    .collect();
    for (who, u) in &users {
        own.insert((who, Kind::Profile), u.id.clone());
    }
    let other = [
        (Kind::Order, zo),
        (Kind::Service, z.clone()),
        (Kind::Pending, zp),
        (Kind::Request, zr),
        (Kind::Withdrawal, zw),
        (Kind::Profile, zaid.id.clone()),
        (Kind::Topup, zt),
        (Kind::Email, ze),
    ]
    .into_iter()
    .collect();
    World { users, own, other }
}

/// What a cell's answer means.
fn verdict(method: &str, r: &Resp) -> char {
    let code = r.1["code"].as_str().unwrap_or("");
    match (r.0, code) {
        (200, _) if method == "GET" => 'P',
        (400, "malformed_body") | (200..=299, _) | (409, _) if method != "GET" => 'P',
        (401, _) => 'U',
        (403, "forbidden") => 'F',
        (403, "operators_only") => 'O',
        (403, "own_request") => 'R',
        (400, "invalid_webhook") => 'V',
        (400, "invalid_unsubscribe_token") => 'T',
        (404, _) => 'N',
        _ => '?',
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_by_every_caller_on_own_others_and_missing() {
    // Every served route has exactly one row.
    let served: BTreeSet<(String, String)> = khamsa_http::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let rows: BTreeSet<(String, String)> = ROWS
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(ROWS.len(), rows.len(), "a route has two rows");
    let no_row: Vec<_> = served.difference(&rows).collect();
    assert!(
        no_row.is_empty(),
        "routes without a row in the matrix: {no_row:?}"
    );
    let stale: Vec<_> = rows.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "rows for routes that are not served: {stale:?}"
    );

    let app = spawn_app().await;
    let w = world(&app).await;
    let before = app.ledger_check().await;

    let mut cells = vec![];
    for r in ROWS {
        let mut columns = vec![("missing", r.missing)];
        if r.kind != Kind::NoId {
            columns.push(("own", r.own));
            columns.push(("other", r.other));
        }
        for (target, letters) in columns {
            let letters: Vec<char> = letters.chars().collect();
            assert_eq!(letters.len(), WHO.len(), "{} {} {target}", r.method, r.path);
            for (who, want) in WHO.iter().zip(letters) {
                if want == '-' {
                    continue;
                }
                let id = match (r.kind, target) {
                    (Kind::NoId, _) => String::new(),
                    (_, "missing") => "x_missing0".to_owned(),
                    (kind, "own") => w
                        .own
                        .get(&(*who, kind))
                        .unwrap_or_else(|| panic!("{who} owns no {kind:?}"))
                        .clone(),
                    (kind, _) => w.other[&kind].clone(),
                };
                cells.push((
                    r.method,
                    r.path
                        .replace("{id}", &id)
                        .replace("{file_id}", "file_missing0"),
                    target,
                    *who,
                    want,
                    r.path,
                ));
            }
        }
    }
    let total = cells.len();
    let mut wrong = vec![];
    for (method, path, target, who, want, template) in cells {
        let auth = w.users.get(who).map(|u| format!("Bearer {}", u.token()));
        let body = (method != "GET").then(|| json!([]));
        let r = app
            .send(method, &path, auth.as_deref(), body.as_ref(), None)
            .await;
        let got = verdict(method, &r);
        if got != want {
            wrong.push(format!(
                "{method} {template} as {who} on {target}: want {want}, got {got} ({} {})",
                r.0, r.1["code"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {total} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(total > 150, "{total} cells");
    let after = app.ledger_check().await;
    assert_eq!(after["ok"], true, "{after}");
    assert_eq!(before["violations"], after["violations"]);
}
