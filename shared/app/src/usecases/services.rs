//! Services: create, edit, pause, resume, and moderation by operators.

use super::input::{Fields, fields};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{UnitOfWork, Write};
use khamsa_domain::DomainError;
use khamsa_domain::ids::ServiceId;
use khamsa_domain::service::{DraftInput, Service, ServiceDraft, ServiceStats, UpgradeInput};
use khamsa_domain::text::Text;

fn draft_input(f: &Fields) -> AppResult<DraftInput> {
    let upgrades = f
        .objects("upgrades")?
        .map(|items| {
            items
                .iter()
                .map(|u| {
                    Ok(UpgradeInput {
                        title: u.str("title")?,
                        price: u.money("price")?,
                        extra_days: u.opt_int("extra_days")?.unwrap_or(0),
                    })
                })
                .collect::<AppResult<Vec<_>>>()
        })
        .transpose()?;
    Ok(DraftInput {
        title: f.opt_str("title")?,
        description: f.opt_str("description")?,
        category: f.opt_str("category")?,
        price: f.opt_money("price")?,
        delivery_days: f.opt_int("delivery_days")?,
        instructions: f.nullable_str("instructions")?,
        upgrades,
    })
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

pub async fn create(app: &App, caller: &Caller, body: &[u8]) -> AppResult<Outcome<ServiceView>> {
    let draft = ServiceDraft::parse(draft_input(&fields(body)?)?, None, &app.cfg)?;
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
    body: &[u8],
) -> AppResult<Outcome<ServiceView>> {
    let (mut s, stats) = own(app, caller, id).await?;
    let draft = ServiceDraft::parse(draft_input(&fields(body)?)?, Some(s.editable()), &app.cfg)?;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    Approve,
    Reject,
    ApproveRevision,
    RejectRevision,
}

pub async fn moderate(
    app: &App,
    caller: &Caller,
    id: &str,
    m: Moderation,
    body: &[u8],
) -> AppResult<Outcome<ServiceView>> {
    if !caller.operator {
        return Err(AppError::OperatorsOnly);
    }
    let (mut s, stats) = app
        .store
        .service(&ServiceId::new(id))
        .await?
        .ok_or(AppError::NotFound("service"))?;
    let now = app.now();
    match m {
        Moderation::Approve => s.approve(now)?,
        Moderation::Reject => {
            let reason = Text::parse(
                "reason",
                &fields(body)?.str("reason")?,
                app.cfg.review_text_max,
            )?;
            s.reject(reason.into_string(), now)?
        }
        Moderation::ApproveRevision => s.approve_revision(now)?,
        Moderation::RejectRevision => s.reject_revision(now)?,
    }
    Ok(saved(s, stats))
}
