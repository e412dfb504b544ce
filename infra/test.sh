#!/usr/bin/env bash
# Every test of the project, from a fresh clone: formatting, lints, then the
# whole workspace's tests (domain rules, property tests, the in-memory
# adapters under concurrency, and the HTTP end-to-end suite, which starts
# the local server itself on a free port).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
