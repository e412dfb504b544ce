//! The requests board: post, offer, close.

use super::input::{Amount, Body, Input, required};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{Page, PageReq, UnitOfWork, Write};
use khamsa_domain::ids::{OfferId, RequestId, ServiceId};
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::request::{Offer, Request};
use khamsa_domain::text::Text;
use khamsa_domain::{Config, DomainError, DomainResult, Money};
use serde::Deserialize;

/// `POST /requests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub title: Text,
    pub description: Text,
    pub budget: Option<Money>,
}

#[derive(Deserialize)]
pub struct NewRequestJson {
    title: Option<String>,
    description: Option<String>,
    budget: Option<Amount>,
}

impl Body for NewRequest {
    type Json = NewRequestJson;
    fn check(j: NewRequestJson, cfg: &Config) -> DomainResult<Self> {
        let title = Text::parse_no_contact("title", &required("title", j.title)?, cfg.title_max)?;
        let description = Text::parse_no_contact(
            "description",
            &required("description", j.description)?,
            cfg.description_max,
        )?;
        let budget = j
            .budget
            .map(|b| {
                b.money("budget")?.check_range(
                    "budget",
                    cfg.service_price_min,
                    cfg.request_budget_max,
                    None,
                )
            })
            .transpose()?;
        Ok(NewRequest {
            title,
            description,
            budget,
        })
    }
}

/// `POST /requests/{id}/offers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    pub text: Text,
    pub service_id: Option<ServiceId>,
}

#[derive(Deserialize)]
pub struct NewOfferJson {
    text: Option<String>,
    service_id: Option<String>,
}

impl Body for NewOffer {
    type Json = NewOfferJson;
    fn check(j: NewOfferJson, cfg: &Config) -> DomainResult<Self> {
        let text = required("text", j.text)?;
        Ok(NewOffer {
            text: Text::parse_no_contact("text", &text, cfg.message_max)?,
            // Refused as a missing service of the seller's would be,
            // before any store is asked for it.
            service_id: j
                .service_id
                .map(|s| {
                    ServiceId::plausible(s).ok_or_else(|| {
                        DomainError::invalid(
                            "service_id",
                            "must be one of your own active services",
                        )
                    })
                })
                .transpose()?,
        })
    }
}

/// A request with the offers made on it.
pub type RequestView = (Request, Vec<Offer>);

pub async fn create(
    app: &App,
    caller: &Caller,
    input: Input<NewRequest>,
) -> AppResult<Outcome<Request>> {
    let NewRequest {
        title,
        description,
        budget,
    } = input?;
    let now = app.now();
    let r = Request::create(
        RequestId::new(new_id("req", now)),
        &caller.id,
        title,
        description,
        budget,
        now,
    );
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

/// `GET /requests`: the open ones.
pub async fn open(app: &App, page: &PageReq) -> AppResult<Page<Request>> {
    Ok(app.store.open_requests(page).await?)
}

/// `GET /requests/{id}`.
pub async fn show(app: &App, id: &str) -> AppResult<RequestView> {
    let r = load(app, id).await?;
    let offers = app.store.offers(&r.id).await?;
    Ok((r, offers))
}

pub async fn offer(
    app: &App,
    caller: &Caller,
    id: &str,
    input: Input<NewOffer>,
) -> AppResult<Outcome<Offer>> {
    let request = load(app, id).await?;
    request.check_offerer(&caller.id)?;
    let NewOffer { text, service_id } = input?;
    let service = match service_id {
        Some(sid) => Some(
            app.store
                .service(&sid)
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
        text,
        service.as_ref(),
        existing.as_ref(),
        now,
    )?;
    // The author hears of the offer (a second one was refused above).
    let told = Some(Notice {
        to: request.author_id.clone(),
        order_id: None,
        withdrawal_id: None,
        service_title: None,
        kind: NoticeKind::NewOffer {
            request_id: request.id.clone(),
            request_title: request.title.clone(),
            text: offer.text.clone(),
        },
    });
    let uow = UnitOfWork {
        writes: vec![Write::Offer(offer.clone())],
        outbox: super::outbox_rows(told.into_iter().collect(), now),
        ..Default::default()
    };
    Ok(Outcome::new(offer, uow))
}

/// Closes a request; the answer shows its offers, read in the same attempt.
pub async fn close(app: &App, caller: &Caller, id: &str) -> AppResult<Outcome<RequestView>> {
    let closed = load(app, id).await?.close(&caller.id)?;
    let offers = app.store.offers(&closed.id).await?;
    let uow = UnitOfWork {
        writes: vec![Write::Request(closed.clone())],
        ..Default::default()
    };
    Ok(Outcome::new(
        (
            Request {
                version: closed.version + 1,
                ..closed
            },
            offers,
        ),
        uow,
    ))
}
