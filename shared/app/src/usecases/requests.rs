//! The requests board: post, offer, close.

use super::input::fields;
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{UnitOfWork, Write};
use khamsa_domain::DomainError;
use khamsa_domain::ids::{OfferId, RequestId, ServiceId};
use khamsa_domain::request::{Offer, Request, RequestStatus};
use khamsa_domain::text::Text;

pub async fn create(app: &App, caller: &Caller, body: &[u8]) -> AppResult<Outcome<Request>> {
    let f = fields(body)?;
    let cfg = &app.cfg;
    let title = Text::parse_no_contact("title", &f.str("title")?, cfg.title_max)?;
    let description =
        Text::parse_no_contact("description", &f.str("description")?, cfg.description_max)?;
    let budget = f
        .opt_money("budget")?
        .map(|b| {
            b.check_range(
                "budget",
                cfg.service_price_min,
                cfg.request_budget_max,
                None,
            )
        })
        .transpose()?;
    let now = app.now();
    let r = Request {
        id: RequestId::new(new_id("req", now)),
        author_id: caller.id.clone(),
        title: title.into_string(),
        description: description.into_string(),
        budget,
        status: RequestStatus::Open,
        created_at: now,
        version: 0,
    };
    let uow = UnitOfWork {
        writes: vec![Write::Request(r.clone())],
        ..Default::default()
    };
    Ok(Outcome::new(Request { version: 1, ..r }, uow))
}

pub async fn load(app: &App, id: &str) -> AppResult<Request> {
    app.store
        .request(&RequestId::new(id))
        .await?
        .ok_or(AppError::NotFound("request"))
}

pub async fn offer(app: &App, caller: &Caller, id: &str, body: &[u8]) -> AppResult<Outcome<Offer>> {
    let request = load(app, id).await?;
    request.check_offerer(&caller.id)?;
    let f = fields(body)?;
    let text = Text::parse_no_contact("text", &f.str("text")?, app.cfg.message_max)?;
    let service = match f.opt_str("service_id")? {
        Some(sid) => Some(
            app.store
                .service(&ServiceId::new(sid))
                .await?
                .map(|(s, _)| s)
                .ok_or_else(|| {
                    DomainError::invalid("service_id", "must be one of your own active services")
                })?,
        ),
        None => None,
    };
    let existing = app
        .store
        .offers(&request.id)
        .await?
        .into_iter()
        .find(|o| o.seller_id == caller.id);
    let now = app.now();
    let offer = request.offer(
        OfferId::new(new_id("off", now)),
        &caller.id,
        text.into_string(),
        service.as_ref(),
        existing.as_ref(),
        now,
    )?;
    let uow = UnitOfWork {
        writes: vec![Write::Offer(offer.clone())],
        ..Default::default()
    };
    Ok(Outcome::new(offer, uow))
}

pub async fn close(app: &App, caller: &Caller, id: &str) -> AppResult<Outcome<Request>> {
    let closed = load(app, id).await?.close(&caller.id)?;
    let uow = UnitOfWork {
        writes: vec![Write::Request(closed.clone())],
        ..Default::default()
    };
    Ok(Outcome::new(
        Request {
            version: closed.version + 1,
            ..closed
        },
        uow,
    ))
}
