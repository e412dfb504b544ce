//! A refund or chargeback after settlement (payments.md, "Reversals"):
//! the money comes back from the balance, then from available earnings;
//! what the user no longer holds is the platform's loss, and the account
//! goes on a payment hold until an operator clears it.

use super::input::{Input, OperatorReason};
use crate::app::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ports::{IdempotencyRecord, Profile, UnitOfWork, Write};
use khamsa_domain::ids::{TopupId, UserId};
use khamsa_domain::{DomainError, Money};

const ATTEMPTS: usize = 3;

/// Takes `amount` of a settled top-up back, at most once (its posting id
/// is `<topup>/reversed`), and puts its owner on hold.
pub async fn reverse(
    app: &App,
    id: &TopupId,
    amount: Money,
    record: Option<IdempotencyRecord>,
) -> AppResult<()> {
    for attempt in 1..=ATTEMPTS {
        let t = app
            .store
            .topup(id)
            .await?
            .ok_or(AppError::NotFound("topup"))?;
        let b = app.store.balances(&t.user_id).await?;
        let now = app.now();
        let Some((next, posting, loss)) = t.reverse(amount, b.balance, b.earnings_available, now)
        else {
            if record.is_some() {
                let uow = UnitOfWork {
                    idempotency: record,
                    ..Default::default()
                };
                app.commit(uow, None).await?;
            }
            return Ok(());
        };
        let mut writes = vec![Write::Topup(next)];
        if let Some(p) = app.store.profile(&t.user_id).await?
            && !p.payment_hold
        {
            writes.push(Write::Profile(Profile {
                payment_hold: true,
                ..p
            }));
        }
        let uow = UnitOfWork {
            writes,
            postings: vec![posting],
            idempotency: record.clone(),
            ..Default::default()
        };
        // A spend between the read and the commit overdraws: read again.
        match app.commit(uow, None).await {
            Ok(()) => {
                // The operators hear of it through the commit's
                // `TopupsReversed` metric and its alarm (template.yaml,
                // PaymentReversedAlarm); this line names the account.
                tracing::warn!(
                    topup = %t.id,
                    user = %t.user_id,
                    amount = %amount,
                    loss = %loss,
                    "payment reversed: account on payment hold, operators to review"
                );
                return Ok(());
            }
            Err(AppError::Busy) if attempt < ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AppError::Busy)
}

/// Refuses ordering or withdrawing while the caller is on a payment hold.
pub async fn check_no_hold(app: &App, user: &UserId) -> AppResult<()> {
    match app.store.profile(user).await? {
        Some(p) if p.payment_hold => Err(DomainError::PaymentHold.into()),
        _ => Ok(()),
    }
}

/// `POST /admin/users/{id}/clear-hold`: an operator lifts the hold, never
/// on their own account.
/// The body is checked only after the 404 and 403 (api.md's order).
pub async fn clear_hold(
    app: &App,
    caller: &Caller,
    id: &str,
    body: Input<OperatorReason>,
) -> AppResult<Profile> {
    let user = UserId::plausible(id).ok_or(AppError::NotFound("user"))?;
    let p = app
        .store
        .profile(&user)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if p.id == caller.id {
        return Err(DomainError::NotAllowed("another operator").into());
    }
    let _reason = body?;
    if !p.payment_hold {
        return Ok(p);
    }
    let cleared = Profile {
        payment_hold: false,
        ..p
    };
    app.commit(
        UnitOfWork {
            writes: vec![Write::Profile(cleared.clone())],
            ..Default::default()
        },
        None,
    )
    .await?;
    tracing::info!(user = %cleared.id, by = %caller.id, "payment hold cleared");
    Ok(Profile {
        version: cleared.version + 1,
        ..cleared
    })
}
