//! `/requests`: the requests board (قسم الطلبات).

use crate::views::{Time, page};
use crate::{Ctx, Reply, json_text, ok};
use khamsa_app::AppResult;
use khamsa_app::usecases::requests;
use khamsa_domain::Money;
use khamsa_domain::ids::{OfferId, RequestId, ServiceId, UserId};
use khamsa_domain::request::{Offer, Request, RequestStatus};
use serde::Serialize;

#[derive(Serialize)]
pub struct OfferView<'a> {
    id: &'a OfferId,
    seller_id: &'a UserId,
    text: &'a str,
    service_id: Option<&'a ServiceId>,
    at: Time,
}

pub fn offer(o: &Offer) -> OfferView<'_> {
    OfferView {
        id: &o.id,
        seller_id: &o.seller_id,
        text: &o.text,
        service_id: o.service_id.as_ref(),
        at: Time(o.at),
    }
}

#[derive(Serialize)]
pub struct RequestView<'a> {
    id: &'a RequestId,
    author_id: &'a UserId,
    title: &'a str,
    description: &'a str,
    budget: Option<Money>,
    status: RequestStatus,
    created_at: Time,
    /// Shown on one request, not in the board's list.
    #[serde(skip_serializing_if = "Option::is_none")]
    offers: Option<Vec<OfferView<'a>>>,
}

pub fn request<'a>(r: &'a Request, offers: Option<&'a [Offer]>) -> RequestView<'a> {
    RequestView {
        id: &r.id,
        author_id: &r.author_id,
        title: &r.title,
        description: &r.description,
        budget: r.budget,
        status: r.status,
        created_at: Time(r.created_at),
        offers: offers.map(|o| o.iter().map(offer).collect()),
    }
}

pub(crate) async fn create(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, input) = (ctx.app, ctx.caller()?, ctx.input());
    ctx.mutate(
        201,
        || Box::pin(requests::create(app, c, input.clone())),
        |r| json_text(&request(r, Some(&[]))),
    )
    .await
}

pub(crate) async fn list(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let open = requests::open(ctx.app, &ctx.page()?).await?;
    ok(&page(&open, |r| request(r, None)))
}

pub(crate) async fn show(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (r, offers) = requests::show(ctx.app, &ctx.id).await?;
    ok(&request(&r, Some(&offers)))
}

pub(crate) async fn make_offer(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id, input) = (ctx.app, ctx.caller()?, ctx.id.as_str(), ctx.input());
    ctx.mutate(
        201,
        || Box::pin(requests::offer(app, c, id, input.clone())),
        |x| json_text(&offer(x)),
    )
    .await
}

pub(crate) async fn close(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id) = (ctx.app, ctx.caller()?, ctx.id.as_str());
    ctx.mutate(
        200,
        || Box::pin(requests::close(app, c, id)),
        |(r, offers)| json_text(&request(r, Some(offers))),
    )
    .await
}
