/**
 * Helpers for the ISO 9660 tests (imported only by *.test.ts). Pure: the tests pass in Node's
 * fs functions and the tool runner, so this file needs no Node import of its own.
 */
import type { IsoEntry } from './tree';

/** What a tree holds, path → description: the same shape from our entries, an extraction, or our reader. */
export type TreeModel = Map<string, ModelEntry>;

export type ModelEntry =
  | { type: 'directory'; mode?: number }
  | { type: 'file'; sha256: string; sizeBytes: number; mode?: number }
  | { type: 'symlink'; target: string };

/** A byte pattern that differs per file and per offset, so misplaced blocks show. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The model of our input: every entry and every folder it implies. `withModes` records permission bits. */
export async function modelOfEntries(entries: readonly IsoEntry[], withModes = false): Promise<TreeModel> {
  const model: TreeModel = new Map();
  for (const entry of entries) {
    const parts = entry.path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      if (!model.has(dir)) model.set(dir, withModes ? { type: 'directory', mode: 0o755 } : { type: 'directory' });
    }
    if (entry.path === '/') continue;
    if (entry.type === 'directory')
      model.set(entry.path, withModes ? { type: 'directory', mode: entry.mode ?? 0o755 } : { type: 'directory' });
    else if (entry.type === 'symlink') model.set(entry.path, { type: 'symlink', target: entry.target });
    else {
      const bytes = entry.content instanceof Uint8Array ? entry.content : await entry.content.read(0, entry.content.sizeBytes);
      const file: ModelEntry = { type: 'file', sha256: await sha256(bytes), sizeBytes: bytes.length };
      if (withModes) file.mode = entry.mode ?? 0o644;
      model.set(entry.path, file);
    }
  }
  return model;
}

/** The parts of node:fs an extraction is read with (passed in by the test). */
export interface FsLike {
  readdirSync(path: string): string[];
  lstatSync(path: string): { isDirectory(): boolean; isSymbolicLink(): boolean; isFile(): boolean; mode: number; size: number };
  readFileSync(path: string): Uint8Array;
  readlinkSync(path: string): string;
}

/** The model of a folder on the host (what osirrox extracted). */
export async function modelOfFolder(fs: FsLike, root: string, withModes = false): Promise<TreeModel> {
  const model: TreeModel = new Map();
  const visit = async (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = `${dir}/${name}`;
      const path = `${prefix}/${name}`;
      const stat = fs.lstatSync(full);
      if (stat.isSymbolicLink()) model.set(path, { type: 'symlink', target: fs.readlinkSync(full) });
      else if (stat.isDirectory()) {
        model.set(path, withModes ? { type: 'directory', mode: stat.mode & 0o7777 } : { type: 'directory' });
        await visit(full, path);
      } else {
        const bytes = fs.readFileSync(full);
        const file: ModelEntry = { type: 'file', sha256: await sha256(bytes), sizeBytes: bytes.length };
        if (withModes) file.mode = stat.mode & 0o7777;
        model.set(path, file);
      }
    }
  };
  await visit(root, '');
  return model;
}

/** Lines that differ between two models (empty when equal), for readable failures. */
export function diffModels(expected: TreeModel, actual: TreeModel): string[] {
  const lines: string[] = [];
  for (const [path, want] of expected) {
    const got = actual.get(path);
    if (!got) lines.push(`missing ${path}`);
    else if (JSON.stringify(got) !== JSON.stringify(want))
      lines.push(`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
  for (const path of actual.keys()) if (!expected.has(path)) lines.push(`unexpected ${path}`);
  return lines;
}
