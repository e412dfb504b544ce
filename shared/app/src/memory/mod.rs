//! In-memory adapters: the local server's embedded default and the unit
//! tests' fakes. Each keeps the promises of its port.

mod store;

pub use store::MemoryStore;

use crate::ports::{Clock, Email, MailError, Mailer, Payments, Scheduler, Store};
use crate::unsubscribe::Unsubscribe;
use crate::usecases::notify::InlineNotifier;
use crate::usecases::payouts::InlinePayouts;
use crate::{App, Ports};
use async_trait::async_trait;
use khamsa_domain::order::Timer;
use khamsa_domain::time::SECOND_MS;
use khamsa_domain::{Config, Timestamp};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
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

/// Keeps the last [`MemoryMailer::KEEP`] emails it sent, for `/dev/emails`
/// and for tests: a long-running local server's memory stays bounded.
#[derive(Default)]
pub struct MemoryMailer {
    sent: Mutex<VecDeque<Email>>,
}

impl MemoryMailer {
    pub const KEEP: usize = 5_000;

    pub fn new() -> Self {
        Self::default()
    }

    /// Emails sent to `to` (case-insensitive), or all kept, newest last.
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
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if sent.len() >= Self::KEEP {
            sent.pop_front();
        }
        sent.push_back(email.clone());
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

/// An `App` whose emails go out inline as their rows are written and whose
/// timers wait for whoever fires them: the local server's embedded default
/// and the tests' harness.
pub struct InMemory {
    pub app: App,
    pub notifier: Arc<InlineNotifier>,
    pub scheduler: Arc<WakeScheduler>,
}

impl InMemory {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        cfg: Config,
        public_url: &str,
    ) -> InMemory {
        let scheduler = Arc::new(WakeScheduler::default());
        // One key for the links the notifier signs and the route checks.
        let unsubscribe = Arc::new(Unsubscribe::generated(public_url));
        let notifier = Arc::new(InlineNotifier {
            store: store.clone(),
            mailer: mailer.clone(),
            clock: clock.clone(),
            public_url: Arc::from(public_url),
            unsubscribe: unsubscribe.clone(),
            lock: tokio::sync::Mutex::new(()),
        });
        let ports = Ports {
            store,
            clock,
            mailer,
            notifier: notifier.clone(),
            scheduler: scheduler.clone(),
            payments: Payments::none(),
        };
        InMemory {
            app: InlinePayouts::wire(
                App::new(ports, cfg, public_url).with_unsubscribe(unsubscribe),
            ),
            notifier,
            scheduler,
        }
    }

    /// With these payment providers instead of none.
    pub fn with_payments(mut self, payments: Payments) -> InMemory {
        self.app.payments = payments;
        // The inline payouts worker sends with the new providers too.
        self.app = InlinePayouts::wire(self.app);
        self
    }
}
