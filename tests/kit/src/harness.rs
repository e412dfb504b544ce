//! An `App` with a clock the test moves and a mailer it reads, the callers
//! the use cases are called as, and the glue's commit step.

use khamsa_app::caller::Caller;
use khamsa_app::memory::{FixedClock, InMemory, MemoryMailer, MemoryStore};
use khamsa_app::ports::{Store, UnitOfWork};
use khamsa_app::usecases::input::read;
use khamsa_app::usecases::{accounts, place_order, services, withdrawals};
use khamsa_app::{App, AppError, AppResult, Outcome};
use khamsa_domain::ids::{PostingId, UserId};
use khamsa_domain::ledger::{Account, Posting, PostingKind, PostingRef, Transfer, UserAccount};
use khamsa_domain::money::Money;
use khamsa_domain::order::Order;
use khamsa_domain::{Config, DomainError, Timestamp};
use std::sync::Arc;

/// Where a harness's clock starts.
pub const T0: Timestamp = Timestamp(1_800_000_000_000);

pub const PUBLIC_URL: &str = "http://test";

pub struct Harness {
    pub app: App,
    pub clock: Arc<FixedClock>,
    pub mailer: Arc<MemoryMailer>,
}

/// On the in-memory store.
pub fn harness() -> Harness {
    Harness::on(Arc::new(MemoryStore::new()))
}

impl Harness {
    /// On `store`, with the clock at `T0`, emails sent inline to a memory
    /// mailer and timers left to the test.
    pub fn on(store: Arc<dyn Store>) -> Harness {
        let clock = Arc::new(FixedClock::new(T0));
        let mailer = Arc::new(MemoryMailer::new());
        let wired = InMemory::new(
            store,
            clock.clone(),
            mailer.clone(),
            Config::default(),
            PUBLIC_URL,
        );
        let app = wired.app;
        Harness { app, clock, mailer }
    }
}

/// A user `id` with the address `id@example.com`.
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

/// Commits what a use case decided, as the HTTP glue does.
pub async fn run<T>(app: &App, out: AppResult<Outcome<T>>) -> AppResult<T> {
    let out = out?;
    app.commit(out.uow, out.on_overdraft).await?;
    Ok(out.value)
}

/// Approves service `id`, as an operator would.
pub async fn approve(app: &App, id: &str) {
    let out = services::moderate(app, &operator(), id, services::Moderation::Approve).await;
    run(app, out).await.expect("the operator approves");
}

/// A live "Logo" service of `seller`'s at `price` dollars, three days to
/// deliver; its id.
pub async fn active_service(app: &App, seller: &str, price: &str) -> String {
    let c = caller(seller);
    accounts::ensure_profile(app, &c).await.unwrap();
    let body = format!(
        r#"{{"title":"Logo","description":"A logo","category":"design","price":"{price}","delivery_days":3}}"#
    );
    let (s, _) = run(
        app,
        services::create(app, &c, read(body.as_bytes(), &app.cfg)).await,
    )
    .await
    .unwrap();
    approve(app, s.id.as_str()).await;
    s.id.to_string()
}

/// `buyer` orders service `sid` (no upgrades), committed as the HTTP glue
/// does: the order, or why not.
pub async fn place(app: &App, buyer: &Caller, sid: &str) -> AppResult<Order> {
    let body = format!(r#"{{"service_id":"{sid}"}}"#);
    run(
        app,
        place_order::place_order(app, buyer, read(body.as_bytes(), &app.cfg)).await,
    )
    .await
}

/// A user `id` with `amount` dollars topped up.
pub async fn funded_buyer(app: &App, id: &str, amount: &str) -> Caller {
    let buyer = caller(id);
    accounts::ensure_profile(app, &buyer).await.unwrap();
    let body = format!(r#"{{"amount":"{amount}","method":"sandbox"}}"#);
    run(
        app,
        accounts::topup(app, &buyer, read(body.as_bytes(), &app.cfg)).await,
    )
    .await
    .unwrap();
    buyer
}

/// `dollars` of available earnings for `user`, straight through the
/// ledger port (posting `id`), as if an order had cleared.
pub async fn seed_earnings(app: &App, user: &Caller, id: &str, dollars: u64) {
    let p = Posting::new(
        PostingId::new(id),
        PostingKind::EarningsCleared,
        T0,
        PostingRef::default(),
        [Transfer {
            debit: Account::External,
            credit: Account::user(&user.id, UserAccount::EarningsAvailable),
            amount: Money::dollars(dollars),
        }],
    );
    let uow = UnitOfWork {
        postings: vec![p],
        ..Default::default()
    };
    app.commit(uow, None).await.expect("the seed commits");
}

/// `n` requests at once by `seller` to withdraw $20; how many were
/// accepted. Any refusal but "insufficient earnings" fails the test.
pub async fn race_withdrawals_of_20(app: &App, seller: &Caller, n: usize) -> usize {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (app, seller) = (app.clone(), seller.clone());
            tokio::spawn(async move {
                let body = br#"{"amount":"20.00","paypal_email":"s@example.com"}"#;
                run(
                    &app,
                    withdrawals::request(&app, &seller, read(body, &app.cfg)).await,
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("the task ends") {
            Ok(_) => ok += 1,
            Err(AppError::Domain(DomainError::InsufficientEarnings)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    ok
}
