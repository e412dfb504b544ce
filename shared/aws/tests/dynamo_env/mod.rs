//! DynamoDB Local for the tests: a client from the environment, and a
//! fresh table per test.

#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use khamsa_aws::dynamo::DynamoStore;
use rand::Rng;

/// A client on `AWS_ENDPOINT_URL_DYNAMODB`, or `None` (the test is
/// skipped, loudly) when it is unset, unless `KHAMSA_REQUIRE_EMULATORS=1`,
/// in which case the test fails.
pub async fn client(test: &str) -> Option<aws_sdk_dynamodb::Client> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .ok()
        .filter(|e| !e.trim().is_empty());
    if endpoint.is_none() {
        assert!(
            std::env::var("KHAMSA_REQUIRE_EMULATORS").as_deref() != Ok("1"),
            "{test}: KHAMSA_REQUIRE_EMULATORS=1 but AWS_ENDPOINT_URL_DYNAMODB is not set; \
             start DynamoDB Local (infra/emulators/up.sh) and export its variables"
        );
        eprintln!(
            "\n!!!!!!!! {test}: skipped: no DynamoDB endpoint \
             (set AWS_ENDPOINT_URL_DYNAMODB to run it on DynamoDB Local) !!!!!!!!\n"
        );
        return None;
    }
    // `defaults` reads AWS_ENDPOINT_URL_DYNAMODB itself; the emulator takes
    // any credentials and region, so fill them in if the shell has none.
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        loader = loader.region(Region::new("us-east-1"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(Credentials::new("test", "test", None, None, "test"));
    }
    Some(aws_sdk_dynamodb::Client::new(&loader.load().await))
}

/// A store on a new, uniquely named table.
pub async fn dynamo_store(test: &str) -> Option<DynamoStore> {
    Some(table(test).await?.store)
}

/// A fresh table, dropped by `drop_table` when a test passes (a failed
/// test leaves its table in the emulator to look at).
pub struct TestTable {
    pub store: DynamoStore,
    client: aws_sdk_dynamodb::Client,
}

impl TestTable {
    pub async fn drop_table(self) {
        let name = self.store.table().to_owned();
        if let Err(e) = self.client.delete_table().table_name(&name).send().await {
            eprintln!("could not delete table {name}: {e}");
        }
    }
}

pub async fn table(test: &str) -> Option<TestTable> {
    let client = client(test).await?;
    let suffix: u32 = rand::rng().random();
    let name: String = test.chars().take(60).collect();
    let store = DynamoStore::new(client.clone(), format!("khamsa-{name}-{suffix:08x}"));
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
