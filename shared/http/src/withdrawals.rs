//! `/withdrawals` and the caller's list of them.

use crate::views::{Time, page};
use crate::{Ctx, Reply, json_text, ok};
use khamsa_app::AppResult;
use khamsa_app::usecases::withdrawals;
use khamsa_domain::Money;
use khamsa_domain::ids::{UserId, WithdrawalId};
use khamsa_domain::withdrawal::{Withdrawal, WithdrawalStatus};
use serde::Serialize;

#[derive(Serialize)]
pub struct WithdrawalView<'a> {
    id: &'a WithdrawalId,
    user_id: &'a UserId,
    amount: Money,
    paypal_email: &'a str,
    status: WithdrawalStatus,
    reason: Option<&'a str>,
    /// PayPal's ids once sent (for support and reconciliation).
    #[serde(skip_serializing_if = "Option::is_none")]
    payout_batch_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payout_item_id: Option<&'a str>,
    created_at: Time,
    updated_at: Time,
}

pub fn withdrawal(w: &Withdrawal) -> WithdrawalView<'_> {
    WithdrawalView {
        id: &w.id,
        user_id: &w.user_id,
        amount: w.amount,
        paypal_email: w.paypal_email.as_str(),
        status: w.status,
        reason: w.reason.as_deref(),
        payout_batch_id: w.payout_batch_id.as_deref(),
        payout_item_id: w.payout_item_id.as_deref(),
        created_at: Time(w.created_at),
        updated_at: Time(w.updated_at),
    }
}

pub(crate) async fn request(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, input) = (ctx.app, ctx.caller()?, ctx.input());
    ctx.mutate(
        201,
        || Box::pin(withdrawals::request(app, c, input.clone())),
        |x| json_text(&withdrawal(x)),
    )
    .await
}

pub(crate) async fn mine(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let list = withdrawals::mine(ctx.app, ctx.caller()?, &ctx.page()?).await?;
    ok(&page(&list, withdrawal))
}
