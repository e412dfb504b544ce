//! `POST /orders`: the buyer pays into escrow, balance first.

use super::decision_outcome;
use super::input::fields;
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use khamsa_domain::DomainError;
use khamsa_domain::ids::{OrderId, ServiceId};
use khamsa_domain::order::{Funds, Order, OrderRequest};
use khamsa_domain::service::ServiceStatus;

pub async fn place_order(app: &App, caller: &Caller, body: &[u8]) -> AppResult<Outcome<Order>> {
    // The service id is in the body, so the body's shape is read first.
    let f = fields(body)?;
    let service_id = f.str("service_id")?;
    let upgrades = f
        .opt_array("upgrades")?
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            v.as_i64().ok_or_else(|| {
                AppError::bad_request("malformed_body", "upgrades must be whole numbers")
            })
        })
        .collect::<AppResult<Vec<i64>>>()?;
    let quantity = f.opt_int("quantity")?.unwrap_or(1);

    let (service, _) = app
        .store
        .service(&ServiceId::new(service_id))
        .await?
        .filter(|(s, _)| s.status == ServiceStatus::Active)
        .ok_or(AppError::NotFound("service"))?;
    if service.is_seller(&caller.id) {
        return Err(DomainError::OwnService.into());
    }
    let balances = app.store.balances(&caller.id).await?;
    let now = app.now();
    let decision = Order::place(
        OrderId::new(new_id("ord", now)),
        &service,
        &caller.id,
        OrderRequest { upgrades, quantity },
        Funds {
            balance: balances.balance,
            earnings_available: balances.earnings_available,
        },
        now,
        &app.cfg,
    )?;
    Ok(decision_outcome(decision, now).overdraft_means(DomainError::InsufficientFunds))
}
