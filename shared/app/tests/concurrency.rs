//! The in-memory store keeps a DynamoDB transaction's promises under
//! concurrency: no double spend, ever.

mod common;

use common::*;
use khamsa_app::usecases::input::read;
use khamsa_app::usecases::{accounts, place_order, services};
use khamsa_app::{AppError, usecases};
use khamsa_domain::DomainError;
use khamsa_domain::money::Money;
use std::sync::Arc;

async fn active_service(h: &Harness, seller: &str, price: &str) -> String {
    let c = caller(seller);
    accounts::ensure_profile(&h.app, &c).await.unwrap();
    let body = format!(
        r#"{{"title":"Logo","description":"A logo","category":"design","price":"{price}","delivery_days":3}}"#
    );
    let (s, _) = run(
        &h.app,
        services::create(&h.app, &c, read(body.as_bytes(), &h.app.cfg)).await,
    )
    .await
    .unwrap();
    run(
        &h.app,
        services::moderate(&h.app, s.id.as_str(), services::Moderation::Approve).await,
    )
    .await
    .unwrap();
    s.id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_orders_against_a_balance_for_seven_give_exactly_seven() {
    let h = Arc::new(harness());
    let sid = active_service(&h, "seller", "5").await;
    let buyer = caller("buyer");
    accounts::ensure_profile(&h.app, &buyer).await.unwrap();
    run(
        &h.app,
        accounts::topup(
            &h.app,
            &buyer,
            read(br#"{"amount":"35.00","method":"sandbox"}"#, &h.app.cfg),
        )
        .await,
    )
    .await
    .unwrap();

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
    use khamsa_app::ports::UnitOfWork;
    use khamsa_domain::ids::PostingId;
    use khamsa_domain::ledger::{Account, Posting, PostingKind, PostingRef, UserAccount};

    let h = Arc::new(harness());
    let seller = caller("seller");
    accounts::ensure_profile(&h.app, &seller).await.unwrap();
    // Seed $20 of available earnings straight through the ledger port.
    let p = Posting::new(
        PostingId::new("seed"),
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
    h.app
        .commit(
            UnitOfWork {
                postings: vec![p],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (h, seller) = (h.clone(), seller.clone());
            tokio::spawn(async move {
                let body = br#"{"amount":"20.00","paypal_email":"s@example.com"}"#;
                run(
                    &h.app,
                    usecases::withdrawals::request(&h.app, &seller, read(body, &h.app.cfg)).await,
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
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    let b = h.app.store.balances(&seller.id).await.unwrap();
    assert_eq!(
        (b.earnings_available, b.withdrawals_in_flight),
        (Money::ZERO, Money::dollars(20))
    );
}
