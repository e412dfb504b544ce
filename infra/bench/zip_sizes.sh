#!/usr/bin/env bash
# Zipped size of every Lambda function binary, as SAM deploys it (one
# `bootstrap` per zip, `zip -9`), beside a bare `lambda_http` function built
# in the same run: the floor the budget (<= 3 MB per function) is read against.
#
# Usage: bash infra/bench/zip_sizes.sh [repo]     # default: this checkout
#        BINS="order notifier" bash infra/bench/zip_sizes.sh   # only these
# A benchmark, not a test: it needs release builds (fat LTO, several minutes
# on 2 cores). CARGO_TARGET_DIR is honoured, so two checkouts can share one
# release cache (e.g. to measure before and after a change).
# Prints a Markdown table: function, bytes, MiB, ratio to the floor.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "${1:-$here/../..}" && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The floor: a `lambda_http` hello with the workspace's release profile.
floor_src="$here/floor"
(cd "$floor_src" && CARGO_TARGET_DIR="$target/floor" cargo build --release --quiet)
bins=${BINS:-$(cd "$repo" && cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json,sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "khamsa-functions":
        print(" ".join(t["name"] for t in p["targets"] if "bin" in t["kind"]))')}
(cd "$repo" && CARGO_TARGET_DIR="$target" cargo build --release --quiet -p khamsa-functions $(printf -- '--bin %s ' $bins))

zipped() { # binary -> bytes of a zip holding it as `bootstrap`
  rm -rf "$work/z" && mkdir "$work/z" && cp "$1" "$work/z/bootstrap"
  (cd "$work/z" && zip -q -9 ../f.zip bootstrap && stat -c %s ../f.zip && rm ../f.zip)
}
floor=$(zipped "$target/floor/release/khamsa-bench-floor")
echo "| function | zip bytes | MiB | × floor |"
echo "| --- | ---: | ---: | ---: |"
printf '| (floor: bare lambda_http) | %d | %.2f | 1.00 |\n' "$floor" "$(echo "$floor/1048576" | bc -l)"
for b in $bins; do
  z=$(zipped "$target/release/$b")
  printf '| %s | %d | %.2f | %.2f |\n' "$b" "$z" "$(echo "$z/1048576" | bc -l)" "$(echo "$z/$floor" | bc -l)"
done
