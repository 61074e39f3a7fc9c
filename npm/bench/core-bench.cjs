'use strict';
// wasm side of scripts/bench-cdk.sh: times validate (parse), versionHash and plan in
// this process on the given files and prints the medians (ms) as JSON.
// Usage: node core-bench.cjs PACKAGE DATASET FROM_PACKAGE RUNS
const fs = require('node:fs');
const path = require('node:path');
// The first require reads, compiles and instantiates the module (once per process).
const tLoad = process.hrtime.bigint();
const wasm = require(path.join(__dirname, '..', 'wasm', 'depot_migrate_wasm.js'));
const loadMs = Number(process.hrtime.bigint() - tLoad) / 1e6;
// The first call after loading (the engine may compile functions lazily on first use).
const tFirst = process.hrtime.bigint();
try {
  wasm.validate(undefined, '{}');
} catch {
  // invalid on purpose: only the call's first-use cost is wanted
}
const firstCallMs = Number(process.hrtime.bigint() - tFirst) / 1e6;

const [pkgFile, dsFile, fromFile, runsArg] = process.argv.slice(2);
const pkg = fs.readFileSync(pkgFile, 'utf8');
const ds = fs.readFileSync(dsFile, 'utf8');
const from = fs.readFileSync(fromFile, 'utf8');
const runs = Number(runsArg);

function medianMs(fn) {
  fn();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

const out = {
  parse: medianMs(() => wasm.validate(pkg, ds)),
  hash: medianMs(() => wasm.versionHash(pkg, ds)),
  plan: medianMs(() => wasm.plan(from, pkg, ds)),
  versionHash: wasm.versionHash(pkg, ds),
  loadMs,
  firstCallMs,
};
console.log(JSON.stringify(out));
