//! SQS behind the `Notifier` and `Scheduler` ports, plus queue set-up.
//!
//! Both queues carry small JSON bodies: `{"outbox_id": "..."}` on the
//! notifications queue and a `Timer` on the timers queue. Every message is a
//! hint, never the only copy: the outbox row and the timer row are already
//! committed, and the sweeper re-sends whatever a failed send left behind.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use khamsa_app::ports::{Clock, Notifier, PayoutQueue, Scheduler, StoreError};
use khamsa_domain::Timestamp;
use khamsa_domain::ids::{OutboxId, WithdrawalId};
use khamsa_domain::order::Timer;
use khamsa_domain::time::SECOND_MS;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The errors of the SES and SQS adapters and the workers built on them.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// An SDK call failed; `detail` carries the whole error chain.
    #[error("{op} failed: {detail}")]
    Sdk { op: &'static str, detail: String },
    /// A batch call succeeded but some of its entries did not.
    #[error("{op}: {failed} entries failed, first: {detail}")]
    Partial {
        op: &'static str,
        failed: usize,
        detail: String,
    },
    /// AWS answered without something it always sends.
    #[error("{op}: unexpected answer: {detail}")]
    Unexpected { op: &'static str, detail: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Maps an SDK error to `AwsError::Sdk`, keeping its sources: a bare
/// `SdkError` displays only "service error".
pub(crate) fn sdk<E: std::error::Error>(op: &'static str) -> impl FnOnce(E) -> AwsError {
    move |e| AwsError::Sdk {
        op,
        detail: DisplayErrorContext(&e).to_string(),
    }
}

/// SQS delays a message by at most 900 seconds (15 minutes). Timers due
/// later stay in the store until a sweep brings them within reach.
pub const MAX_DELAY_SECONDS: i64 = 900;

/// How many receives before a message moves to the dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// SendMessageBatch and DeleteMessageBatch take at most 10 entries.
pub(crate) const BATCH: usize = 10;

/// The notifications queue's message body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub outbox_id: OutboxId,
}

/// Creates `<name>-dlq` and `<name>`, with a redrive policy moving a message
/// to the DLQ after `MAX_RECEIVE_COUNT` receives. Idempotent: attributes are
/// set separately because CreateQueue on an existing queue with different
/// attributes fails. Returns the main queue's URL. For local mode and tests;
/// in AWS the template declares the queues.
pub async fn ensure_queue(client: &Client, name: &str) -> Result<String, AwsError> {
    let dlq_url = create(client, &format!("{name}-dlq")).await?;
    client
        .set_queue_attributes()
        .queue_url(&dlq_url)
        // The maximum, 14 days: time for an operator to look.
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(sdk("SetQueueAttributes"))?;
    let attrs = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(sdk("GetQueueAttributes"))?;
    let dlq_arn = attrs
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .ok_or_else(|| AwsError::Unexpected {
            op: "GetQueueAttributes",
            detail: format!("no QueueArn for {dlq_url}"),
        })?;
    let url = create(client, name).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    });
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(sdk("SetQueueAttributes"))?;
    Ok(url)
}

async fn create(client: &Client, name: &str) -> Result<String, AwsError> {
    let out = client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(sdk("CreateQueue"))?;
    out.queue_url.ok_or_else(|| AwsError::Unexpected {
        op: "CreateQueue",
        detail: format!("no QueueUrl for {name}"),
    })
}

/// Sends `(body, delay seconds)` pairs in batches of 10. Keeps going past a
/// failed batch so one bad call does not strand the rest.
pub(crate) async fn send_all(
    client: &Client,
    queue_url: &str,
    messages: &[(String, i32)],
) -> Result<(), AwsError> {
    let mut failed = 0;
    let mut first: Option<String> = None;
    for chunk in messages.chunks(BATCH) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, (body, delay))| {
                SendMessageBatchRequestEntry::builder()
                    // Ids need only be unique within one batch.
                    .id(i.to_string())
                    .message_body(body)
                    .delay_seconds(*delay)
                    .build()
                    .map_err(sdk("SendMessageBatch"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        match client
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) => {
                for f in out.failed() {
                    failed += 1;
                    first.get_or_insert_with(|| {
                        format!("{}: {}", f.code(), f.message().unwrap_or_default())
                    });
                }
            }
            Err(e) => {
                failed += chunk.len();
                first.get_or_insert_with(|| DisplayErrorContext(&e).to_string());
            }
        }
    }
    match first {
        None => Ok(()),
        Some(detail) => Err(AwsError::Partial {
            op: "SendMessageBatch",
            failed,
            detail,
        }),
    }
}

/// Puts each new outbox row's id on the notifications queue.
#[derive(Clone)]
pub struct SqsNotifier {
    client: Client,
    queue_url: String,
}

impl SqsNotifier {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsNotifier {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// Like `outbox_written`, but says whether every id was queued.
    pub async fn enqueue(&self, ids: &[OutboxId]) -> Result<(), AwsError> {
        let messages = ids
            .iter()
            .map(|id| {
                let body = serde_json::to_string(&OutboxMessage {
                    outbox_id: id.clone(),
                })
                .expect("a struct of one string serializes");
                (body, 0)
            })
            .collect::<Vec<_>>();
        send_all(&self.client, &self.queue_url, &messages).await
    }
}

#[async_trait]
impl Notifier for SqsNotifier {
    async fn outbox_written(&self, ids: &[OutboxId]) {
        if let Err(e) = self.enqueue(ids).await {
            // Not raised: the rows are committed and the sweeper re-queues
            // unsent ones, so the caller's change must not fail for this.
            tracing::error!(error = %e, count = ids.len(), "outbox ids not queued");
        }
    }
}

/// A payouts queue message: one approved withdrawal to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutMessage {
    pub withdrawal_id: WithdrawalId,
}

/// Puts approved withdrawals on the payouts queue, for the payouts worker.
pub struct SqsPayoutQueue {
    client: Client,
    queue_url: String,
}

impl SqsPayoutQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsPayoutQueue {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub async fn enqueue(&self, ids: &[WithdrawalId]) -> Result<(), AwsError> {
        let messages = ids
            .iter()
            .map(|id| {
                let body = serde_json::to_string(&PayoutMessage {
                    withdrawal_id: id.clone(),
                })
                .expect("a struct of one string serializes");
                (body, 0)
            })
            .collect::<Vec<_>>();
        send_all(&self.client, &self.queue_url, &messages).await
    }
}

#[async_trait]
impl PayoutQueue for SqsPayoutQueue {
    async fn payouts_due(&self, ids: &[WithdrawalId]) {
        if let Err(e) = self.enqueue(ids).await {
            // Not raised: the withdrawal is committed `approved`, and the
            // poll sends any approved one left behind.
            tracing::error!(error = %e, count = ids.len(), "payouts not queued");
        }
    }
}

/// Puts timers due within SQS's delay limit on the timers queue.
#[derive(Clone)]
pub struct SqsScheduler {
    client: Client,
    queue_url: String,
    clock: Arc<dyn Clock>,
}

impl SqsScheduler {
    pub fn new(client: Client, queue_url: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        SqsScheduler {
            client,
            queue_url: queue_url.into(),
            clock,
        }
    }

    /// Queues every timer due within 15 minutes with `DelaySeconds` = the
    /// seconds until it is due, and returns how many it queued. Later ones
    /// are skipped: SQS caps a delay at 900 s, so they would arrive early;
    /// the sweeper queues them when they come within reach.
    pub async fn enqueue_timers(&self, timers: &[Timer]) -> Result<usize, AwsError> {
        let now = self.clock.now();
        let messages = timers
            .iter()
            .filter_map(|t| {
                let delay = delay_seconds(now, t.due)?;
                let body = serde_json::to_string(t).expect("a timer serializes");
                Some((body, delay))
            })
            .collect::<Vec<_>>();
        send_all(&self.client, &self.queue_url, &messages).await?;
        Ok(messages.len())
    }
}

/// Seconds from `now` until `due`, rounded up so the message never arrives
/// before the timer is due (the worker refuses early ones); 0 when already
/// due; `None` beyond SQS's 900-second limit.
pub fn delay_seconds(now: Timestamp, due: Timestamp) -> Option<i32> {
    // Non-negative, so unsigned `div_ceil` applies (the signed one is unstable).
    let ms = due.millis().saturating_sub(now.millis()).max(0) as u64;
    let secs = ms.div_ceil(SECOND_MS as u64) as i64;
    (secs <= MAX_DELAY_SECONDS).then_some(secs as i32)
}

#[async_trait]
impl Scheduler for SqsScheduler {
    async fn timers_set(&self, timers: &[Timer]) {
        if let Err(e) = self.enqueue_timers(timers).await {
            // The timer rows are committed; the next sweep queues them.
            tracing::error!(error = %e, count = timers.len(), "timers not queued");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_round_up_and_stop_at_fifteen_minutes() {
        let now = Timestamp(1_000_000);
        assert_eq!(delay_seconds(now, Timestamp(900_000)), Some(0));
        assert_eq!(delay_seconds(now, now), Some(0));
        assert_eq!(delay_seconds(now, now.plus_ms(1)), Some(1));
        assert_eq!(delay_seconds(now, now.plus_ms(2_000)), Some(2));
        assert_eq!(delay_seconds(now, now.plus_ms(2_001)), Some(3));
        assert_eq!(delay_seconds(now, now.plus_ms(900_000)), Some(900));
        assert_eq!(delay_seconds(now, now.plus_ms(900_001)), None);
    }
}
