//! Which emulators this run has, and names that never meet another test's
//! on a shared, long-lived emulator.

use std::sync::atomic::{AtomicU32, Ordering};

/// DynamoDB Local's endpoint.
pub const DYNAMODB: &[&str] = &["AWS_ENDPOINT_URL_DYNAMODB"];
/// moto: SQS, SES, and its own API for what SES kept.
pub const MOTO: &[&str] = &[
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_SES",
    "KHAMSA_MOTO_URL",
];
/// Everything `infra/emulators/up.sh` starts.
pub const ALL: &[&str] = &[
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_SES",
    "KHAMSA_MOTO_URL",
];

/// Whether every variable in `vars` is set. When one is not, `test` is
/// skipped loudly (false), or fails under `KHAMSA_REQUIRE_EMULATORS=1`, so a
/// CI run can never pass by skipping.
pub fn emulators(test: &str, vars: &[&str]) -> bool {
    let missing: Vec<&str> = vars.iter().copied().filter(|v| !set(v)).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("KHAMSA_REQUIRE_EMULATORS").as_deref() != Ok("1"),
        "{test}: KHAMSA_REQUIRE_EMULATORS=1 but {missing:?} unset: \
         source \"$(bash infra/emulators/up.sh)\" first"
    );
    eprintln!(
        "\n!!!!!!!! SKIPPED {test}: the emulators are not configured ({missing:?} unset). \
         source \"$(bash infra/emulators/up.sh)\" to run it, or set \
         KHAMSA_REQUIRE_EMULATORS=1 to fail instead. !!!!!!!!\n"
    );
    false
}

pub(crate) fn set(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.trim().is_empty())
}

/// `{prefix}-{pid}-{nanos}-{n}`: unique across tests, processes and runs
/// (queues, tables and addresses in the emulators live as long as they do).
/// Letters, digits and `-` only: fit for a queue, a table, a user id and the
/// local part of an address.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
