//! `/orders` and the caller's purchases and sales: placing, every
//! transition, messages and reviews.

use crate::disputes::{DisputeView, dispute as dispute_view};
use crate::idempotency::KeyCheck;
use crate::services::review as review_view;
use crate::views::{Time, page, time};
use crate::{Ctx, Reply, json_text, ok};
use khamsa_app::ports::{Message, Page};
use khamsa_app::usecases::files::MessageBody;
use khamsa_app::usecases::order_transitions::{Transition, transition, transition_with_files};
use khamsa_app::usecases::pay_with::{self, Placed};
use khamsa_app::usecases::place_order::NewOrder;
use khamsa_app::usecases::{self, messages, orders, reviews};
use khamsa_app::{AppResult, Caller};
use khamsa_domain::Money;
use khamsa_domain::Timestamp;
use khamsa_domain::ids::{FileId, MessageId, OrderId, ServiceId, UserId};
use khamsa_domain::order::{Actor, Order, OrderStatus, OrderUpgrade};
use serde::Serialize;

#[derive(Serialize)]
pub struct OrderView<'a> {
    id: &'a OrderId,
    service_id: &'a ServiceId,
    service_title: &'a str,
    buyer_id: &'a UserId,
    seller_id: &'a UserId,
    upgrades: &'a [OrderUpgrade],
    quantity: u32,
    delivery_days: u32,
    total: Money,
    fee: Money,
    seller_net: Money,
    status: OrderStatus,
    instructions: Option<&'a str>,
    delivery_text: Option<&'a str>,
    placed_at: Time,
    due_at: Option<Time>,
    delivered_at: Option<Time>,
    completed_at: Option<Time>,
    completed_by: Option<Actor>,
    cancelled_at: Option<Time>,
    cancelled_by: Option<Actor>,
    cancel_reason: Option<&'a str>,
    completion_reason: Option<&'a str>,
    delivery_files: &'a [FileId],
    /// When the order's files were deleted (90 days after it ended).
    files_expired_at: Option<Time>,
    dispute: Option<DisputeView<'a>>,
    /// Whether the cancel button shows for this caller now.
    can_cancel: bool,
    /// Messages from the other party this caller has not read (0 for
    /// operators).
    unread: u32,
    changes: Vec<ChangeView<'a>>,
}

#[derive(Serialize)]
pub struct ChangeView<'a> {
    text: &'a str,
    at: Time,
}

pub fn order<'a>(o: &'a Order, caller: &Caller, now: Timestamp) -> OrderView<'a> {
    OrderView {
        id: &o.id,
        service_id: &o.service_id,
        service_title: &o.service_title,
        buyer_id: &o.buyer_id,
        seller_id: &o.seller_id,
        upgrades: &o.upgrades,
        quantity: o.quantity,
        delivery_days: o.delivery_days,
        total: o.total,
        fee: o.fee,
        seller_net: o.seller_net,
        status: o.status,
        instructions: o.instructions.as_deref(),
        delivery_text: o.delivery_text.as_deref(),
        placed_at: Time(o.placed_at),
        due_at: time(o.due_at),
        delivered_at: time(o.delivered_at),
        completed_at: time(o.completed_at),
        completed_by: o.completed_by,
        cancelled_at: time(o.cancelled_at),
        cancelled_by: o.cancelled_by,
        cancel_reason: o.cancel_reason.as_deref(),
        completion_reason: o.completion_reason.as_deref(),
        delivery_files: &o.delivery_files,
        files_expired_at: time(o.files_expired_at),
        dispute: o.dispute.as_deref().map(dispute_view),
        can_cancel: o.can_cancel(o.party(&caller.id, caller.operator), now),
        unread: o.unread_for(&caller.id),
        changes: o
            .changes
            .iter()
            .map(|c| ChangeView {
                text: &c.text,
                at: Time(c.at),
            })
            .collect(),
    }
}

#[derive(Serialize)]
pub struct MessageView<'a> {
    id: &'a MessageId,
    sender_id: &'a UserId,
    text: &'a str,
    at: Time,
    file_ids: &'a [FileId],
}

pub fn message(m: &Message) -> MessageView<'_> {
    MessageView {
        id: &m.id,
        sender_id: &m.sender_id,
        text: &m.text,
        at: Time(m.at),
        file_ids: &m.file_ids,
    }
}

/// `purchases` and `sales` render alike.
fn orders_page(ctx: &Ctx<'_>, c: &Caller, orders: &Page<Order>) -> AppResult<Reply> {
    let now = ctx.app.now();
    ok(&page(orders, |o| order(o, c, now)))
}

pub(crate) async fn purchases(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let c = ctx.caller()?;
    let list = orders::purchases(ctx.app, c, ctx.status_filter()?, &ctx.page()?).await?;
    orders_page(ctx, c, &list)
}

/// `GET /me/inbox`: the caller's orders with unread messages, newest
/// activity first.
pub(crate) async fn inbox(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let c = ctx.caller()?;
    let list = messages::inbox(ctx.app, c, &ctx.page()?).await?;
    orders_page(ctx, c, &list)
}

pub(crate) async fn sales(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let c = ctx.caller()?;
    let list = orders::sales(ctx.app, c, ctx.status_filter()?, &ctx.page()?).await?;
    orders_page(ctx, c, &list)
}

pub(crate) async fn place(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c) = (ctx.app, ctx.caller()?);
    let input: khamsa_app::usecases::input::Input<NewOrder> = ctx.input();
    let now = app.now();
    // `pay_with` may open a PayPal checkout before the commit: a replay
    // must not, so its key is read first. Otherwise the commit's condition
    // on the key answers a replay (issue 11: one read, one transaction).
    let check = match input.as_ref().map(|n| n.pay_with) {
        Ok(Some(_)) => KeyCheck::ReadFirst,
        Ok(None) | Err(_) => KeyCheck::InCommit,
    };
    ctx.mutate_as(
        check,
        |p| match p {
            Placed::Order(_) => 201,
            Placed::Checkout(_) => 202,
        },
        || Box::pin(pay_with::order_or_checkout(app, c, input.clone())),
        |p| match p {
            Placed::Order(o) => json_text(&order(o, c, now)),
            Placed::Checkout(t) => json_text(&crate::payments::checkout(t)),
        },
    )
    .await
}

pub(crate) async fn show(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let c = ctx.caller()?;
    let (o, _) = usecases::visible_order(ctx.app, c, &ctx.id).await?;
    ok(&order(&o, c, ctx.app.now()))
}

/// Every transition, the operators' two included (see `admin`).
pub(crate) async fn step(ctx: &Ctx<'_>, t: Transition) -> AppResult<Reply> {
    let (app, c, id) = (ctx.app, ctx.caller()?, ctx.id.as_str());
    let now = app.now();
    ctx.mutate(
        200,
        || Box::pin(transition(app, c, id, t.clone())),
        |o| json_text(&order(o, c, now)),
    )
    .await
}

pub(crate) async fn instructions(ctx: &Ctx<'_>) -> AppResult<Reply> {
    step(ctx, Transition::Instructions(ctx.input())).await
}

pub(crate) async fn deliver(ctx: &Ctx<'_>) -> AppResult<Reply> {
    // A delivery may carry files: `file_ids` beside its text.
    let (app, c, id, files) = (ctx.app, ctx.caller()?, ctx.id.as_str(), ctx.input());
    let t = Transition::Deliver(ctx.input());
    let now = app.now();
    ctx.mutate(
        200,
        || Box::pin(transition_with_files(app, c, id, t.clone(), files.clone())),
        |o| json_text(&order(o, c, now)),
    )
    .await
}

pub(crate) async fn receive(ctx: &Ctx<'_>) -> AppResult<Reply> {
    step(ctx, Transition::Receive(ctx.input())).await
}

pub(crate) async fn changes(ctx: &Ctx<'_>) -> AppResult<Reply> {
    step(ctx, Transition::Changes(ctx.input())).await
}

pub(crate) async fn cancel(ctx: &Ctx<'_>) -> AppResult<Reply> {
    step(ctx, Transition::Cancel(ctx.input())).await
}

pub(crate) async fn messages(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let messages = messages::list(ctx.app, ctx.caller()?, &ctx.id, ctx.page()).await?;
    ok(&page(&messages, message))
}

pub(crate) async fn send_message(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id) = (ctx.app, ctx.caller()?, ctx.id.as_str());
    let (input, files) = MessageBody::split(ctx.input());
    ctx.mutate(
        201,
        || Box::pin(messages::send(app, c, id, input.clone(), files.clone())),
        |x| json_text(&message(x)),
    )
    .await
}

pub(crate) async fn review(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id, input) = (ctx.app, ctx.caller()?, ctx.id.as_str(), ctx.input());
    ctx.mutate(
        201,
        || Box::pin(reviews::write(app, c, id, input.clone())),
        |x| json_text(&review_view(x)),
    )
    .await
}

pub(crate) async fn reply(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id, input) = (ctx.app, ctx.caller()?, ctx.id.as_str(), ctx.input());
    ctx.mutate(
        200,
        || Box::pin(reviews::reply(app, c, id, input.clone())),
        |x| json_text(&review_view(x)),
    )
    .await
}
