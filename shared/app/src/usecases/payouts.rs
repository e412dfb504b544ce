//! Payouts (payments.md, "Money out"): approved withdrawals sent to the
//! payment provider, and what it reports about each payout item (webhook
//! or poll).
//!
//! A withdrawal goes `approved` → `processing` (sent, ids stored) →
//! `paid` | `failed`. The send is keyed by the withdrawal id (PayPal's
//! `sender_batch_id`), so sending again after a timeout answers the payout
//! already made and never pays twice.

use super::outbox_rows;
use crate::app::App;
use crate::error::AppResult;
use crate::ports::payments::{
    PaymentError, PaymentMethod, PaymentProvider, PayoutItem, PayoutRequest, PayoutStatus,
};
use crate::ports::{PageReq, PayoutQueue, UnitOfWork, WithdrawalQuery, Write};
use khamsa_domain::ids::WithdrawalId;
use khamsa_domain::time::{HOUR_MS, SECOND_MS};
use khamsa_domain::withdrawal::{PayoutReport, Withdrawal, WithdrawalStatus};
use std::sync::{Arc, OnceLock};

/// A withdrawal `processing` this long without news is polled: the
/// webhook may have been lost.
pub const POLL_AFTER_MS: i64 = HOUR_MS;

/// An `approved` withdrawal this old is sent again by the poll: its queue
/// message (or the send it caused) was lost or failed transiently. Younger
/// ones are left to the send in flight.
pub const RESEND_AFTER_MS: i64 = 60 * SECOND_MS;

/// At most this many withdrawals per poll, per status.
pub const POLL_LIMIT: usize = 100;

/// What one send did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Accepted by the provider; the withdrawal is `processing` (or
    /// already settled, when the provider said so at once).
    Processing,
    /// The provider refused it for good: `failed`, money back.
    Refused,
    /// Not `approved` (already sent, settled, or unknown): nothing to do.
    Skipped,
    /// No provider configured here: it stays `approved`.
    NoProvider,
}

fn provider(app: &App) -> Option<&Arc<dyn PaymentProvider>> {
    app.payments.provider(PaymentMethod::Paypal)
}

/// Sends one approved withdrawal. A transient provider error is returned
/// (the queue retries; the poll is the backstop) and leaves it `approved`.
pub async fn send(app: &App, id: &WithdrawalId) -> AppResult<Sent> {
    let Some(w) = app.store.withdrawal(id).await? else {
        tracing::warn!(withdrawal = %id, "payout for an unknown withdrawal");
        return Ok(Sent::Skipped);
    };
    if w.status != WithdrawalStatus::Approved {
        return Ok(Sent::Skipped);
    }
    let Some(p) = provider(app) else {
        tracing::warn!(withdrawal = %id, "no payout provider configured; left approved");
        return Ok(Sent::NoProvider);
    };
    let req = PayoutRequest {
        withdrawal: w.id.clone(),
        amount: w.amount,
        receiver: w.paypal_email.clone(),
    };
    let payout = match p.send_payout(&req).await {
        Ok(p) => p,
        Err(e) if e.is_transient() => {
            tracing::warn!(withdrawal = %id, error = %e, "payout not sent yet; will retry");
            return Err(transient(e));
        }
        Err(e) => {
            tracing::warn!(withdrawal = %id, error = %e, "payout refused");
            let now = app.now();
            let (w, posting, notice) = w.fail(&e.to_string(), now)?;
            commit(app, w, vec![posting], vec![notice]).await?;
            return Ok(Sent::Refused);
        }
    };
    let sent = w.sent(payout.batch.as_str(), payout.item.as_str(), app.now())?;
    commit(app, sent, vec![], vec![]).await?;
    tracing::info!(withdrawal = %id, batch = %payout.batch, item = %payout.item, status = ?payout.status, "payout sent");
    if settles(payout.status) {
        // The provider already knows the outcome: read the item (for its
        // fee) and settle now rather than wait for the event.
        match p.get_payout_item(&payout.item).await {
            Ok(item) => item_changed(app, &item).await?,
            Err(e) => {
                tracing::warn!(withdrawal = %id, error = %e, "payout item not read; the poll will")
            }
        }
    }
    Ok(Sent::Processing)
}

/// Whether a status ends the withdrawal (paid or failed).
fn settles(s: PayoutStatus) -> bool {
    s == PayoutStatus::Success || s.is_failure()
}

fn transient(e: PaymentError) -> crate::error::AppError {
    crate::error::AppError::Store(crate::ports::StoreError::Unavailable(e.to_string()))
}

async fn commit(
    app: &App,
    w: Withdrawal,
    postings: Vec<khamsa_domain::ledger::Posting>,
    notices: Vec<khamsa_domain::notice::Notice>,
) -> AppResult<()> {
    let now = app.now();
    let uow = UnitOfWork {
        writes: vec![Write::Withdrawal(w)],
        postings,
        outbox: outbox_rows(notices, now),
        ..Default::default()
    };
    app.commit(uow, None).await
}

/// A payout item changed at the provider (webhook `PAYMENT.PAYOUTS-ITEM.*`
/// or the poll): `SUCCESS` pays the withdrawal, a failure returns the
/// money; `UNCLAIMED`, `PENDING` and `ONHOLD` leave it `processing`. At
/// most once: a second event finds it settled and changes nothing, and a
/// concurrent one loses on the version check.
pub async fn item_changed(app: &App, item: &PayoutItem) -> AppResult<()> {
    let Some(id) = item.withdrawal.clone() else {
        tracing::warn!(item = %item.id, "payout item without our withdrawal id; ignored");
        return Ok(());
    };
    let Some(w) = app.store.withdrawal(&id).await? else {
        tracing::warn!(item = %item.id, withdrawal = %id, "payout item for an unknown withdrawal");
        return Ok(());
    };
    if !matches!(
        w.status,
        WithdrawalStatus::Approved | WithdrawalStatus::Processing
    ) {
        tracing::debug!(withdrawal = %id, status = %w.status, "payout event after settlement; ignored");
        return Ok(());
    }
    if w.amount != item.amount {
        tracing::error!(withdrawal = %id, item = %item.id, "payout item amount differs; left for an operator");
        return Ok(());
    }
    let now = app.now();
    let report = PayoutReport {
        batch_id: item.batch.to_string(),
        item_id: item.id.to_string(),
        fee: item.fee,
    };
    match item.status {
        PayoutStatus::Success => {
            let (w, postings, notice) = w.pay(Some(&report), now)?;
            commit(app, w, postings, vec![notice]).await
        }
        PayoutStatus::Failed
        | PayoutStatus::Returned
        | PayoutStatus::Blocked
        | PayoutStatus::Refunded
        | PayoutStatus::Reversed
        | PayoutStatus::Canceled
        | PayoutStatus::Denied => {
            let reason = format!("PayPal reported the payout {}", status_name(item.status));
            let (mut w, posting, notice) = w.fail(&reason, now)?;
            w.payout_batch_id = Some(report.batch_id);
            w.payout_item_id = Some(report.item_id);
            commit(app, w, vec![posting], vec![notice]).await
        }
        PayoutStatus::Pending | PayoutStatus::Unclaimed | PayoutStatus::OnHold => {
            tracing::info!(withdrawal = %id, status = ?item.status, "payout still open");
            Ok(())
        }
    }
}

fn status_name(s: PayoutStatus) -> &'static str {
    match s {
        PayoutStatus::Pending => "PENDING",
        PayoutStatus::Success => "SUCCESS",
        PayoutStatus::Failed => "FAILED",
        PayoutStatus::Unclaimed => "UNCLAIMED",
        PayoutStatus::Returned => "RETURNED",
        PayoutStatus::OnHold => "ONHOLD",
        PayoutStatus::Blocked => "BLOCKED",
        PayoutStatus::Refunded => "REFUNDED",
        PayoutStatus::Reversed => "REVERSED",
        PayoutStatus::Canceled => "CANCELED",
        PayoutStatus::Denied => "DENIED",
    }
}

/// What a poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Polled {
    pub resent: usize,
    pub checked: usize,
}

/// The scheduled backstop: re-sends `approved` withdrawals older than a
/// minute (a lost message, or a transient failure), and reads the payout
/// item of every one `processing` for over an hour (a lost webhook). An
/// unclaimed payout is read on every poll until PayPal returns it, 30 days
/// on. Errors on one withdrawal are logged and the rest go on.
pub async fn poll(app: &App) -> AppResult<Polled> {
    let now = app.now();
    let mut out = Polled::default();
    let page = PageReq::first(POLL_LIMIT);
    let approved = app
        .store
        .withdrawals(
            &WithdrawalQuery::ByStatus(WithdrawalStatus::Approved),
            &page,
        )
        .await?;
    for w in approved.items {
        if w.updated_at.plus_ms(RESEND_AFTER_MS) > now {
            continue;
        }
        out.resent += 1;
        if let Err(e) = send(app, &w.id).await {
            tracing::warn!(withdrawal = %w.id, error = %e, "payout re-send failed");
        }
    }
    let Some(p) = provider(app) else {
        return Ok(out);
    };
    let processing = app
        .store
        .withdrawals(
            &WithdrawalQuery::ByStatus(WithdrawalStatus::Processing),
            &page,
        )
        .await?;
    for w in processing.items {
        if w.updated_at.plus_ms(POLL_AFTER_MS) > now {
            continue;
        }
        let Some(item) = w.payout_item_id.as_deref() else {
            continue;
        };
        out.checked += 1;
        match p
            .get_payout_item(&crate::ports::payments::PayoutItemId::new(item))
            .await
        {
            Ok(mut item) => {
                // The item is ours by construction: it was stored on send.
                item.withdrawal.get_or_insert_with(|| w.id.clone());
                if let Err(e) = item_changed(app, &item).await {
                    tracing::warn!(withdrawal = %w.id, error = %e, "payout poll failed");
                }
            }
            Err(e) => tracing::warn!(withdrawal = %w.id, error = %e, "payout item not read"),
        }
    }
    if out != Polled::default() {
        tracing::info!(resent = out.resent, checked = out.checked, "payouts polled");
    }
    Ok(out)
}

/// Sends approved withdrawals in-process as they are committed: the local
/// server's and the tests' payouts worker. In AWS the payouts queue and
/// its function stand here.
#[derive(Default)]
pub struct InlinePayouts {
    /// The app to send with, set once it exists; without a queue of its
    /// own, so the two do not hold each other.
    app: OnceLock<App>,
    /// One send at a time, as one worker would.
    lock: tokio::sync::Mutex<()>,
}

impl InlinePayouts {
    /// Wires `app` to send its approved withdrawals through a new inline
    /// queue, and returns it.
    pub fn wire(app: App) -> App {
        let q = Arc::new(InlinePayouts::default());
        let _ = q.app.set(
            app.clone()
                .with_payout_queue(Arc::new(crate::ports::NoPayoutQueue)),
        );
        app.with_payout_queue(q)
    }
}

#[async_trait::async_trait]
impl PayoutQueue for InlinePayouts {
    async fn payouts_approved(&self, ids: &[WithdrawalId]) {
        let Some(app) = self.app.get() else {
            return;
        };
        let _guard = self.lock.lock().await;
        for id in ids {
            if let Err(e) = send(app, id).await {
                // Left approved: the poll sends it again.
                tracing::warn!(withdrawal = %id, error = %e, "payout not sent");
            }
        }
    }
}
