#!/usr/bin/env node
// `npm pack` / `npm publish` run this first (the `prepack` script): a tarball without the
// Lambda bootstraps would make MigrationRunner throw at synth for its users, so packing
// stops here instead. The bootstraps are built by ../scripts/build-lambda.sh.
//
// Every architecture is required, unless DEPOT_MIGRATE_PACK_ARCHS lists fewer (CI builds
// only x86_64: DEPOT_MIGRATE_PACK_ARCHS=x86_64, set by scripts/build-npm.sh).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const all = ['x86_64', 'arm64'];
// The package's lambda/ folder (the tests point it elsewhere).
const lambdaDir = process.env.DEPOT_MIGRATE_LAMBDA_DIR || path.join(__dirname, '..', 'lambda');
const wanted = (process.env.DEPOT_MIGRATE_PACK_ARCHS || all.join(' ')).split(/[\s,]+/).filter(Boolean);
const unknown = wanted.filter((a) => !all.includes(a));
if (unknown.length > 0) {
  console.error(`prepack: DEPOT_MIGRATE_PACK_ARCHS names ${unknown.join(', ')}; the architectures are ${all.join(' and ')}`);
  process.exit(2);
}
const missing = wanted.filter((a) => {
  const zip = path.join(lambdaDir, a, 'bootstrap.zip');
  // A zip starts with PK\x03\x04; an empty or truncated file is not a bootstrap.
  try {
    const head = Buffer.alloc(4);
    const fd = fs.openSync(zip, 'r');
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    return !head.equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])) || fs.statSync(zip).size < 1024 * 1024;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.error(`prepack: refusing to pack depot-migrate-cdk without the Lambda bootstrap${missing.length > 1 ? 's' : ''} ` +
    `${missing.map((a) => `npm/lambda/${a}/bootstrap.zip`).join(', ')} (MigrationRunner needs them at synth): ` +
    `run scripts/build-lambda.sh ${missing.length === all.length ? 'all' : missing.join(' ')} first` +
    (wanted.length === all.length ? ', or set DEPOT_MIGRATE_PACK_ARCHS=x86_64 for a tarball with x86_64 only' : ''));
  process.exit(1);
}
const skipped = all.filter((a) => !wanted.includes(a));
if (skipped.length > 0) {
  console.error(`prepack: packing without the ${skipped.join(', ')} bootstrap (DEPOT_MIGRATE_PACK_ARCHS=${wanted.join(' ')}): MigrationRunner with that architecture throws at synth`);
}
