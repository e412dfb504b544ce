//! The local server on DynamoDB, SQS and SES: the emulators here, or real
//! AWS with the usual AWS environment. Endpoints come from the SDK's own
//! settings (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`,
//! `AWS_ENDPOINT_URL_SES`, or `AWS_ENDPOINT_URL` for all), so nothing here
//! knows whether it talks to an emulator.

use async_trait::async_trait;
use khamsa_app::memory::MemoryMailer;
use khamsa_app::ports::{Email, MailError, Mailer};
use std::sync::Arc;

/// Names of what the server uses; created when missing (local mode only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    pub table: String,
    pub timers_queue: String,
    pub notifications_queue: String,
    /// The verified SES sender.
    pub ses_source: String,
    /// Where files go (`KHAMSA_FILES_BUCKET`): shared by every run, as
    /// file keys carry their order's unique id.
    pub files_bucket: String,
}

impl AwsSettings {
    /// `KHAMSA_TABLE`, `KHAMSA_TIMERS_QUEUE`, `KHAMSA_NOTIFICATIONS_QUEUE`,
    /// `KHAMSA_SES_SOURCE`, each with a local default.
    pub fn from_env() -> Self {
        let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
        AwsSettings {
            table: var("KHAMSA_TABLE", "khamsa-local"),
            timers_queue: var("KHAMSA_TIMERS_QUEUE", "khamsa-local-timers"),
            notifications_queue: var("KHAMSA_NOTIFICATIONS_QUEUE", "khamsa-local-notifications"),
            ses_source: var("KHAMSA_SES_SOURCE", "no-reply@khamsa.local"),
            files_bucket: var("KHAMSA_FILES_BUCKET", "khamsa-local-files"),
        }
    }

    /// Fresh names, so tests running side by side on one emulator never
    /// see each other's data (moto's reset would wipe everyone's).
    pub fn unique(prefix: &str) -> Self {
        // Wall time and 80 random bits: unique across processes and runs
        // against a long-lived emulator too.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let id = khamsa_app::ids::new_id(prefix, khamsa_domain::Timestamp(now)).replace('_', "-");
        AwsSettings {
            table: id.clone(),
            timers_queue: format!("{id}-timers"),
            notifications_queue: format!("{id}-notifications"),
            ses_source: "no-reply@khamsa.local".into(),
            files_bucket: std::env::var("KHAMSA_FILES_BUCKET")
                .unwrap_or_else(|_| "khamsa-local-files".into()),
        }
    }
}

/// Sends through the real mailer and keeps a copy of what it sent, so
/// `/dev/emails` answers the same in both modes.
pub struct RecordingMailer {
    pub inner: Arc<dyn Mailer>,
    pub record: Arc<MemoryMailer>,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        self.inner.send(email).await?;
        self.record.send(email).await
    }
}
