#!/usr/bin/env bash
# Schemathesis against infra/openapi.yaml on the local server: every
# operation with generated and boundary inputs (its examples, coverage and
# fuzzing phases), as a user and, for /admin, as an operator. Fails on any
# server error (5xx) or any answer that does not match its schema.
#
# Usage: bash infra/schemathesis/run.sh
# Installs schemathesis (pinned) into a virtualenv under
# ${KHAMSA_CACHE:-$HOME/.cache/khamsa} on first use; later runs reuse it.
# One worker: two of them parse Python ASTs at once, which CPython 3.11
# can fail on ("AST constructor recursion depth mismatch").
# Knobs: KHAMSA_ST_EXAMPLES (cases per operation and phase, default 25),
#        KHAMSA_ST_SEED (default 1: the same cases every run).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

version=4.32.5
cache=${KHAMSA_CACHE:-${HOME:-/tmp}/.cache/khamsa}
venv=$cache/schemathesis-$version-venv
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
    echo "schemathesis: installing $version into $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

cargo build --locked -q -p khamsa-local --bin khamsa-local
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
PORT=$port "$repo/target/debug/khamsa-local" >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

base=http://127.0.0.1:$port
token() {
    python3 - "$base" "$1" "$2" <<'PY'
import json, sys, time, urllib.request
base, user, operator = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/health", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
body = json.dumps({"user": user, "operator": operator}).encode()
req = urllib.request.Request(base + "/dev/token", data=body, method="POST")
print(json.load(urllib.request.urlopen(req, timeout=5))["token"])
PY
}
user=$(token fuzzer false)
operator=$(token fuzz-operator true)

run() {
    local bearer=$1
    shift
    (cd "$work" && "$venv/bin/st" run "$repo/infra/openapi.yaml" --url "$base" \
        -H "Authorization: Bearer $bearer" \
        --checks not_a_server_error,response_schema_conformance \
        --phases examples,coverage,fuzzing \
        -n "${KHAMSA_ST_EXAMPLES:-25}" --seed "${KHAMSA_ST_SEED:-1}" --workers 1 \
        --warnings off --no-color "$@")
}
# The local server's own /dev routes move its clock and mint tokens: not
# part of the API.
run "$user" --exclude-path-regex '^/(dev|admin)/'
run "$operator" --include-path-regex '^/admin/'
