//! The deployment, proven without an AWS account:
//!
//! - `template`: template.yaml against the OpenAPI document and the
//!   function binaries — every route wired to exactly one function, the
//!   JWT authorizer on every route but the public GETs, each role granting
//!   only its function's actions, the settings every function reads;
//! - `lambdas`: each function binary run as Lambda runs it, against a
//!   Lambda Runtime API emulator (`runtime`) on loopback, handed real API
//!   Gateway v2, SQS and schedule events (`events/*.json`), on DynamoDB
//!   Local and moto.
//!
//! The binaries are built beforehand: `cargo build -p khamsa-functions`
//! (they live in another package, so Cargo does not build them for this
//! test). The test finds them beside its own executable.

mod lambdas;
mod runtime;
mod template;

use serde_yaml::Value as Yaml;
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_owned()
}

pub fn read_yaml(relative: &str) -> Yaml {
    let path = repo().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

pub fn fixture(name: &str) -> serde_json::Value {
    let path = repo().join("tests/deploy/events").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}
