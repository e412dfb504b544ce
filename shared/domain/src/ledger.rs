//! The double-entry ledger: every movement is a posting whose legs sum to
//! zero. Outside money enters only through `external`.

use crate::ids::{OrderId, PostingId, TopupId, UserId, WithdrawalId};
use crate::money::Money;
use crate::time::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString};

/// A user's own accounts.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Display,
    EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum UserAccount {
    Balance,
    EarningsPending,
    EarningsAvailable,
    WithdrawalsInFlight,
}

impl UserAccount {
    pub const ALL: [UserAccount; 4] = [
        UserAccount::Balance,
        UserAccount::EarningsPending,
        UserAccount::EarningsAvailable,
        UserAccount::WithdrawalsInFlight,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Account {
    User {
        user: UserId,
        account: UserAccount,
    },
    Escrow {
        order: OrderId,
    },
    Platform {
        shard: u8,
    },
    /// What payment providers charged us (payments.md): revenue minus this
    /// is the real margin.
    PaymentFees,
    /// Money a reversal took back that the user no longer held.
    PaymentLosses,
    External,
}

impl Account {
    pub fn user(user: &UserId, account: UserAccount) -> Account {
        Account::User {
            user: user.clone(),
            account,
        }
    }

    /// Only `external` may go negative: it mirrors money outside the site.
    pub fn may_go_negative(&self) -> bool {
        matches!(self, Account::External)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingKind {
    Topup,
    OrderPlaced,
    OrderRefunded,
    OrderCompleted,
    EarningsCleared,
    WithdrawalRequested,
    WithdrawalPaid,
    WithdrawalReturned,
    /// A provider's fee on a top-up or a payout.
    PaymentFee,
    /// A refund or chargeback of a settled top-up.
    TopupReversed,
}

/// One side of a transfer. Only `Posting::new` makes legs, always as a
/// debit and a credit of the same amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    account: Account,
    /// Signed: positive credits the account, negative debits it.
    amount: Decimal,
}

impl Leg {
    pub fn account(&self) -> &Account {
        &self.account
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }
}

/// `amount` leaves `debit` and arrives in `credit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub debit: Account,
    pub credit: Account,
    pub amount: Money,
}

/// A balanced movement of money: it is built from transfers only, so its
/// legs always sum to zero. Fields are private to keep it that way; the
/// serde names are the stored format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    id: PostingId,
    kind: PostingKind,
    at: Timestamp,
    order_id: Option<OrderId>,
    withdrawal_id: Option<WithdrawalId>,
    topup_id: Option<TopupId>,
    legs: Vec<Leg>,
}

/// What a posting is about, for the user's ledger view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostingRef {
    pub order_id: Option<OrderId>,
    pub withdrawal_id: Option<WithdrawalId>,
    pub topup_id: Option<TopupId>,
}

impl Posting {
    /// Each transfer becomes a debit leg and a credit leg, in order; zero
    /// amounts are dropped.
    pub fn new(
        id: PostingId,
        kind: PostingKind,
        at: Timestamp,
        refs: PostingRef,
        transfers: impl IntoIterator<Item = Transfer>,
    ) -> Posting {
        let legs = transfers
            .into_iter()
            .filter(|t| !t.amount.is_zero())
            .flat_map(|t| {
                [
                    Leg {
                        account: t.debit,
                        amount: -t.amount.amount(),
                    },
                    Leg {
                        account: t.credit,
                        amount: t.amount.amount(),
                    },
                ]
            })
            .collect();
        Posting {
            id,
            kind,
            at,
            order_id: refs.order_id,
            withdrawal_id: refs.withdrawal_id,
            topup_id: refs.topup_id,
            legs,
        }
    }

    pub fn id(&self) -> &PostingId {
        &self.id
    }

    pub fn kind(&self) -> PostingKind {
        self.kind
    }

    pub fn at(&self) -> Timestamp {
        self.at
    }

    pub fn order_id(&self) -> Option<&OrderId> {
        self.order_id.as_ref()
    }

    pub fn withdrawal_id(&self) -> Option<&WithdrawalId> {
        self.withdrawal_id.as_ref()
    }

    pub fn topup_id(&self) -> Option<&TopupId> {
        self.topup_id.as_ref()
    }

    pub fn legs(&self) -> &[Leg] {
        &self.legs
    }

    /// True for every posting `new` builds; stores still check, since serde
    /// can make one from anything.
    pub fn is_balanced(&self) -> bool {
        self.legs
            .iter()
            .map(|l| l.amount)
            .sum::<Decimal>()
            .is_zero()
    }

    /// Net change per account, for stores that must touch each account once
    /// in a transaction (DynamoDB refuses two operations on one item).
    pub fn net_by_account(postings: &[Posting]) -> Vec<(Account, Decimal)> {
        let mut out: Vec<(Account, Decimal)> = Vec::new();
        for leg in postings.iter().flat_map(|p| &p.legs) {
            match out.iter_mut().find(|(a, _)| *a == leg.account) {
                Some((_, d)) => *d += leg.amount,
                None => out.push((leg.account.clone(), leg.amount)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posting_is_balanced_by_construction() {
        let u = UserId::new("u");
        let p = Posting::new(
            PostingId::new("p"),
            PostingKind::Topup,
            Timestamp(0),
            PostingRef::default(),
            [Transfer {
                debit: Account::External,
                credit: Account::user(&u, UserAccount::Balance),
                amount: Money::dollars(20),
            }],
        );
        assert!(p.is_balanced());
        assert_eq!(p.legs().len(), 2);
        let net = Posting::net_by_account(&[p]);
        assert_eq!(net[0].1, Decimal::new(-2000, 2));
    }
}
