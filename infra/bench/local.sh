#!/usr/bin/env bash
# The local server under load, beside a bare hyper server in the same run:
#   - GET /services with $SERVICES active services in the store;
#   - POST /orders, in 10-second slices until $ORDERS orders are placed, so
#     that a slowdown as the store grows shows slice by slice.
# Goals (issue 11): GET /services >= 50% of bare hyper's req/s;
# POST /orders >= 5,000 req/s held over 100,000 orders.
#
# Usage: bash infra/bench/local.sh [repo]
# Knobs: SERVICES (2000), ORDERS (100000), DURATION (10 s per GET run),
#        THREADS (2), CONNECTIONS (64), PROFILE (release; `fast` for
#        opt-level 3, see Cargo.toml; `dev` only to
#        check the script quickly: debug figures mean nothing).
#        CARGO_TARGET_DIR is honoured.
# A benchmark, not a test: it builds release binaries (fat LTO, minutes on
# 2 cores) and installs wrk from Debian's packages when it is missing.
# The servers log at warn, so the figures measure serving, not writing
# one log line per request to a terminal.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "${1:-$here/../..}" && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
services=${SERVICES:-2000}
orders=${ORDERS:-100000}
duration=${DURATION:-10}
threads=${THREADS:-2}
conns=${CONNECTIONS:-64}
profile=${PROFILE:-release}
out_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >&2
fi

echo "building ($profile)" >&2
(cd "$repo" && CARGO_TARGET_DIR="$target" cargo build --profile "$profile" --quiet -p khamsa-local)
(cd "$here/hyper-floor" && CARGO_TARGET_DIR="$target/hyper-floor" cargo build --profile "$profile" --quiet)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
floor_port=$(free_port)
PORT=$floor_port "$target/hyper-floor/$out_dir/khamsa-bench-hyper-floor" &
pids+=($!)
local_port=$(free_port)
RUST_LOG=warn "$target/$out_dir/khamsa-local" --port "$local_port" >/dev/null &
local_pid=$!
pids+=($local_pid)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$local_port/health" >/dev/null &&
    curl -sf "http://127.0.0.1:$floor_port/" >/dev/null && break
  sleep 0.1
done

# Seed: $services active services (the first one is ordered), and a buyer
# with money for every order at $5.
echo "seeding $services services" >&2
seed=$(python3 - "$local_port" "$services" "$orders" <<'PY'
import http.client, json, sys
port, services, orders = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port)
def call(method, path, body=None, token=None):
    h = {"content-type": "application/json"}
    if token: h["authorization"] = "Bearer " + token
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse(); data = r.read()
    if r.status >= 300: sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None
tok = lambda user, op=False: call("POST", "/dev/token", {"user": user, "operator": op})["token"]
seller, buyer, op = tok("bench-seller"), tok("bench-buyer"), tok("bench-ops", True)
first = None
for i in range(services):
    s = call("POST", "/services", {"title": f"Logo {i}", "description": "A logo in two days.",
             "category": ["design", "writing-translation", "programming"][i % 3], "price": "5.00", "delivery_days": 3}, seller)
    call("POST", f"/admin/services/{s['id']}/approve", None, op)
    first = first or s["id"]
# Enough for twice the orders and 100,000 more: the last 10 s slice
# overshoots $orders by as many as the server takes in 10 s.
for _ in range((2 * orders + 100_000) * 5 // 1000 + 1):
    call("POST", "/me/topups", {"amount": "1000.00", "method": "sandbox"}, buyer)
print(f"export SERVICE={first} TOKEN={buyer}")
PY
)
eval "$seed"

# wrk's "Requests/sec:", "N requests in" and "Non-2xx" lines, as numbers.
rps() { awk '/Requests\/sec/ {print int($2)}'; }
count() { awk '/requests in/ {print $1}'; }
bad() { awk '/Non-2xx/ {n=$NF} END {print n+0}'; }

run_get() { wrk -t"$threads" -c"$conns" -d"${duration}s" "$1"; }
floor_out=$(run_get "http://127.0.0.1:$floor_port/services")
local_out=$(run_get "http://127.0.0.1:$local_port/services")
floor_rps=$(rps <<<"$floor_out")
get_rps=$(rps <<<"$local_out")
get_bad=$(bad <<<"$local_out")

echo "placing $orders orders" >&2
placed=0; slices=(); min_rps=
while [ "$placed" -lt "$orders" ]; do
  out=$(SERVICE=$SERVICE TOKEN=$TOKEN wrk -t"$threads" -c"$conns" -d10s \
    -s "$here/post_order.lua" "http://127.0.0.1:$local_port/orders")
  n=$(count <<<"$out"); r=$(rps <<<"$out"); b=$(bad <<<"$out")
  [ "$b" -eq 0 ] || { echo "$b of $n orders refused:" >&2; echo "$out" >&2; exit 1; }
  placed=$((placed + n)); slices+=("$r")
  if [ -z "$min_rps" ] || [ "$r" -lt "$min_rps" ]; then min_rps=$r; fi
  echo "  $placed orders, $r req/s" >&2
done
rss_kib=$(ps -o rss= -p "$local_pid" | tr -d ' ')

echo "| figure | bare hyper | khamsa-local | ratio | goal |"
echo "| --- | ---: | ---: | ---: | --- |"
printf '| GET /services (%d active services), req/s | %d | %d | %.0f%% | >= 50%% |\n' \
  "$services" "$floor_rps" "$get_rps" "$(echo "100*$get_rps/$floor_rps" | bc -l)"
printf '| POST /orders, req/s, slowest 10 s slice over %d orders | | %d | | >= 5,000 |\n' "$placed" "$min_rps"
printf '| POST /orders, req/s per slice | | %s | | |\n' "${slices[*]}"
printf '| khamsa-local resident memory after, MiB | | %d | | |\n' "$((rss_kib / 1024))"
[ "$get_bad" -eq 0 ] || echo "note: $get_bad GET /services answers were not 2xx"
echo "($(date -u +%F), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); wrk -t$threads -c$conns)"
