//! Withdrawals take earnings out to PayPal (top-ups are in `topup`).

use crate::config::Config;
use crate::error::{DomainError, DomainResult};
use crate::ids::{PostingId, UserId, WithdrawalId};
use crate::ledger::{Account, Posting, PostingKind, PostingRef, Transfer, UserAccount};
use crate::money::Money;
use crate::notice::{Notice, NoticeKind};
use crate::text::{EmailAddress, Text};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

// Top-ups moved to `topup.rs` (issue 8); re-exported for existing paths.
pub use crate::topup::{Topup, TopupMethod, TopupStatus};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display, IntoStaticStr, EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(
    serialize_all = "snake_case",
    parse_err_ty = DomainError,
    parse_err_fn = unknown_withdrawal_status
)]
pub enum WithdrawalStatus {
    Requested,
    Paid,
    Rejected,
    Failed,
}

fn unknown_withdrawal_status(_: &str) -> DomainError {
    DomainError::invalid("status", "unknown withdrawal status")
}

/// Why a requested withdrawal's money comes back: only these two endings
/// return funds, so the type admits no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// An operator refused it.
    Rejected,
    /// The payout provider refused it.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub id: WithdrawalId,
    pub user_id: UserId,
    pub amount: Money,
    pub paypal_email: EmailAddress,
    pub status: WithdrawalStatus,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

fn wd_posting(
    w: &Withdrawal,
    kind: PostingKind,
    what: &str,
    debit: Account,
    credit: Account,
    now: Timestamp,
) -> Posting {
    Posting::new(
        PostingId::new(format!("{}/{what}", w.id)),
        kind,
        now,
        PostingRef {
            withdrawal_id: Some(w.id.clone()),
            ..Default::default()
        },
        [Transfer {
            debit,
            credit,
            amount: w.amount,
        }],
    )
}

impl Withdrawal {
    /// Only available earnings can leave: a refund to balance is not cash.
    pub fn request(
        id: WithdrawalId,
        user: &UserId,
        amount: Money,
        paypal_email: Option<EmailAddress>,
        available: Money,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<(Withdrawal, Posting)> {
        if amount < cfg.withdrawal_min {
            return Err(DomainError::invalid(
                "amount",
                format!("a withdrawal is at least {}", cfg.withdrawal_min),
            ));
        }
        let paypal_email = paypal_email.ok_or(DomainError::NoPaypalAddress)?;
        if amount > available {
            return Err(DomainError::InsufficientEarnings);
        }
        let w = Withdrawal {
            id,
            user_id: user.clone(),
            amount,
            paypal_email,
            status: WithdrawalStatus::Requested,
            reason: None,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let p = wd_posting(
            &w,
            PostingKind::WithdrawalRequested,
            "requested",
            Account::user(user, UserAccount::EarningsAvailable),
            Account::user(user, UserAccount::WithdrawalsInFlight),
            now,
        );
        Ok((w, p))
    }

    fn finish(
        &self,
        to: WithdrawalStatus,
        reason: Option<String>,
        now: Timestamp,
    ) -> DomainResult<Withdrawal> {
        if self.status != WithdrawalStatus::Requested {
            return Err(DomainError::InvalidTransition {
                action: "settle a withdrawal",
                state: self.status.into(),
            });
        }
        let mut w = self.clone();
        w.status = to;
        w.reason = reason;
        w.updated_at = now;
        Ok(w)
    }

    /// The operator paid it out: the money leaves the site.
    pub fn pay(&self, now: Timestamp) -> DomainResult<(Withdrawal, Posting, Notice)> {
        let w = self.finish(WithdrawalStatus::Paid, None, now)?;
        let p = wd_posting(
            &w,
            PostingKind::WithdrawalPaid,
            "paid",
            Account::user(&w.user_id, UserAccount::WithdrawalsInFlight),
            Account::External,
            now,
        );
        let n = Notice {
            to: w.user_id.clone(),
            order_id: None,
            withdrawal_id: Some(w.id.clone()),
            service_title: None,
            kind: NoticeKind::WithdrawalPaid {
                amount: w.amount,
                paypal_email: w.paypal_email.as_str().to_owned(),
            },
        };
        Ok((w, p, n))
    }

    /// Rejected by an operator, or failed at the provider: the money goes
    /// back to available earnings.
    pub fn return_funds(
        &self,
        how: Returned,
        reason: Option<Text>,
        now: Timestamp,
    ) -> DomainResult<(Withdrawal, Posting)> {
        let to = match how {
            Returned::Rejected => WithdrawalStatus::Rejected,
            Returned::Failed => WithdrawalStatus::Failed,
        };
        let w = self.finish(to, reason.map(Text::into_string), now)?;
        let p = wd_posting(
            &w,
            PostingKind::WithdrawalReturned,
            "returned",
            Account::user(&w.user_id, UserAccount::WithdrawalsInFlight),
            Account::user(&w.user_id, UserAccount::EarningsAvailable),
            now,
        );
        Ok((w, p))
    }
}
