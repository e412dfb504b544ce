//! Running ledger totals, kept in the same unit of work as each posting so
//! that the operators' check reads a handful of numbers instead of every
//! account ever opened (issue 9). Both stores add `LedgerTotals::of_unit`
//! to their totals inside the commit; the DynamoDB store spreads them over
//! shards (see its `totals` item), the memory store keeps one.

use crate::ports::{UnitOfWork, Write};
use khamsa_domain::ledger::{Account, PostingKind, UserAccount};
use rust_decimal::Decimal;

/// One running total. The stored attribute name is `as_str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Total {
    /// Per account kind: the sum of every account of that kind.
    Balance,
    EarningsPending,
    EarningsAvailable,
    WithdrawalsInFlight,
    Escrow,
    Platform,
    PaymentFees,
    PaymentLosses,
    External,
    /// Sum of credit legs and of debit legs (as positive amounts).
    Credits,
    Debits,
    /// What open orders paid into escrow: plus at `OrderPlaced`, minus the
    /// order's whole payment when it completes or is refunded. Escrow must
    /// equal it, or a finished order still holds money.
    EscrowOwed,
    /// How many postings were applied.
    Postings,
}

impl Total {
    /// Every total, the account kinds first (see [`Total::KINDS`]).
    pub const ALL: [Total; 13] = [
        Total::Balance,
        Total::EarningsPending,
        Total::EarningsAvailable,
        Total::WithdrawalsInFlight,
        Total::Escrow,
        Total::Platform,
        Total::PaymentFees,
        Total::PaymentLosses,
        Total::External,
        Total::Credits,
        Total::Debits,
        Total::EscrowOwed,
        Total::Postings,
    ];

    /// The account kinds, whose totals sum to zero: the first nine of
    /// [`Total::ALL`], so the two lists cannot drift apart.
    pub const KINDS: [Total; 9] = {
        let mut kinds = [Total::Balance; 9];
        let mut i = 0;
        while i < kinds.len() {
            kinds[i] = Total::ALL[i];
            i += 1;
        }
        kinds
    };

    pub fn as_str(self) -> &'static str {
        match self {
            Total::Balance => "balance",
            Total::EarningsPending => "earnings_pending",
            Total::EarningsAvailable => "earnings_available",
            Total::WithdrawalsInFlight => "withdrawals_in_flight",
            Total::Escrow => "escrow",
            Total::Platform => "platform",
            Total::PaymentFees => "payment_fees",
            Total::PaymentLosses => "payment_losses",
            Total::External => "external",
            Total::Credits => "credits",
            Total::Debits => "debits",
            Total::EscrowOwed => "escrow_owed",
            Total::Postings => "postings",
        }
    }

    pub fn of_account(a: &Account) -> Total {
        match a {
            Account::User { account, .. } => match account {
                UserAccount::Balance => Total::Balance,
                UserAccount::EarningsPending => Total::EarningsPending,
                UserAccount::EarningsAvailable => Total::EarningsAvailable,
                UserAccount::WithdrawalsInFlight => Total::WithdrawalsInFlight,
            },
            Account::Escrow { .. } => Total::Escrow,
            Account::Platform { .. } => Total::Platform,
            Account::PaymentFees => Total::PaymentFees,
            Account::PaymentLosses => Total::PaymentLosses,
            Account::External => Total::External,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerTotals([Decimal; 13]);

impl LedgerTotals {
    pub fn get(&self, t: Total) -> Decimal {
        self.0[t.index()]
    }

    pub fn add(&mut self, t: Total, d: Decimal) {
        self.0[t.index()] += d;
    }

    pub fn merge(&mut self, other: &LedgerTotals) {
        for t in Total::ALL {
            self.add(t, other.get(t));
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(Decimal::is_zero)
    }

    /// The non-zero totals, for a store to `ADD`.
    pub fn nonzero(&self) -> impl Iterator<Item = (Total, Decimal)> + '_ {
        Total::ALL
            .into_iter()
            .map(|t| (t, self.get(t)))
            .filter(|(_, d)| !d.is_zero())
    }

    /// What this unit of work's postings add to the totals.
    pub fn of_unit(uow: &UnitOfWork) -> LedgerTotals {
        let mut t = LedgerTotals::default();
        for p in &uow.postings {
            t.add(Total::Postings, Decimal::ONE);
            let mut escrow_in = Decimal::ZERO;
            for leg in p.legs() {
                let d = leg.amount();
                t.add(Total::of_account(leg.account()), d);
                if d > Decimal::ZERO {
                    t.add(Total::Credits, d);
                } else {
                    t.add(Total::Debits, -d);
                }
                if matches!(leg.account(), Account::Escrow { .. }) {
                    escrow_in += d;
                }
            }
            let owed = match p.kind() {
                PostingKind::OrderPlaced => escrow_in,
                // The order's whole payment leaves what is owed, whatever
                // the posting moved: a short release shows as a difference.
                PostingKind::OrderCompleted | PostingKind::OrderRefunded => {
                    let paid = uow.writes.iter().find_map(|w| {
                        if let Write::Order(o) = w
                            && Some(&o.id) == p.order_id()
                        {
                            Some(o.paid_from_balance.amount() + o.paid_from_earnings.amount())
                        } else {
                            None
                        }
                    });
                    // Every transition writes its order; without one, what
                    // left escrow is the best there is.
                    -paid.unwrap_or(-escrow_in)
                }
                PostingKind::Topup
                | PostingKind::EarningsCleared
                | PostingKind::WithdrawalRequested
                | PostingKind::WithdrawalPaid
                | PostingKind::WithdrawalReturned
                | PostingKind::PaymentFee
                // Nothing else may touch escrow: if it does, it shows.
                | PostingKind::TopupReversed => Decimal::ZERO,
            };
            t.add(Total::EscrowOwed, owed);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khamsa_domain::ids::{OrderId, UserId};

    /// Every account maps to one of the kinds, and every kind is some
    /// account's: the check sums exactly the account totals.
    #[test]
    fn the_kinds_are_exactly_the_account_totals() {
        let u = UserId::new("u");
        let accounts = [
            Account::user(&u, UserAccount::Balance),
            Account::user(&u, UserAccount::EarningsPending),
            Account::user(&u, UserAccount::EarningsAvailable),
            Account::user(&u, UserAccount::WithdrawalsInFlight),
            Account::Escrow {
                order: OrderId::new("o"),
            },
            Account::Platform { shard: 3 },
            Account::PaymentFees,
            Account::PaymentLosses,
            Account::External,
        ];
        let mut of: Vec<Total> = accounts.iter().map(Total::of_account).collect();
        of.sort();
        let mut kinds = Total::KINDS.to_vec();
        kinds.sort();
        assert_eq!(of, kinds);
        assert!(
            Total::ALL[Total::KINDS.len()..]
                .iter()
                .all(|t| !Total::KINDS.contains(t))
        );
    }
}
