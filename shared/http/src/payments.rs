//! Money in (issue 8): payment methods, top-ups and their capture, the
//! provider's webhooks, pay-with-PayPal checkouts and payment holds.

use crate::accounts::topup;
use crate::views::page;
use crate::{Ctx, Reply, json_text, ok};
use khamsa_app::AppResult;
use khamsa_app::ports::Profile;
use khamsa_app::ports::payments::{PaymentMethod, WebhookDelivery};
use khamsa_app::usecases::{reversals, topups};
use khamsa_domain::Money;
use khamsa_domain::ids::{TopupId, UserId};
use khamsa_domain::topup::Topup;
use serde::Serialize;

#[derive(Serialize)]
struct Methods {
    items: Vec<&'static str>,
}

pub(crate) async fn methods(ctx: &Ctx<'_>) -> AppResult<Reply> {
    ok(&Methods {
        items: topups::methods(ctx.app),
    })
}

pub(crate) async fn mine(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let list = topups::mine(ctx.app, ctx.caller()?, &ctx.page()?).await?;
    ok(&page(&list, topup))
}

pub(crate) async fn capture(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let t = topups::capture(ctx.app, ctx.caller()?, &ctx.id).await?;
    ok(&topup(&t))
}

#[derive(Serialize)]
struct Delivered {
    ok: bool,
    outcome: &'static str,
}

/// The raw body, byte for byte, and the headers go to the provider's
/// verification: nothing is parsed before it vouches for them.
pub(crate) async fn paypal_webhook(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let delivery = WebhookDelivery {
        headers: ctx
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: ctx.body.to_vec(),
    };
    let d = topups::webhook(ctx.app, PaymentMethod::Paypal, &delivery).await?;
    ok(&Delivered {
        ok: true,
        outcome: match d {
            topups::Delivered::Applied => "applied",
            topups::Delivered::Duplicate => "duplicate",
            topups::Delivered::Ignored => "ignored",
        },
    })
}

#[derive(Serialize)]
pub struct CheckoutView<'a> {
    checkout: CheckoutInner<'a>,
}

#[derive(Serialize)]
struct CheckoutInner<'a> {
    topup_id: &'a TopupId,
    approve_url: Option<&'a str>,
    amount: Money,
}

/// `POST /orders`' `202`: the checkout for exactly the shortfall.
pub fn checkout(t: &Topup) -> CheckoutView<'_> {
    CheckoutView {
        checkout: CheckoutInner {
            topup_id: &t.id,
            approve_url: t.checkout.as_ref().map(|c| c.approve_url.as_str()),
            amount: t.amount,
        },
    }
}

#[derive(Serialize)]
struct HoldView<'a> {
    id: &'a UserId,
    payment_hold: bool,
}

fn hold(p: &Profile) -> HoldView<'_> {
    HoldView {
        id: &p.id,
        payment_hold: p.payment_hold,
    }
}

pub(crate) async fn clear_hold(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id) = (ctx.app, ctx.caller()?, ctx.id.as_str());
    let p = reversals::clear_hold(app, c, id, ctx.input()).await?;
    Ok(Reply {
        status: 200,
        body: json_text(&hold(&p)),
    })
}
