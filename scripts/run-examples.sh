#!/usr/bin/env bash
# The main job on the embedded default: builds depot-migrate, validates the example dog
# dataset and prints the version hash of each package version in examples/.
# (Later stages apply the plans to SQLite and print lifecycle events to stdout.)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --quiet -p depot-migrate
bin=target/release/depot-migrate
dataset=examples/dogs.dataset.json
"$bin" validate --dataset "$dataset"
for pkg in examples/dogs.v*.package.json; do
  "$bin" validate --package "$pkg" --dataset "$dataset" >/dev/null
  printf '%s  %s\n' "$("$bin" hash --package "$pkg" --dataset "$dataset")" "$pkg"
done
