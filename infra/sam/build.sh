#!/usr/bin/env bash
# The deploy build: every Lambda function as an arm64 `bootstrap`, in
# .aws-sam/build, ready for `sam deploy --config-file infra/samconfig.toml`.
#
# Usage: bash infra/sam/build.sh                 # all functions (the operator's path)
#        bash infra/sam/build.sh --check order   # one function, then check its artifact
#
# Installs what the build needs, once, into ${KHAMSA_CACHE:-$HOME/.cache/khamsa}:
#   - sam-venv: the SAM CLI (the very venv infra/sam/validate.sh makes, same
#     spec, same lock) plus cargo-lambda (pip; it brings zig, the cross
#     linker, as the `ziglang` package);
#   - the Rust target aarch64-unknown-linux-gnu (rustup).
# Idempotent and non-interactive; no AWS account or credentials needed.
#
# How it builds. template.yaml keeps `BuildMethod: rust-cargolambda`, so a
# bare `sam build` works too, but SAM builds the 14 functions one after the
# other (`cargo lambda build --release --arm64 --bin <name>` each), and with
# fat LTO every binary is a long single-threaded link. This script first runs
# the very same command once with every `--bin` (so cargo links two at a time
# on two cores, with the same package and feature selection, hence the same
# fingerprints), then `sam build`, whose per-function builds are then fresh
# and only copy. Measured in README.md ("Deploying to AWS").
#
# The arm64 release build has a target dir of its own, <target>/lambda-arm64,
# so it never invalidates the debug build the tests use.
#
# --check BIN: builds only BIN's function through the same path (cargo lambda,
# then `sam build <Function>` into <target>/lambda-arm64/sam-check) and fails
# unless its bootstrap is an ELF for aarch64 and zips (-9) to at most
# KHAMSA_ZIP_BUDGET bytes (default 3 MiB, the budget of README.md).
#
# Knobs: KHAMSA_SAM_SPEC ('aws-sam-cli==1.170.0'), KHAMSA_CARGO_LAMBDA_SPEC
# ('cargo-lambda==1.9.2'), PYTHON (python3), KHAMSA_SAM_PER_FUNCTION=1 (skip
# the one-run prebuild: SAM's own per-function builds, to measure them).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
budget=${KHAMSA_ZIP_BUDGET:-3145728}
triple=aarch64-unknown-linux-gnu

say() { printf 'build: %s\n' "$*" >&2; }
die() { printf 'build: ERROR: %s\n' "$*" >&2; exit 1; }

check=""
case "${1:-}" in
  "") ;;
  --check) check=${2:-}; [[ -n $check ]] || die "--check needs a binary name" ;;
  *) die "usage: $0 [--check BIN]" ;;
esac

for tool in cargo rustup zip; do
  command -v "$tool" >/dev/null || die "'$tool' not found on PATH"
done

# ---------------------------------------------------------------- install ---
# shellcheck source=infra/sam/venv.sh
source "$here/venv.sh"
sam_venv_install --with-cargo-lambda
if ! rustup target list --installed | grep -qx "$triple"; then
  say "rustup target add $triple (once)"
  rustup target add "$triple" >&2
fi

# Cargo-lambda finds zig through the venv's python (`python -m ziglang`).
export PATH=$venv/bin:$PATH
target=$(cd "$repo" && cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export CARGO_TARGET_DIR=$target/lambda-arm64

# (logical id, binary) of every function in template.yaml, in its order.
functions=$(python3 - "$repo/template.yaml" <<'PY'
import re, sys
logical = None
for line in open(sys.argv[1]):
    m = re.match(r"^  (\w+):\s*$", line)
    if m:
        logical = m.group(1)
    m = re.match(r"^        Binary:\s*(\S+)", line)
    if m and logical:
        print(logical, m.group(1))
PY
)
[[ -n $functions ]] || die "no function with BuildProperties.Binary in template.yaml"
if [[ -n $check ]]; then
  functions=$(awk -v b="$check" '$2 == b' <<<"$functions")
  [[ -n $functions ]] || die "no function builds the binary '$check'"
fi
bins=$(awk '{print $2}' <<<"$functions")
logicals=$(awk '{print $1}' <<<"$functions")

# ------------------------------------------------------------------ build ---
cd "$repo"
started=$SECONDS
if [[ ${KHAMSA_SAM_PER_FUNCTION:-0} != 1 ]]; then
  say "cargo lambda build --release --arm64 $(printf -- '--bin %s ' $bins)"
  # shellcheck disable=SC2046  # one --bin per word
  cargo lambda build --release --arm64 --locked $(printf -- '--bin %s ' $bins) >&2
  say "cargo lambda: $((SECONDS - started)) s"
fi
sam_args=(--config-file infra/samconfig.toml)
if [[ -n $check ]]; then
  build_dir=$CARGO_TARGET_DIR/sam-check
  sam_args+=(--build-dir "$build_dir")
else
  build_dir=$repo/.aws-sam/build
fi
sam_started=$SECONDS
# shellcheck disable=SC2086  # the logical ids, one per word
"$venv/bin/sam" build "${sam_args[@]}" $( [[ -n $check ]] && echo $logicals ) >&2
say "sam build: $((SECONDS - sam_started)) s; total $((SECONDS - started)) s"

# --------------------------------------------------------------- artifacts ---
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
printf '| function | bootstrap | zipped |\n| --- | ---: | ---: |\n'
while read -r logical bin; do
  boot=$build_dir/$logical/bootstrap
  [[ -f $boot ]] || die "$logical: no $boot"
  # e_ident: 0x7f 'E' 'L' 'F', class 2 (64-bit), data 1 (little-endian);
  # e_machine (offset 18, 2 bytes LE) 0xb7 = EM_AARCH64.
  magic=$(od -An -tx1 -N20 "$boot" | tr -d ' \n')
  if [[ ${magic:0:8} != 7f454c46 || ${magic:8:2} != 02 || ${magic:36:4} != b700 ]]; then
    say "$logical: $boot is not a 64-bit ELF for aarch64 (header $magic)"
    fail=1
  fi
  rm -f "$work/f.zip"
  (cd "$(dirname "$boot")" && zip -q -9 "$work/f.zip" bootstrap)
  raw=$(stat -c %s "$boot")
  zipped=$(stat -c %s "$work/f.zip")
  printf '| %s (`%s`) | %s B | %s B |\n' "$logical" "$bin" "$raw" "$zipped"
  if (( zipped > budget )); then
    say "$logical: zipped $zipped B is over the budget of $budget B"
    fail=1
  fi
done <<<"$functions"
(( fail == 0 )) || die "artifact check failed"
say "every artifact is an aarch64 ELF within $budget B zipped"
