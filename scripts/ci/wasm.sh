#!/usr/bin/env bash
# Stage: the wasm build (scripts/build-wasm.sh -> npm/wasm/) and its tests under Node:
# the same vectors, bad inputs and plans as the Rust core and the CLI (tests/wasm/).
# Needs target/debug/depot-migrate (built here when missing; a no-op after rust-tests).
source "$(dirname "$0")/common.sh"

step "wasm build (scripts/build-wasm.sh)"
./scripts/build-wasm.sh
cargo build --quiet -p depot-migrate
step "wasm tests under Node (tests/wasm/)"
node --test tests/wasm/
