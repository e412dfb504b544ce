//! Reviews: one per completed order, by its buyer, within the window; the
//! seller may reply once.

use crate::config::Config;
use crate::error::{DomainError, DomainResult};
use crate::ids::{OrderId, ServiceId, UserId};
use crate::notice::{Notice, NoticeKind};
use crate::order::{Order, OrderStatus, Party};
use crate::text::Text;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// 1 to 5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rating(u8);

impl Rating {
    pub fn parse(v: i64) -> DomainResult<Rating> {
        if (1..=5).contains(&v) {
            Ok(Rating(v as u8))
        } else {
            Err(DomainError::invalid(
                "rating",
                "must be a whole number from 1 to 5",
            ))
        }
    }
    pub fn stars(self) -> u8 {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    pub at: Timestamp,
}

/// Keyed by its order: a second review of the same order cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub order_id: OrderId,
    pub service_id: ServiceId,
    pub seller_id: UserId,
    pub buyer_id: UserId,
    pub rating: Rating,
    pub text: String,
    pub created_at: Timestamp,
    pub reply: Option<Reply>,
    pub version: u64,
}

impl Review {
    /// Checks the state rules of reviewing (the role was checked before the
    /// body was read) and writes the review and the seller's notice.
    pub fn write(
        order: &Order,
        existing: Option<&Review>,
        rating: Rating,
        text: Text,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<(Review, Notice)> {
        if order.status != OrderStatus::Completed {
            return Err(DomainError::InvalidTransition {
                action: "review",
                state: order.status.into(),
            });
        }
        if existing.is_some() {
            return Err(DomainError::AlreadyReviewed);
        }
        let completed = order.completed_at.unwrap_or(order.placed_at);
        if now > completed.plus_days(cfg.review_window_days) {
            return Err(DomainError::ReviewWindowClosed);
        }
        let text = text.into_string();
        let review = Review {
            order_id: order.id.clone(),
            service_id: order.service_id.clone(),
            seller_id: order.seller_id.clone(),
            buyer_id: order.buyer_id.clone(),
            rating,
            text: text.clone(),
            created_at: now,
            reply: None,
            version: 0,
        };
        let notice = Notice {
            to: order.seller_id.clone(),
            order_id: Some(order.id.clone()),
            withdrawal_id: None,
            service_title: Some(order.service_title.clone()),
            kind: NoticeKind::ReviewReceived {
                rating: rating.stars(),
                text,
            },
        };
        Ok((review, notice))
    }

    pub fn reply(&self, party: Party, text: Text, now: Timestamp) -> DomainResult<Review> {
        Order::require(party, Party::Seller)?;
        if self.reply.is_some() {
            return Err(DomainError::AlreadyReplied);
        }
        let mut r = self.clone();
        r.reply = Some(Reply {
            text: text.into_string(),
            at: now,
        });
        Ok(r)
    }
}
