//! `khamsa-local`: the whole marketplace on localhost, no AWS account
//! needed. `--port N` or `PORT` picks the port (default 8080);
//! `--backend aws` or `KHAMSA_BACKEND=aws` runs it on DynamoDB, SQS and SES
//! at the endpoints of the AWS environment (see the README).

use khamsa_local::Backend;
use khamsa_local::aws::AwsSettings;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if std::env::var("KHAMSA_LOG").as_deref() == Ok("json") {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let port = port_from(std::env::args().collect(), std::env::var("PORT").ok());
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let args: Vec<String> = std::env::args().collect();
    let backend = match flag(&args, "--backend")
        .or_else(|| std::env::var("KHAMSA_BACKEND").ok())
        .as_deref()
    {
        Some("aws") => Backend::Aws(AwsSettings::from_env()),
        Some("memory") | None => Backend::Memory,
        Some(other) => {
            return Err(std::io::Error::other(format!(
                "unknown backend {other:?}: memory or aws"
            )));
        }
    };
    tracing::info!(?backend, "starting");
    let local = khamsa_local::build(&format!("http://{addr}"), backend).await?;
    match &local.paypal {
        Some(fake) => tracing::info!(paypal = %fake.base_url(), "PayPal: the built-in fake"),
        None => tracing::info!("PayPal: the API named by PAYPAL_API_BASE"),
    }
    tracing::info!(%addr, "khamsa-local listening; try GET /health");
    khamsa_local::serve(listener, local).await;
    Ok(())
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

fn port_from(args: Vec<String>, env: Option<String>) -> u16 {
    flag(&args, "--port")
        .or(env)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080)
}
