//! What PayPal reports about a payout item, applied at most once
//! (`usecases::payouts::item_changed`, the webhook's and the poll's
//! entry point): a second event, or one after settlement, is a no-op.

use khamsa_app::ports::Payments;
use khamsa_app::ports::payments::{
    Capture, Checkout, CheckoutRequest, CheckoutState, IdempotencyKey, PaymentError, PaymentMethod,
    PaymentProvider, PaymentResult, Payout, PayoutBatchId, PayoutItem, PayoutItemId, PayoutRequest,
    PayoutStatus, ProviderOrderId, WebhookDelivery, WebhookEvent,
};
use khamsa_app::usecases::input::read;
use khamsa_app::usecases::payouts::{Advanced, Sent, advance, due, item_changed};
use khamsa_app::usecases::{accounts, withdrawals};
use khamsa_app::{App, Caller};
use khamsa_domain::ids::WithdrawalId;
use khamsa_domain::ledger::Account;
use khamsa_domain::money::Money;
use khamsa_domain::withdrawal::{Withdrawal, WithdrawalStatus};
use khamsa_testkit::*;
use rust_decimal::Decimal;
use std::sync::Arc;

/// A seller with $50 available and an approved $20 withdrawal (no payout
/// provider here, so it stays approved).
async fn approved(app: &App, seller: &str) -> (Caller, Withdrawal) {
    let c = caller(seller);
    accounts::ensure_profile(app, &c).await.unwrap();
    seed_earnings(app, &c, &format!("seed-{seller}"), 50).await;
    let body = br#"{"amount":"20.00","paypal_email":"s@paypal.test"}"#;
    let w = run(
        app,
        withdrawals::request(app, &c, read(body, &app.cfg)).await,
    )
    .await
    .unwrap();
    let op = operator();
    let out = withdrawals::settle(app, &op, w.id.as_str(), withdrawals::Settle::Approve).await;
    let w = run(app, out).await.unwrap();
    assert_eq!(w.status, WithdrawalStatus::Approved);
    assert_eq!(
        advance(app, &w.id).await.unwrap(),
        Advanced::Sent(Sent::NoProvider)
    );
    (c, w)
}

fn item(w: &WithdrawalId, status: PayoutStatus, amount: &str) -> PayoutItem {
    PayoutItem {
        id: PayoutItemId::new("ITEM-1"),
        batch: PayoutBatchId::new("BATCH-1"),
        status,
        amount: amount
            .parse::<Decimal>()
            .ok()
            .and_then(Money::from_decimal)
            .unwrap(),
        fee: Some(Money::from_cents(25)),
        withdrawal: Some(w.clone()),
    }
}

async fn status(app: &App, id: &WithdrawalId) -> WithdrawalStatus {
    app.store.withdrawal(id).await.unwrap().unwrap().status
}

async fn account(app: &App, a: &Account) -> Decimal {
    app.store
        .all_balances()
        .await
        .unwrap()
        .into_iter()
        .find(|(x, _)| x == a)
        .map_or(Decimal::ZERO, |(_, v)| v)
}

#[tokio::test]
async fn success_pays_once_with_the_fee_on_the_platform_and_later_events_change_nothing() {
    let h = harness();
    let (seller, w) = approved(&h.app, "sara").await;
    let paid = item(&w.id, PayoutStatus::Success, "20.00");
    item_changed(&h.app, &paid).await.unwrap();
    assert_eq!(status(&h.app, &w.id).await, WithdrawalStatus::Paid);
    let stored = h.app.store.withdrawal(&w.id).await.unwrap().unwrap();
    assert_eq!(stored.payout_item_id.as_deref(), Some("ITEM-1"));
    let b = h.app.store.balances(&seller.id).await.unwrap();
    assert_eq!(b.withdrawals_in_flight, Money::ZERO);
    assert_eq!(b.earnings_available, Money::dollars(30));
    assert_eq!(
        account(&h.app, &Account::PaymentFees).await,
        Decimal::new(25, 2)
    );

    // The same event again, and a late contrary one: no-ops.
    item_changed(&h.app, &paid).await.unwrap();
    item_changed(&h.app, &item(&w.id, PayoutStatus::Returned, "20.00"))
        .await
        .unwrap();
    assert_eq!(status(&h.app, &w.id).await, WithdrawalStatus::Paid);
    let again = h.app.store.balances(&seller.id).await.unwrap();
    assert_eq!(again, b);
    assert_eq!(
        account(&h.app, &Account::PaymentFees).await,
        Decimal::new(25, 2)
    );
    let mails = h.mailer.sent(Some("sara@example.com"));
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject.contains("withdrawal") || m.subject.contains("أرباحك"))
            .count(),
        1,
        "one email: {mails:?}"
    );
}

#[tokio::test]
async fn a_returned_payout_fails_the_withdrawal_and_the_money_comes_back() {
    let h = harness();
    let (seller, w) = approved(&h.app, "nour").await;
    // Unclaimed, pending and on hold leave it open.
    for open in [
        PayoutStatus::Unclaimed,
        PayoutStatus::Pending,
        PayoutStatus::OnHold,
    ] {
        item_changed(&h.app, &item(&w.id, open, "20.00"))
            .await
            .unwrap();
        assert_eq!(status(&h.app, &w.id).await, WithdrawalStatus::Approved);
    }
    let returned = item(&w.id, PayoutStatus::Returned, "20.00");
    item_changed(&h.app, &returned).await.unwrap();
    item_changed(&h.app, &returned).await.unwrap();
    let stored = h.app.store.withdrawal(&w.id).await.unwrap().unwrap();
    assert_eq!(stored.status, WithdrawalStatus::Failed);
    assert!(stored.reason.unwrap().contains("RETURNED"));
    let b = h.app.store.balances(&seller.id).await.unwrap();
    assert_eq!(b.earnings_available, Money::dollars(50));
    assert_eq!(b.withdrawals_in_flight, Money::ZERO);
    assert_eq!(account(&h.app, &Account::PaymentFees).await, Decimal::ZERO);
    assert_eq!(h.mailer.sent(Some("nour@example.com")).len(), 1);
}

#[tokio::test]
async fn an_item_that_does_not_match_its_withdrawal_changes_nothing() {
    let h = harness();
    let (_, w) = approved(&h.app, "omar").await;
    item_changed(&h.app, &item(&w.id, PayoutStatus::Success, "19.99"))
        .await
        .unwrap();
    let unknown = WithdrawalId::new("wd_nope");
    item_changed(&h.app, &item(&unknown, PayoutStatus::Success, "20.00"))
        .await
        .unwrap();
    assert_eq!(status(&h.app, &w.id).await, WithdrawalStatus::Approved);
}

/// A provider whose payout send answers `answer`; nothing else is called.
struct Refusing(PaymentError);

#[async_trait::async_trait]
impl PaymentProvider for Refusing {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Paypal
    }
    async fn create_checkout(&self, _: &CheckoutRequest) -> PaymentResult<Checkout> {
        Err(PaymentError::NotFound)
    }
    async fn get_checkout(&self, _: &ProviderOrderId) -> PaymentResult<CheckoutState> {
        Err(PaymentError::NotFound)
    }
    async fn capture(&self, _: &ProviderOrderId, _: &IdempotencyKey) -> PaymentResult<Capture> {
        Err(PaymentError::NotFound)
    }
    async fn send_payout(&self, _: &PayoutRequest) -> PaymentResult<Payout> {
        Err(self.0.clone())
    }
    async fn get_payout_item(&self, _: &PayoutItemId) -> PaymentResult<PayoutItem> {
        Err(PaymentError::NotFound)
    }
    async fn verify_webhook(&self, _: &WebhookDelivery) -> PaymentResult<WebhookEvent> {
        Err(PaymentError::Unverified)
    }
}

fn with_provider(h: &Harness, e: PaymentError) -> App {
    let mut app = h.app.clone();
    app.payments = Payments::none().with(Arc::new(Refusing(e)));
    app
}

#[tokio::test]
async fn a_transient_send_error_leaves_it_approved_for_a_retry() {
    let h = harness();
    let (seller, w) = approved(&h.app, "rami").await;
    let app = with_provider(&h, PaymentError::Transient("timeout".into()));
    assert!(advance(&app, &w.id).await.is_err(), "the queue retries it");
    assert_eq!(status(&app, &w.id).await, WithdrawalStatus::Approved);
    let b = app.store.balances(&seller.id).await.unwrap();
    assert_eq!(b.withdrawals_in_flight, Money::dollars(20));
    // A minute on, the poll hands it to the worker again.
    h.clock.set(T0.plus_ms(61_000));
    assert_eq!(due(&app).await.unwrap(), vec![w.id.clone()]);
}

#[tokio::test]
async fn a_permanent_refusal_fails_it_with_the_money_back_and_tells_the_seller() {
    let h = harness();
    let (seller, w) = approved(&h.app, "lina").await;
    let app = with_provider(&h, PaymentError::Permanent("RECEIVER_UNREGISTERED".into()));
    assert_eq!(
        advance(&app, &w.id).await.unwrap(),
        Advanced::Sent(Sent::Refused)
    );
    let stored = app.store.withdrawal(&w.id).await.unwrap().unwrap();
    assert_eq!(stored.status, WithdrawalStatus::Failed);
    assert!(stored.reason.unwrap().contains("RECEIVER_UNREGISTERED"));
    let b = app.store.balances(&seller.id).await.unwrap();
    assert_eq!(b.earnings_available, Money::dollars(50));
    assert_eq!(b.withdrawals_in_flight, Money::ZERO);
    assert_eq!(h.mailer.sent(Some("lina@example.com")).len(), 1);
    // Settled: the worker has nothing more to do with it.
    assert_eq!(advance(&app, &w.id).await.unwrap(), Advanced::Skipped);
    assert!(due(&app).await.unwrap().is_empty());
}
