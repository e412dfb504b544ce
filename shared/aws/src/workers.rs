//! The queue workers' cores, free of any transport: the Lambda functions
//! turn an SQS event into `QueueMessage`s and the failed ids into a
//! `ReportBatchItemFailures` answer; the local server feeds them from
//! `receive` and deletes what succeeded (see `drain`).
//!
//! Both queues are at-least-once. A message that fails is retried by SQS
//! and, after `MAX_RECEIVE_COUNT` receives, parked in the dead-letter queue
//! (with an alarm). A message that can never succeed (a malformed body) is
//! logged and dropped instead of being retried five times.

use crate::sqs::{
    AwsError, BATCH, MAX_DELAY_SECONDS, OutboxMessage, PayoutMessage, SqsScheduler, sdk,
};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use khamsa_app::App;
use khamsa_app::ports::{
    Clock, Mailer, Notifier, Store, StoreError, TIMER_HORIZON_MS, TimerFailure,
};
use khamsa_app::unsubscribe::Unsubscribe;
use khamsa_app::usecases::notify::{self, NotifyError, send_outbox};
use khamsa_app::usecases::payouts;
use khamsa_app::usecases::timers::{self, Fired};
use khamsa_domain::Timestamp;
use khamsa_domain::order::Timer;
use khamsa_domain::time::SECOND_MS;

/// One message as the workers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The SQS message id: what a partial batch failure names.
    pub id: String,
    pub body: String,
}

/// A batch's time budget (the Lambda deadline less a margin): past it,
/// the message in hand is cut off and the rest are not started; all of
/// them are reported as failures, so SQS delivers them again. `None`: no
/// limit (the local server's loops).
pub type Deadline = Option<tokio::time::Instant>;

/// Runs `one` on each message in turn (it answers "retry?") within
/// `deadline`, and returns the ids to retry.
async fn each<'m, F, Fut>(msgs: &'m [QueueMessage], deadline: Deadline, mut one: F) -> Vec<String>
where
    F: FnMut(&'m QueueMessage) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut failed = Vec::new();
    for m in msgs {
        let retry = match deadline {
            None => one(m).await,
            Some(d) if tokio::time::Instant::now() >= d => true,
            Some(d) => tokio::time::timeout_at(d, one(m))
                .await
                .unwrap_or_else(|_| {
                    tracing::warn!(message = %m.id, "out of time; left for a retry");
                    true
                }),
        };
        if retry {
            failed.push(m.id.clone());
        }
    }
    failed
}

/// Sends the emails the notifications queue names. Returns the ids of the
/// messages to retry.
pub async fn notifier_batch(
    store: &dyn Store,
    mailer: &dyn Mailer,
    public_url: &str,
    unsubscribe: &Unsubscribe,
    clock: &dyn Clock,
    msgs: &[QueueMessage],
) -> Vec<String> {
    notifier_batch_within(store, mailer, public_url, unsubscribe, clock, msgs, None).await
}

/// [`notifier_batch`] within a time budget.
pub async fn notifier_batch_within(
    store: &dyn Store,
    mailer: &dyn Mailer,
    public_url: &str,
    unsubscribe: &Unsubscribe,
    clock: &dyn Clock,
    msgs: &[QueueMessage],
    deadline: Deadline,
) -> Vec<String> {
    // One at a time: a batch holding the same id twice then sends it once,
    // because the second sees the row marked sent.
    each(msgs, deadline, |m| async move {
        let Ok(OutboxMessage { outbox_id }) = serde_json::from_str(&m.body) else {
            tracing::error!(message = %m.id, body = %m.body, "malformed notification dropped");
            return false;
        };
        // A permanent refusal, or a row that cannot be rendered, is marked
        // `failed` by `send_outbox` and answers `Ok`: not retried.
        match send_outbox(
            store,
            mailer,
            public_url,
            unsubscribe,
            &outbox_id,
            clock.now(),
        )
        .await
        {
            Ok(sent) => {
                tracing::debug!(outbox = %outbox_id, sent, "notification handled");
                false
            }
            Err(e @ NotifyError::Render(_)) => {
                tracing::error!(outbox = %outbox_id, error = %e, "email dropped");
                false
            }
            Err(e) => {
                tracing::error!(outbox = %outbox_id, error = %e, "email not sent; will retry");
                true
            }
        }
    })
    .await
}

/// Applies the timers the timers queue delivers. Returns the ids of the
/// messages to retry.
pub async fn timers_batch(app: &App, msgs: &[QueueMessage]) -> Vec<String> {
    timers_batch_within(app, msgs, None).await
}

/// [`timers_batch`] within a time budget.
pub async fn timers_batch_within(
    app: &App,
    msgs: &[QueueMessage],
    deadline: Deadline,
) -> Vec<String> {
    each(msgs, deadline, |m| async move {
        let timer: Timer = match serde_json::from_str(&m.body) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(
                    message = %m.id, body = %m.body, error = %e,
                    "malformed timer dropped"
                );
                return false;
            }
        };
        // `fire` acts as of the timer's own due time, so an early message
        // would cancel or complete an order early. Delays are rounded up,
        // so this only happens when clocks disagree, by seconds. Reported as
        // a failure: SQS retries it after the visibility timeout (by then
        // due), with nothing to send. Not counted as a failed firing.
        let now = app.now();
        if timer.due > now {
            tracing::warn!(
                order = %timer.order_id,
                timer = %timer.kind,
                early_ms = timer.due.millis() - now.millis(),
                "timer arrived before it is due; will retry"
            );
            return true;
        }
        // A duplicate (a lost message re-queued after its marker lapsed)
        // finds the order moved on: `Fired::Stale`, nothing written.
        match timers::fire(app, &timer).await {
            Ok(Fired::Applied) => false,
            Ok(Fired::Stale) => {
                tracing::debug!(order = %timer.order_id, timer = %timer.kind, "stale timer");
                false
            }
            Err(e) => match timers::record_failure(app, &timer, &e).await {
                // Parked (or gone): retrying the message cannot help, and
                // the sweeper will not queue it again.
                Some(TimerFailure::Parked { .. } | TimerFailure::Gone) => false,
                Some(TimerFailure::Retry { .. }) | None => true,
            },
        }
    })
    .await
}

/// Advances the withdrawals the payouts queue names: sends an approved one
/// (keyed by its id at the provider, so a redelivered message never pays
/// twice) or reads a processing one back.
/// Returns the ids of the messages to retry: a transient provider or store
/// error. A permanent refusal is not retried: the withdrawal is `failed`.
pub async fn payouts_batch(app: &App, msgs: &[QueueMessage]) -> Vec<String> {
    payouts_batch_within(app, msgs, None).await
}

/// [`payouts_batch`] within a time budget. A payout cut off mid-send is
/// safe to retry: PayPal is called with the same `sender_batch_id`.
pub async fn payouts_batch_within(
    app: &App,
    msgs: &[QueueMessage],
    deadline: Deadline,
) -> Vec<String> {
    each(msgs, deadline, |m| async move {
        let Ok(PayoutMessage { withdrawal_id }) = serde_json::from_str(&m.body) else {
            tracing::error!(message = %m.id, body = %m.body, "malformed payout message dropped");
            return false;
        };
        match payouts::advance(app, &withdrawal_id).await {
            Ok(step) => {
                tracing::info!(withdrawal = %withdrawal_id, ?step, "payout handled");
                false
            }
            Err(e) => {
                tracing::warn!(withdrawal = %withdrawal_id, error = %e, "payout not sent; will retry");
                true
            }
        }
    })
    .await
}

/// At most this many timers and outbox rows per sweep; the rest wait for
/// the next one. Rows and timers already queued or failed are not read, so
/// they never take the place of new ones.
pub const SWEEP_LIMIT: usize = 500;

/// See [`khamsa_app::ports::OUTBOX_GRACE_MS`]: a new row is left to the
/// path that wrote it for a minute.
pub const OUTBOX_GRACE_MS: i64 = khamsa_app::ports::OUTBOX_GRACE_MS;

// The stores' queue horizon is SQS's delay limit.
const _: () = assert!(TIMER_HORIZON_MS == MAX_DELAY_SECONDS * SECOND_MS);

/// What a sweep queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub timers: usize,
    pub outbox: usize,
}

/// The scheduled sweeper: queues each timer due within the next 15
/// minutes (SQS's delay limit) with its delay, and each outbox row left
/// unsent, **once**: a queue marker set with a condition (`claim_timer`,
/// `claim_outbox`) keeps a row off later sweeps until the marker lapses
/// (the message lost, or every receive failed), so concurrent or repeated
/// sweeps never queue copies. Failed emails and parked timers are never
/// read. Both halves run even if one fails; the first error is returned,
/// so the invocation counts as failed.
pub async fn sweep(
    app: &App,
    scheduler: &SqsScheduler,
    notifier: &dyn Notifier,
) -> Result<Swept, AwsError> {
    let now = app.now();
    let mut swept = Swept::default();
    let mut first_err = None;

    match claim_due_timers(app, now).await {
        Ok(won) => match scheduler.enqueue_timers(&won).await {
            Ok(n) => swept.timers = n,
            Err(e) => first_err = Some(e),
        },
        Err(e) => first_err = Some(e.into()),
    }

    match notify::claim_due_outbox(app.store.as_ref(), now, SWEEP_LIMIT).await {
        Ok(ids) => {
            if !ids.is_empty() {
                notifier.outbox_written(&ids).await;
            }
            swept.outbox = ids.len();
        }
        Err(e) => {
            first_err.get_or_insert(e.into());
        }
    }

    // Top-ups past their time with no capture expire here (issue 8).
    // (Logged, not counted in `Swept`, whose shape tests pin.)
    match khamsa_app::usecases::topups::expire_due(app, now).await {
        Ok(n) => tracing::info!(topups_expired = n, "top-ups expired"),
        Err(e) => tracing::error!(error = %e, "expiring top-ups failed"),
    }

    tracing::info!(timers = swept.timers, outbox = swept.outbox, "swept");
    match first_err {
        None => Ok(swept),
        Some(e) => Err(e),
    }
}

/// Claims the timers a sweep may queue: each marked queued until its due
/// time (or now) + the lease, so the next sweeps leave it to its message.
async fn claim_due_timers(app: &App, now: Timestamp) -> Result<Vec<Timer>, StoreError> {
    let mut won = Vec::new();
    for e in app.store.timers_to_queue(now, SWEEP_LIMIT).await? {
        let until = e.timer.due.max(now).plus_ms(timers::TIMER_LEASE_MS);
        if app.store.claim_timer(&e, until).await? {
            won.push(e.timer);
        }
    }
    Ok(won)
}

/// Receives up to `max` (1 to 10) messages, long-polling up to
/// `wait_seconds` (0 to 20). Each comes with its receipt handle, which
/// `delete` needs.
pub async fn receive(
    client: &Client,
    queue_url: &str,
    max: i32,
    wait_seconds: i32,
) -> Result<Vec<(QueueMessage, String)>, AwsError> {
    let out = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max.clamp(1, 10))
        .wait_time_seconds(wait_seconds.clamp(0, 20))
        .send()
        .await
        .map_err(sdk("ReceiveMessage"))?;
    Ok(out
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| {
            let handle = m.receipt_handle?;
            Some((
                QueueMessage {
                    id: m.message_id.unwrap_or_default(),
                    body: m.body.unwrap_or_default(),
                },
                handle,
            ))
        })
        .collect())
}

/// Deletes handled messages, 10 per call.
pub async fn delete(
    client: &Client,
    queue_url: &str,
    receipt_handles: &[String],
) -> Result<(), AwsError> {
    let mut failed = 0;
    let mut first = None;
    for chunk in receipt_handles.chunks(BATCH) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, h)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
                    .map_err(sdk("DeleteMessageBatch"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = client
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(sdk("DeleteMessageBatch"))?;
        for f in out.failed() {
            failed += 1;
            first.get_or_insert_with(|| {
                format!("{}: {}", f.code(), f.message().unwrap_or_default())
            });
        }
    }
    match first {
        None => Ok(()),
        // An undeleted message comes back and is handled again: harmless.
        Some(detail) => Err(AwsError::Partial {
            op: "DeleteMessageBatch",
            failed,
            detail,
        }),
    }
}

/// One round of what the Lambda event source mapping does: receive up to
/// 10 messages, hand them to `handle`, delete all but the ones it reports
/// failed (those come back after the queue's visibility timeout). Returns
/// how many messages were received, so a polling loop knows when to back
/// off.
pub async fn drain<F, Fut>(
    client: &Client,
    queue_url: &str,
    wait_seconds: i32,
    handle: F,
) -> Result<usize, AwsError>
where
    F: FnOnce(Vec<QueueMessage>) -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    let received = receive(client, queue_url, 10, wait_seconds).await?;
    if received.is_empty() {
        return Ok(0);
    }
    let count = received.len();
    let (msgs, handles): (Vec<_>, Vec<_>) = received.into_iter().unzip();
    let ids: Vec<String> = msgs.iter().map(|m| m.id.clone()).collect();
    let failed = handle(msgs).await;
    let done: Vec<String> = ids
        .iter()
        .zip(handles)
        .filter(|(id, _)| !failed.contains(id))
        .map(|(_, h)| h)
        .collect();
    delete(client, queue_url, &done).await?;
    Ok(count)
}

/// `drain` over the notifications queue with the app's store, mailer and
/// clock: the local server's notifier loop.
pub async fn drain_notifications(
    client: &Client,
    queue_url: &str,
    app: &App,
    wait_seconds: i32,
) -> Result<usize, AwsError> {
    drain(client, queue_url, wait_seconds, |msgs| async move {
        notifier_batch(
            app.store.as_ref(),
            app.mailer.as_ref(),
            &app.public_url,
            &app.unsubscribe,
            app.clock.as_ref(),
            &msgs,
        )
        .await
    })
    .await
}

/// `drain` over the timers queue: the local server's timers loop.
pub async fn drain_timers(
    client: &Client,
    queue_url: &str,
    app: &App,
    wait_seconds: i32,
) -> Result<usize, AwsError> {
    drain(client, queue_url, wait_seconds, |msgs| async move {
        timers_batch(app, &msgs).await
    })
    .await
}
