//! `POST /orders`: the buyer pays into escrow, balance first.

use super::decision_outcome;
use super::input::{Body, Input, required};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use khamsa_domain::ids::{OrderId, ServiceId};
use khamsa_domain::order::{Funds, Order, OrderRequest};
use khamsa_domain::service::ServiceStatus;
use khamsa_domain::{Config, DomainError, DomainResult};
use serde::Deserialize;

/// What the buyer orders. The service id is needed to find the service, so
/// its errors come first; the quantity's and indexes' wait for the 404 and
/// 403 (api.md's order of checks). Whether the service has each upgrade is
/// the domain's check.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub service_id: ServiceId,
    pub request: DomainResult<OrderRequest>,
    /// How to pay a shortfall in the same step (issue 8).
    pub pay_with: Option<PayWith>,
}

/// `pay_with`: the one provider an order can be paid with in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayWith {
    Paypal,
}

#[derive(Deserialize)]
pub struct NewOrderJson {
    service_id: Option<String>,
    upgrades: Option<Vec<i64>>,
    quantity: Option<i64>,
    pay_with: Option<String>,
}

impl Body for NewOrder {
    type Json = NewOrderJson;
    fn check(j: NewOrderJson, cfg: &Config) -> DomainResult<Self> {
        let pay_with = match j.pay_with.as_deref() {
            None => None,
            Some("paypal") => Some(PayWith::Paypal),
            Some(_) => return Err(DomainError::invalid("pay_with", "must be \"paypal\"")),
        };
        Ok(NewOrder {
            pay_with,
            // An id that cannot be ours is a missing service: no store
            // is asked for it.
            service_id: ServiceId::plausible(required("service_id", j.service_id)?)
                .ok_or(DomainError::NotFound("service"))?,
            request: OrderRequest::parse(
                &j.upgrades.unwrap_or_default(),
                j.quantity.unwrap_or(1),
                cfg,
            ),
        })
    }
}

pub async fn place_order(
    app: &App,
    caller: &Caller,
    input: Input<NewOrder>,
) -> AppResult<Outcome<Order>> {
    // The service id is in the body, so the body's errors come first.
    let NewOrder {
        service_id,
        request,
        pay_with: _,
    } = input?;
    // One read round trip (issue 11): the commit conditions on these
    // balances instead of reading them again.
    let (service, balances) = app
        .store
        .service_and_balances(&service_id, &caller.id)
        .await?;
    let (service, _) = service
        .filter(|(s, _)| s.status == ServiceStatus::Active)
        .ok_or(AppError::NotFound("service"))?;
    if service.is_seller(&caller.id) {
        return Err(DomainError::OwnService.into());
    }
    let request = request?;
    let now = app.now();
    let decision = match Order::place(
        OrderId::new(new_id("ord", now)),
        &service,
        &caller.id,
        request,
        Funds {
            balance: balances.balance,
            earnings_available: balances.earnings_available,
        },
        now,
        &app.cfg,
    ) {
        Ok(d) => d,
        // A refusal on hold is the hold (api.md's order of checks); only
        // this path reads the profile.
        Err(e) => {
            super::reversals::check_no_hold(app, &caller.id).await?;
            return Err(e.into());
        }
    };
    let mut out = decision_outcome(decision, now).overdraft_means(DomainError::InsufficientFunds);
    // Issue 8: no orders on a payment hold, checked by the commit itself.
    out.uow.not_on_hold.push(caller.id.clone());
    out.uow.balances_read.push((caller.id.clone(), balances));
    Ok(out)
}
