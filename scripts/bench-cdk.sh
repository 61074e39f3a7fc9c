#!/usr/bin/env bash
# Benchmarks of the CDK side (not timed tests: each prints ratios against a baseline
# measured in the same run; nothing here fails on a time):
#   1. wasm vs native for the core calls, on the same generated files: validate (parse +
#      validate), versionHash (parse + canonical JSON + SHA-256) and plan, medians in
#      process (Node for wasm, wasm/examples/native_timing.rs natively), plus the native
#      split of the hash into parsing and digest (canonical JSON + SHA-256).
#      Goal: wasm <= 1.5x native.
#   2. synth of an app of 50 services (a Lambda function with its code as an asset, an SQS queue and a DynamoDB
#      table each) with a DatasetMigration each vs the same app without: whole `node`
#      process and in-process construction + synth, CDK's built-in template validation
#      off in both (it adds seconds to both and would flatter the ratio). Goal <= 1.2x.
#   3. the wasm module's size, raw and gzipped. Goal <= 400 KB gzipped.
#   4. the core's fixed cost per process: the first DatasetMigration's construction time
#      less a later one's (the first loads the core), and the `require` of the wasm glue
#      alone (read + compile + instantiate) with the first call after it. Goal <= 50 ms.
# Ends with `RESULT<TAB>figure<TAB>ours<TAB>baseline<TAB>ratio<TAB>goal` lines for
# scripts/bench.sh.
#
#   scripts/bench-cdk.sh          full run (release native build; sizes of 2 MB packages)
#   scripts/bench-cdk.sh --smoke  tiny inputs, 1-3 runs, debug native build: checks the
#                                 bench runs and both sides hash alike (CI)
# Needs npm/ built (scripts/build-npm.sh or `cd npm && npm run build`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

smoke=0
case "${1:-}" in
  --smoke) smoke=1 ;;
  "") ;;
  *) echo "usage: scripts/bench-cdk.sh [--smoke]" >&2; exit 2 ;;
esac
[[ -f npm/wasm/depot_migrate_wasm_bg.wasm && -f npm/lib/index.js ]] || { echo "npm/ is not built: scripts/build-npm.sh" >&2; exit 1; }

step() { printf '\n==> %s\n' "$*" >&2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if ((smoke)); then
  TABLES=20 COLUMNS=10 RUNS=3 SERVICES=3 SYNTH_RUNS=1 PROFILE=dev
else
  TABLES=${BENCH_TABLES:-400} COLUMNS=${BENCH_COLUMNS:-20} RUNS=${RUNS:-15} SERVICES=${SERVICES:-50} SYNTH_RUNS=${SYNTH_RUNS:-5} PROFILE=release
fi

step "generate packages ($TABLES tables x $COLUMNS columns)"
node -e '
const fs = require("fs"); const { pkg, dataset } = require(process.argv[1]);
const [dir, t, c] = [process.argv[2], +process.argv[3], +process.argv[4]];
fs.writeFileSync(dir + "/next.package.json", JSON.stringify(pkg(t, c, true), null, 2));
fs.writeFileSync(dir + "/prev.package.json", JSON.stringify(pkg(t, c, false), null, 2));
fs.writeFileSync(dir + "/dataset.json", JSON.stringify(dataset, null, 2));
' "$ROOT/npm/bench/gen.cjs" "$WORK" "$TABLES" "$COLUMNS"
size_kb=$(( $(wc -c <"$WORK/next.package.json") / 1024 ))
echo "package: $size_kb KiB" >&2

step "native timing (cargo build --profile $PROFILE --example native_timing -p depot-migrate-wasm)"
cargo build --quiet --profile "$PROFILE" --example native_timing -p depot-migrate-wasm
dir=$([[ $PROFILE == dev ]] && echo debug || echo release)
native="$("${CARGO_TARGET_DIR:-target}/$dir/examples/native_timing" "$WORK/next.package.json" "$WORK/dataset.json" "$WORK/prev.package.json" "$RUNS")"
wasm="$(node npm/bench/core-bench.cjs "$WORK/next.package.json" "$WORK/dataset.json" "$WORK/prev.package.json" "$RUNS")"

step "synth: $SERVICES services with and without a DatasetMigration each ($SYNTH_RUNS runs, alternating)"
synth_json="["
for ((i = 0; i < SYNTH_RUNS; i++)); do
  for with in 0 1; do
    s=$(date +%s%N)
    # CDK_VALIDATION=false: CDK's built-in template validation takes seconds of its own
    # in both apps, which would make the ratio look better than the construct's cost.
    r="$(cd npm/bench && CDK_VALIDATION=false WITH_DEPOT=$with SERVICES=$SERVICES OUTDIR="$WORK/out-$with" node synth-app.cjs 2>/dev/null)"
    e=$(date +%s%N)
    synth_json+="{\"with\":$with,\"processMs\":$(((e - s) / 1000000)),\"r\":$r},"
  done
done
synth_json="${synth_json%,}]"
# The plan assets of the 50 datasets are in the assembly.
assets=$(ls "$WORK/out-1" | grep -c '^asset\..*\.json$' || true)
((assets == SERVICES)) || { echo "expected $SERVICES plan assets in the assembly, found $assets" >&2; exit 1; }

wasm_file=npm/wasm/depot_migrate_wasm_bg.wasm
raw=$(wc -c <"$wasm_file")
gz=$(gzip -9 -c "$wasm_file" | wc -c)

node -e '
const [native, wasm, synth, raw, gz, smoke] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2]), JSON.parse(process.argv[3]), +process.argv[4], +process.argv[5], process.argv[6] === "1"];
if (native.versionHash !== wasm.versionHash) { console.error(`hash mismatch: native ${native.versionHash}, wasm ${wasm.versionHash}`); process.exit(1); }
const f = (x) => x.toFixed(2).padStart(9);
const row = (name, n, w, goal) => console.log(`${name.padEnd(28)} native ${f(n)} ms   wasm ${f(w)} ms   RATIO wasm/native = ${(w / n).toFixed(2)}${goal ? ` (goal <= ${goal})` : ""}`);
console.log(`\nCore calls (same files, medians in process)${smoke ? " [smoke: tiny inputs, debug native build; ratios meaningless]" : ""}`);
row("parse + validate (validate)", native.parse, wasm.parse, "1.5");
row("hash (versionHash)", native.hash, wasm.hash, "1.5");
console.log(`  native split of the hash: digest (canonical JSON + SHA-256 of the parsed model) ${native.digest.toFixed(2)} ms, the rest is parsing; the wasm build exports no digest-only call`);
row("plan", native.plan, wasm.plan, "1.5");
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const pick = (w, k) => med(synth.filter((x) => x.with === w).map(k));
const p0 = pick(0, (x) => x.processMs), p1 = pick(1, (x) => x.processMs);
const s0 = pick(0, (x) => x.r.synthMs), s1 = pick(1, (x) => x.r.synthMs);
console.log(`\nSynth (median of ${synth.length / 2} runs each)`);
console.log(`${"whole node process".padEnd(28)} without ${f(p0)} ms   with ${f(p1)} ms   RATIO with/without = ${(p1 / p0).toFixed(2)} (goal <= 1.2)`);
console.log(`${"app construction + synth".padEnd(28)} without ${f(s0)} ms   with ${f(s1)} ms   RATIO with/without = ${(s1 / s0).toFixed(2)}`);
const firsts = synth.filter((x) => x.with === 1);
const first = med(firsts.map((x) => x.r.firstMigrationMs)), other = med(firsts.map((x) => x.r.otherMigrationMs));
console.log(`${"first DatasetMigration".padEnd(28)} ${f(first)} ms; each later one ${f(other)} ms; fixed cost ${f(first - other)} ms (goal <= 50)`);
console.log(`${"core load (require)".padEnd(28)} ${f(wasm.loadMs)} ms read + compile + instantiate; first call ${f(wasm.firstCallMs)} ms`);
console.log(`\nwasm module: ${raw} bytes (${(raw / 1024).toFixed(0)} KiB), ${gz} bytes gzipped (${(gz / 1024).toFixed(0)} KiB; goal <= 400 KB)`);
// Rows for scripts/bench.sh: figure, ours, baseline, ratio, goal.
const res = (name, o, b, goal) => console.log(["RESULT", name, o.toFixed(1), b.toFixed(1), (o / b).toFixed(2), goal].join("\t"));
res("wasm vs native: validate", wasm.parse, native.parse, "<= 1.5");
res("wasm vs native: hash", wasm.hash, native.hash, "<= 1.5");
res("wasm vs native: plan", wasm.plan, native.plan, "<= 1.5");
res(`synth ${process.argv[7]} services with/without DatasetMigration (process)`, p1, p0, "<= 1.2");
res("first DatasetMigration fixed cost vs 50 ms budget", first - other, 50, "<= 1.0");
' "$native" "$wasm" "$synth_json" "$raw" "$gz" "$smoke" "$SERVICES"
