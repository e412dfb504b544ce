//! `timers`: the timers queue consumer (auto-cancel, auto-complete, reminder, clearing), reporting partial batch failures.

use khamsa_functions::{Function, boot_worker};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Settings read once (a bad one stops here), AWS clients built once.
    let worker = boot_worker(Function::Timers).await?;
    run(service_fn(|event| worker.timers(event))).await
}
