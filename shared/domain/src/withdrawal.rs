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
    /// The seller asked: available → in flight.
    Requested,
    /// An operator approved it (or it was under the auto-approval limit);
    /// the payouts worker has yet to send it.
    Approved,
    /// Sent to the provider; its batch and item ids are stored.
    Processing,
    /// The provider reported the item paid: in flight → external.
    Paid,
    /// An operator rejected it: in flight → available.
    Rejected,
    /// The provider refused or returned it: in flight → available.
    Failed,
}

fn unknown_withdrawal_status(_: &str) -> DomainError {
    DomainError::invalid("status", "unknown withdrawal status")
}

/// Why a withdrawal's money comes back: only these two endings return
/// funds, so the type admits no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// An operator refused it (only while `requested`).
    Rejected,
    /// The payout provider refused it (once `approved` or `processing`).
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
    /// The provider's ids once sent (PayPal's `payout_batch_id` and
    /// `payout_item_id`): the poll reads the item by its id.
    #[serde(default)]
    pub payout_batch_id: Option<String>,
    #[serde(default)]
    pub payout_item_id: Option<String>,
    pub version: u64,
}

/// Where a payout stands at the provider, as the domain needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutReport {
    pub batch_id: String,
    pub item_id: String,
    /// The provider's fee for the item, when it says: the platform's cost.
    pub fee: Option<Money>,
}

fn wd_posting(
    w: &Withdrawal,
    kind: PostingKind,
    what: &str,
    debit: Account,
    credit: Account,
    now: Timestamp,
) -> Posting {
    wd_transfer(w, kind, what, debit, credit, w.amount, now)
}

fn wd_transfer(
    w: &Withdrawal,
    kind: PostingKind,
    what: &str,
    debit: Account,
    credit: Account,
    amount: Money,
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
            amount,
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
            payout_batch_id: None,
            payout_item_id: None,
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

    /// Whether a withdrawal of this amount is approved as it is requested:
    /// `auto_approve_withdrawal_max` of zero (the default) turns it off.
    pub fn auto_approved(&self, cfg: &Config) -> bool {
        cfg.auto_approve_withdrawal_max > Money::ZERO
            && self.amount <= cfg.auto_approve_withdrawal_max
    }

    fn moved(
        &self,
        from: &[WithdrawalStatus],
        action: &'static str,
        to: WithdrawalStatus,
        now: Timestamp,
    ) -> DomainResult<Withdrawal> {
        if !from.contains(&self.status) {
            return Err(DomainError::InvalidTransition {
                action,
                state: self.status.into(),
            });
        }
        let mut w = self.clone();
        w.status = to;
        w.updated_at = now;
        Ok(w)
    }

    /// Requested → approved: the payouts worker sends it next. Nothing
    /// moves in the ledger until the provider answers.
    pub fn approve(&self, now: Timestamp) -> DomainResult<Withdrawal> {
        self.moved(
            &[WithdrawalStatus::Requested],
            "approve a withdrawal",
            WithdrawalStatus::Approved,
            now,
        )
    }

    /// Approved → processing: the provider accepted the payout.
    pub fn sent(&self, batch_id: &str, item_id: &str, now: Timestamp) -> DomainResult<Withdrawal> {
        let mut w = self.moved(
            &[WithdrawalStatus::Approved],
            "send a withdrawal",
            WithdrawalStatus::Processing,
            now,
        )?;
        w.payout_batch_id = Some(batch_id.to_owned());
        w.payout_item_id = Some(item_id.to_owned());
        Ok(w)
    }

    /// The provider reported the item paid: the money leaves the site, and
    /// the provider's fee, if it names one, is the platform's cost. Also
    /// from `approved`: the provider's event can overtake the worker's own
    /// commit of `processing`.
    pub fn pay(
        &self,
        report: Option<&PayoutReport>,
        now: Timestamp,
    ) -> DomainResult<(Withdrawal, Vec<Posting>, Notice)> {
        let mut w = self.moved(
            &[WithdrawalStatus::Approved, WithdrawalStatus::Processing],
            "pay a withdrawal",
            WithdrawalStatus::Paid,
            now,
        )?;
        if let Some(r) = report {
            w.payout_batch_id = Some(r.batch_id.clone());
            w.payout_item_id = Some(r.item_id.clone());
        }
        let mut postings = vec![wd_posting(
            &w,
            PostingKind::WithdrawalPaid,
            "paid",
            Account::user(&w.user_id, UserAccount::WithdrawalsInFlight),
            Account::External,
            now,
        )];
        // The provider keeps its fee on top of the amount sent, from the
        // platform's own money outside the site: `payment_fees` counts it
        // and `external` balances it, so the seller still gets the full
        // amount and no user account moves.
        if let Some(fee) = report.and_then(|r| r.fee).filter(|f| *f > Money::ZERO) {
            postings.push(wd_transfer(
                &w,
                PostingKind::PaymentFee,
                "payout-fee",
                Account::External,
                Account::PaymentFees,
                fee,
                now,
            ));
        }
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
        Ok((w, postings, n))
    }

    /// Rejected by an operator (while `requested`), or failed at the
    /// provider (once `approved` or `processing`): the money goes back to
    /// available earnings.
    pub fn return_funds(
        &self,
        how: Returned,
        reason: Option<Text>,
        now: Timestamp,
    ) -> DomainResult<(Withdrawal, Posting)> {
        let mut w = match how {
            Returned::Rejected => self.moved(
                &[WithdrawalStatus::Requested],
                "reject a withdrawal",
                WithdrawalStatus::Rejected,
                now,
            )?,
            Returned::Failed => self.moved(
                &[WithdrawalStatus::Approved, WithdrawalStatus::Processing],
                "fail a withdrawal",
                WithdrawalStatus::Failed,
                now,
            )?,
        };
        w.reason = reason.map(Text::into_string);
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

    /// The provider failed the payout: the money comes back, and the
    /// seller is told why.
    pub fn fail(
        &self,
        reason: &str,
        now: Timestamp,
    ) -> DomainResult<(Withdrawal, Posting, Notice)> {
        let (mut w, p) = self.return_funds(Returned::Failed, None, now)?;
        w.reason = Some(reason.to_owned());
        let n = Notice {
            to: w.user_id.clone(),
            order_id: None,
            withdrawal_id: Some(w.id.clone()),
            service_title: None,
            kind: NoticeKind::WithdrawalFailed {
                amount: w.amount,
                reason: w.reason.clone().unwrap_or_default(),
            },
        };
        Ok((w, p, n))
    }
}
