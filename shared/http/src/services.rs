//! `/services` and `/users`: the catalogue, its reviews and sellers'
//! public profiles.

use crate::views::{RatingView, Time, page, rating};
use crate::{Ctx, Reply, json_text, ok};
use khamsa_app::usecases::services::{self, SellerAction, ServiceView as Listed};
use khamsa_app::{AppResult, Caller};
use khamsa_domain::Money;
use khamsa_domain::ids::{OrderId, ServiceId, UserId};
use khamsa_domain::review::Review;
use khamsa_domain::search::SearchQuery;
use khamsa_domain::service::{ServiceDraft, ServiceStatus};
use serde::Serialize;

#[derive(Serialize)]
pub struct DraftView<'a> {
    title: &'a str,
    description: &'a str,
    category: &'a str,
    price: Money,
    delivery_days: u32,
    instructions: Option<&'a str>,
    upgrades: Vec<UpgradeView<'a>>,
}

#[derive(Serialize)]
pub struct UpgradeView<'a> {
    index: usize,
    title: &'a str,
    price: Money,
    extra_days: u32,
}

fn draft(d: &ServiceDraft) -> DraftView<'_> {
    DraftView {
        title: &d.title,
        description: &d.description,
        category: &d.category,
        price: d.price,
        delivery_days: d.delivery_days,
        instructions: d.instructions.as_deref(),
        upgrades: d
            .upgrades
            .iter()
            .enumerate()
            .map(|(index, u)| UpgradeView {
                index,
                title: &u.title,
                price: u.price,
                extra_days: u.extra_days,
            })
            .collect(),
    }
}

#[derive(Serialize)]
pub struct ServiceView<'a> {
    id: &'a ServiceId,
    seller_id: &'a UserId,
    #[serde(flatten)]
    draft: DraftView<'a>,
    status: ServiceStatus,
    rating: RatingView,
    orders_completed: u64,
    created_at: Time,
    /// Only for the seller and operators.
    #[serde(flatten)]
    moderation: Option<ModerationView<'a>>,
}

#[derive(Serialize)]
pub struct ModerationView<'a> {
    pending_revision: Option<DraftView<'a>>,
    rejection_reason: Option<&'a str>,
}

/// `viewer` decides whether the pending revision and rejection reason show:
/// they are the seller's and operators' business.
pub fn service<'a>((s, stats): &'a Listed, viewer: Option<&Caller>) -> ServiceView<'a> {
    ServiceView {
        id: &s.id,
        seller_id: &s.seller_id,
        draft: draft(&s.draft),
        status: s.status,
        rating: rating(stats),
        orders_completed: stats.orders_completed,
        created_at: Time(s.created_at),
        moderation: viewer
            .is_some_and(|c| c.operator || c.id == s.seller_id)
            .then(|| ModerationView {
                pending_revision: s.pending_revision.as_ref().map(draft),
                rejection_reason: s.rejection_reason.as_deref(),
            }),
    }
}

#[derive(Serialize)]
pub struct ReviewView<'a> {
    id: &'a OrderId,
    order_id: &'a OrderId,
    service_id: &'a ServiceId,
    buyer_id: &'a UserId,
    seller_id: &'a UserId,
    rating: u8,
    text: &'a str,
    created_at: Time,
    reply: Option<ReplyView<'a>>,
}

#[derive(Serialize)]
pub struct ReplyView<'a> {
    text: &'a str,
    at: Time,
}

pub fn review(r: &Review) -> ReviewView<'_> {
    ReviewView {
        id: &r.order_id,
        order_id: &r.order_id,
        service_id: &r.service_id,
        buyer_id: &r.buyer_id,
        seller_id: &r.seller_id,
        rating: r.rating.stars(),
        text: &r.text,
        created_at: Time(r.created_at),
        reply: r.reply.as_ref().map(|x| ReplyView {
            text: &x.text,
            at: Time(x.at),
        }),
    }
}

#[derive(Serialize)]
pub struct SellerView<'a> {
    id: &'a UserId,
    display_name: &'a str,
    rating: RatingView,
    orders_completed: u64,
    services: Vec<ServiceView<'a>>,
}

pub(crate) async fn create(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, input) = (ctx.app, ctx.caller()?, ctx.input());
    ctx.mutate(
        201,
        || Box::pin(services::create(app, c, input.clone())),
        |s| json_text(&service(s, Some(c))),
    )
    .await
}

pub(crate) async fn list(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let search = match ctx.q("q") {
        Some(raw) => SearchQuery::parse(raw)?,
        None => None,
    };
    let listed = services::list(
        ctx.app,
        search,
        ctx.q("seller_id").map(UserId::new),
        ctx.q("category").map(str::to_owned),
        &ctx.page()?,
    )
    .await?;
    ok(&page(&listed, |s| service(s, ctx.caller.as_ref())))
}

/// `GET /me/services`: the caller's own services in every status, with
/// what moderation said (the public routes show only active ones).
pub(crate) async fn mine(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let c = ctx.caller()?;
    let listed = services::mine(ctx.app, c, &ctx.page()?).await?;
    ok(&page(&listed, |s| service(s, Some(c))))
}

pub(crate) async fn show(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let s = services::visible(ctx.app, ctx.caller.as_ref(), &ctx.id).await?;
    ok(&service(&s, ctx.caller.as_ref()))
}

pub(crate) async fn edit(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id, input) = (ctx.app, ctx.caller()?, ctx.id.as_str(), ctx.input());
    ctx.mutate(
        200,
        || Box::pin(services::edit(app, c, id, input.clone())),
        |s| json_text(&service(s, Some(c))),
    )
    .await
}

async fn seller_action(ctx: &Ctx<'_>, action: SellerAction) -> AppResult<Reply> {
    let (app, c, id) = (ctx.app, ctx.caller()?, ctx.id.as_str());
    ctx.mutate(
        200,
        || Box::pin(services::seller_action(app, c, id, action)),
        |s| json_text(&service(s, Some(c))),
    )
    .await
}

pub(crate) async fn pause(ctx: &Ctx<'_>) -> AppResult<Reply> {
    seller_action(ctx, SellerAction::Pause).await
}

pub(crate) async fn resume(ctx: &Ctx<'_>) -> AppResult<Reply> {
    seller_action(ctx, SellerAction::Resume).await
}

pub(crate) async fn reviews(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let reviews = services::reviews(ctx.app, ctx.caller.as_ref(), &ctx.id, ctx.page()).await?;
    ok(&page(&reviews, review))
}

pub(crate) async fn seller(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let seller = services::seller(ctx.app, &ctx.id).await?;
    ok(&SellerView {
        id: &seller.profile.id,
        display_name: &seller.profile.display_name,
        rating: rating(&seller.stats),
        orders_completed: seller.stats.orders_completed,
        services: seller
            .services
            .iter()
            .map(|s| service(s, ctx.caller.as_ref()))
            .collect(),
    })
}
