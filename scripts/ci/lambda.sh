#!/usr/bin/env bash
# Stage: the static x86_64 musl Lambda bootstrap, zipped where the CDK package finds it
# (npm/lambda/x86_64/bootstrap.zip), its cold start against the local runtime API, and
# the Lambda tests again on it. Built with the `lambda-ci` profile (Cargo.toml: no LTO,
# for build time); the release / pack path builds with `release`.
source "$(dirname "$0")/common.sh"
export DEPOT_LAMBDA_PROFILE="${DEPOT_LAMBDA_PROFILE:-lambda-ci}"
bootstrap="${CARGO_TARGET_DIR:-$PWD/target}/x86_64-unknown-linux-musl/$DEPOT_LAMBDA_PROFILE/depot-migrate"

step "Lambda bootstrap (scripts/build-lambda.sh x86_64, profile $DEPOT_LAMBDA_PROFILE; cold start against the local runtime API)"
./scripts/build-lambda.sh --cold-start x86_64
step "Lambda tests again, on the static bootstrap that the npm package ships"
DEPOT_LAMBDA_BOOTSTRAP="$bootstrap" ./scripts/with-services.sh cargo nextest run -p depot-migrate -E 'binary(lambda)'
