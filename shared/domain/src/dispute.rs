//! Disputes (product.md "Disputes"): the buyer or the seller of an order
//! in progress or delivered asks an operator to decide. While one is open
//! the order's timers hold; the operator ends it with a refund (cancel) or
//! a release (complete), and their reason stays on the order.

use crate::config::Config;
use crate::error::{DomainError, DomainResult};
use crate::ids::UserId;
use crate::notice::NoticeKind;
use crate::order::{Actor, Decision, Order, OrderStatus, Party};
use crate::text::Text;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeOutcome {
    /// The escrow goes back to the buyer.
    Cancel,
    /// The escrow is released to the seller.
    Complete,
}

impl DisputeOutcome {
    pub fn parse(s: &str) -> DomainResult<DisputeOutcome> {
        match s {
            "cancel" => Ok(DisputeOutcome::Cancel),
            "complete" => Ok(DisputeOutcome::Complete),
            _ => Err(DomainError::invalid(
                "outcome",
                "must be cancel or complete",
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub outcome: DisputeOutcome,
    pub reason: String,
    pub by: UserId,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    pub opened_by: Actor,
    pub reason: String,
    pub opened_at: Timestamp,
    pub resolution: Option<Resolution>,
}

impl Order {
    /// A dispute waits for an operator.
    pub fn dispute_open(&self) -> bool {
        self.dispute
            .as_ref()
            .is_some_and(|d| d.resolution.is_none())
    }

    /// Refuses what would end or move the order past an open dispute: only
    /// the operator's resolution does that.
    pub fn require_no_dispute(&self, action: &'static str) -> DomainResult<()> {
        if self.dispute_open() {
            return Err(DomainError::InvalidTransition {
                action,
                state: "a dispute is open",
            });
        }
        Ok(())
    }

    pub fn open_dispute(
        &self,
        party: Party,
        reason: Text,
        now: Timestamp,
    ) -> DomainResult<Decision> {
        let (by, other) = match party {
            Party::Buyer => (Actor::Buyer, self.seller_id.clone()),
            Party::Seller => (Actor::Seller, self.buyer_id.clone()),
            Party::Operator => {
                return Err(DomainError::NotAllowed("the order's buyer or seller"));
            }
        };
        if !matches!(
            self.status,
            OrderStatus::InProgress | OrderStatus::Delivered
        ) {
            return Err(self.invalid("open a dispute"));
        }
        self.require_no_dispute("open a dispute")?;
        let reason = reason.into_string();
        let mut d = Decision::new(self.clone());
        d.order.dispute = Some(Box::new(Dispute {
            opened_by: by,
            reason: reason.clone(),
            opened_at: now,
            resolution: None,
        }));
        d.notify(other, NoticeKind::DisputeOpened { by, reason });
        Ok(d)
    }

    /// An operator ends the open dispute: a refund or a release, as the
    /// operators' cancel and complete do, with their reason kept and sent
    /// to both parties.
    pub fn resolve_dispute(
        &self,
        party: Party,
        operator: &UserId,
        outcome: DisputeOutcome,
        reason: Text,
        now: Timestamp,
        cfg: &Config,
    ) -> DomainResult<Decision> {
        Order::require(party, Party::Operator)?;
        let Some(dispute) = self.dispute.clone().filter(|d| d.resolution.is_none()) else {
            return Err(DomainError::InvalidTransition {
                action: "resolve a dispute",
                state: "no dispute is open",
            });
        };
        if self.status.is_finished() {
            return Err(self.invalid("resolve a dispute"));
        }
        let reason = reason.into_string();
        let mut d = match outcome {
            DisputeOutcome::Cancel => self.cancelled(Actor::Operator, None, now, cfg),
            DisputeOutcome::Complete => self.complete(Actor::Operator, now, cfg),
        };
        if outcome == DisputeOutcome::Cancel {
            d.order.cancel_reason = Some(reason.clone());
        }
        d.order.dispute = Some(Box::new(Dispute {
            resolution: Some(Resolution {
                outcome,
                reason: reason.clone(),
                by: operator.clone(),
                at: now,
            }),
            ..*dispute
        }));
        // One email each, saying how it ended and why.
        d.notices.clear();
        for to in [self.buyer_id.clone(), self.seller_id.clone()] {
            d.notify(
                to,
                NoticeKind::DisputeResolved {
                    outcome,
                    reason: reason.clone(),
                },
            );
        }
        Ok(d)
    }
}
