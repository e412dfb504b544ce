//! Spawns the local server on a free port (zero2prod's `spawn_app`) and
//! wraps the HTTP calls the tests make, so each test shows only what it
//! checks. Every call checks the content type: `application/json` on
//! success, `application/problem+json` (with a matching `status` and a
//! `code`) on errors.

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// An HTTP answer: status and parsed JSON body.
pub type Resp = (u16, Value);

pub const DAY: i64 = 86_400;
pub const HOUR: i64 = 3_600;
pub const DAY_MS: i64 = DAY * 1000;

/// A signed-in user. Development tokens live in wall-clock time, so moving
/// the server's clock with `/dev/clock` never expires them.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub operator: bool,
    token: String,
}

impl User {
    pub fn token(&self) -> String {
        self.token.clone()
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The server itself: its mailer and clock, for what HTTP cannot reach.
    pub local: Arc<khamsa_local::Local>,
    users: Mutex<Vec<User>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(khamsa_domain::Config::default()).await
}

/// `spawn_app` under another configuration.
pub async fn spawn_app_with(cfg: khamsa_domain::Config) -> TestApp {
    // The same suite runs on the in-memory default and, with
    // KHAMSA_BACKEND=aws, on DynamoDB Local + moto (infra/test.sh does both),
    // each test on its own table and queues.
    let backend = match std::env::var("KHAMSA_BACKEND").as_deref() {
        Ok("aws") => khamsa_local::Backend::Aws(khamsa_local::aws::AwsSettings::unique("e2e")),
        _ => khamsa_local::Backend::Memory,
    };
    spawn_app_on(backend, cfg).await
}

/// `spawn_app_with` on a given backend: for a test that reads its own
/// table afterwards.
pub async fn spawn_app_on(backend: khamsa_local::Backend, cfg: khamsa_domain::Config) -> TestApp {
    let running = khamsa_local::spawn_configured(0, backend, cfg)
        .await
        .expect("the local server starts on a free port");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a reqwest client");
    TestApp {
        base: format!("http://{}", running.addr),
        client,
        local: running.local,
        users: Mutex::new(vec![]),
    }
}

/// Asserts the status and returns the body, printing it on failure.
#[track_caller]
pub fn expect_status(r: &Resp, status: u16) -> Value {
    assert_eq!(r.0, status, "expected HTTP {status}, got {}: {}", r.0, r.1);
    r.1.clone()
}

/// Asserts a problem+json answer with this status and `code`.
#[track_caller]
pub fn expect_problem(r: &Resp, status: u16, code: &str) {
    assert_eq!(
        (r.0, r.1["code"].as_str().unwrap_or("<no code>")),
        (status, code),
        "expected {status} {code}, got: {}",
        r.1
    );
}

/// Milliseconds since the epoch of a timestamp the API answered.
#[track_caller]
pub fn ms(v: &Value) -> i64 {
    khamsa_testkit::rfc3339_ms(v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}")))
}

/// `base` with the keys of `overrides` replaced (both JSON objects).
pub fn merged(mut base: Value, overrides: Value) -> Value {
    if let (Some(b), Value::Object(o)) = (base.as_object_mut(), overrides) {
        for (k, v) in o {
            b.insert(k, v);
        }
    }
    base
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// PUTs `bytes` to an upload answer's `upload_url` with exactly its
    /// `upload_headers` (they are signed into the URL), as a client must.
    pub async fn put_upload(&self, f: &Value, bytes: &[u8]) -> reqwest::Response {
        let mut put = self
            .client
            .put(f["upload_url"].as_str().expect("upload_url"));
        for (k, v) in f["upload_headers"].as_object().expect("upload_headers") {
            put = put.header(k, v.as_str().expect("a header value"));
        }
        put.body(bytes.to_vec())
            .send()
            .await
            .expect("the upload PUT")
    }

    /// What a mail provider does with an email's `List-Unsubscribe`
    /// header (`<url>`) when the user clicks unsubscribe (RFC 8058): a form
    /// POST of `List-Unsubscribe=One-Click` to the URL, with no sign-in.
    /// The URL's path and query are sent to this server.
    pub async fn one_click(&self, list_unsubscribe: &str) -> Resp {
        let url = list_unsubscribe
            .strip_prefix('<')
            .and_then(|u| u.strip_suffix('>'))
            .unwrap_or_else(|| panic!("not <url>: {list_unsubscribe}"));
        let at = url.find("/unsubscribe").expect("the unsubscribe route");
        let res = self
            .client
            .post(self.url(&url[at..]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("the one-click POST");
        let status = res.status().as_u16();
        let json: Value = res.json().await.expect("a JSON answer");
        (status, json)
    }

    /// One request. `auth` is the whole Authorization header value.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Resp {
        let body = body.map(Value::to_string);
        self.send_raw(method, path, auth, body, idempotency_key.map(str::as_bytes))
            .await
    }

    /// One request whose `Idempotency-Key` is sent as these raw bytes.
    pub async fn send_with_key_bytes(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&Value>,
        key: &[u8],
    ) -> Resp {
        let body = body.map(Value::to_string);
        self.send_raw(method, path, auth, body, Some(key)).await
    }

    /// A request whose body is sent as given (for malformed JSON).
    pub async fn send_text(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: &str,
    ) -> Resp {
        self.send_raw(method, path, auth, Some(body.to_owned()), None)
            .await
    }

    async fn send_raw(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<String>,
        idempotency_key: Option<&[u8]>,
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method.clone(), self.url(path));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        if let Some(k) = idempotency_key {
            let k = reqwest::header::HeaderValue::from_bytes(k).expect("header bytes");
            req = req.header("idempotency-key", k);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = res.text().await.unwrap();
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path} -> {status}: not JSON ({e}): {text}"));
        if status < 400 {
            assert_eq!(
                content_type, "application/json",
                "{method} {path} -> {status}: content type"
            );
        } else {
            assert_eq!(
                content_type, "application/problem+json",
                "{method} {path} -> {status}: content type of an error"
            );
            assert_eq!(
                json["status"], status,
                "{method} {path}: problem status field: {json}"
            );
            assert!(
                json["code"].is_string(),
                "{method} {path}: problem without a code: {json}"
            );
        }
        (status, json)
    }

    fn bearer(u: &User) -> String {
        format!("Bearer {}", u.token())
    }

    pub async fn get(&self, u: &User, path: &str) -> Resp {
        self.send("GET", path, Some(&Self::bearer(u)), None, None)
            .await
    }

    pub async fn get_anon(&self, path: &str) -> Resp {
        self.send("GET", path, None, None, None).await
    }

    pub async fn post(&self, u: &User, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(&Self::bearer(u)), Some(&body), None)
            .await
    }

    pub async fn post_keyed(&self, u: &User, path: &str, body: Value, key: &str) -> Resp {
        self.send("POST", path, Some(&Self::bearer(u)), Some(&body), Some(key))
            .await
    }

    /// A POST with no body at all (routes whose fields are all optional).
    pub async fn post_empty(&self, u: &User, path: &str) -> Resp {
        self.send("POST", path, Some(&Self::bearer(u)), None, None)
            .await
    }

    pub async fn patch(&self, u: &User, path: &str, body: Value) -> Resp {
        self.send("PATCH", path, Some(&Self::bearer(u)), Some(&body), None)
            .await
    }

    // ---- users -------------------------------------------------------

    async fn mint(&self, id: &str, email: &str, operator: bool) -> String {
        let r = self
            .send(
                "POST",
                "/dev/token",
                None,
                Some(&json!({ "user": id, "email": email, "operator": operator })),
                None,
            )
            .await;
        expect_status(&r, 200)["token"]
            .as_str()
            .expect("a token")
            .to_owned()
    }

    async fn register(&self, id: &str, email: &str, operator: bool) -> User {
        let token = self.mint(id, email, operator).await;
        let u = User {
            id: id.to_owned(),
            email: email.to_owned(),
            operator,
            token,
        };
        // The profile is created on the first authenticated call.
        let me = expect_status(&self.get(&u, "/me").await, 200);
        assert_eq!(me["id"], id);
        self.users.lock().unwrap().push(u.clone());
        u
    }

    /// A new user `name` with the address `name@example.com`.
    pub async fn user(&self, name: &str) -> User {
        self.register(name, &format!("{name}@example.com"), false)
            .await
    }

    /// A new user whose id (the token's `sub`) and address differ, as
    /// Cognito's opaque ids and real addresses do.
    pub async fn user_with_email(&self, id: &str, email: &str) -> User {
        self.register(id, email, false).await
    }

    /// A user whose emails come in English.
    pub async fn user_en(&self, name: &str) -> User {
        let u = self.user(name).await;
        let r = self.patch(&u, "/me", json!({ "locale": "en" })).await;
        assert_eq!(expect_status(&r, 200)["locale"], "en");
        u
    }

    /// Another operator, who may also sell and buy.
    pub async fn operator_named(&self, name: &str) -> User {
        self.register(name, &format!("{name}@example.com"), true)
            .await
    }

    pub async fn operator(&self) -> User {
        if let Some(op) = self.users.lock().unwrap().iter().find(|u| u.operator) {
            return op.clone();
        }
        self.register("operator", "operator@example.com", true)
            .await
    }

    // ---- clock, mail -------------------------------------------------

    /// An email to `to` that failed for good with `reason`, written
    /// straight to the store (as if SES had refused it): its id.
    pub async fn failed_email(&self, to: &User, reason: &str) -> String {
        use khamsa_domain::ids::{OrderId, UserId};
        use khamsa_domain::money::Money;
        use khamsa_domain::notice::{Notice, NoticeKind};
        use khamsa_domain::order::Actor;
        let (store, now) = (&self.local.app.store, self.local.app.clock.now());
        let notice = Notice {
            to: UserId::new(to.id.clone()),
            order_id: Some(OrderId::new(format!("ord_{}", to.id.replace('-', "")))),
            withdrawal_id: None,
            service_title: Some("A logo".into()),
            kind: NoticeKind::OrderCompleted {
                amount: Money::dollars(4),
                by: Actor::System,
            },
        };
        let rows = khamsa_app::usecases::outbox_rows(vec![notice], now);
        let id = rows[0].id.clone();
        store
            .commit(khamsa_app::ports::UnitOfWork {
                outbox: rows,
                ..Default::default()
            })
            .await
            .expect("the row is written");
        store
            .outbox_attempt(&id, 1, Some(reason.to_owned()))
            .await
            .expect("the row is failed");
        id.to_string()
    }

    /// Moves the server clock; every timer due by then fires before this
    /// returns.
    pub async fn advance_seconds(&self, seconds: i64) -> i64 {
        let r = self
            .send(
                "POST",
                "/dev/clock",
                None,
                Some(&json!({ "advance_seconds": seconds })),
                None,
            )
            .await;
        ms(&expect_status(&r, 200)["now"])
    }

    pub async fn advance_days(&self, days: i64) -> i64 {
        self.advance_seconds(days * DAY).await
    }

    /// The server's clock now (milliseconds).
    pub async fn now(&self) -> i64 {
        self.advance_seconds(0).await
    }

    pub async fn emails_to(&self, addr: &str) -> Vec<Value> {
        let r = self
            .send("GET", &format!("/dev/emails?to={addr}"), None, None, None)
            .await;
        expect_status(&r, 200)["items"]
            .as_array()
            .expect("items")
            .clone()
    }

    /// The first email to `addr` whose subject starts with `subject`.
    /// The emails to `addr` about orders (those linking to one): what a
    /// check that "nobody was told of an order" reads, since sellers also
    /// hear of moderation.
    pub async fn order_emails_to(&self, addr: &str) -> Vec<Value> {
        self.emails_to(addr)
            .await
            .into_iter()
            .filter(|m| m["text"].as_str().unwrap_or_default().contains("/orders/"))
            .collect()
    }

    pub async fn email(&self, addr: &str, subject: &str) -> Value {
        let mails = self.emails_to(addr).await;
        mails
            .iter()
            .find(|m| {
                m["subject"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(subject))
            })
            .unwrap_or_else(|| panic!("no email to {addr} about {subject:?}: {mails:?}"))
            .clone()
    }

    // ---- money ---------------------------------------------------------

    pub async fn me(&self, u: &User) -> Value {
        expect_status(&self.get(u, "/me").await, 200)
    }

    pub async fn topup(&self, u: &User, amount: &str) -> Value {
        let r = self
            .post(
                u,
                "/me/topups",
                json!({ "amount": amount, "method": "sandbox" }),
            )
            .await;
        let t = expect_status(&r, 201);
        assert_eq!(t["status"], "settled");
        t
    }

    /// The caller's withdrawal `id` once its status is `status`: payouts
    /// are sent by a worker, so the answer to an approval may precede them.
    /// Each try runs the local workers (`/dev/clock` by 0 s).
    pub async fn withdrawal_reaching(&self, u: &User, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        for _ in 0..100 {
            self.advance_seconds(0).await;
            if let Some(w) = self
                .items(u, "/me/withdrawals")
                .await
                .into_iter()
                .find(|w| w["id"] == id)
            {
                if w["status"] == status {
                    return w;
                }
                last = w;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("withdrawal {id} never reached {status}: {last}");
    }

    pub async fn ledger_check(&self) -> Value {
        let op = self.operator().await;
        expect_status(&self.get(&op, "/admin/ledger/check").await, 200)
    }

    // ---- services ------------------------------------------------------

    pub fn service_body(overrides: Value) -> Value {
        merged(
            json!({
                "title": "I will design a modern logo for your brand",
                "description": "Three concepts, two revisions, vector files.",
                "category": "design",
                "price": "5.00",
                "delivery_days": 2,
            }),
            overrides,
        )
    }

    /// Creates a service (status `pending_review`).
    pub async fn create_service(&self, seller: &User, overrides: Value) -> Value {
        let r = self
            .post(seller, "/services", Self::service_body(overrides))
            .await;
        let s = expect_status(&r, 201);
        assert_eq!(s["status"], "pending_review");
        s
    }

    pub async fn approve(&self, service_id: &str) -> Value {
        let op = self.operator().await;
        let r = self
            .post_empty(&op, &format!("/admin/services/{service_id}/approve"))
            .await;
        let s = expect_status(&r, 200);
        assert_eq!(s["status"], "active");
        s
    }

    /// Has an operator reject at `path` (an `/admin/.../reject` route):
    /// refused without a reason (422), then done with `reason`.
    pub async fn reject(&self, path: &str, reason: &str) -> Value {
        let op = self.operator().await;
        let r = self.post(&op, path, json!({})).await;
        expect_problem(&r, 422, "validation_failed");
        let r = self.post(&op, path, json!({ "reason": reason })).await;
        let v = expect_status(&r, 200);
        assert_eq!(v["status"], "rejected");
        v
    }

    /// Creates a service and has an operator approve it.
    pub async fn active_service(&self, seller: &User, overrides: Value) -> Value {
        let s = self.create_service(seller, overrides).await;
        self.approve(s["id"].as_str().unwrap()).await
    }

    /// "seller" with an active service (`overrides` on the default one) and
    /// "buyer" with `balance` topped up: (seller, buyer, service id).
    pub async fn market(&self, overrides: Value, balance: &str) -> (User, User, String) {
        let seller = self.user("seller").await;
        let buyer = self.user("buyer").await;
        let svc = self.active_service(&seller, overrides).await;
        self.topup(&buyer, balance).await;
        (seller, buyer, id(&svc))
    }

    // ---- orders --------------------------------------------------------

    /// Places an order (201) and returns it.
    pub async fn order(&self, buyer: &User, service_id: &str, body: Value) -> Value {
        let body = merged(json!({ "service_id": service_id }), body);
        let r = self.post(buyer, "/orders", body).await;
        expect_status(&r, 201)
    }

    pub async fn get_order(&self, u: &User, order_id: &str) -> Value {
        expect_status(&self.get(u, &format!("/orders/{order_id}")).await, 200)
    }

    /// Runs an order transition that must succeed; returns the order.
    pub async fn act(&self, u: &User, order_id: &str, action: &str, body: Value) -> Value {
        let r = self
            .post(u, &format!("/orders/{order_id}/{action}"), body)
            .await;
        expect_status(&r, 200)
    }

    /// Runs `action` with `text` on an order that must then be in progress,
    /// due `days` after the call; returns the order.
    pub async fn act_due_in(
        &self,
        u: &User,
        order_id: &str,
        action: &str,
        text: &str,
        days: i64,
    ) -> Value {
        let before = self.now().await;
        let o = self.act(u, order_id, action, json!({ "text": text })).await;
        let after = self.now().await;
        assert_eq!(o["status"], "in_progress");
        let due = ms(&o["due_at"]);
        assert!(
            due >= before + days * DAY_MS && due <= after + days * DAY_MS,
            "due_at is now + {days} days"
        );
        o
    }

    pub async fn deliver(&self, seller: &User, order_id: &str) -> Value {
        let o = self
            .act(
                seller,
                order_id,
                "deliver",
                json!({ "text": "Here is the work." }),
            )
            .await;
        assert_eq!(o["status"], "delivered");
        o
    }

    pub async fn receive(&self, buyer: &User, order_id: &str) -> Value {
        let o = self.act(buyer, order_id, "receive", json!({})).await;
        assert_eq!(o["status"], "completed");
        o
    }

    /// Orders `service_id` (one that asks for no instructions), has the
    /// seller deliver and the buyer receive it.
    pub async fn completed_order(&self, buyer: &User, seller: &User, service_id: &str) -> Value {
        let o = self.order(buyer, service_id, json!({})).await;
        let id = o["id"].as_str().unwrap();
        self.deliver(seller, id).await;
        self.receive(buyer, id).await
    }

    /// The `items` of a page.
    pub async fn items(&self, u: &User, path: &str) -> Vec<Value> {
        expect_status(&self.get(u, path).await, 200)["items"]
            .as_array()
            .expect("a page has items")
            .clone()
    }

    /// One of the caller's own services, in whatever status, as
    /// `GET /me/services` shows it (the public routes show active ones only).
    pub async fn my_service(&self, u: &User, service_id: &str) -> Value {
        self.items(u, "/me/services?limit=100")
            .await
            .into_iter()
            .find(|s| s["id"] == service_id)
            .unwrap_or_else(|| panic!("{service_id} is not in {}'s /me/services", u.id))
    }

    pub async fn items_anon(&self, path: &str) -> Vec<Value> {
        expect_status(&self.get_anon(path).await, 200)["items"]
            .as_array()
            .expect("a page has items")
            .clone()
    }
}

/// The ids of a list of JSON objects.
pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The `id` field of an object as an owned string.
pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The fake PayPal the local server runs (`khamsa_local::paypal`).
pub fn fake(app: &TestApp) -> Arc<khamsa_paypal_fake::FakePayPal> {
    app.local
        .paypal
        .clone()
        .expect("the local server runs the built-in fake PayPal")
}

/// A seller with `20.00` of available earnings (one $25 order, cleared).
pub async fn seller_with_earnings(app: &TestApp, name: &str) -> User {
    let seller = app.user_en(name).await;
    let buyer = app.user(&format!("{name}-client")).await;
    let svc = app
        .active_service(&seller, json!({ "price": "25.00" }))
        .await;
    app.topup(&buyer, "25.00").await;
    app.completed_order(&buyer, &seller, &id(&svc)).await;
    app.advance_days(14).await;
    assert_eq!(app.me(&seller).await["earnings_available"], "20.00");
    seller
}
