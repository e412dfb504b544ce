//! Every order transition after placement: instructions, deliver, receive,
//! changes, cancel, and the operators' cancel and complete.

use super::input::fields;
use super::{decision_outcome, visible_order};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use khamsa_domain::ids::OrderId;
use khamsa_domain::order::{Order, Party};
use khamsa_domain::text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Instructions,
    Deliver,
    Receive,
    Changes,
    Cancel,
    OperatorCancel,
    OperatorComplete,
}

pub async fn transition(
    app: &App,
    caller: &Caller,
    id: &str,
    t: Transition,
    body: &[u8],
) -> AppResult<Outcome<Order>> {
    let (order, party) = match t {
        Transition::OperatorCancel | Transition::OperatorComplete => {
            if !caller.operator {
                return Err(AppError::OperatorsOnly);
            }
            let o = app
                .store
                .order(&OrderId::new(id))
                .await?
                .ok_or(AppError::NotFound("order"))?;
            (o, Party::Operator)
        }
        _ => visible_order(app, caller, id).await?,
    };
    // The role check (403) comes before the body is read (400/422).
    match t {
        Transition::Instructions | Transition::Receive | Transition::Changes => {
            Order::require(party, Party::Buyer)?
        }
        Transition::Deliver => Order::require(party, Party::Seller)?,
        Transition::Cancel | Transition::OperatorCancel | Transition::OperatorComplete => {}
    }
    let f = fields(body)?;
    let cfg = &app.cfg;
    let now = app.now();
    let decision = match t {
        Transition::Instructions => {
            let text = Text::parse_no_contact("text", &f.str("text")?, cfg.message_max)?;
            order.send_instructions(party, text.into_string(), now, cfg)?
        }
        Transition::Deliver => {
            let text = match f.opt_str("text")?.filter(|s| !s.trim().is_empty()) {
                Some(s) => Some(Text::parse_no_contact("text", &s, cfg.message_max)?.into_string()),
                None => None,
            };
            order.deliver(party, text, now, cfg)?
        }
        Transition::Receive => order.receive(party, now, cfg)?,
        Transition::Changes => {
            let text = Text::parse_no_contact("text", &f.str("text")?, cfg.message_max)?;
            order.request_changes(party, text.into_string(), now, cfg)?
        }
        Transition::Cancel | Transition::OperatorCancel => {
            let reason = match f.opt_str("reason")?.filter(|s| !s.trim().is_empty()) {
                Some(s) => {
                    Some(Text::parse_no_contact("reason", &s, cfg.review_text_max)?.into_string())
                }
                None => None,
            };
            order.cancel(party, reason, now)?
        }
        Transition::OperatorComplete => order.operator_complete(party, now, cfg)?,
    };
    Ok(decision_outcome(decision, now))
}
