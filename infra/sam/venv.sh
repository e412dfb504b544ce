# Sourced by validate.sh and build.sh: the one place that installs the SAM CLI
# (and, on request, cargo-lambda with its zig) into a virtualenv of its own,
# ${KHAMSA_CACHE:-$HOME/.cache/khamsa}/sam-venv. Installed globally, SAM would
# upgrade botocore under the machine's `aws` CLI. One lock serialises two test
# jobs installing at once; a stamp per spec makes it idempotent.
#
# Knobs: KHAMSA_SAM_SPEC ('aws-sam-cli==1.170.0'), KHAMSA_CARGO_LAMBDA_SPEC
# ('cargo-lambda==1.9.2'), PYTHON (python3).
# Sets: cache, venv, sam_spec, cl_spec, python. Needs: say, die.

cache=${KHAMSA_CACHE:-${HOME:-/tmp}/.cache/khamsa}
venv=$cache/sam-venv
sam_spec=${KHAMSA_SAM_SPEC:-'aws-sam-cli==1.170.0'}
cl_spec=${KHAMSA_CARGO_LAMBDA_SPEC:-'cargo-lambda==1.9.2'}
python=${PYTHON:-python3}
export SAM_CLI_TELEMETRY=0

# sam_venv_install [--with-cargo-lambda]
sam_venv_install() {
  command -v "$python" >/dev/null || die "'$python' not found on PATH"
  mkdir -p "$cache"
  if command -v flock >/dev/null; then
    exec 9>"$cache/.sam-venv.lock"
    flock -w 900 9 || die "could not lock $cache/.sam-venv.lock"
  fi
  local stamp=$venv/.khamsa-spec
  if [[ ! -x $venv/bin/sam || ! -f $stamp || $(cat "$stamp") != "$sam_spec" ]]; then
    say "installing $sam_spec into $venv (once)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "$sam_spec" >&2 \
      || { rm -rf "$venv"; die "pip install $sam_spec failed"; }
    "$venv/bin/sam" --version >&2 || die "sam did not install"
    printf '%s' "$sam_spec" >"$stamp"
  fi
  if [[ ${1:-} == --with-cargo-lambda ]]; then
    local cl_stamp=$venv/.khamsa-cargo-lambda
    if [[ ! -x $venv/bin/cargo-lambda || ! -f $cl_stamp || $(cat "$cl_stamp") != "$cl_spec" ]]; then
      say "installing $cl_spec into $venv (once)"
      "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "$cl_spec" >&2 \
        || die "pip install $cl_spec failed"
      printf '%s' "$cl_spec" >"$cl_stamp"
    fi
  fi
  exec 9>&-
}
