import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * Writes `text` once into `<tmpdir>/depot-migrate-cdk/<kind>/<name>.json` (a file an
 * asset can point at) and returns its path. Written to a temporary name and renamed,
 * so a concurrent synth never reads half a file; an identical file is reused.
 * Internal: not exported from the package.
 */
export function writeCachedFile(kind: string, name: string, text: string): string {
  const dir = path.join(os.tmpdir(), 'depot-migrate-cdk', kind);
  const file = path.join(dir, `${name}.json`);
  try {
    if (fs.readFileSync(file, 'utf8') === text) return file;
  } catch {
    // not there yet
  }
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return file;
}
