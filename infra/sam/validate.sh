#!/usr/bin/env bash
# Validates template.yaml (and infra/web/template.yaml) offline, the way `sam deploy` will read it:
#   1. `sam validate`         — the SAM translator turns it into CloudFormation
#                               (every function, event, route and authorizer);
#   2. `sam validate --lint`  — cfn-lint over the result: any error, warning
#                               or informational match fails.
# A finding that is understood and accepted must be silenced in template.yaml
# itself (a resource's `Metadata: cfn-lint: config: ignore_checks`) with a
# comment saying why, so nothing is left unexplained. There are none today.
#
# Installs the SAM CLI (which brings cfn-lint) into a virtualenv of its own,
# once: ${KHAMSA_CACHE:-$HOME/.cache/khamsa}/sam-venv. Installed globally,
# SAM would upgrade botocore under the machine's `aws` CLI. Idempotent and
# non-interactive; no AWS account, credentials or network to AWS needed.
#
# Knobs: KHAMSA_SAM_SPEC (default 'aws-sam-cli==1.170.0'), PYTHON (python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${KHAMSA_CACHE:-${HOME:-/tmp}/.cache/khamsa}
venv=$cache/sam-venv
spec=${KHAMSA_SAM_SPEC:-'aws-sam-cli==1.170.0'}
python=${PYTHON:-python3}
template=$repo/template.yaml

export SAM_CLI_TELEMETRY=0
say() { printf 'sam: %s\n' "$*" >&2; }
die() { printf 'sam: ERROR: %s\n' "$*" >&2; exit 1; }

command -v "$python" >/dev/null || die "'$python' not found on PATH"
[[ -f $template ]] || die "no $template"
mkdir -p "$cache"

# Serialise installs (two test jobs at once).
if command -v flock >/dev/null; then
  exec 9>"$cache/.sam-venv.lock"
  flock -w 900 9 || die "could not lock $cache/.sam-venv.lock"
fi
stamp=$venv/.khamsa-spec
if [[ ! -x $venv/bin/sam || ! -f $stamp || $(cat "$stamp") != "$spec" ]]; then
  say "installing $spec into $venv (once)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$spec" >&2
  "$venv/bin/sam" --version >&2 || die "sam did not install"
  printf '%s' "$spec" >"$stamp"
fi
exec 9>&-

sam=$venv/bin/sam
say "$("$sam" --version) on $template"
# The translator needs a region to name ARNs; nothing is called in AWS.
# The web client's stack (infra/web/template.yaml) is checked the same way.
for t in "$template" "$repo/infra/web/template.yaml"; do
  "$sam" validate --region "${AWS_REGION:-us-east-1}" --template "$t"
  "$sam" validate --lint --template "$t"
  say "${t#"$repo"/}: translated and linted clean"
done
