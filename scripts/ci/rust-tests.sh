#!/usr/bin/env bash
# Stage: every Rust unit and integration test, with a throwaway PostgreSQL and
# moto_server (scripts/with-services.sh). Builds target/debug/depot-migrate, which the
# tls, cdk and wasm stages reuse.
source "$(dirname "$0")/common.sh"

step "cargo nextest run (with a throwaway PostgreSQL and moto_server: scripts/with-services.sh)"
./scripts/with-services.sh cargo nextest run --workspace --no-fail-fast
