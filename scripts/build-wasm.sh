#!/usr/bin/env bash
# Builds the wasm crate for Node into npm/wasm/ (CommonJS glue that loads the module
# synchronously, as CDK synth needs): cargo for wasm32-unknown-unknown with the `wasm`
# profile, then `wasm-bindgen --target nodejs`, then `wasm-opt` when binaryen is already
# installed in npm/node_modules (it is optional; nothing is downloaded for it).
#
# Installs what it needs, idempotently: the rustup target, and wasm-bindgen-cli at exactly
# the version of the wasm-bindgen crate in Cargo.lock (the CLI refuses modules built by
# another version). wasm-pack cannot work here: its installer downloads binaries.
#
# Usage: scripts/build-wasm.sh          install what is missing, then build
#        scripts/build-wasm.sh --setup  only install what is missing (scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[build-wasm] %s\n' "$*" >&2; }

TARGET=wasm32-unknown-unknown
PROFILE=wasm # [profile.wasm] in the root Cargo.toml
OUT_DIR=npm/wasm
WASM_OPT="${WASM_OPT:-npm/node_modules/binaryen/bin/wasm-opt}"
WASM_OPT_LEVEL="${WASM_OPT_LEVEL:--Oz}"

if ! rustup target list --installed | grep -qx "$TARGET"; then
  log "rustup target add $TARGET"
  rustup target add "$TARGET"
fi

# The version of the wasm-bindgen crate in Cargo.lock (the line after its name).
version="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/^version = "|"$/, ""); print; exit }' Cargo.lock)"
if [[ -z "$version" ]]; then
  log "no wasm-bindgen package in Cargo.lock"
  exit 1
fi
installed() { wasm-bindgen --version 2>/dev/null | awk '{ print $2 }'; }
if [[ "$(installed)" != "$version" ]]; then
  # No --locked: the CLI's lock file wants a webpki-roots version this registry lacks.
  log "cargo install wasm-bindgen-cli --version $version (installed: $(installed || true))"
  cargo install --quiet wasm-bindgen-cli --version "$version"
  hash -r
  if [[ "$(installed)" != "$version" ]]; then
    log "wasm-bindgen on PATH is $(command -v wasm-bindgen || echo missing) version $(installed), not $version; put ~/.cargo/bin first on PATH"
    exit 1
  fi
fi

if [[ "${1:-}" == "--setup" ]]; then
  log "ok: $TARGET and wasm-bindgen $version"
  exit 0
fi

log "cargo build --profile $PROFILE --target $TARGET -p depot-migrate-wasm"
cargo build --quiet --profile "$PROFILE" --target "$TARGET" -p depot-migrate-wasm
module="${CARGO_TARGET_DIR:-target}/$TARGET/$PROFILE/depot_migrate_wasm.wasm"

log "wasm-bindgen --target nodejs --out-dir $OUT_DIR"
rm -rf "$OUT_DIR"
# The name section only names functions in traces of a trap (nothing here traps on
# input); it is 30% of the module.
wasm-bindgen --target nodejs --remove-name-section --remove-producers-section \
  --out-dir "$OUT_DIR" "$module"
out="$OUT_DIR/depot_migrate_wasm_bg.wasm"

gzsize() { gzip -9 -c "$1" | wc -c; }
if [[ -x "$WASM_OPT" ]]; then
  log "wasm-opt $WASM_OPT_LEVEL ($("$WASM_OPT" --version))"
  # The Rust target's default features, which the module uses.
  "$WASM_OPT" "$WASM_OPT_LEVEL" --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-reference-types \
    "$out" -o "$out.opt"
  # What ships is compressed (npm tarball, wheel): keep wasm-opt's output only when it
  # compresses smaller. On the opt-level "z" build it is 9% smaller raw but 10% larger
  # gzipped, so it is usually dropped.
  if (($(gzsize "$out.opt") < $(gzsize "$out"))); then
    mv "$out.opt" "$out"
  else
    log "wasm-opt output kept out: $(wc -c <"$out.opt") bytes, $(gzsize "$out.opt") gzipped, not smaller gzipped"
    rm "$out.opt"
  fi
else
  log "wasm-opt skipped: $WASM_OPT not found (optional; npm install binaryen in npm/ to try it)"
fi

raw=$(wc -c <"$out")
gz=$(gzsize "$out")
log "$out: $raw bytes ($((raw / 1024)) KiB), $gz bytes gzipped ($((gz / 1024)) KiB)"
