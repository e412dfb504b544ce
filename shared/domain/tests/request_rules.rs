//! The requests board (product.md): buyers post what they cannot find,
//! sellers answer with one offer each, optionally pointing at one of their
//! own active services; only the author closes a request, once.

mod common;

use common::*;
use khamsa_domain::ids::{OfferId, RequestId, ServiceId, UserId};
use khamsa_domain::request::{Offer, Request, RequestStatus};
use khamsa_domain::service::{Service, ServiceStatus};
use khamsa_domain::{DomainResult, ErrorKind};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn author() -> UserId {
    UserId::new("author-1")
}

fn other_seller() -> UserId {
    UserId::new("seller-2")
}

/// A service of `owner`, created and left pending review.
fn pending_service(id: &str, owner: UserId) -> Service {
    let input = listing(
        "A podcast intro voice-over",
        "A warm Arabic voice for your intro.",
        "audio",
        "15",
        2,
    );
    service(id, owner, input, day(-5))
}

/// A service of `owner`, approved by an operator.
fn active_service(id: &str, owner: UserId) -> Service {
    approved(pending_service(id, owner), day(-4))
}

fn open_request() -> Request {
    Request {
        id: RequestId::new("request-1"),
        author_id: author(),
        title: "Voice-over for a 30-second ad".into(),
        description: "Male voice, Gulf dialect.".into(),
        budget: Some(usd("20")),
        status: RequestStatus::Open,
        created_at: T0,
        version: 3,
    }
}

fn closed_request() -> Request {
    open_request().close(&author()).unwrap()
}

fn offer(
    req: &Request,
    caller: &UserId,
    service: Option<&Service>,
    existing: Option<&Offer>,
) -> DomainResult<Offer> {
    req.offer(
        OfferId::new("offer-1"),
        caller,
        text("I can do this today"),
        service,
        existing,
        day(1),
    )
}

// ---------------------------------------------------------------------------
// Offers
// ---------------------------------------------------------------------------

#[test]
fn seller_can_offer_on_an_open_request_with_text_only() {
    let o = offer(&open_request(), &seller(), None, None).unwrap();
    assert_eq!(o.id, OfferId::new("offer-1"));
    assert_eq!(o.request_id, RequestId::new("request-1"));
    assert_eq!(o.seller_id, seller());
    assert_eq!(o.text, "I can do this today");
    assert_eq!(o.service_id, None);
    assert_eq!(o.at, day(1));
}

#[test]
fn seller_can_point_an_offer_at_their_own_active_service() {
    let s = active_service("service-7", seller());
    let o = offer(&open_request(), &seller(), Some(&s), None).unwrap();
    assert_eq!(o.service_id, Some(ServiceId::new("service-7")));
}

#[test]
fn author_cannot_offer_on_own_request() {
    let err = offer(&open_request(), &author(), None, None).unwrap_err();
    assert_eq!(err.code(), "own_request");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert_eq!(
        open_request().check_offerer(&author()).unwrap_err().code(),
        "own_request"
    );
}

#[test]
fn anyone_but_the_author_passes_the_offerer_check() {
    assert_eq!(open_request().check_offerer(&seller()), Ok(()));
}

#[test]
fn a_closed_request_takes_no_offers() {
    let err = offer(&closed_request(), &seller(), None, None).unwrap_err();
    assert_eq!(err.code(), "request_closed");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn a_second_offer_by_the_same_user_is_refused() {
    let req = open_request();
    let first = offer(&req, &seller(), None, None).unwrap();
    let err = offer(&req, &seller(), None, Some(&first)).unwrap_err();
    assert_eq!(err.code(), "duplicate_offer");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn another_user_can_still_offer_after_someone_else() {
    let req = open_request();
    offer(&req, &seller(), None, None).unwrap();
    assert_eq!(
        offer(&req, &other_seller(), None, None).unwrap().seller_id,
        other_seller()
    );
}

#[test]
fn an_offer_cannot_point_at_someone_elses_service() {
    let theirs = active_service("service-9", other_seller());
    let err = offer(&open_request(), &seller(), Some(&theirs), None).unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

#[test]
fn an_offer_cannot_point_at_a_service_that_is_not_active() {
    let pending = pending_service("service-7", seller());
    let mut paused = active_service("service-7", seller());
    paused.pause(day(0)).unwrap();
    let mut rejected = pending_service("service-7", seller());
    rejected.reject(text("too vague"), day(0)).unwrap();
    for s in [pending, paused, rejected] {
        assert_ne!(s.status, ServiceStatus::Active);
        let err = offer(&open_request(), &seller(), Some(&s), None).unwrap_err();
        assert_eq!(err.code(), "validation_failed", "{:?}", s.status);
    }
}

// ---------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------

#[test]
fn author_closes_their_open_request() {
    let before = open_request();
    let after = before.close(&author()).unwrap();
    assert_eq!(after.status, RequestStatus::Closed);
    assert_eq!(after.status.to_string(), "closed");
    assert_eq!(after.title, before.title);
    assert_eq!(after.budget, Some(usd("20")));
}

#[test]
fn only_the_author_closes_a_request() {
    let err = open_request().close(&seller()).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}

#[test]
fn a_closed_request_cannot_be_closed_again() {
    let err = closed_request().close(&author()).unwrap_err();
    assert_eq!(err.code(), "invalid_transition");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}
