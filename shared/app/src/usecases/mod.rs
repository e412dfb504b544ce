//! Use cases: load what is needed, let the domain decide, hand back one
//! unit of work. Committing is the caller's (see `App::commit`), so the
//! HTTP edge can add its idempotency record to the same unit of work.

pub mod accounts;
pub mod disputes;
pub mod files;
pub mod input;
pub mod ledger_check;
pub mod messages;
pub mod notify;
pub mod order_transitions;
pub mod orders;
pub mod pay_with;
pub mod payouts;
pub mod place_order;
pub mod requests;
pub mod reversals;
pub mod reviews;
pub mod services;
pub mod timers;
pub mod topups;
pub mod withdrawals;

use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{OutboxRow, TimerClear, UnitOfWork, Write};
use khamsa_domain::Timestamp;
use khamsa_domain::ids::{OrderId, OutboxId};
use khamsa_domain::notice::Notice;
use khamsa_domain::order::{Decision, Order, Party};
use khamsa_domain::service::ServiceStats;

pub fn outbox_rows(notices: Vec<Notice>, now: Timestamp) -> Vec<OutboxRow> {
    notices
        .into_iter()
        .map(|notice| OutboxRow {
            id: OutboxId::new(new_id("mail", now)),
            notice,
            created_at: now,
            sent_at: None,
        })
        .collect()
}

/// Turns an order decision into the unit of work that commits it.
pub fn decision_uow(d: Decision, now: Timestamp) -> (Order, UnitOfWork) {
    let order = d.order;
    let one_completed = ServiceStats {
        orders_completed: 1,
        ..Default::default()
    };
    let uow = UnitOfWork {
        timers_cleared: d
            .timers_cleared
            .into_iter()
            .map(|kind| TimerClear {
                order_id: order.id.clone(),
                kind,
                only_if_due: None,
            })
            .collect(),
        timers_set: d.timers_set,
        postings: d.postings,
        outbox: outbox_rows(d.notices, now),
        service_stats: if d.completed {
            vec![(order.service_id.clone(), one_completed)]
        } else {
            vec![]
        },
        seller_stats: if d.completed {
            vec![(order.seller_id.clone(), one_completed)]
        } else {
            vec![]
        },
        writes: vec![Write::Order(order.clone())],
        idempotency: None,
        not_on_hold: vec![],
        balances_read: vec![],
        inbox: vec![],
    };
    (order, uow)
}

pub fn decision_outcome(d: Decision, now: Timestamp) -> Outcome<Order> {
    let (order, uow) = decision_uow(d, now);
    Outcome::new(order, uow)
}

/// Loads an order the caller may see, with their relation to it; anyone
/// else gets the same 404 as for an order that does not exist.
pub async fn visible_order(app: &App, caller: &Caller, id: &str) -> AppResult<(Order, Party)> {
    let order = app
        .store
        .order(&OrderId::new(id))
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let party = order
        .party(&caller.id, caller.operator)
        .ok_or(AppError::NotFound("order"))?;
    Ok((order, party))
}
