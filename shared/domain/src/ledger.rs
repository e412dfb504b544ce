//! The double-entry ledger: every movement is a posting whose legs sum to
//! zero. Outside money enters only through `external`.

use crate::error::{DomainError, DomainResult};
use crate::ids::{OrderId, PostingId, TopupId, UserId, WithdrawalId};
use crate::money::Money;
use crate::time::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A user's own accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

    pub fn name(self) -> &'static str {
        match self {
            UserAccount::Balance => "balance",
            UserAccount::EarningsPending => "earnings_pending",
            UserAccount::EarningsAvailable => "earnings_available",
            UserAccount::WithdrawalsInFlight => "withdrawals_in_flight",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Account {
    User { user: UserId, account: UserAccount },
    Escrow { order: OrderId },
    Platform { shard: u8 },
    External,
}

impl Account {
    pub fn user(user: &UserId, account: UserAccount) -> Account {
        Account::User {
            user: user.clone(),
            account,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Account::User { account, .. } => account.name(),
            Account::Escrow { .. } => "escrow",
            Account::Platform { .. } => "platform",
            Account::External => "external",
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub account: Account,
    /// Signed: positive credits the account, negative debits it.
    pub amount: Decimal,
}

/// A balanced movement of money. Construct with `Posting::new`, which
/// refuses any set of legs that does not sum to zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    pub id: PostingId,
    pub kind: PostingKind,
    pub at: Timestamp,
    pub order_id: Option<OrderId>,
    pub withdrawal_id: Option<WithdrawalId>,
    pub topup_id: Option<TopupId>,
    pub legs: Vec<Leg>,
}

/// What a posting is about, for the user's ledger view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostingRef {
    pub order_id: Option<OrderId>,
    pub withdrawal_id: Option<WithdrawalId>,
    pub topup_id: Option<TopupId>,
}

impl Posting {
    /// `moves` are (from, to, amount) transfers; zero amounts are dropped.
    pub fn new(
        id: PostingId,
        kind: PostingKind,
        at: Timestamp,
        refs: PostingRef,
        moves: &[(Account, Account, Money)],
    ) -> DomainResult<Posting> {
        let mut legs = Vec::with_capacity(moves.len() * 2);
        for (from, to, amount) in moves {
            if amount.is_zero() {
                continue;
            }
            legs.push(Leg {
                account: from.clone(),
                amount: -amount.amount(),
            });
            legs.push(Leg {
                account: to.clone(),
                amount: amount.amount(),
            });
        }
        let p = Posting {
            id,
            kind,
            at,
            order_id: refs.order_id,
            withdrawal_id: refs.withdrawal_id,
            topup_id: refs.topup_id,
            legs,
        };
        if !p.is_balanced() {
            return Err(DomainError::invalid("posting", "legs do not sum to zero"));
        }
        Ok(p)
    }

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
            &[(
                Account::External,
                Account::user(&u, UserAccount::Balance),
                Money::dollars(20),
            )],
        )
        .unwrap();
        assert!(p.is_balanced());
        assert_eq!(p.legs.len(), 2);
        let net = Posting::net_by_account(&[p]);
        assert_eq!(net[0].1, Decimal::new(-2000, 2));
    }
}
