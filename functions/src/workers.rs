//! The workers' handlers: an SQS batch or a schedule event in, the worker
//! cores of `khamsa_aws::workers` (the same the local server runs) called,
//! and the answer Lambda expects out.

use crate::Function;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use khamsa_app::App;
use khamsa_app::usecases::payouts;
use khamsa_aws::sqs::{SqsNotifier, SqsScheduler};
use khamsa_aws::workers::{self, QueueMessage};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use std::sync::Arc;

/// One worker function, built once per execution environment.
pub struct Worker {
    pub function: Function,
    pub app: App,
    pub scheduler: Option<Arc<SqsScheduler>>,
    pub notifier: Option<Arc<SqsNotifier>>,
}

/// The messages of a batch as the worker cores take them.
pub fn messages(event: SqsEvent) -> Vec<QueueMessage> {
    event
        .records
        .into_iter()
        .map(|r| QueueMessage {
            id: r.message_id.unwrap_or_default(),
            body: r.body.unwrap_or_default(),
        })
        .collect()
}

/// Names the messages to retry; the event source mapping has
/// `FunctionResponseTypes: [ReportBatchItemFailures]`, so SQS deletes the
/// rest and only these come back (then, after 5 receives, the DLQ).
pub fn batch_response(failed: Vec<String>) -> SqsBatchResponse {
    let mut r = SqsBatchResponse::default();
    r.set_failures(failed);
    r
}

impl Worker {
    /// Timers queue → auto-cancel, auto-complete, reminder, clearing.
    pub async fn timers(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let deadline = crate::budget::deadline(event.context.deadline);
        let msgs = messages(event.payload);
        let failed = workers::timers_batch_within(&self.app, &msgs, deadline).await;
        tracing::info!(received = msgs.len(), failed = failed.len(), "timers batch");
        Ok(batch_response(failed))
    }

    /// Notifications queue → SES.
    pub async fn notifier(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let deadline = crate::budget::deadline(event.context.deadline);
        let msgs = messages(event.payload);
        let app = &self.app;
        let failed = workers::notifier_batch_within(
            app.store.as_ref(),
            app.mailer.as_ref(),
            &app.public_url,
            &app.unsubscribe,
            app.clock.as_ref(),
            &msgs,
            deadline,
        )
        .await;
        tracing::info!(
            received = msgs.len(),
            failed = failed.len(),
            "notifications batch"
        );
        Ok(batch_response(failed))
    }

    /// The 5-minute schedule: queue timers coming due and unsent emails.
    /// A failed half fails the invocation, so the function's error alarm
    /// sees it; the next sweep tries again anyway.
    pub async fn sweeper(
        &self,
        event: LambdaEvent<EventBridgeEvent<Value>>,
    ) -> Result<Value, Error> {
        let (Some(scheduler), Some(notifier)) = (&self.scheduler, &self.notifier) else {
            return Err("the sweeper needs both queues".into());
        };
        tracing::debug!(event = event.payload.id.as_deref().unwrap_or("-"), "sweep");
        let work = async {
            let swept = workers::sweep(&self.app, scheduler, notifier.as_ref()).await;
            // The payouts poll runs even if the sweep half failed: it queues
            // the withdrawals the payouts worker should look at again.
            let polled = payouts::poll(&self.app).await;
            (swept, polled)
        };
        // Out of time: a failed invocation (its alarm sees it); whatever
        // was claimed but not queued is queued again once its marker lapses.
        let (swept, polled) = match crate::budget::remaining(event.context.deadline) {
            None => work.await,
            Some(left) => tokio::time::timeout(left, work)
                .await
                .map_err(|_| "the sweep ran out of time")?,
        };
        let (swept, polled) = (swept?, polled?);
        Ok(json!({ "timers": swept.timers, "outbox": swept.outbox, "payouts": polled }))
    }

    /// Payouts queue → PayPal Payouts. A transient failure is retried by
    /// SQS with the same `sender_batch_id`; after 5 receives the message
    /// goes to the DLQ and the withdrawal stays `approved` for the poll.
    pub async fn payouts(&self, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
        let deadline = crate::budget::deadline(event.context.deadline);
        let msgs = messages(event.payload);
        let failed = workers::payouts_batch_within(&self.app, &msgs, deadline).await;
        tracing::info!(
            received = msgs.len(),
            failed = failed.len(),
            "payouts batch"
        );
        Ok(batch_response(failed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_response_names_only_the_failures() {
        let v = serde_json::to_value(batch_response(vec!["m2".into()])).unwrap();
        assert_eq!(v, json!({"batchItemFailures": [{"itemIdentifier": "m2"}]}));
        let v = serde_json::to_value(batch_response(vec![])).unwrap();
        assert_eq!(v, json!({"batchItemFailures": []}));
    }

    #[test]
    fn sqs_records_become_queue_messages() {
        let e: SqsEvent = serde_json::from_value(json!({"Records": [
            {"messageId": "m1", "body": "{}", "attributes": {}, "messageAttributes": {}}
        ]}))
        .unwrap();
        assert_eq!(
            messages(e),
            vec![QueueMessage {
                id: "m1".into(),
                body: "{}".into()
            }]
        );
    }
}
