//! Errors as `application/problem+json`, mapped from every layer's error
//! in this one place.

use khamsa_app::AppError;
use khamsa_domain::ErrorKind;
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

pub fn status_and_code(e: &AppError) -> (u16, &'static str) {
    match e {
        AppError::Domain(d) => (
            match d.kind() {
                ErrorKind::Malformed => 400,
                ErrorKind::Forbidden => 403,
                ErrorKind::NotFound => 404,
                ErrorKind::Conflict => 409,
                ErrorKind::Invalid => 422,
            },
            d.code(),
        ),
        AppError::Unauthorized => (401, "unauthorized"),
        AppError::NotFound(_) => (404, "not_found"),
        AppError::OperatorsOnly => (403, "operators_only"),
        AppError::EmailUnverified => (403, "email_unverified"),
        AppError::BadRequest { code, .. } => (400, code),
        AppError::IdempotencyKeyReused => (422, "idempotency_key_reused"),
        AppError::IdempotencyInProgress => (409, "idempotency_in_progress"),
        AppError::Busy => (409, "concurrent_update"),
        AppError::FileNotUploaded(_) => (409, "file_not_uploaded"),
        AppError::FileExpired(_) => (410, "file_expired"),
        AppError::MethodNotAllowed => (405, "method_not_allowed"),
        AppError::Store(_) => (503, "unavailable"),
        // A transient failure may be retried (same top-up, same key); a
        // refusal will not change.
        AppError::Payment(p) if p.is_transient() => (503, "payment_unavailable"),
        AppError::Payment(_) => (502, "payment_refused"),
    }
}

fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Content",
        502 => "Bad Gateway",
        _ => "Service Unavailable",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
}

pub fn problem(e: &AppError) -> Problem {
    let (status, code) = status_and_code(e);
    // Infrastructure details stay in the logs, not in the answer.
    let detail = match e {
        AppError::Store(_) => "the service is briefly unavailable; try again".to_owned(),
        AppError::Payment(p) if p.is_transient() => {
            "the payment provider is briefly unavailable; try again".to_owned()
        }
        other => other.to_string(),
    };
    Problem {
        kind: format!("https://khamsa.dev/problems/{code}"),
        title: title(status),
        status,
        code,
        detail,
    }
}
