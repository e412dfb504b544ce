//! The real use cases on `DynamoStore` under concurrency (DynamoDB Local
//! only): no double spend, one winner per race, a ledger that balances.

use khamsa_app::App;
use khamsa_app::AppError;
use khamsa_app::usecases::input::read;
use khamsa_app::usecases::order_transitions::{Transition, transition};
use khamsa_app::usecases::{accounts, ledger_check};
use khamsa_domain::DomainError;
use khamsa_domain::ids::OrderId;
use khamsa_domain::ledger::{Account, PostingKind};
use khamsa_domain::money::Money;
use khamsa_domain::order::OrderStatus;
use khamsa_testkit::aws::TestTable;
use khamsa_testkit::{
    active_service, caller, funded_buyer, place, race_withdrawals_of_20, run, seed_earnings,
};
use rust_decimal::Decimal;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// The two sides of the cancel/deliver race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cancel,
    Deliver,
}

/// The in-memory harness's `App`, on a DynamoDB Local table of its own.
struct Harness {
    app: Arc<App>,
    table: TestTable,
}

impl Harness {
    /// Checks the ledger still balances, then drops the table.
    async fn finish(self) {
        ledger_balances(&self.app).await;
        self.table.drop_table().await;
    }
}

async fn harness(test: &str) -> Option<Harness> {
    let table = TestTable::create(test).await?;
    let app = Arc::new(khamsa_testkit::Harness::on(Arc::new(table.store.clone())).app);
    Some(Harness { app, table })
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
    let app = h.app.clone();
    let sid = active_service(&app, "seller", "10").await;
    let sid = Arc::new(sid);
    let started = Instant::now();
    for round in 0..30 {
        let buyer = funded_buyer(&app, &format!("buyer{round}"), "100.00").await;
        let t = Instant::now();
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (app, buyer, sid) = (app.clone(), buyer.clone(), sid.clone());
                tokio::spawn(async move { place(&app, &buyer, &sid).await })
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
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_against_deliver_has_one_winner_and_the_ledger_balances() {
    let Some(h) = harness("cancel_deliver").await else {
        return;
    };
    let app = h.app.clone();
    let sid = active_service(&app, "seller", "10").await;
    let buyer = funded_buyer(&app, "buyer", "200.00").await;
    let seller = caller("seller");
    let (mut cancelled, mut delivered, mut version_conflicts) = (0, 0, 0);
    for round in 0..16 {
        let order = place(&app, &buyer, &sid).await.unwrap();
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
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_full_withdrawals_at_once_have_one_winner() {
    let Some(h) = harness("withdrawals_race").await else {
        return;
    };
    let app = h.app.clone();
    for round in 0..10 {
        let seller = caller(&format!("seller{round}"));
        accounts::ensure_profile(&app, &seller).await.unwrap();
        seed_earnings(&app, &seller, &format!("seed{round}"), 20).await;

        let ok = race_withdrawals_of_20(&app, &seller, 2).await;
        assert_eq!(ok, 1, "round {round}");
        let b = app.store.balances(&seller.id).await.unwrap();
        assert_eq!(
            (b.earnings_available, b.withdrawals_in_flight),
            (Money::ZERO, Money::dollars(20)),
            "round {round}"
        );
    }
    h.finish().await;
}
