//! `/admin`: moderation, withdrawals, order rulings, the ledger audit and
//! failed emails.
//! The edge has checked that the caller is an operator before any of
//! these runs (the route table's `Access::Operator`).

use crate::orders::step;
use crate::services::service;
use crate::views::{Signed, Time, page, time};
use crate::withdrawals::withdrawal;
use crate::{Ctx, Reply, json_text, ok};
use khamsa_app::ports::{OutboxEntry, ServiceQuery};
use khamsa_app::usecases::ledger_check::{self, LedgerCheck};
use khamsa_app::usecases::notify;
use khamsa_app::usecases::order_transitions::Transition;
use khamsa_app::usecases::services::{self, Moderation};
use khamsa_app::usecases::withdrawals::{self, Settle};
use khamsa_app::{AppError, AppResult};
use khamsa_domain::service::ServiceStatus;
use khamsa_domain::withdrawal::WithdrawalStatus;
use serde::Serialize;

pub(crate) async fn services(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let q = match ctx.q("status") {
        Some("pending_revision") => ServiceQuery::PendingRevision,
        _ => ServiceQuery::ByStatus(
            ctx.status_filter::<ServiceStatus>()?
                .unwrap_or(ServiceStatus::PendingReview),
        ),
    };
    let listed = services::queue(ctx.app, q, &ctx.page()?).await?;
    ok(&page(&listed, |s| service(s, ctx.caller.as_ref())))
}

async fn moderate(ctx: &Ctx<'_>, m: Moderation) -> AppResult<Reply> {
    let (app, c, id) = (ctx.app, ctx.caller()?, ctx.id.as_str());
    ctx.mutate(
        200,
        || Box::pin(services::moderate(app, c, id, m.clone())),
        |s| json_text(&service(s, Some(c))),
    )
    .await
}

pub(crate) async fn approve_service(ctx: &Ctx<'_>) -> AppResult<Reply> {
    moderate(ctx, Moderation::Approve).await
}

pub(crate) async fn reject_service(ctx: &Ctx<'_>) -> AppResult<Reply> {
    moderate(ctx, Moderation::Reject(ctx.input())).await
}

pub(crate) async fn approve_revision(ctx: &Ctx<'_>) -> AppResult<Reply> {
    moderate(ctx, Moderation::ApproveRevision).await
}

pub(crate) async fn reject_revision(ctx: &Ctx<'_>) -> AppResult<Reply> {
    moderate(ctx, Moderation::RejectRevision).await
}

pub(crate) async fn withdrawals(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let status = ctx
        .status_filter::<WithdrawalStatus>()?
        .unwrap_or(WithdrawalStatus::Requested);
    let list = withdrawals::by_status(ctx.app, status, &ctx.page()?).await?;
    ok(&page(&list, withdrawal))
}

async fn settle(ctx: &Ctx<'_>, how: Settle) -> AppResult<Reply> {
    let (app, c, id) = (ctx.app, ctx.caller()?, ctx.id.as_str());
    ctx.mutate(
        200,
        || Box::pin(withdrawals::settle(app, c, id, how.clone())),
        |x| json_text(&withdrawal(x)),
    )
    .await
}

/// Approves it; the payouts worker sends it to PayPal.
pub(crate) async fn approve_withdrawal(ctx: &Ctx<'_>) -> AppResult<Reply> {
    settle(ctx, Settle::Approve).await
}

pub(crate) async fn reject_withdrawal(ctx: &Ctx<'_>) -> AppResult<Reply> {
    settle(ctx, Settle::Reject(ctx.input())).await
}

pub(crate) async fn cancel_order(ctx: &Ctx<'_>) -> AppResult<Reply> {
    step(ctx, Transition::OperatorCancel(ctx.input())).await
}

pub(crate) async fn complete_order(ctx: &Ctx<'_>) -> AppResult<Reply> {
    step(ctx, Transition::OperatorComplete(ctx.input())).await
}

#[derive(Serialize)]
pub struct LedgerCheckView<'a> {
    ok: bool,
    accounts_total: Signed,
    violations: Vec<ViolationView<'a>>,
}

/// A violation names an order or an account.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ViolationView<'a> {
    Order { order_id: &'a str, problem: &'a str },
    Account { account: &'a str, problem: &'a str },
}

pub fn ledger_check_view(c: &LedgerCheck) -> LedgerCheckView<'_> {
    LedgerCheckView {
        ok: c.violations.is_empty(),
        accounts_total: Signed(c.accounts_total),
        violations: c
            .violations
            .iter()
            .map(|v| {
                if v.is_order {
                    ViolationView::Order {
                        order_id: &v.subject,
                        problem: &v.problem,
                    }
                } else {
                    ViolationView::Account {
                        account: &v.subject,
                        problem: &v.problem,
                    }
                }
            })
            .collect(),
    }
}

pub(crate) async fn ledger_check(ctx: &Ctx<'_>) -> AppResult<Reply> {
    ok(&ledger_check_view(&ledger_check::check(ctx.app).await?))
}

/// An outbox row as operators see it: whom and what about, where its
/// delivery stands, and why it failed.
#[derive(Serialize)]
pub struct OutboxView<'a> {
    id: &'a str,
    to: &'a str,
    kind: String,
    order_id: Option<&'a str>,
    created_at: Time,
    /// `sent`, `failed`, `sending` (a sender holds it now) or `pending`.
    status: &'static str,
    attempts: u32,
    failure: Option<&'a str>,
    sent_at: Option<Time>,
}

pub fn outbox_view(e: &OutboxEntry) -> OutboxView<'_> {
    let (row, d) = (&e.row, &e.delivery);
    let status = if row.sent_at.is_some() {
        "sent"
    } else if d.failure.is_some() {
        "failed"
    } else if d.sending_at.is_some() {
        "sending"
    } else {
        "pending"
    };
    let kind = serde_json::to_value(&row.notice.kind)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_default();
    OutboxView {
        id: row.id.as_str(),
        to: row.notice.to.as_str(),
        kind,
        order_id: row.notice.order_id.as_ref().map(|o| o.as_str()),
        created_at: Time(row.created_at),
        status,
        attempts: d.attempts,
        failure: d.failure.as_deref(),
        sent_at: time(row.sent_at),
    }
}

/// `GET /admin/outbox?status=failed`: the emails given up on, newest
/// first. `failed` is the only status listed (and the default).
pub(crate) async fn outbox(ctx: &Ctx<'_>) -> AppResult<Reply> {
    match ctx.q("status") {
        None | Some("failed") => {}
        Some(_) => {
            return Err(AppError::bad_request(
                "invalid_query",
                "status must be failed",
            ));
        }
    }
    let list = notify::failed(ctx.app, &ctx.page()?).await?;
    ok(&page(&list, outbox_view))
}

#[derive(Serialize)]
struct RetriedView<'a> {
    #[serde(flatten)]
    email: OutboxView<'a>,
    /// Whether this call queued it again (`false`: it was not failed).
    retried: bool,
}

/// `POST /admin/outbox/{id}/retry`: a failed email is sent again.
pub(crate) async fn retry_email(ctx: &Ctx<'_>) -> AppResult<Reply> {
    ctx.caller()?;
    let (e, retried) = notify::retry(ctx.app, ctx.id.as_str()).await?;
    ok(&RetriedView {
        email: outbox_view(&e),
        retried,
    })
}
