#!/usr/bin/env bash
# Runs every test: formatting and lints, the cross-language vectors against the
# independent Python rfc8785 implementation, the Rust unit/integration/doc tests, and a
# smoke run of the benchmarks. This is exactly what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/pg.sh install

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "test vectors are what rfc8785 computes (tests/vectors/generate.py --check)"
python3 tests/vectors/generate.py --check

step "cargo nextest run (with a throwaway PostgreSQL: scripts/with-services.sh)"
./scripts/with-services.sh cargo nextest run --workspace --no-fail-fast

step "TLS to PostgreSQL (rustls, a throwaway CA)"
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }
cargo build --quiet -p depot-migrate
tests/tls-check.sh target/debug/depot-migrate

# --- wasm + CDK construct library (npm/): set up, build once, test many ---
step "wasm + npm setup (wasm32 target, wasm-bindgen-cli at Cargo.lock's version; scripts/setup-npm.sh: npm ci, Python venv with aws-cdk-lib)"
./scripts/build-wasm.sh --setup
./scripts/setup-npm.sh

step "Lambda bootstrap (scripts/build-lambda.sh: static x86_64 musl, stripped, zipped into npm/lambda/x86_64/bootstrap.zip, file check; cold start against the local runtime API)"
./scripts/build-lambda.sh --setup x86_64
./scripts/build-lambda.sh --cold-start x86_64
step "Lambda tests again, on the static bootstrap that the npm package ships"
DEPOT_LAMBDA_BOOTSTRAP="$PWD/target/x86_64-unknown-linux-musl/release/depot-migrate" ./scripts/with-services.sh cargo nextest run -p depot-migrate -E 'binary(lambda)'

step "build the CDK library once (scripts/build-npm.sh: wasm + jsii, npm pack, jsii-pacmak python)"
./scripts/build-npm.sh
cargo clippy -p depot-migrate-wasm --target wasm32-unknown-unknown --quiet -- -D warnings

step "wasm tests under Node: the same vectors, bad inputs and plans as the Rust core and the CLI"
node --test tests/wasm/

step "CDK construct library (scripts/test-npm.sh): assertions, example app from the tarball + cfn-lint, Python wheel app, bench smoke"
./scripts/test-npm.sh
# --- end wasm + CDK ---

step "doc tests"
cargo test --workspace --doc --quiet

step "benchmark smoke run (cargo test --benches)"
cargo test --workspace --benches --quiet
