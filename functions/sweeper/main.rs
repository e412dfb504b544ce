//! `sweeper`: every 5 minutes (EventBridge schedule), queues the timers coming due and the emails left unsent.

use khamsa_functions::{Function, boot_worker};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Settings read once (a bad one stops here), AWS clients built once.
    let worker = boot_worker(Function::Sweeper).await?;
    run(service_fn(|event| worker.sweeper(event))).await
}
