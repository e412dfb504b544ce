//! The application: the ports wired together, and the one way a unit of
//! work is committed and announced.

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::metrics;
use crate::ports::{
    Clock, CommitError, FileUrls, IdempotencyRecord, Mailer, NoFileUrls, NoPayoutQueue, Notifier,
    Payments, PayoutQueue, Scheduler, Store, UnitOfWork, Write,
};
use crate::unsubscribe::Unsubscribe;
use khamsa_domain::withdrawal::WithdrawalStatus;
use khamsa_domain::{Config, DomainError, Timestamp};
use std::sync::Arc;

#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub mailer: Arc<dyn Mailer>,
    pub notifier: Arc<dyn Notifier>,
    pub scheduler: Arc<dyn Scheduler>,
    /// The payment providers configured here; none in most tests.
    pub payments: Payments,
    /// Where approved withdrawals go to be sent (none: the poll sends them).
    pub payout_queue: Arc<dyn PayoutQueue>,
    pub cfg: Arc<Config>,
    /// Where links in emails point, e.g. `https://khamsa.example`.
    pub public_url: Arc<str>,
    pub known_callers: Arc<KnownCallers>,
    /// Presigned URLs for files (none: the file routes answer 503).
    pub files: Arc<dyn FileUrls>,
    /// Signs and checks the one-click unsubscribe links: a key generated
    /// here, or the stack's secret in AWS (`with_unsubscribe`).
    pub unsubscribe: Arc<Unsubscribe>,
}

/// The adapters an `App` runs on, named so a wiring cannot swap two of them
/// (one type may implement several ports).
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub mailer: Arc<dyn Mailer>,
    pub notifier: Arc<dyn Notifier>,
    pub scheduler: Arc<dyn Scheduler>,
    pub payments: Payments,
}

/// Callers whose profile is known to exist with their token's email. A
/// warm function skips that read, keeping a state change within two reads.
#[derive(Default)]
pub struct KnownCallers(std::sync::Mutex<std::collections::HashSet<(String, Option<String>)>>);

impl KnownCallers {
    const MAX: usize = 10_000;

    fn key(c: &Caller) -> (String, Option<String>) {
        (c.id.to_string(), c.email.clone())
    }

    pub fn contains(&self, c: &Caller) -> bool {
        self.0
            .lock()
            .map(|s| s.contains(&Self::key(c)))
            .unwrap_or(false)
    }

    pub fn insert(&self, c: &Caller) {
        if let Ok(mut s) = self.0.lock() {
            // Bounded: a long-lived process forgets and re-reads, no more.
            if s.len() >= Self::MAX {
                s.clear();
            }
            s.insert(Self::key(c));
        }
    }
}

/// What a use case decided, not yet committed: the value to answer with and
/// the unit of work that makes it true.
pub struct Outcome<T> {
    pub value: T,
    pub uow: UnitOfWork,
    /// What a failed "never below zero" condition means to the user.
    pub on_overdraft: Option<DomainError>,
}

impl<T> Outcome<T> {
    pub fn new(value: T, uow: UnitOfWork) -> Self {
        Outcome {
            value,
            uow,
            on_overdraft: None,
        }
    }

    pub fn overdraft_means(mut self, e: DomainError) -> Self {
        self.on_overdraft = Some(e);
        self
    }
}

impl App {
    /// The one way to wire an `App`: the Lambda boot code, the local server
    /// and the tests all come through here, with no caller known yet.
    pub fn new(ports: Ports, cfg: Config, public_url: &str) -> App {
        let Ports {
            store,
            clock,
            mailer,
            notifier,
            scheduler,
            payments,
        } = ports;
        App {
            store,
            clock,
            mailer,
            notifier,
            scheduler,
            payments,
            payout_queue: Arc::new(NoPayoutQueue),
            cfg: Arc::new(cfg),
            public_url: Arc::from(public_url),
            known_callers: Default::default(),
            files: Arc::new(NoFileUrls),
            unsubscribe: Arc::new(Unsubscribe::generated(public_url)),
        }
    }

    /// With approved withdrawals sent through `q`.
    pub fn with_payout_queue(mut self, q: Arc<dyn PayoutQueue>) -> App {
        self.payout_queue = q;
        self
    }

    /// With unsubscribe links signed and checked by `u`.
    pub fn with_unsubscribe(mut self, u: Arc<Unsubscribe>) -> App {
        self.unsubscribe = u;
        self
    }

    /// With files' bytes behind `f`.
    pub fn with_files(mut self, f: Arc<dyn FileUrls>) -> App {
        self.files = f;
        self
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Commits one unit of work atomically, then tells the notifier and
    /// scheduler what it wrote. Those two are best-effort by design: the
    /// outbox and timer rows are already durable, and the sweeper re-sends
    /// anything they missed.
    pub async fn commit(
        &self,
        uow: UnitOfWork,
        on_overdraft: Option<DomainError>,
    ) -> AppResult<()> {
        match self.commit_or_replay(uow, on_overdraft).await? {
            None => Ok(()),
            Some(_) => Err(AppError::IdempotencyInProgress),
        }
    }

    /// [`App::commit`], but when the unit of work's idempotency key is
    /// already taken, the record that holds it: nothing was committed and
    /// nothing is announced (see [`Store::commit_or_replay`]).
    pub async fn commit_or_replay(
        &self,
        uow: UnitOfWork,
        on_overdraft: Option<DomainError>,
    ) -> AppResult<Option<IdempotencyRecord>> {
        let outbox: Vec<_> = uow.outbox.iter().map(|r| r.id.clone()).collect();
        let timers = uow.timers_set.clone();
        let events = metrics::of_commit(&uow);
        let approved: Vec<_> = uow
            .writes
            .iter()
            .filter_map(|w| {
                if let Write::Withdrawal(w) = w
                    && w.status == WithdrawalStatus::Approved
                {
                    Some(w.id.clone())
                } else {
                    None
                }
            })
            .collect();
        match self.store.commit_or_replay(uow).await {
            Ok(None) => {}
            Ok(Some(record)) => return Ok(Some(record)),
            Err(CommitError::Overdraft(account)) => {
                tracing::info!(?account, "commit refused: would overdraw");
                return Err(on_overdraft.map(AppError::Domain).unwrap_or(AppError::Busy));
            }
            Err(e) => return Err(e.into()),
        }
        let at = self.now().millis();
        for e in &events {
            metrics::emit(e, at);
        }
        if !outbox.is_empty() {
            self.notifier.outbox_written(&outbox).await;
        }
        if !timers.is_empty() {
            self.scheduler.timers_set(&timers).await;
        }
        if !approved.is_empty() {
            self.payout_queue.payouts_due(&approved).await;
        }
        Ok(None)
    }
}
