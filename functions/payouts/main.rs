//! `payouts`: the payouts queue consumer: each approved withdrawal sent to PayPal Payouts, keyed by its id, reporting partial batch failures.

use khamsa_functions::{Function, boot_worker};
use lambda_runtime::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Settings and the PayPal secret read once (a bad one stops here).
    let worker = boot_worker(Function::Payouts).await?;
    run(service_fn(|event| worker.payouts(event))).await
}
