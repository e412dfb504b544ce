//! A fake PayPal: the REST endpoints Khamsa calls, answering in PayPal's
//! shapes, with outcomes a test (or a person on the approval page) decides.
//!
//! Written from PayPal's public documents; each endpoint cites the page it
//! follows. Deliberately small: one purchase unit, USD, intent `CAPTURE`,
//! one-item payouts are what Khamsa sends, and anything else is refused the
//! way PayPal refuses a malformed request.

mod state;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub use state::{CaptureOutcome, DelayedOp, PayoutOutcome, SentEvent};
use state::{Reply, State};

/// The credentials the fake accepts at `POST /v1/oauth2/token`.
pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";
/// The webhook id the fake signs its events for (PayPal gives one per
/// subscribed listener URL).
pub const WEBHOOK_ID: &str = "WH-FAKE-0000000000";

const MAX_BODY: usize = 1024 * 1024;

/// A running fake. Dropping it stops accepting connections.
pub struct FakePayPal {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakePayPal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds 127.0.0.1:`port` (0 picks a free port) and serves until dropped.
pub async fn spawn(port: u16) -> std::io::Result<FakePayPal> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(Mutex::new(State::new(format!("http://{addr}"))));
    let served = state.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = served.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(&state, req).await) }
                });
                if let Err(e) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await
                {
                    tracing::debug!(error = %e, "fake paypal: connection closed");
                }
            });
        }
    });
    Ok(FakePayPal { addr, state, task })
}

impl FakePayPal {
    /// The API base, e.g. `http://127.0.0.1:41234` (PayPal's is
    /// `https://api-m.sandbox.paypal.com`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a test panicked mid-request; the data
        // is still the fake's best knowledge.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where events are POSTed as they happen (besides being recorded).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.state().webhook_url = Some(url.into());
    }

    /// The outcome of the next capture (default: `Completed`).
    pub fn script_next_capture(&self, outcome: CaptureOutcome) {
        self.state().next_capture.push_back(outcome);
    }

    /// The outcome of the next payout item (default: `Success`).
    pub fn script_next_payout(&self, outcome: PayoutOutcome) {
        self.state().next_payout.push_back(outcome);
    }

    /// The next `op` is carried out, then answered only after `delay`: a
    /// client with a shorter timeout sees a timeout although the change
    /// was made.
    pub fn delay_next(&self, op: DelayedOp, delay: Duration) {
        self.state().delays.insert(op, delay);
    }

    /// The next `op` answers PayPal's `500 INTERNAL_SERVER_ERROR` and
    /// changes nothing.
    pub fn fail_next(&self, op: DelayedOp) {
        self.state().failures.insert(op);
    }

    /// Forgets every issued access token, as if they had expired.
    pub fn expire_tokens(&self) {
        self.state().tokens.clear();
    }

    /// The buyer approves the order on PayPal's page.
    pub fn approve(&self, order_id: &str) -> bool {
        self.state().approve(order_id).is_some()
    }

    /// The buyer cancels on PayPal's page.
    pub fn cancel(&self, order_id: &str) -> bool {
        self.state().cancel(order_id).is_some()
    }

    /// A `PENDING` capture settles (`PAYMENT.CAPTURE.COMPLETED`).
    pub fn complete_capture(&self, capture_id: &str) -> bool {
        self.state().capture_event(capture_id, "COMPLETED")
    }

    /// A `PENDING` capture is denied (`PAYMENT.CAPTURE.DENIED`).
    pub fn deny_capture(&self, capture_id: &str) -> bool {
        self.state().capture_event(capture_id, "DECLINED")
    }

    /// A chargeback (`PAYMENT.CAPTURE.REVERSED`).
    pub fn reverse_capture(&self, capture_id: &str) -> bool {
        self.state().capture_event(capture_id, "REVERSED")
    }

    /// A refund (`PAYMENT.CAPTURE.REFUNDED`).
    pub fn refund_capture(&self, capture_id: &str) -> bool {
        self.state().capture_event(capture_id, "REFUNDED")
    }

    /// Moves a payout item to `outcome` and emits its event (e.g. an
    /// `UNCLAIMED` item `RETURNED` after 30 days).
    pub fn set_payout_item(&self, item_id: &str, outcome: PayoutOutcome) -> bool {
        self.state().payout_item_event(item_id, outcome)
    }

    /// Every event the fake has emitted, oldest first, as delivered.
    pub fn events(&self) -> Vec<SentEvent> {
        self.state().events.clone()
    }

    /// Delivers an already emitted event once more, byte for byte (PayPal
    /// retries a delivery that was not answered 2xx).
    pub fn redeliver(&self, index: usize) -> bool {
        let st = self.state();
        match (st.events.get(index), st.webhook_url.clone()) {
            (Some(ev), Some(url)) => {
                state::post_event(url, ev.clone());
                true
            }
            _ => false,
        }
    }

    /// How many captures were made for an order (a retried capture must
    /// not make a second one).
    pub fn capture_count(&self, order_id: &str) -> usize {
        self.state()
            .orders
            .get(order_id)
            .map_or(0, |o| o.captures.len())
    }

    /// How many payout batches were accepted.
    pub fn payout_count(&self) -> usize {
        self.state().batches.len()
    }
}

type Resp = Response<Full<Bytes>>;

fn reply(r: Reply) -> Resp {
    let mut b = Response::builder().status(r.status);
    for (k, v) in &r.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.header("content-type", r.content_type)
        .header("paypal-debug-id", state::debug_id())
        .body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn handle(shared: &Arc<Mutex<State>>, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return reply(Reply::json(413, json!({"name": "REQUEST_TOO_LARGE"}))),
    };
    let headers: HashMap<String, String> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();

    let (answer, delay) = {
        let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
        route(&mut st, &parts.method, &segs, &headers, &query, &body)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    reply(answer)
}

/// Dispatches one request. Returns the answer and, for a scripted
/// timeout, how long to hold it back (the change is already made).
fn route(
    st: &mut State,
    method: &Method,
    segs: &[&str],
    headers: &HashMap<String, String>,
    query: &HashMap<String, String>,
    body: &[u8],
) -> (Reply, Option<Duration>) {
    // The approval page and the token endpoint are the only ones without a
    // bearer token.
    match (method, segs) {
        (&Method::GET, ["checkoutnow"]) => return (st.approval_page(query), None),
        (&Method::POST, ["checkoutnow"]) => return (st.approval_post(body), None),
        (&Method::POST, ["v1", "oauth2", "token"]) => return (st.token(headers, body), None),
        _ => {}
    }
    if !st.authorized(headers) {
        // https://developer.paypal.com/api/rest/authentication/ : a call
        // without a valid access token is a 401.
        return (
            Reply::json(
                401,
                json!({"error": "invalid_token", "error_description": "Token signature verification failed"}),
            ),
            None,
        );
    }
    let request_id = headers.get("paypal-request-id").cloned();
    match (method, segs) {
        (&Method::POST, ["v2", "checkout", "orders"]) => (st.create_order(request_id, body), None),
        (&Method::GET, ["v2", "checkout", "orders", id]) => (st.get_order(id), None),
        (&Method::POST, ["v2", "checkout", "orders", id, "capture"]) => {
            st.capture_order(id, request_id)
        }
        (&Method::POST, ["v1", "payments", "payouts"]) => st.create_payout(body),
        (&Method::GET, ["v1", "payments", "payouts", id]) => (st.get_batch(id), None),
        (&Method::GET, ["v1", "payments", "payouts-item", id]) => (st.get_item(id), None),
        (&Method::POST, ["v1", "notifications", "verify-webhook-signature"]) => {
            (st.verify(body), None)
        }
        _ => (
            Reply::json(
                404,
                state::error_body(
                    "RESOURCE_NOT_FOUND",
                    "The specified resource does not exist.",
                    "INVALID_RESOURCE_ID",
                    "Specified resource ID does not exist.",
                ),
            ),
            None,
        ),
    }
}

/// A JSON value as PayPal writes money: `{"currency_code": "USD", "value": "10.00"}`.
pub(crate) fn money_json(value: &rust_decimal::Decimal) -> Value {
    json!({"currency_code": "USD", "value": format!("{:.2}", value)})
}
