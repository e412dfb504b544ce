//! Reviews (product.md): once per completed order, by its buyer, 1–5 stars,
//! within 30 days of completion; the seller may reply once.

mod common;

use common::*;
use khamsa_domain::ids::{OrderId, ServiceId};
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::order::{Order, OrderStatus, Party, TimerKind};
use khamsa_domain::review::{Rating, Reply, Review};
use khamsa_domain::service::Service;
use khamsa_domain::{Config, DomainResult, ErrorKind, Timestamp};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A $10 translation in 2 days, approved by an operator.
fn active_service() -> Service {
    let input = listing(
        "English to Arabic, 500 words",
        "A careful human translation.",
        "writing-translation",
        "10",
        2,
    );
    approved(service("service-1", seller(), input, day(-10)), day(-9))
}

/// Placed at T0; starts at once.
fn placed() -> Order {
    place(&active_service(), funds("50", "0")).order
}

fn delivered() -> Order {
    placed()
        .deliver(Party::Seller, Some(text("Done")), day(1), &cfg())
        .unwrap()
        .order
}

/// Received by the buyer at day 2.
fn completed() -> Order {
    received(delivered())
}

fn order_in(status: OrderStatus) -> Order {
    match status {
        OrderStatus::AwaitingInstructions => {
            let mut o = placed();
            o.status = OrderStatus::AwaitingInstructions;
            o.due_at = None;
            o
        }
        OrderStatus::InProgress => placed(),
        OrderStatus::Delivered => delivered(),
        OrderStatus::Completed => completed(),
        OrderStatus::Cancelled => {
            placed()
                .cancel(Party::Seller, None, day(1), &cfg())
                .unwrap()
                .order
        }
    }
}

fn stars(n: i64) -> Rating {
    Rating::parse(n).unwrap()
}

fn write(order: &Order, existing: Option<&Review>, now: Timestamp) -> DomainResult<Review> {
    Review::write(
        order,
        existing,
        stars(5),
        text("Fast and accurate"),
        now,
        &cfg(),
    )
    .map(|(r, _)| r)
}

/// Four stars for the completed order, at day 3.
fn four_stars() -> (Review, Notice) {
    Review::write(
        &completed(),
        None,
        stars(4),
        text("Good work"),
        day(3),
        &cfg(),
    )
    .unwrap()
}

fn review() -> Review {
    write(&completed(), None, day(3)).unwrap()
}

// ---------------------------------------------------------------------------
// Writing a review
// ---------------------------------------------------------------------------

#[test]
fn buyer_can_review_a_completed_order() {
    let (r, _) = four_stars();
    assert_eq!(r.order_id, OrderId::new("order-1"));
    assert_eq!(r.service_id, ServiceId::new("service-1"));
    assert_eq!(r.seller_id, seller());
    assert_eq!(r.buyer_id, buyer());
    assert_eq!(r.rating.stars(), 4);
    assert_eq!(r.text, "Good work");
    assert_eq!(r.created_at, day(3));
    assert_eq!(r.reply, None);
}

#[test]
fn a_review_tells_the_seller_the_rating_and_text() {
    let (_, n) = four_stars();
    assert_eq!(n.to, seller());
    assert_eq!(n.order_id, Some(OrderId::new("order-1")));
    assert_eq!(
        n.service_title.as_deref(),
        Some("English to Arabic, 500 words")
    );
    assert_eq!(
        n.kind,
        NoticeKind::ReviewReceived {
            rating: 4,
            text: "Good work".into()
        }
    );
}

#[test]
fn only_a_completed_order_can_be_reviewed() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ] {
        let err = write(&order_in(s), None, day(3)).unwrap_err();
        assert_eq!(err.code(), "invalid_transition", "{s:?}");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }
}

#[test]
fn an_auto_completed_order_can_be_reviewed() {
    let o = fire(&delivered(), TimerKind::AutoComplete, day(4))
        .unwrap()
        .order;
    assert_eq!(write(&o, None, day(5)).unwrap().rating.stars(), 5);
}

#[test]
fn review_window_is_still_open_30_days_after_completion() {
    // Completed at day 2.
    assert_eq!(
        write(&completed(), None, day(32)).unwrap().created_at,
        day(32)
    );
}

#[test]
fn review_window_closes_after_30_days() {
    let err = write(&completed(), None, day(32).plus_ms(1)).unwrap_err();
    assert_eq!(err.code(), "review_window_closed");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        write(&completed(), None, day(60)).unwrap_err().code(),
        "review_window_closed"
    );
}

#[test]
fn review_window_counts_from_completion_not_placement() {
    // Placed at day 0, completed at day 20: a review at day 45 is in time.
    let late = placed()
        .deliver(Party::Seller, None, day(19), &cfg())
        .unwrap()
        .order
        .receive(Party::Buyer, day(20), &cfg())
        .unwrap()
        .order;
    assert!(write(&late, None, day(45)).is_ok());
    assert_eq!(
        write(&late, None, day(50).plus_ms(1)).unwrap_err().code(),
        "review_window_closed"
    );
}

#[test]
fn review_window_length_comes_from_configuration() {
    let cfg = Config {
        review_window_days: 7,
        ..Config::default()
    };
    let o = completed();
    assert!(Review::write(&o, None, stars(3), text("ok"), day(9), &cfg).is_ok());
    let err = Review::write(&o, None, stars(3), text("ok"), day(9).plus_ms(1), &cfg).unwrap_err();
    assert_eq!(err.code(), "review_window_closed");
}

#[test]
fn a_second_review_of_the_same_order_is_refused() {
    let first = review();
    let err = write(&completed(), Some(&first), day(4)).unwrap_err();
    assert_eq!(err.code(), "already_reviewed");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn rating_is_a_whole_number_from_1_to_5() {
    for n in 1..=5 {
        assert_eq!(Rating::parse(n).unwrap().stars(), n as u8);
    }
}

#[test]
fn rating_0_and_6_are_refused() {
    for n in [0, 6, -1, 10] {
        let err = Rating::parse(n).unwrap_err();
        assert_eq!(err.code(), "validation_failed", "{n}");
        assert_eq!(err.kind(), ErrorKind::Invalid);
    }
}

// ---------------------------------------------------------------------------
// The seller's reply
// ---------------------------------------------------------------------------

#[test]
fn seller_can_reply_to_a_review() {
    let r = review()
        .reply(Party::Seller, text("Thank you!"), day(4))
        .unwrap();
    assert_eq!(
        r.reply,
        Some(Reply {
            text: "Thank you!".into(),
            at: day(4)
        })
    );
    assert_eq!(r.rating.stars(), 5);
    assert_eq!(r.text, "Fast and accurate");
}

#[test]
fn seller_can_reply_only_once() {
    let replied = review()
        .reply(Party::Seller, text("Thank you!"), day(4))
        .unwrap();
    let err = replied
        .reply(Party::Seller, text("Thanks again!"), day(5))
        .unwrap_err();
    assert_eq!(err.code(), "already_replied");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn only_the_seller_replies() {
    for p in [Party::Buyer, Party::Operator] {
        let err = review().reply(p, text("Me too"), day(4)).unwrap_err();
        assert_eq!(err.code(), "forbidden", "{p:?}");
        assert_eq!(err.kind(), ErrorKind::Forbidden);
    }
}
