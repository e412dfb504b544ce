//! The fake over HTTP, as a PayPal client sees it.

use std::time::Duration;

use khamsa_paypal_fake::{
    CLIENT_ID, CLIENT_SECRET, CaptureOutcome, DelayedOp, FakePayPal, PayoutOutcome, WEBHOOK_ID,
    spawn,
};
use serde_json::{Value, json};

struct T {
    fake: FakePayPal,
    http: reqwest::Client,
    token: String,
}

async fn setup() -> T {
    let fake = spawn(0).await.expect("spawn");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = http
        .post(format!("{}/v1/oauth2/token", fake.base_url()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].as_u64().is_some());
    let token = v["access_token"].as_str().expect("token").to_owned();
    T { fake, http, token }
}

impl T {
    fn url(&self, p: &str) -> String {
        format!("{}{p}", self.fake.base_url())
    }
    async fn post(&self, p: &str, request_id: Option<&str>, body: Value) -> (u16, Value) {
        let mut r = self
            .http
            .post(self.url(p))
            .bearer_auth(&self.token)
            .json(&body);
        if let Some(id) = request_id {
            r = r.header("PayPal-Request-Id", id);
        }
        let r = r.send().await.expect("send");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn get(&self, p: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(p))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("send");
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn create(&self, request_id: &str, value: &str) -> Value {
        let (s, v) = self
            .post(
                "/v2/checkout/orders",
                Some(request_id),
                json!({
                    "intent": "CAPTURE",
                    "purchase_units": [{"amount": {"currency_code": "USD", "value": value}, "custom_id": request_id, "invoice_id": request_id}],
                    "payment_source": {"paypal": {"experience_context": {"return_url": "http://shop.test/back", "cancel_url": "http://shop.test/cancel"}}}
                }),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }
    async fn capture(&self, id: &str, request_id: Option<&str>) -> (u16, Value) {
        self.post(
            &format!("/v2/checkout/orders/{id}/capture"),
            request_id,
            json!({}),
        )
        .await
    }
    async fn payout(&self, batch: &str) -> (u16, Value) {
        self.post(
            "/v1/payments/payouts",
            None,
            json!({
                "sender_batch_header": {"sender_batch_id": batch, "recipient_type": "EMAIL"},
                "items": [{"recipient_type": "EMAIL", "amount": {"value": "25.00", "currency": "USD"}, "receiver": "seller@example.com", "sender_item_id": batch}]
            }),
        )
        .await
    }
    async fn verify(&self, headers: &[(String, String)], event: Value) -> String {
        self.verify_for(WEBHOOK_ID, headers, event).await
    }
    /// What verify-webhook-signature says of `event`, sent with `headers`,
    /// for the webhook `webhook_id`.
    async fn verify_for(
        &self,
        webhook_id: &str,
        headers: &[(String, String)],
        event: Value,
    ) -> String {
        let h = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let (s, v) = self
            .post(
                "/v1/notifications/verify-webhook-signature",
                None,
                json!({
                    "auth_algo": h("paypal-auth-algo"),
                    "cert_url": h("paypal-cert-url"),
                    "transmission_id": h("paypal-transmission-id"),
                    "transmission_sig": h("paypal-transmission-sig"),
                    "transmission_time": h("paypal-transmission-time"),
                    "webhook_id": webhook_id,
                    "webhook_event": event,
                }),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["verification_status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn capture_of(order: &Value) -> &Value {
    &order["purchase_units"][0]["payments"]["captures"][0]
}

fn approve_link(order: &Value) -> String {
    order["links"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["rel"] == "approve"))
        .and_then(|l| l["href"].as_str())
        .expect("approve link")
        .to_owned()
}

#[tokio::test]
async fn bad_secret_is_401_invalid_client_and_bearer_is_required() {
    let t = setup().await;
    let r = t
        .http
        .post(t.url("/v1/oauth2/token"))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"], "invalid_client");

    let r = t
        .http
        .get(t.url("/v2/checkout/orders/X"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    t.fake.expire_tokens();
    assert_eq!(t.get("/v2/checkout/orders/X").await.0, 401);
}

#[tokio::test]
async fn create_is_idempotent_by_request_id_and_validates() {
    let t = setup().await;
    let a = t.create("topup-1", "10.00").await;
    let b = t.create("topup-1", "10.00").await;
    let c = t.create("topup-2", "10.00").await;
    assert_eq!(a["id"], b["id"]);
    assert_ne!(a["id"], c["id"]);
    assert_eq!(a["status"], "CREATED");
    assert!(approve_link(&a).contains("/checkoutnow?token="));

    let (s, v) = t
        .post(
            "/v2/checkout/orders",
            Some("bad"),
            json!({"intent": "CAPTURE", "purchase_units": [{"amount": {"currency_code": "USD", "value": "1.001"}}]}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(v["name"], "INVALID_REQUEST");
}

#[tokio::test]
async fn approval_page_capture_and_get() {
    let t = setup().await;
    let order = t.create("topup-3", "10.00").await;
    let id = order["id"].as_str().expect("id");
    // Not approved yet.
    let (s, v) = t.capture(id, Some("topup-3:capture")).await;
    assert_eq!(
        (s, v["details"][0]["issue"].as_str()),
        (422, Some("ORDER_NOT_APPROVED"))
    );

    let page = t.http.get(approve_link(&order)).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("Approve"));
    let r = t
        .http
        .post(t.url("/checkoutnow"))
        .form(&[("token", id), ("action", "approve")])
        .send()
        .await
        .expect("approve");
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().expect("loc").to_owned();
    assert!(loc.starts_with("http://shop.test/back?token="), "{loc}");
    assert_eq!(
        t.get(&format!("/v2/checkout/orders/{id}")).await.1["status"],
        "APPROVED"
    );

    let (s, v) = t.capture(id, Some("topup-3:capture")).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "COMPLETED");
    let cap = capture_of(&v);
    assert_eq!(cap["status"], "COMPLETED");
    assert_eq!(cap["custom_id"], "topup-3");
    assert_eq!(
        cap["seller_receivable_breakdown"]["gross_amount"]["value"],
        "10.00"
    );
    assert_eq!(
        cap["seller_receivable_breakdown"]["paypal_fee"]["value"],
        "0.84"
    );
    assert_eq!(
        cap["seller_receivable_breakdown"]["net_amount"]["value"],
        "9.16"
    );

    // Same request id: the same answer, no second capture.
    let (s2, v2) = t.capture(id, Some("topup-3:capture")).await;
    assert_eq!((s2, &v2), (201, &v));
    // No request id: PayPal's 422.
    let (s3, v3) = t.capture(id, None).await;
    assert_eq!(
        (s3, v3["details"][0]["issue"].as_str()),
        (422, Some("ORDER_ALREADY_CAPTURED"))
    );
    assert_eq!(t.fake.capture_count(id), 1);

    let (s, got) = t.get(&format!("/v2/checkout/orders/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(capture_of(&got)["id"], cap["id"]);
    assert_eq!(t.get("/v2/checkout/orders/NOPE").await.0, 404);
    let types: Vec<String> = t.fake.events().into_iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"]
    );
}

#[tokio::test]
async fn cancel_then_capture_is_refused() {
    let t = setup().await;
    let order = t.create("topup-4", "5.00").await;
    let id = order["id"].as_str().expect("id");
    let r = t
        .http
        .post(t.url("/checkoutnow"))
        .form(&[("token", id), ("action", "cancel")])
        .send()
        .await
        .expect("cancel");
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .expect("loc")
            .starts_with("http://shop.test/cancel")
    );
    assert!(!t.fake.approve(id));
    assert_eq!(t.capture(id, Some("k")).await.0, 422);
}

#[tokio::test]
async fn scripted_pending_then_completed_and_declined() {
    let t = setup().await;
    let o = t.create("p", "20.00").await;
    let id = o["id"].as_str().expect("id");
    t.fake.approve(id);
    t.fake.script_next_capture(CaptureOutcome::Pending);
    let (_, v) = t.capture(id, Some("p:capture")).await;
    let cap = capture_of(&v);
    assert_eq!(cap["status"], "PENDING");
    assert!(cap["seller_receivable_breakdown"].is_null());
    assert!(t.fake.complete_capture(cap["id"].as_str().expect("id")));
    let (_, got) = t.get(&format!("/v2/checkout/orders/{id}")).await;
    assert_eq!(capture_of(&got)["status"], "COMPLETED");
    let last = t.fake.events().pop().expect("event");
    assert_eq!(last.event_type, "PAYMENT.CAPTURE.COMPLETED");

    let o = t.create("d", "20.00").await;
    let id = o["id"].as_str().expect("id");
    t.fake.approve(id);
    t.fake.script_next_capture(CaptureOutcome::Declined);
    let (s, v) = t.capture(id, Some("d:capture")).await;
    assert_eq!(
        (s, capture_of(&v)["status"].as_str()),
        (201, Some("DECLINED"))
    );
    assert_eq!(
        t.fake.events().pop().expect("event").event_type,
        "PAYMENT.CAPTURE.DENIED"
    );
}

#[tokio::test]
async fn capture_timeout_once_then_retry_gives_one_capture() {
    let t = setup().await;
    let o = t.create("slow", "10.00").await;
    let id = o["id"].as_str().expect("id");
    t.fake.approve(id);
    t.fake
        .delay_next(DelayedOp::Capture, Duration::from_millis(800));
    let r = t
        .http
        .post(t.url(&format!("/v2/checkout/orders/{id}/capture")))
        .bearer_auth(&t.token)
        .header("PayPal-Request-Id", "slow:capture")
        .json(&json!({}))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    let (s, v) = t.capture(id, Some("slow:capture")).await;
    assert_eq!(
        (s, capture_of(&v)["status"].as_str()),
        (201, Some("COMPLETED"))
    );
    assert_eq!(t.fake.capture_count(id), 1);

    let o = t.create("err", "10.00").await;
    let id = o["id"].as_str().expect("id");
    t.fake.approve(id);
    t.fake.fail_next(DelayedOp::Capture);
    assert_eq!(t.capture(id, Some("err:capture")).await.0, 500);
    assert_eq!(t.capture(id, Some("err:capture")).await.0, 201);
}

#[tokio::test]
async fn payouts_refuse_a_reused_sender_batch_id_and_items_are_readable() {
    let t = setup().await;
    let (s, v) = t.payout("wd-1").await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["batch_header"]["batch_status"], "PENDING");
    let batch_id = v["batch_header"]["payout_batch_id"]
        .as_str()
        .expect("batch")
        .to_owned();

    let (s, dup) = t.payout("wd-1").await;
    assert_eq!(s, 400, "{dup}");
    assert_eq!(dup["name"], "USER_BUSINESS_ERROR");
    assert_eq!(dup["details"][0]["field"], "SENDER_BATCH_ID");
    assert!(
        dup["links"][0]["href"]
            .as_str()
            .expect("href")
            .ends_with(&batch_id)
    );
    assert_eq!(t.fake.payout_count(), 1);

    let (s, batch) = t.get(&format!("/v1/payments/payouts/{batch_id}")).await;
    assert_eq!(s, 200);
    let item_id = batch["items"][0]["payout_item_id"]
        .as_str()
        .expect("item")
        .to_owned();
    let (s, item) = t.get(&format!("/v1/payments/payouts-item/{item_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(item["transaction_status"], "SUCCESS");
    assert_eq!(item["sender_batch_id"], "wd-1");
    assert_eq!(item["payout_item"]["amount"]["value"], "25.00");
    assert_eq!(
        t.fake.events().pop().expect("ev").event_type,
        "PAYMENT.PAYOUTS-ITEM.SUCCEEDED"
    );

    t.fake.script_next_payout(PayoutOutcome::Unclaimed);
    let (_, v) = t.payout("wd-2").await;
    let b = v["batch_header"]["payout_batch_id"]
        .as_str()
        .expect("b")
        .to_owned();
    let (_, batch) = t.get(&format!("/v1/payments/payouts/{b}")).await;
    let item_id = batch["items"][0]["payout_item_id"]
        .as_str()
        .expect("item")
        .to_owned();
    assert_eq!(batch["items"][0]["transaction_status"], "UNCLAIMED");
    assert!(t.fake.set_payout_item(&item_id, PayoutOutcome::Returned));
    assert_eq!(
        t.get(&format!("/v1/payments/payouts-item/{item_id}"))
            .await
            .1["transaction_status"],
        "RETURNED"
    );
    assert_eq!(
        t.fake.events().pop().expect("ev").event_type,
        "PAYMENT.PAYOUTS-ITEM.RETURNED"
    );
    assert_eq!(t.get("/v1/payments/payouts-item/NOPE").await.0, 404);
}

#[tokio::test]
async fn verify_success_only_for_the_fakes_own_events() {
    let t = setup().await;
    let o = t.create("v", "10.00").await;
    t.fake.approve(o["id"].as_str().expect("id"));
    let ev = t.fake.events().pop().expect("event");
    let event: Value = serde_json::from_str(&ev.body).expect("json");
    assert_eq!(event["event_type"], "CHECKOUT.ORDER.APPROVED");
    assert_eq!(event["resource"]["status"], "APPROVED");
    assert_eq!(t.verify(&ev.headers, event.clone()).await, "SUCCESS");

    // Same headers, edited body.
    let mut forged = event.clone();
    forged["resource"]["purchase_units"][0]["amount"]["value"] = json!("1000.00");
    assert_eq!(t.verify(&ev.headers, forged).await, "FAILURE");
    // Made-up headers.
    let fake_headers = vec![
        ("paypal-transmission-id".to_owned(), "made-up".to_owned()),
        ("paypal-transmission-sig".to_owned(), "AAAA".to_owned()),
    ];
    assert_eq!(t.verify(&fake_headers, event).await, "FAILURE");
}

#[tokio::test]
async fn events_are_posted_to_the_configured_listener() {
    let t = setup().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    t.fake
        .set_webhook_url(format!("http://{addr}/webhooks/paypal"));
    let o = t.create("w", "10.00").await;
    t.fake.approve(o["id"].as_str().expect("id"));
    let (mut sock, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("delivered")
        .expect("accept");
    let mut buf = vec![0u8; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::AsyncReadExt;
        sock.read(&mut buf).await
    })
    .await
    .expect("read")
    .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    assert!(text.starts_with("post /webhooks/paypal"), "{text}");
    assert!(text.contains("paypal-transmission-sig:"));
    drop(sock);

    // PayPal redelivers an event it got no 2xx for: the same transmission.
    assert!(t.fake.redeliver(0));
    let (mut sock, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("redelivered")
        .expect("accept");
    let n = tokio::time::timeout(Duration::from_secs(5), async {
        use tokio::io::AsyncReadExt;
        sock.read(&mut buf).await
    })
    .await
    .expect("read")
    .expect("read");
    let again = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
    let id = &t.fake.events()[0].headers[0].1.to_ascii_lowercase();
    assert!(again.contains(id.as_str()), "{again}");
}

#[tokio::test]
async fn verify_fails_for_another_webhook_id() {
    let t = setup().await;
    let o = t.create("x", "3.00").await;
    t.fake.approve(o["id"].as_str().expect("id"));
    let ev = t.fake.events().pop().expect("event");
    let event = serde_json::from_str::<Value>(&ev.body).expect("json");
    assert_eq!(
        t.verify_for("WH-SOMEONE-ELSE", &ev.headers, event).await,
        "FAILURE"
    );
    // A missing field is PayPal's 400, not a verdict.
    let (s, _) = t
        .post(
            "/v1/notifications/verify-webhook-signature",
            None,
            json!({"webhook_id": WEBHOOK_ID}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        t.http
            .get(t.url("/checkoutnow?token=NOPE"))
            .send()
            .await
            .expect("page")
            .status(),
        404
    );
}
