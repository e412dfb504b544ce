//! The payment provider port (payments.md, "Ports"): take money in through
//! a hosted checkout, send it out as payouts, and read the provider's
//! webhooks. PayPal is the first adapter (`khamsa-paypal`); the fake PayPal
//! serves it locally and in tests. Nothing here knows HTTP or PayPal's JSON.

use async_trait::async_trait;
use khamsa_domain::Money;
use khamsa_domain::ids::WithdrawalId;
use khamsa_domain::text::EmailAddress;
use std::fmt;

macro_rules! provider_id {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self { Self(s.into()) }
            pub fn as_str(&self) -> &str { &self.0 }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
    )*};
}

provider_id!(
    /// The provider's checkout (PayPal order) id.
    ProviderOrderId,
    /// The provider's capture id, stored on a settled top-up.
    CaptureId,
    /// The provider's payout batch id.
    PayoutBatchId,
    /// The provider's payout item id, polled when a webhook is lost.
    PayoutItemId,
    /// The provider's webhook event id: events are deduplicated by it.
    ProviderEventId,
    /// Sent as `PayPal-Request-Id`: the same key twice is the same call.
    IdempotencyKey,
);

/// A way to pay, as `GET /payment-methods` lists it and `method` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentMethod {
    Paypal,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Paypal => "paypal",
        }
    }
}

/// A checkout for one amount in USD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The top-up id; also the idempotency key of the create call.
    pub reference: String,
    pub amount: Money,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub id: ProviderOrderId,
    /// Where the buyer approves the payment.
    pub approve_url: String,
}

/// Where a checkout stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutStatus {
    /// Created, waiting for the buyer (also after they cancelled: the
    /// provider does not say, the top-up expires).
    AwaitingBuyer,
    Approved,
    /// Captured; the capture tells how that went.
    Completed,
    Voided,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureStatus {
    Completed,
    /// Held by the provider; a webhook or a later read settles it.
    Pending,
    Declined,
    Refunded,
    PartiallyRefunded,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub id: CaptureId,
    pub status: CaptureStatus,
    pub gross: Money,
    /// The provider's fee (zero until the capture is completed).
    pub fee: Money,
    /// Our reference (PayPal's `custom_id`): the top-up id.
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutState {
    pub id: ProviderOrderId,
    pub status: CheckoutStatus,
    pub amount: Money,
    pub capture: Option<Capture>,
}

/// One payout of `amount` to a PayPal email; `withdrawal` is PayPal's
/// `sender_batch_id`, so a retry can never pay twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRequest {
    pub withdrawal: WithdrawalId,
    pub amount: Money,
    pub receiver: EmailAddress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutStatus {
    Pending,
    Success,
    Failed,
    Unclaimed,
    Returned,
    OnHold,
    Blocked,
    Refunded,
    Reversed,
    Canceled,
    Denied,
}

impl PayoutStatus {
    /// The money did not reach the seller and is not coming: the
    /// withdrawal fails and goes back to their earnings (payments.md).
    pub fn is_failure(self) -> bool {
        match self {
            PayoutStatus::Failed
            | PayoutStatus::Returned
            | PayoutStatus::Blocked
            | PayoutStatus::Refunded
            | PayoutStatus::Reversed
            | PayoutStatus::Canceled
            | PayoutStatus::Denied => true,
            PayoutStatus::Pending
            | PayoutStatus::Success
            | PayoutStatus::Unclaimed
            | PayoutStatus::OnHold => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub batch: PayoutBatchId,
    pub item: PayoutItemId,
    pub status: PayoutStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutItem {
    pub id: PayoutItemId,
    pub batch: PayoutBatchId,
    pub status: PayoutStatus,
    pub amount: Money,
    /// The provider's fee for the item, when it says.
    pub fee: Option<Money>,
    /// The withdrawal id it was sent for (`sender_batch_id`).
    pub withdrawal: Option<WithdrawalId>,
}

/// A webhook as it arrived: header names lower-case, the body untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WebhookDelivery {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookKind {
    /// The buyer approved; capture it (they may never come back).
    CheckoutApproved { checkout: ProviderOrderId },
    /// A capture changed (`PAYMENT.CAPTURE.COMPLETED / PENDING / DENIED`).
    Capture(Capture),
    /// Money taken back after settlement (a chargeback).
    CaptureReversed { capture: CaptureId, amount: Money },
    /// A refund of (part of) a capture.
    CaptureRefunded { capture: CaptureId, amount: Money },
    /// `PAYMENT.PAYOUTS-ITEM.*`.
    PayoutItem(PayoutItem),
    /// Any other event type: acknowledged and ignored.
    Other { event_type: String },
}

/// A verified webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub id: ProviderEventId,
    pub kind: WebhookKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// Timeout, connection error, 5xx or rate limit: the call may or may not
    /// have happened; retry with the same key.
    #[error("payment provider unavailable: {0}")]
    Transient(String),
    /// The provider refused the call as made; retrying will not help.
    #[error("payment provider refused: {0}")]
    Permanent(String),
    /// The buyer has not approved the checkout (or cancelled it).
    #[error("checkout not approved by the buyer")]
    NotApproved,
    /// A second capture without the first call's key.
    #[error("checkout already captured")]
    AlreadyCaptured,
    #[error("not found at the payment provider")]
    NotFound,
    /// The provider did not vouch for the webhook: answer 400, change nothing.
    #[error("webhook not verified")]
    Unverified,
}

impl PaymentError {
    pub fn is_transient(&self) -> bool {
        match self {
            PaymentError::Transient(_) => true,
            PaymentError::Permanent(_)
            | PaymentError::NotApproved
            | PaymentError::AlreadyCaptured
            | PaymentError::NotFound
            | PaymentError::Unverified => false,
        }
    }
}

pub type PaymentResult<T> = Result<T, PaymentError>;

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The method this provider offers (`GET /payment-methods`).
    fn method(&self) -> PaymentMethod;

    /// Creates a checkout; the same `reference` twice is the same checkout.
    async fn create_checkout(&self, req: &CheckoutRequest) -> PaymentResult<Checkout>;

    async fn get_checkout(&self, id: &ProviderOrderId) -> PaymentResult<CheckoutState>;

    /// Captures an approved checkout; the same `key` twice is one capture.
    async fn capture(&self, id: &ProviderOrderId, key: &IdempotencyKey) -> PaymentResult<Capture>;

    /// Sends one payout. Sending the same withdrawal again answers the
    /// payout already made, never a second one.
    async fn send_payout(&self, req: &PayoutRequest) -> PaymentResult<Payout>;

    async fn get_payout_item(&self, id: &PayoutItemId) -> PaymentResult<PayoutItem>;

    /// Verifies a delivery with the provider and reads its event;
    /// `Unverified` for anything the provider does not vouch for.
    async fn verify_webhook(&self, delivery: &WebhookDelivery) -> PaymentResult<WebhookEvent>;
}

/// The configured providers, one per method. A method is offered (and a
/// top-up with it accepted) only when its provider is here, so adding a
/// provider is one more adapter in this list and no use case changes.
#[derive(Clone, Default)]
pub struct Payments(Vec<std::sync::Arc<dyn PaymentProvider>>);

impl Payments {
    pub fn none() -> Payments {
        Payments::default()
    }

    /// Later providers for a method already present are ignored.
    pub fn with(mut self, p: std::sync::Arc<dyn PaymentProvider>) -> Payments {
        if self.provider(p.method()).is_none() {
            self.0.push(p);
        }
        self
    }

    pub fn provider(&self, m: PaymentMethod) -> Option<&std::sync::Arc<dyn PaymentProvider>> {
        self.0.iter().find(|p| p.method() == m)
    }

    /// The methods on offer, in the order they were configured.
    pub fn methods(&self) -> impl Iterator<Item = PaymentMethod> + '_ {
        self.0.iter().map(|p| p.method())
    }
}

impl fmt::Debug for Payments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.methods()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_ignores_case() {
        let d = WebhookDelivery {
            headers: vec![("PAYPAL-TRANSMISSION-ID".into(), "t1".into())],
            body: Vec::new(),
        };
        assert_eq!(d.header("paypal-transmission-id"), Some("t1"));
        assert_eq!(d.header("paypal-transmission-sig"), None);
    }

    #[test]
    fn unclaimed_is_not_yet_a_failure_but_returned_is() {
        assert!(!PayoutStatus::Unclaimed.is_failure());
        assert!(PayoutStatus::Returned.is_failure());
        assert!(!PayoutStatus::Success.is_failure());
        assert!(PaymentError::Transient("timeout".into()).is_transient());
        assert!(!PaymentError::Unverified.is_transient());
    }
}
