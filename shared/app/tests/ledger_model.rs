//! Property test: after any sequence of top-ups, orders, deliveries,
//! receipts, changes, cancels by every actor, timer firings, withdrawals and
//! payouts over several users, a simple model kept here agrees with the
//! store on every balance, all accounts sum to zero, none but `external`
//! is negative, and a finished order's escrow is empty.

use khamsa_app::caller::Caller;
use khamsa_app::ports::payments::{PayoutBatchId, PayoutItem, PayoutItemId, PayoutStatus};
use khamsa_app::usecases::input::read;
use khamsa_app::usecases::order_transitions::{Transition, transition};
use khamsa_app::usecases::payouts::item_changed;
use khamsa_app::usecases::withdrawals::{Settle, request, settle};
use khamsa_app::usecases::{accounts, place_order, services, timers};
use khamsa_app::{App, AppError};
use khamsa_domain::ErrorKind;
use khamsa_domain::ids::{OrderId, WithdrawalId};
use khamsa_domain::ledger::{Account, UserAccount};
use khamsa_domain::money::{Money, split_fee};
use khamsa_domain::order::OrderStatus;
use khamsa_domain::time::HOUR_MS;
use khamsa_domain::withdrawal::WithdrawalStatus;
use khamsa_testkit::*;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::HashMap;

const USERS: [&str; 4] = ["s0", "s1", "b0", "b1"];

#[derive(Debug, Clone)]
enum Op {
    Topup {
        user: usize,
        cents: u64,
    },
    Place {
        buyer: usize,
        service: usize,
        upgrade: bool,
        qty: i64,
    },
    Act {
        order: usize,
        t: u8,
    },
    Advance {
        hours: i64,
    },
    Withdraw {
        user: usize,
        cents: u64,
    },
    Settle {
        w: usize,
        how: u8,
    },
    /// PayPal reports a payout item (webhook or poll), perhaps again.
    Payout {
        w: usize,
        status: u8,
    },
}

/// What PayPal may report: paid, open, or one of the failures.
const PAYOUT_STATUSES: [PayoutStatus; 5] = [
    PayoutStatus::Success,
    PayoutStatus::Unclaimed,
    PayoutStatus::Returned,
    PayoutStatus::Failed,
    PayoutStatus::Pending,
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..4usize, 50..60_000u64).prop_map(|(user, cents)| Op::Topup { user, cents }),
        4 => (0..4usize, 0..2usize, any::<bool>(), 1..4i64)
            .prop_map(|(buyer, service, upgrade, qty)| Op::Place { buyer, service, upgrade, qty }),
        6 => (0..16usize, 0..8u8).prop_map(|(order, t)| Op::Act { order, t }),
        2 => (0..24 * 20i64).prop_map(|hours| Op::Advance { hours }),
        2 => (0..4usize, 500..6_000u64).prop_map(|(user, cents)| Op::Withdraw { user, cents }),
        1 => (0..8usize, 0..3u8).prop_map(|(w, how)| Op::Settle { w, how }),
        1 => (0..8usize, 0..5u8).prop_map(|(w, status)| Op::Payout { w, status }),
    ]
}

struct ModelOrder {
    id: OrderId,
    buyer: usize,
    seller: usize,
    total: Money,
    from_balance: Money,
    from_earnings: Money,
    status: OrderStatus,
    cleared: bool,
}

struct ModelWithdrawal {
    id: WithdrawalId,
    user: usize,
    amount: Money,
    status: WithdrawalStatus,
}

#[derive(Default)]
struct Model {
    /// (user index, account) -> balance
    acc: HashMap<(usize, UserAccount), Decimal>,
    orders: Vec<ModelOrder>,
    withdrawals: Vec<ModelWithdrawal>,
    platform: Decimal,
}

impl Model {
    fn get(&self, u: usize, a: UserAccount) -> Decimal {
        self.acc.get(&(u, a)).copied().unwrap_or_default()
    }
    fn add(&mut self, u: usize, a: UserAccount, d: Decimal) {
        *self.acc.entry((u, a)).or_default() += d;
    }
}

/// Refusals a well-formed step may legitimately meet (wrong state, wrong
/// role, no money); anything else, a 422 included, fails the property.
fn expected(e: &AppError) -> bool {
    matches!(e, AppError::Domain(d) if matches!(d.kind(), ErrorKind::Conflict | ErrorKind::Forbidden))
}

async fn setup(app: &App) -> Vec<(String, usize, Money, Money)> {
    for u in USERS {
        accounts::ensure_profile(app, &caller(u)).await.unwrap();
    }
    let mut out = vec![];
    for (seller, price, up, instr) in [(0usize, "5", "5", false), (1, "10", "10", true)] {
        let instructions = if instr {
            r#","instructions":"Send your logo text""#
        } else {
            ""
        };
        let body = format!(
            r#"{{"title":"S","description":"D","category":"design","price":"{price}","delivery_days":2,
            "upgrades":[{{"title":"U","price":"{up}","extra_days":1}}]{instructions}}}"#
        );
        let (s, _) = run(
            app,
            services::create(app, &caller(USERS[seller]), read(body.as_bytes(), &app.cfg)).await,
        )
        .await
        .unwrap();
        approve(app, s.id.as_str()).await;
        out.push((
            s.id.to_string(),
            seller,
            Money::parse("p", price).unwrap(),
            Money::parse("p", up).unwrap(),
        ));
    }
    out
}

async fn step(h: &Harness, m: &mut Model, services: &[(String, usize, Money, Money)], op: &Op) {
    let app = &h.app;
    match op.clone() {
        Op::Topup { user, cents } => {
            let amount = Money::from_cents(cents);
            let body = format!(r#"{{"amount":"{amount}","method":"sandbox"}}"#);
            let r = run(
                app,
                accounts::topup(app, &caller(USERS[user]), read(body.as_bytes(), &app.cfg)).await,
            )
            .await;
            let valid = (100..=100_000).contains(&cents);
            assert_eq!(r.is_ok(), valid, "topup {amount}: {r:?}");
            if valid {
                m.add(user, UserAccount::Balance, amount.amount());
            }
        }
        Op::Place {
            buyer,
            service,
            upgrade,
            qty,
        } => {
            let (sid, seller, price, up) = &services[service];
            let total = (*price + if upgrade { *up } else { Money::ZERO }).times(qty as u32);
            let upgrades = if upgrade { "[0]" } else { "[]" };
            let body =
                format!(r#"{{"service_id":"{sid}","upgrades":{upgrades},"quantity":{qty}}}"#);
            let r = run(
                app,
                place_order::place_order(
                    app,
                    &caller(USERS[buyer]),
                    read(body.as_bytes(), &app.cfg),
                )
                .await,
            )
            .await;
            let bal = m.get(buyer, UserAccount::Balance);
            let avail = m.get(buyer, UserAccount::EarningsAvailable);
            let affordable = bal + avail >= total.amount();
            let should = buyer != *seller && affordable;
            match r {
                Ok(o) => {
                    assert!(should, "order placed though the model refuses it");
                    assert_eq!(o.total, total);
                    let from_balance = Money::from_decimal(bal).expect("a balance").min(total);
                    let from_earnings = total - from_balance;
                    assert_eq!(
                        (o.paid_from_balance, o.paid_from_earnings),
                        (from_balance, from_earnings)
                    );
                    m.add(buyer, UserAccount::Balance, -from_balance.amount());
                    m.add(
                        buyer,
                        UserAccount::EarningsAvailable,
                        -from_earnings.amount(),
                    );
                    m.orders.push(ModelOrder {
                        id: o.id,
                        buyer,
                        seller: *seller,
                        total,
                        from_balance,
                        from_earnings,
                        status: o.status,
                        cleared: false,
                    });
                }
                Err(e) => {
                    assert!(!should, "model expected an order, got {e:?}");
                    assert!(expected(&e), "{e:?}");
                }
            }
        }
        Op::Act { order, t } => {
            if m.orders.is_empty() {
                return;
            }
            let o = &m.orders[order % m.orders.len()];
            let (buyer, seller) = (caller(USERS[o.buyer]), caller(USERS[o.seller]));
            let cfg = &app.cfg;
            let (actor, tr): (Caller, Transition) = match t {
                0 => (
                    buyer,
                    Transition::Instructions(read(br#"{"text":"Use blue"}"#, cfg)),
                ),
                1 => (
                    seller,
                    Transition::Deliver(read(br#"{"text":"Here it is"}"#, cfg)),
                ),
                2 => (buyer, Transition::Receive(read(b"", cfg))),
                3 => (
                    buyer,
                    Transition::Changes(read(br#"{"text":"Bigger please"}"#, cfg)),
                ),
                4 => (buyer, Transition::Cancel(read(b"", cfg))),
                5 => (seller, Transition::Cancel(read(b"", cfg))),
                6 => (
                    operator(),
                    Transition::OperatorCancel(read(br#"{"reason":"dispute"}"#, cfg)),
                ),
                _ => (
                    operator(),
                    Transition::OperatorComplete(read(br#"{"reason":"dispute"}"#, cfg)),
                ),
            };
            let id = o.id.to_string();
            if let Err(e) = run(app, transition(app, &actor, &id, tr).await).await {
                assert!(expected(&e), "{e:?}");
            }
        }
        Op::Advance { hours } => {
            let now = app.now().plus_ms(hours * HOUR_MS);
            h.clock.set(now);
            timers::fire_due(app, now).await.unwrap();
        }
        Op::Withdraw { user, cents } => {
            let amount = Money::from_cents(cents);
            let body = format!(r#"{{"amount":"{amount}","paypal_email":"x@example.com"}}"#);
            let r = run(
                app,
                request(app, &caller(USERS[user]), read(body.as_bytes(), &app.cfg)).await,
            )
            .await;
            let should =
                cents >= 1000 && amount.amount() <= m.get(user, UserAccount::EarningsAvailable);
            match r {
                Ok(w) => {
                    assert!(should, "withdrawal the model refuses");
                    m.add(user, UserAccount::EarningsAvailable, -amount.amount());
                    m.add(user, UserAccount::WithdrawalsInFlight, amount.amount());
                    m.withdrawals.push(ModelWithdrawal {
                        id: w.id,
                        user,
                        amount,
                        status: WithdrawalStatus::Requested,
                    });
                }
                Err(e) => {
                    let too_small = cents < 1000
                        && matches!(&e, AppError::Domain(d) if d.kind() == ErrorKind::Invalid);
                    assert!(!should && (expected(&e) || too_small), "{e:?}")
                }
            }
        }
        Op::Settle { w, how } => {
            if m.withdrawals.is_empty() {
                return;
            }
            let i = w % m.withdrawals.len();
            let reason = || read(br#"{"reason":"r"}"#, &app.cfg);
            let how =
                [Settle::Approve, Settle::Reject(reason()), Settle::Approve][how as usize].clone();
            let approve = how == Settle::Approve;
            let id = m.withdrawals[i].id.to_string();
            let r = run(app, settle(app, &operator(), &id, how).await).await;
            let mw = &mut m.withdrawals[i];
            assert_eq!(r.is_ok(), mw.status == WithdrawalStatus::Requested, "{r:?}");
            if let Ok(w) = r {
                mw.status = w.status;
                // Approval moves nothing (no payout provider here: it stays
                // approved); a rejection brings the money home.
                if !approve {
                    let (user, amount) = (mw.user, mw.amount.amount());
                    m.add(user, UserAccount::WithdrawalsInFlight, -amount);
                    m.add(user, UserAccount::EarningsAvailable, amount);
                }
            }
        }
        Op::Payout { w, status } => {
            if m.withdrawals.is_empty() {
                return;
            }
            let i = w % m.withdrawals.len();
            let status = PAYOUT_STATUSES[status as usize];
            let mw = &mut m.withdrawals[i];
            let item = PayoutItem {
                id: PayoutItemId::new(format!("item-{}", mw.id)),
                batch: PayoutBatchId::new(format!("batch-{}", mw.id)),
                status,
                amount: mw.amount,
                fee: Some(Money::from_cents(25)),
                withdrawal: Some(mw.id.clone()),
            };
            item_changed(app, &item)
                .await
                .expect("a payout event applies");
            // Only an approved (sent) withdrawal settles, once; the fee is
            // the platform's and touches no user account.
            if mw.status == WithdrawalStatus::Approved {
                let (user, amount) = (mw.user, mw.amount.amount());
                if status == PayoutStatus::Success {
                    mw.status = WithdrawalStatus::Paid;
                    m.add(user, UserAccount::WithdrawalsInFlight, -amount);
                } else if status.is_failure() {
                    mw.status = WithdrawalStatus::Failed;
                    m.add(user, UserAccount::WithdrawalsInFlight, -amount);
                    m.add(user, UserAccount::EarningsAvailable, amount);
                }
            }
            let mw = &m.withdrawals[i];
            let stored = app.store.withdrawal(&mw.id).await.unwrap().unwrap();
            assert_eq!(stored.status, mw.status, "{status:?}");
        }
    }
    observe_orders(app, m).await;
}

/// Applies to the model the money each observed order change implies.
async fn observe_orders(app: &App, m: &mut Model) {
    let fee_rate = app.cfg.fee_rate;
    for i in 0..m.orders.len() {
        let stored = app.store.order(&m.orders[i].id).await.unwrap().unwrap();
        let o = &m.orders[i];
        let (buyer, seller, total) = (o.buyer, o.seller, o.total);
        let was = o.status;
        let (fb, fe) = (o.from_balance.amount(), o.from_earnings.amount());
        let split = split_fee(total, fee_rate);
        if !was.is_finished() && stored.status == OrderStatus::Cancelled {
            m.add(buyer, UserAccount::Balance, fb);
            m.add(buyer, UserAccount::EarningsAvailable, fe);
        }
        if !was.is_finished() && stored.status == OrderStatus::Completed {
            m.add(
                seller,
                UserAccount::EarningsPending,
                split.seller_net.amount(),
            );
            m.platform += split.fee.amount();
        }
        if was.is_finished() && was != stored.status {
            panic!("a finished order changed: {was:?} -> {:?}", stored.status);
        }
        if !m.orders[i].cleared && stored.cleared_at.is_some() {
            m.add(
                seller,
                UserAccount::EarningsPending,
                -split.seller_net.amount(),
            );
            m.add(
                seller,
                UserAccount::EarningsAvailable,
                split.seller_net.amount(),
            );
            m.orders[i].cleared = true;
        }
        m.orders[i].status = stored.status;
    }
}

async fn check(app: &App, m: &Model) {
    let all = app.store.all_balances().await.unwrap();
    // The running totals agree with the full read, and the check on them
    // finds nothing (escrow owed included).
    let totals = app.store.ledger_totals().await.unwrap();
    for kind in khamsa_app::totals::Total::KINDS {
        let sum: Decimal = all
            .iter()
            .filter(|(a, _)| khamsa_app::totals::Total::of_account(a) == kind)
            .map(|(_, d)| *d)
            .sum();
        assert_eq!(totals.get(kind), sum, "{kind:?}");
    }
    let audit = khamsa_app::usecases::ledger_check::judge(&totals);
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);
    let total: Decimal = all.iter().map(|(_, d)| *d).sum();
    assert!(total.is_zero(), "accounts sum to {total}");
    let mut platform = Decimal::ZERO;
    for (a, d) in &all {
        assert!(a.may_go_negative() || *d >= Decimal::ZERO, "{a:?} is {d}");
        if let Account::Platform { .. } = a {
            platform += d;
        }
    }
    assert_eq!(platform, m.platform, "platform revenue");
    let escrow: HashMap<_, _> = all
        .iter()
        .filter_map(|(a, d)| match a {
            Account::Escrow { order } => Some((order.clone(), *d)),
            _ => None,
        })
        .collect();
    for o in &m.orders {
        let held = escrow.get(&o.id).copied().unwrap_or_default();
        let want = if o.status.is_finished() {
            Decimal::ZERO
        } else {
            o.total.amount()
        };
        assert_eq!(held, want, "escrow of {} while {:?}", o.id, o.status);
    }
    for (u, name) in USERS.iter().enumerate() {
        let b = app
            .store
            .balances(&khamsa_domain::ids::UserId::new(*name))
            .await
            .unwrap();
        for a in UserAccount::ALL {
            assert_eq!(b.get(a).amount(), m.get(u, a), "{name} {a}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_balance_matches_the_model_after_any_sequence(ops in prop::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let h = harness();
            let mut m = Model::default();
            let services = setup(&h.app).await;
            for op in &ops {
                step(&h, &mut m, &services, op).await;
                check(&h.app, &m).await;
            }
        });
    }
}
