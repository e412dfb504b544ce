//! `notifier`: the notifications queue consumer: each outbox row rendered and sent with SES, reporting partial batch failures.

use khamsa_functions::{Function, boot_worker};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Settings read once (a bad one stops here), AWS clients built once.
    let worker = boot_worker(Function::Notifier).await?;
    run(service_fn(|event| worker.notifier(event))).await
}
