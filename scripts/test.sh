#!/usr/bin/env bash
# Runs every test: exactly what CI runs (.ci/run). Each stage is a script of its own in
# scripts/ci/ that also runs alone (after scripts/ci/setup.sh, which does all the
# installing):
#
#   setup          install what every stage needs (nothing installs after this)
#   lint           cargo fmt --check, clippy (workspace and wasm32), vectors = rfc8785
#   rust-tests     cargo nextest, with a throwaway PostgreSQL and moto_server
#   tls            TLS to PostgreSQL with rustls
#   lambda         static x86_64 musl bootstrap (profile lambda-ci), cold start, Lambda tests on it
#   wasm           the wasm build and its Node tests (same vectors as Rust and the CLI)
#   cdk            the CDK library built once, its tests, example apps (JS and Python), cfn-lint
#   doc-and-bench  doc tests and the benchmark smoke run
#
# Each stage prints its wall-clock and CPU time when it ends. `scripts/test.sh STAGE...`
# runs only the stages named (after setup), in the order given.
set -euo pipefail
cd "$(dirname "$0")/.."

STAGES=(lint rust-tests tls lambda wasm cdk doc-and-bench)
(($# > 0)) && STAGES=("$@")
for s in "${STAGES[@]}"; do
  [[ -x "scripts/ci/$s.sh" && "$s" != setup ]] || { echo "unknown stage $s (scripts/ci/*.sh)" >&2; exit 2; }
done

start=$SECONDS
./scripts/ci/setup.sh
for s in "${STAGES[@]}"; do
  "./scripts/ci/$s.sh"
done
printf '\n[test.sh] all stages passed in %d s\n' "$((SECONDS - start))" >&2
