//! The SES mailer, the SQS notifier and scheduler, and the queue workers,
//! against moto. Endpoints come from `AWS_ENDPOINT_URL_SQS`,
//! `AWS_ENDPOINT_URL_SES` and `KHAMSA_MOTO_URL`; without them a test is
//! skipped loudly, or fails when `KHAMSA_REQUIRE_EMULATORS=1`.
//!
//! moto is shared with other tests: every test uses its own queue names and
//! addresses, and none calls `/moto-api/reset`.

use aws_config::BehaviorVersion;
use aws_sdk_sqs::config::Region;
use aws_sdk_sqs::types::QueueAttributeName;
use khamsa_app::emails::{Lang, Recipient, render};
use khamsa_app::memory::{FixedClock, MemoryMailer, MemoryStore, OffsetClock, WakeScheduler};
use khamsa_app::ports::{
    Clock, Email, MailError, Mailer, Notifier, Payments, Scheduler, Store, UnitOfWork,
};
use khamsa_app::unsubscribe::Unsubscribe;
use khamsa_app::usecases::{accounts, outbox_rows};
use khamsa_app::{App, Ports};
use khamsa_aws::ses::{SesMailer, verify_identity};
use khamsa_aws::sqs::{SqsNotifier, SqsScheduler, ensure_queue};
use khamsa_aws::workers::{self, QueueMessage, Swept};
use khamsa_domain::ids::{OrderId, OutboxId, UserId};
use khamsa_domain::money::Money;
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::order::{Actor, OrderStatus, Timer, TimerKind};
use khamsa_domain::time::SECOND_MS;
use khamsa_domain::{Config, Timestamp};
use khamsa_testkit::aws::{moto_emails, sdk_config};
use khamsa_testkit::env::MOTO;
use khamsa_testkit::{
    Harness, T0, active_service, caller, emulators, funded_buyer, place, unique, wall_ms,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- set-up

struct Moto {
    sqs: aws_sdk_sqs::Client,
    ses: aws_sdk_ses::Client,
}

/// The moto clients, or `None` when moto is not configured (see
/// `khamsa_testkit::emulators`).
async fn moto(test: &str) -> Option<Moto> {
    if !emulators(test, MOTO) {
        return None;
    }
    let conf = sdk_config().await;
    Some(Moto {
        sqs: aws_sdk_sqs::Client::new(&conf),
        ses: aws_sdk_ses::Client::new(&conf),
    })
}

impl Moto {
    /// A new queue (and its dead-letter queue) named after `prefix`.
    async fn queue(&self, prefix: &str) -> String {
        ensure_queue(&self.sqs, &unique(prefix)).await.unwrap()
    }
}

/// A mailer with a freshly verified source address.
async fn mailer(moto: &Moto) -> SesMailer {
    let source = format!("{}@khamsa.test", unique("noreply"));
    verify_identity(&moto.ses, &source).await.unwrap();
    SesMailer::new(moto.ses.clone(), source)
}

fn app(
    store: Arc<MemoryStore>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    notifier: Arc<dyn Notifier>,
    scheduler: Arc<dyn Scheduler>,
) -> App {
    let ports = Ports {
        store,
        clock,
        mailer,
        notifier,
        scheduler,
        payments: Payments::none(),
    };
    App::new(ports, Config::default(), "http://khamsa.test")
}

fn completed_notice(to: &UserId, amount: Money) -> Notice {
    Notice {
        to: to.clone(),
        order_id: Some(OrderId::new("ord_1")),
        withdrawal_id: None,
        service_title: Some("شعار / Logo".into()),
        kind: NoticeKind::OrderCompleted {
            amount,
            by: Actor::System,
        },
    }
}

/// `notice`'s outbox row, written straight to the store (no notifier is
/// told), and the queue message that would carry it.
async fn unqueued_row(app: &App, notice: Notice) -> (OutboxId, QueueMessage) {
    let rows = outbox_rows(vec![notice], app.now());
    let id = rows[0].id.clone();
    let uow = UnitOfWork {
        outbox: rows,
        ..Default::default()
    };
    app.store.commit(uow).await.unwrap();
    let msg = QueueMessage {
        id: "m-1".into(),
        body: format!(r#"{{"outbox_id":"{id}"}}"#),
    };
    (id, msg)
}

/// Receives until `n` messages came or `within` passed.
async fn receive_n(
    moto: &Moto,
    url: &str,
    n: usize,
    within: Duration,
) -> Vec<(QueueMessage, String)> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < n && start.elapsed() < within {
        got.extend(workers::receive(&moto.sqs, url, 10, 1).await.unwrap());
    }
    got
}

fn now_ms() -> Timestamp {
    Timestamp(wall_ms())
}

// ---------------------------------------------------------------- SES

#[tokio::test]
async fn ses_mailer_sends_from_the_verified_source() {
    let Some(moto) = moto("ses_mailer_sends_from_the_verified_source").await else {
        return;
    };
    let mailer = mailer(&moto).await;
    let to = format!("{}@example.com", unique("buyer"));
    let r = render(
        &completed_notice(&UserId::new("u"), Money::from_cents(4250)),
        &Recipient {
            email: &to,
            display_name: "سارة",
            lang: Lang::Ar,
            unsubscribe: None,
        },
        "http://khamsa.test",
    )
    .unwrap();
    mailer
        .send(&Email {
            to: r.to.clone(),
            subject: r.subject.clone(),
            html: r.html,
            text: r.text,
            at: now_ms(),
            headers: vec![],
        })
        .await
        .unwrap();

    let sent = moto_emails(&[&to]).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["subject"], r.subject.as_str(), "UTF-8 subject kept");
    assert!(
        r.subject.contains("اكتمل"),
        "an Arabic subject: {}",
        r.subject
    );
    let body = sent[0]["body"].as_str().unwrap();
    assert!(body.contains("$42.50"), "amount in the HTML body: {body}");
    assert!(body.contains("dir=\"rtl\""), "right-to-left HTML: {body}");
}

/// A client whose endpoint refuses connections: any call fails with a
/// dispatch error, so a `Refused` proves no call was made.
fn dead_ses() -> aws_sdk_ses::Client {
    let conf = aws_sdk_ses::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_ses::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ses::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url("http://127.0.0.1:1")
        .retry_config(aws_sdk_ses::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_ses::Client::from_conf(conf)
}

#[tokio::test]
async fn cr_or_lf_in_a_header_is_refused_before_any_call() {
    let ok = Email {
        to: "a@example.com".into(),
        subject: "Order completed".into(),
        html: "<p>line\r\nbreaks are fine in bodies</p>".into(),
        text: "line\nbreak".into(),
        at: Timestamp(0),
        headers: vec![],
    };
    let mailer = SesMailer::new(dead_ses(), "noreply@khamsa.test");
    for bad in [
        Email {
            to: "a@example.com\r\nBcc: x@evil.test".into(),
            ..ok.clone()
        },
        Email {
            to: "a@example.com\n".into(),
            ..ok.clone()
        },
        Email {
            subject: "Hi\rBcc: x@evil.test".into(),
            ..ok.clone()
        },
        Email {
            subject: "Hi\nthere".into(),
            ..ok.clone()
        },
    ] {
        assert!(
            matches!(mailer.send(&bad).await, Err(MailError::Refused(_))),
            "{bad:?}"
        );
    }
    let bad_source = SesMailer::new(dead_ses(), "noreply@khamsa.test\r\nBcc: x@evil.test");
    assert!(matches!(
        bad_source.send(&ok).await,
        Err(MailError::Refused(_))
    ));
    // The clean email does reach for the network, and the error says why.
    match mailer.send(&ok).await {
        Err(MailError::Unavailable(detail)) => {
            eprintln!("unavailable: {detail}");
            assert!(detail.contains("dispatch failure"), "{detail}");
            assert!(
                detail.len() > "dispatch failure".len() + 10,
                "context kept: {detail}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// A row whose subject would carry a line break can never be sent: it is
/// marked done and not retried, so sweeps stop re-queuing it.
#[tokio::test]
async fn a_row_that_cannot_be_rendered_is_dropped_not_retried() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(T0));
    // Any SES call would fail and be reported: proof that none is made.
    let mailer = SesMailer::new(dead_ses(), "noreply@khamsa.test");
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build(),
    );
    let app = app(
        store.clone(),
        clock.clone(),
        Arc::new(MemoryMailer::new()),
        Arc::new(SqsNotifier::new(sqs, "unused")),
        Arc::new(WakeScheduler::default()),
    );
    let user = caller("seller");
    accounts::ensure_profile(&app, &user).await.unwrap();
    let notice = Notice {
        service_title: Some("Logo\r\nBcc: x@evil.test".into()),
        kind: NoticeKind::CompleteReminder {
            auto_complete_at: Timestamp(0),
        },
        ..completed_notice(&user.id, Money::dollars(1))
    };
    let (_, msg) = unqueued_row(&app, notice).await;
    let failed = workers::notifier_batch(
        store.as_ref(),
        &mailer,
        "http://t",
        &Unsubscribe::generated("http://t"),
        clock.as_ref(),
        &[msg],
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    assert!(store.unsent_outbox(10).await.unwrap().is_empty());
}

// ---------------------------------------------------------------- SQS

#[tokio::test]
async fn ensure_queue_sets_a_dead_letter_redrive_and_is_idempotent() {
    let Some(moto) = moto("ensure_queue_sets_a_dead_letter_redrive_and_is_idempotent").await else {
        return;
    };
    let name = unique("khamsa-q");
    let url = ensure_queue(&moto.sqs, &name).await.unwrap();
    assert_eq!(ensure_queue(&moto.sqs, &name).await.unwrap(), url);

    let attrs = moto
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    let policy = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
        .expect("a redrive policy");
    let policy: serde_json::Value = serde_json::from_str(policy).unwrap();
    let arn = policy["deadLetterTargetArn"].as_str().unwrap();
    assert!(arn.ends_with(&format!(":{name}-dlq")), "{arn}");
    // AWS answers a string, moto may keep the number we sent.
    let max = &policy["maxReceiveCount"];
    assert!(max == 5 || max == "5", "{policy}");

    // And it moves a message that keeps failing: five receives, then the DLQ.
    moto.sqs
        .send_message()
        .queue_url(&url)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    for n in 1..=5 {
        let got = moto
            .sqs
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        assert_eq!(got.messages().len(), 1, "receive {n}");
    }
    assert!(
        workers::receive(&moto.sqs, &url, 10, 1)
            .await
            .unwrap()
            .is_empty()
    );
    let dlq_url = moto
        .sqs
        .get_queue_url()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let parked = workers::receive(&moto.sqs, &dlq_url, 10, 1).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].0.body, "poison");
}

#[tokio::test]
async fn scheduler_delays_a_near_timer_and_leaves_a_far_one_to_the_sweeper() {
    let Some(moto) =
        moto("scheduler_delays_a_near_timer_and_leaves_a_far_one_to_the_sweeper").await
    else {
        return;
    };
    let url = moto.queue("khamsa-timers").await;
    let clock: Arc<dyn Clock> = Arc::new(OffsetClock::new());
    let scheduler = SqsScheduler::new(moto.sqs.clone(), &url, clock.clone());
    let now = clock.now();
    let near = Timer {
        order_id: OrderId::new("ord_near"),
        kind: TimerKind::AutoCancel,
        due: now.plus_ms(2 * SECOND_MS),
    };
    let far = Timer {
        order_id: OrderId::new("ord_far"),
        kind: TimerKind::AutoComplete,
        due: now.plus_ms(3_600 * SECOND_MS),
    };
    assert_eq!(
        scheduler
            .enqueue_timers(std::slice::from_ref(&far))
            .await
            .unwrap(),
        0
    );
    let sent_at = Instant::now();
    Scheduler::timers_set(&scheduler, &[near.clone(), far]).await;

    let early = workers::receive(&moto.sqs, &url, 10, 0).await.unwrap();
    assert!(early.is_empty(), "delayed, not visible yet: {early:?}");

    let got = receive_n(&moto, &url, 1, Duration::from_secs(8)).await;
    let waited = sent_at.elapsed();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        waited >= Duration::from_millis(1_500),
        "visible after {waited:?}"
    );
    let timer: Timer = serde_json::from_str(&got[0].0.body).unwrap();
    assert_eq!(timer, near);

    // Nothing else arrives: the far timer was never queued.
    workers::delete(&moto.sqs, &url, &[got[0].1.clone()])
        .await
        .unwrap();
    let rest = workers::receive(&moto.sqs, &url, 10, 2).await.unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

// ---------------------------------------------------------------- notifier

#[tokio::test]
async fn the_notifier_worker_sends_each_outbox_row_once() {
    let Some(moto) = moto("the_notifier_worker_sends_each_outbox_row_once").await else {
        return;
    };
    let url = moto.queue("khamsa-notify").await;
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(now_ms()));
    let mailer = Arc::new(mailer(&moto).await);
    let app = app(
        store.clone(),
        clock.clone(),
        mailer.clone(),
        Arc::new(SqsNotifier::new(moto.sqs.clone(), &url)),
        Arc::new(WakeScheduler::default()),
    );
    let user = caller(&unique("seller"));
    let to = user.email.clone().unwrap();
    accounts::ensure_profile(&app, &user).await.unwrap();

    let rows = outbox_rows(
        vec![completed_notice(&user.id, Money::from_cents(1234))],
        app.now(),
    );
    let row_id = rows[0].id.clone();
    app.commit(
        UnitOfWork {
            outbox: rows,
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();

    let got = receive_n(&moto, &url, 1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&got[0].0.body).unwrap();
    assert_eq!(body, serde_json::json!({ "outbox_id": row_id.as_str() }));
    let msg = got[0].0.clone();

    let handle = |msgs: &[QueueMessage]| {
        let app = app.clone();
        let msgs = msgs.to_vec();
        async move {
            workers::notifier_batch(
                app.store.as_ref(),
                app.mailer.as_ref(),
                &app.public_url,
                &app.unsubscribe,
                app.clock.as_ref(),
                &msgs,
            )
            .await
        }
    };
    assert!(handle(std::slice::from_ref(&msg)).await.is_empty());
    let sent = moto_emails(&[&to]).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0]["body"].as_str().unwrap().contains("$12.34"));
    assert!(
        store
            .outbox_row(&row_id)
            .await
            .unwrap()
            .unwrap()
            .sent_at
            .is_some()
    );

    // At-least-once: the same message again, even twice in one batch.
    assert!(handle(&[msg.clone(), msg.clone()]).await.is_empty());
    assert_eq!(moto_emails(&[&to]).await.len(), 1);

    // A body that can never succeed is dropped, not retried.
    let junk = [
        QueueMessage {
            id: "m-junk".into(),
            body: "not json".into(),
        },
        QueueMessage {
            id: "m-shape".into(),
            body: r#"{"outbox_id": 5}"#.into(),
        },
    ];
    assert!(handle(&junk).await.is_empty());
    workers::delete(&moto.sqs, &url, &[got[0].1.clone()])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_mail_failure_is_reported_and_the_retry_sends_it() {
    let Some(moto) = moto("a_mail_failure_is_reported_and_the_retry_sends_it").await else {
        return;
    };
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(now_ms()));
    let good = mailer(&moto).await;
    // moto rejects a source that was never verified, like SES.
    let bad = SesMailer::new(
        moto.ses.clone(),
        format!("{}@khamsa.test", unique("unverified")),
    );
    let app = app(
        store.clone(),
        clock.clone(),
        Arc::new(good.clone()),
        // Unused: this test commits through the store and delivers by hand.
        Arc::new(SqsNotifier::new(moto.sqs.clone(), "unused")),
        Arc::new(WakeScheduler::default()),
    );
    let user = caller(&unique("buyer"));
    let to = user.email.clone().unwrap();
    accounts::ensure_profile(&app, &user).await.unwrap();
    let (id, msg) = unqueued_row(&app, completed_notice(&user.id, Money::dollars(7))).await;

    let failed = workers::notifier_batch(
        store.as_ref(),
        &bad,
        "http://t",
        &Unsubscribe::generated("http://t"),
        clock.as_ref(),
        std::slice::from_ref(&msg),
    )
    .await;
    assert_eq!(failed, vec!["m-1".to_owned()]);
    assert!(
        store
            .outbox_row(&id)
            .await
            .unwrap()
            .unwrap()
            .sent_at
            .is_none()
    );
    assert!(moto_emails(&[&to]).await.is_empty());

    let failed = workers::notifier_batch(
        store.as_ref(),
        &good,
        "http://t",
        &Unsubscribe::generated("http://t"),
        clock.as_ref(),
        &[msg],
    )
    .await;
    assert!(failed.is_empty());
    assert_eq!(moto_emails(&[&to]).await.len(), 1);
}

#[tokio::test]
async fn the_sweeper_requeues_rows_left_unsent_after_a_minute() {
    let Some(moto) = moto("the_sweeper_requeues_rows_left_unsent_after_a_minute").await else {
        return;
    };
    let notify_url = moto.queue("khamsa-notify").await;
    let timers_url = moto.queue("khamsa-timers").await;
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(now_ms()));
    let notifier = Arc::new(SqsNotifier::new(moto.sqs.clone(), &notify_url));
    let scheduler = SqsScheduler::new(moto.sqs.clone(), &timers_url, clock.clone());
    let app = app(
        store.clone(),
        clock.clone(),
        Arc::new(mailer(&moto).await),
        notifier.clone(),
        Arc::new(scheduler.clone()),
    );
    let user = caller(&unique("seller"));
    let to = user.email.clone().unwrap();
    accounts::ensure_profile(&app, &user).await.unwrap();
    app.commit(
        UnitOfWork {
            outbox: outbox_rows(
                vec![completed_notice(&user.id, Money::dollars(3))],
                app.now(),
            ),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();

    // Fresh: the normal path's message is in flight; the sweeper keeps off.
    let swept = workers::sweep(&app, &scheduler, notifier.as_ref())
        .await
        .unwrap();
    assert_eq!(swept, Swept::default());
    clock.set(app.now().plus_ms(2 * 60 * SECOND_MS));
    let swept = workers::sweep(&app, &scheduler, notifier.as_ref())
        .await
        .unwrap();
    assert_eq!(
        swept,
        Swept {
            timers: 0,
            outbox: 1
        }
    );

    // Two messages for one row; draining both sends one email.
    let start = Instant::now();
    let mut handled = 0;
    while handled < 2 && start.elapsed() < Duration::from_secs(8) {
        handled += workers::drain_notifications(&moto.sqs, &notify_url, &app, 1)
            .await
            .unwrap();
    }
    assert_eq!(handled, 2);
    assert_eq!(moto_emails(&[&to]).await.len(), 1);
    assert!(
        workers::receive(&moto.sqs, &notify_url, 10, 0)
            .await
            .unwrap()
            .is_empty(),
        "deleted"
    );
    let swept = workers::sweep(&app, &scheduler, notifier.as_ref())
        .await
        .unwrap();
    assert_eq!(swept, Swept::default(), "nothing left to sweep");
}

// ---------------------------------------------------------------- timers

#[tokio::test]
async fn a_due_timer_fires_once_and_a_duplicate_changes_nothing() {
    let Some(moto) = moto("a_due_timer_fires_once_and_a_duplicate_changes_nothing").await else {
        return;
    };
    let url = moto.queue("khamsa-timers").await;
    let store = Arc::new(MemoryStore::new());
    let t0 = T0;
    // The harness's app (inline emails to a memory mailer), with the timers
    // going through SQS.
    let Harness {
        mut app,
        clock,
        mailer: mails,
    } = Harness::on(store.clone());
    let scheduler = SqsScheduler::new(moto.sqs.clone(), &url, clock.clone());
    app.scheduler = Arc::new(scheduler.clone());

    let sid = active_service(&app, &unique("seller"), "5").await;
    let buyer = funded_buyer(&app, &unique("buyer"), "20.00").await;
    let before = store.balances(&buyer.id).await.unwrap().balance;
    let order = place(&app, &buyer, &sid).await.unwrap();

    let placed = store.order(&order.id).await.unwrap().unwrap();

    // Days away: the scheduler left the auto-cancel to the sweeper.
    assert!(
        workers::receive(&moto.sqs, &url, 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let timers = store.due_timers(t0.plus_days(365), 10).await.unwrap();
    let timer = timers
        .iter()
        .find(|t| t.kind == TimerKind::AutoCancel)
        .expect("an auto-cancel timer")
        .clone();

    // Arriving before it is due (a skewed clock): retried, not applied.
    let early = QueueMessage {
        id: "m-early".into(),
        body: serde_json::to_string(&timer).unwrap(),
    };
    assert_eq!(
        workers::timers_batch(&app, &[early]).await,
        vec!["m-early".to_owned()]
    );
    assert_eq!(store.order(&order.id).await.unwrap().unwrap(), placed);

    // Due now: the sweep queues it with no delay.
    clock.set(timer.due);
    let notifier_for_sweep = SqsNotifier::new(moto.sqs.clone(), &url);
    let swept = workers::sweep(&app, &scheduler, &notifier_for_sweep)
        .await
        .unwrap();
    assert_eq!(swept.timers, 1);
    let got = receive_n(&moto, &url, 1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    let msg = got[0].0.clone();
    assert_eq!(serde_json::from_str::<Timer>(&msg.body).unwrap(), timer);

    assert!(
        workers::timers_batch(&app, std::slice::from_ref(&msg))
            .await
            .is_empty()
    );
    let cancelled = store.order(&order.id).await.unwrap().unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        store.balances(&buyer.id).await.unwrap().balance,
        before,
        "refunded"
    );
    let emails = mails.sent(None).len();
    assert!(emails >= 2, "both parties told");

    // The duplicate: nothing written, nothing sent.
    assert!(
        workers::timers_batch(&app, std::slice::from_ref(&msg))
            .await
            .is_empty()
    );
    assert_eq!(store.order(&order.id).await.unwrap().unwrap(), cancelled);
    assert_eq!(store.balances(&buyer.id).await.unwrap().balance, before);
    assert_eq!(mails.sent(None).len(), emails);
    assert!(
        store
            .due_timers(t0.plus_days(365), 10)
            .await
            .unwrap()
            .iter()
            .all(|t| t.order_id != order.id || t.kind == TimerKind::FilesExpire),
        "the order's timers are gone, but for its files' end, 90 days on"
    );

    // A body that is not a timer can never succeed: dropped.
    let junk = QueueMessage {
        id: "m-junk".into(),
        body: r#"{"order_id":"x"}"#.into(),
    };
    assert!(workers::timers_batch(&app, &[junk]).await.is_empty());
    workers::delete(&moto.sqs, &url, &[got[0].1.clone()])
        .await
        .unwrap();
}

/// The local server spawns its polling loops: their futures must be `Send`.
#[test]
fn the_drain_loops_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let client = aws_sdk_sqs::Client::from_conf(conf);
    let store = Arc::new(MemoryStore::new());
    let app = app(
        store,
        Arc::new(OffsetClock::new()),
        Arc::new(MemoryMailer::new()),
        Arc::new(SqsNotifier::new(client.clone(), "q")),
        Arc::new(WakeScheduler::default()),
    );
    assert_send(&workers::drain_notifications(&client, "q", &app, 0));
    assert_send(&workers::drain_timers(&client, "q", &app, 0));
}

// ------------------------------------------------ outbox and timer life cycle

/// SES refusals are sorted: one about this email (moto: a recipient with
/// no domain, `InvalidParameterValue`) is permanent; one about our own
/// sending set-up (an unverified source, `MessageRejected` naming it) or
/// the network is transient, retried with backoff.
#[tokio::test]
async fn ses_refusals_are_sorted_permanent_or_transient() {
    let Some(moto) = moto("ses_refusals_are_sorted_permanent_or_transient").await else {
        return;
    };
    let email = |to: &str| Email {
        to: to.into(),
        subject: "Order completed".into(),
        html: "<p>done</p>".into(),
        text: "done".into(),
        at: now_ms(),
        headers: vec![],
    };
    let good = mailer(&moto).await;
    match good.send(&email("nobody")).await {
        Err(MailError::Refused(detail)) => {
            assert!(detail.contains("InvalidParameterValue"), "{detail}")
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    let unverified = SesMailer::new(
        moto.ses.clone(),
        format!("{}@khamsa.test", unique("unverified")),
    );
    let to = format!("{}@example.com", unique("buyer"));
    match unverified.send(&email(&to)).await {
        Err(MailError::Unavailable(detail)) => {
            assert!(detail.contains("MessageRejected"), "{detail}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let dead = SesMailer::new(dead_ses(), "noreply@khamsa.test");
    assert!(matches!(
        dead.send(&email(&to)).await,
        Err(MailError::Unavailable(_))
    ));
    good.send(&email(&to)).await.unwrap();
    assert_eq!(moto_emails(&[&to]).await.len(), 1);
}

/// The sweeper queues each unsent row and each due timer once: later
/// sweeps leave them to their message until the queue marker lapses, and
/// a failed row is never queued again.
#[tokio::test]
async fn repeated_sweeps_queue_each_row_and_timer_once() {
    let Some(moto) = moto("repeated_sweeps_queue_each_row_and_timer_once").await else {
        return;
    };
    let notify_url = moto.queue("khamsa-notify").await;
    let timers_url = moto.queue("khamsa-timers").await;
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(now_ms()));
    let notifier = Arc::new(SqsNotifier::new(moto.sqs.clone(), &notify_url));
    let scheduler = SqsScheduler::new(moto.sqs.clone(), &timers_url, clock.clone());
    let app = app(
        store.clone(),
        clock.clone(),
        Arc::new(MemoryMailer::new()),
        notifier.clone(),
        Arc::new(scheduler.clone()),
    );
    let user = caller(&unique("seller"));
    accounts::ensure_profile(&app, &user).await.unwrap();
    let (kept, _) = unqueued_row(&app, completed_notice(&user.id, Money::dollars(3))).await;
    let (failed, _) = unqueued_row(&app, completed_notice(&user.id, Money::dollars(4))).await;
    store
        .outbox_attempt(&failed, 1, Some("refused: test".into()))
        .await
        .unwrap();
    let timer = Timer {
        order_id: OrderId::new(unique("ord")),
        kind: TimerKind::AutoCancel,
        due: app.now().plus_ms(60 * SECOND_MS),
    };
    store
        .commit(UnitOfWork {
            timers_set: vec![timer.clone()],
            ..Default::default()
        })
        .await
        .unwrap();

    clock.set(app.now().plus_ms(2 * 60 * SECOND_MS));
    let once = Swept {
        timers: 1,
        outbox: 1,
    };
    assert_eq!(
        workers::sweep(&app, &scheduler, notifier.as_ref())
            .await
            .unwrap(),
        once
    );
    for _ in 0..3 {
        assert_eq!(
            workers::sweep(&app, &scheduler, notifier.as_ref())
                .await
                .unwrap(),
            Swept::default(),
            "queued already"
        );
    }
    let notes = receive_n(&moto, &notify_url, 2, Duration::from_secs(3)).await;
    assert_eq!(
        notes.len(),
        1,
        "one message for the row, none for the failed one"
    );
    assert!(notes[0].0.body.contains(kept.as_str()));
    let timers = receive_n(&moto, &timers_url, 2, Duration::from_secs(3)).await;
    assert_eq!(timers.len(), 1);

    // Both messages lost (never handled): once the markers lapse, the next
    // sweep queues each again, once.
    clock.set(
        app.now()
            .plus_ms(khamsa_app::usecases::timers::TIMER_LEASE_MS + 60 * SECOND_MS),
    );
    assert_eq!(
        workers::sweep(&app, &scheduler, notifier.as_ref())
            .await
            .unwrap(),
        once
    );
    assert_eq!(
        workers::sweep(&app, &scheduler, notifier.as_ref())
            .await
            .unwrap(),
        Swept::default()
    );
}

/// A notifications batch with a poison row (refused for good) and a
/// transient failure: only the transient one is reported for retry, the
/// poison row is `failed` and the rest are sent.
#[tokio::test]
async fn a_poison_email_in_a_batch_is_failed_not_retried() {
    struct Picky(MemoryMailer);
    #[async_trait::async_trait]
    impl Mailer for Picky {
        async fn send(&self, email: &Email) -> Result<(), MailError> {
            if email.to.starts_with("poison") {
                return Err(MailError::Refused("MessageRejected".into()));
            }
            if email.to.starts_with("slow") {
                return Err(MailError::Unavailable("ThrottlingException".into()));
            }
            self.0.send(email).await
        }
    }
    let Harness { app, clock, .. } = Harness::on(Arc::new(MemoryStore::new()));
    let mut msgs = Vec::new();
    let mut ids = Vec::new();
    for (i, who) in ["poison", "slow", "fine"].iter().enumerate() {
        let user = caller(who);
        accounts::ensure_profile(&app, &user).await.unwrap();
        let (id, mut msg) = unqueued_row(&app, completed_notice(&user.id, Money::dollars(1))).await;
        msg.id = format!("m-{i}");
        msgs.push(msg);
        ids.push(id);
    }
    let mailer = Picky(MemoryMailer::new());
    let failed = workers::notifier_batch(
        app.store.as_ref(),
        &mailer,
        "http://t",
        &Unsubscribe::generated("http://t"),
        clock.as_ref(),
        &msgs,
    )
    .await;
    assert_eq!(failed, vec!["m-1".to_owned()]);
    let poison = app.store.outbox_entry(&ids[0]).await.unwrap().unwrap();
    assert!(poison.delivery.failure.is_some());
    assert_eq!(mailer.0.sent(None).len(), 1);
    let slow = app.store.outbox_entry(&ids[1]).await.unwrap().unwrap();
    assert_eq!((slow.delivery.attempts, slow.delivery.failure), (1, None));
}
