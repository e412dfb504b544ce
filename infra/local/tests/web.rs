//! The web client on the local server: its files, `/config.json`, and page
//! paths that are also API routes (the links in emails) answering a
//! browser's navigation with the page and anything else with the API.

use khamsa_local::{Backend, spawn_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn raw(addr: std::net::SocketAddr, path: &str, headers: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("the server accepts");
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .expect("the request is sent");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("an answer");
    out
}

fn content_type(answer: &str) -> &str {
    answer
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or("")
}

#[tokio::test]
async fn pages_files_config_and_the_api_on_one_origin() {
    let running = spawn_with(0, Backend::Memory)
        .await
        .expect("the local server starts");
    let a = running.addr;
    const NAV: &str = "Sec-Fetch-Mode: navigate\r\nAccept: text/html,*/*\r\n";

    let home = raw(a, "/", NAV).await;
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(home.contains(r#"<html lang="ar" dir="rtl">"#), "{home}");

    let js = raw(a, "/js/app.js", "").await;
    assert!(js.starts_with("HTTP/1.1 200"), "{js}");
    assert_eq!(content_type(&js), "text/javascript; charset=utf-8");
    let css = raw(a, "/css/site.css", "").await;
    assert_eq!(content_type(&css), "text/css; charset=utf-8");

    let config = raw(a, "/config.json", "").await;
    assert_eq!(content_type(&config), "application/json");
    assert!(config.ends_with(r#"{"api":"","mode":"local"}"#), "{config}");

    // The email links: a page in a browser, the API's JSON to fetch() and curl.
    for path in ["/orders/ord_1", "/me/withdrawals"] {
        let page = raw(a, path, NAV).await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert_eq!(content_type(&page), "text/html; charset=utf-8");
        let api = raw(a, path, "Accept: application/json\r\n").await;
        assert!(api.starts_with("HTTP/1.1 401"), "{api}");
        assert_eq!(content_type(&api), "application/problem+json");
        let signed = raw(a, path, &format!("{NAV}Authorization: Bearer nope\r\n")).await;
        assert!(signed.starts_with("HTTP/1.1 401"), "{signed}");
    }
    // A public API route stays JSON for fetch().
    let list = raw(a, "/services", "").await;
    assert!(list.starts_with("HTTP/1.1 200"), "{list}");
    assert_eq!(content_type(&list), "application/json");

    // Nothing outside web/, encoded or not; an unknown path is the API's 404.
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/js/..%2f..%2fCargo.toml",
        "/nope.js",
    ] {
        let r = raw(a, path, "").await;
        assert!(!r.contains("[package]"), "{path}: {r}");
        assert!(r.starts_with("HTTP/1.1 4"), "{path}: {r}");
    }
}

/// The string literals that follow each `marker` in `src`.
fn literals_after(src: &str, marker: &str) -> Vec<String> {
    src.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = src[i + marker.len()..].trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_owned())
        })
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .collect()
}

fn rust_sources(dir: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir)
        .expect("a source directory")
        .flatten()
    {
        let p = entry.path();
        if p.is_dir() {
            rust_sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&p).expect("a source file"));
        }
    }
}

/// Every problem `code` the server can answer with (the domain's, the HTTP
/// edge's, every `bad_request`, the local server's own) has a sentence in
/// both languages in the web client.
#[test]
fn every_problem_code_has_an_arabic_and_an_english_sentence() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |p: &str| std::fs::read_to_string(repo.join(p)).expect(p);
    let mut codes = literals_after(&read("shared/domain/src/error.rs"), "=> ");
    let problem = read("shared/http/src/problem.rs");
    let table = &problem[..problem.find("fn title").expect("problem.rs has title()")];
    codes.extend(literals_after(table, ", "));
    let mut sources = Vec::new();
    for dir in ["shared", "infra/local/src"] {
        rust_sources(&repo.join(dir), &mut sources);
    }
    for src in &sources {
        codes.extend(literals_after(src, "bad_request("));
        codes.extend(literals_after(src, "\"code\": "));
    }
    codes.sort();
    codes.dedup();
    for known in [
        "insufficient_funds",
        "contact_details",
        "unauthorized",
        "invalid_host",
    ] {
        assert!(
            codes.iter().any(|c| c == known),
            "{known} not found in {codes:?}"
        );
    }
    let i18n = read("web/js/i18n.js");
    let problems = &i18n[i18n
        .find("export const problems")
        .expect("a problems table")..];
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| {
            !problems.contains(&format!("\n  {c}: ['"))
                && !problems.contains(&format!("\n  '{c}': ['"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no sentence in web/js/i18n.js for {missing:?}"
    );
}
