// Shared helpers of the depot-migrate-cdk tests (node --test on the compiled lib/).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const cdk = require('aws-cdk-lib');

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLES = path.join(ROOT, 'examples');

/** A fresh app and stack in an account/region (assets need an environment-agnostic stack only). */
function newStack(name = 'Test') {
  // CDK's built-in template validation takes seconds per synth; the example apps'
  // templates get the real check (cfn-lint) in scripts/test-npm.sh.
  const app = new cdk.App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'dm-cdk-test-')), builtinCloudFormationValidation: false });
  const stack = new cdk.Stack(app, name);
  return { app, stack };
}

/** A dataset config object from an example dataset file. */
function datasetFrom(file, overrides = {}) {
  return { ...JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8')), ...overrides };
}

/**
 * The native CLI built by scripts/test.sh (`cargo build -p depot-migrate`), or
 * DEPOT_MIGRATE_BIN. Tests that compare with it fail (never skip) when it is missing.
 */
function nativeBin() {
  const bin = process.env.DEPOT_MIGRATE_BIN || path.join(ROOT, 'target', 'debug', 'depot-migrate');
  if (!fs.existsSync(bin)) {
    throw new Error(`native CLI not found at ${bin}: run cargo build -p depot-migrate first (scripts/test.sh does)`);
  }
  return bin;
}

/** Runs the native CLI and returns its stdout. */
function cli(...args) {
  return execFileSync(nativeBin(), args, { encoding: 'utf8', cwd: ROOT });
}

/** Writes text to a temp file and returns its path. */
function tempFile(name, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-cdk-file-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

module.exports = { ROOT, EXAMPLES, newStack, datasetFrom, nativeBin, cli, tempFile };
