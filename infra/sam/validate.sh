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
# Installs the SAM CLI (which brings cfn-lint) once, through venv.sh.
# Idempotent and non-interactive; no AWS account, credentials or network to
# AWS needed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
template=$repo/template.yaml

say() { printf 'sam: %s\n' "$*" >&2; }
die() { printf 'sam: ERROR: %s\n' "$*" >&2; exit 1; }

[[ -f $template ]] || die "no $template"
# shellcheck source=infra/sam/venv.sh
source "$here/venv.sh"
sam_venv_install

sam=$venv/bin/sam
say "$("$sam" --version) on $template"
# The translator needs a region to name ARNs; nothing is called in AWS.
# The web client's stack (infra/web/template.yaml) is checked the same way.
for t in "$template" "$repo/infra/web/template.yaml"; do
  "$sam" validate --region "${AWS_REGION:-us-east-1}" --template "$t"
  "$sam" validate --lint --template "$t"
  say "${t#"$repo"/}: translated and linted clean"
done
