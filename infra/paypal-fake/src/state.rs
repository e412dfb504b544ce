//! The fake's memory and the body of every endpoint.

use std::collections::{HashMap, HashSet, VecDeque};
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, money_json};

/// What the next capture does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureOutcome {
    Completed,
    /// PayPal holds the money (e.g. an eCheck); a later
    /// `PAYMENT.CAPTURE.COMPLETED` or `.DENIED` settles it.
    Pending,
    Declined,
}

/// A payout item's `transaction_status`, and the event it emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutOutcome {
    Success,
    Failed,
    Unclaimed,
    Returned,
}

impl PayoutOutcome {
    fn status(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
            Self::Unclaimed => "UNCLAIMED",
            Self::Returned => "RETURNED",
        }
    }
    fn event(self) -> &'static str {
        match self {
            Self::Success => "PAYMENT.PAYOUTS-ITEM.SUCCEEDED",
            Self::Failed => "PAYMENT.PAYOUTS-ITEM.FAILED",
            Self::Unclaimed => "PAYMENT.PAYOUTS-ITEM.UNCLAIMED",
            Self::Returned => "PAYMENT.PAYOUTS-ITEM.RETURNED",
        }
    }
}

/// The calls whose answer can be delayed or failed on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DelayedOp {
    Capture,
    Payout,
}

/// One webhook delivery: PayPal's transmission headers and the raw body.
#[derive(Clone, Debug)]
pub struct SentEvent {
    pub event_type: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: body.to_string(),
        }
    }
    fn html(status: u16, body: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body,
        }
    }
    fn redirect(to: String) -> Self {
        Self {
            status: 303,
            content_type: "text/plain",
            headers: vec![("location".into(), to)],
            body: String::new(),
        }
    }
}

pub(crate) struct Order {
    pub id: String,
    pub status: &'static str,
    pub amount: Decimal,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
    pub cancelled: bool,
    pub captures: Vec<Capture>,
    pub create_time: String,
}

pub(crate) struct Capture {
    pub id: String,
    pub status: &'static str,
    pub amount: Decimal,
    pub fee: Decimal,
    pub order_id: String,
    pub create_time: String,
}

pub(crate) struct Item {
    pub id: String,
    pub batch_id: String,
    pub sender_batch_id: String,
    pub status: &'static str,
    pub amount: Decimal,
    pub receiver: String,
    pub sender_item_id: Option<String>,
    pub transaction_id: String,
}

pub(crate) struct Batch {
    pub id: String,
    pub sender_batch_id: String,
    pub item_ids: Vec<String>,
    pub time_created: String,
}

pub(crate) struct State {
    pub base: String,
    pub tokens: HashSet<String>,
    pub orders: HashMap<String, Order>,
    pub batches: HashMap<String, Batch>,
    pub items: HashMap<String, Item>,
    /// sender_batch_id → payout_batch_id (PayPal remembers them 30 days).
    pub sender_batches: HashMap<String, String>,
    /// (endpoint, PayPal-Request-Id) → the stored answer.
    pub idempotent: HashMap<(String, String), (u16, Value)>,
    pub next_capture: VecDeque<CaptureOutcome>,
    pub next_payout: VecDeque<PayoutOutcome>,
    pub delays: HashMap<DelayedOp, Duration>,
    pub failures: HashSet<DelayedOp>,
    pub webhook_url: Option<String>,
    pub events: Vec<SentEvent>,
    /// transmission id → (signature, event) for every event the fake sent.
    pub signed: HashMap<String, (String, Value)>,
    signing_key: String,
}

/// PayPal-style ids: 17 upper-case letters and digits.
fn new_id() -> String {
    let mut rng = rand::rng();
    (0..17)
        .map(|_| {
            let c = rng.sample(rand::distr::Alphanumeric) as char;
            c.to_ascii_uppercase()
        })
        .collect()
}

pub(crate) fn debug_id() -> String {
    new_id()[..13].to_ascii_lowercase()
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// PayPal's error body (https://developer.paypal.com/api/rest/responses/):
/// name, message, debug_id, details[{issue, description}], links.
pub(crate) fn error_body(name: &str, message: &str, issue: &str, description: &str) -> Value {
    json!({
        "name": name,
        "message": message,
        "debug_id": debug_id(),
        "details": [{"issue": issue, "description": description}],
        "links": [{
            "href": format!("https://developer.paypal.com/docs/api/orders/v2/#error-{issue}"),
            "rel": "information_link",
            "method": "GET"
        }]
    })
}

fn invalid_request(issue: &str, description: &str) -> Reply {
    Reply::json(
        400,
        error_body(
            "INVALID_REQUEST",
            "Request is not well-formed, syntactically incorrect, or violates schema.",
            issue,
            description,
        ),
    )
}

fn unprocessable(issue: &str, description: &str) -> Reply {
    Reply::json(
        422,
        error_body(
            "UNPROCESSABLE_ENTITY",
            "The requested action could not be performed, semantically incorrect, or failed business validation.",
            issue,
            description,
        ),
    )
}

fn not_found() -> Reply {
    Reply::json(
        404,
        error_body(
            "RESOURCE_NOT_FOUND",
            "The specified resource does not exist.",
            "INVALID_RESOURCE_ID",
            "Specified resource ID does not exist. Please check the resource ID and try again.",
        ),
    )
}

fn internal_error() -> Reply {
    Reply::json(
        500,
        json!({
            "name": "INTERNAL_SERVER_ERROR",
            "message": "An internal server error occurred.",
            "debug_id": debug_id()
        }),
    )
}

/// A PayPal amount value: digits with at most two decimals, positive
/// (https://developer.paypal.com/api/rest/reference/currency-codes/).
fn parse_amount(v: &Value) -> Option<Decimal> {
    let s = v.as_str()?;
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 2 {
        return None;
    }
    Decimal::from_str(s).ok().filter(|d| *d > Decimal::ZERO)
}

/// PayPal's standard US rate for Checkout: 3.49% + $0.49, rounded to the cent.
fn paypal_fee(gross: Decimal) -> Decimal {
    (gross * Decimal::new(349, 4) + Decimal::new(49, 2))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

pub(crate) fn post_event(url: String, ev: SentEvent) {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut req = client
            .post(&url)
            .header("content-type", "application/json")
            .body(ev.body);
        for (k, v) in ev.headers {
            req = req.header(k, v);
        }
        if let Err(e) = req.send().await {
            tracing::debug!(error = %e, "fake paypal: webhook delivery failed");
        }
    });
}

impl State {
    pub fn new(base: String) -> Self {
        Self {
            base,
            tokens: HashSet::new(),
            orders: HashMap::new(),
            batches: HashMap::new(),
            items: HashMap::new(),
            sender_batches: HashMap::new(),
            idempotent: HashMap::new(),
            next_capture: VecDeque::new(),
            next_payout: VecDeque::new(),
            delays: HashMap::new(),
            failures: HashSet::new(),
            webhook_url: None,
            events: Vec::new(),
            signed: HashMap::new(),
            signing_key: new_id(),
        }
    }

    pub fn authorized(&self, headers: &HashMap<String, String>) -> bool {
        headers
            .get("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| self.tokens.contains(t))
    }

    /// `POST /v1/oauth2/token`, client credentials grant with HTTP Basic
    /// (https://developer.paypal.com/api/rest/authentication/). A wrong id
    /// or secret is `401 {"error":"invalid_client",...}`
    /// (https://developer.paypal.com/api/identity/v1/errors/invalid_client).
    pub fn token(&mut self, headers: &HashMap<String, String>, body: &[u8]) -> Reply {
        let expected = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
        let basic_ok = headers
            .get("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .is_some_and(|b| b == expected);
        if !basic_ok {
            return Reply::json(
                401,
                json!({"error": "invalid_client", "error_description": "Client Authentication failed"}),
            );
        }
        let grant = form_urlencoded::parse(body)
            .find(|(k, _)| k == "grant_type")
            .map(|(_, v)| v.into_owned());
        if grant.as_deref() != Some("client_credentials") {
            return Reply::json(
                400,
                json!({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}),
            );
        }
        let token = format!("A21AA{}{}", new_id(), new_id());
        self.tokens.insert(token.clone());
        Reply::json(
            200,
            json!({
                "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/payments/payouts",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-FAKE0000000000",
                "expires_in": 32400,
                "nonce": format!("{}{}", now(), new_id())
            }),
        )
    }

    fn links_for_order(&self, o: &Order) -> Value {
        let base = &self.base;
        let id = &o.id;
        let mut links = vec![
            json!({"href": format!("{base}/v2/checkout/orders/{id}"), "rel": "self", "method": "GET"}),
        ];
        if o.status == "CREATED" {
            links.push(json!({"href": format!("{base}/checkoutnow?token={id}"), "rel": "approve", "method": "GET"}));
        }
        if o.status == "APPROVED" {
            links.push(json!({"href": format!("{base}/v2/checkout/orders/{id}/capture"), "rel": "capture", "method": "POST"}));
        }
        Value::Array(links)
    }

    fn capture_json(&self, c: &Capture, o: &Order) -> Value {
        let mut v = json!({
            "id": c.id,
            "status": c.status,
            "amount": money_json(&c.amount),
            "final_capture": true,
            "create_time": c.create_time,
            "update_time": now(),
            "links": [
                {"href": format!("{}/v2/payments/captures/{}", self.base, c.id), "rel": "self", "method": "GET"},
                {"href": format!("{}/v2/checkout/orders/{}", self.base, c.order_id), "rel": "up", "method": "GET"}
            ]
        });
        if let Some(x) = &o.custom_id {
            v["custom_id"] = json!(x);
        }
        if let Some(x) = &o.invoice_id {
            v["invoice_id"] = json!(x);
        }
        // The breakdown "is not available for transactions that are in
        // pending state" (Orders v2, definitions/seller_receivable_breakdown).
        if c.status == "COMPLETED" || c.status == "REFUNDED" {
            v["seller_receivable_breakdown"] = json!({
                "gross_amount": money_json(&c.amount),
                "paypal_fee": money_json(&c.fee),
                "net_amount": money_json(&(c.amount - c.fee)),
            });
        }
        match c.status {
            "PENDING" => v["status_details"] = json!({"reason": "PENDING_REVIEW"}),
            "DECLINED" => v["status_details"] = json!({"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}),
            _ => {}
        }
        v
    }

    fn order_json(&self, o: &Order) -> Value {
        let mut unit = json!({
            "reference_id": "default",
            "amount": money_json(&o.amount),
        });
        if let Some(x) = &o.custom_id {
            unit["custom_id"] = json!(x);
        }
        if let Some(x) = &o.invoice_id {
            unit["invoice_id"] = json!(x);
        }
        if !o.captures.is_empty() {
            let caps: Vec<Value> = o.captures.iter().map(|c| self.capture_json(c, o)).collect();
            unit["payments"] = json!({"captures": caps});
        }
        let mut v = json!({
            "id": o.id,
            "intent": "CAPTURE",
            "status": o.status,
            "purchase_units": [unit],
            "create_time": o.create_time,
            "links": self.links_for_order(o),
        });
        if o.status != "CREATED" {
            v["payer"] = json!({
                "payer_id": "FAKEPAYER0001",
                "email_address": "buyer@example.com",
                "name": {"given_name": "Fake", "surname": "Buyer"}
            });
        }
        v
    }

    /// `POST /v2/checkout/orders`
    /// (https://developer.paypal.com/api/orders/v2/#orders_create): intent
    /// `CAPTURE`, purchase_units[].amount, the return and cancel URLs in
    /// `payment_source.paypal.experience_context` (or the older
    /// `application_context`). The same `PayPal-Request-Id` gives back the
    /// same order ("The server stores keys for 6 hours").
    pub fn create_order(&mut self, request_id: Option<String>, body: &[u8]) -> Reply {
        let key = request_id.map(|r| ("orders".to_owned(), r));
        if let Some(k) = &key
            && let Some((status, v)) = self.idempotent.get(k)
        {
            // Replay the order as it is now, with the first answer's status.
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            let status = *status;
            return match self.orders.get(&id) {
                Some(o) => Reply::json(status, self.order_json(o)),
                None => Reply::json(status, v.clone()),
            };
        }
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return invalid_request(
                "MALFORMED_REQUEST_JSON",
                "The request JSON is not well formed.",
            );
        };
        if req["intent"] != "CAPTURE" {
            return invalid_request(
                "INVALID_PARAMETER_VALUE",
                "The value of a field is invalid: intent.",
            );
        }
        let units = req["purchase_units"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let [unit] = units.as_slice() else {
            return invalid_request(
                "INVALID_ARRAY_LENGTH",
                "purchase_units must have one item here.",
            );
        };
        if unit["amount"]["currency_code"] != "USD" {
            return unprocessable(
                "CURRENCY_NOT_SUPPORTED",
                "Only USD is supported by this fake.",
            );
        }
        let Some(amount) = parse_amount(&unit["amount"]["value"]) else {
            return invalid_request(
                "INVALID_PARAMETER_SYNTAX",
                "amount.value: positive, at most two decimals.",
            );
        };
        let ctx = if req["payment_source"]["paypal"]["experience_context"].is_object() {
            &req["payment_source"]["paypal"]["experience_context"]
        } else {
            &req["application_context"]
        };
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let order = Order {
            id: new_id(),
            status: "CREATED",
            amount,
            custom_id: text(&unit["custom_id"]),
            invoice_id: text(&unit["invoice_id"]),
            return_url: text(&ctx["return_url"]),
            cancel_url: text(&ctx["cancel_url"]),
            cancelled: false,
            captures: Vec::new(),
            create_time: now(),
        };
        let v = self.order_json(&order);
        self.orders.insert(order.id.clone(), order);
        if let Some(k) = key {
            self.idempotent.insert(k, (201, v.clone()));
        }
        Reply::json(201, v)
    }

    /// `GET /v2/checkout/orders/{id}`
    /// (https://developer.paypal.com/api/orders/v2/#orders_get).
    pub fn get_order(&self, id: &str) -> Reply {
        match self.orders.get(id) {
            Some(o) => Reply::json(200, self.order_json(o)),
            None => not_found(),
        }
    }

    /// `POST /v2/checkout/orders/{id}/capture`
    /// (https://developer.paypal.com/api/orders/v2/#orders_capture). The
    /// capture is in `purchase_units[0].payments.captures[0]`, its status
    /// one of COMPLETED, DECLINED, PENDING... (definitions/capture); the fee
    /// in `seller_receivable_breakdown.paypal_fee`. A repeat with the same
    /// `PayPal-Request-Id` replays the first answer; without it, a second
    /// capture is `422 ORDER_ALREADY_CAPTURED`, and an order the buyer has
    /// not approved is `422 ORDER_NOT_APPROVED` (Orders v2 error list).
    pub fn capture_order(
        &mut self,
        id: &str,
        request_id: Option<String>,
    ) -> (Reply, Option<Duration>) {
        let key = request_id.map(|r| (format!("capture:{id}"), r));
        if let Some(k) = &key
            && let Some((status, v)) = self.idempotent.get(k)
        {
            return (Reply::json(*status, v.clone()), None);
        }
        if self.failures.remove(&DelayedOp::Capture) {
            return (internal_error(), None);
        }
        let Some(order) = self.orders.get(id) else {
            return (not_found(), None);
        };
        match order.status {
            "COMPLETED" => {
                return (
                    unprocessable(
                        "ORDER_ALREADY_CAPTURED",
                        "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
                    ),
                    None,
                );
            }
            "APPROVED" => {}
            _ => {
                return (
                    unprocessable(
                        "ORDER_NOT_APPROVED",
                        "Payer has not yet approved the Order for payment.",
                    ),
                    None,
                );
            }
        }
        let outcome = self
            .next_capture
            .pop_front()
            .unwrap_or(CaptureOutcome::Completed);
        let status = match outcome {
            CaptureOutcome::Completed => "COMPLETED",
            CaptureOutcome::Pending => "PENDING",
            CaptureOutcome::Declined => "DECLINED",
        };
        let capture = Capture {
            id: new_id(),
            status,
            amount: order.amount,
            fee: paypal_fee(order.amount),
            order_id: id.to_owned(),
            create_time: now(),
        };
        let capture_id = capture.id.clone();
        if let Some(o) = self.orders.get_mut(id) {
            o.status = "COMPLETED";
            o.captures.push(capture);
        }
        let v = match self.orders.get(id) {
            Some(o) => self.order_json(o),
            None => return (not_found(), None),
        };
        if let Some(k) = key {
            self.idempotent.insert(k, (201, v.clone()));
        }
        let event = match outcome {
            CaptureOutcome::Completed => "PAYMENT.CAPTURE.COMPLETED",
            CaptureOutcome::Pending => "PAYMENT.CAPTURE.PENDING",
            CaptureOutcome::Declined => "PAYMENT.CAPTURE.DENIED",
        };
        self.emit_capture(&capture_id, event);
        (Reply::json(201, v), self.delays.remove(&DelayedOp::Capture))
    }

    /// The buyer approves: the order is `APPROVED` and
    /// `CHECKOUT.ORDER.APPROVED` is sent. Returns the return URL.
    pub fn approve(&mut self, id: &str) -> Option<String> {
        let o = self.orders.get_mut(id)?;
        if o.status != "CREATED" || o.cancelled {
            return None;
        }
        o.status = "APPROVED";
        let back = o
            .return_url
            .as_ref()
            .map(|u| format!("{u}{}token={id}&PayerID=FAKEPAYER0001", sep(u)));
        let resource = self.orders.get(id).map(|o| self.order_json(o))?;
        self.emit("CHECKOUT.ORDER.APPROVED", "checkout-order", "2.0", resource);
        Some(back.unwrap_or_default())
    }

    /// The buyer cancels: PayPal sends them to the cancel URL and the order
    /// can never be captured.
    pub fn cancel(&mut self, id: &str) -> Option<String> {
        let o = self.orders.get_mut(id)?;
        if o.status != "CREATED" {
            return None;
        }
        o.cancelled = true;
        Some(
            o.cancel_url
                .as_ref()
                .map(|u| format!("{u}{}token={id}", sep(u)))
                .unwrap_or_default(),
        )
    }

    /// `GET /checkoutnow?token=` — the page PayPal's `approve` link opens.
    pub fn approval_page(&self, query: &HashMap<String, String>) -> Reply {
        let Some(o) = query.get("token").and_then(|t| self.orders.get(t)) else {
            return Reply::html(404, "<h1>Unknown order</h1>".into());
        };
        let id = &o.id;
        let state = if o.cancelled { "CANCELLED" } else { o.status };
        Reply::html(
            200,
            format!(
                "<!doctype html><html><head><title>Fake PayPal checkout</title></head><body>\
                 <h1>Fake PayPal</h1><p>Pay <strong>${:.2} USD</strong> to Khamsa (order {id}, {state}).</p>\
                 <form method=\"post\" action=\"/checkoutnow\"><input type=\"hidden\" name=\"token\" value=\"{id}\">\
                 <button name=\"action\" value=\"approve\">Approve</button> \
                 <button name=\"action\" value=\"cancel\">Cancel</button></form></body></html>",
                o.amount
            ),
        )
    }

    /// `POST /checkoutnow` with `token` and `action=approve|cancel`: the
    /// buyer's click; redirects to the return or cancel URL when there is one.
    pub fn approval_post(&mut self, body: &[u8]) -> Reply {
        let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        let token = form.get("token").cloned().unwrap_or_default();
        let done = match form.get("action").map(String::as_str) {
            Some("approve") => self.approve(&token).map(|u| (u, "approved")),
            Some("cancel") => self.cancel(&token).map(|u| (u, "cancelled")),
            _ => return Reply::html(400, "<h1>Approve or cancel</h1>".into()),
        };
        match done {
            Some((url, _)) if !url.is_empty() => Reply::redirect(url),
            Some((_, what)) => Reply::html(200, format!("<h1>Payment {what}</h1>")),
            None => Reply::html(
                409,
                "<h1>This order can no longer be approved or cancelled</h1>".into(),
            ),
        }
    }

    /// Moves a capture to `status` and emits the matching
    /// `PAYMENT.CAPTURE.*` event.
    pub fn capture_event(&mut self, capture_id: &str, status: &'static str) -> bool {
        let Some(c) = self
            .orders
            .values_mut()
            .flat_map(|o| o.captures.iter_mut())
            .find(|c| c.id == capture_id)
        else {
            return false;
        };
        c.status = status;
        let event = match status {
            "COMPLETED" => "PAYMENT.CAPTURE.COMPLETED",
            "DECLINED" => "PAYMENT.CAPTURE.DENIED",
            "REVERSED" => "PAYMENT.CAPTURE.REVERSED",
            "REFUNDED" => "PAYMENT.CAPTURE.REFUNDED",
            _ => "PAYMENT.CAPTURE.PENDING",
        };
        self.emit_capture(capture_id, event);
        true
    }

    fn emit_capture(&mut self, capture_id: &str, event: &str) {
        if event == "PAYMENT.CAPTURE.REFUNDED" {
            // A refund event carries the refund; its `up` link names the
            // capture (Payments v2 `refund`).
            let amount = self
                .orders
                .values()
                .flat_map(|o| o.captures.iter())
                .find(|c| c.id == capture_id)
                .map(|c| c.amount);
            if let Some(amount) = amount {
                let resource = json!({
                    "id": new_id(),
                    "status": "COMPLETED",
                    "amount": money_json(&amount),
                    "create_time": now(),
                    "links": [
                        {"href": format!("{}/v2/payments/refunds/{}", self.base, new_id()), "rel": "self", "method": "GET"},
                        {"href": format!("{}/v2/payments/captures/{capture_id}", self.base), "rel": "up", "method": "GET"}
                    ]
                });
                self.emit(event, "refund", "2.0", resource);
            }
            return;
        }
        let found = self.orders.values().find_map(|o| {
            o.captures
                .iter()
                .find(|c| c.id == capture_id)
                .map(|c| self.capture_json(c, o))
        });
        if let Some(resource) = found {
            self.emit(event, "capture", "2.0", resource);
        }
    }

    fn item_json(&self, it: &Item) -> Value {
        let mut v = json!({
            "payout_item_id": it.id,
            "transaction_id": it.transaction_id,
            "transaction_status": it.status,
            "payout_item_fee": {"currency": "USD", "value": "0.25"},
            "payout_batch_id": it.batch_id,
            "sender_batch_id": it.sender_batch_id,
            "payout_item": {
                "recipient_type": "EMAIL",
                "amount": {"currency": "USD", "value": format!("{:.2}", it.amount)},
                "receiver": it.receiver,
            },
            "time_processed": now(),
            "links": [
                {"href": format!("{}/v1/payments/payouts-item/{}", self.base, it.id), "rel": "item", "method": "GET"},
                {"href": format!("{}/v1/payments/payouts/{}", self.base, it.batch_id), "rel": "batch", "method": "GET"}
            ]
        });
        if let Some(s) = &it.sender_item_id {
            v["payout_item"]["sender_item_id"] = json!(s);
        }
        if it.status == "FAILED" || it.status == "RETURNED" {
            v["errors"] =
                json!({"name": "RECEIVER_UNREGISTERED", "message": "Receiver is unregistered"});
        }
        v
    }

    fn batch_json(&self, b: &Batch, with_items: bool) -> Value {
        let mut v = json!({
            "batch_header": {
                "payout_batch_id": b.id,
                "batch_status": if with_items { "SUCCESS" } else { "PENDING" },
                "time_created": b.time_created,
                "sender_batch_header": {"sender_batch_id": b.sender_batch_id}
            },
            "links": [{"href": format!("{}/v1/payments/payouts/{}", self.base, b.id), "rel": "self", "method": "GET"}]
        });
        if with_items {
            let items: Vec<Value> = b
                .item_ids
                .iter()
                .filter_map(|i| self.items.get(i))
                .map(|i| self.item_json(i))
                .collect();
            v["items"] = Value::Array(items);
        }
        v
    }

    /// `POST /v1/payments/payouts`
    /// (https://developer.paypal.com/api/payments.payouts-batch/v1/payouts-post):
    /// "If you specify a sender_batch_id that was used in the last 30 days,
    /// the API rejects the request with an error message that shows the
    /// duplicate sender_batch_id and includes a HATEOAS link to the
    /// original payout"; a 5xx may be retried with the same id. Answers
    /// `201` with the batch header (`PENDING`) and a `self` link.
    pub fn create_payout(&mut self, body: &[u8]) -> (Reply, Option<Duration>) {
        if self.failures.remove(&DelayedOp::Payout) {
            return (internal_error(), None);
        }
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return (
                invalid_request(
                    "MALFORMED_REQUEST_JSON",
                    "The request JSON is not well formed.",
                ),
                None,
            );
        };
        let Some(sender_batch_id) = req["sender_batch_header"]["sender_batch_id"].as_str() else {
            return (
                invalid_request(
                    "MISSING_REQUIRED_PARAMETER",
                    "sender_batch_header.sender_batch_id",
                ),
                None,
            );
        };
        if let Some(batch_id) = self.sender_batches.get(sender_batch_id) {
            let body = json!({
                "name": "USER_BUSINESS_ERROR",
                "message": "User business error.",
                "debug_id": debug_id(),
                "information_link": "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors",
                "details": [{
                    "field": "SENDER_BATCH_ID",
                    "location": "body",
                    "issue": format!("Batch with given sender_batch_id already exists: {sender_batch_id}")
                }],
                "links": [{"href": format!("{}/v1/payments/payouts/{batch_id}", self.base), "rel": "self", "method": "GET"}]
            });
            return (Reply::json(400, body), None);
        }
        let items = req["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return (invalid_request("MISSING_REQUIRED_PARAMETER", "items"), None);
        }
        let mut parsed = Vec::new();
        for it in &items {
            let (Some(amount), Some(receiver)) = (
                parse_amount(&it["amount"]["value"]),
                it["receiver"].as_str(),
            ) else {
                return (
                    invalid_request(
                        "INVALID_PARAMETER_SYNTAX",
                        "items[].amount.value and receiver",
                    ),
                    None,
                );
            };
            if it["amount"]["currency"] != "USD" {
                return (
                    unprocessable(
                        "CURRENCY_NOT_SUPPORTED",
                        "Only USD is supported by this fake.",
                    ),
                    None,
                );
            }
            parsed.push((
                amount,
                receiver.to_owned(),
                it["sender_item_id"].as_str().map(str::to_owned),
            ));
        }
        let batch_id = new_id();
        let mut item_ids = Vec::new();
        let mut emitted = Vec::new();
        for (amount, receiver, sender_item_id) in parsed {
            let outcome = self
                .next_payout
                .pop_front()
                .unwrap_or(PayoutOutcome::Success);
            let item = Item {
                id: new_id(),
                batch_id: batch_id.clone(),
                sender_batch_id: sender_batch_id.to_owned(),
                status: outcome.status(),
                amount,
                receiver,
                sender_item_id,
                transaction_id: new_id(),
            };
            item_ids.push(item.id.clone());
            emitted.push((item.id.clone(), outcome));
            self.items.insert(item.id.clone(), item);
        }
        let batch = Batch {
            id: batch_id.clone(),
            sender_batch_id: sender_batch_id.to_owned(),
            item_ids,
            time_created: now(),
        };
        let v = self.batch_json(&batch, false);
        self.batches.insert(batch_id.clone(), batch);
        self.sender_batches
            .insert(sender_batch_id.to_owned(), batch_id);
        for (item_id, outcome) in emitted {
            self.emit_item(&item_id, outcome);
        }
        (Reply::json(201, v), self.delays.remove(&DelayedOp::Payout))
    }

    /// `GET /v1/payments/payouts/{payout_batch_id}`
    /// (https://developer.paypal.com/api/payments.payouts-batch/v1/payouts-get).
    pub fn get_batch(&self, id: &str) -> Reply {
        match self.batches.get(id) {
            Some(b) => Reply::json(200, self.batch_json(b, true)),
            None => not_found(),
        }
    }

    /// `GET /v1/payments/payouts-item/{payout_item_id}`
    /// (https://developer.paypal.com/payouts/use-payouts/track-payout-item-status):
    /// `transaction_status` is one of SUCCESS, FAILED, PENDING, UNCLAIMED,
    /// RETURNED, ONHOLD, BLOCKED, REFUNDED, REVERSED (definitions/transaction_enum).
    pub fn get_item(&self, id: &str) -> Reply {
        match self.items.get(id) {
            Some(i) => Reply::json(200, self.item_json(i)),
            None => not_found(),
        }
    }

    pub fn payout_item_event(&mut self, item_id: &str, outcome: PayoutOutcome) -> bool {
        let Some(it) = self.items.get_mut(item_id) else {
            return false;
        };
        it.status = outcome.status();
        self.emit_item(item_id, outcome);
        true
    }

    /// Payout item events (https://developer.paypal.com/payouts/webhooks):
    /// PAYMENT.PAYOUTS-ITEM.SUCCEEDED / FAILED / UNCLAIMED / RETURNED, with
    /// the item (as `GET payouts-item` shows it) as the resource.
    fn emit_item(&mut self, item_id: &str, outcome: PayoutOutcome) {
        if let Some(resource) = self.items.get(item_id).map(|i| self.item_json(i)) {
            self.emit(outcome.event(), "payouts_item", "1.0", resource);
        }
    }

    /// Records (and delivers, when a listener is set) one event in PayPal's
    /// envelope (https://developer.paypal.com/api/rest/webhooks/rest/):
    /// id, event_version, create_time, resource_type, event_type, summary,
    /// resource; sent with the PAYPAL-TRANSMISSION-* headers that
    /// verify-webhook-signature takes back.
    fn emit(
        &mut self,
        event_type: &str,
        resource_type: &str,
        resource_version: &str,
        resource: Value,
    ) {
        let event = json!({
            "id": format!("WH-{}-{}", new_id(), new_id()),
            "event_version": "1.0",
            "create_time": now(),
            "resource_type": resource_type,
            "resource_version": resource_version,
            "event_type": event_type,
            "summary": format!("{event_type} (fake PayPal)"),
            "resource": resource,
            "links": [],
        });
        let body = event.to_string();
        let transmission_id = new_id();
        let time = now();
        let sig = self.sign(&transmission_id, &time, &body);
        let headers = vec![
            ("paypal-transmission-id".to_owned(), transmission_id.clone()),
            ("paypal-transmission-time".to_owned(), time),
            ("paypal-transmission-sig".to_owned(), sig.clone()),
            (
                "paypal-cert-url".to_owned(),
                format!("{}/v1/notifications/certs/CERT-FAKE", self.base),
            ),
            ("paypal-auth-algo".to_owned(), "SHA256withRSA".to_owned()),
        ];
        self.signed.insert(transmission_id, (sig, event));
        let sent = SentEvent {
            event_type: event_type.to_owned(),
            headers,
            body,
        };
        if let Some(url) = self.webhook_url.clone() {
            post_event(url, sent.clone());
        }
        self.events.push(sent);
    }

    /// The fake's stand-in for PayPal's RSA signature: a keyed hash over
    /// the transmission id, time, webhook id and body, as PayPal signs
    /// `<transmissionId>|<timeStamp>|<webhookId>|<crc32 of body>`.
    fn sign(&self, transmission_id: &str, time: &str, body: &str) -> String {
        let mut h = Sha256::new();
        for part in [
            self.signing_key.as_str(),
            transmission_id,
            time,
            WEBHOOK_ID,
            body,
        ] {
            h.update(part.as_bytes());
            h.update(b"|");
        }
        STANDARD.encode(h.finalize())
    }

    /// `POST /v1/notifications/verify-webhook-signature`
    /// (https://developer.paypal.com/api/rest/webhooks/rest/, Webhooks API
    /// `verify-webhook-signature`): the five transmission headers, the
    /// webhook id and the event; answers `{"verification_status":
    /// "SUCCESS"|"FAILURE"}`. SUCCESS only for an event this fake sent,
    /// unchanged, with its signature, for its webhook id.
    pub fn verify(&self, body: &[u8]) -> Reply {
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return invalid_request(
                "MALFORMED_REQUEST_JSON",
                "The request JSON is not well formed.",
            );
        };
        for f in [
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
        ] {
            if !req[f].is_string() {
                return invalid_request("MISSING_REQUIRED_PARAMETER", f);
            }
        }
        if !req["webhook_event"].is_object() {
            return invalid_request("MISSING_REQUIRED_PARAMETER", "webhook_event");
        }
        let ok = req["webhook_id"] == WEBHOOK_ID
            && req["transmission_id"]
                .as_str()
                .and_then(|t| self.signed.get(t))
                .is_some_and(|(sig, event)| {
                    req["transmission_sig"] == sig.as_str() && req["webhook_event"] == *event
                });
        Reply::json(
            200,
            json!({"verification_status": if ok { "SUCCESS" } else { "FAILURE" }}),
        )
    }
}

fn sep(url: &str) -> &'static str {
    if url.contains('?') { "&" } else { "?" }
}
