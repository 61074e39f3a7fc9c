#!/usr/bin/env bash
# Runs CMD with the services the tests need, started fresh and stopped afterwards:
#
#   scripts/with-services.sh CMD [ARGS...]
#
# - PostgreSQL (scripts/pg.sh): a throwaway server on 127.0.0.1 with an empty database,
#   exported as DEPOT_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT/depot_test.
#
# CMD's exit status is this script's exit status. Every service is stopped and its files
# removed when the script exits, fails, or gets INT/TERM (CMD runs in the foreground, so it
# receives a terminal's Ctrl-C itself; the cleanup runs once it has exited).
set -euo pipefail

(($# > 0)) || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
log() { printf '[with-services] %s\n' "$*" >&2; }

pg_dir=""
cleaned=0
cleanup() {
  ((cleaned)) && return 0
  cleaned=1
  # --- moto_server: stop it here (before PostgreSQL) when it is added. ---
  if [[ -n "$pg_dir" ]]; then
    "$scripts/pg.sh" stop "$pg_dir" || log "could not fully stop PostgreSQL in $pg_dir"
  fi
}
on_signal() {
  local sig="$1"
  cleanup
  # Die of the same signal, so that callers see a killed process, not a normal exit.
  trap - "$sig" EXIT
  kill -s "$sig" "$$"
}
trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

# --- PostgreSQL ---
"$scripts/pg.sh" install
pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/depot-pg.XXXXXX")"
DEPOT_TEST_PG_URL="$("$scripts/pg.sh" start "$pg_dir")"
export DEPOT_TEST_PG_URL
log "DEPOT_TEST_PG_URL=$DEPOT_TEST_PG_URL"

# --- moto_server (EventBridge + SQS): a later step starts it here, exports
# AWS_ENDPOINT_URL, dummy credentials, a region and AWS_EC2_METADATA_DISABLED=true, and
# stops it in cleanup() above. ---

status=0
"$@" || status=$?
exit "$status"
