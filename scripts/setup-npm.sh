#!/usr/bin/env bash
# Installs what the CDK construct library (npm/) and its tests need, idempotently:
#   - npm/node_modules from npm/package-lock.json (`npm ci`, skipped when the installed
#     tree was made from the same lock file);
#   - a Python venv (target/cdk-py-venv) with aws-cdk-lib from PyPI at the version the
#     npm package is built against, for the jsii Python target's test
#     (scripts/test-npm.sh installs the freshly built wheel into it).
# Node and Python 3 come with the machine (see README); cfn-lint comes from setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup-npm] %s\n' "$*" >&2; }

command -v node >/dev/null || { log "node is missing: install Node.js 20 or newer"; exit 1; }

lock_sum="$(sha256sum npm/package-lock.json | cut -d' ' -f1)"
stamp=npm/node_modules/.depot-lock-sha256
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$lock_sum" ]]; then
  log "npm ci (npm/)"
  (cd npm && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$stamp"
fi

# The same aws-cdk-lib as npm/package.json's devDependency (PyPI has the same versions).
CDK_VERSION="$(node -p "require('./npm/package.json').devDependencies['aws-cdk-lib']")"
VENV=target/cdk-py-venv
# A venv copied from another checkout (a seeded target/) keeps that checkout's paths in
# its scripts: its pip would install into the other venv. Such a venv is made anew.
if [[ -f "$VENV/bin/pip" ]] && ! head -1 "$VENV/bin/pip" | grep -qF "$(pwd)/$VENV/bin/"; then
  log "$VENV was made for another checkout ($(head -1 "$VENV/bin/pip")): making it anew"
  rm -rf "$VENV"
fi
if [[ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("aws-cdk-lib"))' 2>/dev/null || true)" != "$CDK_VERSION" ]]; then
  log "python venv $VENV with aws-cdk-lib==$CDK_VERSION"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "aws-cdk-lib==$CDK_VERSION"
fi
log "ok"
