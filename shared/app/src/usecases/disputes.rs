//! Disputes (product.md "Disputes"): opened by the buyer or the seller,
//! listed for operators, resolved by one (never on their own order).

use super::input::{Body, Input, required};
use super::{decision_outcome, visible_order};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ports::{OrderQuery, Page, PageReq};
use khamsa_domain::dispute::DisputeOutcome;
use khamsa_domain::ids::OrderId;
use khamsa_domain::order::{Order, Party};
use khamsa_domain::text::Text;
use khamsa_domain::{Config, DomainError, DomainResult};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct OpenJson {
    reason: Option<String>,
}

/// `{reason}` of a dispute, which the other party and operators read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeReason(pub Text);

impl Body for DisputeReason {
    type Json = OpenJson;
    fn check(j: OpenJson, cfg: &Config) -> DomainResult<Self> {
        let reason = required("reason", j.reason)?;
        Ok(DisputeReason(Text::parse_no_contact(
            "reason",
            &reason,
            cfg.review_text_max,
        )?))
    }
}

#[derive(Deserialize)]
pub struct ResolveJson {
    outcome: Option<String>,
    reason: Option<String>,
}

/// `{outcome: cancel|complete, reason}` of an operator's resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    pub outcome: DisputeOutcome,
    pub reason: Text,
}

impl Body for Resolve {
    type Json = ResolveJson;
    fn check(j: ResolveJson, cfg: &Config) -> DomainResult<Self> {
        let outcome = DisputeOutcome::parse(&required("outcome", j.outcome)?)?;
        let reason = required("reason", j.reason)?;
        Ok(Resolve {
            outcome,
            reason: Text::parse("reason", &reason, cfg.review_text_max)?,
        })
    }
}

/// `POST /orders/{id}/dispute`.
pub async fn open(
    app: &App,
    caller: &Caller,
    order_id: &str,
    body: Input<DisputeReason>,
) -> AppResult<Outcome<Order>> {
    let (order, party) = visible_order(app, caller, order_id).await?;
    if party == Party::Operator {
        return Err(DomainError::NotAllowed("the order's buyer or seller").into());
    }
    let DisputeReason(reason) = body?;
    let now = app.now();
    Ok(decision_outcome(
        order.open_dispute(party, reason, now)?,
        now,
    ))
}

/// `GET /admin/disputes`: open disputes, newest first.
pub async fn list(app: &App, page: &PageReq) -> AppResult<Page<Order>> {
    Ok(app.store.orders(&OrderQuery::OpenDisputes, page).await?)
}

/// `POST /admin/disputes/{id}/resolve` (`{id}` is the order's).
pub async fn resolve(
    app: &App,
    caller: &Caller,
    order_id: &str,
    body: Input<Resolve>,
) -> AppResult<Outcome<Order>> {
    let order = app
        .store
        .order(&OrderId::new(order_id))
        .await?
        .filter(|o| o.dispute.is_some())
        .ok_or(AppError::NotFound("dispute"))?;
    if order.party(&caller.id, false).is_some() {
        return Err(DomainError::NotAllowed(
            "an operator never resolves a dispute on their own order",
        )
        .into());
    }
    let Resolve { outcome, reason } = body?;
    let now = app.now();
    let d = order.resolve_dispute(Party::Operator, &caller.id, outcome, reason, now, &app.cfg)?;
    Ok(decision_outcome(d, now))
}
