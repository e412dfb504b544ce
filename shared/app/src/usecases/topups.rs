//! Money in (payments.md): top-ups through a provider's checkout, their
//! capture, expiry, the provider's webhooks, and reversals.
//!
//! Settling is safe to reach from every path at once (the capture's own
//! answer, the webhook, a retry): the top-up is written at the version it
//! was read, and its postings have deterministic ids, so the store lets
//! exactly one of them credit the balance; the others re-read and find it
//! settled.

use super::input::{Amount, Body, Input, required};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::payments::{
    Capture, CaptureStatus, CheckoutRequest, IdempotencyKey, PaymentMethod, PaymentProvider,
    ProviderOrderId, WebhookDelivery, WebhookKind,
};
use crate::ports::{IdempotencyRecord, Page, PageReq, PaymentError, TopupQuery, UnitOfWork, Write};
use khamsa_domain::ids::{TopupId, UserId};
use khamsa_domain::time::DAY_MS;
use khamsa_domain::topup::{PayFor, Topup, TopupCheckout, TopupMethod, TopupStatus};
use khamsa_domain::{Config, DomainError, DomainResult, Money, Timestamp};
use serde::Deserialize;
use std::sync::Arc;

/// The longest return or cancel URL accepted.
const URL_MAX: usize = 2048;

/// Tries before a change that keeps meeting a concurrent one gives up.
const ATTEMPTS: usize = 3;

/// How long a webhook event id is remembered: PayPal retries a delivery
/// for up to three days.
const EVENT_KEPT_MS: i64 = 7 * DAY_MS;

/// `POST /me/topups`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopupRequest {
    pub amount: Money,
    pub method: TopupMethod,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
}

#[derive(Deserialize)]
pub struct TopupJson {
    amount: Option<Amount>,
    method: Option<String>,
    return_url: Option<String>,
    cancel_url: Option<String>,
}

fn url(field: &'static str, u: Option<String>) -> DomainResult<Option<String>> {
    u.map(|u| {
        let ok = u.len() <= URL_MAX
            && (u.starts_with("https://") || u.starts_with("http://"))
            && !u.chars().any(char::is_whitespace);
        if ok {
            Ok(u)
        } else {
            Err(DomainError::invalid(
                field,
                format!("an http(s) URL of at most {URL_MAX} characters"),
            ))
        }
    })
    .transpose()
}

impl Body for TopupRequest {
    type Json = TopupJson;
    fn check(j: TopupJson, _: &Config) -> DomainResult<Self> {
        let amount = required("amount", j.amount)?.money("amount")?;
        let method = required("method", j.method)?.parse::<TopupMethod>()?;
        Ok(TopupRequest {
            amount,
            method,
            return_url: url("return_url", j.return_url)?,
            cancel_url: url("cancel_url", j.cancel_url)?,
        })
    }
}

/// The provider behind a method, or `422 method_unavailable`; `None` for
/// sandbox, which needs none.
fn provider_for(app: &App, m: TopupMethod) -> AppResult<Option<&Arc<dyn PaymentProvider>>> {
    match m {
        TopupMethod::Sandbox => Ok(None),
        TopupMethod::Paypal => app
            .payments
            .provider(PaymentMethod::Paypal)
            .map(Some)
            .ok_or(DomainError::MethodUnavailable("paypal").into()),
        // No provider exists for cashu: never a top-up that waits forever.
        TopupMethod::Cashu => Err(DomainError::MethodUnavailable("cashu").into()),
    }
}

/// `GET /payment-methods`: the methods with a provider, and sandbox where
/// it is on.
pub fn methods(app: &App) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = app.payments.methods().map(PaymentMethod::as_str).collect();
    if app.cfg.sandbox_topups {
        v.push(TopupMethod::Sandbox.as_str());
    }
    v
}

pub async fn topup(
    app: &App,
    caller: &Caller,
    input: Input<TopupRequest>,
) -> AppResult<Outcome<Topup>> {
    let req = input?;
    let now = app.now();
    start(
        app,
        &app.cfg,
        &caller.id,
        TopupId::new(new_id("top", now)),
        req,
        None,
    )
    .await
}

/// Creates a top-up: a sandbox one settles at once; a provider's gets its
/// checkout first (keyed by the top-up id, so a retry is the same
/// checkout), and is committed pending with its approve URL.
pub async fn start(
    app: &App,
    cfg: &Config,
    user: &UserId,
    id: TopupId,
    req: TopupRequest,
    pay_for: Option<PayFor>,
) -> AppResult<Outcome<Topup>> {
    let now = app.now();
    let provider = provider_for(app, req.method)?;
    let (mut topup, posting) = Topup::create(id, user, req.amount, req.method, now, cfg)?;
    if let Some(provider) = provider {
        // A limit, not a lock: two creates at the very same moment may
        // both pass, which costs nothing but one more pending checkout.
        let max = app.cfg.topups_pending_max;
        let waiting = app
            .store
            .topups(
                &TopupQuery::PendingOf(user.clone()),
                &PageReq::first(max.max(1)),
            )
            .await?;
        if waiting.items.len() >= max {
            return Err(DomainError::TooManyPendingTopups.into());
        }
        let checkout = provider
            .create_checkout(&CheckoutRequest {
                reference: topup.id.to_string(),
                amount: topup.amount,
                return_url: req.return_url,
                cancel_url: req.cancel_url,
            })
            .await?;
        topup.checkout = Some(TopupCheckout {
            order_id: checkout.id.to_string(),
            approve_url: checkout.approve_url,
        });
        topup.pay_for = pay_for;
    }
    let uow = UnitOfWork {
        writes: vec![Write::Topup(topup.clone())],
        postings: posting.into_iter().collect(),
        ..Default::default()
    };
    topup.version += 1;
    Ok(Outcome::new(topup, uow))
}

/// `GET /me/topups`, newest first.
pub async fn mine(app: &App, caller: &Caller, page: &PageReq) -> AppResult<Page<Topup>> {
    Ok(app
        .store
        .topups(&TopupQuery::ByUser(caller.id.clone()), page)
        .await?)
}

/// `POST /me/topups/{id}/capture`: the buyer is back from the provider.
pub async fn capture(app: &App, caller: &Caller, id: &str) -> AppResult<Topup> {
    let t = TopupId::plausible(id).ok_or(AppError::NotFound("topup"))?;
    let t = app
        .store
        .topup(&t)
        .await?
        .filter(|t| t.user_id == caller.id)
        .ok_or(AppError::NotFound("topup"))?;
    capture_topup(app, t, None).await
}

/// Captures a pending top-up at its provider (key `<id>:capture`, so any
/// number of tries is one capture) and applies the answer.
async fn capture_topup(app: &App, t: Topup, record: Option<IdempotencyRecord>) -> AppResult<Topup> {
    match t.status {
        // Past its time but not yet swept (the sweeper runs every few
        // minutes): as expired already, so no capture starts now.
        TopupStatus::Pending if t.is_due_to_expire(app.now()) => {
            return Err(DomainError::TopupExpired.into());
        }
        TopupStatus::Pending => {}
        TopupStatus::Expired => return Err(DomainError::TopupExpired.into()),
        TopupStatus::Settled | TopupStatus::Failed | TopupStatus::Reversed => {
            return Ok(t);
        }
    }
    let (Some(checkout), Some(provider)) = (&t.checkout, provider_for(app, t.method)?) else {
        return Ok(t);
    };
    let order = ProviderOrderId::new(checkout.order_id.clone());
    let capture = if t.capture_id.is_some() {
        // Captured already and held by the provider: read where it stands.
        provider.get_checkout(&order).await?.capture
    } else {
        let key = IdempotencyKey::new(format!("{}:capture", t.id));
        match provider.capture(&order, &key).await {
            Ok(c) => Some(c),
            Err(PaymentError::AlreadyCaptured) => provider.get_checkout(&order).await?.capture,
            Err(e) => return Err(e.into()),
        }
    };
    match capture {
        Some(c) => apply_capture(app, &t.id, &c, record).await,
        None => Ok(t),
    }
}

/// Applies what the provider says of a capture, at most once: settled
/// (gross and fee posted), still pending, or failed.
async fn apply_capture(
    app: &App,
    id: &TopupId,
    c: &Capture,
    record: Option<IdempotencyRecord>,
) -> AppResult<Topup> {
    let capture_id = c.id.as_str();
    for attempt in 1..=ATTEMPTS {
        let t = app
            .store
            .topup(id)
            .await?
            .ok_or(AppError::NotFound("topup"))?;
        let now = app.now();
        let (next, postings) = match c.status {
            // A refunded capture was completed first; its refund arrives
            // as its own event.
            CaptureStatus::Completed
            | CaptureStatus::Refunded
            | CaptureStatus::PartiallyRefunded => match t.settle(capture_id, c.fee, now) {
                Some((n, p)) => (Some(n), p),
                None => (None, vec![]),
            },
            CaptureStatus::Pending => (t.capture_pending(capture_id, now), vec![]),
            CaptureStatus::Declined | CaptureStatus::Failed => {
                (t.fail(Some(capture_id), now), vec![])
            }
        };
        let Some(next) = next else {
            remember(app, record).await?;
            return Ok(t);
        };
        let mut uow = UnitOfWork {
            writes: vec![Write::Topup(next.clone())],
            postings,
            idempotency: record.clone(),
            ..Default::default()
        };
        if next.status == TopupStatus::Settled {
            super::pay_with::on_settled(app, &next, &mut uow, now).await?;
        }
        match app.commit(uow, None).await {
            Ok(()) => {
                if next.status == TopupStatus::Settled {
                    tracing::info!(topup = %next.id, amount = %next.amount, "top-up settled");
                }
                return Ok(Topup {
                    version: next.version + 1,
                    ..next
                });
            }
            Err(AppError::Busy) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AppError::Busy)
}

/// Commits just the webhook's dedupe record, when the event changed nothing.
async fn remember(app: &App, record: Option<IdempotencyRecord>) -> AppResult<()> {
    if record.is_none() {
        return Ok(());
    }
    let uow = UnitOfWork {
        idempotency: record,
        ..Default::default()
    };
    app.commit(uow, None).await
}

/// Expires every top-up past its time with no capture under way (called
/// with the timers: the local timer loop and the AWS sweeper). A sweep, not
/// a timer per top-up: timers are keyed by order, and a store query of
/// pending top-ups by expiry needs no second timer shape. Returns how many.
pub async fn expire_due(app: &App, until: Timestamp) -> AppResult<usize> {
    let mut expired = 0;
    // Bounded: a top-up that keeps conflicting cannot spin forever.
    for _ in 0..100 {
        let due = app
            .store
            .topups(&TopupQuery::ExpiringBy(until), &PageReq::first(50))
            .await?;
        if due.items.is_empty() {
            break;
        }
        let mut progressed = false;
        for t in due.items {
            let at = t.expires_at.unwrap_or(until);
            let Some(next) = t.expire(at.max(t.created_at)) else {
                continue;
            };
            let uow = UnitOfWork {
                writes: vec![Write::Topup(next)],
                ..Default::default()
            };
            match app.commit(uow, None).await {
                Ok(()) => {
                    expired += 1;
                    progressed = true;
                }
                // Captured or settled meanwhile: the next read skips it.
                Err(AppError::Busy) => {}
                Err(e) => return Err(e),
            }
        }
        if !progressed {
            break;
        }
    }
    Ok(expired)
}

/// What a webhook delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    Applied,
    /// Seen before (by event id): nothing done twice.
    Duplicate,
    /// An event type or a resource that is not ours: acknowledged.
    Ignored,
}

/// `POST /webhooks/paypal`: verified through the provider (the same code
/// path as production, the fake's verify endpoint locally), deduplicated
/// by event id in the same unit of work as its change, in any order.
pub async fn webhook(
    app: &App,
    method: PaymentMethod,
    delivery: &WebhookDelivery,
) -> AppResult<Delivered> {
    let provider = app.payments.provider(method).ok_or_else(|| {
        AppError::bad_request("invalid_webhook", "no provider is configured for it")
    })?;
    let event = provider.verify_webhook(delivery).await?;
    let now = app.now();
    let scope = format!("webhook\u{1f}{}\u{1f}{}", method.as_str(), event.id);
    if app.store.idempotency(&scope, now).await?.is_some() {
        return Ok(Delivered::Duplicate);
    }
    let record = Some(IdempotencyRecord {
        scope,
        request_hash: String::new(),
        status: 200,
        body: "{}".into(),
        created_at: now,
        expires_at: now.plus_ms(EVENT_KEPT_MS),
    });
    let result = match &event.kind {
        WebhookKind::CheckoutApproved { checkout } => {
            match by(app, TopupQuery::ProviderOrder(checkout.to_string())).await? {
                Some(t) => match capture_topup(app, t, record.clone()).await {
                    Ok(_) => Ok(Delivered::Applied),
                    // The buyer's own capture call, or expiry, came first.
                    Err(AppError::Domain(
                        DomainError::TopupExpired | DomainError::TopupNotApproved,
                    )) => remember(app, record).await.map(|()| Delivered::Ignored),
                    Err(e) => Err(e),
                },
                None => remember(app, record).await.map(|()| Delivered::Ignored),
            }
        }
        WebhookKind::Capture(c) => {
            let by_ref = match c.reference.as_deref().and_then(TopupId::plausible) {
                Some(id) => app.store.topup(&id).await?,
                None => None,
            };
            let found = match by_ref {
                Some(t) => Some(t),
                None => by(app, TopupQuery::Capture(c.id.to_string())).await?,
            };
            match found {
                Some(t) => apply_capture(app, &t.id, c, record)
                    .await
                    .map(|_| Delivered::Applied),
                None => remember(app, record).await.map(|()| Delivered::Ignored),
            }
        }
        WebhookKind::CaptureReversed { capture, amount }
        | WebhookKind::CaptureRefunded { capture, amount } => {
            match by(app, TopupQuery::Capture(capture.to_string())).await? {
                Some(t) => super::reversals::reverse(app, &t.id, *amount, record)
                    .await
                    .map(|()| Delivered::Applied),
                None => remember(app, record).await.map(|()| Delivered::Ignored),
            }
        }
        WebhookKind::PayoutItem(item) => {
            super::payouts::item_changed(app, item).await?;
            remember(app, record).await.map(|()| Delivered::Applied)
        }
        WebhookKind::Other { event_type } => {
            tracing::info!(event = %event.id, event_type, "webhook ignored");
            remember(app, record).await.map(|()| Delivered::Ignored)
        }
    };
    match result {
        // The same event, delivered twice at once: the other one applied it.
        Err(AppError::IdempotencyInProgress) => Ok(Delivered::Duplicate),
        other => other,
    }
}

async fn by(app: &App, q: TopupQuery) -> AppResult<Option<Topup>> {
    Ok(app
        .store
        .topups(&q, &PageReq::first(1))
        .await?
        .items
        .into_iter()
        .next())
}
