#!/usr/bin/env bash
# Builds the Lambda package of the executor: the `depot-migrate` binary, static
# (musl), stripped, zipped as `bootstrap` for the provided.al2023 runtime, into
#
#   npm/lambda/x86_64/bootstrap.zip   (Debian musl-tools)
#   npm/lambda/arm64/bootstrap.zip    (cargo-lambda from PyPI, which bundles zig)
#
# where the CDK package (MigrationRunner) finds them. Prints build time, binary and zip
# size per architecture, and checks each binary with `file` (static, right machine).
#
#   scripts/build-lambda.sh --setup                  install what the builds need
#   scripts/build-lambda.sh [x86_64|arm64|all]       build (default: all)
#   scripts/build-lambda.sh --cold-start [ARCH]      also measure the cold start of the
#                                                    x86_64 bootstrap against the local
#                                                    runtime API (tests/lambda-runtime/)
#
# CI builds x86_64 only, with DEPOT_LAMBDA_PROFILE=lambda-ci (Cargo.toml: no LTO, for
# build time; scripts/ci/lambda.sh); the release / pack job builds both with the default
# profile, release. Binaries are taken from cargo's target directory: CARGO_TARGET_DIR
# when set, else target/. `npm pack` refuses a tarball without the zips
# (npm/scripts/check-bootstraps.js).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

log() { printf '[build-lambda] %s\n' "$*" >&2; }
CARGO_LAMBDA_VERSION=1.9.2
PROFILE="${DEPOT_LAMBDA_PROFILE:-release}" # the x86_64 build's cargo profile

setup() {
  rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl >/dev/null
  if ! command -v musl-gcc >/dev/null; then
    log "apt-get install musl-tools"
    apt-get update -qq && apt-get install -y -qq musl-tools >/dev/null
  fi
  command -v file >/dev/null || { apt-get update -qq && apt-get install -y -qq file >/dev/null; }
  if [[ "${1:-all}" != x86_64 ]]; then
    if [[ "$(cargo lambda --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LAMBDA_VERSION" ]]; then
      log "pip install cargo-lambda==$CARGO_LAMBDA_VERSION"
      python3 -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
    fi
  fi
  log "setup ok"
}

# zip FILE -> ZIP with one member `bootstrap`, mode 0755, fixed timestamp (reproducible).
zip_bootstrap() {
  python3 - "$1" "$2" <<'PY'
import sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)
info.compress_type = zipfile.ZIP_DEFLATED
with open(src, "rb") as f, zipfile.ZipFile(dst, "w") as z:
    z.writestr(info, f.read(), compresslevel=9)
PY
}

check_file() { # BINARY EXPECTED_MACHINE
  local desc
  desc="$(file -b "$1")"
  log "file: $desc"
  [[ "$desc" == *"$2"* ]] || { log "error: $1 is not a $2 binary"; exit 1; }
  [[ "$desc" == *"statically linked"* || "$desc" == *"static-pie linked"* ]] ||
    { log "error: $1 is not statically linked"; exit 1; }
}

build() { # ARCH
  local arch="$1" target bin start secs out
  out="npm/lambda/$arch"
  mkdir -p "$out"
  start=$(date +%s)
  # Stripped release build; the workspace's release profile otherwise.
  export CARGO_PROFILE_RELEASE_STRIP=symbols
  case "$arch" in
    x86_64)
      target=x86_64-unknown-linux-musl
      cargo build --quiet --profile "$PROFILE" --locked -p depot-migrate --bin depot-migrate --target "$target"
      bin="$TARGET_DIR/$target/$PROFILE/depot-migrate"
      check_file "$bin" "x86-64"
      ;;
    arm64)
      target=aarch64-unknown-linux-musl
      cargo lambda build --quiet --release --locked -p depot-migrate --bin depot-migrate --target "$target" >&2
      # cargo-lambda moves the binary to <target dir>/lambda/<bin>/bootstrap.
      bin="$TARGET_DIR/lambda/depot-migrate/bootstrap"
      check_file "$bin" "ARM aarch64"
      ;;
    *) log "unknown architecture $arch (x86_64 or arm64)"; exit 2 ;;
  esac
  secs=$(($(date +%s) - start))
  zip_bootstrap "$bin" "$out/bootstrap.zip"
  awk -v a="$arch" -v s="$secs" -v b="$(stat -c %s "$bin")" -v z="$(stat -c %s "$out/bootstrap.zip")" -v f="$out/bootstrap.zip" \
    'BEGIN { printf "%-7s build %4d s   binary %5.1f MB   zip %4.1f MB   %s\n", a, s, b / 1048576, z / 1048576, f }'

}

cold_start=0
archs=()
for a in "$@"; do
  case "$a" in
    --setup) setup "${2:-all}"; exit 0 ;;
    --cold-start) cold_start=1 ;;
    all) archs+=(x86_64 arm64) ;;
    *) archs+=("$a") ;;
  esac
done
((${#archs[@]})) || archs=(x86_64 arm64)
for a in "${archs[@]}"; do build "$a"; done
if ((cold_start)); then
  python3 tests/lambda-runtime/cold_start.py "$TARGET_DIR/x86_64-unknown-linux-musl/$PROFILE/depot-migrate"
fi
