//! Every order transition after placement: instructions, deliver, receive,
//! changes, cancel, and the operators' cancel and complete.

use super::files::{self, FileIds};
use super::input::{CancelReason, Delivery, Input, MessageText, NoFields, OperatorReason};
use super::{decision_outcome, visible_order};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use khamsa_domain::DomainError;
use khamsa_domain::file::Attachment;
use khamsa_domain::ids::OrderId;
use khamsa_domain::order::{Order, Party};

/// A transition with its body, read at the edge. The operators' two are
/// served under `/admin`, where the edge checks operators once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Instructions(Input<MessageText>),
    Deliver(Input<Delivery>),
    Receive(Input<NoFields>),
    Changes(Input<MessageText>),
    Cancel(Input<CancelReason>),
    OperatorCancel(Input<CancelReason>),
    OperatorComplete(Input<OperatorReason>),
}

pub async fn transition(
    app: &App,
    caller: &Caller,
    id: &str,
    t: Transition,
) -> AppResult<Outcome<Order>> {
    transition_with_files(app, caller, id, t, Ok(FileIds::default())).await
}

/// A transition whose body may also carry `file_ids`: a delivery's files
/// (product.md "Files"). Other transitions do not read them.
pub async fn transition_with_files(
    app: &App,
    caller: &Caller,
    id: &str,
    t: Transition,
    file_ids: Input<FileIds>,
) -> AppResult<Outcome<Order>> {
    let (order, party) = match t {
        Transition::OperatorCancel(_) | Transition::OperatorComplete(_) => {
            let o = app
                .store
                .order(&OrderId::new(id))
                .await?
                .ok_or(AppError::NotFound("order"))?;
            // `party` names the buyer or seller first: then it is theirs.
            if o.party(&caller.id, false).is_some() {
                return Err(DomainError::NotAllowed(
                    "an operator never cancels or completes their own order",
                )
                .into());
            }
            (o, Party::Operator)
        }
        Transition::Instructions(_)
        | Transition::Deliver(_)
        | Transition::Receive(_)
        | Transition::Changes(_)
        | Transition::Cancel(_) => visible_order(app, caller, id).await?,
    };
    // The role check (403) comes before the body's errors (400/422).
    match t {
        Transition::Instructions(_) | Transition::Receive(_) | Transition::Changes(_) => {
            Order::require(party, Party::Buyer)?
        }
        Transition::Deliver(_) => Order::require(party, Party::Seller)?,
        Transition::Cancel(_) | Transition::OperatorCancel(_) | Transition::OperatorComplete(_) => {
        }
    }
    // Only the operator's resolution ends a disputed order.
    match &t {
        Transition::Receive(_) => order.require_no_dispute("receive")?,
        Transition::Cancel(_) | Transition::OperatorCancel(_) => {
            order.require_no_dispute("cancel")?
        }
        Transition::OperatorComplete(_) => order.require_no_dispute("complete")?,
        Transition::Instructions(_) | Transition::Deliver(_) | Transition::Changes(_) => {}
    }
    let cfg = &app.cfg;
    let now = app.now();
    let delivers = matches!(t, Transition::Deliver(_));
    let mut decision = match t {
        Transition::Instructions(text) => order.send_instructions(party, text?.0, now, cfg)?,
        Transition::Deliver(text) => order.deliver(party, text?.0, now, cfg)?,
        Transition::Receive(body) => {
            body?;
            order.receive(party, now, cfg)?
        }
        Transition::Changes(text) => order.request_changes(party, text?.0, now, cfg)?,
        Transition::Cancel(reason) | Transition::OperatorCancel(reason) => {
            order.cancel(party, reason?.0, now, cfg)?
        }
        Transition::OperatorComplete(reason) => {
            order.operator_complete(party, reason?.0, now, cfg)?
        }
    };
    let mut attached = vec![];
    if delivers {
        let FileIds(ids) = file_ids?;
        if !ids.is_empty() {
            attached = files::attach(app, &order, caller, &ids, Attachment::Delivery(now)).await?;
            decision.order.delivery_files = ids;
        }
    }
    let mut outcome = decision_outcome(decision, now);
    outcome.uow.writes.extend(attached);
    Ok(outcome)
}
