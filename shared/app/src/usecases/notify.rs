//! The notifier: turns an outbox row into an email in the recipient's
//! language and sends it once.

use crate::emails::{Lang, Recipient, render};
use crate::metrics;
use crate::ports::{Email, Locale, Mailer, Store};
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

/// Sends one outbox row. A row already sent, or one whose recipient has no
/// profile, sends nothing: a duplicate delivery never sends a second email.
pub async fn send_outbox(
    store: &dyn Store,
    mailer: &dyn Mailer,
    public_url: &str,
    id: &OutboxId,
    now: Timestamp,
) -> Result<bool, NotifyError> {
    let Some(row) = store.outbox_row(id).await? else {
        return Ok(false);
    };
    if row.sent_at.is_some() {
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
    let to = Recipient {
        email: profile.email.as_str(),
        display_name: &profile.display_name,
        lang,
    };
    let r = render(&row.notice, &to, public_url)?;
    let sent = mailer
        .send(&Email {
            to: r.to,
            subject: r.subject,
            html: r.html,
            text: r.text,
            at: now,
        })
        .await;
    let event = match sent {
        Ok(()) => metrics::Event::EmailSent,
        Err(_) => metrics::Event::EmailFailed,
    };
    metrics::emit(&event, now.millis());
    sent?;
    store.mark_sent(id, now).await?;
    Ok(true)
}

/// Sends outbox rows as soon as they are written, in-process: the local
/// server's notifier. In AWS the notifications queue stands here.
pub struct InlineNotifier {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn crate::ports::Clock>,
    pub public_url: Arc<str>,
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
    /// The sweeper's half: re-send rows a crash or an outage left behind.
    pub async fn resend_unsent(&self) {
        match self.store.unsent_outbox(100).await {
            Ok(rows) => {
                let ids: Vec<_> = rows.into_iter().map(|r| r.id).collect();
                crate::ports::Notifier::outbox_written(self, &ids).await;
            }
            Err(e) => tracing::error!(error = %e, "cannot read the outbox"),
        }
    }
}
