//! Withdrawals of available earnings to PayPal, and the operators' side.

use super::input::fields;
use super::outbox_rows;
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{UnitOfWork, Write};
use khamsa_domain::DomainError;
use khamsa_domain::ids::WithdrawalId;
use khamsa_domain::text::{EmailAddress, Text};
use khamsa_domain::withdrawal::{Returned, Withdrawal};

pub async fn request(app: &App, caller: &Caller, body: &[u8]) -> AppResult<Outcome<Withdrawal>> {
    let f = fields(body)?;
    let amount = f.money("amount")?;
    let given = f
        .opt_str("paypal_email")?
        .map(|e| EmailAddress::parse("paypal_email", &e))
        .transpose()?;
    let paypal = match given {
        Some(e) => Some(e),
        None => app
            .store
            .profile(&caller.id)
            .await?
            .and_then(|p| p.paypal_email),
    };
    let available = app.store.balances(&caller.id).await?.earnings_available;
    let now = app.now();
    let (w, posting) = Withdrawal::request(
        WithdrawalId::new(new_id("wd", now)),
        &caller.id,
        amount,
        paypal,
        available,
        now,
        &app.cfg,
    )?;
    let uow = UnitOfWork {
        writes: vec![Write::Withdrawal(w.clone())],
        postings: vec![posting],
        ..Default::default()
    };
    Ok(Outcome::new(w, uow).overdraft_means(DomainError::InsufficientEarnings))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    Pay,
    Reject,
    /// Reported by the payout worker when the provider refuses.
    Fail,
}

pub async fn settle(
    app: &App,
    caller: &Caller,
    id: &str,
    how: Settle,
    body: &[u8],
) -> AppResult<Outcome<Withdrawal>> {
    if !caller.operator {
        return Err(AppError::OperatorsOnly);
    }
    let w = app
        .store
        .withdrawal(&WithdrawalId::new(id))
        .await?
        .ok_or(AppError::NotFound("withdrawal"))?;
    let now = app.now();
    let (w, posting, notices) = match how {
        Settle::Pay => {
            let (w, p, n) = w.pay(now)?;
            (w, p, vec![n])
        }
        Settle::Reject | Settle::Fail => {
            let reason = match fields(body)?.opt_str("reason")? {
                Some(r) => Some(Text::parse("reason", &r, app.cfg.review_text_max)?.into_string()),
                None if how == Settle::Reject => {
                    return Err(DomainError::invalid("reason", "is required").into());
                }
                None => None,
            };
            let to = if how == Settle::Reject {
                Returned::Rejected
            } else {
                Returned::Failed
            };
            let (w, p) = w.return_funds(to, reason, now)?;
            (w, p, vec![])
        }
    };
    let uow = UnitOfWork {
        writes: vec![Write::Withdrawal(w.clone())],
        postings: vec![posting],
        outbox: outbox_rows(notices, now),
        ..Default::default()
    };
    Ok(Outcome::new(w, uow))
}
