//! The emulators' side: SDK settings that never reach for a real account,
//! a fresh DynamoDB Local table per test, and what moto's SES accepted.

use crate::env::{self, DYNAMODB};
use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use khamsa_aws::dynamo::DynamoStore;

/// The AWS environment's settings (endpoints included), with a region and
/// dummy credentials filled in where the shell has none: the emulators
/// take any.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = khamsa_aws::https::sdk_defaults();
    if !env::set("AWS_REGION") && !env::set("AWS_DEFAULT_REGION") {
        loader = loader.region(Region::new("us-east-1"));
    }
    if !env::set("AWS_ACCESS_KEY_ID") {
        loader = loader.credentials_provider(Credentials::new("test", "test", None, None, "test"));
    }
    loader.load().await
}

/// A table of its own for `test`, dropped by `drop_table` when the test
/// passes (a failed test leaves it in the emulator to look at).
pub struct TestTable {
    pub store: DynamoStore,
    client: aws_sdk_dynamodb::Client,
}

impl TestTable {
    /// `None` (after `env::emulators`' notice) without DynamoDB Local.
    pub async fn create(test: &str) -> Option<TestTable> {
        if !env::emulators(test, DYNAMODB) {
            return None;
        }
        let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
        let name: String = test.chars().take(60).collect();
        let store = DynamoStore::new(client.clone(), env::unique(&format!("khamsa-{name}")));
        store
            .create_table()
            .await
            .unwrap_or_else(|e| panic!("{test}: cannot create table {}: {e}", store.table()));
        // Idempotent: a second call on an existing table is fine.
        store
            .create_table()
            .await
            .unwrap_or_else(|e| panic!("{test}: create_table again: {e}"));
        Some(TestTable { store, client })
    }

    pub async fn drop_table(self) {
        let name = self.store.table().to_owned();
        if let Err(e) = self.client.delete_table().table_name(&name).send().await {
            eprintln!("could not delete table {name}: {e}");
        }
    }
}

/// moto's own address, from `KHAMSA_MOTO_URL`.
pub fn moto_url() -> String {
    std::env::var("KHAMSA_MOTO_URL")
        .expect("KHAMSA_MOTO_URL is set by infra/emulators/up.sh")
        .trim_end_matches('/')
        .to_owned()
}

/// moto's `GET /moto-api/data.json`: a dump of every model it holds,
/// built by walking its backends while other tests' requests change them.
/// Once in CI the answer was not JSON (the cause was not found: CI kept no
/// body, and a stress run here never saw it). Reading the dump changes
/// nothing, so a failed read is tried again; five failures in a row still
/// fail the test, with the status and body of the last.
pub async fn moto_data() -> serde_json::Value {
    let url = format!("{}/moto-api/data.json", moto_url());
    let mut last = String::new();
    for attempt in 0..5u64 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
        }
        let resp = reqwest::get(&url).await.expect("moto answers");
        let status = resp.status();
        let body = resp.text().await.expect("moto's data is read");
        match serde_json::from_str(&body) {
            Ok(data) if status.is_success() => return data,
            _ => last = format!("{status}: {}", body.chars().take(300).collect::<String>()),
        }
    }
    panic!("moto's data.json is not JSON after 5 tries; last answer {last}")
}

/// The emails moto's SES accepted for any of `to`: `{source, destinations,
/// subject, body, text, headers}`, where `body` is the HTML part. The
/// mailer sends raw MIME (`SendRawEmail`), which moto keeps as sent: it is
/// parsed here into the fields `SendEmail`'s record had.
pub async fn moto_emails(to: &[&str]) -> Vec<serde_json::Value> {
    let data = moto_data().await;
    // `SendEmail`'s record is under `Message`, `SendRawEmail`'s under
    // `RawMessage`: read both, oldest kind first.
    ["Message", "RawMessage"]
        .iter()
        .flat_map(|kind| data["ses"][kind].as_array().cloned().unwrap_or_default())
        .map(|m| match m["raw_data"].as_str().map(str::to_owned) {
            Some(raw) => {
                let mut parsed = parse_mime(&raw);
                parsed["source"] = m["source"].clone();
                // moto lists the `To` addresses it read from the message.
                parsed["destinations"] = serde_json::json!({ "ToAddresses": m["destinations"] });
                parsed
            }
            None => m,
        })
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|d| to.iter().any(|t| d == t)))
        })
        .collect()
}

/// Reads back the raw message the SES mailer builds: headers (unfolded,
/// RFC 2047 words decoded in `subject`) and the base64 text and HTML parts
/// of its `multipart/alternative`. Not a general MIME parser.
pub fn parse_mime(raw: &str) -> serde_json::Value {
    use base64::Engine;
    let b64 = |s: &str| {
        let clean: String = s.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(clean)
            .expect("base64");
        String::from_utf8(bytes).expect("UTF-8")
    };
    let headers_of = |head: &str| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(line);
                }
            } else if let Some((n, v)) = line.split_once(':') {
                out.push((n.to_owned(), v.trim().to_owned()));
            }
        }
        out
    };
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers, then a body");
    let headers = headers_of(head);
    let get = |h: &[(String, String)], name: &str| {
        h.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let subject = get(&headers, "subject").unwrap_or_default();
    let subject = if subject.starts_with("=?") {
        subject
            .split_whitespace()
            .map(|w| {
                b64(w
                    .strip_prefix("=?UTF-8?B?")
                    .and_then(|w| w.strip_suffix("?="))
                    .expect("a UTF-8 B word"))
            })
            .collect()
    } else {
        subject
    };
    let ctype = get(&headers, "content-type").unwrap_or_default();
    let boundary = ctype
        .split_once("boundary=\"")
        .and_then(|(_, b)| b.split_once('"'))
        .map(|(b, _)| b.to_owned())
        .expect("a multipart boundary");
    let (mut text, mut html) = (String::new(), String::new());
    for part in body.split(&format!("--{boundary}")) {
        let Some((ph, pb)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let ph = headers_of(ph.trim_start_matches("\r\n"));
        let ct = get(&ph, "content-type").unwrap_or_default();
        let decoded = if get(&ph, "content-transfer-encoding").as_deref() == Some("base64") {
            b64(pb)
        } else {
            pb.to_owned()
        };
        if ct.starts_with("text/plain") {
            text = decoded;
        } else if ct.starts_with("text/html") {
            html = decoded;
        }
    }
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::json!({
        "subject": subject,
        "body": html,
        "text": text,
        "headers": map,
    })
}
