//! `khamsa-local`: the whole marketplace on localhost, no AWS account
//! needed. `--port N` or `PORT` picks the port (default 8080).

use khamsa_domain::Config;
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
    let local = khamsa_local::Local::in_memory(&format!("http://{addr}"), Config::default());
    tracing::info!(%addr, "khamsa-local listening; try GET /health");
    khamsa_local::serve(listener, local).await;
    Ok(())
}

fn port_from(args: Vec<String>, env: Option<String>) -> u16 {
    let flag = args
        .windows(2)
        .find(|w| w[0] == "--port")
        .map(|w| w[1].clone());
    flag.or(env).and_then(|p| p.parse().ok()).unwrap_or(8080)
}
