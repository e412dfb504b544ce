//! The test kit: what the test crates (khamsa-app's, khamsa-aws's, the
//! HTTP suite and the deploy suite) would otherwise each write again.
//!
//! - `harness`: an `App` on the in-memory adapters (or a given store) with
//!   a clock the test moves, callers, and `run` to commit an outcome;
//! - `counting`: a `Store` that counts its calls by method, for the
//!   request-count tests;
//! - `edge` (feature `http`): API Gateway events answered by the HTTP
//!   edge in-process, and a notifier that only queues;
//! - `env`: emulator discovery and names no other test or run uses;
//! - `rfc3339_ms`: the API's timestamps as milliseconds;
//! - `aws` (feature `aws`): SDK clients for the emulators, a fresh
//!   DynamoDB table per test, and the emails moto's SES kept;
//! - `faults` (feature `faults`): a proxy that drops, delays, fails or
//!   loses the answer of a share of the emulators' calls.

#[cfg(feature = "aws")]
pub mod aws;
pub mod counting;
#[cfg(feature = "http")]
pub mod edge;
pub mod env;
#[cfg(feature = "faults")]
pub mod faults;
pub mod harness;

pub use env::{emulators, unique};
pub use harness::*;

/// Milliseconds since the epoch of an RFC 3339 time such as
/// `2025-03-01T10:20:30.123Z` (what the API answers with).
#[track_caller]
pub fn rfc3339_ms(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time ({e}): {s}"));
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Wall time in milliseconds.
pub fn wall_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::rfc3339_ms;

    #[test]
    fn rfc3339_is_read_to_the_millisecond() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), 0);
        assert_eq!(rfc3339_ms("2025-03-01T10:20:30.123Z"), 1_740_824_430_123);
        assert_eq!(
            rfc3339_ms("2025-03-01T10:20:30.1239+00:00"),
            1_740_824_430_123
        );
        assert_eq!(rfc3339_ms("2024-02-29T00:00:00.5Z"), 1_709_164_800_500);
    }
}
