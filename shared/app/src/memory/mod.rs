//! In-memory adapters: the local server's embedded default and the unit
//! tests' fakes. Each keeps the promises of its port.

mod store;

pub use store::MemoryStore;

use crate::ports::{Clock, Email, MailError, Mailer, Scheduler};
use async_trait::async_trait;
use khamsa_domain::Timestamp;
use khamsa_domain::order::Timer;
use khamsa_domain::time::SECOND_MS;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall time plus an offset that only grows: the local server's
/// `/dev/clock` moves it forward to make days pass in a test.
#[derive(Default)]
pub struct OffsetClock {
    offset_ms: AtomicI64,
}

impl OffsetClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance_seconds(&self, seconds: i64) -> Timestamp {
        self.offset_ms
            .fetch_add(seconds.max(0).saturating_mul(SECOND_MS), Ordering::SeqCst);
        self.now()
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(wall + self.offset_ms.load(Ordering::SeqCst))
    }
}

/// A clock that stands still until told: for deterministic tests.
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        FixedClock(AtomicI64::new(at.millis()))
    }
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.millis(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

/// Keeps what it sent, for `/dev/emails` and for tests.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Email>>,
}

impl MemoryMailer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Emails sent to `to` (case-insensitive), or all, newest last.
    pub fn sent(&self, to: Option<&str>) -> Vec<Email> {
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.iter()
            .filter(|e| to.is_none_or(|t| e.to.eq_ignore_ascii_case(t)))
            .cloned()
            .collect()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        tracing::info!(to = %email.to, subject = %email.subject, "email sent");
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(email.clone());
        Ok(())
    }
}

/// Wakes the local timer loop when a timer is set, so one due now fires
/// without waiting for the next tick.
#[derive(Default)]
pub struct WakeScheduler {
    pub wake: tokio::sync::Notify,
}

#[async_trait]
impl Scheduler for WakeScheduler {
    async fn timers_set(&self, timers: &[Timer]) {
        if !timers.is_empty() {
            self.wake.notify_one();
        }
    }
}
