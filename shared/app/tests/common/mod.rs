//! Builds an `App` on the in-memory adapters with a clock the test moves.

#![allow(dead_code)]

use khamsa_app::caller::Caller;
use khamsa_app::memory::{FixedClock, MemoryMailer, MemoryStore, WakeScheduler};
use khamsa_app::usecases::notify::InlineNotifier;
use khamsa_app::{App, AppResult, Outcome};
use khamsa_domain::ids::UserId;
use khamsa_domain::{Config, Timestamp};
use std::sync::Arc;

pub struct Harness {
    pub app: App,
    pub clock: Arc<FixedClock>,
    pub mailer: Arc<MemoryMailer>,
}

pub const T0: Timestamp = Timestamp(1_800_000_000_000);

pub fn harness() -> Harness {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(T0));
    let mailer = Arc::new(MemoryMailer::new());
    let notifier = Arc::new(InlineNotifier {
        store: store.clone(),
        mailer: mailer.clone(),
        clock: clock.clone(),
        public_url: Arc::from("http://test"),
        lock: tokio::sync::Mutex::new(()),
    });
    let app = App {
        store,
        clock: clock.clone(),
        mailer: mailer.clone(),
        notifier,
        scheduler: Arc::new(WakeScheduler::default()),
        cfg: Arc::new(Config::default()),
        public_url: Arc::from("http://test"),
        known_callers: Default::default(),
    };
    Harness { app, clock, mailer }
}

pub fn caller(id: &str) -> Caller {
    Caller {
        id: UserId::new(id),
        email: Some(format!("{id}@example.com")),
        operator: false,
    }
}

pub fn operator() -> Caller {
    Caller {
        id: UserId::new("op"),
        email: Some("op@example.com".into()),
        operator: true,
    }
}

/// Commits what a use case decided, as the HTTP glue would.
pub async fn run<T>(app: &App, out: AppResult<Outcome<T>>) -> AppResult<T> {
    let out = out?;
    app.commit(out.uow, out.on_overdraft).await?;
    Ok(out.value)
}
