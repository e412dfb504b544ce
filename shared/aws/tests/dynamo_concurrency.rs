//! The real use cases on `DynamoStore` under concurrency (DynamoDB Local
//! only): no double spend, one winner per race, a ledger that balances.

mod dynamo_env;

use khamsa_app::caller::Caller;
use khamsa_app::memory::{FixedClock, MemoryMailer, WakeScheduler};
use khamsa_app::ports::UnitOfWork;
use khamsa_app::usecases::input::read;
use khamsa_app::usecases::notify::InlineNotifier;
use khamsa_app::usecases::order_transitions::{Transition, transition};
use khamsa_app::usecases::{accounts, ledger_check, place_order, services, withdrawals};
use khamsa_app::{App, AppError, AppResult, Outcome};
use khamsa_aws::dynamo::DynamoStore;
use khamsa_domain::ids::{OrderId, PostingId, UserId};
use khamsa_domain::ledger::{Account, Posting, PostingKind, PostingRef, UserAccount};
use khamsa_domain::money::Money;
use khamsa_domain::order::OrderStatus;
use khamsa_domain::{Config, DomainError, Timestamp};
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

const T0: Timestamp = Timestamp(1_800_000_000_000);

struct Harness {
    app: App,
    table: dynamo_env::TestTable,
}

async fn harness(test: &str) -> Option<Harness> {
    let table = dynamo_env::table(test).await?;
    let store: Arc<DynamoStore> = Arc::new(table.store.clone());
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
        clock,
        mailer,
        notifier,
        scheduler: Arc::new(WakeScheduler::default()),
        cfg: Arc::new(Config::default()),
        public_url: Arc::from("http://test"),
        known_callers: Default::default(),
    };
    Some(Harness { app, table })
}

fn caller(id: &str) -> Caller {
    Caller {
        id: UserId::new(id),
        email: Some(format!("{id}@example.com")),
        operator: false,
    }
}

/// Commits what a use case decided, as the HTTP glue does.
async fn run<T>(app: &App, out: AppResult<Outcome<T>>) -> AppResult<T> {
    let out = out?;
    app.commit(out.uow, out.on_overdraft).await?;
    Ok(out.value)
}

/// The two sides of the cancel/deliver race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cancel,
    Deliver,
}

async fn active_service(app: &App, seller: &str, price: &str) -> String {
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
    run(
        app,
        services::moderate(app, s.id.as_str(), services::Moderation::Approve).await,
    )
    .await
    .unwrap();
    s.id.to_string()
}

async fn funded_buyer(app: &App, id: &str, amount: &str) -> Caller {
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

async fn ledger_balances(app: &App) {
    let check = ledger_check::check(app).await.unwrap();
    assert_eq!(check.accounts_total, Decimal::ZERO);
    assert!(check.violations.is_empty(), "{:?}", check.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_orders_against_ten_orders_of_money_thirty_rounds() {
    let Some(h) = harness("orders_race").await else {
        return;
    };
    let app = Arc::new(h.app.clone());
    let sid = active_service(&app, "seller", "10").await;
    let body = Arc::new(format!(r#"{{"service_id":"{sid}"}}"#));
    let started = Instant::now();
    for round in 0..30 {
        let buyer = funded_buyer(&app, &format!("buyer{round}"), "100.00").await;
        let t = Instant::now();
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (app, buyer, body) = (app.clone(), buyer.clone(), body.clone());
                tokio::spawn(async move {
                    run(
                        &app,
                        place_order::place_order(&app, &buyer, read(body.as_bytes(), &app.cfg))
                            .await,
                    )
                    .await
                })
            })
            .collect();
        let mut placed = Vec::new();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(o) => placed.push(o.id),
                Err(AppError::Domain(DomainError::InsufficientFunds)) => refused += 1,
                Err(e) => panic!("round {round}: unexpected {e:?}"),
            }
        }
        assert_eq!((placed.len(), refused), (10, 54), "round {round}");

        let b = app.store.balances(&buyer.id).await.unwrap();
        assert_eq!(b.balance, Money::ZERO, "round {round}");
        // Exactly ten `order_placed` postings, each line with the exact
        // balance after it: 90, 80, ... 0, newest first.
        let lines = app
            .store
            .ledger(&buyer.id, &khamsa_app::ports::PageReq::first(100))
            .await
            .unwrap()
            .items;
        let afters: Vec<Decimal> = lines
            .iter()
            .filter(|l| l.kind == PostingKind::OrderPlaced)
            .map(|l| l.balance_after)
            .collect();
        let want: Vec<Decimal> = (0..10).map(|i| Decimal::from(i * 10)).collect();
        assert_eq!(afters, want, "round {round}");
        assert_eq!(lines.len(), 11, "round {round}: ten orders and the top-up");
        // Ten escrows of $10, one per order placed.
        let all = app.store.all_balances().await.unwrap();
        let ids: HashSet<OrderId> = placed.iter().cloned().collect();
        let escrows: Vec<Decimal> = all
            .iter()
            .filter_map(|(a, v)| match a {
                Account::Escrow { order } if ids.contains(order) => Some(*v),
                _ => None,
            })
            .collect();
        assert_eq!(escrows, vec![Decimal::from(10); 10], "round {round}");
        let mine = app
            .store
            .orders(
                &khamsa_app::ports::OrderQuery::Purchases(buyer.id.clone(), None),
                &khamsa_app::ports::PageReq::first(100),
            )
            .await
            .unwrap();
        assert_eq!(mine.items.len(), 10, "round {round}");
        eprintln!("round {round}: 10 of 64 placed in {:?}", t.elapsed());
    }
    eprintln!("30 rounds of 64 orders in {:?}", started.elapsed());
    ledger_balances(&app).await;
    h.table.drop_table().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_against_deliver_has_one_winner_and_the_ledger_balances() {
    let Some(h) = harness("cancel_deliver").await else {
        return;
    };
    let app = Arc::new(h.app.clone());
    let sid = active_service(&app, "seller", "10").await;
    let buyer = funded_buyer(&app, "buyer", "200.00").await;
    let body = format!(r#"{{"service_id":"{sid}"}}"#);
    let seller = caller("seller");
    let (mut cancelled, mut delivered, mut version_conflicts) = (0, 0, 0);
    for round in 0..16 {
        let order = run(
            &app,
            place_order::place_order(&app, &buyer, read(body.as_bytes(), &app.cfg)).await,
        )
        .await
        .unwrap();
        assert_eq!(order.status, OrderStatus::InProgress);
        let id = order.id.to_string();
        let race = [Kind::Cancel, Kind::Deliver].map(|t| {
            let (app, seller, id) = (app.clone(), seller.clone(), id.clone());
            tokio::spawn(async move {
                // Cancel does one read more than deliver (the buyer's
                // balance, for its refund's ledger line): holding deliver
                // back a little lets either side win some rounds.
                let step = match t {
                    Kind::Deliver => {
                        let ms = rand::random_range(0..6u64);
                        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                        Transition::Deliver(read(br#"{"text":"done"}"#, &app.cfg))
                    }
                    Kind::Cancel => Transition::Cancel(read(br#"{"reason":"too busy"}"#, &app.cfg)),
                };
                run(&app, transition(&app, &seller, &id, step).await).await
            })
        });
        let mut winners = Vec::new();
        for (t, task) in [Kind::Cancel, Kind::Deliver].into_iter().zip(race) {
            match task.await.unwrap() {
                Ok(o) => winners.push((t, o.status)),
                // Lost on the version check: both read the same version.
                Err(AppError::Busy) => version_conflicts += 1,
                // Read the winner's state and refused by the domain.
                Err(AppError::Domain(DomainError::InvalidTransition { .. })) => {}
                Err(e) => panic!("round {round}: unexpected {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let stored = app.store.order(&order.id).await.unwrap().unwrap();
        assert_eq!(stored.status, winners[0].1, "round {round}");
        assert_eq!(stored.version, 2, "round {round}: one transition only");
        let escrow = app
            .store
            .all_balances()
            .await
            .unwrap()
            .into_iter()
            .find(|(a, _)| {
                *a == Account::Escrow {
                    order: order.id.clone(),
                }
            })
            .map(|(_, v)| v)
            .unwrap_or_default();
        match stored.status {
            OrderStatus::Cancelled => {
                cancelled += 1;
                assert_eq!(escrow, Decimal::ZERO, "round {round}");
            }
            OrderStatus::Delivered => {
                delivered += 1;
                assert_eq!(escrow, Decimal::from(10), "round {round}");
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
    eprintln!(
        "cancel won {cancelled}, deliver won {delivered}; {version_conflicts} lost on the version"
    );
    let b = app.store.balances(&buyer.id).await.unwrap();
    assert_eq!(b.balance, Money::dollars(200 - 10 * delivered));
    ledger_balances(&app).await;
    h.table.drop_table().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_full_withdrawals_at_once_have_one_winner() {
    let Some(h) = harness("withdrawals_race").await else {
        return;
    };
    let app = Arc::new(h.app.clone());
    for round in 0..10 {
        let seller = caller(&format!("seller{round}"));
        accounts::ensure_profile(&app, &seller).await.unwrap();
        // $20 of available earnings, straight through the ledger port.
        let seed = Posting::new(
            PostingId::new(format!("seed{round}")),
            PostingKind::EarningsCleared,
            T0,
            PostingRef::default(),
            &[(
                Account::External,
                Account::user(&seller.id, UserAccount::EarningsAvailable),
                Money::dollars(20),
            )],
        )
        .unwrap();
        app.commit(
            UnitOfWork {
                postings: vec![seed],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();

        let tasks: Vec<_> = (0..2)
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
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(AppError::Domain(DomainError::InsufficientEarnings)) => {}
                Err(e) => panic!("round {round}: unexpected {e:?}"),
            }
        }
        assert_eq!(ok, 1, "round {round}");
        let b = app.store.balances(&seller.id).await.unwrap();
        assert_eq!(
            (b.earnings_available, b.withdrawals_in_flight),
            (Money::ZERO, Money::dollars(20)),
            "round {round}"
        );
    }
    ledger_balances(&app).await;
    h.table.drop_table().await;
}
