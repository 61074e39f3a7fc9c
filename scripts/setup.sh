#!/usr/bin/env bash
# Installs everything depot-migrate's build, main job and tests need on a fresh machine
# that has only Rust (rustup), Node, Python 3 with pip and apt. Idempotent: each step is
# skipped when what it installs is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# Python: the independent RFC 8785 implementation the test vectors are checked against,
# and jsonschema for the schema checks in scripts; moto_server (EventBridge + SQS) for
# the EventBridge tests (scripts/with-services.sh starts it).
PY_PACKAGES=(rfc8785==0.1.4 sqlglot==30.30.0 'moto[server]==5.2.1' cfn-lint==1.51.0)
missing=()
for spec in "${PY_PACKAGES[@]}"; do
  name="${spec%%==*}"
  module="${name%%\[*}" # the import name has no extras: moto[server] -> moto
  module="${module//-/_}"
  # moto.server imports the [server] extra (flask, flask_cors): a moto without it fails.
  if [[ "$name" == "moto[server]" ]]; then module=moto.server; fi
  if [[ "$name" == "cfn-lint" ]]; then module=cfnlint; fi
  python3 -c "import $module" 2>/dev/null || missing+=("$spec")
done
if ((${#missing[@]})); then
  log "pip install ${missing[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi

# The Snowflake SQL API stand-in (tests/snowflake-api/server.py: fakesnow behind an HTTP
# server) in a venv of its own, since fakesnow pins another sqlglot than the planner's
# checks. The pins are tests/snowflake-api/requirements.txt; a stamp of that file marks a
# complete install. native/tests/snowflake.rs finds the venv at the same default path
# (or DEPOT_SNOWFLAKE_STANDIN_VENV).
sf_req=tests/snowflake-api/requirements.txt
sf_venv="${DEPOT_SNOWFLAKE_STANDIN_VENV:-${HOME:-/root}/.cache/depot-migrate/snowflake-api-venv}"
if ! cmp -s "$sf_req" "$sf_venv/.requirements" 2>/dev/null; then
  log "python3 -m venv $sf_venv && pip install -r $sf_req"
  rm -rf -- "$sf_venv"
  mkdir -p "$(dirname "$sf_venv")"
  python3 -m venv "$sf_venv"
  "$sf_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$sf_req"
  "$sf_venv/bin/python" -c 'import fakesnow, jwt, sqlglot'
  cp "$sf_req" "$sf_venv/.requirements"
fi

# Rust test runner.
if ! cargo nextest --version >/dev/null 2>&1; then
  log "cargo install cargo-nextest"
  cargo install --quiet cargo-nextest
fi
log "ok"
