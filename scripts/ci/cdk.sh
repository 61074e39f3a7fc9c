#!/usr/bin/env bash
# Stage: the CDK construct library, built once (scripts/build-npm.sh: wasm + jsii, npm
# pack, the Python wheel) and tested (scripts/test-npm.sh: assertions, the example app
# from the tarball + cfn-lint, the Python app, bench smoke). Needs the Lambda bootstrap
# zip from the lambda stage (npm/lambda/x86_64/bootstrap.zip) and target/debug/depot-migrate.
source "$(dirname "$0")/common.sh"

step "build the CDK library once (scripts/build-npm.sh)"
./scripts/build-npm.sh
cargo build --quiet -p depot-migrate
step "CDK construct library tests (scripts/test-npm.sh)"
./scripts/test-npm.sh
