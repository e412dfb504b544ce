//! The life cycle under injected faults (issue 9): the local server on
//! DynamoDB Local and moto, each behind a `FaultProxy` that drops, delays,
//! fails or loses the answer of a share of calls (5%, then 20%). Clients
//! retry what a client would retry (a 5xx, an `idempotency_in_progress`)
//! with the same `Idempotency-Key`. Afterwards nothing is lost or made:
//! the ledger check is ok, every balance equals the model, every order is
//! in the state its last successful action left it (and a coherent one),
//! the withdrawal is paid once, and no email is sent twice: SES receives at
//! most one email per outbox row (a send whose answer was lost fails its
//! row as "outcome unknown" instead of sending again).
//!
//! Emulators only (its own process: it points the SDK's endpoints at the
//! proxies). `infra/test.sh` runs it with the emulator suites.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use helpers::*;
use khamsa_testkit::env::ALL;
use khamsa_testkit::faults::{FaultCounts, FaultProxy};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const BUYERS: usize = 4;
/// Calls a client makes before it gives up on one action.
const ATTEMPTS: usize = 60;

/// One action, retried like a client would: same method, path, body and
/// `Idempotency-Key`, until the answer is not a 5xx or an
/// `idempotency_in_progress`.
async fn call(
    app: &TestApp,
    u: &User,
    method: &str,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> Resp {
    let auth = format!("Bearer {}", u.token());
    let mut last = (0, Value::Null);
    for attempt in 0..ATTEMPTS {
        let r = app
            .send(method, path, Some(&auth), body.as_ref(), key)
            .await;
        let retry = r.0 >= 500 || r.1["code"] == "idempotency_in_progress";
        if !retry {
            return r;
        }
        last = r;
        tokio::time::sleep(Duration::from_millis(20 + 10 * attempt as u64)).await;
    }
    panic!("{method} {path}: still failing after {ATTEMPTS} attempts: {last:?}");
}

async fn get(app: &TestApp, u: &User, path: &str) -> Value {
    expect_status(&call(app, u, "GET", path, None, None).await, 200)
}

/// Runs the server's workers (timers, emails, payouts) until a move of
/// the clock by `seconds` has answered; a failed move is retried by 0 s so
/// that the clock moves once.
async fn advance(app: &TestApp, seconds: i64) {
    let mut by = seconds;
    for _ in 0..ATTEMPTS {
        let r = app
            .send(
                "POST",
                "/dev/clock",
                None,
                Some(&json!({ "advance_seconds": by })),
                None,
            )
            .await;
        if r.0 == 200 {
            return;
        }
        by = 0;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the clock never moved");
}

struct Round {
    rate: f64,
    dynamo: FaultCounts,
    moto: FaultCounts,
    elapsed: Duration,
}

/// One buyer's part: a top-up of 12.00, three $5 orders at once (exactly
/// two fit), one delivered and received, one cancelled by the seller.
async fn buyer_part(app: &TestApp, seller: &User, buyer: &User, service: &str) -> Vec<String> {
    let b = &buyer.id;
    let r = call(
        app,
        buyer,
        "POST",
        "/me/topups",
        Some(json!({ "amount": "12.00", "method": "sandbox" })),
        Some(&format!("{b}-topup")),
    )
    .await;
    assert_eq!(expect_status(&r, 201)["status"], "settled");

    let orders = futures_join(
        (0..3)
            .map(|n| {
                let key = format!("{b}-order-{n}");
                async move {
                    call(
                        app,
                        buyer,
                        "POST",
                        "/orders",
                        Some(json!({ "service_id": service })),
                        Some(&key),
                    )
                    .await
                }
            })
            .collect(),
    )
    .await;
    let placed: Vec<String> = orders
        .iter()
        .filter(|r| r.0 == 201)
        .map(|r| id(&r.1))
        .collect();
    for r in &orders {
        assert!(r.0 == 201 || (400..500).contains(&r.0), "{r:?}");
    }
    assert_eq!(
        placed.len(),
        2,
        "$12 pays for exactly two $5 orders: {orders:?}"
    );

    let (done, cancelled) = (&placed[0], &placed[1]);
    let step = |u: &User, o: &str, action: &str, body: Value| {
        let (u, o, action) = (u.clone(), o.to_owned(), action.to_owned());
        async move {
            let r = call(
                app,
                &u,
                "POST",
                &format!("/orders/{o}/{action}"),
                Some(body),
                Some(&format!("{o}-{action}")),
            )
            .await;
            expect_status(&r, 200)
        }
    };
    let d = step(
        seller,
        done,
        "deliver",
        json!({ "text": "Here is the work." }),
    )
    .await;
    assert_eq!(d["status"], "delivered");
    let c = step(buyer, done, "receive", json!({})).await;
    assert_eq!(c["status"], "completed");
    let x = step(
        seller,
        cancelled,
        "cancel",
        json!({ "reason": "Too busy." }),
    )
    .await;
    assert_eq!(x["status"], "cancelled");
    placed
}

/// Polls several futures at once on this task (no extra dependency).
async fn futures_join<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut slots: Vec<Option<F::Output>> = fs.iter().map(|_| None).collect();
    let mut fs: Vec<std::pin::Pin<Box<F>>> = fs.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in fs.iter_mut().zip(slots.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    slots.into_iter().flatten().collect()
}

async fn round(rate: f64, dynamo: &FaultProxy, moto: &FaultProxy) -> Round {
    let started = Instant::now();
    let (d0, m0) = (dynamo.counts(), moto.counts());
    // Set-up without faults: the table, the queues, the cast.
    dynamo.set_rate(0.0);
    moto.set_rate(0.0);
    let settings = khamsa_local::aws::AwsSettings::unique("faults");
    let table = settings.table.clone();
    let app = spawn_app_on(
        khamsa_local::Backend::Aws(settings),
        khamsa_domain::Config::default(),
    )
    .await;
    let op = app.operator().await;
    // Addresses of this round only: moto keeps every email it was sent.
    let tag = khamsa_testkit::unique("r").replace('-', "");
    let seller = app.user_en(&format!("seller{tag}")).await;
    let service = id(&app
        .active_service(&seller, json!({ "price": "5.00" }))
        .await);
    let mut buyers = vec![];
    for i in 0..BUYERS {
        buyers.push(app.user(&format!("buyer{i}{tag}")).await);
    }

    dynamo.set_rate(rate);
    moto.set_rate(rate);
    let parts = futures_join(
        buyers
            .iter()
            .map(|b| buyer_part(&app, &seller, b, &service))
            .collect(),
    )
    .await;

    // The seller's earnings clear (timers, under faults), then a
    // withdrawal of 10.00 is approved and paid.
    advance(&app, 15 * DAY).await;
    let s = &seller.id;
    let w = call(
        &app,
        &seller,
        "POST",
        "/withdrawals",
        Some(json!({ "amount": "10.00", "paypal_email": format!("{s}@paypal.test") })),
        Some(&format!("{s}-withdraw")),
    )
    .await;
    let w = id(&expect_status(&w, 201));
    let a = call(
        &app,
        &op,
        "POST",
        &format!("/admin/withdrawals/{w}/approve"),
        None,
        Some(&format!("{w}-approve")),
    )
    .await;
    let a = expect_status(&a, 200);
    assert!(a["status"] == "approved" || a["status"] == "paid", "{a}");

    // Faults off: what was queued is delivered, and the sweep's poll sends
    // a payout whose first send failed (it waits a minute), then
    // everything is read.
    dynamo.set_rate(0.0);
    moto.set_rate(0.0);
    for _ in 0..3 {
        advance(&app, 120).await;
    }
    let paid = app.withdrawal_reaching(&seller, &w, "paid").await;
    assert_eq!(paid["amount"], "10.00");
    assert_eq!(fake(&app).payout_count(), 1, "paid once");

    let check = app.ledger_check().await;
    assert_eq!(check["ok"], true, "at {rate}: {check}");
    assert_eq!(check["accounts_total"], "0.00");

    // Balances equal the model: each buyer paid for one completed order.
    for b in &buyers {
        let me = get(&app, b, "/me").await;
        assert_eq!(
            (me["balance"].as_str(), me["earnings_available"].as_str()),
            (Some("7.00"), Some("0.00")),
            "{}: {me}",
            b.id
        );
    }
    let me = get(&app, &seller, "/me").await;
    // Four orders at $5 net $4 each: 16.00 earned, 10.00 paid out.
    for (field, want) in [
        ("earnings_pending", "0.00"),
        ("earnings_available", "6.00"),
        ("withdrawals_in_flight", "0.00"),
        ("balance", "0.00"),
    ] {
        assert_eq!(me[field], want, "seller {field}: {me}");
    }

    // Every order in the state its last action left, and coherent.
    for (b, placed) in buyers.iter().zip(&parts) {
        let mine = get(&app, b, "/me/purchases").await;
        let items = mine["items"].as_array().expect("items");
        assert_eq!(items.len(), 2, "{}: {mine}", b.id);
        for o in items {
            let want = if o["id"] == placed[0].as_str() {
                "completed"
            } else {
                assert_eq!(o["id"], placed[1].as_str());
                "cancelled"
            };
            let o = get(&app, b, &format!("/orders/{}", id(o))).await;
            assert_eq!(o["status"], want, "{o}");
            let (completed, cancelled) =
                (o["completed_at"].is_string(), o["cancelled_at"].is_string());
            assert_eq!(
                (completed, cancelled),
                (want == "completed", want == "cancelled"),
                "impossible state: {o}"
            );
        }
    }

    // No email twice: the same subject and text to the same address,
    // neither among what the notifier saw sent nor at SES itself (each
    // row's email differs from every other's, so a repeat is a resend).
    let mut everyone = buyers.clone();
    everyone.push(seller.clone());
    let mut sent = 0;
    for u in &everyone {
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for m in app.emails_to(&u.email).await {
            let k = (m["subject"].to_string(), m["text"].to_string());
            *seen.entry(k).or_default() += 1;
            sent += 1;
        }
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "{} got an email twice: {twice:?}", u.id);
    }
    let addrs: Vec<&str> = everyone.iter().map(|u| u.email.as_str()).collect();
    let at_ses = khamsa_testkit::aws::moto_emails(&addrs).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in &at_ses {
        let k = format!("{} {} {}", m["destinations"], m["subject"], m["body"]);
        *seen.entry(k).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "SES received an email twice: {twice:?}");
    let at_ses = at_ses.len();

    // Every row is sent, failed with its reason, or still waiting; SES
    // received at most one email per row that was sent or whose outcome is
    // unknown, and every email the notifier saw accepted.
    let rows = outbox_rows(&table).await;
    eprintln!(
        "emails at {:.0}%: {} rows ({} sent, {} failed as outcome unknown, {} failed otherwise, \
         {} still claimed, {} pending); {sent} accepted by SES as the notifier saw it, {at_ses} received by SES",
        rate * 100.0,
        rows.total(),
        rows.sent,
        rows.unknown,
        rows.failed_other.len(),
        rows.sending,
        rows.pending
    );
    assert!(
        rows.failed_other.is_empty(),
        "failed for good: {:?}",
        rows.failed_other
    );
    assert!(
        at_ses <= rows.sent + rows.unknown,
        "SES received {at_ses} emails for {} rows sent and {} of unknown outcome",
        rows.sent,
        rows.unknown
    );
    assert!(
        sent <= at_ses,
        "SES holds every email it accepted: {sent} > {at_ses}"
    );
    // The 12 order emails (placed, delivered, completed per buyer...) went
    // out, bar those whose answer a fault lost (failed, not resent).
    assert!(
        sent + rows.unknown >= 3 * BUYERS,
        "the order emails went out: {sent} sent, {} unknown",
        rows.unknown
    );

    let diff = |a: FaultCounts, b: FaultCounts| FaultCounts {
        calls: a.calls - b.calls,
        drop: a.drop - b.drop,
        delay: a.delay - b.delay,
        server_error: a.server_error - b.server_error,
        lost_answer: a.lost_answer - b.lost_answer,
    };
    Round {
        rate,
        dynamo: diff(dynamo.counts(), d0),
        moto: diff(moto.counts(), m0),
        elapsed: started.elapsed(),
    }
}

/// The outbox rows of a table, by state.
#[derive(Debug, Default)]
struct Rows {
    sent: usize,
    unknown: usize,
    failed_other: Vec<String>,
    sending: usize,
    pending: usize,
}

impl Rows {
    fn total(&self) -> usize {
        self.sent + self.unknown + self.failed_other.len() + self.sending + self.pending
    }
}

/// Reads every outbox item of `table` (a scan: a test's small table).
async fn outbox_rows(table: &str) -> Rows {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = aws_sdk_dynamodb::Client::new(&khamsa_testkit::aws::sdk_config().await);
    let mut rows = Rows::default();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .filter_expression("begins_with(pk, :p) AND sk = :s")
            .expression_attribute_values(":p", AttributeValue::S("OUTBOX#".into()))
            .expression_attribute_values(":s", AttributeValue::S("OUTBOX".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("the table scans");
        for item in out.items() {
            let has = |a: &str| item.get(a).is_some_and(|v| !v.is_null());
            if has("sent_at") {
                rows.sent += 1;
            } else if let Some(f) = item.get("failure").and_then(|v| v.as_s().ok()) {
                if f.starts_with("outcome unknown: ") {
                    rows.unknown += 1;
                } else {
                    rows.failed_other.push(f.clone());
                }
            } else if has("sending_at") {
                rows.sending += 1;
            } else {
                rows.pending += 1;
            }
        }
        match out.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => return rows,
        }
    }
}

#[test]
fn the_life_cycle_under_5_and_20_percent_faults_loses_nothing() {
    if !khamsa_testkit::emulators("faults", ALL) {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let upstream = |v: &str| std::env::var(v).expect("set: checked above");
        let dynamo = FaultProxy::start(&upstream("AWS_ENDPOINT_URL_DYNAMODB"))
            .await
            .expect("the DynamoDB proxy starts");
        let moto = FaultProxy::start(&upstream("AWS_ENDPOINT_URL_SQS"))
            .await
            .expect("the moto proxy starts");
        // SAFETY: this process runs this one test; nothing else reads the
        // environment while it is written (the SDK reads it at spawn_app).
        unsafe {
            std::env::set_var("KHAMSA_BACKEND", "aws");
            std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", dynamo.url());
            std::env::set_var("AWS_ENDPOINT_URL_SQS", moto.url());
            std::env::set_var("AWS_ENDPOINT_URL_SES", moto.url());
        }
        for rate in [0.05, 0.20] {
            let r = round(rate, &dynamo, &moto).await;
            eprintln!(
                "faults at {:.0}%: DynamoDB {} calls, {} faults ({} dropped, {} delayed, {} 500s, {} answers lost); \
                 moto {} calls, {} faults ({} dropped, {} delayed, {} 500s, {} answers lost); {:.1} s; nothing lost",
                r.rate * 100.0,
                r.dynamo.calls,
                r.dynamo.faults(),
                r.dynamo.drop,
                r.dynamo.delay,
                r.dynamo.server_error,
                r.dynamo.lost_answer,
                r.moto.calls,
                r.moto.faults(),
                r.moto.drop,
                r.moto.delay,
                r.moto.server_error,
                r.moto.lost_answer,
                r.elapsed.as_secs_f64()
            );
            assert!(r.dynamo.faults() > 0 && r.moto.faults() > 0, "faults were injected");
            if rate >= 0.2 {
                assert!(r.dynamo.lost_answer > 0, "an answer was lost at least once");
            }
        }
    });
}
