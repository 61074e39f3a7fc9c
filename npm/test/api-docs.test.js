'use strict';
// API.md is generated from the jsii assembly (npm run docgen) and committed, as
// construct libraries publish it: it must match what jsii-docgen writes for .jsii now.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

test('API.md is what jsii-docgen generates from the current assembly', () => {
  const pkg = path.resolve(__dirname, '..');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dm-docgen-')), 'API.md');
  execFileSync(path.join(pkg, 'node_modules', '.bin', 'jsii-docgen'), ['--output', out], { cwd: pkg, stdio: ['ignore', 'ignore', 'pipe'] });
  const fresh = fs.readFileSync(out, 'utf8');
  const committed = fs.readFileSync(path.join(pkg, 'API.md'), 'utf8');
  assert.ok(fresh.includes('### DatasetMigration'), 'docgen output documents DatasetMigration');
  assert.ok(committed === fresh, 'npm/API.md is out of date: run `npm run docgen` in npm/ and commit API.md');
});
