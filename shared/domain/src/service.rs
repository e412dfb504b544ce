//! Services (خدمات): what a seller lists, its upgrades and its moderation.

use crate::config::Config;
use crate::error::{DomainError, DomainResult};
use crate::ids::{ServiceId, UserId};
use crate::money::Money;
use crate::text::Text;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display, IntoStaticStr, EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(
    serialize_all = "snake_case",
    parse_err_ty = DomainError,
    parse_err_fn = unknown_service_status
)]
pub enum ServiceStatus {
    PendingReview,
    Active,
    Paused,
    Rejected,
}

fn unknown_service_status(_: &str) -> DomainError {
    DomainError::invalid("status", "unknown service status")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    pub title: String,
    pub price: Money,
    pub extra_days: u32,
}

/// The seller-editable part of a service, validated as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDraft {
    pub title: String,
    pub description: String,
    pub category: String,
    pub price: Money,
    pub delivery_days: u32,
    /// What the seller asks the buyer for before starting; `None` means the
    /// order starts at once.
    pub instructions: Option<String>,
    pub upgrades: Vec<Upgrade>,
}

/// Raw fields as a client sent them (amounts already parsed as money).
#[derive(Debug, Clone, Default)]
pub struct DraftInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub price: Option<Money>,
    pub delivery_days: Option<i64>,
    /// `Some(None)` clears the instructions.
    pub instructions: Option<Option<String>>,
    pub upgrades: Option<Vec<UpgradeInput>>,
}

#[derive(Debug, Clone)]
pub struct UpgradeInput {
    pub title: String,
    pub price: Money,
    pub extra_days: i64,
}

impl ServiceDraft {
    /// Validates `input` merged over `base` (for an edit) or alone (create).
    pub fn parse(
        input: DraftInput,
        base: Option<&ServiceDraft>,
        cfg: &Config,
    ) -> DomainResult<ServiceDraft> {
        let need = |field: &'static str| DomainError::invalid(field, "is required");
        let title = input
            .title
            .or_else(|| base.map(|b| b.title.clone()))
            .ok_or_else(|| need("title"))?;
        let description = input
            .description
            .or_else(|| base.map(|b| b.description.clone()))
            .ok_or_else(|| need("description"))?;
        let category = input
            .category
            .or_else(|| base.map(|b| b.category.clone()))
            .ok_or_else(|| need("category"))?;
        let price = input
            .price
            .or_else(|| base.map(|b| b.price))
            .ok_or_else(|| need("price"))?;
        let delivery_days = input
            .delivery_days
            .or_else(|| base.map(|b| i64::from(b.delivery_days)))
            .ok_or_else(|| need("delivery_days"))?;
        let instructions = match input.instructions {
            Some(v) => v,
            None => base.and_then(|b| b.instructions.clone()),
        };
        let upgrades = match input.upgrades {
            Some(u) => u,
            None => base
                .map(|b| {
                    b.upgrades
                        .iter()
                        .map(|u| UpgradeInput {
                            title: u.title.clone(),
                            price: u.price,
                            extra_days: i64::from(u.extra_days),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };

        let title = Text::parse_line("title", &title, cfg.title_max)?.into_string();
        let description =
            Text::parse("description", &description, cfg.description_max)?.into_string();
        if !cfg.categories.contains(&category) {
            return Err(DomainError::invalid(
                "category",
                format!("must be one of {}", cfg.categories.join(", ")),
            ));
        }
        price.check_range(
            "price",
            cfg.service_price_min,
            cfg.service_price_max,
            Some(cfg.service_price_step),
        )?;
        let delivery_days = days_in(
            "delivery_days",
            delivery_days,
            cfg.delivery_days_min,
            cfg.delivery_days_max,
        )?;
        let instructions = match instructions.as_deref() {
            None => None,
            Some(t) if crate::text::is_blank(t) => None,
            Some(t) => Some(Text::parse("instructions", t, cfg.description_max)?.into_string()),
        };
        if upgrades.len() > cfg.upgrades_max {
            return Err(DomainError::invalid(
                "upgrades",
                format!("at most {}", cfg.upgrades_max),
            ));
        }
        let upgrades = upgrades
            .into_iter()
            .map(|u| {
                Ok(Upgrade {
                    title: Text::parse_line("upgrades.title", &u.title, cfg.title_max)?
                        .into_string(),
                    price: u.price.check_range(
                        "upgrades.price",
                        cfg.upgrade_price_min,
                        cfg.upgrade_price_max,
                        Some(cfg.upgrade_price_step),
                    )?,
                    extra_days: days_in(
                        "upgrades.extra_days",
                        u.extra_days,
                        0,
                        cfg.upgrade_extra_days_max,
                    )?,
                })
            })
            .collect::<DomainResult<Vec<_>>>()?;
        Ok(ServiceDraft {
            title,
            description,
            category,
            price,
            delivery_days,
            instructions,
            upgrades,
        })
    }
}

fn days_in(field: &'static str, v: i64, min: u32, max: u32) -> DomainResult<u32> {
    if v < i64::from(min) || v > i64::from(max) {
        return Err(DomainError::invalid(
            field,
            format!("must be from {min} to {max} days"),
        ));
    }
    Ok(v as u32)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub seller_id: UserId,
    #[serde(flatten)]
    pub draft: ServiceDraft,
    pub status: ServiceStatus,
    /// An edit of an approved service, waiting for an operator; the approved
    /// version stays live and orderable meanwhile.
    pub pending_revision: Option<ServiceDraft>,
    pub rejection_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: u64,
}

/// Counters kept beside a service and bumped without a version check, so a
/// completion or a review never conflicts with the seller editing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStats {
    pub rating_count: u64,
    pub rating_sum: u64,
    pub orders_completed: u64,
}

impl Service {
    pub fn create(
        id: ServiceId,
        seller_id: UserId,
        draft: ServiceDraft,
        now: Timestamp,
    ) -> Service {
        Service {
            id,
            seller_id,
            draft,
            status: ServiceStatus::PendingReview,
            pending_revision: None,
            rejection_reason: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    pub fn is_seller(&self, user: &UserId) -> bool {
        self.seller_id == *user
    }

    /// Who may see a service that is not active: its seller and operators.
    pub fn visible_to(&self, user: Option<&UserId>, operator: bool) -> bool {
        self.status == ServiceStatus::Active || operator || user.is_some_and(|u| self.is_seller(u))
    }

    /// An approved service (active or paused) keeps its live version and
    /// holds the edit as a revision; anything else is replaced and goes back
    /// to review.
    pub fn edit(&mut self, draft: ServiceDraft, now: Timestamp) {
        match self.status {
            ServiceStatus::Active | ServiceStatus::Paused => self.pending_revision = Some(draft),
            ServiceStatus::PendingReview | ServiceStatus::Rejected => {
                self.draft = draft;
                self.status = ServiceStatus::PendingReview;
                self.rejection_reason = None;
            }
        }
        self.updated_at = now;
    }

    /// The draft an edit starts from: the pending revision if there is one.
    pub fn editable(&self) -> &ServiceDraft {
        self.pending_revision.as_ref().unwrap_or(&self.draft)
    }

    fn transition(
        &mut self,
        action: &'static str,
        from: ServiceStatus,
        to: ServiceStatus,
        now: Timestamp,
    ) -> DomainResult<()> {
        if self.status != from {
            return Err(DomainError::InvalidTransition {
                action,
                state: self.status.into(),
            });
        }
        self.status = to;
        self.updated_at = now;
        Ok(())
    }

    pub fn pause(&mut self, now: Timestamp) -> DomainResult<()> {
        self.transition("pause", ServiceStatus::Active, ServiceStatus::Paused, now)
    }

    pub fn resume(&mut self, now: Timestamp) -> DomainResult<()> {
        self.transition("resume", ServiceStatus::Paused, ServiceStatus::Active, now)
    }

    pub fn approve(&mut self, now: Timestamp) -> DomainResult<()> {
        self.transition(
            "approve",
            ServiceStatus::PendingReview,
            ServiceStatus::Active,
            now,
        )
    }

    pub fn reject(&mut self, reason: Text, now: Timestamp) -> DomainResult<()> {
        self.transition(
            "reject",
            ServiceStatus::PendingReview,
            ServiceStatus::Rejected,
            now,
        )?;
        self.rejection_reason = Some(reason.into_string());
        Ok(())
    }

    pub fn approve_revision(&mut self, now: Timestamp) -> DomainResult<()> {
        let draft = self
            .pending_revision
            .take()
            .ok_or(DomainError::NoPendingRevision)?;
        self.draft = draft;
        self.updated_at = now;
        Ok(())
    }

    pub fn reject_revision(&mut self, now: Timestamp) -> DomainResult<()> {
        self.pending_revision
            .take()
            .ok_or(DomainError::NoPendingRevision)?;
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn input() -> DraftInput {
        DraftInput {
            title: Some("A logo".into()),
            description: Some("I design a logo".into()),
            category: Some("design".into()),
            price: Some(Money::dollars(10)),
            delivery_days: Some(3),
            instructions: None,
            upgrades: Some(vec![UpgradeInput {
                title: "Fast".into(),
                price: Money::dollars(5),
                extra_days: 1,
            }]),
        }
    }

    fn service() -> Service {
        let d = ServiceDraft::parse(input(), None, &Config::default()).unwrap();
        Service::create(ServiceId::new("s"), UserId::new("seller"), d, Timestamp(0))
    }

    #[test]
    fn a_new_service_waits_for_review() {
        assert_eq!(service().status, ServiceStatus::PendingReview);
    }

    #[test]
    fn price_must_be_5_to_25_in_steps_of_5() {
        let cfg = Config::default();
        for (p, ok) in [(5, true), (25, true), (0, false), (30, false), (12, false)] {
            let mut i = input();
            i.price = Some(Money::dollars(p));
            assert_eq!(ServiceDraft::parse(i, None, &cfg).is_ok(), ok, "{p}");
        }
    }

    #[test]
    fn upgrades_are_bounded() {
        let cfg = Config::default();
        let mut i = input();
        i.upgrades = Some(
            (0..6)
                .map(|n| UpgradeInput {
                    title: format!("u{n}"),
                    price: Money::dollars(5),
                    extra_days: 0,
                })
                .collect(),
        );
        assert!(ServiceDraft::parse(i, None, &cfg).is_err());
        let mut i = input();
        i.upgrades = Some(vec![UpgradeInput {
            title: "x".into(),
            price: Money::dollars(105),
            extra_days: 0,
        }]);
        assert!(ServiceDraft::parse(i, None, &cfg).is_err());
        let mut i = input();
        i.upgrades = Some(vec![UpgradeInput {
            title: "x".into(),
            price: Money::dollars(5),
            extra_days: 31,
        }]);
        assert!(ServiceDraft::parse(i, None, &cfg).is_err());
    }

    #[test]
    fn unknown_category_and_bad_days_are_refused() {
        let cfg = Config::default();
        let mut i = input();
        i.category = Some("gardening".into());
        assert!(ServiceDraft::parse(i, None, &cfg).is_err());
        let mut i = input();
        i.delivery_days = Some(0);
        assert!(ServiceDraft::parse(i, None, &cfg).is_err());
        let mut i = input();
        i.delivery_days = Some(31);
        assert!(ServiceDraft::parse(i, None, &cfg).is_err());
    }

    #[test]
    fn empty_instructions_mean_none() {
        let mut i = input();
        i.instructions = Some(Some("   ".into()));
        assert_eq!(
            ServiceDraft::parse(i, None, &Config::default())
                .unwrap()
                .instructions,
            None
        );
    }

    #[test]
    fn pause_only_active_and_resume_only_paused() {
        let mut s = service();
        assert!(s.pause(Timestamp(1)).is_err());
        s.approve(Timestamp(1)).unwrap();
        assert!(s.resume(Timestamp(2)).is_err());
        s.pause(Timestamp(2)).unwrap();
        assert!(s.pause(Timestamp(3)).is_err());
        s.resume(Timestamp(3)).unwrap();
        assert_eq!(s.status, ServiceStatus::Active);
    }

    #[test]
    fn editing_an_active_service_keeps_it_live_until_approved() {
        let mut s = service();
        s.approve(Timestamp(1)).unwrap();
        let mut i = input();
        i.title = Some("A better logo".into());
        let d = ServiceDraft::parse(i, Some(s.editable()), &Config::default()).unwrap();
        s.edit(d, Timestamp(2));
        assert_eq!(s.status, ServiceStatus::Active);
        assert_eq!(s.draft.title, "A logo");
        s.approve_revision(Timestamp(3)).unwrap();
        assert_eq!(s.draft.title, "A better logo");
        assert_eq!(
            s.approve_revision(Timestamp(4)),
            Err(DomainError::NoPendingRevision)
        );
    }

    #[test]
    fn only_pending_services_are_approved_or_rejected() {
        let mut s = service();
        s.reject(Text::parse("reason", "blurry", 50).unwrap(), Timestamp(1))
            .unwrap();
        assert!(s.approve(Timestamp(2)).is_err());
        s.edit(s.draft.clone(), Timestamp(3));
        assert_eq!(s.status, ServiceStatus::PendingReview);
        s.approve(Timestamp(4)).unwrap();
    }

    #[test]
    fn hidden_unless_active_or_own_or_operator() {
        let s = service();
        assert!(!s.visible_to(None, false));
        assert!(!s.visible_to(Some(&UserId::new("x")), false));
        assert!(s.visible_to(Some(&UserId::new("seller")), false));
        assert!(s.visible_to(None, true));
    }
}
