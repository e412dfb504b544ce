//! Reviews of completed orders, and the seller's one reply.

use super::input::fields;
use super::{outbox_rows, visible_order};
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ports::{UnitOfWork, Write};
use khamsa_domain::order::{Order, Party};
use khamsa_domain::review::{Rating, Review};
use khamsa_domain::service::ServiceStats;
use khamsa_domain::text::Text;

pub async fn write(
    app: &App,
    caller: &Caller,
    order_id: &str,
    body: &[u8],
) -> AppResult<Outcome<Review>> {
    let (order, party) = visible_order(app, caller, order_id).await?;
    Order::require(party, Party::Buyer)?;
    let f = fields(body)?;
    let rating = Rating::parse(f.opt_int("rating")?.ok_or_else(|| {
        AppError::Domain(khamsa_domain::DomainError::invalid("rating", "is required"))
    })?)?;
    let text = Text::parse_no_contact("text", &f.str("text")?, app.cfg.review_text_max)?;
    let existing = app.store.review(&order.id).await?;
    let now = app.now();
    let (review, notice) = Review::write(
        &order,
        existing.as_ref(),
        rating,
        text.into_string(),
        now,
        &app.cfg,
    )?;
    let stats = ServiceStats {
        rating_count: 1,
        rating_sum: u64::from(rating.stars()),
        orders_completed: 0,
    };
    let uow = UnitOfWork {
        writes: vec![Write::Review(review.clone())],
        service_stats: vec![(review.service_id.clone(), stats)],
        outbox: outbox_rows(vec![notice], now),
        ..Default::default()
    };
    Ok(Outcome::new(review, uow))
}

pub async fn reply(
    app: &App,
    caller: &Caller,
    order_id: &str,
    body: &[u8],
) -> AppResult<Outcome<Review>> {
    let (order, party) = visible_order(app, caller, order_id).await?;
    Order::require(party, Party::Seller)?;
    let text =
        Text::parse_no_contact("text", &fields(body)?.str("text")?, app.cfg.review_text_max)?;
    let review = app
        .store
        .review(&order.id)
        .await?
        .ok_or(AppError::NotFound("review"))?;
    let replied = review.reply(party, text.into_string(), app.now())?;
    let uow = UnitOfWork {
        writes: vec![Write::Review(replied.clone())],
        ..Default::default()
    };
    Ok(Outcome::new(replied, uow))
}
