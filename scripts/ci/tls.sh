#!/usr/bin/env bash
# Stage: TLS to PostgreSQL with rustls and a throwaway CA (tests/tls-check.sh). The
# cargo build is a no-op after the rust-tests stage, which built the same binary.
source "$(dirname "$0")/common.sh"

step "TLS to PostgreSQL (rustls, a throwaway CA)"
cargo build --quiet -p depot-migrate
tests/tls-check.sh target/debug/depot-migrate
