//! Fixtures shared by the domain's rule tests: one clock, one
//! configuration, money from text, the usual parties, services and orders,
//! and a toy ledger that checks every posting it applies.

// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use khamsa_domain::ids::{OrderId, ServiceId, UserId};
use khamsa_domain::ledger::{Account, Posting};
use khamsa_domain::order::{Decision, Funds, Order, OrderRequest, Party, TimerKind};
use khamsa_domain::service::{DraftInput, Service, ServiceDraft};
use khamsa_domain::text::Text;
use khamsa_domain::time::DAY_MS;
use khamsa_domain::{Config, DomainResult, Money, Timestamp};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// When the story starts (an order is placed, a withdrawal requested...).
pub const T0: Timestamp = Timestamp(1_700_000_000_000);

pub fn cfg() -> Config {
    Config::default()
}

/// `n` days after `T0`.
pub fn day(n: i64) -> Timestamp {
    T0.plus_ms(n * DAY_MS)
}

pub fn just_before(t: Timestamp) -> Timestamp {
    t.plus_ms(-1)
}

pub fn usd(s: &str) -> Money {
    Money::parse("amount", s).unwrap()
}

pub fn seller() -> UserId {
    UserId::new("seller-1")
}

pub fn buyer() -> UserId {
    UserId::new("buyer-1")
}

pub fn oid() -> OrderId {
    OrderId::new("order-1")
}

/// Text as a user would send it (parsed as the edge does).
pub fn text(s: &str) -> Text {
    Text::parse("text", s, 5000).unwrap()
}

pub fn code<T: std::fmt::Debug>(r: DomainResult<T>) -> &'static str {
    r.expect_err("expected a refusal").code()
}

/// A service's fields, with no instructions and no upgrades.
pub fn listing(
    title: &str,
    description: &str,
    category: &str,
    price: &str,
    delivery_days: i64,
) -> DraftInput {
    DraftInput {
        title: Some(title.into()),
        description: Some(description.into()),
        category: Some(category.into()),
        price: Some(usd(price)),
        delivery_days: Some(delivery_days),
        instructions: None,
        upgrades: None,
    }
}

/// A service of `owner` created from `input` at `created`, pending review.
pub fn service(id: &str, owner: UserId, input: DraftInput, created: Timestamp) -> Service {
    let draft = ServiceDraft::parse(input, None, &cfg()).unwrap();
    Service::create(ServiceId::new(id), owner, draft, created)
}

/// `s` approved by an operator at `at`.
pub fn approved(mut s: Service, at: Timestamp) -> Service {
    s.approve(at).unwrap();
    s
}

pub fn funds(balance: &str, earnings: &str) -> Funds {
    Funds {
        balance: usd(balance),
        earnings_available: usd(earnings),
    }
}

/// The buyer orders `service` at `T0`; the upgrades and quantity are
/// parsed as the edge parses them.
pub fn try_place(
    service: &Service,
    upgrades: Vec<i64>,
    quantity: i64,
    f: Funds,
) -> DomainResult<Decision> {
    Order::place(
        oid(),
        service,
        &buyer(),
        OrderRequest::parse(&upgrades, quantity, &cfg())?,
        f,
        T0,
        &cfg(),
    )
}

/// One of `service`, no upgrades.
pub fn place(service: &Service, f: Funds) -> Decision {
    try_place(service, vec![], 1, f).unwrap()
}

/// Fires `kind` at `now`: `None` when the timer changes nothing.
/// `o`, delivered, received by the buyer at day 2.
pub fn received(o: Order) -> Order {
    o.receive(Party::Buyer, day(2), &cfg()).unwrap().order
}

pub fn fire(o: &Order, kind: TimerKind, now: Timestamp) -> Option<Decision> {
    o.fire_timer(kind, now, &cfg()).unwrap()
}

pub fn cents(d: Decimal) -> String {
    let mut d = d;
    d.rescale(2);
    d.to_string()
}

/// A posting's legs in order, amounts as two-decimal text.
pub fn legs(p: &Posting) -> Vec<(Account, String)> {
    p.legs()
        .iter()
        .map(|l| (l.account().clone(), cents(l.amount())))
        .collect()
}

/// A toy ledger: applies postings and reads balances back.
#[derive(Default)]
pub struct Books(BTreeMap<Account, Decimal>);

impl Books {
    /// Opens the books with each amount brought in from outside.
    pub fn opening(entries: &[(Account, &str)]) -> Books {
        let mut b = Books::default();
        for (a, amount) in entries {
            *b.0.entry(a.clone()).or_default() += usd(amount).amount();
            *b.0.entry(Account::External).or_default() -= usd(amount).amount();
        }
        b
    }

    /// Applies `postings`, checking that each balances, that only
    /// `external` goes negative and that the books still sum to zero.
    pub fn post<'a>(&mut self, postings: impl IntoIterator<Item = &'a Posting>) {
        for p in postings {
            assert!(p.is_balanced(), "unbalanced posting {p:?}");
            for l in p.legs() {
                *self.0.entry(l.account().clone()).or_default() += l.amount();
            }
        }
        for (a, v) in &self.0 {
            assert!(
                a.may_go_negative() || *v >= Decimal::ZERO,
                "{a:?} went negative: {v}"
            );
        }
        assert_eq!(
            self.0.values().sum::<Decimal>(),
            Decimal::ZERO,
            "the books do not sum to zero"
        );
    }

    pub fn of(&self, a: &Account) -> String {
        cents(self.0.get(a).copied().unwrap_or_default())
    }
}
