//! The order lifecycle of product.md, rule by rule: placing, instructions,
//! delivery, changes, receipt, every cancel path, the operator's powers,
//! every timer, and the money each step moves.

mod common;

use common::*;
use khamsa_domain::dispute::DisputeOutcome;
use khamsa_domain::ids::{ServiceId, UserId};
use khamsa_domain::ledger::{Account, PostingKind, UserAccount};
use khamsa_domain::notice::NoticeKind;
use khamsa_domain::order::{
    Actor, Decision, Funds, Order, OrderRequest, OrderStatus, OrderUpgrade, Party, TimerKind,
};
use khamsa_domain::service::{DraftInput, Service, ServiceDraft, UpgradeInput};
use khamsa_domain::time::HOUR_MS;
use khamsa_domain::{ErrorKind, Timestamp};
use rust_decimal::Decimal;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A $10 logo in 3 days, with two upgrades: an extra revision ($5, +1 day)
/// and the source files ($10, +2 days).
fn draft(instructions: Option<&str>) -> ServiceDraft {
    let input = DraftInput {
        instructions: Some(instructions.map(String::from)),
        upgrades: Some(vec![
            UpgradeInput {
                title: "Extra revision".into(),
                price: usd("5"),
                extra_days: 1,
            },
            UpgradeInput {
                title: "Source files".into(),
                price: usd("10"),
                extra_days: 2,
            },
        ]),
        ..listing(
            "A logo for your shop",
            "I design a clean, modern logo.",
            "design",
            "10",
            3,
        )
    };
    ServiceDraft::parse(input, None, &cfg()).unwrap()
}

/// A service created by its seller and approved by an operator.
fn active_service(instructions: Option<&str>) -> Service {
    let s = Service::create(
        ServiceId::new("service-1"),
        seller(),
        draft(instructions),
        day(-10),
    );
    approved(s, day(-9))
}

fn service_starting_at_once() -> Service {
    active_service(None)
}

fn service_asking_instructions() -> Service {
    active_service(Some("Send me your shop's name and colours."))
}

fn plenty() -> Funds {
    funds("100", "0")
}

/// Placed at T0 from a service that asks for instructions.
fn awaiting() -> Order {
    place(&service_asking_instructions(), plenty()).order
}

/// Placed at T0 from a service that asks for nothing: due at day 3.
fn in_progress() -> Order {
    place(&service_starting_at_once(), plenty()).order
}

/// Delivered at day 1.
fn delivered() -> Order {
    in_progress()
        .deliver(
            Party::Seller,
            Some(text("Here is your logo")),
            day(1),
            &cfg(),
        )
        .unwrap()
        .order
}

/// Received by the buyer at day 2.
fn completed() -> Order {
    received(delivered())
}

/// Delivered at day 1, sent back for changes at day 2: due again at day 5.
fn changes_asked() -> Order {
    delivered()
        .request_changes(Party::Buyer, text("bigger"), day(2), &cfg())
        .unwrap()
        .order
}

/// Cancelled by the seller at day 1.
fn cancelled() -> Order {
    in_progress()
        .cancel(Party::Seller, None, day(1), &cfg())
        .unwrap()
        .order
}

fn order_in(status: OrderStatus) -> Order {
    match status {
        OrderStatus::AwaitingInstructions => awaiting(),
        OrderStatus::InProgress => in_progress(),
        OrderStatus::Delivered => delivered(),
        OrderStatus::Completed => completed(),
        OrderStatus::Cancelled => cancelled(),
    }
}

const ALL_STATUSES: [OrderStatus; 5] = [
    OrderStatus::AwaitingInstructions,
    OrderStatus::InProgress,
    OrderStatus::Delivered,
    OrderStatus::Completed,
    OrderStatus::Cancelled,
];

fn timer(d: &Decision, kind: TimerKind) -> Option<Timestamp> {
    d.timers_set.iter().find(|t| t.kind == kind).map(|t| t.due)
}

fn notices(d: &Decision) -> Vec<(UserId, NoticeKind)> {
    d.notices
        .iter()
        .map(|n| (n.to.clone(), n.kind.clone()))
        .collect()
}

fn balance(u: &UserId) -> Account {
    Account::user(u, UserAccount::Balance)
}

fn earnings(u: &UserId) -> Account {
    Account::user(u, UserAccount::EarningsAvailable)
}

fn pending(u: &UserId) -> Account {
    Account::user(u, UserAccount::EarningsPending)
}

fn escrow() -> Account {
    Account::Escrow { order: oid() }
}

fn platform() -> Account {
    Account::Platform {
        shard: oid().platform_shard(cfg().platform_shards),
    }
}

// ---------------------------------------------------------------------------
// Placing an order
// ---------------------------------------------------------------------------

#[test]
fn placing_a_service_without_instructions_starts_work_at_once() {
    let o = in_progress();
    assert_eq!(o.status, OrderStatus::InProgress);
    assert_eq!(o.placed_at, T0);
    assert_eq!(o.due_at, Some(day(3)));
    assert_eq!(o.instructions, None);
    assert_eq!(o.buyer_id, buyer());
    assert_eq!(o.seller_id, seller());
}

#[test]
fn placing_a_service_that_asks_for_instructions_waits_for_them_with_no_due_at() {
    let o = awaiting();
    assert_eq!(o.status, OrderStatus::AwaitingInstructions);
    assert_eq!(o.due_at, None);
}

#[test]
fn placing_moves_the_total_from_the_buyer_balance_into_escrow() {
    let d = place(&service_starting_at_once(), plenty());
    assert_eq!(d.postings.len(), 1);
    let p = &d.postings[0];
    assert_eq!(p.kind(), PostingKind::OrderPlaced);
    assert_eq!(p.id().as_str(), "order-1/placed");
    assert_eq!(p.order_id(), Some(&oid()));
    assert_eq!(
        legs(p),
        vec![
            (balance(&buyer()), "-10.00".into()),
            (escrow(), "10.00".into())
        ]
    );
    assert_eq!(d.order.paid_from_balance.to_string(), "10.00");
    assert_eq!(d.order.paid_from_earnings.to_string(), "0.00");
}

#[test]
fn placing_pays_from_balance_first_then_from_earnings() {
    let d = place(&service_starting_at_once(), funds("4", "20"));
    assert_eq!(d.order.paid_from_balance.to_string(), "4.00");
    assert_eq!(d.order.paid_from_earnings.to_string(), "6.00");
    assert_eq!(
        legs(&d.postings[0]),
        vec![
            (balance(&buyer()), "-4.00".into()),
            (escrow(), "4.00".into()),
            (earnings(&buyer()), "-6.00".into()),
            (escrow(), "6.00".into()),
        ]
    );
}

#[test]
fn placing_leaves_earnings_untouched_when_the_balance_covers_the_total() {
    let d = place(&service_starting_at_once(), funds("10", "50"));
    assert_eq!(d.order.paid_from_balance.to_string(), "10.00");
    assert_eq!(d.order.paid_from_earnings.to_string(), "0.00");
    assert_eq!(
        legs(&d.postings[0]),
        vec![
            (balance(&buyer()), "-10.00".into()),
            (escrow(), "10.00".into())
        ]
    );
}

#[test]
fn placing_pays_entirely_from_earnings_when_the_balance_is_empty() {
    let d = place(&service_starting_at_once(), funds("0", "10"));
    assert_eq!(d.order.paid_from_balance.to_string(), "0.00");
    assert_eq!(d.order.paid_from_earnings.to_string(), "10.00");
    assert_eq!(
        legs(&d.postings[0]),
        vec![
            (earnings(&buyer()), "-10.00".into()),
            (escrow(), "10.00".into())
        ]
    );
}

#[test]
fn buyer_cannot_order_beyond_balance_plus_earnings() {
    let err = try_place(
        &service_starting_at_once(),
        vec![],
        1,
        funds("4.99", "5.00"),
    )
    .unwrap_err();
    assert_eq!(err.code(), "insufficient_funds");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn buyer_with_exactly_the_total_across_balance_and_earnings_can_order() {
    let d = try_place(
        &service_starting_at_once(),
        vec![],
        1,
        funds("5.00", "5.00"),
    )
    .unwrap();
    assert_eq!(d.order.paid_from_balance.to_string(), "5.00");
    assert_eq!(d.order.paid_from_earnings.to_string(), "5.00");
}

#[test]
fn seller_cannot_order_own_service() {
    let s = service_starting_at_once();
    let err = Order::place(
        oid(),
        &s,
        &seller(),
        OrderRequest::parse(&[], 1, &cfg()).unwrap(),
        plenty(),
        T0,
        &cfg(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "own_service");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
}

#[test]
fn a_service_that_is_not_active_cannot_be_ordered() {
    let pending = Service::create(ServiceId::new("service-1"), seller(), draft(None), day(-1));
    let mut paused = service_starting_at_once();
    paused.pause(day(-1)).unwrap();
    let mut rejected = Service::create(ServiceId::new("service-1"), seller(), draft(None), day(-2));
    rejected.reject(text("blurry pictures"), day(-1)).unwrap();
    for s in [pending, paused, rejected] {
        let err = try_place(&s, vec![], 1, plenty()).unwrap_err();
        assert_eq!(err.code(), "not_found", "{:?}", s.status);
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}

#[test]
fn order_snapshots_the_total_fee_and_seller_net() {
    let o = in_progress();
    assert_eq!(o.total.to_string(), "10.00");
    assert_eq!(o.fee.to_string(), "2.00");
    assert_eq!(o.seller_net.to_string(), "8.00");
}

#[test]
fn five_dollar_order_gives_the_seller_four_dollars() {
    let mut s = service_starting_at_once();
    s.draft.price = usd("5");
    let o = place(&s, plenty()).order;
    assert_eq!(
        (
            o.total.to_string(),
            o.fee.to_string(),
            o.seller_net.to_string()
        ),
        ("5.00".into(), "1.00".into(), "4.00".into())
    );
}

#[test]
fn total_is_base_plus_chosen_upgrades_times_quantity() {
    // (10 + 10 + 5) × 3 = 75; fee 20% = 15; seller keeps 60.
    let o = try_place(&service_starting_at_once(), vec![1, 0], 3, plenty())
        .unwrap()
        .order;
    assert_eq!(o.quantity, 3);
    assert_eq!(o.total.to_string(), "75.00");
    assert_eq!(o.fee.to_string(), "15.00");
    assert_eq!(o.seller_net.to_string(), "60.00");
}

#[test]
fn order_snapshots_the_chosen_upgrades_in_the_order_chosen() {
    let o = try_place(&service_starting_at_once(), vec![1, 0], 1, plenty())
        .unwrap()
        .order;
    assert_eq!(
        o.upgrades,
        vec![
            OrderUpgrade {
                index: 1,
                title: "Source files".into(),
                price: usd("10"),
                extra_days: 2
            },
            OrderUpgrade {
                index: 0,
                title: "Extra revision".into(),
                price: usd("5"),
                extra_days: 1
            },
        ]
    );
    assert_eq!(o.service_title, "A logo for your shop");
}

#[test]
fn delivery_days_add_the_upgrades_days_but_not_the_quantity() {
    let o = try_place(
        &service_starting_at_once(),
        vec![0, 1],
        10,
        funds("250", "0"),
    )
    .unwrap()
    .order;
    assert_eq!(o.total.to_string(), "250.00");
    assert_eq!(o.delivery_days, 6);
    assert_eq!(o.due_at, Some(day(6)));
}

#[test]
fn order_keeps_its_snapshot_when_the_service_changes_later() {
    let mut s = service_starting_at_once();
    let o = try_place(&s, vec![0], 1, plenty()).unwrap().order;
    s.draft.title = "Something else".into();
    s.draft.upgrades.clear();
    assert_eq!(o.service_title, "A logo for your shop");
    assert_eq!(o.upgrades.len(), 1);
    assert_eq!(o.upgrades[0].title, "Extra revision");
}

#[test]
fn an_edited_active_service_is_ordered_at_its_approved_version() {
    let mut s = service_starting_at_once();
    let mut edit = draft(None);
    edit.title = "A logo, now with animation".into();
    edit.price = usd("25");
    s.edit(edit, day(-1));
    let o = place(&s, plenty()).order;
    assert_eq!(o.service_title, "A logo for your shop");
    assert_eq!(o.total.to_string(), "10.00");
}

#[test]
fn the_same_upgrade_twice_is_refused() {
    let err = try_place(&service_starting_at_once(), vec![0, 0], 1, plenty()).unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

#[test]
fn an_upgrade_index_the_service_does_not_have_is_refused() {
    for bad in [2, 5, -1] {
        let err = try_place(&service_starting_at_once(), vec![bad], 1, plenty()).unwrap_err();
        assert_eq!(err.code(), "validation_failed", "index {bad}");
    }
}

#[test]
fn quantity_0_and_11_are_refused() {
    for q in [0, 11, -1] {
        let err = try_place(&service_starting_at_once(), vec![], q, plenty()).unwrap_err();
        assert_eq!(err.code(), "validation_failed", "quantity {q}");
        assert_eq!(err.kind(), ErrorKind::Invalid);
    }
}

#[test]
fn quantity_1_and_10_are_accepted() {
    assert_eq!(
        try_place(&service_starting_at_once(), vec![], 1, plenty())
            .unwrap()
            .order
            .total
            .to_string(),
        "10.00"
    );
    assert_eq!(
        try_place(&service_starting_at_once(), vec![], 10, plenty())
            .unwrap()
            .order
            .total
            .to_string(),
        "100.00"
    );
}

#[test]
fn placing_tells_the_seller_of_a_new_order_and_gives_the_buyer_a_receipt() {
    let d = place(&service_starting_at_once(), funds("4", "20"));
    assert_eq!(
        notices(&d),
        vec![
            (
                seller(),
                NoticeKind::NewOrder {
                    total: usd("10"),
                    seller_net: usd("8"),
                    quantity: 1
                }
            ),
            (
                buyer(),
                NoticeKind::OrderPlaced {
                    total: usd("10"),
                    paid_from_balance: usd("4"),
                    paid_from_earnings: usd("6")
                }
            ),
        ]
    );
    assert!(d.notices.iter().all(|n| n.order_id == Some(oid())));
    assert!(
        d.notices
            .iter()
            .all(|n| n.service_title.as_deref() == Some("A logo for your shop"))
    );
}

#[test]
fn placing_with_instructions_needed_arms_the_auto_cancel_7_days_after_placement() {
    let d = place(&service_asking_instructions(), plenty());
    assert_eq!(timer(&d, TimerKind::AutoCancel), Some(day(7)));
    assert_eq!(d.timers_set.len(), 1);
}

#[test]
fn placing_without_instructions_arms_the_auto_cancel_3_days_after_due_at() {
    let d = place(&service_starting_at_once(), plenty());
    assert_eq!(timer(&d, TimerKind::AutoCancel), Some(day(6)));
    assert_eq!(d.timers_set.len(), 1);
}

#[test]
fn party_is_buyer_seller_operator_or_nobody() {
    let o = in_progress();
    assert_eq!(o.party(&buyer(), false), Some(Party::Buyer));
    assert_eq!(o.party(&seller(), true), Some(Party::Seller));
    assert_eq!(o.party(&UserId::new("staff"), true), Some(Party::Operator));
    assert_eq!(o.party(&UserId::new("stranger"), false), None);
}

// ---------------------------------------------------------------------------
// Instructions
// ---------------------------------------------------------------------------

#[test]
fn buyer_sending_instructions_starts_work_and_sets_due_at() {
    let d = awaiting()
        .send_instructions(
            Party::Buyer,
            text("Shop: Dar Zayn, blue and gold"),
            day(1),
            &cfg(),
        )
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::InProgress);
    assert_eq!(
        d.order.instructions.as_deref(),
        Some("Shop: Dar Zayn, blue and gold")
    );
    assert_eq!(d.order.due_at, Some(day(4)));
    assert!(d.postings.is_empty());
}

#[test]
fn instructions_rearm_the_auto_cancel_3_days_after_the_new_due_at() {
    let d = awaiting()
        .send_instructions(Party::Buyer, text("blue"), day(1), &cfg())
        .unwrap();
    assert_eq!(timer(&d, TimerKind::AutoCancel), Some(day(7)));
}

#[test]
fn instructions_are_sent_to_the_seller() {
    let d = awaiting()
        .send_instructions(Party::Buyer, text("blue"), day(1), &cfg())
        .unwrap();
    assert_eq!(
        notices(&d),
        vec![(
            seller(),
            NoticeKind::InstructionsReceived {
                text: "blue".into()
            }
        )]
    );
}

#[test]
fn only_the_buyer_sends_instructions() {
    for p in [Party::Seller, Party::Operator] {
        let err = awaiting()
            .send_instructions(p, text("blue"), day(1), &cfg())
            .unwrap_err();
        assert_eq!(err.code(), "forbidden", "{p:?}");
        assert_eq!(err.kind(), ErrorKind::Forbidden);
    }
}

#[test]
fn instructions_are_refused_unless_the_order_awaits_them() {
    for s in [
        OrderStatus::InProgress,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        let r = order_in(s).send_instructions(Party::Buyer, text("blue"), day(1), &cfg());
        assert_eq!(code(r), "invalid_transition", "{s:?}");
    }
}

// ---------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------

#[test]
fn seller_delivering_moves_the_order_to_delivered() {
    let d = in_progress()
        .deliver(
            Party::Seller,
            Some(text("Here is your logo")),
            day(1),
            &cfg(),
        )
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::Delivered);
    assert_eq!(d.order.delivered_at, Some(day(1)));
    assert_eq!(d.order.delivery_text.as_deref(), Some("Here is your logo"));
    assert!(d.postings.is_empty());
}

#[test]
fn delivering_arms_auto_complete_in_3_days_and_a_reminder_24_hours_before() {
    let d = in_progress()
        .deliver(Party::Seller, None, day(1), &cfg())
        .unwrap();
    assert_eq!(timer(&d, TimerKind::AutoComplete), Some(day(4)));
    assert_eq!(
        timer(&d, TimerKind::Reminder),
        Some(day(4).plus_ms(-24 * HOUR_MS))
    );
    assert_eq!(d.timers_cleared, vec![TimerKind::AutoCancel]);
}

#[test]
fn delivering_tells_the_buyer_when_the_order_completes_by_itself() {
    let d = in_progress()
        .deliver(Party::Seller, Some(text("done")), day(1), &cfg())
        .unwrap();
    assert_eq!(
        notices(&d),
        vec![(
            buyer(),
            NoticeKind::OrderDelivered {
                text: Some("done".into()),
                auto_complete_at: day(4)
            }
        )]
    );
}

#[test]
fn only_the_seller_delivers() {
    for p in [Party::Buyer, Party::Operator] {
        let r = in_progress().deliver(p, None, day(1), &cfg());
        assert_eq!(code(r), "forbidden", "{p:?}");
    }
}

#[test]
fn seller_cannot_deliver_before_instructions_or_after_the_order_ends() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        let r = order_in(s).deliver(Party::Seller, None, day(2), &cfg());
        assert_eq!(code(r), "invalid_transition", "{s:?}");
    }
}

#[test]
fn redelivering_overwrites_delivered_at_and_restarts_the_auto_complete() {
    let d = delivered()
        .deliver(Party::Seller, Some(text("Version 2")), day(2), &cfg())
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::Delivered);
    assert_eq!(d.order.delivered_at, Some(day(2)));
    assert_eq!(d.order.delivery_text.as_deref(), Some("Version 2"));
    assert_eq!(timer(&d, TimerKind::AutoComplete), Some(day(5)));
    assert_eq!(timer(&d, TimerKind::Reminder), Some(day(4)));
}

#[test]
fn redelivering_without_text_keeps_the_previous_delivery_text() {
    let o = delivered()
        .deliver(Party::Seller, None, day(2), &cfg())
        .unwrap()
        .order;
    assert_eq!(o.delivery_text.as_deref(), Some("Here is your logo"));
}

// ---------------------------------------------------------------------------
// Asking for changes
// ---------------------------------------------------------------------------

#[test]
fn buyer_asking_for_changes_sends_the_order_back_to_work_with_a_fresh_due_at() {
    let d = delivered()
        .request_changes(Party::Buyer, text("Make it bigger"), day(2), &cfg())
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::InProgress);
    assert_eq!(d.order.due_at, Some(day(5)));
    assert!(d.postings.is_empty());
}

#[test]
fn asking_for_changes_stops_the_auto_complete_and_rearms_the_auto_cancel() {
    let d = delivered()
        .request_changes(Party::Buyer, text("Make it bigger"), day(2), &cfg())
        .unwrap();
    assert_eq!(
        d.timers_cleared,
        vec![TimerKind::AutoComplete, TimerKind::Reminder]
    );
    assert_eq!(timer(&d, TimerKind::AutoCancel), Some(day(8)));
}

#[test]
fn asking_for_changes_tells_the_seller_what_to_change() {
    let d = delivered()
        .request_changes(Party::Buyer, text("Make it bigger"), day(2), &cfg())
        .unwrap();
    assert_eq!(
        notices(&d),
        vec![(
            seller(),
            NoticeKind::ChangesRequested {
                text: "Make it bigger".into()
            }
        )]
    );
}

#[test]
fn only_the_buyer_asks_for_changes() {
    for p in [Party::Seller, Party::Operator] {
        let r = delivered().request_changes(p, text("bigger"), day(2), &cfg());
        assert_eq!(code(r), "forbidden", "{p:?}");
    }
}

#[test]
fn changes_can_only_be_asked_on_a_delivered_order() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        let r = order_in(s).request_changes(Party::Buyer, text("bigger"), day(2), &cfg());
        assert_eq!(code(r), "invalid_transition", "{s:?}");
    }
}

// ---------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------

#[test]
fn buyer_receiving_releases_80_percent_to_the_seller_and_20_to_the_platform() {
    let d = delivered().receive(Party::Buyer, day(2), &cfg()).unwrap();
    assert_eq!(d.order.status, OrderStatus::Completed);
    assert_eq!(d.order.completed_at, Some(day(2)));
    assert_eq!(d.order.completed_by, Some(Actor::Buyer));
    assert!(d.completed);
    assert_eq!(d.postings.len(), 1);
    let p = &d.postings[0];
    assert_eq!(p.kind(), PostingKind::OrderCompleted);
    assert_eq!(p.id().as_str(), "order-1/completed");
    assert_eq!(
        legs(p),
        vec![
            (escrow(), "-8.00".into()),
            (pending(&seller()), "8.00".into()),
            (escrow(), "-2.00".into()),
            (platform(), "2.00".into()),
        ]
    );
}

#[test]
fn completing_clears_the_order_timers_and_arms_clearing_14_days_later() {
    let d = delivered().receive(Party::Buyer, day(2), &cfg()).unwrap();
    assert_eq!(
        d.timers_cleared,
        vec![
            TimerKind::AutoCancel,
            TimerKind::AutoComplete,
            TimerKind::Reminder
        ]
    );
    assert_eq!(timer(&d, TimerKind::Clearing), Some(day(16)));
    // And the files' end, 90 days on (product.md "Files").
    assert_eq!(timer(&d, TimerKind::FilesExpire), Some(day(92)));
    assert_eq!(d.timers_set.len(), 2);
}

#[test]
fn completing_tells_the_seller_their_net_and_the_buyer_the_total() {
    let d = delivered().receive(Party::Buyer, day(2), &cfg()).unwrap();
    assert_eq!(
        notices(&d),
        vec![
            (
                seller(),
                NoticeKind::OrderCompleted {
                    amount: usd("8"),
                    by: Actor::Buyer
                }
            ),
            (
                buyer(),
                NoticeKind::OrderCompleted {
                    amount: usd("10"),
                    by: Actor::Buyer
                }
            ),
        ]
    );
}

#[test]
fn only_the_buyer_receives() {
    for p in [Party::Seller, Party::Operator] {
        let r = delivered().receive(p, day(2), &cfg());
        assert_eq!(code(r), "forbidden", "{p:?}");
    }
}

#[test]
fn an_order_can_be_received_only_once_delivered() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        let r = order_in(s).receive(Party::Buyer, day(2), &cfg());
        assert_eq!(code(r), "invalid_transition", "{s:?}");
    }
}

// ---------------------------------------------------------------------------
// The operator completes
// ---------------------------------------------------------------------------

#[test]
fn operator_can_complete_any_open_order() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Delivered,
    ] {
        let d = order_in(s)
            .operator_complete(Party::Operator, None, day(2), &cfg())
            .unwrap();
        assert_eq!(d.order.status, OrderStatus::Completed, "{s:?}");
        assert_eq!(d.order.completed_by, Some(Actor::Operator));
        assert_eq!(
            legs(&d.postings[0]),
            vec![
                (escrow(), "-8.00".into()),
                (pending(&seller()), "8.00".into()),
                (escrow(), "-2.00".into()),
                (platform(), "2.00".into()),
            ]
        );
        assert_eq!(
            notices(&d)[0],
            (
                seller(),
                NoticeKind::OrderCompleted {
                    amount: usd("8"),
                    by: Actor::Operator
                }
            )
        );
    }
}

#[test]
fn only_an_operator_forces_completion() {
    for p in [Party::Buyer, Party::Seller] {
        let r = delivered().operator_complete(p, None, day(2), &cfg());
        assert_eq!(code(r), "forbidden", "{p:?}");
    }
}

#[test]
fn operator_cannot_complete_a_finished_order() {
    for s in [OrderStatus::Completed, OrderStatus::Cancelled] {
        let r = order_in(s).operator_complete(Party::Operator, None, day(3), &cfg());
        assert_eq!(code(r), "invalid_transition", "{s:?}");
    }
}

// ---------------------------------------------------------------------------
// Cancelling: the buyer
// ---------------------------------------------------------------------------

#[test]
fn buyer_can_cancel_while_awaiting_instructions() {
    let d = awaiting()
        .cancel(Party::Buyer, None, day(1), &cfg())
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::Cancelled);
    assert_eq!(d.order.cancelled_by, Some(Actor::Buyer));
}

#[test]
fn buyer_cannot_cancel_before_due_at() {
    let o = in_progress();
    for at in [day(1), just_before(day(3))] {
        let err = o.cancel(Party::Buyer, None, at, &cfg()).unwrap_err();
        assert_eq!(err.code(), "not_late_yet");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }
}

#[test]
fn buyer_can_cancel_at_due_at() {
    let d = in_progress()
        .cancel(Party::Buyer, None, day(3), &cfg())
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::Cancelled);
    assert_eq!(d.order.cancelled_by, Some(Actor::Buyer));
    assert_eq!(d.order.cancelled_at, Some(day(3)));
}

#[test]
fn buyer_can_cancel_after_due_at() {
    let d = in_progress()
        .cancel(Party::Buyer, None, day(5), &cfg())
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::Cancelled);
}

#[test]
fn buyer_cannot_cancel_a_delivered_order_even_when_late() {
    assert_eq!(
        code(delivered().cancel(Party::Buyer, None, day(10), &cfg())),
        "invalid_transition"
    );
}

#[test]
fn buyer_cannot_cancel_a_completed_or_cancelled_order() {
    assert_eq!(
        code(completed().cancel(Party::Buyer, None, day(10), &cfg())),
        "invalid_transition"
    );
    assert_eq!(
        code(cancelled().cancel(Party::Buyer, None, day(10), &cfg())),
        "invalid_transition"
    );
}

#[test]
fn buyer_must_wait_for_the_new_due_at_after_asking_for_changes() {
    // Delivered at day 1, changes asked at day 2: due again at day 5.
    let o = changes_asked();
    assert_eq!(
        code(o.cancel(Party::Buyer, None, day(4), &cfg())),
        "not_late_yet"
    );
    assert!(o.cancel(Party::Buyer, None, day(5), &cfg()).is_ok());
}

#[test]
fn buyer_must_wait_for_due_at_counted_from_the_instructions() {
    // Instructions at day 2: due at day 5, not day 3.
    let o = awaiting()
        .send_instructions(Party::Buyer, text("blue"), day(2), &cfg())
        .unwrap()
        .order;
    assert_eq!(
        code(o.cancel(Party::Buyer, None, day(3), &cfg())),
        "not_late_yet"
    );
    assert_eq!(
        code(o.cancel(Party::Buyer, None, just_before(day(5)), &cfg())),
        "not_late_yet"
    );
    assert!(o.cancel(Party::Buyer, None, day(5), &cfg()).is_ok());
}

// ---------------------------------------------------------------------------
// Cancelling: the seller
// ---------------------------------------------------------------------------

#[test]
fn seller_can_cancel_while_awaiting_instructions() {
    let d = awaiting()
        .cancel(
            Party::Seller,
            Some(text("I am fully booked")),
            day(1),
            &cfg(),
        )
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::Cancelled);
    assert_eq!(d.order.cancelled_by, Some(Actor::Seller));
}

#[test]
fn seller_can_cancel_in_progress_even_before_due_at() {
    let d = in_progress()
        .cancel(Party::Seller, None, day(1), &cfg())
        .unwrap();
    assert_eq!(d.order.status, OrderStatus::Cancelled);
    assert_eq!(d.order.cancelled_by, Some(Actor::Seller));
}

#[test]
fn seller_cannot_cancel_once_delivered() {
    assert_eq!(
        code(delivered().cancel(Party::Seller, None, day(2), &cfg())),
        "invalid_transition"
    );
}

#[test]
fn seller_cannot_cancel_a_completed_or_cancelled_order() {
    assert_eq!(
        code(completed().cancel(Party::Seller, None, day(3), &cfg())),
        "invalid_transition"
    );
    assert_eq!(
        code(cancelled().cancel(Party::Seller, None, day(3), &cfg())),
        "invalid_transition"
    );
}

// ---------------------------------------------------------------------------
// Cancelling: the operator
// ---------------------------------------------------------------------------

#[test]
fn operator_can_cancel_any_open_order_at_any_time() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Delivered,
    ] {
        let d = order_in(s)
            .operator_cancel(Party::Operator, Some(text("fraud")), day(2), &cfg())
            .unwrap();
        assert_eq!(d.order.status, OrderStatus::Cancelled, "{s:?}");
        assert_eq!(d.order.cancelled_by, Some(Actor::Operator));
        assert_eq!(d.order.cancel_reason.as_deref(), Some("fraud"));
        assert_eq!(
            legs(&d.postings[0]),
            vec![
                (escrow(), "-10.00".into()),
                (balance(&buyer()), "10.00".into())
            ]
        );
    }
}

#[test]
fn operator_cannot_cancel_a_completed_or_cancelled_order() {
    for s in [OrderStatus::Completed, OrderStatus::Cancelled] {
        assert_eq!(
            code(order_in(s).operator_cancel(Party::Operator, None, day(3), &cfg())),
            "invalid_transition",
            "{s:?}"
        );
        assert_eq!(
            code(order_in(s).cancel(Party::Operator, None, day(3), &cfg())),
            "invalid_transition",
            "{s:?}"
        );
    }
}

#[test]
fn operator_cancel_is_refused_to_the_buyer_and_the_seller() {
    // Even where their own cancel would be allowed.
    for p in [Party::Buyer, Party::Seller] {
        assert_eq!(
            code(awaiting().operator_cancel(p, None, day(1), &cfg())),
            "forbidden",
            "{p:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Cancelling: the money and the messages
// ---------------------------------------------------------------------------

#[test]
fn cancelling_records_who_when_and_why() {
    let o = in_progress()
        .cancel(Party::Seller, Some(text("I am ill")), day(1), &cfg())
        .unwrap()
        .order;
    assert_eq!(o.cancelled_by, Some(Actor::Seller));
    assert_eq!(o.cancelled_at, Some(day(1)));
    assert_eq!(o.cancel_reason.as_deref(), Some("I am ill"));
    assert_eq!(o.completed_at, None);
}

#[test]
fn cancelling_refunds_the_total_to_the_buyer_balance_at_once() {
    let d = in_progress()
        .cancel(Party::Seller, None, day(1), &cfg())
        .unwrap();
    assert_eq!(d.postings.len(), 1);
    let p = &d.postings[0];
    assert_eq!(p.kind(), PostingKind::OrderRefunded);
    assert_eq!(p.id().as_str(), "order-1/refunded");
    assert_eq!(
        legs(p),
        vec![
            (escrow(), "-10.00".into()),
            (balance(&buyer()), "10.00".into())
        ]
    );
    assert!(!d.completed);
}

#[test]
fn refund_returns_the_balance_part_and_the_earnings_part_to_their_sources() {
    let placed = place(&service_starting_at_once(), funds("4", "20"));
    let refund = placed
        .order
        .cancel(Party::Seller, None, day(1), &cfg())
        .unwrap();
    assert_eq!(
        legs(&refund.postings[0]),
        vec![
            (escrow(), "-4.00".into()),
            (balance(&buyer()), "4.00".into()),
            (escrow(), "-6.00".into()),
            (earnings(&buyer()), "6.00".into()),
        ]
    );
    let mut books = Books::opening(&[(balance(&buyer()), "4"), (earnings(&buyer()), "20")]);
    books.post(&placed.postings);
    assert_eq!(books.of(&balance(&buyer())), "0.00");
    assert_eq!(books.of(&earnings(&buyer())), "14.00");
    assert_eq!(books.of(&escrow()), "10.00");
    books.post(&refund.postings);
    assert_eq!(books.of(&balance(&buyer())), "4.00");
    assert_eq!(books.of(&earnings(&buyer())), "20.00");
    assert_eq!(books.of(&escrow()), "0.00");
}

#[test]
fn cancelling_clears_every_order_timer_but_arms_the_files_end() {
    let d = delivered()
        .operator_cancel(Party::Operator, None, day(2), &cfg())
        .unwrap();
    assert_eq!(
        d.timers_cleared,
        vec![
            TimerKind::AutoCancel,
            TimerKind::AutoComplete,
            TimerKind::Reminder
        ]
    );
    let set: Vec<_> = d.timers_set.iter().map(|t| (t.kind, t.due)).collect();
    assert_eq!(set, vec![(TimerKind::FilesExpire, day(92))]);
}

#[test]
fn cancelling_tells_both_and_the_buyer_what_came_back() {
    let d = in_progress()
        .cancel(Party::Seller, Some(text("I am ill")), day(1), &cfg())
        .unwrap();
    assert_eq!(
        notices(&d),
        vec![
            (
                seller(),
                NoticeKind::OrderCancelled {
                    by: Actor::Seller,
                    refunded: None,
                    to_earnings: khamsa_domain::Money::ZERO,
                    reason: Some("I am ill".into())
                }
            ),
            (
                buyer(),
                NoticeKind::OrderCancelled {
                    by: Actor::Seller,
                    refunded: Some(usd("10")),
                    to_earnings: khamsa_domain::Money::ZERO,
                    reason: Some("I am ill".into())
                }
            ),
        ]
    );
}

// ---------------------------------------------------------------------------
// can_cancel: the button
// ---------------------------------------------------------------------------

#[test]
fn can_cancel_for_the_buyer_follows_the_status_and_due_at() {
    assert!(awaiting().can_cancel(Some(Party::Buyer), day(1)));
    assert!(!in_progress().can_cancel(Some(Party::Buyer), just_before(day(3))));
    assert!(in_progress().can_cancel(Some(Party::Buyer), day(3)));
    assert!(!delivered().can_cancel(Some(Party::Buyer), day(10)));
    assert!(!completed().can_cancel(Some(Party::Buyer), day(10)));
    assert!(!cancelled().can_cancel(Some(Party::Buyer), day(10)));
}

#[test]
fn can_cancel_for_the_seller_until_delivery() {
    assert!(awaiting().can_cancel(Some(Party::Seller), day(1)));
    assert!(in_progress().can_cancel(Some(Party::Seller), day(1)));
    assert!(!delivered().can_cancel(Some(Party::Seller), day(2)));
    assert!(!completed().can_cancel(Some(Party::Seller), day(3)));
    assert!(!cancelled().can_cancel(Some(Party::Seller), day(3)));
}

#[test]
fn can_cancel_for_the_operator_while_open() {
    assert!(awaiting().can_cancel(Some(Party::Operator), day(1)));
    assert!(in_progress().can_cancel(Some(Party::Operator), day(1)));
    assert!(delivered().can_cancel(Some(Party::Operator), day(2)));
    assert!(!completed().can_cancel(Some(Party::Operator), day(3)));
    assert!(!cancelled().can_cancel(Some(Party::Operator), day(3)));
}

#[test]
fn can_cancel_is_false_for_anyone_else() {
    for s in ALL_STATUSES {
        assert!(!order_in(s).can_cancel(None, day(10)), "{s:?}");
    }
}

#[test]
fn can_cancel_agrees_with_cancel_for_every_party_and_status() {
    for s in ALL_STATUSES {
        for p in [Party::Buyer, Party::Seller, Party::Operator] {
            for at in [day(1), day(3), day(20)] {
                let o = order_in(s);
                let shown = o.can_cancel(Some(p), at);
                let allowed = o.cancel(p, None, at, &cfg()).is_ok();
                assert_eq!(shown, allowed, "{p:?} at {at:?} while {s:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Timers: auto-cancel
// ---------------------------------------------------------------------------

#[test]
fn auto_cancel_fires_7_days_after_placement_while_awaiting_instructions() {
    let d = fire(&awaiting(), TimerKind::AutoCancel, day(7)).expect("cancelled");
    assert_eq!(d.order.status, OrderStatus::Cancelled);
    assert_eq!(d.order.cancelled_by, Some(Actor::System));
    assert_eq!(d.order.cancelled_at, Some(day(7)));
    assert_eq!(
        legs(&d.postings[0]),
        vec![
            (escrow(), "-10.00".into()),
            (balance(&buyer()), "10.00".into())
        ]
    );
    assert_eq!(
        notices(&d)[1],
        (
            buyer(),
            NoticeKind::OrderCancelled {
                by: Actor::System,
                refunded: Some(usd("10")),
                to_earnings: khamsa_domain::Money::ZERO,
                reason: None
            }
        )
    );
}

#[test]
fn auto_cancel_does_nothing_before_7_days_while_awaiting_instructions() {
    assert_eq!(
        fire(&awaiting(), TimerKind::AutoCancel, just_before(day(7))),
        None
    );
}

#[test]
fn auto_cancel_fires_3_days_after_due_at_in_progress() {
    // Due at day 3: cancelled by the system at day 6.
    let d = fire(&in_progress(), TimerKind::AutoCancel, day(6)).expect("cancelled");
    assert_eq!(d.order.status, OrderStatus::Cancelled);
    assert_eq!(d.order.cancelled_by, Some(Actor::System));
    assert_eq!(d.postings[0].kind(), PostingKind::OrderRefunded);
    assert_eq!(
        legs(&d.postings[0]),
        vec![
            (escrow(), "-10.00".into()),
            (balance(&buyer()), "10.00".into())
        ]
    );
}

#[test]
fn auto_cancel_does_nothing_before_3_days_after_due_at() {
    assert_eq!(
        fire(&in_progress(), TimerKind::AutoCancel, just_before(day(6))),
        None
    );
}

#[test]
fn auto_cancel_after_instructions_counts_from_due_at_not_placement() {
    // Placed at day 0, instructions at day 6: due at day 9, auto-cancel at day 12.
    let o = awaiting()
        .send_instructions(Party::Buyer, text("blue"), day(6), &cfg())
        .unwrap()
        .order;
    assert_eq!(fire(&o, TimerKind::AutoCancel, day(7)), None);
    assert_eq!(fire(&o, TimerKind::AutoCancel, just_before(day(12))), None);
    let d = fire(&o, TimerKind::AutoCancel, day(12)).expect("cancelled");
    assert_eq!(d.order.cancelled_by, Some(Actor::System));
}

#[test]
fn auto_cancel_counts_from_the_new_due_at_after_changes() {
    // Changes asked at day 2: due at day 5, auto-cancel at day 8, not day 6.
    let o = changes_asked();
    assert_eq!(fire(&o, TimerKind::AutoCancel, day(6)), None);
    let d = fire(&o, TimerKind::AutoCancel, day(8)).expect("cancelled");
    assert_eq!(d.order.status, OrderStatus::Cancelled);
}

#[test]
fn auto_cancel_does_nothing_once_delivered() {
    assert_eq!(fire(&delivered(), TimerKind::AutoCancel, day(30)), None);
}

#[test]
fn auto_cancel_does_nothing_once_cancelled_or_completed() {
    assert_eq!(fire(&cancelled(), TimerKind::AutoCancel, day(30)), None);
    assert_eq!(fire(&completed(), TimerKind::AutoCancel, day(30)), None);
}

// ---------------------------------------------------------------------------
// Timers: auto-complete
// ---------------------------------------------------------------------------

#[test]
fn auto_complete_releases_80_percent_to_seller() {
    // Delivered at day 1: completed by the system at day 4.
    let d = fire(&delivered(), TimerKind::AutoComplete, day(4)).expect("completed");
    assert_eq!(d.order.status, OrderStatus::Completed);
    assert_eq!(d.order.completed_by, Some(Actor::System));
    assert_eq!(d.order.completed_at, Some(day(4)));
    assert!(d.completed);
    assert_eq!(
        legs(&d.postings[0]),
        vec![
            (escrow(), "-8.00".into()),
            (pending(&seller()), "8.00".into()),
            (escrow(), "-2.00".into()),
            (platform(), "2.00".into()),
        ]
    );
    assert_eq!(timer(&d, TimerKind::Clearing), Some(day(18)));
}

#[test]
fn auto_complete_does_nothing_before_3_days_after_delivery() {
    assert_eq!(
        fire(&delivered(), TimerKind::AutoComplete, just_before(day(4))),
        None
    );
}

#[test]
fn redelivery_restarts_the_auto_complete() {
    // Delivered at day 1, again at day 3: the day-4 firing is stale.
    let o = delivered()
        .deliver(Party::Seller, Some(text("Version 2")), day(3), &cfg())
        .unwrap()
        .order;
    assert_eq!(fire(&o, TimerKind::AutoComplete, day(4)), None);
    assert_eq!(fire(&o, TimerKind::AutoComplete, just_before(day(6))), None);
    let d = fire(&o, TimerKind::AutoComplete, day(6)).expect("completed");
    assert_eq!(d.order.completed_by, Some(Actor::System));
}

#[test]
fn auto_complete_does_nothing_after_changes_were_asked() {
    let o = changes_asked();
    assert_eq!(fire(&o, TimerKind::AutoComplete, day(4)), None);
}

#[test]
fn auto_complete_does_nothing_when_not_delivered() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        assert_eq!(
            fire(&order_in(s), TimerKind::AutoComplete, day(30)),
            None,
            "{s:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Timers: the reminder
// ---------------------------------------------------------------------------

#[test]
fn reminder_is_sent_24_hours_before_auto_complete() {
    // Delivered at day 1: completes at day 4, reminder at day 3.
    let d = fire(&delivered(), TimerKind::Reminder, day(3)).expect("reminded");
    assert_eq!(d.order.status, OrderStatus::Delivered);
    assert_eq!(d.order.reminded_for, Some(day(1)));
    assert!(d.postings.is_empty());
    assert_eq!(
        notices(&d),
        vec![(
            buyer(),
            NoticeKind::CompleteReminder {
                auto_complete_at: day(4)
            }
        )]
    );
}

#[test]
fn reminder_waits_until_24_hours_before_auto_complete() {
    assert_eq!(
        fire(&delivered(), TimerKind::Reminder, just_before(day(3))),
        None
    );
}

#[test]
fn reminder_is_sent_only_once_per_delivery() {
    let reminded = fire(&delivered(), TimerKind::Reminder, day(3))
        .unwrap()
        .order;
    assert_eq!(
        fire(&reminded, TimerKind::Reminder, day(3).plus_ms(HOUR_MS)),
        None
    );
}

#[test]
fn redelivery_earns_a_new_reminder() {
    let reminded = fire(&delivered(), TimerKind::Reminder, day(3))
        .unwrap()
        .order;
    let again = reminded
        .deliver(Party::Seller, None, day(3), &cfg())
        .unwrap()
        .order;
    // Delivered again at day 3: completes at day 6, reminder at day 5.
    assert_eq!(fire(&again, TimerKind::Reminder, just_before(day(5))), None);
    let d = fire(&again, TimerKind::Reminder, day(5)).expect("reminded again");
    assert_eq!(d.order.reminded_for, Some(day(3)));
    assert_eq!(
        notices(&d),
        vec![(
            buyer(),
            NoticeKind::CompleteReminder {
                auto_complete_at: day(6)
            }
        )]
    );
}

#[test]
fn reminder_is_not_sent_unless_the_order_is_still_delivered() {
    let changed = changes_asked();
    assert_eq!(fire(&changed, TimerKind::Reminder, day(3)), None);
    assert_eq!(fire(&completed(), TimerKind::Reminder, day(3)), None);
    assert_eq!(fire(&cancelled(), TimerKind::Reminder, day(3)), None);
}

// ---------------------------------------------------------------------------
// Timers: clearing
// ---------------------------------------------------------------------------

#[test]
fn clearing_makes_the_seller_net_available_14_days_after_completion() {
    // Completed at day 2: cleared at day 16.
    let d = fire(&completed(), TimerKind::Clearing, day(16)).expect("cleared");
    assert_eq!(d.order.status, OrderStatus::Completed);
    assert_eq!(d.order.cleared_at, Some(day(16)));
    let p = &d.postings[0];
    assert_eq!(p.kind(), PostingKind::EarningsCleared);
    assert_eq!(p.id().as_str(), "order-1/cleared");
    assert_eq!(
        legs(p),
        vec![
            (pending(&seller()), "-8.00".into()),
            (earnings(&seller()), "8.00".into())
        ]
    );
    // The seller hears the money can be withdrawn (issue 12).
    assert_eq!(
        notices(&d),
        vec![(seller(), NoticeKind::EarningsCleared { amount: usd("8") })]
    );
}

#[test]
fn clearing_waits_14_days_after_completion() {
    assert_eq!(
        fire(&completed(), TimerKind::Clearing, just_before(day(16))),
        None
    );
}

#[test]
fn clearing_happens_only_once() {
    let cleared = fire(&completed(), TimerKind::Clearing, day(16))
        .unwrap()
        .order;
    assert_eq!(fire(&cleared, TimerKind::Clearing, day(30)), None);
}

#[test]
fn clearing_does_nothing_for_an_order_that_did_not_complete() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ] {
        assert_eq!(
            fire(&order_in(s), TimerKind::Clearing, day(60)),
            None,
            "{s:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Timers: the files of an ended order go 90 days after it ended
// ---------------------------------------------------------------------------

fn operator_id() -> UserId {
    UserId::new("operator-1")
}

/// Every way an order ends, with when it ended.
fn every_end() -> Vec<(&'static str, Decision, Timestamp)> {
    let c = cfg();
    let disputed = delivered()
        .open_dispute(Party::Buyer, text("not what I asked"), day(2))
        .unwrap()
        .order;
    let resolve = |outcome: &str| {
        disputed
            .resolve_dispute(
                Party::Operator,
                &operator_id(),
                DisputeOutcome::parse(outcome).unwrap(),
                text("decided"),
                day(3),
                &c,
            )
            .unwrap()
    };
    vec![
        (
            "received",
            delivered().receive(Party::Buyer, day(2), &c).unwrap(),
            day(2),
        ),
        (
            "auto-completed",
            fire(&delivered(), TimerKind::AutoComplete, day(4)).unwrap(),
            day(4),
        ),
        (
            "operator completed",
            in_progress()
                .operator_complete(Party::Operator, None, day(2), &c)
                .unwrap(),
            day(2),
        ),
        ("dispute resolved complete", resolve("complete"), day(3)),
        (
            "seller cancelled",
            in_progress()
                .cancel(Party::Seller, None, day(1), &c)
                .unwrap(),
            day(1),
        ),
        (
            "buyer cancelled",
            awaiting().cancel(Party::Buyer, None, day(1), &c).unwrap(),
            day(1),
        ),
        (
            "auto-cancelled",
            fire(&in_progress(), TimerKind::AutoCancel, day(6)).unwrap(),
            day(6),
        ),
        (
            "operator cancelled",
            delivered()
                .operator_cancel(Party::Operator, None, day(2), &c)
                .unwrap(),
            day(2),
        ),
        ("dispute resolved cancel", resolve("cancel"), day(3)),
    ]
}

#[test]
fn every_end_sets_the_files_to_expire_90_days_later_and_none_clears_it() {
    for (how, d, ended) in every_end() {
        assert!(d.order.status.is_finished(), "{how}");
        assert_eq!(d.order.ended_at(), Some(ended), "{how}");
        assert_eq!(
            timer(&d, TimerKind::FilesExpire),
            Some(ended.plus_days(90)),
            "{how}"
        );
        assert_eq!(d.order.files_expire_at(&cfg()), Some(ended.plus_days(90)));
        assert!(!d.timers_cleared.contains(&TimerKind::FilesExpire), "{how}");
        assert!(!d.delete_files, "{how}");
    }
}

#[test]
fn no_transition_before_the_end_sets_the_files_timer() {
    let c = cfg();
    let steps = vec![
        place(&service_asking_instructions(), plenty()),
        awaiting()
            .send_instructions(Party::Buyer, text("blue"), day(1), &c)
            .unwrap(),
        in_progress()
            .deliver(Party::Seller, None, day(1), &c)
            .unwrap(),
        delivered()
            .request_changes(Party::Buyer, text("bigger"), day(2), &c)
            .unwrap(),
    ];
    for d in steps {
        assert_eq!(timer(&d, TimerKind::FilesExpire), None);
        assert_eq!(d.order.ended_at(), None);
    }
}

#[test]
fn the_files_expire_90_days_after_the_end_and_not_before() {
    for (how, d, ended) in every_end() {
        let o = d.order;
        let due = ended.plus_days(90);
        assert_eq!(
            fire(&o, TimerKind::FilesExpire, just_before(due)),
            None,
            "{how}"
        );
        let d = fire(&o, TimerKind::FilesExpire, due).expect(how);
        assert!(d.delete_files, "{how}");
        assert_eq!(d.order.files_expired_at, Some(due), "{how}");
        assert_eq!(d.order.status, o.status, "{how}");
        assert!(d.postings.is_empty() && d.notices.is_empty(), "{how}");
        assert!(d.timers_set.is_empty() && !d.completed, "{how}");
        // Firing again (a duplicate, or late) changes nothing.
        assert_eq!(
            fire(&d.order, TimerKind::FilesExpire, due.plus_days(1)),
            None,
            "{how}"
        );
    }
}

#[test]
fn the_files_timer_does_nothing_on_an_open_order() {
    for s in [
        OrderStatus::AwaitingInstructions,
        OrderStatus::InProgress,
        OrderStatus::Delivered,
    ] {
        assert_eq!(
            fire(&order_in(s), TimerKind::FilesExpire, day(400)),
            None,
            "{s:?}"
        );
    }
}

#[test]
fn files_keep_days_is_90_by_default_and_configurable() {
    assert_eq!(cfg().files_keep_days, 90);
    let mut c = cfg();
    c.files_keep_days = 10;
    // Received at day 2.
    let o = completed();
    assert_eq!(o.files_expire_at(&c), Some(day(12)));
    assert!(
        o.fire_timer(TimerKind::FilesExpire, day(12), &c)
            .unwrap()
            .is_some()
    );
    assert!(
        o.fire_timer(TimerKind::FilesExpire, just_before(day(12)), &c)
            .unwrap()
            .is_none()
    );
}

// ---------------------------------------------------------------------------
// The whole life of an order, in the books
// ---------------------------------------------------------------------------

#[test]
fn a_completed_and_cleared_order_leaves_8_available_to_the_seller_and_2_to_the_platform() {
    let mut books = Books::opening(&[(balance(&buyer()), "25")]);
    let placed = place(&service_starting_at_once(), funds("25", "0"));
    books.post(&placed.postings);
    let delivered = placed
        .order
        .deliver(Party::Seller, None, day(1), &cfg())
        .unwrap();
    books.post(&delivered.postings);
    let done = fire(&delivered.order, TimerKind::AutoComplete, day(4)).unwrap();
    books.post(&done.postings);
    assert_eq!(books.of(&pending(&seller())), "8.00");
    assert_eq!(books.of(&earnings(&seller())), "0.00");
    let cleared = fire(&done.order, TimerKind::Clearing, day(18)).unwrap();
    books.post(&cleared.postings);
    assert_eq!(books.of(&balance(&buyer())), "15.00");
    assert_eq!(books.of(&escrow()), "0.00");
    assert_eq!(books.of(&pending(&seller())), "0.00");
    assert_eq!(books.of(&earnings(&seller())), "8.00");
    assert_eq!(books.of(&platform()), "2.00");
    assert_eq!(books.of(&Account::External), "-25.00");
}

#[test]
fn an_auto_cancelled_order_leaves_the_buyer_whole() {
    let mut books = Books::opening(&[(balance(&buyer()), "3"), (earnings(&buyer()), "7")]);
    let placed = place(&service_asking_instructions(), funds("3", "7"));
    books.post(&placed.postings);
    assert_eq!(books.of(&balance(&buyer())), "0.00");
    assert_eq!(books.of(&earnings(&buyer())), "0.00");
    let gone = fire(&placed.order, TimerKind::AutoCancel, day(7)).unwrap();
    books.post(&gone.postings);
    assert_eq!(books.of(&balance(&buyer())), "3.00");
    assert_eq!(books.of(&earnings(&buyer())), "7.00");
    assert_eq!(books.of(&escrow()), "0.00");
}

#[test]
fn every_posting_of_every_transition_is_balanced() {
    let c = cfg();
    let split = place(&service_asking_instructions(), funds("4", "20"));
    let o = split.order.clone();
    let decisions = vec![
        split,
        o.cancel(Party::Buyer, None, day(1), &cfg()).unwrap(),
        o.clone()
            .operator_complete(Party::Operator, None, day(1), &c)
            .unwrap(),
        o.fire_timer(TimerKind::AutoCancel, day(7), &c)
            .unwrap()
            .unwrap(),
        in_progress()
            .deliver(Party::Seller, None, day(1), &c)
            .unwrap(),
        delivered().receive(Party::Buyer, day(2), &c).unwrap(),
        delivered()
            .operator_cancel(Party::Operator, None, day(2), &cfg())
            .unwrap(),
        delivered()
            .fire_timer(TimerKind::AutoComplete, day(4), &c)
            .unwrap()
            .unwrap(),
        in_progress()
            .fire_timer(TimerKind::AutoCancel, day(6), &c)
            .unwrap()
            .unwrap(),
        completed()
            .fire_timer(TimerKind::Clearing, day(16), &c)
            .unwrap()
            .unwrap(),
    ];
    let mut posted = 0;
    for d in &decisions {
        for p in &d.postings {
            assert!(p.is_balanced(), "{p:?}");
            assert_eq!(
                p.legs().iter().map(|l| l.amount()).sum::<Decimal>(),
                Decimal::ZERO
            );
            assert!(
                p.legs().iter().all(|l| !l.amount().is_zero()),
                "zero leg in {p:?}"
            );
            posted += 1;
        }
    }
    assert_eq!(posted, 9);
}

// ---------------------------------------------------------------------------
// Unread messages and kept change requests (issue 12)
// ---------------------------------------------------------------------------

#[test]
fn a_message_is_unread_for_the_other_party_only_until_they_read() {
    let o = in_progress();
    let (buyer, seller) = (o.buyer_id.clone(), o.seller_id.clone());
    let o = o.count_message(Party::Buyer).count_message(Party::Buyer);
    assert_eq!((o.unread_for(&buyer), o.unread_for(&seller)), (0, 2));
    let o = o.count_message(Party::Seller);
    assert_eq!((o.unread_for(&buyer), o.unread_for(&seller)), (1, 2));
    // An operator reading marks nothing; nor is there anything for them.
    assert_eq!(o.mark_read(Party::Operator), None);
    assert_eq!(o.unread_for(&UserId::new("operator")), 0);
    // The seller reads: hers clear, the buyer's stay; nothing left to mark.
    let read = o.mark_read(Party::Seller).expect("unread to mark");
    assert_eq!((read.unread_for(&buyer), read.unread_for(&seller)), (1, 0));
    assert_eq!(read.mark_read(Party::Seller), None);
}

#[test]
fn every_change_request_is_kept_in_order_up_to_the_bound() {
    use khamsa_domain::order::MAX_CHANGES;
    let mut o = delivered();
    for i in 0..MAX_CHANGES {
        let at = day(2 + 2 * i as i64);
        o = o
            .request_changes(Party::Buyer, text(&format!("change {i}")), at, &cfg())
            .unwrap()
            .order;
        assert_eq!(
            o.changes.last().map(|c| (c.text.as_str(), c.at)),
            Some((format!("change {i}").as_str(), at))
        );
        o = o
            .deliver(Party::Seller, None, day(3 + 2 * i as i64), &cfg())
            .unwrap()
            .order;
    }
    assert_eq!(o.changes.len(), MAX_CHANGES);
    let err = o
        .request_changes(Party::Buyer, text("one more"), day(40), &cfg())
        .unwrap_err();
    assert_eq!(err.code(), "too_many_changes");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}
