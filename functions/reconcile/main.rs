//! `reconcile`: daily (EventBridge schedule), the ledger check on the
//! running totals. A violation is logged and counted in the
//! `LedgerViolations` metric, whose alarm mails the operators; a store
//! that cannot be read fails the invocation, and the errors alarm fires.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use khamsa_app::usecases::ledger_check;
use khamsa_functions::{Function, boot_worker};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let worker = boot_worker(Function::Reconcile).await?;
    let worker = &worker;
    run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<Value>>| async move {
            tracing::debug!(
                event = event.payload.id.as_deref().unwrap_or("-"),
                "reconcile"
            );
            let c = ledger_check::reconcile(&worker.app).await?;
            Ok::<Value, Error>(json!({
                "ok": c.violations.is_empty(),
                "violations": c.violations.len(),
            }))
        },
    ))
    .await
}
