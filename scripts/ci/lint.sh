#!/usr/bin/env bash
# Stage: formatting and lints, and the test vectors checked against the independent
# Python rfc8785 implementation. Needs scripts/ci/setup.sh (the wasm32 target, rfc8785).
source "$(dirname "$0")/common.sh"

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo clippy, wasm crate for wasm32"
cargo clippy -p depot-migrate-wasm --target wasm32-unknown-unknown --quiet -- -D warnings
step "test vectors are what rfc8785 computes (tests/vectors/generate.py --check)"
python3 tests/vectors/generate.py --check
