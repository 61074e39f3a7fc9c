#!/usr/bin/env bash
# Runs every benchmark and prints one table of ratios: figure, ours, baseline, ratio, goal.
# Benchmarks, not timed tests: each ratio is against a baseline measured in the same run,
# and nothing here fails on a time (only when a run fails or two sides disagree). CI runs
# them only as a smoke run (`cargo test --benches` in scripts/test.sh,
# `scripts/bench-cdk.sh --smoke` in scripts/test-npm.sh).
#
#   scripts/bench.sh            full run of every benchmark below
#   scripts/bench.sh --quick    criterion in its test mode (no measurements; the plan
#                               bench then uses 200 tables), 3 apply rounds, CDK smoke
#                               sizes; the CLI figures are still measured
#   BENCHES="hash apply" scripts/bench.sh   only those (default: hash plan apply cdk)
#
# The benchmarks:
#   hash   core/benches/hash.rs (criterion + its in-process split of the hash into
#          parsing, validation and digest, over a ~20 MB package it writes to
#          target/bench-data/), then the release CLI as whole processes reading files:
#          `depot-migrate hash` and `depot-migrate validate` against `sha256sum` of the
#          canonical bytes the hash is over (checked equal first). Median of RUNS, with
#          hyperfine if installed, else a bash loop.
#   plan   core/benches/plan.rs: plan of 10,000 tables x 20 columns, 10 % changed,
#          against the version hashes of its two inputs.
#   apply  scripts/bench-apply.sh: `apply` of 500- and 2,000-step plans against
#          `psql -1` and the `sqlite3` shell on the same SQL.
#   cdk    scripts/bench-cdk.sh: wasm vs native for validate, hash and plan; synth of 50
#          services with and without a DatasetMigration; the core's load cost. Needs
#          npm/ built (scripts/build-npm.sh); skipped with a note otherwise.
#
# Environment: BENCH_PACKAGE_MB (hash package size, default 20), RUNS (CLI timing runs,
# default 15), and each script's own knobs. Baseline tools: scripts/setup-bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (use --quick or --help)" >&2
      exit 2
      ;;
  esac
done

benches="${BENCHES:-hash plan apply cdk}"
runs="${RUNS:-15}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
data="$target_dir/bench-data"
export BENCH_WRITE_DATA=1 BENCH_DATA_DIR="$data" BENCH_PACKAGE_MB="${BENCH_PACKAGE_MB:-20}"
results="$(mktemp)"
trap 'rm -f "$results" "$results".*' EXIT

step() { printf '\n==> %s\n' "$*" >&2; }
# result FIGURE OURS_MS BASELINE_MS GOAL
result() {
  awk -v f="$1" -v o="$2" -v b="$3" -v g="$4" 'BEGIN { printf "RESULT\t%s\t%.1f\t%.1f\t%.2f\t%s\n", f, o, b, o / b, g }' >>"$results"
}
has() { [[ " $benches " == *" $1 "* ]]; }

cli="$target_dir/release/depot-migrate"
if has hash || has apply; then
  step "build the release CLI"
  cargo build --release --quiet -p depot-migrate
fi

# Prints the median wall time in nanoseconds of RUNS runs of the command.
median_ns() {
  local times=() i start end
  "$@" >/dev/null # warm-up: page cache
  for ((i = 0; i < runs; i++)); do
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    times+=($((end - start)))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

if has hash; then
  if [ "$quick" = 1 ]; then
    step "cargo bench -p depot-migrate-core --bench hash -- --test (quick: no criterion measurements)"
    cargo bench --quiet -p depot-migrate-core --bench hash -- --test | tee "$results.hash"
  else
    step "cargo bench -p depot-migrate-core --bench hash"
    cargo bench -p depot-migrate-core --bench hash | tee "$results.hash"
  fi

  pkg="$data/package.json"
  ds="$data/dataset.json"
  canon="$data/canonical.json"

  step "check the CLI against sha256sum of the canonical bytes"
  expected="$(cat "$data/version-hash.txt")"
  from_sha256sum="$(sha256sum "$canon" | cut -d' ' -f1)"
  from_cli="$("$cli" hash --package "$pkg" --dataset "$ds")"
  if [ "$from_sha256sum" != "$expected" ] || [ "$from_cli" != "$expected" ]; then
    echo "hash mismatch: bench $expected, sha256sum $from_sha256sum, cli $from_cli" >&2
    exit 1
  fi
  # The CLI may end its output with a newline; compare the bytes without it.
  if ! cmp -s <("$cli" hash --canonical --package "$pkg" --dataset "$ds" | head -c "$(stat -c %s "$canon")") "$canon"; then
    echo "depot-migrate hash --canonical differs from the bench's canonical bytes" >&2
    exit 1
  fi
  "$cli" validate --package "$pkg" --dataset "$ds" >/dev/null
  echo "ok: $expected" >&2

  mb="$(du -m "$pkg" | cut -f1)"
  step "time sha256sum, depot-migrate hash and validate (${mb} MB package, $(du -h "$canon" | cut -f1) canonical)"
  if command -v hyperfine >/dev/null; then
    csv="$results.csv"
    hyperfine --warmup 2 --runs "$runs" --export-csv "$csv" \
      -n sha256sum "sha256sum '$canon'" \
      -n hash "'$cli' hash --package '$pkg' --dataset '$ds'" \
      -n validate "'$cli' validate --package '$pkg' --dataset '$ds'" >&2
    # Columns: command,mean,stddev,median,user,system,min,max (seconds).
    sha_ns="$(awk -F, '$1 == "sha256sum" { printf "%d", $4 * 1e9 }' "$csv")"
    cli_ns="$(awk -F, '$1 == "hash" { printf "%d", $4 * 1e9 }' "$csv")"
    val_ns="$(awk -F, '$1 == "validate" { printf "%d", $4 * 1e9 }' "$csv")"
  else
    # Interleaved: one median each, measured one after the other, twice.
    sha_ns="$(median_ns sha256sum "$canon")"
    cli_ns="$(median_ns "$cli" hash --package "$pkg" --dataset "$ds")"
    val_ns="$(median_ns "$cli" validate --package "$pkg" --dataset "$ds")"
  fi
  ms() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e6 }'; }
  result "hash CLI (${mb} MB package) vs sha256sum" "$(ms "$cli_ns")" "$(ms "$sha_ns")" "<= 1.5"
  result "validate CLI (${mb} MB package) vs sha256sum" "$(ms "$val_ns")" "$(ms "$sha_ns")" "<= 1.5"
  # The in-process figure of the criterion bench.
  awk -F'[ =(]+' '/^RATIO hash\/sha256 =/ { print "RATIO_INPROC", $4 }' "$results.hash" >&2 || true
fi

if has plan; then
  if [ "$quick" = 1 ]; then
    step "cargo bench -p depot-migrate-core --bench plan -- --test (quick: 200 tables)"
    cargo bench --quiet -p depot-migrate-core --bench plan -- --test | tee "$results.plan"
  else
    step "cargo bench -p depot-migrate-core --bench plan"
    cargo bench -p depot-migrate-core --bench plan | tee "$results.plan"
  fi
  # "plan of T tables x 20 columns, C changed (S steps): P ms; version hashes of both: H ms"
  line="$(grep '^plan of ' "$results.plan" | tail -n 1)"
  tables="$(sed -E 's/^plan of ([0-9]+) tables.*/\1/' <<<"$line")"
  p_ms="$(sed -E 's/.*\): ([0-9.]+) ms;.*/\1/' <<<"$line")"
  h_ms="$(sed -E 's/.*both: ([0-9.]+) ms.*/\1/' <<<"$line")"
  result "plan ${tables} tables x 20 cols, 10% changed, vs hash of both" "$p_ms" "$h_ms" "<= 5.0"
fi

if has apply; then
  step "scripts/bench-apply.sh"
  apply_rounds=$([[ $quick == 1 ]] && echo 3 || echo "${ROUNDS:-5}")
  ROUNDS="$apply_rounds" DEPOT_BIN="$cli" scripts/bench-apply.sh | grep '^RESULT' >>"$results"
fi

if has cdk; then
  if [[ -f npm/wasm/depot_migrate_wasm_bg.wasm && -f npm/lib/index.js ]]; then
    step "scripts/bench-cdk.sh"
    scripts/bench-cdk.sh $([[ $quick == 1 ]] && echo --smoke) | tee "$results.cdk" | grep -v '^RESULT' || true
    grep '^RESULT' "$results.cdk" >>"$results" || true
  else
    printf 'RESULT\tcdk: skipped (npm/ not built: scripts/build-npm.sh)\t-\t-\t-\t-\n' >>"$results"
  fi
fi

step "results$([[ $quick == 1 ]] && echo ' (quick)'); $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk -F'\t' '
  BEGIN { printf "%-58s %12s %12s %7s %8s\n", "figure", "ours ms", "baseline ms", "ratio", "goal" }
  $1 == "RESULT" { printf "%-58s %12s %12s %7s %8s\n", $2, $3, $4, $5, $6 }
' "$results"
