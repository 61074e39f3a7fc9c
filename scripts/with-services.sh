#!/usr/bin/env bash
# Runs CMD with the services the tests need, started fresh and stopped afterwards:
#
#   scripts/with-services.sh CMD [ARGS...]
#
# - PostgreSQL (scripts/pg.sh): a throwaway server on 127.0.0.1 with an empty database,
#   exported as DEPOT_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT/depot_test.
# - moto_server (EventBridge + SQS; `moto[server]` from scripts/setup.sh) on a free port of
#   127.0.0.1, exported as DEPOT_TEST_AWS_ENDPOINT=http://127.0.0.1:PORT. AWS_ENDPOINT_URL
#   is deliberately not exported: tests set it (and dummy credentials, a region and
#   AWS_EC2_METADATA_DISABLED=true) on the processes they start.
#
# CMD's exit status is this script's exit status. Every service is stopped and its files
# removed when the script exits, fails, or gets INT/TERM (CMD runs in the foreground, so it
# receives a terminal's Ctrl-C itself; the cleanup runs once it has exited).
set -euo pipefail

(($# > 0)) || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
log() { printf '[with-services] %s\n' "$*" >&2; }

pg_dir=""
moto_dir=""
moto_pid=""
cleaned=0

# Stops moto_server (its own process group: TERM, then KILL after 5 s) and reaps it.
moto_stop() {
  [[ -n "$moto_pid" ]] || return 0
  local pid="$moto_pid" i
  moto_pid=""
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "moto_server (pid $pid) did not stop on TERM; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  ((cleaned)) && return 0
  cleaned=1
  moto_stop
  if [[ -n "$moto_dir" ]]; then
    rm -rf -- "$moto_dir" || log "could not remove $moto_dir"
  fi
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

# --- moto_server (EventBridge + SQS) ---
command -v moto_server >/dev/null 2>&1 ||
  { log "error: moto_server not found; run scripts/setup.sh (pip install 'moto[server]')"; exit 1; }
moto_dir="$(mktemp -d "${TMPDIR:-/tmp}/depot-moto.XXXXXX")"
moto_port=""
for attempt in 1 2 3 4 5; do
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  # Its own session and process group, so that cleanup stops all of it and a terminal's
  # Ctrl-C reaches only CMD.
  setsid moto_server -H 127.0.0.1 -p "$port" >"$moto_dir/moto.log" 2>&1 </dev/null &
  moto_pid=$!
  # Ready when /moto-api/ answers; give up when the server exits (e.g. the port was
  # taken between choosing and binding it: try another) or after 30 s.
  if python3 - "$port" "$moto_pid" <<'PY'
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    try:  # exited (a zombie until the shell reaps it, or gone)?
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                sys.exit(1)
    except OSError:
        sys.exit(1)
    time.sleep(0.05)
sys.exit(2)
PY
  then
    moto_port="$port"
    break
  fi
  log "moto_server on port $port did not come up (attempt $attempt):"
  tail -n 5 "$moto_dir/moto.log" >&2 || true
  moto_stop
done
[[ -n "$moto_port" ]] || { log "error: could not start moto_server"; exit 1; }
DEPOT_TEST_AWS_ENDPOINT="http://127.0.0.1:$moto_port"
export DEPOT_TEST_AWS_ENDPOINT
log "DEPOT_TEST_AWS_ENDPOINT=$DEPOT_TEST_AWS_ENDPOINT (moto_server pid $moto_pid)"

status=0
"$@" || status=$?
exit "$status"
