/**
 * Property test of the ext2 file layer: random sequences of operations (write, replace, mkdir,
 * symlink, chmod, rename across folders, remove, recursive remove) with names that have spaces,
 * Unicode, 255 bytes; empty files, files around the indirect blocks, deep folders. After each
 * sequence `e2fsck -fn` must be clean and `debugfs rdump` must give back exactly the tree a
 * simple in-memory model predicts — also before the final flush, when the disk must hold the
 * state of some consistent point since the last flush (never a half-done operation).
 */
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { LoopbackError } from '../../errors';
import type { DirEntry } from '../types';
import { formatExt2 } from './format';
import { e2fsckProblems, failure, parseDumpe2fs, pattern, sameBytes } from './test-support';
import { openExt2, type Ext2FileSystem } from './volume';

const skip = missingTools('mke2fs', 'e2fsck', 'dumpe2fs', 'debugfs', 'truncate');
const tmp = tempDir('ext2-prop-');
afterAll(() => tmp.cleanup());
let counter = 0;

const KiB = 1024;
const MiB = 1024 * KiB;

function e2fsckProblemsOf(image: string): string[] {
  const run = runTool('e2fsck', ['-fn', image]);
  const problems = e2fsckProblems(run.stdout);
  return run.status === 0 ? problems : [...problems, `exit status ${run.status}`];
}

function rdump(image: string): string {
  const dir = join(tmp.dir, `dump-${++counter}`);
  mkdirSync(dir);
  runToolOk('debugfs', ['-R', `rdump / ${dir}`, image]);
  return dir;
}

/** What the test expects to find, path → node. */
type Node =
  | { type: 'file'; data: Uint8Array; mode: number; mtimeS: number | null }
  | { type: 'directory'; mode: number }
  | { type: 'symlink'; target: string };
type Model = Map<string, Node>;

const opName = fc
  .oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[a-z]{1,6}$/) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom('with space', '  ', 'ünïcødé', '日本語', 'n'.repeat(255), '-dash', '.hidden') },
  )
  .filter((n) => !n.includes('/') && !n.includes('\0') && n !== '.' && n !== '..' && n !== 'lost+found' && Buffer.byteLength(n) <= 255);

const fileSize = fc.oneof(
  { weight: 4, arbitrary: fc.nat(3000) },
  { weight: 2, arbitrary: fc.integer({ min: 12 * KiB, max: 20 * KiB }) }, // around the first indirect block
  { weight: 1, arbitrary: fc.integer({ min: 269 * KiB, max: 400 * KiB }) }, // doubly indirect (1 KiB blocks)
);

const symlinkTarget = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z.][a-z./]{0,38}[a-z]$/) }, // fast symlink (< 60 bytes)
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z/]{60,300}[a-z]$/) }, // slow symlink (a block)
  { weight: 1, arbitrary: fc.constantFrom('/', 'boot/', '日本語') },
);

const operation = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      dir: fc.nat(),
      name: opName,
      size: fileSize,
      seed: fc.nat(),
      mode: fc.option(fc.constantFrom(0o600, 0o644, 0o755, 0o4755)),
      mtimeS: fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 })),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('mkdir' as const), dir: fc.nat(), name: opName }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('symlink' as const), dir: fc.nat(), name: opName, target: symlinkTarget }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('chmod' as const), entry: fc.nat(), mode: fc.constantFrom(0o700, 0o755, 0o750, 0o711) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rename' as const), entry: fc.nat(), dir: fc.nat(), name: opName }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), entry: fc.nat(), recursive: fc.boolean() }) },
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

const join2 = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/**
 * Runs a change that may not fit (the small volumes fill up): true when it was done; false when
 * it was refused for want of space — which must then be true (checked against usage()).
 */
async function fitsOrRefused(fs: Ext2FileSystem, change: Promise<void>, dataBytes: number): Promise<boolean> {
  const error = await change.then(
    () => null,
    (e: unknown) => e,
  );
  if (error === null) return true;
  expect(error).toBeInstanceOf(LoopbackError);
  const refusal = error as LoopbackError;
  expect(refusal.code, refusal.message).toBe('VALIDATION');
  expect(refusal.message).toMatch(/bytes are free|no free inodes/);
  const usage = await fs.usage();
  // Refused only when the data (plus a few blocks of metadata at most) did not fit.
  if (/bytes are free/.test(refusal.message)) expect(usage.freeBytes).toBeLessThan(dataBytes + 8 * usage.blockBytes);
  return false;
}

/** Applies `op` to the filesystem and to the model; checks the refusals the model predicts. */
async function apply(fs: Ext2FileSystem, model: Model, op: Operation): Promise<void> {
  const dirs = ['/', ...[...model].filter(([, n]) => n.type === 'directory').map(([p]) => p)];
  const entries = [...model.keys()];
  const pick = <T>(list: T[], index: number) => list[index % list.length]!;
  const refused = async (promise: Promise<unknown>, code: string) => expect((await failure(promise)).code).toBe(code);
  switch (op.kind) {
    case 'write': {
      const path = join2(pick(dirs, op.dir), op.name);
      const data = pattern(op.size, op.seed);
      const existing = model.get(path);
      const options = { ...(op.mode === null ? {} : { mode: op.mode }), ...(op.mtimeS === null ? {} : { modifiedMs: op.mtimeS * 1000 }) };
      if (existing && existing.type !== 'file') return refused(fs.writeFile(path, data, options), 'ALREADY_EXISTS');
      if (!(await fitsOrRefused(fs, fs.writeFile(path, data, options), op.size))) return;
      model.set(path, { type: 'file', data, mode: op.mode ?? (existing?.type === 'file' ? existing.mode : 0o644), mtimeS: op.mtimeS });
      return;
    }
    case 'mkdir': {
      const path = join2(pick(dirs, op.dir), op.name);
      if (model.has(path)) return refused(fs.mkdir(path), 'ALREADY_EXISTS');
      if (!(await fitsOrRefused(fs, fs.mkdir(path), 0))) return;
      model.set(path, { type: 'directory', mode: 0o755 });
      return;
    }
    case 'symlink': {
      const path = join2(pick(dirs, op.dir), op.name);
      if (model.has(path)) return refused(fs.symlink(op.target, path), 'ALREADY_EXISTS');
      if (!(await fitsOrRefused(fs, fs.symlink(op.target, path), 0))) return;
      model.set(path, { type: 'symlink', target: op.target });
      return;
    }
    case 'chmod': {
      const targets = entries.filter((p) => model.get(p)!.type !== 'symlink');
      if (targets.length === 0) return;
      const path = pick(targets, op.entry);
      await fs.chmod(path, op.mode);
      model.set(path, { ...(model.get(path) as Exclude<Node, { type: 'symlink' }>), mode: op.mode });
      return;
    }
    case 'rename': {
      if (entries.length === 0) return;
      const from = pick(entries, op.entry);
      const to = join2(pick(dirs, op.dir), op.name);
      if (from === to) return fs.rename(from, to);
      if (to.startsWith(`${from}/`)) return refused(fs.rename(from, to), 'INVALID_INPUT');
      if (model.has(to)) return refused(fs.rename(from, to), 'ALREADY_EXISTS');
      if (!(await fitsOrRefused(fs, fs.rename(from, to), 0))) return;
      for (const [path, node] of [...model]) {
        if (path === from || path.startsWith(`${from}/`)) {
          model.delete(path);
          model.set(to + path.slice(from.length), node);
        }
      }
      return;
    }
    case 'remove': {
      if (entries.length === 0) return;
      const path = pick(entries, op.entry);
      const children = entries.filter((p) => p.startsWith(`${path}/`));
      if (children.length > 0 && !op.recursive) return refused(fs.remove(path), 'VALIDATION');
      await fs.remove(path, { recursive: op.recursive });
      for (const p of [path, ...children]) model.delete(p);
      return;
    }
  }
}

/** Why the rdump of an image differs from the model (null when it matches). */
function treeMismatch(out: string, model: Model): string | null {
  const found = new Set<string>();
  const problems: string[] = [];
  const walk = (hostDir: string, path: string) => {
    for (const name of readdirSync(hostDir)) {
      if (path === '/' && name === 'lost+found') continue;
      const child = join2(path, name);
      found.add(child);
      const host = join(hostDir, name);
      const stats = lstatSync(host);
      const node = model.get(child);
      if (!node) {
        problems.push(`unexpected ${child}`);
      } else if (stats.isSymbolicLink()) {
        if (node.type !== 'symlink' || node.target !== readlinkSync(host)) problems.push(`${child}: symlink to ${readlinkSync(host)}`);
      } else if (stats.isDirectory()) {
        if (node.type !== 'directory' || node.mode !== (stats.mode & 0o7777))
          problems.push(`${child}: folder ${(stats.mode & 0o7777).toString(8)}`);
        else walk(host, child);
      } else if (node.type !== 'file') {
        problems.push(`${child}: a file, expected a ${node.type}`);
      } else {
        // rdump chowns after chmod, and the host kernel then drops setuid/setgid: compare the rest.
        if ((stats.mode & 0o1777) !== (node.mode & 0o1777)) problems.push(`${child}: mode ${(stats.mode & 0o7777).toString(8)}`);
        if (!sameBytes(readFileSync(host), node.data)) problems.push(`${child}: other bytes`);
        if (node.mtimeS !== null && Math.floor(stats.mtimeMs / 1000) !== node.mtimeS) problems.push(`${child}: mtime ${stats.mtimeMs}`);
      }
    }
  };
  walk(out, '/');
  for (const path of model.keys()) if (!found.has(path)) problems.push(`missing ${path}`);
  return problems.length > 0 ? problems.join('; ') : null;
}

/** Our formatter (128- and 256-byte inodes), mke2fs's defaults, revision 0, and a small volume that fills up. */
const imageKind = fc.constantFrom('ours-1024', 'ours-4096', 'mke2fs', 'rev0', 'small', 'small');

async function makeImage(kind: string): Promise<string> {
  const image = join(tmp.dir, `img-${++counter}.img`);
  runToolOk('truncate', ['-s', String(kind === 'small' ? 1536 * KiB : 16 * MiB), image]);
  if (kind === 'mke2fs' || kind === 'rev0') {
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', ...(kind === 'rev0' ? ['-r', '0'] : []), image]);
    return image;
  }
  const device = await FileBlockDevice.open(image, { writable: true });
  try {
    await formatExt2(device, { blockBytes: kind === 'ours-4096' ? 4096 : 1024, inodeBytes: kind === 'ours-4096' ? 256 : 128 });
  } finally {
    await device.close();
  }
  return image;
}

describe.skipIf(skip)('openExt2: random operation sequences (property)', () => {
  it('stay e2fsck-clean, round-trip through debugfs, keep usage() exact, and leave the last flushed state on disk until flushed', async () => {
    await fc.assert(
      fc.asyncProperty(
        imageKind,
        fc.array(operation, { minLength: 4, maxLength: 30, size: 'max' }),
        fc.array(operation, { minLength: 4, maxLength: 30, size: 'max' }),
        async (kind, before, after) => {
          const image = await makeImage(kind);
          const model: Model = new Map();
          const device = await FileBlockDevice.open(image, { writable: true });
          let usage;
          try {
            // A tiny metadata cache on some runs: blocks dropped and metadata written out between operations.
            const fs = await openExt2(device, before.length % 3 === 0 ? { cacheLimitBytes: 16 * KiB } : {});
            for (const op of before) await apply(fs, model, op);
            await fs.flush();
            // Every state the disk may hold until the next flush: the flushed one, or one after a
            // whole operation (metadata is written out early only between operations).
            const states: Model[] = [new Map(model)];
            for (const op of after) {
              await apply(fs, model, op);
              states.push(new Map(model));
            }
            const copy = join(tmp.dir, `copy-${++counter}.img`);
            copyFileSync(image, copy);
            expect(e2fsckProblemsOf(copy), 'before the last flush').toEqual([]);
            const out = rdump(copy);
            const mismatches = states.map((state) => treeMismatch(out, state));
            expect(
              mismatches.some((m) => m === null),
              `before the last flush: ${mismatches[0]}`,
            ).toBe(true);

            // Our own reader agrees with the model too.
            for (const [path, node] of model) {
              const entry: DirEntry = await fs.stat(path);
              expect(entry.type, path).toBe(node.type);
              if (node.type === 'file') {
                expect(sameBytes(await fs.readFile(path), node.data), path).toBe(true);
                if (node.mtimeS !== null) expect(entry.modifiedMs, path).toBe(node.mtimeS * 1000);
              }
              if (node.type === 'symlink') expect(entry.target).toBe(node.target);
            }
            usage = await fs.usage();
            await fs.close();
          } finally {
            await device.close();
          }
          expect(e2fsckProblemsOf(image)).toEqual([]);
          const fields = parseDumpe2fs(runToolOk('dumpe2fs', ['-h', image]).stdout);
          expect(usage.freeBytes).toBe(Number(fields['Free blocks']) * Number(fields['Block size']));
          expect(treeMismatch(rdump(image), model)).toBeNull();
        },
      ),
      { numRuns: 40 },
    );
  });
});
