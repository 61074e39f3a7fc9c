#!/usr/bin/env bash
# The main job on the embedded default (SQLite): builds depot-migrate, validates the
# example dog dataset, prints the version hash of each package version in examples/
# and the migration plan from each version to the next.
# (The executor issue extends this to apply the plans to sqlite:depot.sqlite and print
# lifecycle events to stdout.)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --quiet -p depot-migrate
bin=target/release/depot-migrate
dataset=examples/dogs.dataset.json
"$bin" validate --dataset "$dataset" >/dev/null
echo "== version hashes ($dataset)"
for pkg in examples/dogs.v*.package.json; do
  "$bin" validate --package "$pkg" --dataset "$dataset" >/dev/null
  printf '%s  %s\n' "$("$bin" hash --package "$pkg" --dataset "$dataset")" "$pkg"
done
echo
echo "== plan: empty -> v1"
"$bin" plan --format text --package examples/dogs.v1.package.json --dataset "$dataset"
echo
echo "== plan: v1 -> v2"
"$bin" plan --format text --from-package examples/dogs.v1.package.json --package examples/dogs.v2.package.json --dataset "$dataset"
echo
echo "== plan: v2 -> v3 (v3 drops dog.weight: refused by $dataset, allowed by examples/dogs.v3-allow.dataset.json)"
"$bin" plan --format text --from-package examples/dogs.v2.package.json --package examples/dogs.v3.package.json --dataset "$dataset"
echo
echo "== SQL: v2 -> v3"
"$bin" plan --format sql --from-package examples/dogs.v2.package.json --package examples/dogs.v3.package.json --dataset "$dataset"
echo
# Apply each version in turn to the embedded SQLite database (a fresh file in target/),
# printing the lifecycle events as JSON lines on stdout.
db="sqlite:target/examples-demo.sqlite"
rm -f target/examples-demo.sqlite
for pkg in examples/dogs.v1.package.json examples/dogs.v2.package.json; do
  echo "== apply $pkg ($db, events to stdout)"
  "$bin" apply --package "$pkg" --dataset "$dataset" --db "$db" --events stdout 2>&1
done
echo "== apply examples/dogs.v3.package.json with $dataset (refused: destructive, exit 3)"
"$bin" apply --package examples/dogs.v3.package.json --dataset "$dataset" --db "$db" 2>&1 || echo "(exit $?)"
echo "== apply examples/dogs.v3.package.json with examples/dogs.v3-allow.dataset.json"
"$bin" apply --package examples/dogs.v3.package.json --dataset examples/dogs.v3-allow.dataset.json --db "$db" 2>&1
echo "== status"
"$bin" status --dataset "$dataset" --db "$db"
echo
# The orders service (examples/orders): identity ids, foreign keys, now() timestamps, a
# status enum and checks, over three versions, planned for SQLite and Postgres and
# applied to SQLite.
orders=examples/orders
for ds in "$orders/orders.dataset.json" "$orders/orders.postgres.dataset.json"; do
  prev=""
  for v in v1 v2 v3; do
    pkg="$orders/orders.$v.package.json"
    "$bin" validate --package "$pkg" --dataset "$ds" >/dev/null
    if [ -z "$prev" ]; then
      echo "== orders plan: empty -> $v ($ds)"
      "$bin" plan --format text --package "$pkg" --dataset "$ds"
    else
      echo "== orders plan: $prev -> $v ($ds)"
      "$bin" plan --format text --from-package "$orders/orders.$prev.package.json" --package "$pkg" --dataset "$ds"
    fi
    echo
    prev=$v
  done
done
echo "== orders SQL: v2 -> v3 (postgres)"
"$bin" plan --format sql --from-package "$orders/orders.v2.package.json" --package "$orders/orders.v3.package.json" --dataset "$orders/orders.postgres.dataset.json"
echo
odb="sqlite:target/examples-orders.sqlite"
rm -f target/examples-orders.sqlite
for v in v1 v2 v3; do
  echo "== apply $orders/orders.$v.package.json ($odb)"
  "$bin" apply --package "$orders/orders.$v.package.json" --dataset "$orders/orders.dataset.json" --db "$odb" 2>&1
done
echo "== orders status"
"$bin" status --dataset "$orders/orders.dataset.json" --db "$odb"
