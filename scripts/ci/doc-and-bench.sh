#!/usr/bin/env bash
# Stage: doc tests and a smoke run of the benchmarks (each benchmark once, as a test;
# benchmarks are never timed tests). Both use the dev profile, so the libraries the
# rust-tests stage built are reused; only the doc tests and bench binaries compile here.
source "$(dirname "$0")/common.sh"

step "doc tests"
cargo test --workspace --doc --quiet
step "benchmark smoke run (cargo test --benches)"
cargo test --workspace --benches --quiet
