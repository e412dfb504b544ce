//! The adapter against the fake PayPal, over HTTP.

use std::time::Duration;

use khamsa_app::ports::payments::{
    CaptureStatus, CheckoutRequest, CheckoutStatus, IdempotencyKey, PaymentError, PaymentProvider,
    PayoutRequest, PayoutStatus, WebhookDelivery, WebhookKind,
};
use khamsa_domain::Money;
use khamsa_domain::ids::WithdrawalId;
use khamsa_domain::text::EmailAddress;
use khamsa_paypal::{Config, Credentials, PayPal};
use khamsa_paypal_fake::{
    CLIENT_ID, CLIENT_SECRET, CaptureOutcome, DelayedOp, FakePayPal, PayoutOutcome, SentEvent,
    WEBHOOK_ID, spawn,
};

async fn setup() -> (FakePayPal, PayPal) {
    let fake = spawn(0).await.expect("fake");
    let pp = PayPal::new(
        Config {
            api_base: fake.base_url(),
            webhook_id: WEBHOOK_ID.into(),
            timeout: Duration::from_millis(500),
        },
        &Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        },
    )
    .expect("adapter");
    (fake, pp)
}

fn money(s: &str) -> Money {
    Money::parse("amount", s).expect("money")
}

fn req(reference: &str, amount: &str) -> CheckoutRequest {
    CheckoutRequest {
        reference: reference.into(),
        amount: money(amount),
        return_url: Some("http://shop.test/back".into()),
        cancel_url: None,
    }
}

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s)
}

fn delivery(ev: &SentEvent) -> WebhookDelivery {
    WebhookDelivery {
        headers: ev.headers.clone(),
        body: ev.body.clone().into_bytes(),
    }
}

#[tokio::test]
async fn checkout_approve_capture() {
    let (fake, pp) = setup().await;
    let c = pp
        .create_checkout(&req("t1", "10.00"))
        .await
        .expect("checkout");
    assert_eq!(
        pp.create_checkout(&req("t1", "10.00"))
            .await
            .expect("again")
            .id,
        c.id
    );
    assert!(c.approve_url.contains("/checkoutnow?token="));
    assert_eq!(
        pp.capture(&c.id, &key("t1:capture")).await,
        Err(PaymentError::NotApproved)
    );

    assert!(fake.approve(c.id.as_str()));
    let st = pp.get_checkout(&c.id).await.expect("get");
    assert_eq!(
        (st.status, st.amount),
        (CheckoutStatus::Approved, money("10"))
    );

    let cap = pp
        .capture(&c.id, &key("t1:capture"))
        .await
        .expect("capture");
    assert_eq!(cap.status, CaptureStatus::Completed);
    assert_eq!((cap.gross, cap.fee), (money("10.00"), money("0.84")));
    assert_eq!(cap.reference.as_deref(), Some("t1"));
    // A retry with the same key is the same capture; a new key is refused.
    assert_eq!(pp.capture(&c.id, &key("t1:capture")).await, Ok(cap.clone()));
    assert_eq!(
        pp.capture(&c.id, &key("other")).await,
        Err(PaymentError::AlreadyCaptured)
    );
    let st = pp.get_checkout(&c.id).await.expect("get");
    assert_eq!(st.status, CheckoutStatus::Completed);
    assert_eq!(st.capture, Some(cap));
    assert_eq!(fake.capture_count(c.id.as_str()), 1);
}

#[tokio::test]
async fn pending_then_completed_by_webhook() {
    let (fake, pp) = setup().await;
    let c = pp
        .create_checkout(&req("t2", "20.00"))
        .await
        .expect("checkout");
    fake.approve(c.id.as_str());
    fake.script_next_capture(CaptureOutcome::Pending);
    let cap = pp
        .capture(&c.id, &key("t2:capture"))
        .await
        .expect("capture");
    assert_eq!((cap.status, cap.fee), (CaptureStatus::Pending, Money::ZERO));

    assert!(fake.complete_capture(cap.id.as_str()));
    let ev = fake.events().pop().expect("event");
    let event = pp.verify_webhook(&delivery(&ev)).await.expect("verified");
    match event.kind {
        WebhookKind::Capture(c2) => {
            assert_eq!(
                (c2.id, c2.status, c2.fee),
                (cap.id, CaptureStatus::Completed, money("1.19"))
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let st = pp.get_checkout(&c.id).await.expect("get");
    assert_eq!(st.capture.map(|c| c.status), Some(CaptureStatus::Completed));
}

#[tokio::test]
async fn declined_capture() {
    let (fake, pp) = setup().await;
    let c = pp
        .create_checkout(&req("t3", "5.00"))
        .await
        .expect("checkout");
    fake.approve(c.id.as_str());
    fake.script_next_capture(CaptureOutcome::Declined);
    let cap = pp
        .capture(&c.id, &key("t3:capture"))
        .await
        .expect("capture");
    assert_eq!(cap.status, CaptureStatus::Declined);
}

#[tokio::test]
async fn capture_retried_after_a_timeout_is_one_capture() {
    let (fake, pp) = setup().await;
    let c = pp
        .create_checkout(&req("t4", "10.00"))
        .await
        .expect("checkout");
    fake.approve(c.id.as_str());
    fake.delay_next(DelayedOp::Capture, Duration::from_millis(1500));
    let first = pp.capture(&c.id, &key("t4:capture")).await;
    assert!(matches!(&first, Err(e) if e.is_transient()), "{first:?}");
    let cap = pp.capture(&c.id, &key("t4:capture")).await.expect("retry");
    assert_eq!(cap.status, CaptureStatus::Completed);
    assert_eq!(fake.capture_count(c.id.as_str()), 1);

    // A 5xx is transient too, and changes nothing.
    let c = pp
        .create_checkout(&req("t5", "10.00"))
        .await
        .expect("checkout");
    fake.approve(c.id.as_str());
    fake.fail_next(DelayedOp::Capture);
    assert!(
        pp.capture(&c.id, &key("t5:capture"))
            .await
            .is_err_and(|e| e.is_transient())
    );
    assert_eq!(fake.capture_count(c.id.as_str()), 0);
}

#[tokio::test]
async fn an_expired_token_is_renewed() {
    let (fake, pp) = setup().await;
    pp.create_checkout(&req("t6", "1.00")).await.expect("first");
    fake.expire_tokens();
    pp.create_checkout(&req("t7", "1.00"))
        .await
        .expect("after expiry");
}

#[tokio::test]
async fn bad_credentials_are_permanent() {
    let fake = spawn(0).await.expect("fake");
    let pp = PayPal::new(
        Config {
            api_base: fake.base_url(),
            webhook_id: WEBHOOK_ID.into(),
            timeout: Duration::from_secs(2),
        },
        &Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: "wrong".into(),
        },
    )
    .expect("adapter");
    let e = pp
        .create_checkout(&req("x", "1.00"))
        .await
        .expect_err("refused");
    assert!(!e.is_transient(), "{e:?}");
}

fn payout(wid: &str) -> PayoutRequest {
    PayoutRequest {
        withdrawal: WithdrawalId::new(wid),
        amount: money("25.00"),
        receiver: EmailAddress::parse("paypal_email", "seller@example.com").expect("email"),
    }
}

#[tokio::test]
async fn payout_and_item_status_and_reused_batch_id() {
    let (fake, pp) = setup().await;
    let p = pp.send_payout(&payout("w1")).await.expect("payout");
    assert_eq!(p.status, PayoutStatus::Success);
    // The same withdrawal again: PayPal refuses the sender_batch_id, the
    // adapter reads the first batch; nothing is paid twice.
    assert_eq!(pp.send_payout(&payout("w1")).await, Ok(p.clone()));
    assert_eq!(fake.payout_count(), 1);

    let item = pp.get_payout_item(&p.item).await.expect("item");
    assert_eq!(
        (item.status, item.amount),
        (PayoutStatus::Success, money("25"))
    );
    assert_eq!(item.withdrawal, Some(WithdrawalId::new("w1")));
    assert_eq!(item.fee, Some(money("0.25")));

    fake.script_next_payout(PayoutOutcome::Unclaimed);
    let p2 = pp.send_payout(&payout("w2")).await.expect("payout");
    assert_eq!(p2.status, PayoutStatus::Unclaimed);
    assert!(fake.set_payout_item(p2.item.as_str(), PayoutOutcome::Returned));
    let item = pp.get_payout_item(&p2.item).await.expect("item");
    assert!(item.status.is_failure());
}

#[tokio::test]
async fn payout_retried_after_a_timeout_pays_once() {
    let (fake, pp) = setup().await;
    fake.delay_next(DelayedOp::Payout, Duration::from_millis(1500));
    let first = pp.send_payout(&payout("w3")).await;
    assert!(matches!(&first, Err(e) if e.is_transient()), "{first:?}");
    let p = pp.send_payout(&payout("w3")).await.expect("retry");
    assert_eq!(p.status, PayoutStatus::Success);
    assert_eq!(fake.payout_count(), 1);
}

#[tokio::test]
async fn webhook_verify_success_and_forged_failure() {
    let (fake, pp) = setup().await;
    let c = pp
        .create_checkout(&req("t8", "10.00"))
        .await
        .expect("checkout");
    fake.approve(c.id.as_str());
    let ev = fake.events().pop().expect("approved event");
    let got = pp.verify_webhook(&delivery(&ev)).await.expect("verified");
    assert_eq!(
        got.kind,
        WebhookKind::CheckoutApproved {
            checkout: c.id.clone()
        }
    );

    let mut forged = delivery(&ev);
    forged.body = ev.body.replace("10.00", "1000.00").into_bytes();
    assert_eq!(
        pp.verify_webhook(&forged).await,
        Err(PaymentError::Unverified)
    );
    let mut unsigned = delivery(&ev);
    unsigned
        .headers
        .retain(|(k, _)| k != "paypal-transmission-sig");
    assert_eq!(
        pp.verify_webhook(&unsigned).await,
        Err(PaymentError::Unverified)
    );
    let garbage = WebhookDelivery {
        headers: ev.headers.clone(),
        body: b"not json".to_vec(),
    };
    assert_eq!(
        pp.verify_webhook(&garbage).await,
        Err(PaymentError::Unverified)
    );

    // Refund and payout events read into their kinds.
    let cap = pp
        .capture(&c.id, &key("t8:capture"))
        .await
        .expect("capture");
    assert!(fake.refund_capture(cap.id.as_str()));
    let ev = fake.events().pop().expect("refund event");
    match pp
        .verify_webhook(&delivery(&ev))
        .await
        .expect("verified")
        .kind
    {
        WebhookKind::CaptureRefunded { capture, amount } => {
            assert_eq!((capture, amount), (cap.id.clone(), money("10")));
        }
        other => panic!("unexpected {other:?}"),
    }
    fake.script_next_payout(PayoutOutcome::Failed);
    let p = pp.send_payout(&payout("w9")).await.expect("payout");
    let ev = fake.events().pop().expect("payout event");
    match pp
        .verify_webhook(&delivery(&ev))
        .await
        .expect("verified")
        .kind
    {
        WebhookKind::PayoutItem(item) => {
            assert_eq!((item.id, item.status), (p.item, PayoutStatus::Failed));
        }
        other => panic!("unexpected {other:?}"),
    }
}
