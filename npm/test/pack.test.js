'use strict';
// The prepack step (scripts/check-bootstraps.js) refuses a tarball without the Lambda
// bootstraps, which MigrationRunner needs at synth.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const pkg = path.resolve(__dirname, '..');
const check = (env) => spawnSync(process.execPath, [path.join(pkg, 'scripts', 'check-bootstraps.js')], {
  encoding: 'utf8', env: { ...process.env, DEPOT_MIGRATE_PACK_ARCHS: '', ...env },
});

test('npm pack runs the bootstrap check first', () => {
  assert.equal(require('../package.json').scripts.prepack, 'node scripts/check-bootstraps.js');
});

test('no bootstraps: refused, naming the files and the build command', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-pack-'));
  const r = check({ DEPOT_MIGRATE_LAMBDA_DIR: dir });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /refusing to pack .*npm\/lambda\/x86_64\/bootstrap\.zip, npm\/lambda\/arm64\/bootstrap\.zip .*scripts\/build-lambda\.sh all/);
});

test('x86_64 only: refused by default, packed with DEPOT_MIGRATE_PACK_ARCHS=x86_64 (and said so); a stub is no bootstrap', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dm-pack-'));
  fs.mkdirSync(path.join(dir, 'x86_64'));
  const zip = path.join(dir, 'x86_64', 'bootstrap.zip');
  fs.writeFileSync(zip, 'not a zip');
  assert.equal(check({ DEPOT_MIGRATE_LAMBDA_DIR: dir, DEPOT_MIGRATE_PACK_ARCHS: 'x86_64' }).status, 1);
  // A zip header and a realistic size (the real one is several MB).
  fs.writeFileSync(zip, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(2 * 1024 * 1024)]));
  const all = check({ DEPOT_MIGRATE_LAMBDA_DIR: dir });
  assert.equal(all.status, 1);
  assert.match(all.stderr, /arm64\/bootstrap\.zip .*build-lambda\.sh arm64.*DEPOT_MIGRATE_PACK_ARCHS=x86_64/);
  const x86 = check({ DEPOT_MIGRATE_LAMBDA_DIR: dir, DEPOT_MIGRATE_PACK_ARCHS: 'x86_64' });
  assert.equal(x86.status, 0, x86.stderr);
  assert.match(x86.stderr, /without the arm64 bootstrap/);
  assert.equal(check({ DEPOT_MIGRATE_LAMBDA_DIR: dir, DEPOT_MIGRATE_PACK_ARCHS: 'sparc' }).status, 2);
});
