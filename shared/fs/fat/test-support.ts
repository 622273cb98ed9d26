/**
 * Helpers for the FAT tests (imported only by *.test.ts). Pure: the tests pass in `runTool`
 * from tests/support/host.ts, so this file needs no Node import of its own.
 */
import type { FatVolume } from './volume';

export interface ToolRunner {
  (
    command: string,
    args: readonly string[],
    options?: { env?: Record<string, string> },
  ): { status: number | null; stdout: string; stderr: string };
}

/**
 * Lines of `fsck.fat -n -v` output that report a problem. Its verbose output otherwise only
 * describes the boot sector and the checks it runs.
 */
export const FSCK_PROBLEM =
  /differ|error|wrong|uninitialized|orphan|lost|bad |invalid|mismatch|unused|not allocated|cross-linked|dirty|corrupt|has no|too many|free cluster|points to|can't|cannot|contains|truncat|duplicate|Auto-?correct|leaving filesystem unchanged|perform changes|illegal|warning/i;

/** Lines of the verbose report that describe rather than complain, although a word above occurs in them. */
const FSCK_DESCRIPTIVE = /^(Checking |Boot sector contents|Root directory start|fsck\.fat \d)/;

export interface FsckReport {
  status: number | null;
  problems: string[];
  output: string;
}

/** Runs `fsck.fat -n -v IMAGE` (check only, never repair) and picks out the problem lines. */
export function fsck(run: ToolRunner, image: string): FsckReport {
  const result = run('fsck.fat', ['-n', '-v', image]);
  const output = `${result.stdout}\n${result.stderr}`;
  const problems = output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && FSCK_PROBLEM.test(line) && !FSCK_DESCRIPTIVE.test(line));
  return { status: result.status, problems, output };
}

/** mtools' `-i IMAGE@@OFFSET` form. */
export function mtoolsImage(image: string, offsetBytes = 0): string {
  return offsetBytes === 0 ? image : `${image}@@${offsetBytes}`;
}

/** Every path below "/" that `mdir -/ -b` lists (folders end with "/"), as "/a", "/a/b.txt" … */
export function mtoolsTree(run: ToolRunner, image: string, offsetBytes = 0): string[] {
  const result = run('mdir', ['-/', '-b', '-i', mtoolsImage(image, offsetBytes), '::/'], { env: UTF8_ENV });
  if (result.status !== 0) {
    // mdir -/ -b fails with 'File "::/" not found' on an empty root; plain mdir -b lists it as empty.
    const flat = run('mdir', ['-b', '-i', mtoolsImage(image, offsetBytes), '::/'], { env: UTF8_ENV });
    if (flat.status === 0 && flat.stdout.trim() === '') return [];
    throw new Error(`mdir failed: ${result.stderr}`);
  }
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('::/'))
    .map((line) => line.slice(2))
    .sort();
}

/** mtools converts names to the locale's charset: use UTF-8 so Unicode names survive. */
export const UTF8_ENV = { LC_ALL: 'C.UTF-8' };

/** A byte pattern that differs per file and per offset, so misplaced clusters show. */
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

/** A tree as path → contents (null for a folder), paths like "/a/b.txt". */
export type Tree = Map<string, Uint8Array | null>;

/** The parts of node:fs the extraction needs (passed in by the test). */
export interface FsLike {
  mkdirSync(path: string): unknown;
  readdirSync(path: string): string[];
  statSync(path: string): { isDirectory(): boolean; mtimeMs: number };
  readFileSync(path: string): Uint8Array;
}

/**
 * Extracts the whole volume into the empty folder `out` with `mcopy -s -m` and reads that copy
 * back: what mtools makes of our volume, with file modification times.
 */
export function extractWithMtools(
  run: ToolRunner,
  fs: FsLike,
  out: string,
  image: string,
  offsetBytes = 0,
): { tree: Tree; mtimes: Map<string, number> } {
  fs.mkdirSync(out);
  if (mtoolsTree(run, image, offsetBytes).length > 0) {
    const result = run('mcopy', ['-s', '-m', '-n', '-i', mtoolsImage(image, offsetBytes), '::/*', `${out}/`], { env: UTF8_ENV });
    if (result.status !== 0) throw new Error(`mcopy failed: ${result.stderr}`);
  }
  const tree: Tree = new Map();
  const mtimes = new Map<string, number>();
  const walk = (dir: string, prefix: string) => {
    for (const name of fs.readdirSync(dir)) {
      const full = `${dir}/${name}`;
      const path = `${prefix}/${name}`;
      const stat = fs.statSync(full);
      if (stat.isDirectory()) {
        tree.set(path, null);
        walk(full, path);
      } else {
        tree.set(path, new Uint8Array(fs.readFileSync(full)));
        mtimes.set(path, stat.mtimeMs);
      }
    }
  };
  walk(out, '');
  return { tree, mtimes };
}

/** Reads the whole volume through our own code. */
export async function readWithOurs(volume: FatVolume, dir = '/', tree: Tree = new Map()): Promise<Tree> {
  for (const entry of await volume.list(dir)) {
    const path = `${dir === '/' ? '' : dir}/${entry.name}`;
    if (entry.type === 'directory') {
      tree.set(path, null);
      await readWithOurs(volume, path, tree);
    } else {
      tree.set(path, await volume.readFile(path));
    }
  }
  return tree;
}

/** path → "dir" or "size:checksum", sorted: a tree in a form whose differences read well. */
export function describeTree(tree: Tree): Record<string, string> {
  const checksum = (data: Uint8Array) => {
    let h = 0x811c9dc5;
    for (const byte of data) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    return h.toString(16).padStart(8, '0');
  };
  return Object.fromEntries(
    [...tree.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([path, data]) => [path, data === null ? 'dir' : `${data.length}:${checksum(data)}`]),
  );
}
