// The depot-migrate core, as WebAssembly (built by scripts/build-wasm.sh into ../wasm/).
// This module only converts: JSON text in and out, errors rethrown with their code and
// path. Hashing, planning, the destructive-change policy, plan summaries, rename
// warnings, the migration bundle, the event pattern and the alert message all live in
// the Rust core (core/), never here. Internal: not exported from
// index.ts (jsii would try to describe the glue's types).

/* eslint-disable @typescript-eslint/no-require-imports */

/** One problem found by the core: `{file, code, path, message}`. */
export interface CoreProblem {
  readonly file: string;
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

interface WasmCore {
  versionHash(packageJson: string, datasetJson: string): string;
  validate(packageJson: string | undefined, datasetJson: string): void;
  plan(fromPackageJson: string | null, toPackageJson: string, datasetJson: string): string;
  eventPattern(optionsJson: string): string;
  alertInputTransformer(): string;
  disallowed(planJson: string, datasetJson: string): string;
  planSummary(planJson: string): string;
  planText(planJson: string, datasetJson: string): string;
  renameWarnings(planJson: string): string;
  migrationBundle(versionHash: string, datasetJson: string, packageJson: string, planJson: string | null): string;
}

let loaded: WasmCore | undefined;

/** The wasm module, loaded synchronously on first use (CDK synth is synchronous). */
function wasm(): WasmCore {
  if (!loaded) {
    loaded = require('../wasm/depot_migrate_wasm.js') as WasmCore;
  }
  return loaded;
}

/** Thrown for invalid input: the core's problems, with the first one's code and path. */
export class DepotMigrateError extends Error {
  public readonly code: string;
  public readonly path: string;
  public readonly problems: CoreProblem[];
  constructor(message: string, problems: CoreProblem[]) {
    super(message);
    this.name = 'DepotMigrateError';
    this.problems = problems;
    this.code = problems[0]?.code ?? 'DM0000';
    this.path = problems[0]?.path ?? '$';
  }
}

/**
 * Where each input of a core call came from, to name it in errors: `package` and
 * `from` map to a description (a file name or a prop), `dataset` to the prop.
 */
export interface Sources {
  readonly [file: string]: { readonly name: string; readonly value?: unknown } | undefined;
}

/**
 * Calls the core, rethrowing its errors as a `DepotMigrateError` whose message names
 * the input (file or prop), each problem's code and JSON path, and the value found
 * there when the input was given as an object.
 */
export function call<T>(what: string, sources: Sources, fn: (core: WasmCore) => T): T {
  try {
    return fn(wasm());
  } catch (e) {
    const problems = (e as { problems?: CoreProblem[] }).problems;
    if (!Array.isArray(problems) || problems.length === 0) {
      throw e;
    }
    const lines = problems.map((p) => {
      const src = sources[p.file];
      const where = src ? src.name : p.file;
      const found = src && src.value !== undefined ? valueAt(src.value, p.path) : undefined;
      const value = found === undefined ? '' : ` (got ${preview(found.value)})`;
      return `${where}:${p.path}: ${p.code}: ${p.message}${value}`;
    });
    throw new DepotMigrateError(`${what}: ${lines.join('\n')}`, problems);
  }
}

/** The value at a JSONPath such as `$.tables[0].columns[2].type`, if there is one. */
export function valueAt(root: unknown, path: string): { value: unknown } | undefined {
  if (!path.startsWith('$')) return undefined;
  let cur: unknown = root;
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) return undefined;
    const key: string | number = m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(m[3]));
    if (cur === null || typeof cur !== 'object' || !(key in (cur as object))) return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return { value: cur };
}

/** A short JSON rendering of a value for an error message. */
export function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
