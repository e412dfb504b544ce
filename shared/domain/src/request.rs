//! The requests board (قسم الطلبات): buyers post what they cannot find,
//! sellers answer with offers.

use crate::error::{DomainError, DomainResult};
use crate::ids::{OfferId, RequestId, ServiceId, UserId};
use crate::money::Money;
use crate::service::{Service, ServiceStatus};
use crate::text::Text;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use strum::{Display, IntoStaticStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Display, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RequestStatus {
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: RequestId,
    pub author_id: UserId,
    pub title: String,
    pub description: String,
    pub budget: Option<Money>,
    pub status: RequestStatus,
    pub created_at: Timestamp,
    pub version: u64,
}

/// Keyed by (request, seller): one offer per user per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub id: OfferId,
    pub request_id: RequestId,
    pub seller_id: UserId,
    pub text: String,
    pub service_id: Option<ServiceId>,
    pub at: Timestamp,
}

impl Request {
    /// A request is open from the moment it is posted.
    pub fn create(
        id: RequestId,
        author: &UserId,
        title: Text,
        description: Text,
        budget: Option<Money>,
        now: Timestamp,
    ) -> Request {
        Request {
            id,
            author_id: author.clone(),
            title: title.into_string(),
            description: description.into_string(),
            budget,
            status: RequestStatus::Open,
            created_at: now,
            version: 0,
        }
    }

    pub fn close(&self, caller: &UserId) -> DomainResult<Request> {
        if self.author_id != *caller {
            return Err(DomainError::NotAllowed("the request's author"));
        }
        if self.status != RequestStatus::Open {
            return Err(DomainError::InvalidTransition {
                action: "close",
                state: self.status.into(),
            });
        }
        let mut r = self.clone();
        r.status = RequestStatus::Closed;
        Ok(r)
    }

    /// The author can never offer (403, checked before the body).
    pub fn check_offerer(&self, caller: &UserId) -> DomainResult<()> {
        if self.author_id == *caller {
            return Err(DomainError::OwnRequest);
        }
        Ok(())
    }

    /// An offer may point at one of the offerer's own active services.
    #[allow(clippy::too_many_arguments)]
    pub fn offer(
        &self,
        id: OfferId,
        caller: &UserId,
        text: Text,
        service: Option<&Service>,
        existing: Option<&Offer>,
        now: Timestamp,
    ) -> DomainResult<Offer> {
        self.check_offerer(caller)?;
        if let Some(s) = service
            && (s.seller_id != *caller || s.status != ServiceStatus::Active)
        {
            return Err(DomainError::invalid(
                "service_id",
                "must be one of your own active services",
            ));
        }
        if self.status != RequestStatus::Open {
            return Err(DomainError::RequestClosed);
        }
        if existing.is_some() {
            return Err(DomainError::DuplicateOffer);
        }
        Ok(Offer {
            id,
            request_id: self.id.clone(),
            seller_id: caller.clone(),
            text: text.into_string(),
            service_id: service.map(|s| s.id.clone()),
            at: now,
        })
    }
}
