#!/usr/bin/env bash
# Stop the emulators that infra/emulators/up.sh started (DynamoDB Local and
# moto), found by the pid files in ${KHAMSA_EMULATORS_DIR:-<repo>/target/emulators}.
#
# Usage:   bash infra/emulators/down.sh
#
# Idempotent: stops only a pid whose command line is still the emulator that
# up.sh recorded (never a recycled pid), TERM then KILL after 10 s, removes the
# pid/port/env files and keeps the logs. Exits 0 when nothing runs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${KHAMSA_EMULATORS_DIR:-$repo/target/emulators}

say() { printf 'emulators: %s\n' "$*" >&2; }

[[ -d $state ]] || exit 0

# running PID PATTERN: PID exists, is not a zombie, and its command line
# contains PATTERN.
running() {
  [[ -r /proc/$1/stat ]] || return 1
  [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]] || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

stop() {  # NAME PATTERN-WITH-PORT PATTERN-WITHOUT-PORT
  local name=$1 pid port pattern
  pid=$(cat "$state/$name.pid" 2>/dev/null || true)
  port=$(cat "$state/$name.port" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]]; then
    if [[ $port =~ ^[0-9]+$ ]]; then pattern="$2$port "; else pattern=$3; fi
    if running "$pid" "$pattern"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        running "$pid" "$pattern" || break
        sleep 0.2
      done
      if running "$pid" "$pattern"; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
      fi
      say "stopped $name (pid $pid${port:+, port $port})"
    fi
  fi
  rm -f "$state/$name.pid" "$state/$name.port"
}

stop dynamodb "-disableTelemetry -port " "DynamoDBLocal.jar"
stop moto "moto_server -H 127.0.0.1 -p " "moto_server"
rm -f "$state/env"
exit 0
