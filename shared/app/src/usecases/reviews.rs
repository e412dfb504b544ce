//! Reviews of completed orders, and the seller's one reply.

use super::input::{Body, Input, ReplyText, required};
use super::{outbox_rows, visible_order};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ports::{UnitOfWork, Write};
use khamsa_domain::order::{Order, Party};
use khamsa_domain::review::{Rating, Review};
use khamsa_domain::service::ServiceStats;
use khamsa_domain::text::Text;
use khamsa_domain::{Config, DomainResult};
use serde::Deserialize;

/// `POST /orders/{id}/review`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewInput {
    pub rating: Rating,
    pub text: Text,
}

#[derive(Deserialize)]
pub struct ReviewJson {
    rating: Option<i64>,
    text: Option<String>,
}

impl Body for ReviewInput {
    type Json = ReviewJson;
    fn check(j: ReviewJson, cfg: &Config) -> DomainResult<Self> {
        let rating = Rating::parse(required("rating", j.rating)?)?;
        let text = required("text", j.text)?;
        Ok(ReviewInput {
            rating,
            text: Text::parse_no_contact("text", &text, cfg.review_text_max)?,
        })
    }
}

pub async fn write(
    app: &App,
    caller: &Caller,
    order_id: &str,
    input: Input<ReviewInput>,
) -> AppResult<Outcome<Review>> {
    let (order, party) = visible_order(app, caller, order_id).await?;
    Order::require(party, Party::Buyer)?;
    let ReviewInput { rating, text } = input?;
    let existing = app.store.review(&order.id).await?;
    let now = app.now();
    let (review, notice) = Review::write(&order, existing.as_ref(), rating, text, now, &app.cfg)?;
    let stats = ServiceStats {
        rating_count: 1,
        rating_sum: u64::from(rating.stars()),
        orders_completed: 0,
    };
    let uow = UnitOfWork {
        writes: vec![Write::Review(review.clone())],
        service_stats: vec![(review.service_id.clone(), stats)],
        seller_stats: vec![(review.seller_id.clone(), stats)],
        outbox: outbox_rows(vec![notice], now),
        ..Default::default()
    };
    Ok(Outcome::new(review, uow))
}

pub async fn reply(
    app: &App,
    caller: &Caller,
    order_id: &str,
    text: Input<ReplyText>,
) -> AppResult<Outcome<Review>> {
    let (order, party) = visible_order(app, caller, order_id).await?;
    Order::require(party, Party::Seller)?;
    let ReplyText(text) = text?;
    let review = app
        .store
        .review(&order.id)
        .await?
        .ok_or(AppError::NotFound("review"))?;
    let replied = review.reply(party, text, app.now())?;
    let uow = UnitOfWork {
        writes: vec![Write::Review(replied.clone())],
        ..Default::default()
    };
    Ok(Outcome::new(replied, uow))
}
