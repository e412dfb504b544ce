//! Withdrawals of available earnings to PayPal, and the operators' side.

use super::input::{Amount, Body, Input, OperatorReason, required};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{Page, PageReq, UnitOfWork, WithdrawalQuery, Write};
use khamsa_domain::ids::WithdrawalId;
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::text::EmailAddress;
use khamsa_domain::withdrawal::{Returned, Withdrawal, WithdrawalStatus};
use khamsa_domain::{Config, DomainError, DomainResult, Money};
use serde::Deserialize;

/// `POST /withdrawals`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRequest {
    pub amount: Money,
    /// The profile's PayPal address when not given.
    pub paypal_email: Option<EmailAddress>,
}

#[derive(Deserialize)]
pub struct WithdrawalJson {
    amount: Option<Amount>,
    paypal_email: Option<String>,
}

impl Body for WithdrawalRequest {
    type Json = WithdrawalJson;
    fn check(j: WithdrawalJson, _: &Config) -> DomainResult<Self> {
        Ok(WithdrawalRequest {
            amount: required("amount", j.amount)?.money("amount")?,
            paypal_email: j
                .paypal_email
                .map(|e| EmailAddress::parse("paypal_email", &e))
                .transpose()?,
        })
    }
}

pub async fn request(
    app: &App,
    caller: &Caller,
    input: Input<WithdrawalRequest>,
) -> AppResult<Outcome<Withdrawal>> {
    let WithdrawalRequest {
        amount,
        paypal_email: given,
    } = input?;
    // Issue 8: no withdrawals while a reversed payment is on hold. A
    // profile read anyway answers it at once; otherwise the commit checks
    // it (`not_on_hold`), and a refusal reads it (the hold comes first).
    let paypal = match given {
        Some(e) => Some(e),
        None => match app.store.profile(&caller.id).await? {
            Some(p) if p.payment_hold => return Err(DomainError::PaymentHold.into()),
            p => p.and_then(|p| p.paypal_email),
        },
    };
    let balances = app.store.balances(&caller.id).await?;
    let available = balances.earnings_available;
    let now = app.now();
    let (w, posting) = match Withdrawal::request(
        WithdrawalId::new(new_id("wd", now)),
        &caller.id,
        amount,
        paypal,
        available,
        now,
        &app.cfg,
    ) {
        Ok(x) => x,
        Err(e) => {
            super::reversals::check_no_hold(app, &caller.id).await?;
            return Err(e.into());
        }
    };
    // Under the configured limit it is approved at once, in the same unit
    // of work: committing it `approved` queues the payout (`App::commit`).
    let w = if w.auto_approved(&app.cfg) {
        w.approve(now)?
    } else {
        w
    };
    let uow = UnitOfWork {
        writes: vec![Write::Withdrawal(w.clone())],
        postings: vec![posting],
        not_on_hold: vec![caller.id.clone()],
        balances_read: vec![(caller.id.clone(), balances)],
        ..Default::default()
    };
    Ok(Outcome::new(w, uow).overdraft_means(DomainError::InsufficientEarnings))
}

/// `GET /withdrawals`: the caller's own.
pub async fn mine(app: &App, caller: &Caller, page: &PageReq) -> AppResult<Page<Withdrawal>> {
    let q = WithdrawalQuery::ByUser(caller.id.clone());
    Ok(app.store.withdrawals(&q, page).await?)
}

/// `GET /admin/withdrawals`: everyone's, in one status; served under
/// `/admin`, where the edge checks operators once.
pub async fn by_status(
    app: &App,
    status: WithdrawalStatus,
    page: &PageReq,
) -> AppResult<Page<Withdrawal>> {
    let q = WithdrawalQuery::ByStatus(status);
    Ok(app.store.withdrawals(&q, page).await?)
}

/// What an operator does with a requested withdrawal; the edge checks
/// operators once for every `/admin` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Approve it: the payouts worker sends it to PayPal.
    Approve,
    /// Needs a reason; the money goes back to available earnings.
    Reject(Input<OperatorReason>),
}

/// An operator approves or rejects a withdrawal; never one of their own.
/// Committing it `approved` queues the payout (`App::commit`).
pub async fn settle(
    app: &App,
    operator: &Caller,
    id: &str,
    how: Settle,
) -> AppResult<Outcome<Withdrawal>> {
    let w = app
        .store
        .withdrawal(&WithdrawalId::new(id))
        .await?
        .ok_or(AppError::NotFound("withdrawal"))?;
    if w.user_id == operator.id {
        return Err(
            DomainError::NotAllowed("an operator never settles their own withdrawal").into(),
        );
    }
    let now = app.now();
    let (w, postings, notices) = match how {
        Settle::Approve => (w.approve(now)?, vec![], vec![]),
        Settle::Reject(reason) => {
            let reason = reason?.required()?;
            let (w, p) = w.return_funds(Returned::Rejected, Some(reason), now)?;
            let told = Notice {
                to: w.user_id.clone(),
                order_id: None,
                withdrawal_id: Some(w.id.clone()),
                service_title: None,
                kind: NoticeKind::WithdrawalRejected {
                    amount: w.amount,
                    reason: w.reason.clone(),
                },
            };
            (w, vec![p], vec![told])
        }
    };
    let uow = UnitOfWork {
        writes: vec![Write::Withdrawal(w.clone())],
        postings,
        outbox: super::outbox_rows(notices, now),
        ..Default::default()
    };
    Ok(Outcome::new(w, uow))
}
