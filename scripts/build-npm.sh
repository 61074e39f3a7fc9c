#!/usr/bin/env bash
# Builds the CDK construct library once, for every test that follows:
#   1. `npm run build` in npm/: the wasm core (scripts/build-wasm.sh -> npm/wasm/) and the
#      jsii compile (npm/lib/, npm/.jsii);
#   2. `npm pack` -> target/npm/depot-migrate-cdk-VERSION.tgz, the tarball users install;
#   3. unless --no-python: `jsii-pacmak --targets python` -> target/npm/python/*.whl.
# Needs scripts/setup-npm.sh first (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[build-npm] %s\n' "$*" >&2; }
# jsii 6 warns that Node 20 is end-of-life (it still works); the value lists the majors to silence.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=18,20

OUT=target/npm
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

log "npm run build (wasm + jsii)"
(cd npm && npm run --silent build)

# `npm pack` (and jsii-pacmak, which packs too) refuses to run without the Lambda
# bootstraps (npm/scripts/check-bootstraps.js). CI builds x86_64 only; a release sets
# DEPOT_MIGRATE_PACK_ARCHS="x86_64 arm64" after scripts/build-lambda.sh all.
export DEPOT_MIGRATE_PACK_ARCHS="${DEPOT_MIGRATE_PACK_ARCHS:-x86_64}"

log "npm pack -> $OUT"
rm -f "$OUT"/depot-migrate-cdk-*.tgz
tarball="$(cd npm && npm pack --silent --pack-destination "$OUT" | tail -1)"
log "$OUT/$tarball: $(wc -c <"$OUT/$tarball") bytes"

if [[ "${1:-}" != "--no-python" ]]; then
  log "jsii-pacmak --targets python -> $OUT/python"
  rm -rf "$OUT/python"
  (cd npm && npx jsii-pacmak --targets python --outdir "$OUT" >/dev/null)
  log "$(ls "$OUT"/python/*.whl): $(wc -c <"$(ls "$OUT"/python/*.whl)") bytes"
fi
