//! The adapter's one error type. Everything ends up as a `StoreError` at the
//! port, but the detail is kept for the log.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use khamsa_app::ports::{CommitError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum DynamoError {
    /// A call to DynamoDB failed; `code` is the service's error code when
    /// there is one (`ThrottlingException`, `ValidationException`, ...).
    #[error("dynamodb {op} failed ({code}): {detail}")]
    Sdk {
        op: &'static str,
        code: String,
        detail: String,
    },
    /// An item read back does not have the shape this adapter writes.
    #[error("malformed item {key}: {reason}")]
    Malformed { key: String, reason: String },
    /// A value could not be turned into attributes.
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },
    /// A request could not be built (a missing required field).
    #[error("cannot build a {0} request: {1}")]
    Build(&'static str, String),
    /// `TransactWriteItems` takes at most 100 actions.
    #[error("a unit of work of {0} items is larger than one DynamoDB transaction (100)")]
    TooManyItems(usize),
    /// DynamoDB refuses two actions on one item in one transaction.
    #[error("item {0} is written twice in one unit of work")]
    SameItemTwice(String),
    /// Conflicts or throttling outlasted the retry budget.
    #[error("gave up after {0} attempts: {1}")]
    Exhausted(usize, String),
    #[error("table {0} is not active: {1}")]
    TableNotActive(String, String),
}

impl DynamoError {
    /// Logs an SDK error with its whole context, and keeps its code.
    pub(crate) fn sdk<E, R>(op: &'static str, e: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = e.code().unwrap_or("none").to_owned();
        let detail = DisplayErrorContext(e).to_string();
        tracing::warn!(op, %code, error = %detail, "dynamodb call failed");
        DynamoError::Sdk { op, code, detail }
    }

    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            DynamoError::Sdk { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn malformed(key: impl Into<String>, reason: impl ToString) -> Self {
        DynamoError::Malformed {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

impl From<DynamoError> for StoreError {
    fn from(e: DynamoError) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<DynamoError> for CommitError {
    fn from(e: DynamoError) -> Self {
        CommitError::Store(e.into())
    }
}
