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
    PaymentError, PaymentMethod, PaymentProvider, PayoutItem, PayoutItemId, PayoutRequest,
    PayoutStatus,
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

/// At most this many withdrawals per poll, per status (the oldest first
/// would be better; the status index lists newest first, and a backlog
/// this deep is an incident anyway).
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

/// What the payouts worker did with one withdrawal it was handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advanced {
    /// An approved one was sent (or refused, or there is no provider).
    Sent(Sent),
    /// A processing one was read back from the provider and applied.
    Checked,
    /// Nothing to do in its status.
    Skipped,
}

/// The payouts worker's one step for a withdrawal, whatever brought it
/// (an approval, or the poll): send it if `approved`, read its item back
/// if `processing`. Transient errors are returned, for a retry.
pub async fn advance(app: &App, id: &WithdrawalId) -> AppResult<Advanced> {
    let Some(w) = app.store.withdrawal(id).await? else {
        tracing::warn!(withdrawal = %id, "payout for an unknown withdrawal");
        return Ok(Advanced::Skipped);
    };
    match w.status {
        WithdrawalStatus::Approved => Ok(Advanced::Sent(send(app, id).await?)),
        WithdrawalStatus::Processing => {
            let (Some(p), Some(item)) = (provider(app), w.payout_item_id.as_deref()) else {
                return Ok(Advanced::Skipped);
            };
            let mut item = p
                .get_payout_item(&PayoutItemId::new(item))
                .await
                .map_err(transient)?;
            // The item is ours by construction: its id was stored on send.
            item.withdrawal.get_or_insert_with(|| w.id.clone());
            item_changed(app, &item).await?;
            Ok(Advanced::Checked)
        }
        WithdrawalStatus::Requested
        | WithdrawalStatus::Paid
        | WithdrawalStatus::Rejected
        | WithdrawalStatus::Failed => Ok(Advanced::Skipped),
    }
}

/// The withdrawals the poll hands to the payouts worker: `approved` ones
/// older than a minute (a lost message, or a transient failure) and
/// `processing` ones unchanged for over an hour (a lost webhook; an
/// unclaimed payout is read on every poll until PayPal returns it, 30 days
/// on). Read-only: the worker does the rest.
pub async fn due(app: &App) -> AppResult<Vec<WithdrawalId>> {
    let now = app.now();
    let page = PageReq::first(POLL_LIMIT);
    let mut out = Vec::new();
    for (status, after) in [
        (WithdrawalStatus::Approved, RESEND_AFTER_MS),
        (WithdrawalStatus::Processing, POLL_AFTER_MS),
    ] {
        let list = app
            .store
            .withdrawals(&WithdrawalQuery::ByStatus(status), &page)
            .await?;
        out.extend(
            list.items
                .into_iter()
                .filter(|w| w.updated_at.plus_ms(after) <= now)
                .map(|w| w.id),
        );
    }
    Ok(out)
}

/// The scheduled backstop (the sweeper, or the local timer loop): hands
/// what is `due` to the payouts queue. Returns how many.
pub async fn poll(app: &App) -> AppResult<usize> {
    let ids = due(app).await?;
    if !ids.is_empty() {
        tracing::info!(count = ids.len(), "payouts due for the worker");
        app.payout_queue.payouts_due(&ids).await;
    }
    Ok(ids.len())
}

/// The payouts worker in-process: advances each withdrawal as it is
/// approved or polled. The local server's and the tests' payouts worker. In AWS the payouts queue and
/// its function stand here.
#[derive(Default)]
pub struct InlinePayouts {
    /// The app to work with; its own queue is none, so the two do not
    /// hold each other (and the worker never hands work to itself).
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
    async fn payouts_due(&self, ids: &[WithdrawalId]) {
        let Some(app) = self.app.get() else {
            return;
        };
        let _guard = self.lock.lock().await;
        for id in ids {
            if let Err(e) = advance(app, id).await {
                // Left as it was: the next poll hands it over again.
                tracing::warn!(withdrawal = %id, error = %e, "payout step failed");
            }
        }
    }
}
