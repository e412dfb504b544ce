//! The application layer's errors. `khamsa_http::problem` maps them to HTTP in
//! one place.

use crate::ports::{CommitError, PaymentError, StoreError};
use khamsa_domain::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("sign in first: a valid bearer token is required")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this route is for operators only")]
    OperatorsOnly,
    #[error("verify your email address first: we only write to verified addresses")]
    EmailUnverified,
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("this Idempotency-Key was used with another request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still running")]
    IdempotencyInProgress,
    #[error("the resource changed while we worked on it; try again")]
    Busy,
    /// A file to attach whose bytes never reached storage.
    #[error("file {0} was never uploaded: PUT its bytes to its upload_url first")]
    FileNotUploaded(String),
    /// The file was deleted with its order's other files, kept
    /// `files_keep_days` after the order ended (product.md "Files").
    #[error("this file was deleted: an order's files are kept {0} days after it ends")]
    FileExpired(u32),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("store: {0}")]
    Store(StoreError),
    /// The payment provider could not be reached, or refused the call.
    #[error("payment provider: {0}")]
    Payment(PaymentError),
}

impl From<PaymentError> for AppError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::NotApproved => AppError::Domain(DomainError::TopupNotApproved),
            PaymentError::Unverified => {
                AppError::bad_request("invalid_webhook", "the webhook did not verify")
            }
            other => AppError::Payment(other),
        }
    }
}

impl AppError {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            detail: detail.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadCursor => {
                AppError::bad_request("invalid_cursor", "the cursor is not one we gave out")
            }
            other => AppError::Store(other),
        }
    }
}

impl From<CommitError> for AppError {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Conflict(_) => AppError::Busy,
            // The domain checked funds when it decided; a concurrent spend
            // got there first and the store's condition caught it. The use
            // case says what that means to the user (see `Outcome`).
            CommitError::Overdraft(_) => AppError::Busy,
            CommitError::IdempotencyExists => AppError::IdempotencyInProgress,
            CommitError::PaymentHold(_) => AppError::Domain(DomainError::PaymentHold),
            CommitError::Store(s) => AppError::Store(s),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
