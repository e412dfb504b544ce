#!/usr/bin/env bash
# Every test of the project, from a fresh clone:
#   1. formatting, lints, and `sam validate --lint` on template.yaml (the SAM
#      CLI is installed into a cached virtualenv on first use);
#   2. the emulators (DynamoDB Local, moto for SQS and SES), installed on
#      first use and started on free loopback ports by infra/emulators/up.sh,
#      stopped again on exit;
#   3. the whole workspace's tests: domain rules, property tests, the
#      in-memory and DynamoDB adapters under one contract suite and under
#      concurrency, the SQS/SES adapters and workers, and the HTTP
#      end-to-end suite on the in-memory default;
#      With the emulators, 3 also runs tests/faults: the life cycle with
#      DynamoDB Local and moto behind a fault proxy at 5% and 20% faults;
#   4. the HTTP end-to-end suite a second time, with the local server on the
#      emulators (timers through SQS, email through SES);
#   5. (inside 3) every Lambda binary started against a Runtime API emulator
#      and handed real API Gateway, SQS and schedule events, the template
#      checked against the OpenAPI document and each function's policy, and
#      the local server's authentication checked against every route's
#      authorizer in the template;
#   6. the deploy build: one function (`order`) built for arm64 the way
#      `sam build` builds them all (infra/sam/build.sh --check), its
#      bootstrap checked to be an aarch64 ELF within the zip budget;
#   7. infra/smoke.sh, the README's walk-through, against a local server
#      it starts on a free port;
#   8. schemathesis (pinned, in a cached virtualenv) against
#      infra/openapi.yaml on the local server: no 5xx, every answer in its
#      schema;
#   9. the web client's browser tests (web/tests/run.sh): the walk-through
#      clicked in Debian's Chromium, in Arabic and English, with screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
bash infra/sam/validate.sh
# First, while nothing else builds: its own arm64 target dir, cached.
bash infra/sam/build.sh --check order

trap 'bash infra/emulators/down.sh' EXIT
# shellcheck disable=SC1090
source "$(bash infra/emulators/up.sh)"
# Adapter tests fail, rather than skip, when an emulator is missing.
export KHAMSA_REQUIRE_EMULATORS=1

# The deploy tests run the function binaries, so build them first.
cargo build --locked -p khamsa-functions
cargo test --workspace --locked
KHAMSA_BACKEND=aws cargo test --locked -p khamsa-tests --test api
bash infra/smoke.sh --local
bash infra/schemathesis/run.sh
bash web/tests/run.sh
