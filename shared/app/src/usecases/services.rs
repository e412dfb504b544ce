//! Services: create, edit, pause, resume, and moderation by operators.

use super::input::{Amount, Body, Input, OperatorReason, nullable, required};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{Page, PageReq, Profile, ServiceQuery, UnitOfWork, Write};
use khamsa_domain::ids::{ServiceId, UserId};
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::review::Review;
use khamsa_domain::search::SearchQuery;
use khamsa_domain::service::{DraftInput, Service, ServiceDraft, ServiceStats, UpgradeInput};
use khamsa_domain::{Config, DomainError, DomainResult};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DraftJson {
    title: Option<String>,
    description: Option<String>,
    category: Option<String>,
    price: Option<Amount>,
    delivery_days: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    instructions: Option<Option<String>>,
    upgrades: Option<Vec<UpgradeJson>>,
}

#[derive(Deserialize)]
pub struct UpgradeJson {
    title: Option<String>,
    price: Option<Amount>,
    extra_days: Option<i64>,
}

/// The fields of `POST /services` and `PATCH /services/{id}`; the draft's
/// own rules (ranges, categories, what an edit keeps) are the domain's.
impl Body for DraftInput {
    type Json = DraftJson;
    fn check(j: DraftJson, _: &Config) -> DomainResult<Self> {
        let upgrades = j
            .upgrades
            .map(|items| {
                items
                    .into_iter()
                    .map(|u| {
                        Ok(UpgradeInput {
                            title: required("title", u.title)?,
                            price: required("price", u.price)?.money("price")?,
                            extra_days: u.extra_days.unwrap_or(0),
                        })
                    })
                    .collect::<DomainResult<Vec<_>>>()
            })
            .transpose()?;
        Ok(DraftInput {
            title: j.title,
            description: j.description,
            category: j.category,
            price: j.price.map(|p| p.money("price")).transpose()?,
            delivery_days: j.delivery_days,
            instructions: j.instructions,
            upgrades,
        })
    }
}

/// A service with the counters read beside it, so the answer shows its
/// rating without reading the service a second time.
pub type ServiceView = (Service, ServiceStats);

fn saved(s: Service, stats: ServiceStats) -> Outcome<ServiceView> {
    let uow = UnitOfWork {
        writes: vec![Write::Service(s.clone())],
        ..Default::default()
    };
    Outcome::new(
        (
            Service {
                version: s.version + 1,
                ..s
            },
            stats,
        ),
        uow,
    )
}

pub async fn create(
    app: &App,
    caller: &Caller,
    input: Input<DraftInput>,
) -> AppResult<Outcome<ServiceView>> {
    let draft = ServiceDraft::parse(input?, None, &app.cfg)?;
    let now = app.now();
    Ok(saved(
        Service::create(
            ServiceId::new(new_id("svc", now)),
            caller.id.clone(),
            draft,
            now,
        ),
        ServiceStats::default(),
    ))
}

/// A service the caller may see; hidden ones are 404 like missing ones.
pub async fn visible(app: &App, caller: Option<&Caller>, id: &str) -> AppResult<ServiceView> {
    let (s, stats) = app
        .store
        .service(&ServiceId::new(id))
        .await?
        .ok_or(AppError::NotFound("service"))?;
    if !s.visible_to(caller.map(|c| &c.id), caller.is_some_and(|c| c.operator)) {
        return Err(AppError::NotFound("service"));
    }
    Ok((s, stats))
}

async fn own(app: &App, caller: &Caller, id: &str) -> AppResult<ServiceView> {
    let (s, stats) = visible(app, Some(caller), id).await?;
    if !s.is_seller(&caller.id) {
        return Err(DomainError::NotAllowed("the service's seller").into());
    }
    Ok((s, stats))
}

pub async fn edit(
    app: &App,
    caller: &Caller,
    id: &str,
    input: Input<DraftInput>,
) -> AppResult<Outcome<ServiceView>> {
    let (mut s, stats) = own(app, caller, id).await?;
    let draft = ServiceDraft::parse(input?, Some(s.editable()), &app.cfg)?;
    s.edit(draft, app.now());
    Ok(saved(s, stats))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SellerAction {
    Pause,
    Resume,
}

pub async fn seller_action(
    app: &App,
    caller: &Caller,
    id: &str,
    a: SellerAction,
) -> AppResult<Outcome<ServiceView>> {
    let (mut s, stats) = own(app, caller, id).await?;
    let now = app.now();
    match a {
        SellerAction::Pause => s.pause(now)?,
        SellerAction::Resume => s.resume(now)?,
    }
    Ok(saved(s, stats))
}

/// An operator's decision; the edge checks operators once for every
/// `/admin` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moderation {
    Approve,
    /// Needs a reason, which the seller reads.
    Reject(Input<OperatorReason>),
    ApproveRevision,
    RejectRevision,
}

/// An operator's decision on a service; never on one of their own.
pub async fn moderate(
    app: &App,
    operator: &Caller,
    id: &str,
    m: Moderation,
) -> AppResult<Outcome<ServiceView>> {
    let (mut s, stats) = app
        .store
        .service(&ServiceId::new(id))
        .await?
        .ok_or(AppError::NotFound("service"))?;
    if s.is_seller(&operator.id) {
        return Err(
            DomainError::NotAllowed("an operator never moderates their own service").into(),
        );
    }
    let now = app.now();
    let kind = match m {
        Moderation::Approve => {
            s.approve(now)?;
            NoticeKind::ServiceApproved { revision: false }
        }
        Moderation::Reject(reason) => {
            s.reject(reason?.required()?, now)?;
            NoticeKind::ServiceRejected {
                revision: false,
                reason: s.rejection_reason.clone(),
            }
        }
        Moderation::ApproveRevision => {
            s.approve_revision(now)?;
            NoticeKind::ServiceApproved { revision: true }
        }
        Moderation::RejectRevision => {
            s.reject_revision(now)?;
            NoticeKind::ServiceRejected {
                revision: true,
                reason: None,
            }
        }
    };
    // The seller hears of the decision, in the same unit of work.
    let told = Notice {
        to: s.seller_id.clone(),
        order_id: None,
        withdrawal_id: None,
        service_title: Some(s.draft.title.clone()),
        kind,
    };
    let mut out = saved(s, stats);
    out.uow.outbox = super::outbox_rows(vec![told], now);
    Ok(out)
}

/// `GET /services`: the public list, by category, by seller, or both;
/// with a search, the matches best first (product.md "Search").
pub async fn list(
    app: &App,
    search: Option<SearchQuery>,
    seller: Option<UserId>,
    category: Option<String>,
    page: &PageReq,
) -> AppResult<Page<ServiceView>> {
    if let Some(q) = search {
        let q = ServiceQuery::Search {
            q,
            category,
            seller,
        };
        return Ok(app.store.services(&q, page).await?);
    }
    let q = match (seller, category) {
        (Some(seller), Some(category)) => ServiceQuery::SellerInCategory { seller, category },
        (Some(seller), None) => ServiceQuery::BySeller {
            seller,
            only_active: true,
        },
        (None, category) => ServiceQuery::Active { category },
    };
    Ok(app.store.services(&q, page).await?)
}

/// `GET /me/services`: the caller's services in every status.
pub async fn mine(app: &App, caller: &Caller, page: &PageReq) -> AppResult<Page<ServiceView>> {
    let q = ServiceQuery::BySeller {
        seller: caller.id.clone(),
        only_active: false,
    };
    Ok(app.store.services(&q, page).await?)
}

/// `GET /admin/services`: the moderation queues (by status, or with a
/// revision waiting); served under `/admin`, where the edge checks
/// operators once.
pub async fn queue(app: &App, q: ServiceQuery, page: &PageReq) -> AppResult<Page<ServiceView>> {
    Ok(app.store.services(&q, page).await?)
}

/// A seller's public profile: the rating rolls up every service they ever
/// listed; the list shows the active ones among them.
#[derive(Debug, Clone)]
pub struct Seller {
    pub profile: Profile,
    pub stats: ServiceStats,
    pub services: Vec<ServiceView>,
}

/// `GET /users/{id}`: the profile, the seller's counters (kept in the same
/// transactions as every completion and review, so however many services
/// they have, nothing is re-added here), and their active services, newest
/// first (the first 100; `GET /services?seller_id=` pages through all).
pub async fn seller(app: &App, id: &str) -> AppResult<Seller> {
    let user = UserId::new(id);
    let profile = app
        .store
        .profile(&user)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let stats = app.store.seller_stats(&user).await?;
    let services = app
        .store
        .services(
            &ServiceQuery::BySeller {
                seller: user,
                only_active: true,
            },
            &PageReq::first(100),
        )
        .await?
        .items;
    Ok(Seller {
        profile,
        stats,
        services,
    })
}

/// A visible service's reviews, newest first. A bad page (`?limit=`) is
/// refused after the 404.
pub async fn reviews(
    app: &App,
    caller: Option<&Caller>,
    id: &str,
    page: AppResult<PageReq>,
) -> AppResult<Page<Review>> {
    let (s, _) = visible(app, caller, id).await?;
    Ok(app.store.reviews(&s.id, &page?).await?)
}
