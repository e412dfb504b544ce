#!/usr/bin/env bash
# The walk-through of README.md as a smoke test, against any stack:
#
#   bash infra/smoke.sh https://abc123.execute-api.us-east-1.amazonaws.com   # a deployed stack
#   bash infra/smoke.sh http://127.0.0.1:8080                                # a running local server
#   bash infra/smoke.sh --local      # builds and starts khamsa-local on a free port, then stops it
#
# One seller, one buyer and one operator: a service is listed and approved,
# the buyer tops up (sandbox method) and orders, they exchange a message,
# the seller delivers, the buyer receives and reviews; then the ledger audit
# must balance. Public routes are called with a token too, which must not
# change their answer (API Gateway reads none there).
#
# Users. Against the local server (it answers /health and /dev/token) the
# tokens come from POST /dev/token. Against AWS, the users are created with
# Cognito's admin API (the aws CLI, with credentials allowed
# cognito-idp:AdminCreateUser, AdminSetUserPassword, AdminInitiateAuth,
# AdminAddUserToGroup, AdminDeleteUser on the pool), signed in with
# ADMIN_USER_PASSWORD_AUTH for their ID tokens, and deleted on exit. The pool
# and client come from the stack's outputs (KHAMSA_STACK, default
# khamsa-dev) unless KHAMSA_USER_POOL_ID and KHAMSA_CLIENT_ID are set.
# Sandbox top-ups need AllowSandboxTopups=true: a test stage only.
#
# Only on the local server (it can move its clock): fourteen days pass, the
# seller's earnings clear, they withdraw them, an operator approves and the
# payout is paid through the fake PayPal.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
say() { printf 'smoke: %s\n' "$*" >&2; }
die() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }
for tool in curl python3; do
  command -v "$tool" >/dev/null || die "'$tool' not found on PATH"
done

base=${1:-}
[[ -n $base ]] || die "usage: $0 <base-url> | --local"
server_pid=""
cleanup=()
finish() {
  local rc=$?
  for c in "${cleanup[@]}"; do eval "$c" || true; done
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  exit $rc
}
trap finish EXIT

if [[ $base == --local ]]; then
  (cd "$repo" && cargo build --quiet --locked -p khamsa-local) || die "cannot build khamsa-local"
  bin=$(cd "$repo" && cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/khamsa-local
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log=$(mktemp)
  cleanup+=("rm -f '$log'")
  "$bin" --port "$port" >"$log" 2>&1 &
  server_pid=$!
  base=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -sf "$base/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "khamsa-local exited"; }
    sleep 0.1
  done
fi
base=${base%/}

# ---------------------------------------------------------------- helpers ---
# call METHOD PATH TOKEN [BODY] [IDEMPOTENCY-KEY]: sets $status and $body.
call() {
  local method=$1 path=$2 token=$3 data=${4:-} key=${5:-} out
  local args=(-s -X "$method" -o - -w '\n%{http_code}' -H 'content-type: application/json')
  [[ -n $token ]] && args+=(-H "authorization: Bearer $token")
  [[ -n $key ]] && args+=(-H "idempotency-key: $key")
  [[ -n $data ]] && args+=(--data "$data")
  out=$(curl "${args[@]}" "$base$path") || die "$method $path: no answer"
  status=${out##*$'\n'}
  body=${out%$'\n'*}
}
# expect STATUS METHOD PATH TOKEN [BODY] [KEY]
expect() {
  local want=$1
  shift
  call "$@"
  [[ $status == "$want" ]] || die "$1 $2: expected $want, got $status: $body"
}
# field KEY: a top-level (or dotted) field of $body.
field() {
  python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k)
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list, bool)) else v))
' "$body" "$1"
}
check() { # check KEY WANT
  local got
  got=$(field "$1")
  [[ $got == "$2" ]] || die "$1: expected '$2', got '$got' in $body"
}

run=$(date +%s)-$RANDOM
local_server=false
if curl -sf "$base/health" >/dev/null 2>&1 \
   && [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/dev/token" -d '{"user":"smoke-probe"}') == 200 ]]; then
  local_server=true
fi

if $local_server; then
  say "local server at $base: tokens from /dev/token"
  token() { # token NAME OPERATOR
    expect 200 POST /dev/token "" "{\"user\":\"$1-$run\",\"email\":\"$1-$run@example.com\",\"operator\":$2}"
    field token
  }
else
  command -v aws >/dev/null || die "'aws' (the AWS CLI) is needed to create test users in Cognito"
  stack=${KHAMSA_STACK:-khamsa-dev}
  output() {
    aws cloudformation describe-stacks --stack-name "$stack" \
      --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
  }
  pool=${KHAMSA_USER_POOL_ID:-$(output UserPoolId)}
  client=${KHAMSA_CLIENT_ID:-$(output UserPoolClientId)}
  [[ -n $pool && $pool != None && -n $client && $client != None ]] || die "no user pool/client (stack $stack)"
  say "stack at $base: users in Cognito pool $pool"
  token() { # token NAME OPERATOR
    local email="smoke+$1-$run@khamsa.example"
    local password
    password="Sm0ke-$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
    aws cognito-idp admin-create-user --user-pool-id "$pool" --username "$email" \
      --user-attributes Name=email,Value="$email" Name=email_verified,Value=true \
      --message-action SUPPRESS >/dev/null
    cleanup+=("aws cognito-idp admin-delete-user --user-pool-id '$pool' --username '$email'")
    aws cognito-idp admin-set-user-password --user-pool-id "$pool" --username "$email" \
      --password "$password" --permanent
    if [[ $2 == true ]]; then
      aws cognito-idp admin-add-user-to-group --user-pool-id "$pool" --username "$email" --group-name operators
    fi
    aws cognito-idp admin-initiate-auth --user-pool-id "$pool" --client-id "$client" \
      --auth-flow ADMIN_USER_PASSWORD_AUTH --auth-parameters "USERNAME=$email,PASSWORD=$password" \
      --query AuthenticationResult.IdToken --output text
  }
fi

# ------------------------------------------------------------ walk-through ---
SELLER=$(token seller false)
BUYER=$(token buyer false)
OP=$(token ops true)
[[ -n $SELLER && -n $BUYER && -n $OP ]] || die "no tokens"

expect 401 GET /me ""
expect 200 GET /me "$SELLER"

expect 201 POST /services "$SELLER" '{
  "title": "Logo design for your project", "description": "I design a clean logo in two days.",
  "category": "design", "price": "10.00", "delivery_days": 2,
  "upgrades": [{"title": "Source files", "price": "5.00", "extra_days": 1}]}' "svc-$run"
SVC=$(field id)
check status pending_review
# Hidden from the public, even with the seller's own token; theirs on /me/services.
expect 404 GET "/services/$SVC" ""
expect 404 GET "/services/$SVC" "$SELLER"
expect 200 GET "/me/services" "$SELLER"
[[ $body == *"$SVC"* ]] || die "/me/services does not list $SVC: $body"

expect 200 POST "/admin/services/$SVC/approve" "$OP" "" "approve-$run"
check status active
expect 200 GET "/services/$SVC" ""
public=$body
expect 200 GET "/services/$SVC" "$BUYER"
[[ $body == "$public" ]] || die "a token changed a public answer: $public vs $body"

expect 201 POST /me/topups "$BUYER" '{"amount": "50.00", "method": "sandbox"}' "topup-$run"
expect 200 GET /me "$BUYER"
check balance 50.00

expect 201 POST /orders "$BUYER" "{\"service_id\": \"$SVC\", \"upgrades\": [0]}" "order-$run"
ORDER=$(field id)
check total 15.00
# The same key again is the same order, not a second one.
expect 201 POST /orders "$BUYER" "{\"service_id\": \"$SVC\", \"upgrades\": [0]}" "order-$run"
check id "$ORDER"
expect 200 GET /me "$BUYER"
check balance 35.00

expect 201 POST "/orders/$ORDER/messages" "$BUYER" '{"text": "Blue and white, please"}' "msg-$run"
expect 200 POST "/orders/$ORDER/deliver" "$SELLER" '{"text": "Here is your logo"}' "deliver-$run"
check status delivered
expect 200 POST "/orders/$ORDER/receive" "$BUYER" "" "receive-$run"
check status completed
expect 201 POST "/orders/$ORDER/review" "$BUYER" '{"rating": 5, "text": "Excellent work"}' "review-$run"
expect 200 GET /me "$SELLER"
check earnings_pending 12.00

if $local_server; then
  expect 200 POST /dev/clock "" '{"advance_seconds": 1209600}'
  expect 200 GET /me "$SELLER"
  check earnings_available 12.00
  expect 201 POST /withdrawals "$SELLER" '{"amount": "12.00", "paypal_email": "sara@example.com"}' "wd-$run"
  WD=$(field id)
  expect 200 POST "/admin/withdrawals/$WD/approve" "$OP" "" "approve-wd-$run"
  check status approved
  # The payouts worker sends it to (the built-in fake) PayPal, whose item
  # succeeds; the webhook or the poll then marks it paid.
  for _ in $(seq 1 100); do
    expect 200 GET /me/withdrawals "$SELLER"
    [[ $body == *'"paid"'* ]] && break
    sleep 0.1
  done
  [[ $body == *'"paid"'* ]] || die "the withdrawal was not paid: $body"
fi

expect 200 GET /admin/ledger/check "$OP"
check ok true
say "walk-through passed against $base"
