//! Top-ups: outside money into a user's balance (payments.md, "Money in").
//!
//! The ledger scheme, balanced and with no account but `external` below
//! zero:
//! - settled: `external → balance` for the gross (`<id>/settled`), and
//!   `external → payment_fees` for the provider's fee (`<id>/fee`). So
//!   `payment_fees` is what providers charged (a cost, read as a positive
//!   number: revenue minus it is the margin), and the gross credited
//!   matches the provider's report line for line.
//! - reversed: `balance → external`, then `earnings_available → external`
//!   for what the user still holds, and `external → payment_losses` for the
//!   rest (`<id>/reversed`): the loss is a cost the platform bears, counted
//!   like the fee.
//!
//! Posting ids are deterministic, so a second settlement of the same
//! top-up (capture answer, webhook, retry) is refused by the store.

use crate::config::Config;
use crate::error::{DomainError, DomainResult};
use crate::ids::{PostingId, ServiceId, TopupId, UserId};
use crate::ledger::{Account, Posting, PostingKind, PostingRef, Transfer, UserAccount};
use crate::money::Money;
use crate::time::{HOUR_MS, Timestamp};
use serde::{Deserialize, Serialize};
use strum::EnumString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(
    serialize_all = "snake_case",
    parse_err_ty = DomainError,
    parse_err_fn = unknown_topup_method
)]
pub enum TopupMethod {
    Paypal,
    Cashu,
    Sandbox,
}

fn unknown_topup_method(_: &str) -> DomainError {
    DomainError::invalid("method", "must be paypal, cashu or sandbox")
}

impl TopupMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            TopupMethod::Paypal => "paypal",
            TopupMethod::Cashu => "cashu",
            TopupMethod::Sandbox => "sandbox",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopupStatus {
    Pending,
    Settled,
    Failed,
    Expired,
    Reversed,
}

/// The provider's checkout a pending top-up waits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupCheckout {
    /// The provider's order id (PayPal's `id`).
    pub order_id: String,
    pub approve_url: String,
}

/// A pay-with-PayPal top-up: the order to place when it settles, as the
/// buyer asked for it, and the total it cost then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayFor {
    pub service_id: ServiceId,
    pub upgrades: Vec<i64>,
    pub quantity: i64,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topup {
    pub id: TopupId,
    pub user_id: UserId,
    pub amount: Money,
    pub method: TopupMethod,
    pub status: TopupStatus,
    pub created_at: Timestamp,
    /// Until when a provider top-up may be captured.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub checkout: Option<TopupCheckout>,
    /// The provider's capture, once there is one (also while it is pending).
    #[serde(default)]
    pub capture_id: Option<String>,
    /// The provider's fee, once settled.
    #[serde(default)]
    pub fee: Option<Money>,
    #[serde(default)]
    pub pay_for: Option<PayFor>,
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    #[serde(default)]
    pub version: u64,
}

impl Topup {
    /// A sandbox top-up settles at once; a provider's waits for its
    /// capture, posts nothing until then, and expires if none comes.
    pub fn create(
        id: TopupId,
        user: &UserId,
        amount: Money,
        method: TopupMethod,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<(Topup, Option<Posting>)> {
        amount.check_range("amount", cfg.topup_min, cfg.topup_max, None)?;
        if method == TopupMethod::Sandbox && !cfg.sandbox_topups {
            // Kept as before (a 422 naming the field), which clients know.
            return Err(DomainError::invalid(
                "method",
                "sandbox top-ups are turned off in this deployment: use paypal",
            ));
        }
        let settled = method == TopupMethod::Sandbox;
        let posting = settled.then(|| {
            Posting::new(
                PostingId::new(format!("{id}/topup")),
                PostingKind::Topup,
                now,
                PostingRef {
                    topup_id: Some(id.clone()),
                    ..Default::default()
                },
                [Transfer {
                    debit: Account::External,
                    credit: Account::user(user, UserAccount::Balance),
                    amount,
                }],
            )
        });
        let topup = Topup {
            id,
            user_id: user.clone(),
            amount,
            method,
            status: if settled {
                TopupStatus::Settled
            } else {
                TopupStatus::Pending
            },
            created_at: now,
            expires_at: (!settled)
                .then(|| now.plus_ms(i64::from(cfg.topup_expiry_hours) * HOUR_MS)),
            checkout: None,
            capture_id: None,
            fee: None,
            pay_for: None,
            updated_at: None,
            version: 0,
        };
        Ok((topup, posting))
    }

    fn refs(&self) -> PostingRef {
        PostingRef {
            topup_id: Some(self.id.clone()),
            ..Default::default()
        }
    }

    fn moved(&self, status: TopupStatus, now: Timestamp) -> Topup {
        let mut t = self.clone();
        t.status = status;
        t.updated_at = Some(now);
        t
    }

    /// The provider completed the capture: credit the gross, book the fee.
    /// Also from `expired` or `failed`: the money did arrive. `None` when
    /// it is already settled (or reversed): nothing to do twice.
    pub fn settle(
        &self,
        capture_id: &str,
        fee: Money,
        now: Timestamp,
    ) -> Option<(Topup, Vec<Posting>)> {
        match self.status {
            TopupStatus::Pending | TopupStatus::Expired | TopupStatus::Failed => {}
            TopupStatus::Settled | TopupStatus::Reversed => return None,
        }
        let mut t = self.moved(TopupStatus::Settled, now);
        t.capture_id = Some(capture_id.to_owned());
        t.fee = Some(fee);
        let mut postings = vec![Posting::new(
            PostingId::new(format!("{}/settled", self.id)),
            PostingKind::Topup,
            now,
            self.refs(),
            [Transfer {
                debit: Account::External,
                credit: Account::user(&self.user_id, UserAccount::Balance),
                amount: self.amount,
            }],
        )];
        if !fee.is_zero() {
            postings.push(Posting::new(
                PostingId::new(format!("{}/fee", self.id)),
                PostingKind::PaymentFee,
                now,
                self.refs(),
                [Transfer {
                    debit: Account::External,
                    credit: Account::PaymentFees,
                    amount: fee,
                }],
            ));
        }
        Some((t, postings))
    }

    /// The provider holds the capture for now: remember it, stay pending
    /// (and no longer expire: the provider will settle or deny it).
    pub fn capture_pending(&self, capture_id: &str, now: Timestamp) -> Option<Topup> {
        if self.status != TopupStatus::Pending || self.capture_id.as_deref() == Some(capture_id) {
            return None;
        }
        let mut t = self.moved(TopupStatus::Pending, now);
        t.capture_id = Some(capture_id.to_owned());
        Some(t)
    }

    /// The provider declined or denied the capture.
    pub fn fail(&self, capture_id: Option<&str>, now: Timestamp) -> Option<Topup> {
        if self.status != TopupStatus::Pending {
            return None;
        }
        let mut t = self.moved(TopupStatus::Failed, now);
        if let Some(c) = capture_id {
            t.capture_id = Some(c.to_owned());
        }
        Some(t)
    }

    /// Whether it is past its time with no capture under way.
    pub fn is_due_to_expire(&self, now: Timestamp) -> bool {
        self.status == TopupStatus::Pending
            && self.capture_id.is_none()
            && self.expires_at.is_some_and(|e| e <= now)
    }

    pub fn expire(&self, now: Timestamp) -> Option<Topup> {
        self.is_due_to_expire(now)
            .then(|| self.moved(TopupStatus::Expired, now))
    }

    /// A refund or chargeback after settlement takes `amount` (at most the
    /// top-up) back: from the balance, then available earnings, and what
    /// the user no longer holds is the platform's loss. Returns the loss.
    pub fn reverse(
        &self,
        amount: Money,
        balance: Money,
        earnings_available: Money,
        now: Timestamp,
    ) -> Option<(Topup, Posting, Money)> {
        if self.status != TopupStatus::Settled {
            return None;
        }
        let amount = amount.min(self.amount);
        let from_balance = amount.min(balance);
        let rest = amount.checked_sub(from_balance).unwrap_or(Money::ZERO);
        let from_earnings = rest.min(earnings_available);
        let loss = rest.checked_sub(from_earnings).unwrap_or(Money::ZERO);
        let posting = Posting::new(
            PostingId::new(format!("{}/reversed", self.id)),
            PostingKind::TopupReversed,
            now,
            self.refs(),
            [
                Transfer {
                    debit: Account::user(&self.user_id, UserAccount::Balance),
                    credit: Account::External,
                    amount: from_balance,
                },
                Transfer {
                    debit: Account::user(&self.user_id, UserAccount::EarningsAvailable),
                    credit: Account::External,
                    amount: from_earnings,
                },
                Transfer {
                    debit: Account::External,
                    credit: Account::PaymentLosses,
                    amount: loss,
                },
            ],
        );
        Some((self.moved(TopupStatus::Reversed, now), posting, loss))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn pending() -> Topup {
        Topup::create(
            TopupId::new("top_1"),
            &UserId::new("u"),
            Money::dollars(20),
            TopupMethod::Paypal,
            Timestamp(0),
            &Config::default(),
        )
        .unwrap()
        .0
    }

    #[test]
    fn a_provider_topup_waits_and_expires_after_three_hours() {
        let t = pending();
        assert_eq!(t.status, TopupStatus::Pending);
        assert!(t.expire(Timestamp(3 * HOUR_MS - 1)).is_none());
        assert_eq!(
            t.expire(Timestamp(3 * HOUR_MS)).unwrap().status,
            TopupStatus::Expired
        );
        let held = t.capture_pending("c1", Timestamp(1)).unwrap();
        assert!(held.expire(Timestamp(4 * HOUR_MS)).is_none());
    }

    #[test]
    fn settling_credits_the_gross_books_the_fee_and_happens_once() {
        let t = pending();
        let fee = Money::parse("fee", "0.88").unwrap();
        let (s, postings) = t.settle("c1", fee, Timestamp(5)).unwrap();
        assert_eq!(s.status, TopupStatus::Settled);
        assert!(postings.iter().all(Posting::is_balanced));
        let net = Posting::net_by_account(&postings);
        let of = |a: &Account| net.iter().find(|(x, _)| x == a).map(|(_, d)| *d);
        assert_eq!(
            of(&Account::user(&UserId::new("u"), UserAccount::Balance)),
            Some(Decimal::new(2000, 2))
        );
        assert_eq!(of(&Account::PaymentFees), Some(Decimal::new(88, 2)));
        assert!(s.settle("c1", fee, Timestamp(6)).is_none());
        // A late completion still credits an expired top-up.
        let expired = t.expire(Timestamp(4 * HOUR_MS)).unwrap();
        assert!(expired.settle("c1", fee, Timestamp(4 * HOUR_MS)).is_some());
    }

    #[test]
    fn a_reversal_takes_balance_then_earnings_then_books_the_loss() {
        let (s, _) = pending().settle("c1", Money::ZERO, Timestamp(1)).unwrap();
        let (r, p, loss) = s
            .reverse(
                Money::dollars(20),
                Money::dollars(5),
                Money::dollars(10),
                Timestamp(2),
            )
            .unwrap();
        assert_eq!(r.status, TopupStatus::Reversed);
        assert_eq!(loss, Money::dollars(5));
        assert!(p.is_balanced());
        assert!(
            r.reverse(Money::dollars(20), Money::ZERO, Money::ZERO, Timestamp(3))
                .is_none()
        );
    }

    #[test]
    fn sandbox_off_is_refused() {
        let cfg = Config {
            sandbox_topups: false,
            ..Config::default()
        };
        let e = Topup::create(
            TopupId::new("t"),
            &UserId::new("u"),
            Money::dollars(5),
            TopupMethod::Sandbox,
            Timestamp(0),
            &cfg,
        )
        .unwrap_err();
        assert_eq!(e.code(), "validation_failed");
    }
}
