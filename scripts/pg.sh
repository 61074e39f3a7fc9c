#!/usr/bin/env bash
# A throwaway PostgreSQL (Debian's `postgresql` package, 15 on Debian 12) on 127.0.0.1 for
# tests. Nothing here touches the package's own cluster (/etc/postgresql/*/main).
#
#   scripts/pg.sh install      apt-get install postgresql postgresql-client unless
#                              /usr/lib/postgresql/<ver>/bin/initdb already exists
#   scripts/pg.sh start DIR    initdb in DIR/data, start a server on a free port of
#                              127.0.0.1 (Unix socket in DIR), create database depot_test,
#                              print postgres://postgres@127.0.0.1:PORT/depot_test on stdout
#                              (also written to DIR/url). DIR must be missing or empty.
#   scripts/pg.sh stop DIR     stop that server at once (-m immediate) and remove DIR
#   scripts/pg.sh bindir       print the server binaries' directory
#
# Sourcing the file instead defines pg_install, pg_start, pg_stop and pg_bindir with the
# same arguments; each runs in a subshell, so the caller's options and traps are untouched.
#
# As root the server runs as the `postgres` user (runuser), in a DIR owned by it; as any
# other user it runs as that user. The superuser is called `postgres` either way and
# authentication is `trust`: for tests only. If `start` fails or is interrupted, it stops
# whatever it started and removes DIR before returning non-zero. Progress goes to stderr;
# stdout carries only the URL.
#
# The binaries used are those under /usr/lib/postgresql/<ver>/bin (the newest version
# present, or $PG_VERSION), never a pg_ctl/initdb found on PATH (e.g. /usr/local/bin).

# Marker written by `start`: `stop` only removes a DIR that has it (or that is empty).
_PG_MARKER=.depot-throwaway-pg

_pg_log() { printf '[pg] %s\n' "$*" >&2; }
_pg_die() { _pg_log "error: $*"; exit 1; }
_pg_is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Runs a server-side command as the user who owns the data directory.
_pg_as_owner() {
  if _pg_is_root; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Variables that would otherwise change what the client tools connect to.
_pg_clean_env() {
  unset PGDATA PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE \
    PGOPTIONS PGPASSFILE PGSSLMODE PGTARGETSESSIONATTRS PGCONNECT_TIMEOUT
}

pg_bindir() (
  shopt -s nullglob
  local root=/usr/lib/postgresql candidates=() v
  if [[ -n "${PG_VERSION:-}" ]]; then
    [[ -x "$root/$PG_VERSION/bin/initdb" ]] || { _pg_log "no $root/$PG_VERSION/bin/initdb"; exit 1; }
    echo "$root/$PG_VERSION/bin"
    exit 0
  fi
  for v in "$root"/*/bin/initdb; do
    [[ -x "$v" ]] && candidates+=("${v%/bin/initdb}")
  done
  ((${#candidates[@]})) || exit 1
  v="$(printf '%s\n' "${candidates[@]##*/}" | sort -V | tail -n 1)"
  echo "$root/$v/bin"
)

pg_install() (
  if bindir="$(pg_bindir 2>/dev/null)"; then
    _pg_log "PostgreSQL already installed: $bindir"
    exit 0
  fi
  sudo=()
  if ! _pg_is_root; then
    command -v sudo >/dev/null 2>&1 || _pg_die "PostgreSQL is not installed and installing it needs root (or sudo)"
    sudo=(sudo -n)
  fi
  # Clusters already online before, so that only ones the package started are stopped.
  before="$(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}')"
  _pg_log "apt-get update"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || _pg_die "apt-get update failed"
  _pg_log "apt-get install -y postgresql postgresql-client"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql postgresql-client >&2 || _pg_die "apt-get install postgresql postgresql-client failed"
  # The package creates a `main` cluster and, where services may start (not in containers
  # with policy-rc.d), starts it on 5432. Tests never use it: stop it if the install did.
  while read -r ver name status; do
    [[ "$status" == online ]] || continue
    grep -qxF "$ver/$name" <<<"$before" && continue
    _pg_log "stopping the cluster $ver/$name that the package started"
    "${sudo[@]}" pg_ctlcluster "$ver" "$name" stop >&2 || true
  done < <(pg_lsclusters -h 2>/dev/null | awk '{print $1, $2, $4}')
  bindir="$(pg_bindir)" || _pg_die "installed, but no /usr/lib/postgresql/*/bin/initdb"
  _pg_log "installed: $bindir"
)

_pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' \
    2>/dev/null || echo $((20000 + RANDOM % 30000))
}

# Pids of servers whose command line names this data directory (the postmaster keeps
# `postgres -D DATA ...`). Used when postmaster.pid is missing, e.g. after an interrupted
# start, so that nothing is left running.
_pg_pids_for() {
  local data="$1" f pid i args=()
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}"
    pid="${pid%/cmdline}"
    mapfile -d '' -t args 2>/dev/null <"$f" || continue
    for ((i = 0; i + 1 < ${#args[@]}; i++)); do
      if [[ "${args[i]}" == -D && "${args[i + 1]}" == "$data" ]]; then
        echo "$pid"
        break
      fi
    done
  done
  return 0
}

# Pids of the children of process $1 (the postmaster's backends and helpers).
_pg_children_of() {
  local f line
  for f in /proc/[0-9]*/status; do
    while read -r line; do
      if [[ "$line" == PPid:* ]]; then
        [[ "${line#PPid:}" =~ ^[[:space:]]*"$1"$ ]] && { f="${f#/proc/}"; echo "${f%/status}"; }
        break
      fi
    done 2>/dev/null <"$f"
  done
  return 0
}

# True while process $1 exists and is not a zombie.
_pg_alive() {
  local line
  while read -r line; do
    [[ "$line" == State:* ]] || continue
    [[ "$line" != *Z* ]]
    return
  done 2>/dev/null <"/proc/$1/status"
  return 1
}

# Stops the server of DIR (if any) and removes DIR when it is ours. Used by stop and by
# start's failure path.
_pg_stop_dir() {
  local dir="$1" data bindir pid i alive procs=()
  [[ -e "$dir" ]] || return 0
  dir="$(cd "$dir" && pwd -P)" || return 1
  data="$dir/data"
  for pid in $(_pg_pids_for "$data"); do
    procs+=("$pid" $(_pg_children_of "$pid"))
  done
  if [[ -f "$data/postmaster.pid" ]]; then
    if bindir="$(pg_bindir 2>/dev/null)"; then
      _pg_as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && _pg_pids_for "$data" | grep -qxF "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  for pid in $(_pg_pids_for "$data"); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  # Wait until the postmaster and its children are gone (or zombies left to init).
  for ((i = 0; i < 50; i++)); do
    alive=0
    for pid in "${procs[@]}"; do
      _pg_alive "$pid" && { alive=1; break; }
    done
    ((alive)) || [[ -n "$(_pg_pids_for "$data")" ]] || break
    sleep 0.1
  done
  if [[ -e "$dir/$_PG_MARKER" ]]; then
    rm -rf -- "$dir"
  elif [[ -z "$(ls -A -- "$dir")" ]]; then
    rmdir -- "$dir"
  else
    _pg_log "not removing $dir: it was not made by scripts/pg.sh start"
    return 1
  fi
}

pg_start() (
  [[ $# -eq 1 && -n "$1" ]] || _pg_die "usage: pg.sh start DIR"
  _pg_clean_env
  dir="$1"
  bindir="$(pg_bindir)" || _pg_die "PostgreSQL is not installed: run scripts/pg.sh install"
  if _pg_is_root; then
    id -u postgres >/dev/null 2>&1 || _pg_die "no 'postgres' user: run scripts/pg.sh install"
    command -v runuser >/dev/null 2>&1 || _pg_die "runuser not found (util-linux)"
  fi
  dir="$(realpath -m -- "$dir")" || _pg_die "bad directory: $1"
  # The Unix socket $dir/.s.PGSQL.PORT must fit in sun_path (107 bytes).
  ((${#dir} <= 90)) || _pg_die "$dir is too long a path for the server's socket (keep it under 90 characters)"
  if [[ -e "$dir" ]]; then
    [[ -d "$dir" ]] || _pg_die "$dir is not a directory"
    [[ -z "$(ls -A -- "$dir")" ]] || _pg_die "$dir is not empty"
  else
    mkdir -p -- "$dir" || _pg_die "cannot create $dir"
  fi
  data="$dir/data"

  started=0
  # A trap can run while a command's output is redirected (e.g. into initdb.log): keep
  # the real stderr on fd 9 for the messages of the failure path.
  exec 9>&2
  cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    exec 2>&9 1>/dev/null
    if ((rc != 0)); then
      if [[ -s "$dir/server.log" ]]; then
        _pg_log "server log (last lines):"
        tail -n 20 "$dir/server.log" >&2
      fi
      _pg_log "start failed: stopping what was started and removing $dir"
      _pg_stop_dir "$dir" || true
    fi
    exit "$rc"
  }
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  touch "$dir/$_PG_MARKER"
  chmod 700 "$dir"
  if _pg_is_root; then
    chown -R postgres:postgres "$dir"
    _pg_as_owner test -w "$dir" -a -x "$dir" ||
      _pg_die "the postgres user cannot write $dir (is a parent directory closed to it?)"
  fi

  t0="$(date +%s.%N)"
  _pg_as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    --no-instructions >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    _pg_die "initdb failed"
  }

  port=""
  for attempt in 1 2 3 4 5; do
    port="$(_pg_free_port)"
    rm -f -- "$dir/server.log"
    if _pg_as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 \
      -o "-h 127.0.0.1 -p $port -k $dir -F" start >/dev/null 2>"$dir/pg_ctl.err"; then
      started=1
      break
    fi
    # Another process may have taken the port between choosing and binding it: retry.
    if grep -q 'could not bind\|Address already in use' "$dir/server.log"; then
      _pg_log "port $port was taken, retrying ($attempt)"
      _pg_as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
      continue
    fi
    cat "$dir/pg_ctl.err" >&2
    _pg_die "pg_ctl start failed"
  done
  ((started)) || _pg_die "could not find a free port"

  for ((i = 0; i < 100; i++)); do
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres && break
    sleep 0.1
  done
  "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres ||
    _pg_die "server on port $port is not ready after 10 s"

  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres depot_test >&2 ||
    _pg_die "createdb depot_test failed"

  url="postgres://postgres@127.0.0.1:$port/depot_test"
  echo "$url" >"$dir/url"
  t1="$(date +%s.%N)"
  _pg_log "PostgreSQL $("$bindir/postgres" -V | awk '{print $3}') up on 127.0.0.1:$port ($(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s), data in $data"
  echo "$url"
)

pg_stop() (
  [[ $# -eq 1 && -n "$1" ]] || _pg_die "usage: pg.sh stop DIR"
  _pg_stop_dir "$1"
)

_pg_main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    install) pg_install "$@" ;;
    start) pg_start "$@" ;;
    stop) pg_stop "$@" ;;
    bindir) pg_bindir "$@" ;;
    *)
      echo "usage: $0 install | start DIR | stop DIR | bindir" >&2
      return 2
      ;;
  esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -uo pipefail
  _pg_main "$@"
  exit $?
fi
