#!/usr/bin/env bash
# Deploys the web client: the static-site stack (infra/web/template.yaml),
# then web/ into its bucket with a config.json written from the main
# stack's outputs (ApiUrl, HostedUiUrl, UserPoolClientId), then a CloudFront
# invalidation. Needs the AWS CLI and credentials, like `sam deploy`.
#
#   bash infra/web/deploy.sh [api-stack (khamsa-dev)] [web-stack (<api-stack>-web)]
#   bash infra/web/deploy.sh --print-config <ApiUrl> <HostedUiUrl> <ClientId>   # the config.json only, offline
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
die() { echo "web deploy: $*" >&2; exit 1; }

config_json() {
  python3 - "$@" <<'PY'
import json, sys
api, hosted_ui, client_id = sys.argv[1:4]
print(json.dumps({
    "mode": "cognito",
    "api": api.rstrip("/"),
    "cognito_domain": hosted_ui.rstrip("/"),
    "cognito_client_id": client_id,
}, indent=2))
PY
}

if [[ ${1:-} == --print-config ]]; then
  [[ $# == 4 ]] || die "usage: $0 --print-config <ApiUrl> <HostedUiUrl> <ClientId>"
  config_json "$2" "$3" "$4"
  exit 0
fi

api_stack=${1:-khamsa-dev}
web_stack=${2:-$api_stack-web}
command -v aws >/dev/null || die "the AWS CLI is needed"
output() { # stack key
  aws cloudformation describe-stacks --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

api_url=$(output "$api_stack" ApiUrl)
hosted_ui=$(output "$api_stack" HostedUiUrl)
client_id=$(output "$api_stack" UserPoolClientId)
[[ -n $api_url && $api_url != None ]] || die "no ApiUrl output on stack $api_stack"

aws cloudformation deploy --template-file "$here/template.yaml" --stack-name "$web_stack" --no-fail-on-empty-changeset
bucket=$(output "$web_stack" BucketName)
dist=$(output "$web_stack" DistributionId)
site=$(output "$web_stack" SiteUrl)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# The client's files only: not its tests or their node_modules.
(cd "$repo/web" && tar --exclude=./tests -cf - .) | (cd "$stage" && tar -xf -)
config_json "$api_url" "$hosted_ui" "$client_id" >"$stage/config.json"
# Unversioned module names: every file is revalidated rather than cached stale.
aws s3 sync "$stage" "s3://$bucket" --delete --cache-control no-cache
aws cloudfront create-invalidation --distribution-id "$dist" --paths '/*' >/dev/null

echo "web client: $site"
echo "If not yet done, point the main stack at it (sam deploy --parameter-overrides):"
echo "  PublicUrl=$site CallbackUrls=$site/auth/callback LogoutUrls=$site/ CorsAllowedOrigins=$site"
