//! `orders`: GET /orders/{id}, /me/purchases, /me/sales, /me/inbox, and the transitions instructions, receive and changes.

use khamsa_functions::{bin, boot_api};
use lambda_http::{Error, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // Settings read once (a bad one stops here), AWS clients built once.
    let api = boot_api::<bin::Orders>().await?;
    run(service_fn(|req| api.handle(req))).await
}
