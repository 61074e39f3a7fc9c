#!/usr/bin/env bash
# Tests of the CDK construct library, on what scripts/build-npm.sh built (nothing is
# rebuilt here):
#   1. node --test npm/test/: aws-cdk-lib/assertions for every construct and prop, bad
#      props, the synth error and warnings, every hash vector, API.md up to date;
#   2. examples/cdk-app installed from the tarball into a plain app dir exactly as a user
#      does (npm install aws-cdk-lib constructs ./depot-migrate-cdk-*.tgz), synthesized,
#      cfn-lint on its template, its version hash equal to the native CLI's;
#   3. the Python wheel in a venv with aws-cdk-lib from PyPI: examples/cdk-app/python
#      synthesizes with the same version hash as the CLI, cfn-lint on its template;
#   4. a smoke run of scripts/bench-cdk.sh.
# Needs the native CLI (cargo build -p depot-migrate; DEPOT_MIGRATE_BIN overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

step() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf '[test-npm] FAIL: %s\n' "$*" >&2; exit 1; }
# jsii 6 warns that Node 20 is end-of-life (it still works); the value lists the majors to silence.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=18,20

BIN="${DEPOT_MIGRATE_BIN:-$ROOT/target/debug/depot-migrate}"
[[ -x "$BIN" ]] || fail "native CLI $BIN missing: cargo build -p depot-migrate"
export DEPOT_MIGRATE_BIN="$BIN"
tarball="$(ls "$ROOT"/target/npm/depot-migrate-cdk-*.tgz 2>/dev/null | head -1)"
[[ -f "$tarball" ]] || fail "no tarball in target/npm: run scripts/build-npm.sh"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

CDK_VERSION="$(node -p "require('./npm/package.json').devDependencies['aws-cdk-lib']")"
CONSTRUCTS_VERSION="$(node -p "require('./npm/package.json').devDependencies.constructs")"

step "npm/ tests (node --test on the compiled lib/)"
(cd npm && node --test test/)

step "examples/cdk-app from the tarball in a plain app dir"
app="$WORK/cdk-app"
mkdir -p "$app"
cp -r examples/cdk-app/app.js examples/cdk-app/cdk.json examples/cdk-app/depot "$app/"
cp "$tarball" "$app/"
(
  cd "$app"
  npm init -y >/dev/null
  # The versions the package is built against (in its peer ranges), so CI resolves
  # from the npm cache that `npm ci` filled.
  npm install --no-audit --no-fund --loglevel=error "aws-cdk-lib@$CDK_VERSION" "constructs@$CONSTRUCTS_VERSION" ./"$(basename "$tarball")"
  CDK_OUTDIR="$app/cdk.out" node app.js 2>"$WORK/app.stderr" || { cat "$WORK/app.stderr" >&2; exit 1; }
)
cat "$WORK/app.stderr" >&2
template="$app/cdk.out/DepotExample.template.json"
[[ -f "$template" ]] || fail "no template at $template"
grep -q 'rename column dog.owner_name to owner' "$WORK/app.stderr" || fail "the rename warning is missing from synth"
cfn-lint --ignore-checks W3005 -- "$template" || fail "cfn-lint on $template"
out() { node -e "process.stdout.write(require(process.argv[1]).Outputs[process.argv[2]].Value)" "$1" "$2"; }
want="$("$BIN" hash --package examples/cdk-app/depot/dogs.package.json --dataset examples/cdk-app/depot/dogs.dataset.json)"
got="$(out "$template" DogsVersionHash)"
[[ "$got" == "$want" ]] || fail "example app versionHash $got != depot-migrate hash $want"
want_cats="$("$BIN" hash --package examples/cdk-app/depot/cats.package.json --dataset examples/cdk-app/depot/cats.dataset.json)"
[[ "$(out "$template" CatsVersionHash)" == "$want_cats" ]] || fail "cats versionHash differs from the CLI"
plan_hash="$("$BIN" plan --from-package examples/cdk-app/depot/dogs.deployed.json --package examples/cdk-app/depot/dogs.package.json --dataset examples/cdk-app/depot/dogs.dataset.json | node -e "process.stdout.write(JSON.parse(require('fs').readFileSync(0,'utf8')).planHash)")"
[[ "$(out "$template" DogsPlanHash)" == "$plan_hash" ]] || fail "example app planHash differs from depot-migrate plan"
echo "example app: versionHash $got = CLI, planHash $plan_hash = CLI, cfn-lint clean" >&2

step "Python target: the wheel + aws-cdk-lib==$CDK_VERSION from PyPI"
VENV="$ROOT/target/cdk-py-venv"
whl="$(ls "$ROOT"/target/npm/python/*.whl 2>/dev/null | head -1)"
[[ -f "$whl" ]] || fail "no wheel in target/npm/python: run scripts/build-npm.sh"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$whl"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$whl" # its dependencies, if any are missing
py_out="$("$VENV/bin/python" examples/cdk-app/python/app.py "$WORK/py.out")"
echo "$py_out" >&2
pyget() { node -e "process.stdout.write(String(JSON.parse(process.argv[1])[process.argv[2]]))" "$py_out" "$1"; }
[[ "$(pyget dogsVersionHash)" == "$want" ]] || fail "Python versionHash $(pyget dogsVersionHash) != depot-migrate hash $want"
[[ "$(pyget catsVersionHash)" == "$want_cats" ]] || fail "Python cats versionHash (from a dict with None) differs from the CLI"
[[ "$(pyget errors)" == "0" ]] || fail "Python synth reported errors"
node -e '
const g = JSON.parse(process.argv[1]).gateErrors;
if (g.length !== 1 || !g[0].startsWith("/DepotGatePy/Refused: ") || !g[0].includes("dropColumn:dog.weight")) {
  console.error("expected one synth error on DepotGatePy/Refused naming dropColumn:dog.weight, got", g); process.exit(1);
}' "$py_out" || fail "the destructive gate through Python (AllowDestructive.steps) did not behave"
cfn-lint --ignore-checks W3005 -- "$(pyget template)" || fail "cfn-lint on the Python app's template"
echo "Python app: versionHash = CLI for both datasets, destructive gate and AllowDestructive.steps work, cfn-lint clean" >&2

step "CDK benchmark smoke run (scripts/bench-cdk.sh --smoke)"
./scripts/bench-cdk.sh --smoke
