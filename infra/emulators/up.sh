#!/usr/bin/env bash
# Start the local AWS emulators that the adapters are proven against, and
# print the path of a file of `export` lines pointing the AWS SDKs at them:
#   - DynamoDB Local (Amazon's own jar, v1.25.x), taken from the npm package
#     amplify-dynamodb-simulator and run on the machine's Java (17+);
#   - moto's server (SQS and SES), in a virtualenv of its own.
#
# Usage:   source "$(bash infra/emulators/up.sh)"      # then run the tests
#          bash infra/emulators/down.sh                # stop them
#
# Idempotent and non-interactive (fine under CI=true with no stdin):
#   - downloads once into ${KHAMSA_CACHE:-$HOME/.cache/khamsa} (the jar, ~65 MB
#     unpacked, and the moto venv); later runs reuse the cache offline;
#   - keeps pids, ports, logs and the env file in
#     ${KHAMSA_EMULATORS_DIR:-<repo>/target/emulators}; if both emulators of a
#     previous run still answer they are reused, otherwise both are (re)started
#     on free loopback ports and survive this script (own session, nohup).
# Only the env file's path goes to stdout (its last and only line); all
# progress and errors go to stderr.
#
# Knobs: KHAMSA_DDB_NPM_VERSION (default 2.9.30 = DynamoDB Local 1.25.1),
#        KHAMSA_MOTO_SPEC (default 'moto[server]>=5.2.5'), JAVA (default java),
#        KHAMSA_DDB_JAVA_OPTS (extra JVM flags), KHAMSA_EMULATORS_TIMEOUT (60 s).
# Note: DynamoDB Local has no bind-address option; it listens on every
# interface (*:port), moto on 127.0.0.1 only.
set -euo pipefail

# Keep stdout clean for the caller's $(...): fd 3 is the real stdout, and
# everything else (ours and our tools') goes to stderr.
exec 3>&1 1>&2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${KHAMSA_CACHE:-${HOME:-/tmp}/.cache/khamsa}
state=${KHAMSA_EMULATORS_DIR:-$repo/target/emulators}
ddb_npm_version=${KHAMSA_DDB_NPM_VERSION:-2.9.30}
moto_spec=${KHAMSA_MOTO_SPEC:-'moto[server]>=5.2.5'}
moto_min=5.2.5
java=${JAVA:-java}
timeout=${KHAMSA_EMULATORS_TIMEOUT:-60}

ddb_dir=$cache/dynamodb-local-npm-$ddb_npm_version
ddb_emulator=$ddb_dir/package/emulator
ddb_jar=$ddb_emulator/DynamoDBLocal.jar
venv=$cache/moto-venv

say() { printf 'emulators: %s\n' "$*" >&2; }
die() { printf 'emulators: ERROR: %s\n' "$*" >&2; exit 1; }

for tool in curl python3 "$java"; do
  command -v "$tool" >/dev/null || die "'$tool' not found on PATH"
done

mkdir -p "$cache" "$state"

# Serialise concurrent runs (two test jobs calling up.sh at once). fd 9 is
# closed for the emulators we start, so they never hold the lock.
lock() {
  if command -v flock >/dev/null; then
    exec 9>"$1"
    flock -w 600 9 || die "could not lock $1 within 600 s"
  fi
}
unlock() { exec 9>&-; }

# ---------------------------------------------------------------- install ---
lock "$cache/.lock"

if [[ ! -f $ddb_jar ]]; then
  command -v npm >/dev/null || die "'npm' not found on PATH (needed once, to fetch DynamoDB Local)"
  say "fetching DynamoDB Local (npm amplify-dynamodb-simulator@$ddb_npm_version, ~56 MB) into $ddb_dir"
  tmp=$(mktemp -d "$cache/.ddb-download.XXXXXX")
  # npm pack fetches the tarball alone (no dependencies, no install scripts);
  # a throw-away npm cache keeps a second 56 MB copy out of ~/.npm.
  (cd "$tmp" && npm pack "amplify-dynamodb-simulator@$ddb_npm_version" \
      --silent --cache "$tmp/npm-cache" --no-update-notifier --no-fund --no-audit >/dev/null) \
    || { rm -rf "$tmp"; die "npm pack amplify-dynamodb-simulator@$ddb_npm_version failed"; }
  tgz=$tmp/amplify-dynamodb-simulator-$ddb_npm_version.tgz
  [[ -f $tgz ]] || { rm -rf "$tmp"; die "npm pack produced no $tgz"; }
  mkdir "$tmp/x"
  tar -xzf "$tgz" -C "$tmp/x" package/package.json package/emulator \
    || { rm -rf "$tmp"; die "could not extract $tgz"; }
  [[ -f $tmp/x/package/emulator/DynamoDBLocal.jar ]] \
    || { rm -rf "$tmp"; die "the npm package has no emulator/DynamoDBLocal.jar"; }
  rm -rf "$ddb_dir"
  mv "$tmp/x" "$ddb_dir"          # appears whole or not at all
  rm -rf "$tmp"
fi

# moto is usable when the venv's moto is >= $moto_min with its server extras.
moto_ok() {
  [[ -x $venv/bin/python && -x $venv/bin/moto_server && -f $venv/.khamsa-ok ]] || return 1
  "$venv/bin/python" - "$moto_min" <<'PY' 2>/dev/null
import sys, importlib.metadata as md
import moto, flask, flask_cors, boto3  # noqa: F401  (the server's extras)
def key(v):
    out = []
    for part in v.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit()) or "0"
        out.append(int(digits))
    return out
sys.exit(0 if key(md.version("moto")) >= key(sys.argv[1]) else 1)
PY
}

if ! moto_ok; then
  say "installing $moto_spec into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" \
    || die "python3 -m venv failed (on Debian's own python: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input "$moto_spec" \
    || { rm -rf "$venv"; die "pip install $moto_spec failed"; }
  touch "$venv/.khamsa-ok"
  moto_ok || die "moto in $venv is still not usable after install"
fi

unlock

# ------------------------------------------------------------------ start ---
lock "$state/.lock"

ddb_answers() {  # $1 = port
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X POST "http://127.0.0.1:$1/" \
        -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x' \
        -d '{}' 2>/dev/null) == 200 ]]
}
moto_answers() {  # $1 = port
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$1/moto-api/" 2>/dev/null) == 200 ]]
}

# alive NAME PATTERN: the pid in NAME.pid runs (not a zombie) and its command
# line contains PATTERN (guards against a recycled pid).
alive() {
  local pid
  pid=$(cat "$state/$1.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/stat ]] || return 1
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# spawn NAME PORT CMD...: start CMD detached (own session, SIGHUP ignored,
# cwd = state dir, stdin /dev/null, output to NAME.log) with every other
# inherited fd closed, so that no caller's pipe (the $(...) of
# `source "$(bash up.sh)"`, a CI log pipe, our lock) is held open by it.
spawn() {
  local name=$1 port=$2 pid
  shift 2
  pid=$(python3 - "$state" "$state/$name.log" nohup "$@" <<'PY'
import os, subprocess, sys
cwd, log, *cmd = sys.argv[1:]
with open(log, "wb") as out, open(os.devnull, "rb") as devnull:
    p = subprocess.Popen(cmd, cwd=cwd, stdin=devnull, stdout=out, stderr=subprocess.STDOUT,
                         close_fds=True, start_new_session=True)
print(p.pid)
PY
  ) || die "could not start $name"
  echo "$pid" >"$state/$name.pid"
  echo "$port" >"$state/$name.port"
}

port_of() { cat "$state/$1.port" 2>/dev/null || true; }

ddb_port=$(port_of dynamodb)
moto_port=$(port_of moto)
reuse=false
if [[ -n $ddb_port && -n $moto_port ]] \
   && alive dynamodb "-disableTelemetry -port $ddb_port " && alive moto "moto_server -H 127.0.0.1 -p $moto_port " \
   && ddb_answers "$ddb_port" && moto_answers "$moto_port"; then
  reuse=true
  say "reusing DynamoDB Local on :$ddb_port and moto on :$moto_port"
fi

if ! $reuse; then
  # Whatever is left of a previous run (one dead, one hung, ...) goes first.
  KHAMSA_EMULATORS_DIR=$state bash "$here/down.sh" >/dev/null 2>&1 || true

  # Two distinct free loopback ports, both held open while picking.
  read -r ddb_port moto_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
') || true
  [[ -n $ddb_port && -n $moto_port ]] || die "could not pick free ports"

  say "starting DynamoDB Local on :$ddb_port, moto on :$moto_port (logs in $state)"
  # shellcheck disable=SC2086  # KHAMSA_DDB_JAVA_OPTS is a list of words
  spawn dynamodb "$ddb_port" "$java" ${KHAMSA_DDB_JAVA_OPTS:-} \
    -Djava.library.path="$ddb_emulator/DynamoDBLocal_lib" -jar "$ddb_jar" \
    -inMemory -sharedDb -disableTelemetry -port "$ddb_port"
  spawn moto "$moto_port" "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port"

  # Wait for both to answer; fail fast if one dies.
  started=$SECONDS
  ddb_up=false moto_up=false
  while :; do
    $ddb_up || { ddb_answers "$ddb_port" && ddb_up=true; } || true
    $moto_up || { moto_answers "$moto_port" && moto_up=true; } || true
    $ddb_up && $moto_up && break
    fail=""
    $ddb_up || alive dynamodb "-disableTelemetry -port $ddb_port " || fail=dynamodb
    $moto_up || alive moto "moto_server -H 127.0.0.1 -p $moto_port " || fail=${fail:-moto}
    if [[ -z $fail ]] && (( SECONDS - started >= timeout )); then
      if $ddb_up; then fail=moto; else fail=dynamodb; fi
      reason="did not answer within ${timeout} s"
    else
      reason="exited during start-up"
    fi
    if [[ -n $fail ]]; then
      printf 'emulators: ERROR: %s %s; last lines of %s:\n' "$fail" "$reason" "$state/$fail.log" >&2
      tail -n 30 "$state/$fail.log" >&2 || true
      unlock
      KHAMSA_EMULATORS_DIR=$state bash "$here/down.sh" >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.2
  done
  say "both answer after $((SECONDS - started)) s"
fi

# The files bucket (moto's S3; shared by every run, since file keys carry
# their order's unique id). Creating it again is harmless.
files_bucket=${KHAMSA_FILES_BUCKET:-khamsa-local-files}
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X PUT "http://127.0.0.1:$moto_port/$files_bucket" || true)
[[ $code == 200 || $code == 409 ]] || die "could not create the S3 bucket $files_bucket on moto (HTTP $code)"

# AWS_DEFAULT_REGION too: boto3/botocore read it, not AWS_REGION.
tmp_env=$(mktemp "$state/.env.XXXXXX")
cat >"$tmp_env" <<EOF
# Written by infra/emulators/up.sh; stop with infra/emulators/down.sh.
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$moto_port
export AWS_ENDPOINT_URL_SES=http://127.0.0.1:$moto_port
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$moto_port
export KHAMSA_FILES_BUCKET=$files_bucket
export AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$moto_port
export KHAMSA_MOTO_URL=http://127.0.0.1:$moto_port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
EOF
chmod 644 "$tmp_env"
mv "$tmp_env" "$state/env"
unlock

printf '%s\n' "$state/env" >&3
