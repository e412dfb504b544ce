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

/// The emails moto's SES accepted for any of `to`: `{source, destinations,
/// subject, body}`, where `body` is the HTML part (moto keeps only that).
pub async fn moto_emails(to: &[&str]) -> Vec<serde_json::Value> {
    let data: serde_json::Value = reqwest::get(format!("{}/moto-api/data.json", moto_url()))
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto's data is JSON");
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|d| to.iter().any(|t| d == t)))
        })
        .collect()
}
