//! The PayPal adapter of `PaymentProvider` (payments.md), over PayPal's
//! REST API: OAuth client credentials, Orders v2, Payouts v1 and
//! verify-webhook-signature.
//!
//! HTTP: the AWS SDK's own connector (`aws-smithy-http-client`, rustls on
//! ring, as `khamsa_aws::https` builds it), so the Lambda zips carry one
//! HTTPS client, not a second copy of hyper's for this adapter's body type
//! (issue 11's 3 MB budget). Amounts are PayPal's decimal strings parsed
//! into `Money`, never floats.

mod parse;
mod roots;

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_http_client::{Connector, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_types::body::SdkBody;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use hyper::body::Bytes;
use hyper::{Method, Request};
use khamsa_app::ports::payments::{
    Capture, Checkout, CheckoutRequest, CheckoutState, IdempotencyKey, PaymentError, PaymentMethod,
    PaymentProvider, PaymentResult, Payout, PayoutItem, PayoutItemId, PayoutRequest,
    ProviderOrderId, WebhookDelivery, WebhookEvent,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

/// The API credentials, handed in as a value (loading them from Secrets
/// Manager is the caller's job). The secret never prints.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `https://api-m.sandbox.paypal.com` or `https://api-m.paypal.com`.
    pub api_base: String,
    /// The id PayPal gave the subscribed webhook listener.
    pub webhook_id: String,
    /// Per call, connection included.
    pub timeout: Duration,
}

/// A token is refreshed this long before PayPal says it expires, so a call
/// never starts with one about to lapse.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
const MAX_RESPONSE: usize = 1024 * 1024;

struct Token {
    value: String,
    fresh_until: Instant,
}

pub struct PayPal {
    http: Connector,
    config: Config,
    basic: String,
    token: Mutex<Option<Token>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("TLS setup: {0}")]
    Tls(String),
}

struct Answer {
    status: u16,
    body: Value,
}

impl PayPal {
    pub fn new(config: Config, credentials: &Credentials) -> Result<PayPal, BuildError> {
        let trust = match roots::bundle() {
            Some(pem) => TrustStore::empty().with_pem_certificate(pem),
            None => TrustStore::default(),
        };
        let tls = TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .map_err(|e| BuildError::Tls(e.to_string()))?;
        // Plain http only ever reaches the local fake; PayPal's bases
        // are https.
        let http = ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .tls_context(tls)
            .build();
        let basic = STANDARD.encode(format!(
            "{}:{}",
            credentials.client_id, credentials.client_secret
        ));
        Ok(PayPal {
            http,
            config,
            basic,
            token: Mutex::new(None),
        })
    }

    async fn send(&self, req: Request<SdkBody>) -> PaymentResult<(u16, Bytes)> {
        let call = async {
            let req = req
                .try_into()
                .map_err(|e| PaymentError::Permanent(format!("paypal request: {e}")))?;
            let resp = self
                .http
                .call(req)
                .await
                .map_err(|e| PaymentError::Transient(format!("paypal: {e}")))?;
            let status = resp.status().as_u16();
            let body = http_body_util::Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| PaymentError::Transient(format!("paypal body: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.config.timeout, call)
            .await
            .map_err(|_| PaymentError::Transient("paypal: timed out".into()))?
    }

    /// A cached token, or a new one from `POST /v1/oauth2/token`
    /// (https://developer.paypal.com/api/rest/authentication/).
    async fn token(&self) -> PaymentResult<String> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref()
            && Instant::now() < t.fresh_until
        {
            return Ok(t.value.clone());
        }
        let req = Request::post(format!("{}/v1/oauth2/token", self.config.api_base))
            .header("authorization", format!("Basic {}", self.basic))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(SdkBody::from("grant_type=client_credentials"))
            .map_err(|e| PaymentError::Permanent(e.to_string()))?;
        let (status, body) = self.send(req).await?;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match status {
            200 => {}
            401 => {
                return Err(PaymentError::Permanent(format!(
                    "paypal oauth: {}",
                    v["error"].as_str().unwrap_or("unauthorized")
                )));
            }
            s if s >= 500 || s == 429 => {
                return Err(PaymentError::Transient(format!("paypal oauth: {s}")));
            }
            s => return Err(PaymentError::Permanent(format!("paypal oauth: {s}"))),
        }
        let (Some(value), Some(expires_in)) =
            (v["access_token"].as_str(), v["expires_in"].as_u64())
        else {
            return Err(PaymentError::Permanent(
                "paypal oauth: no access_token".into(),
            ));
        };
        let life = Duration::from_secs(expires_in).saturating_sub(TOKEN_MARGIN);
        *slot = Some(Token {
            value: value.to_owned(),
            fresh_until: Instant::now() + life,
        });
        Ok(value.to_owned())
    }

    /// One API call with the bearer token; a `401` drops the cached token
    /// and retries once (PayPal may revoke a token before it expires).
    /// Every POST carries `PayPal-Request-Id`; `5xx` and `429` are
    /// transient.
    async fn call(
        &self,
        method: Method,
        path: &str,
        request_id: Option<&str>,
        body: Option<String>,
    ) -> PaymentResult<Answer> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let mut b = Request::builder()
                .method(method.clone())
                .uri(format!("{}{path}", self.config.api_base))
                .header("authorization", format!("Bearer {token}"))
                .header("accept", "application/json");
            if method == Method::POST {
                b = b
                    .header("content-type", "application/json")
                    // The full resource, not the minimal default.
                    .header("prefer", "return=representation");
            }
            if let Some(id) = request_id {
                b = b.header("paypal-request-id", id);
            }
            let req = b
                .body(SdkBody::from(body.clone().unwrap_or_default()))
                .map_err(|e| PaymentError::Permanent(e.to_string()))?;
            let (status, bytes) = self.send(req).await?;
            if status == 401 && attempt == 0 {
                *self.token.lock().await = None;
                continue;
            }
            if status >= 500 || status == 429 {
                return Err(PaymentError::Transient(format!("paypal {path}: {status}")));
            }
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Ok(Answer { status, body });
        }
        Err(PaymentError::Permanent(format!(
            "paypal {path}: unauthorized"
        )))
    }

    /// A path from one of PayPal's HATEOAS links on this API base.
    fn link_path<'a>(&self, href: &'a str) -> Option<&'a str> {
        href.strip_prefix(self.config.api_base.as_str())
            .filter(|p| p.starts_with('/'))
    }

    /// `GET /v1/payments/payouts/{id}`: the batch's single item.
    async fn batch_item(&self, path: &str, withdrawal: &str) -> PaymentResult<Payout> {
        let a = self.call(Method::GET, path, None, None).await?;
        match a.status {
            200 => parse::payout_from_batch(&a.body, withdrawal),
            404 => Err(PaymentError::NotFound),
            s => Err(refused("payout batch", s, &a.body)),
        }
    }
}

fn refused(what: &str, status: u16, body: &Value) -> PaymentError {
    PaymentError::Permanent(format!(
        "paypal {what}: {status} {} {}",
        body["name"].as_str().unwrap_or_default(),
        body["details"][0]["issue"].as_str().unwrap_or_default()
    ))
}

fn issue(body: &Value) -> &str {
    body["details"][0]["issue"].as_str().unwrap_or_default()
}

#[async_trait]
impl PaymentProvider for PayPal {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Paypal
    }

    /// `POST /v2/checkout/orders` (https://developer.paypal.com/api/orders/v2/#orders_create),
    /// with `PayPal-Request-Id` = the top-up id: the same top-up is the same order.
    async fn create_checkout(&self, req: &CheckoutRequest) -> PaymentResult<Checkout> {
        let mut ctx = json!({"user_action": "PAY_NOW", "shipping_preference": "NO_SHIPPING"});
        if let Some(u) = &req.return_url {
            ctx["return_url"] = json!(u);
        }
        if let Some(u) = &req.cancel_url {
            ctx["cancel_url"] = json!(u);
        }
        let body = json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "amount": {"currency_code": "USD", "value": req.amount.amount().to_string()},
                "custom_id": req.reference,
                "invoice_id": req.reference,
            }],
            "payment_source": {"paypal": {"experience_context": ctx}},
        });
        let a = self
            .call(
                Method::POST,
                "/v2/checkout/orders",
                Some(&req.reference),
                Some(body.to_string()),
            )
            .await?;
        match a.status {
            200 | 201 => parse::checkout(&a.body),
            s => Err(refused("create order", s, &a.body)),
        }
    }

    /// `GET /v2/checkout/orders/{id}` (https://developer.paypal.com/api/orders/v2/#orders_get).
    async fn get_checkout(&self, id: &ProviderOrderId) -> PaymentResult<CheckoutState> {
        let path = format!("/v2/checkout/orders/{}", parse::path_segment(id.as_str())?);
        let a = self.call(Method::GET, &path, None, None).await?;
        match a.status {
            200 => parse::checkout_state(&a.body),
            404 => Err(PaymentError::NotFound),
            s => Err(refused("get order", s, &a.body)),
        }
    }

    /// `POST /v2/checkout/orders/{id}/capture` (https://developer.paypal.com/api/orders/v2/#orders_capture).
    /// `422 ORDER_ALREADY_CAPTURED` and `ORDER_NOT_APPROVED` are typed;
    /// `INSTRUMENT_DECLINED` means the buyer must pick another funding
    /// source, i.e. approve again.
    async fn capture(&self, id: &ProviderOrderId, key: &IdempotencyKey) -> PaymentResult<Capture> {
        let path = format!(
            "/v2/checkout/orders/{}/capture",
            parse::path_segment(id.as_str())?
        );
        let a = self
            .call(Method::POST, &path, Some(key.as_str()), Some("{}".into()))
            .await?;
        match (a.status, issue(&a.body)) {
            (200 | 201, _) => parse::checkout_state(&a.body)?.capture.ok_or_else(|| {
                PaymentError::Permanent("paypal capture: no capture in the answer".into())
            }),
            (404, _) => Err(PaymentError::NotFound),
            (422, "ORDER_ALREADY_CAPTURED") => Err(PaymentError::AlreadyCaptured),
            (422, "ORDER_NOT_APPROVED" | "INSTRUMENT_DECLINED" | "PAYER_ACTION_REQUIRED") => {
                Err(PaymentError::NotApproved)
            }
            (s, _) => Err(refused("capture", s, &a.body)),
        }
    }

    /// `POST /v1/payments/payouts` (https://developer.paypal.com/api/payments.payouts-batch/v1/payouts-post)
    /// with `sender_batch_id` = the withdrawal id. A reused id is refused
    /// with a link to the original batch: the first call got through, so
    /// that batch is read and returned.
    async fn send_payout(&self, req: &PayoutRequest) -> PaymentResult<Payout> {
        let wid = req.withdrawal.as_str();
        let body = json!({
            "sender_batch_header": {
                "sender_batch_id": wid,
                "recipient_type": "EMAIL",
                "email_subject": "You have a payout from Khamsa",
            },
            "items": [{
                "recipient_type": "EMAIL",
                "amount": {"currency": "USD", "value": req.amount.amount().to_string()},
                "receiver": req.receiver.as_str(),
                "sender_item_id": wid,
                "note": "Khamsa earnings withdrawal",
            }],
        });
        let a = self
            .call(
                Method::POST,
                "/v1/payments/payouts",
                Some(wid),
                Some(body.to_string()),
            )
            .await?;
        let batch_link = a.body["links"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["rel"] == "self"))
            .and_then(|l| l["href"].as_str())
            .and_then(|h| self.link_path(h))
            .map(str::to_owned);
        match a.status {
            200 | 201 => {
                let path = match batch_link {
                    Some(p) => p,
                    None => {
                        let id = a.body["batch_header"]["payout_batch_id"]
                            .as_str()
                            .unwrap_or_default();
                        format!("/v1/payments/payouts/{}", parse::path_segment(id)?)
                    }
                };
                self.batch_item(&path, wid).await
            }
            400 if a.body["name"] == "USER_BUSINESS_ERROR"
                && a.body["details"][0]["field"] == "SENDER_BATCH_ID" =>
            {
                tracing::info!(
                    withdrawal = wid,
                    "paypal: payout already sent, reading the batch"
                );
                match batch_link {
                    Some(p) => self.batch_item(&p, wid).await,
                    None => Err(refused("payout (duplicate, no link)", 400, &a.body)),
                }
            }
            s => Err(refused("payout", s, &a.body)),
        }
    }

    /// `GET /v1/payments/payouts-item/{id}`
    /// (https://developer.paypal.com/payouts/use-payouts/track-payout-item-status).
    async fn get_payout_item(&self, id: &PayoutItemId) -> PaymentResult<PayoutItem> {
        let path = format!(
            "/v1/payments/payouts-item/{}",
            parse::path_segment(id.as_str())?
        );
        let a = self.call(Method::GET, &path, None, None).await?;
        match a.status {
            200 => parse::payout_item(&a.body),
            404 => Err(PaymentError::NotFound),
            s => Err(refused("payout item", s, &a.body)),
        }
    }

    /// `POST /v1/notifications/verify-webhook-signature`
    /// (https://developer.paypal.com/api/rest/webhooks/rest/). The event is
    /// passed on byte for byte: re-serialising it could reorder its keys,
    /// and PayPal checks the signature over the body it sent.
    async fn verify_webhook(&self, d: &WebhookDelivery) -> PaymentResult<WebhookEvent> {
        let event: Value = serde_json::from_slice(&d.body).map_err(|_| PaymentError::Unverified)?;
        if !event.is_object() {
            return Err(PaymentError::Unverified);
        }
        let raw = std::str::from_utf8(&d.body).map_err(|_| PaymentError::Unverified)?;
        let mut head = serde_json::Map::new();
        for (field, header) in [
            ("auth_algo", "paypal-auth-algo"),
            ("cert_url", "paypal-cert-url"),
            ("transmission_id", "paypal-transmission-id"),
            ("transmission_sig", "paypal-transmission-sig"),
            ("transmission_time", "paypal-transmission-time"),
        ] {
            let v = d.header(header).ok_or(PaymentError::Unverified)?;
            head.insert(field.into(), json!(v));
        }
        head.insert("webhook_id".into(), json!(self.config.webhook_id));
        let head = Value::Object(head).to_string();
        // `{...head..., "webhook_event": <raw body>}`
        let body = format!("{},\"webhook_event\":{raw}}}", &head[..head.len() - 1]);
        // Keyed by the whole request, not the transmission id: a forged
        // body under a real event's headers must never be answered with
        // the stored verdict of the real one.
        let request_id = format!("verify-{:x}", Sha256::digest(body.as_bytes()));
        let a = self
            .call(
                Method::POST,
                "/v1/notifications/verify-webhook-signature",
                Some(&request_id),
                Some(body),
            )
            .await?;
        match (a.status, a.body["verification_status"].as_str()) {
            (200, Some("SUCCESS")) => parse::event(&event),
            (200, _) => Err(PaymentError::Unverified),
            (s, _) => Err(refused("verify webhook", s, &a.body)),
        }
    }
}
