#!/usr/bin/env bash
# Stage 0: installs everything the other stages need, idempotently (each step is skipped
# when what it installs is already there). No other stage installs anything.
#   - scripts/setup.sh: Python packages (rfc8785, sqlglot, moto_server, cfn-lint), the
#     Snowflake SQL API stand-in's venv, cargo-nextest;
#   - scripts/pg.sh install: Debian's PostgreSQL for the throwaway test servers;
#   - openssl for tests/tls-check.sh;
#   - scripts/build-wasm.sh --setup: the wasm32 target and wasm-bindgen-cli;
#   - scripts/setup-npm.sh: npm ci in npm/, the Python venv with aws-cdk-lib;
#   - scripts/build-lambda.sh --setup x86_64: the musl target and musl-tools.
source "$(dirname "$0")/common.sh"

step "scripts/setup.sh"
./scripts/setup.sh
step "PostgreSQL (scripts/pg.sh install)"
./scripts/pg.sh install
step "openssl (tests/tls-check.sh)"
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }
step "wasm32 target and wasm-bindgen-cli (scripts/build-wasm.sh --setup)"
./scripts/build-wasm.sh --setup
step "npm ci and the aws-cdk-lib Python venv (scripts/setup-npm.sh)"
./scripts/setup-npm.sh
step "musl target and musl-tools (scripts/build-lambda.sh --setup x86_64)"
./scripts/build-lambda.sh --setup x86_64
