#!/usr/bin/env bash
# The Lambda-level benchmark (issue 11), one command:
#   bash infra/bench/lambda.sh
# Builds release `order`, `deliver`, `orders` and the floor (a bare
# `lambda_http` hello), starts DynamoDB Local (infra/emulators), seeds a
# table, and runs each binary under a Lambda Runtime API stand-in with a
# small SQS/Secrets Manager stand-in (infra/bench/lambda.py): 20 cold
# starts and 2,000 warm events each, printed as a Markdown table with
# ratios to the floor of the same run.
# A benchmark, not a test (release builds, minutes on 2 cores); x86_64
# hosts only. Needs > 8 GB free disk; deletes target/release/incremental.
# Knobs: BENCH_COLD, BENCH_WARM, BENCH_WARMUP (see lambda.py).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ "$(uname -m)" = x86_64 ] || { echo "lambda.sh: x86_64 hosts only" >&2; exit 1; }
free_kb=$(df -Pk "$repo" | awk 'NR==2 {print $4}')
if [ "$free_kb" -lt $((8 * 1024 * 1024)) ]; then
  echo "lambda.sh: less than 8 GB free on $repo; not building" >&2; exit 1
fi
export CARGO_INCREMENTAL=0
target=${CARGO_TARGET_DIR:-$repo/target}
(cd "$repo" && cargo build --release --quiet -p khamsa-functions --bin order --bin deliver --bin orders)
(cd "$here/floor" && CARGO_TARGET_DIR="$target/floor" cargo build --release --quiet)
rm -rf "$target/release/incremental" "$target/floor/release/incremental"

# shellcheck disable=SC1090
source "$(bash "$repo/infra/emulators/up.sh")"
export KHAMSA_TABLE="bench-$(date +%s)"
seed=$(mktemp)
trap 'rm -f "$seed"' EXIT
warm=${BENCH_WARM:-2000} cold=${BENCH_COLD:-20} warmup=${BENCH_WARMUP:-50}
# Orders for `deliver` (one each) and `orders` to read.
(cd "$repo" && KHAMSA_BENCH_SEED="$seed" KHAMSA_BENCH_ORDERS=$((warm + cold + warmup + 10)) \
  KHAMSA_REQUIRE_EMULATORS=1 cargo test --quiet -p khamsa-aws --test bench_seed -- --ignored >&2)
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
python3 "$here/lambda.py" "$seed" \
  floor="$target/floor/release/khamsa-bench-floor" \
  order="$target/release/order" \
  deliver="$target/release/deliver" \
  orders="$target/release/orders"
