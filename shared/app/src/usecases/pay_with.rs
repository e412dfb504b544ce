//! Paying for an order with PayPal in one step (payments.md): a buyer who
//! cannot afford an order gets a checkout for exactly the shortfall, and
//! the order is placed in the same unit of work that settles it, if it
//! still can be; otherwise the money stays in the balance and they are
//! told why.

use super::decision_uow;
use super::input::Input;
use super::outbox_rows;
use super::place_order::{NewOrder, PayWith, place_order};
use super::topups::{TopupRequest, start};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::UnitOfWork;
use khamsa_domain::ids::{OrderId, TopupId};
use khamsa_domain::notice::{NotPlacedReason, Notice, NoticeKind};
use khamsa_domain::order::{Decision, Funds, Order, OrderRequest};
use khamsa_domain::service::ServiceStatus;
use khamsa_domain::topup::{PayFor, Topup, TopupMethod};
use khamsa_domain::{Config, DomainError, Timestamp};

/// `POST /orders`: the order, or (with `pay_with` and a shortfall) the
/// checkout that will pay for it.
#[derive(Debug, Clone)]
pub enum Placed {
    Order(Box<Order>),
    Checkout(Box<Topup>),
}

pub async fn order_or_checkout(
    app: &App,
    caller: &Caller,
    input: Input<NewOrder>,
) -> AppResult<Outcome<Placed>> {
    let wanted = input.as_ref().ok().and_then(|n| {
        let req = n.request.as_ref().ok()?.clone();
        Some((n.service_id.clone(), req, n.pay_with?))
    });
    match place_order(app, caller, input).await {
        Err(AppError::Domain(DomainError::InsufficientFunds)) => match wanted {
            Some((service_id, req, PayWith::Paypal)) => {
                checkout(app, caller, service_id, req).await
            }
            None => Err(DomainError::InsufficientFunds.into()),
        },
        other => other.map(|o| Outcome {
            value: Placed::Order(Box::new(o.value)),
            uow: o.uow,
            on_overdraft: o.on_overdraft,
        }),
    }
}

async fn checkout(
    app: &App,
    caller: &Caller,
    service_id: khamsa_domain::ids::ServiceId,
    req: OrderRequest,
) -> AppResult<Outcome<Placed>> {
    let (service, _) = app
        .store
        .service(&service_id)
        .await?
        .ok_or(AppError::NotFound("service"))?;
    let total = Order::quote(&service, &caller.id, req.clone(), &app.cfg)?;
    let b = app.store.balances(&caller.id).await?;
    let shortfall = total
        .checked_sub(b.balance + b.earnings_available)
        .filter(|m| !m.is_zero())
        .ok_or(DomainError::InsufficientFunds)?;
    let now = app.now();
    let pay_for = PayFor {
        service_id,
        upgrades: req.upgrades.iter().map(|u| u.get() as i64).collect(),
        quantity: i64::from(req.quantity.get()),
        total,
    };
    // Exactly the shortfall, even under the usual top-up minimum.
    let cfg = Config {
        topup_min: app.cfg.topup_min.min(shortfall),
        ..(*app.cfg).clone()
    };
    let out = start(
        app,
        &cfg,
        &caller.id,
        TopupId::new(new_id("top", now)),
        TopupRequest {
            amount: shortfall,
            method: TopupMethod::Paypal,
            return_url: None,
            cancel_url: None,
        },
        Some(pay_for),
    )
    .await?;
    Ok(Outcome::new(Placed::Checkout(Box::new(out.value)), out.uow))
}

/// Called in the unit of work that settles `t`: places the order it was
/// for, or tells the buyer why not (the money stays in the balance).
pub async fn on_settled(
    app: &App,
    t: &Topup,
    uow: &mut UnitOfWork,
    now: Timestamp,
) -> AppResult<()> {
    let Some(pf) = &t.pay_for else {
        return Ok(());
    };
    match try_place(app, t, pf, now).await? {
        Ok(d) => {
            let (_, placed) = decision_uow(d, now);
            uow.writes.extend(placed.writes);
            uow.postings.extend(placed.postings);
            uow.timers_set.extend(placed.timers_set);
            uow.timers_cleared.extend(placed.timers_cleared);
            uow.outbox.extend(placed.outbox);
            uow.service_stats.extend(placed.service_stats);
            uow.seller_stats.extend(placed.seller_stats);
        }
        Err(reason) => {
            tracing::info!(topup = %t.id, ?reason, "paid order not placed");
            uow.outbox.extend(outbox_rows(
                vec![Notice {
                    to: t.user_id.clone(),
                    order_id: None,
                    withdrawal_id: None,
                    service_title: None,
                    kind: NoticeKind::PaidOrderNotPlaced {
                        amount: t.amount,
                        reason,
                    },
                }],
                now,
            ));
        }
    }
    Ok(())
}

async fn try_place(
    app: &App,
    t: &Topup,
    pf: &PayFor,
    now: Timestamp,
) -> AppResult<Result<Decision, NotPlacedReason>> {
    if app
        .store
        .profile(&t.user_id)
        .await?
        .is_some_and(|p| p.payment_hold)
    {
        return Ok(Err(NotPlacedReason::PaymentHold));
    }
    let Some((service, _)) = app
        .store
        .service(&pf.service_id)
        .await?
        .filter(|(s, _)| s.status == ServiceStatus::Active)
    else {
        return Ok(Err(NotPlacedReason::ServiceUnavailable));
    };
    let Ok(req) = OrderRequest::parse(&pf.upgrades, pf.quantity, &app.cfg) else {
        return Ok(Err(NotPlacedReason::ServiceUnavailable));
    };
    let b = app.store.balances(&t.user_id).await?;
    // The settlement in the same unit of work credits `t.amount` first.
    let funds = Funds {
        balance: b.balance + t.amount,
        earnings_available: b.earnings_available,
    };
    let id = OrderId::new(new_id("ord", now));
    Ok(
        match Order::place(id, &service, &t.user_id, req, funds, now, &app.cfg) {
            Ok(d) if d.order.total == pf.total => Ok(d),
            Ok(_) => Err(NotPlacedReason::PriceChanged),
            Err(DomainError::InsufficientFunds) => Err(NotPlacedReason::NotEnoughFunds),
            Err(_) => Err(NotPlacedReason::ServiceUnavailable),
        },
    )
}
