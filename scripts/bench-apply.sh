#!/usr/bin/env bash
# Apply benchmark: how much slower is `depot-migrate apply` than running the same SQL with
# the engine's own shell? Not a timed test: it prints ratios against a baseline measured
# in the same run and fails only when a run fails.
#
#   scripts/bench-apply.sh            full run: release CLI, 500- and 2,000-step plans,
#                                     ROUNDS rounds (default 5) per size and engine
#   scripts/bench-apply.sh --smoke    debug CLI, a 40-step plan, 1 round: checks the bench
#                                     runs end to end (ratios meaningless)
#
# The plan: N tables (id, name) each gaining two columns, an index and a table comment,
# i.e. 4 steps a table (125 tables for 500 steps, 500 for 2,000). For each round and
# engine, two fresh databases get the first package (untimed: `apply` on ours, the SQL of
# `plan --format sql` from nothing on the baseline's), then, alternating which goes
# first, the timed part:
#   ours      depot-migrate apply --package v2 --dataset D --db URL --events stdout
#             (whole process: state, lock and lease, `attempted`, the steps in one
#             transaction with the journal, the fencing check, `deployed` and both events
#             through the outbox)
#   postgres  psql -1 -v ON_ERROR_STOP=1 -f v2.sql, where v2.sql is
#             `depot-migrate plan --from-package v1 --package v2 --format sql`
#   sqlite    sqlite3 -bail FILE < (BEGIN; v2.sql; COMMIT;)
# Outputs of both sides go to /dev/null. Medians per side; the ratio is ours/baseline.
# PostgreSQL is a throwaway server (scripts/pg.sh), removed at the end; the sqlite3 shell
# comes from scripts/setup-bench.sh.
#
# Prints one line per figure, `RESULT<TAB>figure<TAB>ours ms<TAB>baseline ms<TAB>ratio<TAB>goal`
# (scripts/bench.sh collects them), after a readable table on stderr.
#
# Environment: ROUNDS, SIZES (steps, default "500 2000"), ENGINES (default "postgres
# sqlite"), DEPOT_BIN (a CLI to measure instead of building one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

smoke=0
case "${1:-}" in
  --smoke) smoke=1 ;;
  "") ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *) echo "usage: scripts/bench-apply.sh [--smoke]" >&2; exit 2 ;;
esac

if ((smoke)); then
  ROUNDS=1 SIZES="${SIZES:-40}" PROFILE=dev
else
  ROUNDS="${ROUNDS:-5}" SIZES="${SIZES:-500 2000}" PROFILE=release
fi
ENGINES="${ENGINES:-postgres sqlite}"
GOAL=1.2

step() { printf '\n==> %s\n' "$*" >&2; }

target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
if [[ -n "${DEPOT_BIN:-}" ]]; then
  cli="$DEPOT_BIN"
else
  step "build the CLI (cargo build --profile $PROFILE -p depot-migrate)"
  cargo build --quiet --profile "$PROFILE" -p depot-migrate
  cli="$target_dir/$([[ $PROFILE == dev ]] && echo debug || echo release)/depot-migrate"
fi

WORK="$(mktemp -d /tmp/depot-bench-apply.XXXXXX)"
chmod 755 "$WORK" # the server runs as `postgres` when we are root (scripts/pg.sh)
PG_DIR="$WORK/pg"
cleanup() {
  [[ -f "$PG_DIR/url" ]] && "$ROOT/scripts/pg.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# gen N DIR: v1.json (N tables) and v2.json (the same tables gaining columns, an index
# and a comment each).
gen() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
def pkg(v2):
    tables = []
    for i in range(n):
        cols = [{"name": "id", "type": "bigint", "nullable": False},
                {"name": "name", "type": "string", "maxLength": 200, "nullable": False}]
        t = {"name": f"t{i:05d}", "columns": cols, "primaryKey": ["id"]}
        if v2:
            cols.append({"name": "note", "type": "string", "maxLength": 100})
            cols.append({"name": "active", "type": "boolean", "nullable": False, "default": True})
            t["indexes"] = [{"name": f"t{i:05d}_name_idx", "columns": ["name"], "unique": False}]
            t["comment"] = f"table {i}"
        tables.append(t)
    return {"namespace": "bench", "tables": tables}
for name, v2 in (("v1", False), ("v2", True)):
    with open(f"{out}/{name}.json", "w") as f:
        json.dump(pkg(v2), f, indent=1)
EOF
}

dataset() { # ENGINE FILE
  printf '{"environmentId":"e2e404529091ed2","datasetId":"bench0000001","datasetAlias":"Bench","engine":"%s","schema":"bench","migrationMode":"synchronous","eventBusName":"default"}\n' "$1" >"$2"
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

for engine in $ENGINES; do
  case "$engine" in
    postgres)
      command -v psql >/dev/null || { echo "psql not found: scripts/pg.sh install" >&2; exit 1; }
      if [[ ! -f "$PG_DIR/url" ]]; then
        step "start a throwaway PostgreSQL"
        "$ROOT/scripts/pg.sh" start "$PG_DIR" >/dev/null
      fi
      base_url="$(cat "$PG_DIR/url")"
      admin_url="${base_url%/*}/postgres"
      ;;
    sqlite)
      command -v sqlite3 >/dev/null || { echo "sqlite3 not found: scripts/setup-bench.sh" >&2; exit 1; }
      ;;
    *) echo "unknown engine: $engine" >&2; exit 2 ;;
  esac
  for size in $SIZES; do
    tables=$(((size + 3) / 4))
    d="$WORK/$engine-$size"
    mkdir -p "$d"
    gen "$tables" "$d"
    dataset "$engine" "$d/dataset.json"
    "$cli" plan --package "$d/v1.json" --dataset "$d/dataset.json" --format sql >"$d/v1.sql"
    "$cli" plan --from-package "$d/v1.json" --package "$d/v2.json" --dataset "$d/dataset.json" --format sql >"$d/v2.sql"
    steps=$("$cli" plan --from-package "$d/v1.json" --package "$d/v2.json" --dataset "$d/dataset.json" --format json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["steps"]))')
    step "$engine: $steps-step plan ($tables tables), $ROUNDS rounds, alternating"
    ours=() base=()
    for ((r = 0; r < ROUNDS; r++)); do
      # Fresh databases with the first package in place.
      case "$engine" in
        postgres)
          for side in ours base; do
            PGOPTIONS="-c client_min_messages=warning" psql -q -X -v ON_ERROR_STOP=1 "$admin_url" -c "DROP DATABASE IF EXISTS b_$side" -c "CREATE DATABASE b_$side" >/dev/null
          done
          ours_db="${base_url%/*}/b_ours"
          base_db="${base_url%/*}/b_base"
          "$cli" apply --package "$d/v1.json" --dataset "$d/dataset.json" --db "$ours_db" --events none >/dev/null 2>&1
          psql -q -X -1 -v ON_ERROR_STOP=1 -f "$d/v1.sql" "$base_db" >/dev/null
          ;;
        sqlite)
          rm -f "$d"/ours.sqlite* "$d"/base.sqlite*
          ours_db="sqlite:$d/ours.sqlite"
          "$cli" apply --package "$d/v1.json" --dataset "$d/dataset.json" --db "$ours_db" --events none >/dev/null 2>&1
          { echo 'BEGIN;'; cat "$d/v1.sql"; echo 'COMMIT;'; } | sqlite3 -bail "$d/base.sqlite" >/dev/null
          ;;
      esac
      sync
      run_ours() {
        local t0
        t0=$(date +%s%N)
        "$cli" apply --package "$d/v2.json" --dataset "$d/dataset.json" --db "$ours_db" --events stdout >/dev/null 2>"$d/ours.err" ||
          { cat "$d/ours.err" >&2; echo "apply failed" >&2; exit 1; }
        ours+=("$(ms_since "$t0")")
      }
      run_base() {
        local t0
        t0=$(date +%s%N)
        case "$engine" in
          postgres) psql -q -X -1 -v ON_ERROR_STOP=1 -f "$d/v2.sql" "$base_db" >/dev/null ;;
          sqlite) { echo 'BEGIN;'; cat "$d/v2.sql"; echo 'COMMIT;'; } | sqlite3 -bail "$d/base.sqlite" >/dev/null ;;
        esac
        base+=("$(ms_since "$t0")")
      }
      if ((r % 2 == 0)); then run_ours; run_base; else run_base; run_ours; fi
      echo "  round $((r + 1)): ours ${ours[-1]} ms, $engine shell ${base[-1]} ms" >&2
    done
    # Both sides reached the same catalog (the same number of columns and indexes).
    case "$engine" in
      postgres)
        q="SELECT (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'bench') || '/' || (SELECT count(*) FROM pg_indexes WHERE schemaname = 'bench')"
        a="$(psql -X -At "$ours_db" -c "$q")"
        b="$(psql -X -At "$base_db" -c "$q")"
        ;;
      sqlite)
        q="SELECT (SELECT count(*) FROM sqlite_master m, pragma_table_info(m.name) WHERE m.type = 'table' AND m.name GLOB 't[0-9]*') || '/' || (SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name GLOB 't[0-9]*' AND name NOT GLOB 'sqlite_*')"
        a="$(sqlite3 "$d/ours.sqlite" "$q")"
        b="$(sqlite3 "$d/base.sqlite" "$q")"
        ;;
    esac
    [[ "$a" == "$b" ]] || { echo "catalogs differ after the run: ours $a, baseline $b (columns/indexes)" >&2; exit 1; }
    mo="$(median "${ours[@]}")"
    mb="$(median "${base[@]}")"
    shell=$([[ $engine == postgres ]] && echo "psql -1" || echo "sqlite3")
    awk -v o="$mo" -v b="$mb" -v f="apply $steps steps, $engine vs $shell" -v g="$GOAL" 'BEGIN {
      printf "%-44s ours %8.1f ms   baseline %8.1f ms   RATIO %.2f (goal <= %s)\n", f, o, b, o / b, g > "/dev/stderr"
      printf "RESULT\t%s\t%.1f\t%.1f\t%.2f\t<= %s\n", f, o, b, o / b, g
    }'
  done
done
