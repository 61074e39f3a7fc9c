// The wasm build (npm/wasm/, made by scripts/build-wasm.sh) under Node: every file in
// tests/vectors/, the bad-input corpus, and the plan compared with the native CLI's.
// Run with `node --test tests/wasm/` from the repository root.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', '..');
const glue = path.join(root, 'npm', 'wasm', 'depot_migrate_wasm.js');
if (!fs.existsSync(glue)) {
  throw new Error(`${glue} is missing: run scripts/build-wasm.sh first`);
}
// Synchronous, as CDK synth needs: the glue reads and instantiates the module in require.
const wasm = require(glue);

const read = (...p) => fs.readFileSync(path.join(root, ...p), 'utf8');
const DATASET = read('examples', 'dogs.postgres.dataset.json');
const V1 = read('examples', 'dogs.v1.package.json');
const V2 = read('examples', 'dogs.v2.package.json');
const PROBLEM_LINE = /^(package|dataset|from|options):\$\S*: DM\d{4}: .+$/;

/** Calls fn, which must throw an invalid-input Error; returns that Error. */
function invalidInput(fn) {
  let error;
  assert.throws(fn, (e) => {
    error = e;
    return true;
  });
  assert.ok(error instanceof Error, `expected an Error, got ${error}`);
  assert.ok(Array.isArray(error.problems) && error.problems.length > 0, 'error.problems is a non-empty array');
  for (const p of error.problems) {
    assert.deepEqual(Object.keys(p).sort(), ['code', 'file', 'message', 'path']);
    assert.match(p.code, /^DM\d{4}$/);
    assert.match(p.path, /^\$/);
  }
  const lines = error.message.split('\n');
  assert.equal(lines.length, error.problems.length, 'one message line per problem');
  lines.forEach((line, i) => {
    assert.match(line, PROBLEM_LINE);
    const p = error.problems[i];
    assert.equal(line, `${p.file}:${p.path}: ${p.code}: ${p.message}`);
  });
  return error;
}

const codes = (error) => error.problems.map((p) => p.code);

/** The native CLI, rebuilt by cargo when its sources changed (a no-op when fresh). */
let cliPath;
function cli() {
  if (cliPath !== undefined) return cliPath;
  const build = spawnSync('cargo', ['build', '--quiet', '-p', 'depot-migrate'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const bin = path.join(root, 'target', 'debug', 'depot-migrate');
  cliPath = fs.existsSync(bin) ? bin : null;
  if (build.status !== 0 && cliPath) {
    // A stale binary would compare against old code: fail rather than pass by accident.
    throw new Error(`cargo build -p depot-migrate failed (${build.error ?? build.status})`);
  }
  return cliPath;
}

function runCli(args) {
  const r = spawnSync(cli(), args, { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `depot-migrate ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

test('the module exports the six functions', () => {
  for (const name of ['versionHash', 'validate', 'plan', 'eventPattern', 'alertInputTransformer', 'disallowed']) {
    assert.equal(typeof wasm[name], 'function', name);
  }
});

test('tests/vectors', async (t) => {
  const dir = path.join(root, 'tests', 'vectors');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 60, `only ${files.length} vectors found`);
  for (const file of files) {
    const v = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    if (v.kind === 'jcs') {
      await t.test(file, { skip: 'kind jcs: the wasm module exports no raw RFC 8785 canonicalization' }, () => {});
      continue;
    }
    await t.test(file, () => {
      assert.equal(v.kind, 'versionHash', `unknown vector kind ${v.kind}`);
      const { package: pkg, dataset } = v.input;
      if (v.expected.versionHash !== undefined) {
        assert.equal(wasm.versionHash(pkg, dataset), v.expected.versionHash);
        assert.equal(wasm.validate(pkg, dataset), undefined);
      } else {
        assert.ok(v.expected.error, 'expected has versionHash or error');
        const e = invalidInput(() => wasm.versionHash(pkg, dataset));
        assert.ok(codes(e).includes(v.expected.error), `${v.expected.error} not in ${codes(e)}`);
        assert.deepEqual(codes(invalidInput(() => wasm.validate(pkg, dataset))), codes(e));
      }
    });
  }
});

test('tests/bad-inputs: every problem code expected, thrown as an Error, never a trap', async (t) => {
  const dir = path.join(root, 'tests', 'bad-inputs');
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
  const validPackage = fs.readFileSync(path.join(dir, 'valid.package.json'), 'utf8');
  const validDataset = fs.readFileSync(path.join(dir, 'valid.dataset.json'), 'utf8');
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }) // keep a BOM: it is a problem;
  for (const [file, want] of Object.entries(expected)) {
    const bytes = fs.readFileSync(path.join(dir, file));
    let text;
    try {
      text = utf8.decode(bytes);
    } catch {
      // JS strings are always Unicode: bytes that are not UTF-8 cannot reach the module.
      await t.test(file, { skip: 'not valid UTF-8, so not expressible as a JS string' }, () => {});
      continue;
    }
    await t.test(file, () => {
      const isPackage = file.endsWith('.package.json');
      const args = isPackage ? [text, validDataset] : [validPackage, text];
      const e = invalidInput(() => wasm.versionHash(...args));
      assert.ok(e.problems.every((p) => p.file === (isPackage ? 'package' : 'dataset')));
      const got = codes(e);
      for (const code of new Set(want)) {
        const n = want.filter((c) => c === code).length;
        assert.ok(got.filter((c) => c === code).length >= n, `${file}: want ${n}x ${code}, got ${got}`);
      }
      if (isPackage && text === '') {
        // validate() takes an empty package text as "no package" (dataset only).
        assert.equal(wasm.validate(...args), undefined);
      } else {
        assert.deepEqual(codes(invalidInput(() => wasm.validate(...args))), got);
      }
    });
  }
  // Still alive after every one of them.
  assert.equal(wasm.validate(validPackage, validDataset), undefined);
});

test('plan v1 -> v2 (and from empty) equals the CLI plan', (t) => {
  const fromEmpty = JSON.parse(wasm.plan(null, V1, DATASET));
  assert.equal(fromEmpty.fromVersion, null);
  assert.deepEqual(JSON.parse(wasm.plan(undefined, V1, DATASET)), fromEmpty);
  const plan = JSON.parse(wasm.plan(V1, V2, DATASET));
  assert.equal(plan.toVersion, wasm.versionHash(V2, DATASET));
  assert.equal(plan.fromVersion, wasm.versionHash(V1, DATASET));
  assert.ok(plan.steps.length > 0);
  const bin = cli();
  if (!bin) {
    t.skip('target/debug/depot-migrate is absent and cargo could not build it: CLI comparison not run');
    return;
  }
  const dataset = ['--dataset', 'examples/dogs.postgres.dataset.json'];
  const native = JSON.parse(
    runCli(['plan', '--from-package', 'examples/dogs.v1.package.json', '--package', 'examples/dogs.v2.package.json', ...dataset]),
  );
  assert.deepEqual(plan, native);
  assert.deepEqual(fromEmpty, JSON.parse(runCli(['plan', '--package', 'examples/dogs.v1.package.json', ...dataset])));
});

test('tests/plan-cases: every case plans on every engine (and plan(to, to) is empty)', () => {
  const dir = path.join(root, 'tests', 'plan-cases');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0);
  for (const engine of ['postgres', 'aurora-postgresql', 'snowflake', 'sqlite']) {
    const dataset = JSON.stringify({ environmentId: 'e2e404529091ed2', datasetId: '9afc0c483ed3', engine, schema: 'dogs' });
    for (const file of files) {
      const c = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
      const to = JSON.stringify(c.to);
      const from = c.from === null ? null : JSON.stringify(c.from);
      const plan = JSON.parse(wasm.plan(from, to, dataset));
      assert.equal(plan.engine, engine, `${file} on ${engine}`);
      assert.equal(plan.toVersion, wasm.versionHash(to, dataset));
      assert.deepEqual(JSON.parse(wasm.plan(to, to, dataset)).steps, [], `${file} on ${engine}: plan(to, to)`);
    }
  }
});

test('plan errors name their file', () => {
  const bad = '{"namespace":"dogs","tables":[{"name":"dog","columns":[]]}';
  let e = invalidInput(() => wasm.plan(bad, V2, DATASET));
  assert.deepEqual([...new Set(e.problems.map((p) => p.file))], ['from']);
  e = invalidInput(() => wasm.plan(V1, '{"namespace":"dogs"}', '{}'));
  assert.ok(e.problems.some((p) => p.file === 'package' && p.code === 'DM1006' && p.path === '$.tables'));
  assert.ok(e.problems.some((p) => p.file === 'dataset' && p.code === 'DM1006'));
  e = invalidInput(() => wasm.plan('', V2, DATASET));
  assert.deepEqual(codes(e), ['DM1003']);
});

test('eventPattern', () => {
  const all = JSON.parse(wasm.eventPattern('{}'));
  assert.deepEqual(all.source, ['tech.stage.depot']);
  assert.deepEqual(all['detail-type'], ['migration-lifecycle']);
  assert.deepEqual(all.detail.event, ['desired', 'attempted', 'deployed', 'failed']);
  assert.equal(all.detail.datasetId, undefined);
  assert.deepEqual(JSON.parse(wasm.eventPattern('{"datasetIds":null,"aliases":null,"events":null}')), all);
  assert.deepEqual(JSON.parse(wasm.eventPattern('{"events":[]}')), all);

  const some = JSON.parse(
    wasm.eventPattern(JSON.stringify({ datasetIds: ['9afc0c483ed3'], aliases: ['WsDevDogSrc'], events: ['failed', 'deployed'] })),
  );
  assert.deepEqual(some.detail.datasetId, ['9afc0c483ed3']);
  assert.deepEqual(some.detail.datasetAlias, ['WsDevDogSrc']);
  assert.deepEqual(some.detail.event, ['failed', 'deployed']);

  const cases = [
    ['{"events":["deployed","deploy"]}', 'DM1009', '$.events[1]'],
    ['{"datasetID":["x"]}', 'DM1007', '$.datasetID'],
    ['{"aliases":"WsDevDogSrc"}', 'DM1005', '$.aliases'],
    ['{"datasetIds":[1]}', 'DM1005', '$.datasetIds[0]'],
    ['{"events":', 'DM1003', '$'],
    ['{} {}', 'DM1003', '$'],
    ['[]', 'DM1005', '$'],
    ['{"x\\n\\u2028y":1}', 'DM1007', "$['x\\u000a\\u2028y']"],
  ];
  for (const [options, code, where] of cases) {
    const e = invalidInput(() => wasm.eventPattern(options));
    assert.equal(e.problems.length, 1, options);
    assert.equal(e.problems[0].file, 'options');
    assert.equal(e.problems[0].code, code, options);
    assert.equal(e.problems[0].path, where, options);
  }
});

test('validate: the package is optional', () => {
  assert.equal(wasm.validate(undefined, DATASET), undefined);
  assert.equal(wasm.validate(null, DATASET), undefined);
  assert.equal(wasm.validate('', DATASET), undefined);
  assert.equal(wasm.validate(V2, DATASET), undefined);
  const e = invalidInput(() => wasm.validate(undefined, '{"environmentId":"e","engine":"oracle","schema":"s"}'));
  assert.ok(e.problems.every((p) => p.file === 'dataset'));
  assert.ok(codes(e).includes('DM1006') && codes(e).includes('DM1009'), codes(e).join());
});

test('bad input throws an Error with code and path, and the instance keeps working', () => {
  const bad = '{"namespace":"dogs","tables":[{"name":"dog","columns":[{"name":"id","type":"bigint","colour":1}]}]}';
  const e = invalidInput(() => wasm.versionHash(bad, DATASET));
  assert.equal(e.problems[0].file, 'package');
  assert.equal(e.problems[0].code, 'DM1007');
  assert.equal(e.problems[0].path, '$.tables[0].columns[0].colour');
  assert.match(e.message, /^package:\$\.tables\[0\]\.columns\[0\]\.colour: DM1007: /);
  // Many errors in a row, then ordinary calls still answer.
  for (let i = 0; i < 200; i++) invalidInput(() => wasm.versionHash('{', '{'));
  const vector = JSON.parse(read('tests', 'vectors', '021-dog.json'));
  assert.equal(wasm.versionHash(vector.input.package, vector.input.dataset), vector.expected.versionHash);
});

test('a deeply nested or oversized input is an Error, not a trap', () => {
  const deep = '['.repeat(100000);
  assert.deepEqual(codes(invalidInput(() => wasm.versionHash(deep, DATASET))), ['DM1004']);
  const huge = `{"namespace":"dogs","tables":[],"comment":"${'x'.repeat(33 * 1024 * 1024)}"}`;
  assert.deepEqual(codes(invalidInput(() => wasm.versionHash(huge, DATASET))), ['DM1001']);
  assert.equal(wasm.validate(V1, DATASET), undefined);
});

/** A valid package of about `bytes` bytes. */
function bigPackage(bytes) {
  const tables = [];
  for (let size = 0, t = 0; size < bytes; t++) {
    const columns = [{ name: 'id', type: 'bigint', nullable: false }];
    for (let c = 0; c < 20; c++) {
      columns.push({ name: `col_${c}`, type: c % 2 ? 'string' : 'double', comment: `Column ${c} of table ${t}: "ünïcödé"\t.` });
    }
    const table = { name: `table_${t}`, columns, primaryKey: ['id'], indexes: [{ name: `table_${t}_idx`, columns: ['col_1'] }] };
    size += JSON.stringify(table).length + 1;
    tables.push(table);
  }
  return JSON.stringify({ namespace: 'big', tables });
}

test('a 1 MB package hashes, as the CLI hashes it', () => {
  const pkg = bigPackage(1 << 20);
  assert.ok(pkg.length >= 1 << 20);
  const hash = wasm.versionHash(pkg, DATASET);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(wasm.versionHash(pkg, DATASET), hash, 'deterministic');
  if (!cli()) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'depot-migrate-wasm-'));
  try {
    const file = path.join(dir, 'big.package.json');
    fs.writeFileSync(file, pkg);
    assert.equal(runCli(['hash', '--package', file, '--dataset', 'examples/dogs.postgres.dataset.json']).trim(), hash);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('alertInputTransformer is the one alert-rule writes (reads $.detail.datasetVersionHash)', () => {
  const t = JSON.parse(wasm.alertInputTransformer());
  assert.equal(t.InputPathsMap.versionHash, '$.detail.datasetVersionHash');
  const rendered = JSON.parse(t.InputTemplate);
  const lines = rendered.split('\n');
  assert.equal(lines.length, 6, 'the three lines of the observability page, then the failure and the next commands');
  assert.equal(lines[2], 'in environment <environmentId>');
  assert.equal(t.InputPathsMap.errorClass, '$.detail.error.class');
  const native = JSON.parse(runCli(['alert-rule', '--dataset', 'examples/dogs.dataset.json', '--topic-arn', 'arn:aws:sns:eu-west-1:058264526050:a']));
  assert.deepEqual(t, native.Resources.MigrationLifecycleRule.Properties.Targets[0].InputTransformer);
});

test('disallowed: the destructive keys allowDestructive does not allow', () => {
  const v3 = read('examples', 'dogs.v3.package.json');
  const sqlite = read('examples', 'dogs.dataset.json');
  const allow = read('examples', 'dogs.v3-allow.dataset.json');
  const plan = wasm.plan(V2, v3, sqlite);
  assert.deepEqual(JSON.parse(wasm.disallowed(plan, sqlite)), ['dropColumn:dog.weight']);
  assert.deepEqual(JSON.parse(wasm.disallowed(wasm.plan(V2, v3, allow), allow)), []);
  const all = JSON.stringify({ ...JSON.parse(sqlite), allowDestructive: true });
  assert.deepEqual(JSON.parse(wasm.disallowed(plan, all)), []);
  assert.deepEqual(JSON.parse(wasm.disallowed(wasm.plan(V1, V2, DATASET), DATASET)), [], 'no destructive step');
  const e = invalidInput(() => wasm.disallowed(plan, '{"datasetId": 3}'));
  assert.ok(e.problems.every((p) => p.file === 'dataset'));
});

test('planText, planSummary and renameWarnings are the CLI plan --format text (one core function)', (t) => {
  const bin = cli();
  if (!bin) {
    t.skip('target/debug/depot-migrate is absent and cargo could not build it: CLI comparison not run');
    return;
  }
  const cases = [
    ['dogs.v1.package.json', 'dogs.v2.package.json', 'dogs.postgres.dataset.json'],
    [null, 'dogs.v1.package.json', 'dogs.dataset.json'],
    ['dogs.v2.package.json', 'dogs.v3.package.json', 'dogs.dataset.json'],
    ['dogs.v2.package.json', 'dogs.v3.package.json', 'dogs.v3-allow.dataset.json'],
    ['dogs.v2.package.json', 'dogs.v3.package.json', 'dogs.snowflake.dataset.json'],
    ['dogs.v2.package.json', 'dogs.v2.package.json', 'dogs.dataset.json'],
  ];
  for (const [from, to, ds] of cases) {
    const dataset = read('examples', ds);
    const plan = wasm.plan(from ? read('examples', from) : null, read('examples', to), dataset);
    const args = ['plan', '--format', 'text', '--package', `examples/${to}`, '--dataset', `examples/${ds}`];
    const r = spawnSync(bin, from ? [...args, '--from-package', `examples/${from}`] : args, { cwd: root, encoding: 'utf8' });
    assert.equal(r.stdout, `${wasm.planText(plan, dataset)}\n`, `${from} -> ${to} on ${ds}: ${r.stderr}`);
    const steps = JSON.parse(plan).steps;
    const summary = wasm.planSummary(plan);
    if (steps.length === 0) {
      assert.equal(summary, 'no changes');
      assert.match(r.stdout, /No changes/);
    } else {
      const cliLines = r.stdout.split('\n').filter((l) => /^ {2}[+~-] /.test(l)).map((l) => l.slice(2).split('  [')[0]);
      assert.deepEqual(summary.split('\n').map((l) => l.replace(/ \[destructive\]$/, '')), cliLines);
    }
    const renames = steps.filter((s) => s.kind.startsWith('rename'));
    const warnings = JSON.parse(wasm.renameWarnings(plan));
    assert.equal(warnings.length, renames.length);
    renames.forEach((s, i) => assert.ok(warnings[i].startsWith(`${s.summary} (${s.key}): from the renamedFrom hint`), warnings[i]));
  }
});

test('migrationBundle is the bundle the Lambda handler reads (core/src/bundle.rs)', () => {
  const plan = wasm.plan(V1, V2, DATASET);
  const hash = wasm.versionHash(V2, DATASET);
  const bundle = JSON.parse(wasm.migrationBundle(hash, DATASET, V2, plan));
  assert.deepEqual(Object.keys(bundle), ['formatVersion', 'versionHash', 'dataset', 'package', 'plan']);
  assert.equal(bundle.formatVersion, 1);
  assert.equal(bundle.versionHash, hash);
  assert.deepEqual(bundle.dataset, JSON.parse(DATASET));
  assert.deepEqual(bundle.package, JSON.parse(V2));
  assert.deepEqual(bundle.plan, JSON.parse(plan));
  assert.equal(JSON.parse(wasm.migrationBundle(hash, DATASET, V2, null)).plan, null);
  assert.throws(() => wasm.migrationBundle(hash, '{', V2, null), /not JSON/);
});
