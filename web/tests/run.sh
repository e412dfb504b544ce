#!/usr/bin/env bash
# The web client's browser tests (walk.mjs) in Debian's Chromium, driven by
# playwright-core (no browser download: playwright's own would not install
# on these machines). Installs what is missing, builds and starts
# khamsa-local on a free port, runs the walk-through in Arabic then English,
# and stops the server.
#
#   bash web/tests/run.sh                       # screenshots in target/web-tests
#   KHAMSA_UPDATE_SCREENSHOTS=1 bash web/tests/run.sh   # also copies them to docs/screenshots
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
die() { echo "web tests: $*" >&2; exit 1; }

if ! [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  echo "web tests: installing Debian's chromium and chromium-driver" >&2
  sudo_=""; [[ $(id -u) == 0 ]] || sudo_=sudo
  $sudo_ apt-get install -y -q chromium chromium-driver >/dev/null ||
    { $sudo_ apt-get update -q >/dev/null && $sudo_ apt-get install -y -q chromium chromium-driver >/dev/null; } ||
    die "cannot install chromium"
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed"

(cd "$repo" && cargo build --quiet --locked -p khamsa-local --bin khamsa-local) || die "cannot build khamsa-local"
target=$(cd "$repo" && cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out=${KHAMSA_WEB_OUT:-$target/web-tests}
rm -rf "$out" && mkdir -p "$out"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$out/khamsa-local.log"
KHAMSA_WEB_DIR="$repo/web" "$target/debug/khamsa-local" --port "$port" >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 1 100); do
  curl -sf "$base/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "khamsa-local exited"; }
  sleep 0.1
done

(cd "$here" && KHAMSA_URL=$base KHAMSA_WEB_OUT=$out timeout 300 node walk.mjs) ||
  { tail -n 40 "$log" >&2; die "failed (server log: $log)"; }

if [[ ${KHAMSA_UPDATE_SCREENSHOTS:-} == 1 ]]; then
  mkdir -p "$repo/docs/screenshots"
  cp "$out"/*.png "$repo/docs/screenshots/"
  echo "web tests: screenshots copied to docs/screenshots" >&2
fi
