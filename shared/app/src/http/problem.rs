//! Errors as `application/problem+json`, mapped from every layer's error
//! in this one place.

use crate::error::AppError;
use khamsa_domain::ErrorKind;
use serde_json::{Value, json};

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
        AppError::BadRequest { code, .. } => (400, code),
        AppError::IdempotencyKeyReused => (422, "idempotency_key_reused"),
        AppError::IdempotencyInProgress => (409, "idempotency_in_progress"),
        AppError::Busy => (409, "concurrent_update"),
        AppError::MethodNotAllowed => (405, "method_not_allowed"),
        AppError::Store(_) => (503, "unavailable"),
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
        _ => "Service Unavailable",
    }
}

pub fn problem(e: &AppError) -> (u16, Value) {
    let (status, code) = status_and_code(e);
    // Infrastructure details stay in the logs, not in the answer.
    let detail = match e {
        AppError::Store(_) => "the service is briefly unavailable; try again".to_owned(),
        other => other.to_string(),
    };
    let body = json!({
        "type": format!("https://khamsa.dev/problems/{code}"),
        "title": title(status),
        "status": status,
        "code": code,
        "detail": detail,
    });
    (status, body)
}
