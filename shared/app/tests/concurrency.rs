//! The in-memory store keeps a DynamoDB transaction's promises under
//! concurrency: no double spend, ever.

use khamsa_app::usecases::input::read;
use khamsa_app::usecases::{accounts, place_order};
use khamsa_app::{AppError, usecases};
use khamsa_domain::DomainError;
use khamsa_domain::money::Money;
use khamsa_testkit::*;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_orders_against_a_balance_for_seven_give_exactly_seven() {
    let h = Arc::new(harness());
    let sid = active_service(&h.app, "seller", "5").await;
    let buyer = funded_buyer(&h.app, "buyer", "35.00").await;

    let body = format!(r#"{{"service_id":"{sid}"}}"#);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (h, buyer, body) = (h.clone(), buyer.clone(), body.clone());
            tokio::spawn(async move {
                run(
                    &h.app,
                    place_order::place_order(&h.app, &buyer, read(body.as_bytes(), &h.app.cfg))
                        .await,
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppError::Domain(DomainError::InsufficientFunds)) => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok, refused), (7, 13));
    let b = h.app.store.balances(&buyer.id).await.unwrap();
    assert_eq!(b.balance, Money::ZERO);
    let check = usecases::ledger_check::check(&h.app).await.unwrap();
    assert!(check.violations.is_empty(), "{:?}", check.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_full_withdrawals_at_once_have_one_winner() {
    let h = Arc::new(harness());
    let seller = caller("seller");
    accounts::ensure_profile(&h.app, &seller).await.unwrap();
    seed_earnings(&h.app, &seller, "seed", 20).await;

    let ok = race_withdrawals_of_20(&h.app, &seller, 8).await;
    assert_eq!(ok, 1);
    let b = h.app.store.balances(&seller.id).await.unwrap();
    assert_eq!(
        (b.earnings_available, b.withdrawals_in_flight),
        (Money::ZERO, Money::dollars(20))
    );
}
