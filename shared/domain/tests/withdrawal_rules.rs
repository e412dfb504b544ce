//! Money in and out (product.md): top-ups bring outside money into the
//! balance; withdrawals take at least $10 of available earnings out to a
//! PayPal address, and come back if rejected or failed.

mod common;

use common::*;
use khamsa_domain::ids::{PostingId, TopupId, WithdrawalId};
use khamsa_domain::ledger::{Account, Posting, PostingKind, UserAccount};
use khamsa_domain::notice::NoticeKind;
use khamsa_domain::text::EmailAddress;
use khamsa_domain::withdrawal::{
    PayoutReport, Returned, Topup, TopupMethod, TopupStatus, Withdrawal, WithdrawalStatus,
};
use khamsa_domain::{Config, DomainResult, ErrorKind};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn wid() -> WithdrawalId {
    WithdrawalId::new("withdrawal-1")
}

fn paypal() -> EmailAddress {
    EmailAddress::parse("paypal", "seller@example.com").unwrap()
}

fn available() -> Account {
    Account::user(&seller(), UserAccount::EarningsAvailable)
}

fn in_flight() -> Account {
    Account::user(&seller(), UserAccount::WithdrawalsInFlight)
}

fn balance() -> Account {
    Account::user(&seller(), UserAccount::Balance)
}

/// Asks to withdraw `amount` with `avail` of available earnings.
fn try_request(
    amount: &str,
    to: Option<EmailAddress>,
    avail: &str,
) -> DomainResult<(Withdrawal, Posting)> {
    Withdrawal::request(wid(), &seller(), usd(amount), to, usd(avail), T0, &cfg())
}

/// A $25 withdrawal, requested at T0 with $40 available.
fn requested() -> (Withdrawal, Posting) {
    try_request("25", Some(paypal()), "40").unwrap()
}

/// Approved by an operator at T0.
fn approved() -> Withdrawal {
    requested().0.approve(T0).unwrap()
}

/// Sent to PayPal at T0.
fn processing() -> Withdrawal {
    approved().sent("BATCH-1", "ITEM-1", T0).unwrap()
}

fn paid() -> Withdrawal {
    processing().pay(None, day(1)).unwrap().0
}

fn rejected() -> Withdrawal {
    requested()
        .0
        .return_funds(Returned::Rejected, Some(text("suspicious")), day(1))
        .unwrap()
        .0
}

fn failed() -> Withdrawal {
    processing()
        .return_funds(Returned::Failed, Some(text("PayPal refused")), day(1))
        .unwrap()
        .0
}

fn try_topup(amount: &str, method: TopupMethod) -> DomainResult<(Topup, Option<Posting>)> {
    Topup::create(
        TopupId::new("topup-1"),
        &seller(),
        usd(amount),
        method,
        T0,
        &cfg(),
    )
}

// ---------------------------------------------------------------------------
// Requesting a withdrawal
// ---------------------------------------------------------------------------

#[test]
fn withdrawal_moves_available_earnings_into_withdrawals_in_flight() {
    let (w, p) = requested();
    assert_eq!(w.id, wid());
    assert_eq!(w.user_id, seller());
    assert_eq!(w.amount.to_string(), "25.00");
    assert_eq!(w.paypal_email.as_str(), "seller@example.com");
    assert_eq!(w.status, WithdrawalStatus::Requested);
    assert_eq!(w.reason, None);
    assert_eq!((w.created_at, w.updated_at), (T0, T0));
    assert_eq!(p.kind(), PostingKind::WithdrawalRequested);
    assert_eq!(p.id(), &PostingId::new("withdrawal-1/requested"));
    assert_eq!(p.withdrawal_id(), Some(&wid()));
    assert_eq!(
        legs(&p),
        vec![
            (available(), "-25.00".into()),
            (in_flight(), "25.00".into())
        ]
    );
}

#[test]
fn withdrawal_of_exactly_10_dollars_is_allowed() {
    let (w, p) = try_request("10.00", Some(paypal()), "10.00").unwrap();
    assert_eq!(w.amount.to_string(), "10.00");
    assert_eq!(
        legs(&p),
        vec![
            (available(), "-10.00".into()),
            (in_flight(), "10.00".into())
        ]
    );
}

#[test]
fn withdrawal_below_10_dollars_is_refused() {
    for amount in ["9.99", "5", "0.01"] {
        let err = try_request(amount, Some(paypal()), "100").unwrap_err();
        assert_eq!(err.code(), "validation_failed", "{amount}");
        assert_eq!(err.kind(), ErrorKind::Invalid);
    }
}

#[test]
fn withdrawal_minimum_comes_from_configuration() {
    let cfg = Config {
        withdrawal_min: usd("50"),
        ..Config::default()
    };
    let r = Withdrawal::request(
        wid(),
        &seller(),
        usd("49.99"),
        Some(paypal()),
        usd("100"),
        T0,
        &cfg,
    );
    assert_eq!(r.unwrap_err().code(), "validation_failed");
    assert!(
        Withdrawal::request(
            wid(),
            &seller(),
            usd("50"),
            Some(paypal()),
            usd("100"),
            T0,
            &cfg
        )
        .is_ok()
    );
}

#[test]
fn withdrawal_cannot_exceed_available_earnings() {
    let err = try_request("25.00", Some(paypal()), "24.99").unwrap_err();
    assert_eq!(err.code(), "insufficient_earnings");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn all_available_earnings_can_be_withdrawn() {
    let (w, _) = try_request("24.99", Some(paypal()), "24.99").unwrap();
    assert_eq!(w.amount.to_string(), "24.99");
}

#[test]
fn only_available_earnings_can_be_withdrawn_not_balance_or_pending() {
    // A user with a $500 balance and $80 pending but nothing available has
    // nothing to withdraw: only available earnings are passed in.
    let err = try_request("10", Some(paypal()), "0").unwrap_err();
    assert_eq!(err.code(), "insufficient_earnings");
}

#[test]
fn withdrawal_without_a_paypal_address_is_refused() {
    let err = try_request("25", None, "40").unwrap_err();
    assert_eq!(err.code(), "no_paypal_address");
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

// ---------------------------------------------------------------------------
// Settling a withdrawal
// ---------------------------------------------------------------------------

#[test]
fn paying_a_withdrawal_sends_the_money_out_of_the_site() {
    let (w, ps, _) = processing().pay(None, day(1)).unwrap();
    let p = &ps[0];
    assert_eq!(ps.len(), 1, "no fee reported, no fee posted");
    assert_eq!(w.status, WithdrawalStatus::Paid);
    assert_eq!(w.updated_at, day(1));
    assert_eq!(w.created_at, T0);
    assert_eq!(p.kind(), PostingKind::WithdrawalPaid);
    assert_eq!(p.id(), &PostingId::new("withdrawal-1/paid"));
    assert_eq!(p.withdrawal_id(), Some(&wid()));
    assert_eq!(
        legs(p),
        vec![
            (in_flight(), "-25.00".into()),
            (Account::External, "25.00".into())
        ]
    );
}

#[test]
fn paying_a_withdrawal_tells_the_seller_amount_and_address() {
    let (_, _, n) = processing().pay(None, day(1)).unwrap();
    assert_eq!(n.to, seller());
    assert_eq!(n.withdrawal_id, Some(wid()));
    assert_eq!(n.order_id, None);
    assert_eq!(
        n.kind,
        NoticeKind::WithdrawalPaid {
            amount: usd("25"),
            paypal_email: "seller@example.com".into()
        }
    );
}

#[test]
fn rejecting_a_withdrawal_returns_the_money_to_available_earnings() {
    let (w, p) = requested()
        .0
        .return_funds(Returned::Rejected, Some(text("suspicious")), day(1))
        .unwrap();
    assert_eq!(w.status, WithdrawalStatus::Rejected);
    assert_eq!(w.reason.as_deref(), Some("suspicious"));
    assert_eq!(w.updated_at, day(1));
    assert_eq!(p.kind(), PostingKind::WithdrawalReturned);
    assert_eq!(p.id(), &PostingId::new("withdrawal-1/returned"));
    assert_eq!(
        legs(&p),
        vec![
            (in_flight(), "-25.00".into()),
            (available(), "25.00".into())
        ]
    );
}

#[test]
fn a_failed_payout_returns_the_money_to_available_earnings() {
    let (w, p) = processing()
        .return_funds(Returned::Failed, Some(text("PayPal refused")), day(1))
        .unwrap();
    assert_eq!(w.status, WithdrawalStatus::Failed);
    assert_eq!(w.reason.as_deref(), Some("PayPal refused"));
    assert_eq!(p.kind(), PostingKind::WithdrawalReturned);
    assert_eq!(
        legs(&p),
        vec![
            (in_flight(), "-25.00".into()),
            (available(), "25.00".into())
        ]
    );
}

#[test]
fn a_withdrawal_cannot_be_settled_twice() {
    for w in [paid(), rejected(), failed()] {
        let s = w.status;
        assert_eq!(
            w.pay(None, day(2)).unwrap_err().code(),
            "invalid_transition",
            "pay while {s:?}"
        );
        for to in [Returned::Rejected, Returned::Failed] {
            let err = w.return_funds(to, None, day(2)).unwrap_err();
            assert_eq!(err.code(), "invalid_transition", "{to:?} while {s:?}");
            assert_eq!(err.kind(), ErrorKind::Conflict);
        }
    }
}

#[test]
fn a_paid_withdrawal_leaves_the_site_and_a_rejected_one_comes_home() {
    let (w, requested_posting) = requested();

    let mut books = Books::opening(&[(available(), "40")]);
    books.post([&requested_posting]);
    assert_eq!(books.of(&available()), "15.00");
    assert_eq!(books.of(&in_flight()), "25.00");
    let w2 = w.approve(T0).unwrap().sent("B", "I", T0).unwrap();
    books.post(w2.pay(None, day(1)).unwrap().1.iter());
    assert_eq!(books.of(&in_flight()), "0.00");
    assert_eq!(books.of(&available()), "15.00");
    assert_eq!(books.of(&Account::External), "-15.00");

    let mut books = Books::opening(&[(available(), "40")]);
    books.post([&requested_posting]);
    books.post([&w.return_funds(Returned::Rejected, None, day(1)).unwrap().1]);
    assert_eq!(books.of(&in_flight()), "0.00");
    assert_eq!(books.of(&available()), "40.00");
}

#[test]
fn withdrawal_statuses_have_stable_names() {
    for (s, name) in [
        (WithdrawalStatus::Requested, "requested"),
        (WithdrawalStatus::Approved, "approved"),
        (WithdrawalStatus::Processing, "processing"),
        (WithdrawalStatus::Paid, "paid"),
        (WithdrawalStatus::Rejected, "rejected"),
        (WithdrawalStatus::Failed, "failed"),
    ] {
        assert_eq!(s.to_string(), name);
        assert_eq!(name.parse(), Ok(s));
    }
    assert_eq!(
        "cancelled".parse::<WithdrawalStatus>().unwrap_err().code(),
        "validation_failed"
    );
}

// ---------------------------------------------------------------------------
// Approval and payouts (payments.md, "Money out")
// ---------------------------------------------------------------------------

#[test]
fn approving_then_sending_moves_no_money_and_keeps_the_provider_ids() {
    let w = approved();
    assert_eq!(w.status, WithdrawalStatus::Approved);
    let w = w.sent("BATCH-1", "ITEM-1", day(1)).unwrap();
    assert_eq!(w.status, WithdrawalStatus::Processing);
    assert_eq!(w.payout_batch_id.as_deref(), Some("BATCH-1"));
    assert_eq!(w.payout_item_id.as_deref(), Some("ITEM-1"));
    assert_eq!(w.updated_at, day(1));
}

#[test]
fn only_a_requested_withdrawal_is_approved_and_only_an_approved_one_sent() {
    for w in [approved(), processing(), paid(), rejected(), failed()] {
        let err = w.approve(day(2)).unwrap_err();
        assert_eq!(err.code(), "invalid_transition", "{:?}", w.status);
    }
    for w in [requested().0, processing(), paid(), rejected(), failed()] {
        let err = w.sent("B", "I", day(2)).unwrap_err();
        assert_eq!(err.code(), "invalid_transition", "{:?}", w.status);
    }
}

#[test]
fn only_a_requested_withdrawal_is_rejected_and_only_a_sent_one_fails() {
    for w in [approved(), processing()] {
        let err = w
            .return_funds(Returned::Rejected, None, day(2))
            .unwrap_err();
        assert_eq!(err.code(), "invalid_transition");
        assert!(w.return_funds(Returned::Failed, None, day(2)).is_ok());
    }
    let err = requested().0.fail("FAILED", day(2)).unwrap_err();
    assert_eq!(err.code(), "invalid_transition");
    assert!(requested().0.pay(None, day(2)).is_err());
}

#[test]
fn a_payout_event_can_overtake_the_workers_commit() {
    let report = PayoutReport {
        batch_id: "B9".into(),
        item_id: "I9".into(),
        fee: None,
    };
    let (w, _, _) = approved().pay(Some(&report), day(1)).unwrap();
    assert_eq!(w.status, WithdrawalStatus::Paid);
    assert_eq!(w.payout_item_id.as_deref(), Some("I9"));
}

#[test]
fn the_payout_fee_is_the_platforms_cost_and_the_seller_gets_the_full_amount() {
    let report = PayoutReport {
        batch_id: "B".into(),
        item_id: "I".into(),
        fee: Some(usd("0.25")),
    };
    let (w, requested_posting) = requested();
    let (_, ps, _) = processing().pay(Some(&report), day(1)).unwrap();
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[1].kind(), PostingKind::PaymentFee);
    assert_eq!(ps[1].id(), &PostingId::new("withdrawal-1/payout-fee"));
    assert_eq!(ps[1].withdrawal_id(), Some(&w.id));
    let mut books = Books::opening(&[(available(), "40")]);
    books.post([&requested_posting]);
    books.post(ps.iter());
    assert_eq!(books.of(&in_flight()), "0.00");
    assert_eq!(books.of(&available()), "15.00");
    assert_eq!(books.of(&Account::PaymentFees), "0.25");
    assert_eq!(books.of(&Account::External), "-15.25");
}

#[test]
fn a_failed_payout_tells_the_seller_why_and_returns_the_money() {
    let (w, p, n) = processing().fail("RETURNED", day(31)).unwrap();
    assert_eq!(w.status, WithdrawalStatus::Failed);
    assert_eq!(w.reason.as_deref(), Some("RETURNED"));
    assert_eq!(
        legs(&p),
        vec![
            (in_flight(), "-25.00".into()),
            (available(), "25.00".into())
        ]
    );
    assert_eq!(n.to, seller());
    assert_eq!(
        n.kind,
        NoticeKind::WithdrawalFailed {
            amount: usd("25"),
            reason: "RETURNED".into()
        }
    );
}

#[test]
fn auto_approval_is_off_by_default_and_bounded_by_the_configured_max() {
    let (w, _) = requested();
    assert!(!w.auto_approved(&cfg()));
    let on = |max: &str| Config {
        auto_approve_withdrawal_max: usd(max),
        ..Config::default()
    };
    assert!(w.auto_approved(&on("25")));
    assert!(w.auto_approved(&on("100")));
    assert!(!w.auto_approved(&on("24.99")));
}

// ---------------------------------------------------------------------------
// Top-ups
// ---------------------------------------------------------------------------

#[test]
fn sandbox_topup_settles_at_once_from_external_to_balance() {
    let (t, p) = try_topup("20", TopupMethod::Sandbox).unwrap();
    assert_eq!(t.status, TopupStatus::Settled);
    assert_eq!(t.amount.to_string(), "20.00");
    assert_eq!(t.user_id, seller());
    assert_eq!(t.created_at, T0);
    let p = p.expect("a settled top-up posts");
    assert_eq!(p.kind(), PostingKind::Topup);
    assert_eq!(p.id(), &PostingId::new("topup-1/topup"));
    assert_eq!(p.topup_id(), Some(&TopupId::new("topup-1")));
    assert_eq!(
        legs(&p),
        vec![
            (Account::External, "-20.00".into()),
            (balance(), "20.00".into())
        ]
    );
}

#[test]
fn paypal_and_cashu_topups_stay_pending_and_post_nothing() {
    for m in [TopupMethod::Paypal, TopupMethod::Cashu] {
        let (t, p) = try_topup("20", m).unwrap();
        assert_eq!(t.status, TopupStatus::Pending, "{m:?}");
        assert_eq!(t.method, m);
        assert_eq!(p, None, "{m:?}");
    }
}

#[test]
fn topups_run_from_1_to_1000_dollars() {
    for ok in ["1", "1.00", "12.34", "999.99", "1000"] {
        let (t, _) = try_topup(ok, TopupMethod::Sandbox).unwrap();
        assert_eq!(t.amount, usd(ok));
    }
}

#[test]
fn topups_below_1_or_above_1000_dollars_are_refused() {
    for bad in ["0", "0.99", "1000.01", "5000"] {
        for m in [
            TopupMethod::Sandbox,
            TopupMethod::Paypal,
            TopupMethod::Cashu,
        ] {
            let err = try_topup(bad, m).unwrap_err();
            assert_eq!(err.code(), "validation_failed", "{bad} by {m:?}");
            assert_eq!(err.kind(), ErrorKind::Invalid);
        }
    }
}

#[test]
fn topup_methods_are_paypal_cashu_and_sandbox() {
    assert_eq!("paypal".parse(), Ok(TopupMethod::Paypal));
    assert_eq!("cashu".parse(), Ok(TopupMethod::Cashu));
    assert_eq!("sandbox".parse(), Ok(TopupMethod::Sandbox));
    assert_eq!(
        "bitcoin".parse::<TopupMethod>().unwrap_err().code(),
        "validation_failed"
    );
}

#[test]
fn a_deployment_without_sandbox_top_ups_refuses_them_and_keeps_paypal() {
    let cfg = Config {
        sandbox_topups: false,
        ..Config::default()
    };
    let user = buyer();
    let err = Topup::create(
        TopupId::new("t"),
        &user,
        usd("20.00"),
        TopupMethod::Sandbox,
        day(0),
        &cfg,
    )
    .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        ("validation_failed", ErrorKind::Invalid)
    );
    let (t, posting) = Topup::create(
        TopupId::new("t"),
        &user,
        usd("20.00"),
        TopupMethod::Paypal,
        day(0),
        &cfg,
    )
    .unwrap();
    assert_eq!((t.status, posting), (TopupStatus::Pending, None));
}
