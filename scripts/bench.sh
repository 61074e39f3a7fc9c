#!/usr/bin/env bash
# Version-hash benchmark: how much slower is `depot-migrate hash` than plain SHA-256 of
# the same canonical bytes? The goal is a ratio of at most 3.
#
#   scripts/bench.sh            full run: criterion (core/benches/hash.rs, ~20 MB
#                               package) and the CLI against the sha256sum command
#   scripts/bench.sh --quick    skip criterion's measurements (its test mode); still
#                               generates the 20 MB package, prints the in-process
#                               RATIO line and times the CLI against sha256sum
#
# Steps:
#   1. cargo bench -p depot-migrate-core --bench hash, with BENCH_WRITE_DATA=1 so the
#      bench also writes the generated package.json, dataset.json, canonical.json (the
#      exact bytes the hash is over) and version-hash.txt to target/bench-data/. The
#      bench prints `RATIO hash/sha256 = X.XX (goal <= 3.0)` from its own timing loop.
#   2. Checks the CLI against the data: `depot-migrate hash` equals `sha256sum` of
#      canonical.json, and `depot-migrate hash --canonical` prints canonical.json.
#   3. Times `sha256sum canonical.json` and `depot-migrate hash --package package.json
#      --dataset dataset.json` (release build), both whole processes reading files,
#      with hyperfine if it is installed, else a bash loop over `date +%s%N` (median of
#      RUNS), and prints `RATIO cli/sha256sum = X.XX (goal <= 3.0)`.
#
# Environment: BENCH_PACKAGE_MB (package size, default 20), RUNS (CLI timing runs,
# default 15), and the bench's own knobs (see core/benches/hash.rs).
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

runs="${RUNS:-15}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
data="$target_dir/bench-data"
export BENCH_WRITE_DATA=1 BENCH_DATA_DIR="$data" BENCH_PACKAGE_MB="${BENCH_PACKAGE_MB:-20}"

step() { printf '\n==> %s\n' "$*" >&2; }

step "build the release CLI"
cargo build --release --quiet -p depot-migrate
cli="$target_dir/release/depot-migrate"

if [ "$quick" = 1 ]; then
  step "cargo bench -p depot-migrate-core --bench hash -- --test (quick: no criterion measurements)"
  cargo bench --quiet -p depot-migrate-core --bench hash -- --test
else
  step "cargo bench -p depot-migrate-core --bench hash"
  cargo bench -p depot-migrate-core --bench hash
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
echo "ok: $expected" >&2

step "time sha256sum and depot-migrate hash ($(du -h "$pkg" | cut -f1) package, $(du -h "$canon" | cut -f1) canonical)"
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

if command -v hyperfine >/dev/null; then
  csv="$(mktemp)"
  trap 'rm -f "$csv"' EXIT
  hyperfine --warmup 2 --runs "$runs" --export-csv "$csv" \
    -n sha256sum "sha256sum '$canon'" \
    -n depot-migrate "'$cli' hash --package '$pkg' --dataset '$ds'" >&2
  # Columns: command,mean,stddev,median,user,system,min,max (seconds).
  sha_ns="$(awk -F, '$1 == "sha256sum" { printf "%d", $4 * 1e9 }' "$csv")"
  cli_ns="$(awk -F, '$1 == "depot-migrate" { printf "%d", $4 * 1e9 }' "$csv")"
  tool="hyperfine"
else
  sha_ns="$(median_ns sha256sum "$canon")"
  cli_ns="$(median_ns "$cli" hash --package "$pkg" --dataset "$ds")"
  tool="bash loop"
fi

awk -v s="$sha_ns" -v c="$cli_ns" -v runs="$runs" -v tool="$tool" 'BEGIN {
  printf "sha256sum canonical.json          %9.2f ms (median of %d, %s)\n", s / 1e6, runs, tool
  printf "depot-migrate hash (release CLI)  %9.2f ms\n", c / 1e6
  printf "RATIO cli/sha256sum = %.2f (goal <= 3.0)\n", c / s
}'
