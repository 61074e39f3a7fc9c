import * as fs from 'fs';
import * as path from 'path';

/** Packages over this size are rejected, as the CLI does (docs/design.md, "Inputs"). */
const MAX_PACKAGE_BYTES = 32 * 1024 * 1024;

/**
 * A depot-migrate package: the schema a dataset should have (`*.package.json`).
 *
 * The version hash is computed from the package's JSON text by the Rust core, so a
 * package read with `fromFile` hashes exactly like `depot-migrate hash --package FILE`.
 *
 * @example
 * const pkg = DepotPackage.fromFile('depot/dogs.package.json');
 */
export class DepotPackage {
  /**
   * A package read from a `*.package.json` file, now (at construction). The file's bytes
   * are kept as written, so the version hash is the one the CLI computes for that file.
   *
   * @param file path of the package file, relative to the current directory (where
   * `cdk synth` runs) or absolute
   * @throws if the file cannot be read, is over 32 MiB or is not UTF-8 text
   */
  public static fromFile(file: string): DepotPackage {
    if (typeof file !== 'string' || file.length === 0) {
      throw new Error(`DepotPackage.fromFile: file must be a non-empty path, got ${JSON.stringify(file)}`);
    }
    const resolved = path.resolve(file);
    let bytes: Buffer;
    try {
      const size = fs.statSync(resolved).size;
      if (size > MAX_PACKAGE_BYTES) {
        throw new Error(`is ${size} bytes, over the 32 MiB limit; split the dataset`);
      }
      bytes = fs.readFileSync(resolved);
    } catch (e) {
      throw new Error(`DepotPackage.fromFile: cannot read package file ${JSON.stringify(file)}: ${(e as Error).message}`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new Error(`DepotPackage.fromFile: package file ${JSON.stringify(file)} is not UTF-8 text; save it as UTF-8`);
    }
    return new DepotPackage(text, file, undefined);
  }

  /**
   * A package given as an object (from TypeScript, Python, ...). It is serialized with
   * `JSON.stringify`; members whose value is `null` or `undefined` mean the same as absent
   * members, so the hash equals that of a file with the same content.
   *
   * @param pkg the package, shaped like a `*.package.json` file
   * @throws if the object cannot be serialized (a cycle, a BigInt) or is not an object
   */
  public static fromObject(pkg: { [key: string]: any }): DepotPackage {
    if (pkg === null || typeof pkg !== 'object' || Array.isArray(pkg)) {
      throw new Error(`DepotPackage.fromObject: pkg must be an object shaped like a *.package.json file, got ${pkg === null ? 'null' : Array.isArray(pkg) ? 'an array' : typeof pkg}`);
    }
    let text: string;
    try {
      text = JSON.stringify(pkg);
    } catch (e) {
      throw new Error(`DepotPackage.fromObject: pkg cannot be serialized as JSON (${(e as Error).message}); pass plain data without cycles or BigInt values`);
    }
    if (text.length > MAX_PACKAGE_BYTES) {
      throw new Error(`DepotPackage.fromObject: pkg is ${text.length} bytes as JSON, over the 32 MiB limit; split the dataset`);
    }
    return new DepotPackage(text, undefined, pkg);
  }

  /** The package's JSON text, as read from the file or serialized from the object. */
  public readonly json: string;

  /**
   * The file the package was read from, as given to `fromFile`.
   *
   * @default - undefined for a package made with `fromObject`
   */
  public readonly file?: string;

  /** @internal the object given to fromObject, to quote values in errors */
  public readonly _object?: unknown;

  private constructor(json: string, file: string | undefined, object: unknown) {
    this.json = json;
    this.file = file;
    this._object = object;
  }

  /** @internal how errors name this package, and the value to quote from */
  public _source(): { name: string; value?: unknown } {
    if (this.file !== undefined) {
      try {
        return { name: this.file, value: JSON.parse(this.json) };
      } catch {
        return { name: this.file };
      }
    }
    return { name: 'package (fromObject)', value: this._object };
  }
}
