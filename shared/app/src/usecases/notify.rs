//! The notifier: turns an outbox row into an email in the recipient's
//! language and sends it once.

use crate::emails::{Lang, Recipient, render};
use crate::metrics;
use crate::ports::{Email, Locale, MailError, Mailer, OutboxEntry, Store};
use crate::unsubscribe::Unsubscribe;
use khamsa_domain::Timestamp;
use khamsa_domain::ids::OutboxId;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("store: {0}")]
    Store(#[from] crate::ports::StoreError),
    #[error("mailer: {0}")]
    Mail(#[from] crate::ports::MailError),
    #[error("cannot render: {0}")]
    Render(#[from] crate::emails::RenderError),
}

/// Sends stopped after this many transient refusals: the row is `failed`.
/// With SQS's 5 receives per queueing and the sweep's doubling lease, that
/// is five rounds over about five hours.
pub const EMAIL_MAX_ATTEMPTS: u32 = 25;

/// How long a queued row is left to its message before a sweep may queue
/// it again: longer than SQS's 5 receives × the 180 s visibility timeout,
/// doubling with every round of failed attempts (capped at 16 ×).
pub const OUTBOX_LEASE_MS: i64 = 20 * 60 * 1000;

/// How long a send claim (`Delivery::sending_at`) is honoured: far longer
/// than one SES call can take (the SDK's 5 s operation timeout, the
/// notifier's 30 s). A row still claimed after it belongs to a sender that
/// died mid-send; whether SES took the email is unknown, so the row fails
/// rather than risk a second email.
pub const SENDING_LEASE_MS: i64 = 5 * 60 * 1000;

/// The queue marker a sweep sets on a row it queues.
pub fn outbox_lease(now: Timestamp, attempts: u32) -> Timestamp {
    let rounds = (attempts / 5).min(4);
    now.plus_ms(OUTBOX_LEASE_MS << rounds)
}

/// Sends one outbox row, at most once. A row already sent or failed, or
/// one whose recipient has no profile, sends nothing; a send is made only
/// under a claim won with one conditional write, so a duplicate delivery
/// or a racing sender never sends a second email. A permanent refusal (or
/// a row that cannot be rendered) marks the row `failed` with its reason
/// and counts `EmailsFailed`; a transient one (surely not sent) counts an
/// attempt and is returned as an error, to be retried, until
/// [`EMAIL_MAX_ATTEMPTS`]. An unknown outcome (the request may have
/// reached SES), or a claim left past [`SENDING_LEASE_MS`], fails the row
/// with reason `outcome unknown: ...`: never sent again automatically.
pub async fn send_outbox(
    store: &dyn Store,
    mailer: &dyn Mailer,
    public_url: &str,
    unsubscribe: &Unsubscribe,
    id: &OutboxId,
    now: Timestamp,
) -> Result<bool, NotifyError> {
    let Some(entry) = store.outbox_entry(id).await? else {
        return Ok(false);
    };
    let OutboxEntry { row, delivery } = &entry;
    if row.sent_at.is_some() || delivery.failure.is_some() {
        return Ok(false);
    }
    if let Some(at) = delivery.sending_at {
        if now.millis() - at.millis() >= SENDING_LEASE_MS {
            let why = format!(
                "outcome unknown: a send claimed at {} ms never recorded its outcome",
                at.millis()
            );
            fail(store, id, delivery.attempts.saturating_add(1), why, now).await?;
        }
        // Otherwise another sender holds it; the sweep looks again later.
        return Ok(false);
    }
    let Some(profile) = store.profile(&row.notice.to).await? else {
        tracing::warn!(outbox = %id, "recipient has no profile; email dropped");
        store.mark_sent(id, now).await?;
        return Ok(false);
    };
    // An optional email the user turned off is done with, not sent.
    if !profile.email_prefs.wants(&row.notice.kind) {
        tracing::info!(outbox = %id, "recipient turned this email off");
        store.mark_sent(id, now).await?;
        return Ok(false);
    }
    let lang = match profile.locale {
        Locale::Ar => Lang::Ar,
        Locale::En => Lang::En,
    };
    // An optional email carries its way out (RFC 8058 and the footer).
    let unsubscribe_url = row
        .notice
        .kind
        .optional()
        .map(|topic| unsubscribe.url(&row.notice.to, topic));
    let to = Recipient {
        email: profile.email.as_str(),
        display_name: &profile.display_name,
        lang,
        unsubscribe: unsubscribe_url.as_deref(),
    };
    let attempts = delivery.attempts.saturating_add(1);
    let r = match render(&row.notice, &to, public_url) {
        Ok(r) => r,
        Err(e) => {
            // No retry can fix the row itself (a CR/LF in a header).
            fail(store, id, attempts, format!("cannot render: {e}"), now).await?;
            return Ok(false);
        }
    };
    let headers = unsubscribe_url
        .as_deref()
        .map_or_else(Vec::new, Email::one_click_headers);
    // Claim, then send: a sender that loses the claim sends nothing.
    let token = crate::ids::new_id("send", now);
    if !store.claim_send(id, &token, now).await? {
        tracing::info!(outbox = %id, "another sender holds this email");
        return Ok(false);
    }
    let sent = mailer
        .send(&Email {
            to: r.to,
            subject: r.subject,
            html: r.html,
            text: r.text,
            at: now,
            headers,
        })
        .await;
    match sent {
        Ok(()) => {
            metrics::emit(&metrics::Event::EmailSent, now.millis());
            store.mark_sent(id, now).await?;
            Ok(true)
        }
        Err(e @ MailError::Unknown(_)) => {
            // SES may have sent it: failing the row is the only way not to
            // send it twice. An operator may retry it, accepting the risk.
            fail(store, id, attempts, e.to_string(), now).await?;
            Ok(false)
        }
        Err(MailError::Refused(reason)) => {
            fail(store, id, attempts, format!("refused: {reason}"), now).await?;
            Ok(false)
        }
        Err(MailError::Unavailable(reason)) if attempts >= EMAIL_MAX_ATTEMPTS => {
            let why = format!("gave up after {attempts} attempts: {reason}");
            fail(store, id, attempts, why, now).await?;
            Ok(false)
        }
        Err(e @ MailError::Unavailable(_)) => {
            store.outbox_attempt(id, attempts, None).await?;
            // The message that brought it is retried (SQS's visibility
            // timeout is the first backoff): the sweep stays off the row
            // for a lease, so no second message races it. Lost to another
            // claim: that one's message retries it instead.
            store
                .claim_outbox(&entry, outbox_lease(now, attempts))
                .await?;
            Err(e.into())
        }
    }
}

/// Marks the row failed for good, with its reason, and counts it.
async fn fail(
    store: &dyn Store,
    id: &OutboxId,
    attempts: u32,
    reason: String,
    now: Timestamp,
) -> Result<(), NotifyError> {
    tracing::error!(outbox = %id, attempts, reason = %reason, "email failed for good");
    store.outbox_attempt(id, attempts, Some(reason)).await?;
    metrics::emit(&metrics::Event::EmailFailed, now.millis());
    Ok(())
}

/// The sweeper's half, on any transport: claims each unsent row whose
/// marker has lapsed (earliest first, failed rows skipped) and returns the
/// ids it won, for the caller to queue or send. A row another sweep claimed
/// meanwhile is left to that one.
pub async fn claim_due_outbox(
    store: &dyn Store,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<OutboxId>, crate::ports::StoreError> {
    let mut won = Vec::new();
    for e in store.outbox_due(now, limit).await? {
        if store
            .claim_outbox(&e, outbox_lease(now, e.delivery.attempts))
            .await?
        {
            won.push(e.row.id);
        }
    }
    Ok(won)
}

/// Sends outbox rows as soon as they are written, in-process: the local
/// server's notifier. In AWS the notifications queue stands here.
pub struct InlineNotifier {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn crate::ports::Clock>,
    pub public_url: Arc<str>,
    pub unsubscribe: Arc<Unsubscribe>,
    /// One sender at a time, so a row is never sent twice concurrently.
    pub lock: tokio::sync::Mutex<()>,
}

#[async_trait::async_trait]
impl crate::ports::Notifier for InlineNotifier {
    async fn outbox_written(&self, ids: &[OutboxId]) {
        let _guard = self.lock.lock().await;
        for id in ids {
            if let Err(e) = send_outbox(
                self.store.as_ref(),
                self.mailer.as_ref(),
                &self.public_url,
                &self.unsubscribe,
                id,
                self.clock.now(),
            )
            .await
            {
                // The row stays unsent; the sweeper tries again.
                tracing::error!(outbox = %id, error = %e, "email not sent");
            }
        }
    }
}

impl InlineNotifier {
    /// The sweeper's half: re-send rows a crash or an outage left behind,
    /// each once per lease, failed ones never.
    pub async fn resend_unsent(&self) {
        match claim_due_outbox(self.store.as_ref(), self.clock.now(), 100).await {
            Ok(ids) => crate::ports::Notifier::outbox_written(self, &ids).await,
            Err(e) => tracing::error!(error = %e, "cannot read the outbox"),
        }
    }
}

/// The operators' list of failed emails, newest first, with reasons.
pub async fn failed(
    app: &crate::App,
    page: &crate::ports::PageReq,
) -> crate::AppResult<crate::ports::Page<OutboxEntry>> {
    Ok(app.store.failed_outbox(page).await?)
}

/// An operator sends a failed email again: its attempts reset, it is
/// queued and the notifier told at once. For an `outcome unknown` row the
/// operator accepts that the recipient may get it twice. A row that is not
/// failed (sent, waiting, or already retried) is left as it is and
/// answered as it stands (`false`): retrying is idempotent. An email to
/// the operator themself may be retried too: it moves no money and
/// decides nothing, so "never on their own things" does not apply.
pub async fn retry(app: &crate::App, id: &str) -> crate::AppResult<(OutboxEntry, bool)> {
    use crate::ports::Rearm;
    let missing = || crate::AppError::NotFound("email");
    let id = OutboxId::plausible(id).ok_or_else(missing)?;
    let now = app.clock.now();
    let rearmed = match app.store.retry_outbox(&id, now).await? {
        Rearm::Missing => return Err(missing()),
        Rearm::Rearmed => {
            tracing::warn!(outbox = %id, "an operator retries a failed email");
            app.notifier.outbox_written(std::slice::from_ref(&id)).await;
            true
        }
        Rearm::NotStuck => false,
    };
    let entry = app.store.outbox_entry(&id).await?.ok_or_else(missing)?;
    Ok((entry, rearmed))
}
