//! A request whose `Host` is not a host name gets a 400 problem, and the
//! server goes on serving (lambda_http would panic building its URL).

use khamsa_local::{Backend, spawn_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn raw(addr: std::net::SocketAddr, host: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("the server accepts");
    let req = format!("GET /services HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .expect("the request is sent");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("an answer");
    out
}

#[tokio::test]
async fn a_malformed_host_is_a_400_problem_and_the_server_keeps_serving() {
    let running = spawn_with(0, Backend::Memory)
        .await
        .expect("the local server starts");
    let bad = raw(running.addr, "a b").await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    assert!(bad.contains("application/problem+json"), "{bad}");
    assert!(bad.contains("\"code\":\"invalid_host\""), "{bad}");
    let good = raw(running.addr, "localhost").await;
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
}
