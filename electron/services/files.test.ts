/**
 * putFiles into FAT as the CLI and the app run it: a tree of many files of every size (the
 * reused read buffer must never leak one file's bytes into another), progress, cancel, and the
 * free-space check — each result checked with fsck.fat and mtools, not only our own reader.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { LoopbackError } from '../../shared/errors';
import { fsck, mtoolsTree, patternBytes } from '../../shared/fs/fat/test-support';
import { listFiles, putFiles } from './files';

const skip = missingTools('mkfs.fat', 'fsck.fat', 'mcopy', 'mdir', 'truncate');
const tmp = tempDir('files-put-');
afterAll(() => tmp.cleanup());
let counter = 0;

/** A fresh FAT image made by mkfs.fat (`-F 32` by default). */
function fatImage(size: string, args: string[] = ['-F', '32']): string {
  const image = join(tmp.dir, `img-${++counter}.img`);
  runToolOk('truncate', ['-s', size, image]);
  runToolOk('mkfs.fat', [...args, image]);
  return image;
}

/**
 * Host files in nested folders: sizes from 0 to a few clusters, growing and shrinking (so the
 * read buffer grows, and later files are shorter than what it holds), long and 8.3 names.
 */
function makeTree(root: string, files: number): Map<string, Buffer> {
  const tree = new Map<string, Buffer>();
  for (let i = 0; i < files; i++) {
    const folder = join(root, `folder ${i % 7}`, i % 3 === 0 ? 'deeper' : '');
    mkdirSync(folder, { recursive: true });
    const size = i % 50 === 0 ? 0 : ((i * 7919) % 40_000) + (i % 97 === 0 ? 200_000 : 0);
    const path = join(folder, i % 2 ? `file number ${i}.bin` : `F${i}.DAT`);
    const data = Buffer.from(patternBytes(size, i + 1));
    writeFileSync(path, data);
    tree.set(relative(root, path), data);
  }
  return tree;
}

function expectFsckClean(image: string): void {
  const report = fsck(runTool, image);
  expect(report.problems, report.output).toEqual([]);
  expect(report.status, report.output).toBe(0);
}

/** Every file under `dir`, relative path → contents. */
function readTree(dir: string, base = dir, out = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) readTree(path, base, out);
    else out.set(relative(base, path), readFileSync(path));
  }
  return out;
}

const digest = (tree: Map<string, Buffer>) =>
  new Map([...tree].map(([path, data]) => [path, createHash('sha256').update(data).digest('hex')]));

describe.skipIf(skip)('putFiles into FAT', () => {
  it('copies a tree of 1 500 files byte-exactly (as mcopy reads it back), reporting bytes and files as it goes', async () => {
    const src = join(tmp.dir, 'tree');
    const tree = makeTree(src, 1500);
    const image = fatImage('64M');
    const progress: Array<{ phase: string; bytesDone: number; bytesTotal: number; itemsDone?: number; itemsTotal?: number }> = [];
    const result = await putFiles({ image }, [src], '/', { onProgress: (p) => progress.push(p) });

    const bytes = [...tree.values()].reduce((sum, data) => sum + data.length, 0);
    expect(result).toMatchObject({ files: 1500, bytes });
    expectFsckClean(image);
    const out = join(tmp.dir, 'out');
    runToolOk('mcopy', ['-s', '-n', '-i', image, '::/tree', out]);
    expect(digest(readTree(out))).toEqual(digest(tree));

    expect(progress[0]).toMatchObject({ phase: 'copying files', bytesDone: 0, bytesTotal: bytes, itemsDone: 0, itemsTotal: 1500 });
    expect(progress.at(-1)).toMatchObject({ phase: 'writing metadata', bytesDone: bytes, itemsDone: 1500 });
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.bytesDone).toBeGreaterThanOrEqual(progress[i - 1]!.bytesDone);
      expect(progress[i]!.itemsDone).toBeGreaterThanOrEqual(progress[i - 1]!.itemsDone!);
    }
    expect(progress.filter((p) => p.phase === 'copying files')).toHaveLength(1501);
  }, 60_000);

  it('cancelled midway: CANCELLED naming how far it got; the files it finished are kept, byte-exact, fsck-clean', async () => {
    const src = join(tmp.dir, 'cancel-tree');
    const tree = makeTree(src, 300);
    const image = fatImage('64M');
    const controller = new AbortController();
    const copy = putFiles({ image }, [src], '/', {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.itemsDone === 100) controller.abort();
      },
    });
    await expect(copy).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringContaining('cancelled after 100 of 300 files') });
    expectFsckClean(image);
    // Each finished file was in the image's metadata before the next began: all 100 are there.
    const out = join(tmp.dir, 'cancel-out');
    mkdirSync(out);
    runToolOk('mcopy', ['-s', '-n', '-i', image, '::/cancel-tree', out]);
    const kept = readTree(join(out, 'cancel-tree'));
    expect(kept.size).toBe(100);
    for (const [path, data] of kept) expect(data.equals(tree.get(path)!), path).toBe(true);
  }, 60_000);

  it('killed with SIGKILL midway (loopstudio put): every file in the image is whole, and fsck.fat calls it clean', async () => {
    const src = join(tmp.dir, 'kill-tree');
    const tree = makeTree(src, 1200);
    const image = fatImage('64M');
    const before = statSync(image).mtimeMs;
    const child = spawn(process.execPath, [join(__dirname, '../../bin/loopstudio.cjs'), 'put', image, src, '/'], { stdio: 'ignore' });
    // Kill it once it has started writing (or let it finish on a very fast machine).
    const started = Date.now();
    while (child.exitCode === null && statSync(image).mtimeMs === before && Date.now() - started < 20_000)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 60));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r).once('error', r));
    expectFsckClean(image);
    const out = join(tmp.dir, 'kill-out');
    mkdirSync(out);
    if (mtoolsTree(runTool, image).length > 0) runToolOk('mcopy', ['-s', '-n', '-i', image, '::/kill-tree', out]);
    const kept = existsSync(join(out, 'kill-tree')) ? readTree(join(out, 'kill-tree')) : new Map<string, Buffer>();
    for (const [path, data] of kept) expect(data.equals(tree.get(path)!), path).toBe(true);
    expect(kept.size).toBeGreaterThan(0);
  }, 60_000);

  it('refuses a tree bigger than the free space before writing anything', async () => {
    const src = join(tmp.dir, 'big-tree');
    mkdirSync(src);
    for (let i = 0; i < 3; i++) writeFileSync(join(src, `big${i}.bin`), Buffer.alloc(700 * 1024, i + 1));
    const image = fatImage('1440K', []);
    const before = readFileSync(image);
    const error = await putFiles({ image }, [src], '/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoopbackError);
    expect(error).toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/^Not enough space in .*nothing was copied$/) });
    expect(readFileSync(image).equals(before)).toBe(true);
    expect((await listFiles({ image }, '/')).entries).toEqual([]);
  });
});

describe.skipIf(missingTools('mke2fs', 'e2fsck', 'debugfs'))('putFiles into ext2, interrupted', () => {
  it('cancelled midway keeps the files it finished, byte-exact, and e2fsck calls it clean', async () => {
    const src = join(tmp.dir, 'ext2-cancel-tree');
    const tree = makeTree(src, 150);
    const image = join(tmp.dir, 'ext2-cancel.img');
    runToolOk('truncate', ['-s', '32M', image]);
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', image]);
    const controller = new AbortController();
    const copy = putFiles({ image }, [src], '/', {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.itemsDone === 50) controller.abort();
      },
    });
    await expect(copy).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringContaining('cancelled after 50 of 150 files') });
    expect(runTool('e2fsck', ['-fn', image]).status).toBe(0);
    const out = join(tmp.dir, 'ext2-cancel-out');
    mkdirSync(out);
    runToolOk('debugfs', ['-R', `rdump /ext2-cancel-tree ${out}`, image]);
    const kept = readTree(join(out, 'ext2-cancel-tree'));
    expect(kept.size).toBe(50);
    for (const [path, data] of kept) expect(data.equals(tree.get(path)!), path).toBe(true);
  }, 60_000);
});
