//! `/me`: the caller's profile, ledger and top-ups.

use crate::views::{Signed, Time, page, time};
use crate::{Ctx, Reply, json_text, ok};
use khamsa_app::ports::{Balances, LedgerLine, Locale, Profile};
use khamsa_app::usecases::accounts;
use khamsa_app::{AppError, AppResult};
use khamsa_domain::Money;
use khamsa_domain::ids::{OrderId, TopupId, UserId, WithdrawalId};
use khamsa_domain::ledger::{PostingKind, UserAccount};
use khamsa_domain::notice::{EmailPrefs, EmailTopic};
use khamsa_domain::topup::{Topup, TopupMethod, TopupStatus};
use serde::Serialize;

#[derive(Serialize)]
pub struct ProfileView<'a> {
    id: &'a UserId,
    email: &'a str,
    display_name: &'a str,
    locale: Locale,
    paypal_email: Option<&'a str>,
    balance: Money,
    earnings_pending: Money,
    earnings_available: Money,
    withdrawals_in_flight: Money,
    payment_hold: bool,
    email_prefs: EmailPrefs,
}

pub fn profile<'a>((p, b): &'a (Profile, Balances)) -> ProfileView<'a> {
    ProfileView {
        id: &p.id,
        email: p.email.as_str(),
        display_name: &p.display_name,
        locale: p.locale,
        paypal_email: p.paypal_email.as_ref().map(|e| e.as_str()),
        balance: b.balance,
        earnings_pending: b.earnings_pending,
        earnings_available: b.earnings_available,
        withdrawals_in_flight: b.withdrawals_in_flight,
        payment_hold: p.payment_hold,
        email_prefs: p.email_prefs,
    }
}

#[derive(Serialize)]
pub struct LedgerLineView<'a> {
    at: Time,
    account: UserAccount,
    amount: Signed,
    balance_after: Signed,
    kind: &'a PostingKind,
    order_id: &'a Option<OrderId>,
    withdrawal_id: &'a Option<WithdrawalId>,
}

pub fn ledger_line(l: &LedgerLine) -> LedgerLineView<'_> {
    LedgerLineView {
        at: Time(l.at),
        account: l.account,
        amount: Signed(l.amount),
        balance_after: Signed(l.balance_after),
        kind: &l.kind,
        order_id: &l.order_id,
        withdrawal_id: &l.withdrawal_id,
    }
}

#[derive(Serialize)]
pub struct TopupView<'a> {
    id: &'a TopupId,
    amount: Money,
    method: &'a TopupMethod,
    status: TopupStatus,
    created_at: Time,
    /// A provider's: where the buyer approves, and until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    approve_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fee: Option<Money>,
}

pub fn topup(t: &Topup) -> TopupView<'_> {
    TopupView {
        id: &t.id,
        amount: t.amount,
        method: &t.method,
        status: t.status,
        created_at: Time(t.created_at),
        approve_url: t.checkout.as_ref().map(|c| c.approve_url.as_str()),
        expires_at: time(t.expires_at),
        fee: t.fee,
    }
}

pub(crate) async fn me(ctx: &Ctx<'_>) -> AppResult<Reply> {
    ok(&profile(&accounts::me(ctx.app, ctx.caller()?).await?))
}

pub(crate) async fn edit_me(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, edit) = (ctx.app, ctx.caller()?, ctx.input());
    ctx.mutate(
        200,
        || Box::pin(accounts::update_profile(app, c, edit.clone())),
        |x| json_text(&profile(x)),
    )
    .await
}

#[derive(Serialize)]
struct Unsubscribed {
    unsubscribed: EmailTopic,
    email_prefs: EmailPrefs,
}

/// `POST /unsubscribe?token=`: a mail provider's one-click POST (its body,
/// `List-Unsubscribe=One-Click`, says nothing more and is not read).
pub(crate) async fn unsubscribe(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let token = ctx
        .q("token")
        .ok_or_else(|| AppError::bad_request("invalid_unsubscribe_token", "token is required"))?;
    let (topic, prefs) = accounts::unsubscribe(ctx.app, token).await?;
    ok(&Unsubscribed {
        unsubscribed: topic,
        email_prefs: prefs,
    })
}

/// `GET /unsubscribe?token=`: the same link opened by a person (the
/// email's footer, or a mail client without one-click). Link scanners
/// fetch links too, so a GET changes nothing: a valid token is sent on to
/// the site's page, which asks, then POSTs; any other is `400`.
pub(crate) async fn unsubscribe_page(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let invalid = || {
        AppError::bad_request(
            "invalid_unsubscribe_token",
            "this unsubscribe link is not one we sent",
        )
    };
    let token = ctx.q("token").ok_or_else(invalid)?;
    ctx.app.unsubscribe.verify(token).ok_or_else(invalid)?;
    // A token we signed is base64url and dots: safe in a URL as it is.
    Ok(Reply {
        status: 302,
        body: format!(
            "{}/unsubscribe?token={token}",
            ctx.app.public_url.trim_end_matches('/')
        ),
    })
}

pub(crate) async fn ledger(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let lines = accounts::ledger(ctx.app, ctx.caller()?, &ctx.page()?).await?;
    ok(&page(&lines, ledger_line))
}

pub(crate) async fn start_topup(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, input) = (ctx.app, ctx.caller()?, ctx.input());
    // A PayPal top-up opens a checkout before its commit: a replay must
    // not open another, so the key is read first.
    ctx.mutate_as(
        crate::idempotency::KeyCheck::ReadFirst,
        |_| 201,
        || Box::pin(accounts::topup(app, c, input.clone())),
        |x| json_text(&topup(x)),
    )
    .await
}
