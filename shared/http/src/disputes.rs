//! Disputes: `POST /orders/{id}/dispute` by a party, and the operators'
//! `GET /admin/disputes` and `POST /admin/disputes/{id}/resolve`.

use crate::orders::order;
use crate::views::{Time, page};
use crate::{Ctx, Reply, json_text, ok};
use khamsa_app::AppResult;
use khamsa_app::usecases::disputes;
use khamsa_domain::dispute::{Dispute, DisputeOutcome};
use khamsa_domain::ids::UserId;
use khamsa_domain::order::Actor;
use serde::Serialize;

#[derive(Serialize)]
pub struct DisputeView<'a> {
    status: &'static str,
    opened_by: Actor,
    reason: &'a str,
    opened_at: Time,
    outcome: Option<DisputeOutcome>,
    resolution_reason: Option<&'a str>,
    resolved_by: Option<&'a UserId>,
    resolved_at: Option<Time>,
}

pub fn dispute(d: &Dispute) -> DisputeView<'_> {
    let r = d.resolution.as_ref();
    DisputeView {
        status: if r.is_some() { "resolved" } else { "open" },
        opened_by: d.opened_by,
        reason: &d.reason,
        opened_at: Time(d.opened_at),
        outcome: r.map(|r| r.outcome),
        resolution_reason: r.map(|r| r.reason.as_str()),
        resolved_by: r.map(|r| &r.by),
        resolved_at: r.map(|r| Time(r.at)),
    }
}

pub(crate) async fn open(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id, input) = (ctx.app, ctx.caller()?, ctx.id.as_str(), ctx.input());
    let now = app.now();
    ctx.mutate(
        201,
        || Box::pin(disputes::open(app, c, id, input.clone())),
        |o| json_text(&order(o, c, now)),
    )
    .await
}

pub(crate) async fn list(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let c = ctx.caller()?;
    let now = ctx.app.now();
    let listed = disputes::list(ctx.app, &ctx.page()?).await?;
    ok(&page(&listed, |o| order(o, c, now)))
}

pub(crate) async fn resolve(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id, input) = (ctx.app, ctx.caller()?, ctx.id.as_str(), ctx.input());
    let now = app.now();
    ctx.mutate(
        200,
        || Box::pin(disputes::resolve(app, c, id, input.clone())),
        |o| json_text(&order(o, c, now)),
    )
    .await
}
