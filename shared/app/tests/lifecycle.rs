//! The outbox and timer life cycle on the in-memory store (issue 9): a
//! poison email or a poison timer does not stall the others, permanent and
//! transient refusals are sorted, each row is claimed once per lease. The
//! same store promises are checked on DynamoDB by `store_contract.rs`, and
//! the SES sorting and the sweeper against moto by `sqs_ses.rs`.

use async_trait::async_trait;
use khamsa_app::memory::MemoryMailer;
use khamsa_app::ports::{Email, MailError, Mailer, OUTBOX_GRACE_MS, TimerFailure, UnitOfWork};
use khamsa_app::unsubscribe::Unsubscribe;
use khamsa_app::usecases::notify::{
    EMAIL_MAX_ATTEMPTS, NotifyError, claim_due_outbox, outbox_lease, send_outbox,
};
use khamsa_app::usecases::timers::{self, TIMER_MAX_ATTEMPTS};
use khamsa_app::usecases::{accounts, outbox_rows};
use khamsa_domain::ids::{OrderId, OutboxId, PostingId, UserId};
use khamsa_domain::ledger::{Account, Posting, PostingKind, PostingRef, Transfer};
use khamsa_domain::money::Money;
use khamsa_domain::notice::{Notice, NoticeKind};
use khamsa_domain::order::{Actor, OrderStatus, TimerKind};
use khamsa_testkit::{Harness, T0, active_service, caller, funded_buyer, harness, place};
use std::sync::Mutex;

fn notice(to: &UserId) -> Notice {
    Notice {
        to: to.clone(),
        order_id: Some(OrderId::new("ord_1")),
        withdrawal_id: None,
        service_title: Some("Logo".into()),
        kind: NoticeKind::OrderCompleted {
            amount: Money::dollars(4),
            by: Actor::System,
        },
    }
}

/// Refuses `poison@…` for good, answers `flaky@…` "unavailable" the first
/// `flaky` times, `down@…` always; sends the rest.
struct FakeMailer {
    flaky: Mutex<u32>,
    sent: MemoryMailer,
}

#[async_trait]
impl Mailer for FakeMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        if email.to.starts_with("poison@") {
            return Err(MailError::Refused(
                "MessageRejected: address blacklisted".into(),
            ));
        }
        if email.to.starts_with("down@") {
            return Err(MailError::Unavailable("Throttling".into()));
        }
        if email.to.starts_with("flaky@") {
            let mut left = self.flaky.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return Err(MailError::Unavailable("503".into()));
            }
        }
        self.sent.send(email).await
    }
}

#[tokio::test]
async fn a_poison_email_fails_for_good_and_the_others_go_out() {
    let Harness { app, .. } = harness();
    let store = app.store.as_ref();
    let mut ids = Vec::new();
    for who in ["poison", "flaky", "fine", "down"] {
        let user = caller(who);
        accounts::ensure_profile(&app, &user).await.unwrap();
        let rows = outbox_rows(vec![notice(&user.id)], T0);
        ids.push(rows[0].id.clone());
        // Straight to the store: no notifier is told, as if its message
        // were lost.
        store
            .commit(UnitOfWork {
                outbox: rows,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let [poison, flaky, fine, down] = <[OutboxId; 4]>::try_from(ids).unwrap();
    let mailer = FakeMailer {
        flaky: Mutex::new(1),
        sent: MemoryMailer::new(),
    };
    let send = |id: OutboxId| {
        let mailer = &mailer;
        async move {
            send_outbox(
                store,
                mailer,
                "http://t",
                &Unsubscribe::generated("http://t"),
                &id,
                T0,
            )
            .await
        }
    };

    // Permanent: failed at once, reason kept, not an error (not retried).
    assert_eq!(send(poison.clone()).await, Ok(false));
    let e = store.outbox_entry(&poison).await.unwrap().unwrap();
    assert_eq!(e.delivery.attempts, 1);
    assert!(
        e.delivery
            .failure
            .as_deref()
            .unwrap()
            .contains("MessageRejected"),
        "{e:?}"
    );
    assert_eq!(e.row.sent_at, None);
    // Transient: an error to retry, one attempt counted.
    assert!(matches!(
        send(flaky.clone()).await,
        Err(NotifyError::Mail(MailError::Unavailable(_)))
    ));
    assert_eq!(
        store
            .outbox_entry(&flaky)
            .await
            .unwrap()
            .unwrap()
            .delivery
            .attempts,
        1
    );
    // The poison row held up nothing.
    assert_eq!(send(fine.clone()).await, Ok(true));

    // The sweep's claim skips the failed and the sent rows, and the one
    // whose message is being retried (a transient failure holds it for a
    // lease), and claims each of the others once per lease.
    let now = T0.plus_ms(OUTBOX_GRACE_MS);
    assert_eq!(
        claim_due_outbox(store, now, 100).await.unwrap(),
        vec![down.clone()]
    );
    for _ in 0..3 {
        assert_eq!(claim_due_outbox(store, now, 100).await.unwrap(), vec![]);
    }
    let lapsed = outbox_lease(T0, 1);
    assert_eq!(
        claim_due_outbox(store, lapsed, 100).await.unwrap(),
        vec![flaky.clone()]
    );
    // The retry sends it; a second delivery sends nothing more.
    assert_eq!(send(flaky.clone()).await, Ok(true));
    assert_eq!(send(flaky.clone()).await, Ok(false));
    assert_eq!(
        send(poison.clone()).await,
        Ok(false),
        "a failed row stays failed"
    );
    assert_eq!(mailer.sent.sent(None).len(), 2);

    // A row that never gets through gives up after the limit, and is then
    // claimed no more.
    for n in 1..EMAIL_MAX_ATTEMPTS {
        assert!(send(down.clone()).await.is_err(), "attempt {n}");
    }
    assert_eq!(send(down.clone()).await, Ok(false));
    let e = store.outbox_entry(&down).await.unwrap().unwrap();
    assert_eq!(e.delivery.attempts, EMAIL_MAX_ATTEMPTS);
    assert!(
        e.delivery
            .failure
            .unwrap()
            .starts_with("gave up after 25 attempts")
    );
    let later = outbox_lease(now, EMAIL_MAX_ATTEMPTS).plus_days(1);
    assert_eq!(claim_due_outbox(store, later, 100).await.unwrap(), vec![]);
    assert!(store.unsent_outbox(100).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_poison_timer_is_parked_and_never_holds_up_the_others() {
    let Harness { app, clock, .. } = harness();
    let sid = active_service(&app, "seller", "5").await;
    let buyer = funded_buyer(&app, "buyer", "20.00").await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        let o = place(&app, &buyer, &sid).await.unwrap();
        orders.push(o);
    }
    // Poison the first: its escrow is emptied behind its back, so its
    // auto-cancel refund can never commit (never below zero).
    let poison = &orders[0];
    app.store
        .commit(UnitOfWork {
            postings: vec![Posting::new(
                PostingId::new("drain"),
                PostingKind::TopupReversed,
                T0,
                PostingRef {
                    order_id: Some(poison.id.clone()),
                    ..Default::default()
                },
                [Transfer {
                    debit: Account::Escrow {
                        order: poison.id.clone(),
                    },
                    credit: Account::External,
                    amount: poison.total,
                }],
            )],
            ..Default::default()
        })
        .await
        .unwrap();

    let later = T0.plus_days(30);
    clock.set(later);
    // One tick: the poison fails, the others are cancelled.
    timers::fire_due(&app, later).await.unwrap();
    for o in &orders[1..] {
        let o = app.store.order(&o.id).await.unwrap().unwrap();
        assert_eq!(o.status, OrderStatus::Cancelled);
    }
    let stuck = app.store.order(&poison.id).await.unwrap().unwrap();
    assert_ne!(stuck.status, OrderStatus::Cancelled);
    let queued = app.store.timers_to_queue(later, 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].timer.order_id, poison.id);
    assert_eq!(queued[0].attempts, 1);

    // Each later tick counts one more; at the limit it is parked: out of
    // the due lists, and the ticks go on without it.
    for _ in 1..TIMER_MAX_ATTEMPTS {
        timers::fire_due(&app, later).await.unwrap();
    }
    assert!(app.store.due_timers(later, 10).await.unwrap().is_empty());
    assert!(
        app.store
            .timers_to_queue(later, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(timers::fire_due(&app, later).await.unwrap(), 0);
    let timer = khamsa_domain::order::Timer {
        order_id: poison.id.clone(),
        kind: TimerKind::AutoCancel,
        due: queued[0].timer.due,
    };
    assert_eq!(
        app.store
            .timer_failed(&timer, TIMER_MAX_ATTEMPTS)
            .await
            .unwrap(),
        TimerFailure::Gone
    );
}

/// Answers "unknown" for `unsure@…` and sends the rest, counting every
/// call that could have reached SES.
struct UnsureMailer {
    calls: Mutex<u32>,
    sent: MemoryMailer,
}

#[async_trait]
impl Mailer for UnsureMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        *self.calls.lock().unwrap() += 1;
        if email.to.starts_with("unsure@") {
            return Err(MailError::Unknown("timeout after sending".into()));
        }
        self.sent.send(email).await
    }
}

#[tokio::test]
async fn an_unknown_outcome_fails_the_row_and_a_claimed_row_is_never_sent_twice() {
    use khamsa_app::usecases::notify::SENDING_LEASE_MS;
    let Harness { app, .. } = harness();
    let store = app.store.as_ref();
    let mut ids = Vec::new();
    for who in ["unsure", "held", "crashed"] {
        let user = caller(who);
        accounts::ensure_profile(&app, &user).await.unwrap();
        let rows = outbox_rows(vec![notice(&user.id)], T0);
        ids.push(rows[0].id.clone());
        store
            .commit(UnitOfWork {
                outbox: rows,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let [unsure, held, crashed] = <[OutboxId; 3]>::try_from(ids).unwrap();
    let mailer = UnsureMailer {
        calls: Mutex::new(0),
        sent: MemoryMailer::new(),
    };
    let calls = || *mailer.calls.lock().unwrap();

    // Unknown: failed at once with its reason, not an error (no retry),
    // counted once, and never sent again however often it is delivered.
    assert_eq!(
        send_outbox(
            store,
            &mailer,
            "http://t",
            &Unsubscribe::generated("http://t"),
            &unsure,
            T0
        )
        .await,
        Ok(false)
    );
    let e = store.outbox_entry(&unsure).await.unwrap().unwrap();
    let why = e.delivery.failure.clone().unwrap();
    assert!(why.starts_with("outcome unknown: "), "{why}");
    assert_eq!((e.delivery.attempts, e.delivery.sending_at), (1, None));
    for _ in 0..3 {
        assert_eq!(
            send_outbox(
                store,
                &mailer,
                "http://t",
                &Unsubscribe::generated("http://t"),
                &unsure,
                T0.plus_ms(1)
            )
            .await,
            Ok(false)
        );
    }
    assert_eq!(
        calls(),
        1,
        "one call for the unknown row, whatever comes after"
    );
    assert!(
        claim_due_outbox(store, T0.plus_ms(10 * OUTBOX_GRACE_MS), 10)
            .await
            .unwrap()
            .iter()
            .all(|id| *id != unsure)
    );

    // Held by another sender (its claim fresh): this one sends nothing and
    // leaves the row as it was.
    assert!(store.claim_send(&held, "someone-else", T0).await.unwrap());
    assert!(
        !store.claim_send(&held, "me", T0).await.unwrap(),
        "lost the claim"
    );
    assert_eq!(
        send_outbox(
            store,
            &mailer,
            "http://t",
            &Unsubscribe::generated("http://t"),
            &held,
            T0.plus_ms(1000)
        )
        .await,
        Ok(false)
    );
    let e = store.outbox_entry(&held).await.unwrap().unwrap();
    assert_eq!((e.delivery.failure, e.row.sent_at), (None, None));
    assert_eq!(calls(), 1);
    // The same token again (a retried claim write) still holds it.
    assert!(store.claim_send(&held, "someone-else", T0).await.unwrap());

    // A claim older than the lease: its sender died mid-send. Failed as
    // unknown, not sent.
    assert!(store.claim_send(&crashed, "dead", T0).await.unwrap());
    let later = T0.plus_ms(SENDING_LEASE_MS);
    assert_eq!(
        send_outbox(
            store,
            &mailer,
            "http://t",
            &Unsubscribe::generated("http://t"),
            &crashed,
            later
        )
        .await,
        Ok(false)
    );
    let e = store.outbox_entry(&crashed).await.unwrap().unwrap();
    assert!(
        e.delivery
            .failure
            .as_deref()
            .is_some_and(|f| f.starts_with("outcome unknown: ")),
        "{e:?}"
    );
    assert_eq!(calls(), 1, "the crashed row was not sent again");
    assert!(mailer.sent.sent(None).is_empty());
}

/// An object store whose deletes fail while `down` is set; records what
/// it deleted.
#[derive(Default)]
struct FlakyFiles {
    down: Mutex<bool>,
    deleted: Mutex<Vec<String>>,
}

#[async_trait]
impl khamsa_app::ports::FileUrls for FlakyFiles {
    async fn upload_url(
        &self,
        key: &str,
        _: &str,
        _: u64,
        _: khamsa_domain::Timestamp,
        _: khamsa_domain::Timestamp,
    ) -> khamsa_app::ports::StoreResult<String> {
        Ok(format!("http://files/{key}"))
    }
    async fn download_url(
        &self,
        key: &str,
        _: &str,
        _: khamsa_domain::Timestamp,
        _: khamsa_domain::Timestamp,
    ) -> khamsa_app::ports::StoreResult<String> {
        Ok(format!("http://files/{key}"))
    }
    async fn tag(&self, _: &str, _: bool) -> khamsa_app::ports::StoreResult<bool> {
        Ok(true)
    }
    async fn delete(&self, key: &str) -> khamsa_app::ports::StoreResult<()> {
        if *self.down.lock().unwrap() {
            return Err(khamsa_app::ports::StoreError::Unavailable("S3 503".into()));
        }
        self.deleted.lock().unwrap().push(key.to_owned());
        Ok(())
    }
}

#[tokio::test]
async fn an_ended_orders_files_are_deleted_before_they_are_marked_and_a_failure_is_retried() {
    use khamsa_app::ports::Write;
    use khamsa_domain::file::{Attachment, FileRecord};
    use khamsa_domain::ids::FileId;
    let Harness { app, clock, .. } = harness();
    let files = std::sync::Arc::new(FlakyFiles::default());
    let app = app.with_files(files.clone());
    let sid = active_service(&app, "seller", "5").await;
    let buyer = funded_buyer(&app, "buyer", "20.00").await;
    let order = place(&app, &buyer, &sid).await.unwrap();
    // More files than one unit of work marks beside the order.
    let records: Vec<Write> = (0..85)
        .map(|i| {
            Write::File(FileRecord {
                id: FileId::new(format!("file_{i:03}")),
                order_id: order.id.clone(),
                owner_id: buyer.id.clone(),
                name: format!("{i}.png"),
                content_type: "image/png".into(),
                size: 3,
                created_at: T0,
                attached: Some(Attachment::Delivery(T0)),
                expired_at: None,
                version: 0,
            })
        })
        .collect();
    app.store
        .commit(UnitOfWork {
            writes: records,
            ..Default::default()
        })
        .await
        .unwrap();

    // It auto-cancels 3 days after its due date (day 6); its files go 90
    // days later. The deletes fail: nothing is marked, the timer stays.
    *files.down.lock().unwrap() = true;
    let later = T0.plus_days(200);
    clock.set(later);
    timers::fire_due(&app, later).await.unwrap();
    let o = app.store.order(&order.id).await.unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Cancelled);
    let ends = o.files_expire_at(&app.cfg).unwrap();
    assert_eq!(ends, o.cancelled_at.unwrap().plus_days(90));
    assert_eq!(o.files_expired_at, None);
    let stored = app.store.files(&order.id).await.unwrap();
    assert_eq!(stored.len(), 85);
    assert!(stored.iter().all(|f| f.expired_at.is_none()));
    let queued = app.store.timers_to_queue(later, 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].timer.kind, TimerKind::FilesExpire);
    assert_eq!(queued[0].attempts, 1);

    // Storage is back: every object is deleted, then the order and every
    // record are marked, as of the timer's due time.
    *files.down.lock().unwrap() = false;
    assert_eq!(timers::fire_due(&app, later).await.unwrap(), 1);
    let o = app.store.order(&order.id).await.unwrap().unwrap();
    assert_eq!(o.files_expired_at, Some(ends));
    let stored = app.store.files(&order.id).await.unwrap();
    assert!(stored.iter().all(|f| f.expired_at == Some(ends)));
    let mut deleted = files.deleted.lock().unwrap().clone();
    deleted.sort();
    let mut keys: Vec<String> = stored.iter().map(FileRecord::key).collect();
    keys.sort();
    assert_eq!(deleted, keys);
    // Nothing is left to fire.
    assert!(app.store.due_timers(later, 10).await.unwrap().is_empty());
    assert_eq!(timers::fire_due(&app, later).await.unwrap(), 0);
}
