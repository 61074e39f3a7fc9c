#!/usr/bin/env bash
# Installs what the benchmarks' baselines need beyond scripts/setup.sh: the `sqlite3`
# shell (scripts/bench-apply.sh), PostgreSQL with `psql` (scripts/pg.sh install) and
# `sha256sum` (coreutils; scripts/bench.sh). Idempotent: each step is skipped when what it
# installs is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup-bench] %s\n' "$*" >&2; }

if ! command -v sqlite3 >/dev/null; then
  sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then sudo=(sudo -n); fi
  log "apt-get install sqlite3"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sqlite3 >&2
fi
command -v psql >/dev/null || scripts/pg.sh install
command -v sha256sum >/dev/null || { log "sha256sum (coreutils) is missing"; exit 1; }
log "ok"
