/**
 * `loopstudio get` and `info` on hostile and damaged images (issue 13, "Hostile images"), run
 * as users run them. Each image is made by the real tools (mkfs.fat and mtools, mke2fs and
 * debugfs, sfdisk), patched byte by byte into the attack the test names, and shown to hold it
 * (mdir, debugfs, fsck.fat, e2fsck). Every extraction goes into a folder a few levels down a
 * sandbox, and the whole sandbox is checked afterwards: nothing may appear outside OUT.
 */
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../tests/support/cli';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import {
  findExt2Record,
  findShortEntry,
  firstCluster,
  makeExt2Image,
  makeFatImage,
  patchExt2Name,
  patchImage,
  patchLongName,
} from '../../tests/support/hostile-images';

const skip = missingTools('mkfs.fat', 'fsck.fat', 'mmd', 'mcopy', 'mdir', 'mke2fs', 'debugfs', 'e2fsck', 'sfdisk', 'truncate');
const tmp = tempDir('hostile-get-');
afterAll(() => tmp.cleanup());
let counter = 0;

/** A fresh sandbox with OUT four levels down (so "../../../../x" would still land inside the sandbox). */
function sandbox(): { root: string; out: string } {
  const root = join(tmp.dir, `sandbox-${++counter}`);
  const out = join(root, '1', '2', '3', '4', 'out');
  mkdirSync(join(root, '1', '2', '3', '4'), { recursive: true });
  return { root, out };
}

/** Everything in the sandbox outside OUT, as relative paths (the folders leading to OUT excepted); links are not followed. */
function outside(root: string, out: string): string[] {
  const leading = new Set<string>();
  for (let at = dirname(out); at !== root && at.startsWith(root); at = dirname(at)) leading.add(at);
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (path === out) continue;
      if (!leading.has(path)) found.push(relative(root, path));
      if (lstatSync(path).isDirectory()) walk(path);
    }
  };
  walk(root);
  return found;
}

/** The warning lines of what a command printed on stderr. */
function warnings(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('loopstudio get: warning: '));
}

/** Files and folders below `dir` (links not followed) as relative path → "dir", "-> target" or the text. */
function tree(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      const stats = lstatSync(path);
      const rel = relative(dir, path);
      if (stats.isSymbolicLink()) result[rel] = `-> ${readlinkSync(path)}`;
      else if (stats.isDirectory()) {
        result[rel] = 'dir';
        walk(path);
      } else result[rel] = readFileSync(path, 'utf8');
    }
  };
  walk(dir);
  return result;
}

describe.skipIf(skip)('get never writes outside OUT', () => {
  it('FAT: a long name "../../x" in a subfolder (with a real /x) is skipped with a warning; the rest is copied', async () => {
    const image = makeFatImage(tmp.dir, {
      fat: 12,
      size: '2M',
      folders: ['/sub'],
      files: { '/x': 'real x\n', '/sub/abcdefghij': 'evil\n', '/sub/ok.txt': 'fine\n' },
    });
    patchImage(image, (bytes) => patchLongName(bytes, 'abcdefghij', '../../x'));
    expect(runToolOk('mdir', ['-i', image, '::/sub']).stdout).toMatch(/ \.\.\/\.\.\/x\n/);
    const { root, out } = sandbox();
    const run = await cli('get', image, '/', out);
    expect(outside(root, out)).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    expect(warnings(run.stderr)).toEqual(['loopstudio get: warning: skipped "/sub/../../x": the name contains "/"']);
    expect(run.stdout + run.stderr).toContain(`Copied 2 file(s), 12 bytes, to ${out}; skipped 1 entry (see the warnings)\n`);
    expect(tree(out)).toEqual({ sub: 'dir', 'sub/ok.txt': 'fine\n', x: 'real x\n' });
    expect(outside(root, out)).toEqual([]);
    const json = await cli('get', image, '/sub', join(root, 'json-out'), '--json');
    expect(json.json()).toMatchObject({ files: 1, folders: 1, skipped: [{ path: '/sub/../../x', reason: 'the name contains "/"' }] });
  });

  it('FAT: a folder named "../../../../tmp/D" is skipped with all it holds', async () => {
    const image = makeFatImage(tmp.dir, {
      fat: 16,
      size: '16M',
      folders: ['/abcdefghijklmnopq'],
      files: { '/abcdefghijklmnopq/f.txt': 'escaped\n', '/keep.txt': 'kept\n' },
    });
    patchImage(image, (bytes) => patchLongName(bytes, 'abcdefghijklmnopq', '../../../../tmp/D'));
    expect(runToolOk('mdir', ['-i', image, '::/']).stdout).toContain(' ../../../../tmp/D');
    const { root, out } = sandbox();
    const run = await cli('get', image, '/', out);
    expect(outside(root, out)).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('skipped "/../../../../tmp/D": the name contains "/"');
    expect(tree(out)).toEqual({ 'keep.txt': 'kept\n' });
    expect(outside(root, out)).toEqual([]);
  });

  it('ext2: a symlink named "../../x" is skipped, never made outside OUT', async () => {
    const image = makeExt2Image(tmp.dir, { size: '4M', commands: ['mkdir d', 'symlink d/abcdefg /etc/passwd'], files: { '/d/f': 'f\n' } });
    patchImage(image, (bytes) => patchExt2Name(bytes, 'abcdefg', '../../x'));
    expect(runToolOk('debugfs', ['-R', 'ls -l /d', image]).stdout).toContain('../../x');
    const { root, out } = sandbox();
    const run = await cli('get', image, '/d', out);
    expect(outside(root, out)).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    expect(warnings(run.stderr)).toEqual(['loopstudio get: warning: skipped "/d/../../x": the name contains "/"']);
    expect(tree(out)).toEqual({ f: 'f\n' });
    expect(outside(root, out)).toEqual([]);
  });

  it('ext2: an entry "a/b" beside a symlink "a" -> a host folder writes nothing through the link', async () => {
    const { root, out } = sandbox();
    const victim = join(root, 'victim');
    mkdirSync(victim);
    // The image has the victim's path as a real folder too, so "/a/b" resolves inside the image.
    const parts = victim.split('/').filter(Boolean);
    const image = makeExt2Image(tmp.dir, {
      size: '4M',
      commands: [`symlink a ${victim}`, ...parts.map((_, i) => `mkdir /${parts.slice(0, i + 1).join('/')}`)],
      files: { '/axb': 'through the link\n', [`${victim}/b`]: 'image copy\n' },
    });
    patchImage(image, (bytes) => patchExt2Name(bytes, 'axb', 'a/b'));
    expect(runToolOk('debugfs', ['-R', 'ls /', image]).stdout).toContain('a/b');
    const run = await cli('get', image, '/', out);
    expect(readdirSync(victim)).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('skipped "/a/b": the name contains "/"');
    expect(lstatSync(join(out, 'a')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(out, ...parts, 'b'), 'utf8')).toBe('image copy\n');
    expect(outside(root, out)).toEqual(['victim']);
  });

  it('ext2: names and symlink targets with NUL or control characters are skipped, not a crash', async () => {
    const image = makeExt2Image(tmp.dir, {
      size: '4M',
      commands: ['symlink link QQQQtarget'],
      files: { '/nulXname': 'n\n', '/escXname': 'e\n', '/fine': 'ok\n' },
    });
    patchImage(image, (bytes) => {
      bytes[findExt2Record(bytes, 'nulXname') + 8 + 3] = 0;
      bytes[findExt2Record(bytes, 'escXname') + 8 + 3] = 0x1b;
      bytes[bytes.indexOf('QQQQtarget') + 4] = 0; // a fast symlink: the target lives in the inode
    });
    const { root, out } = sandbox();
    const run = await cli('get', image, '/', out);
    expect(run.code, run.stderr).toBe(0);
    expect(warnings(run.stderr).sort()).toEqual([
      'loopstudio get: warning: skipped "/esc\\x1bname": the name contains the control character 0x1b',
      'loopstudio get: warning: skipped "/link": a symbolic link whose target contains a NUL character',
      'loopstudio get: warning: skipped "/nul\\x00name": the name contains a NUL character',
    ]);
    expect(tree(out)).toEqual({ fine: 'ok\n', 'lost+found': 'dir' });
    expect(outside(root, out)).toEqual([]);
  });
});

describe.skipIf(skip)('get replaces nothing without --force, and never writes through a link', () => {
  it('refuses existing files before writing anything, replaces them with --force', async () => {
    const image = makeFatImage(tmp.dir, { fat: 12, size: '2M', folders: ['/d'], files: { '/d/a.txt': 'new a\n', '/d/b.txt': 'new b\n' } });
    const { out } = sandbox();
    mkdirSync(join(out, 'd'), { recursive: true });
    writeFileSync(join(out, 'd', 'b.txt'), 'old b\n');
    const refused = await cli('get', image, '/d', out, '--json');
    expect(refused.code).toBe(1);
    expect(refused.json().error).toMatchObject({ code: 'ALREADY_EXISTS', details: { existing: [join(out, 'd', 'b.txt')], count: 1 } });
    expect(refused.json().error.message).toBe(
      `${join(out, 'd', 'b.txt')} already exists: nothing was copied. Copy again with --force (the app asks) to replace it`,
    );
    expect(tree(out)).toEqual({ d: 'dir', 'd/b.txt': 'old b\n' });
    const forced = await cli('get', image, '/d', out, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(tree(out)).toEqual({ d: 'dir', 'd/a.txt': 'new a\n', 'd/b.txt': 'new b\n' });
  });

  it('a host symlink where a file or a folder goes is refused, and with --force replaced — its target untouched', async () => {
    const image = makeFatImage(tmp.dir, {
      fat: 12,
      size: '2M',
      folders: ['/sub'],
      files: { '/x.txt': 'from the image\n', '/sub/y.txt': 'y\n' },
    });
    const { root, out } = sandbox();
    const victimFile = join(root, 'victim.txt');
    const victimDir = join(root, 'victim-dir');
    writeFileSync(victimFile, 'precious\n');
    mkdirSync(victimDir);
    mkdirSync(out);
    symlinkSync(victimFile, join(out, 'x.txt'));
    symlinkSync(victimDir, join(out, 'sub'));
    const refused = await cli('get', image, '/', out);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${join(out, 'sub')}, ${join(out, 'x.txt')} already exist: nothing was copied`);
    const forced = await cli('get', image, '/', out, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(tree(out)).toEqual({ sub: 'dir', 'sub/y.txt': 'y\n', 'x.txt': 'from the image\n' });
    expect(readFileSync(victimFile, 'utf8')).toBe('precious\n');
    expect(readdirSync(victimDir)).toEqual([]);
  });

  it('a host folder is never replaced by a file, even with --force', async () => {
    const image = makeFatImage(tmp.dir, { fat: 12, size: '2M', files: { '/x.txt': 'x\n' } });
    const { out } = sandbox();
    mkdirSync(join(out, 'x.txt'), { recursive: true });
    const run = await cli('get', image, '/', out, '--force', '--json');
    expect(run.code).toBe(1);
    expect(run.json().error).toMatchObject({
      code: 'ALREADY_EXISTS',
      message: `${join(out, 'x.txt')} is a folder on this computer, where the copy has a file: nothing was copied (a folder is never replaced)`,
    });
  });

  it('a device, pipe or socket where a file goes is never replaced, even with --force', async () => {
    const image = makeFatImage(tmp.dir, { fat: 12, size: '2M', files: { '/x.txt': 'x\n', '/y.txt': 'y\n' } });
    const { out } = sandbox();
    mkdirSync(out, { recursive: true });
    runToolOk('mkfifo', [join(out, 'x.txt')]);
    const run = await cli('get', image, '/', out, '--force', '--json');
    expect(run.code).toBe(2);
    expect(run.json().error).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining(`${join(out, 'x.txt')} is a device, pipe or socket on this computer`),
    });
    expect(lstatSync(join(out, 'x.txt')).isFIFO()).toBe(true);
    expect(readdirSync(out)).toEqual(['x.txt']);
  });
});

describe.skipIf(skip)('get: damaged trees, huge files, a full disk', () => {
  it('FAT32 in a partition: a folder that contains its ancestor stops get with CORRUPT naming the partition and the path, before writing', async () => {
    const image = join(tmp.dir, 'cycle-disk.img');
    runToolOk('truncate', ['-s', '48M', image]);
    runToolOk('sfdisk', ['-q', image], { input: 'start=2048, type=c\n' });
    runToolOk('mkfs.fat', ['-F', '32', '-s', '1', '--offset', '2048', image, String((48 * 1024 * 1024) / 1024 - 1024)]);
    const at = `${image}@@${2048 * 512}`;
    runToolOk('mmd', ['-i', at, '::/tree', '::/tree/sub', '::/tree/sub/loop']);
    patchImage(image, (bytes) => {
      const loop = findShortEntry(bytes, 'LOOP', 0x10);
      const tree = firstCluster(bytes, findShortEntry(bytes, 'TREE', 0x10));
      bytes.writeUInt16LE(tree >>> 16, loop + 20);
      bytes.writeUInt16LE(tree & 0xffff, loop + 26);
    });
    const { root, out } = sandbox();
    const run = await cli('get', image, '-p', '1', '/', out, '--json');
    expect(run.code).toBe(1);
    expect(run.json().error).toMatchObject({
      code: 'CORRUPT',
      message: `partition 1 of ${image}: "/tree/sub/loop" is the folder "/tree" again: a folder that contains itself (a directory cycle); the volume is damaged (run fsck.fat)`,
      details: { path: '/tree/sub/loop', ancestor: '/tree', image, partition: 1 },
    });
    expect(readdirSync(join(root, '1', '2', '3', '4'))).toEqual([]); // nothing written, not even OUT
  });

  it('ext2: a file of 4 GiB + 5 bytes (i_size_high 1) is streamed out sparse, holes and all', async () => {
    const image = makeExt2Image(tmp.dir, { size: '4M', files: { '/big': 'hello' } });
    runToolOk('debugfs', ['-w', '-R', 'sif big size 0x100000005', image]);
    const { out } = sandbox();
    mkdirSync(out);
    const run = await cli('get', image, '/big', out, '--json');
    expect(run.code, run.stdout).toBe(0);
    expect(run.json()).toMatchObject({ files: 1, bytes: 2 ** 32 + 5, skipped: [] });
    const stats = statSync(join(out, 'big'));
    expect(stats.size).toBe(2 ** 32 + 5);
    expect(stats.blocks * 512).toBeLessThan(1024 * 1024); // sparse on the host too
    const head = Buffer.alloc(8);
    const fd = openSync(join(out, 'big'), 'r');
    readSync(fd, head, 0, 8, 0);
    closeSync(fd);
    expect(head.toString('latin1')).toBe('hello\0\0\0');
  });

  it('a full host disk is NO_SPACE naming the file, and the half-written file is removed', async (context) => {
    if (process.getuid?.() !== 0) return context.skip('mounting a small tmpfs needs root');
    const image = makeFatImage(tmp.dir, { fat: 16, size: '16M', files: { '/small.txt': 'small\n', '/large.bin': 'z'.repeat(300_000) } });
    const { out } = sandbox();
    mkdirSync(out);
    runToolOk('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', out]);
    try {
      const run = await cli('get', image, '/', out, '--json');
      expect(run.code).toBe(1);
      expect(run.json().error).toMatchObject({
        code: 'NO_SPACE',
        message: `No space left on this computer's disk to write ${join(out, 'large.bin')}: free some space and copy again`,
        details: { path: join(out, 'large.bin') },
      });
      expect(readdirSync(out).sort()).toEqual(['small.txt']);
    } finally {
      runTool('umount', [out]);
    }
  });

  it('mkdir --parents on a tree whose root is not a folder is CORRUPT, not a bug', async () => {
    const image = makeExt2Image(tmp.dir, { size: '4M' });
    runToolOk('debugfs', ['-w', '-R', 'sif <2> mode 0100644', image]);
    const run = await cli('mkdir', image, '/a/b', '--parents', '--json');
    expect(run.code).toBe(1);
    expect(run.json().error).toMatchObject({
      code: 'CORRUPT',
      message: `${image}: / should be a folder but its inode (2) is not one: run e2fsck on the image`,
    });
  });
});

describe.skipIf(skip)('info with one damaged filesystem', () => {
  it('shows the table and the healthy partitions, and marks the damaged one with its error', async () => {
    const image = join(tmp.dir, 'two-parts.img');
    runToolOk('truncate', ['-s', '60M', image]);
    runToolOk('sfdisk', ['-q', image], { input: 'start=2048, size=81920, type=c\nstart=83968, type=83\n' });
    runToolOk('mkfs.fat', ['-F', '32', '-s', '1', '--offset', '2048', image, String(81920 / 2)]);
    const ext2 = join(tmp.dir, 'p2.img');
    runToolOk('truncate', ['-s', `${(122880 - 83968) * 512}`, ext2]);
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', ext2]);
    runToolOk('dd', [`if=${ext2}`, `of=${image}`, 'bs=512', 'seek=83968', 'conv=notrunc', 'status=none']);
    // The FAT32 root folder's cluster marked free in both FATs: its chain is broken.
    patchImage(image, (bytes) => {
      const start = 2048 * 512;
      const reserved = bytes.readUInt16LE(start + 14);
      const fatBytes = bytes.readUInt32LE(start + 36) * 512;
      const rootCluster = bytes.readUInt32LE(start + 44);
      for (const fat of [0, 1]) bytes.writeUInt32LE(0, start + reserved * 512 + fat * fatBytes + 4 * rootCluster);
    });
    const p1 = join(tmp.dir, 'p1.img');
    runToolOk('dd', [`if=${image}`, `of=${p1}`, 'bs=512', 'skip=2048', 'count=81920', 'status=none']);
    expect(runTool('fsck.fat', ['-n', p1]).stdout).toContain('/\n  Contains a free cluster (2). Assuming EOF.');
    const json = await cli('info', image, '--json');
    expect(json.code, json.stdout).toBe(0);
    const info = json.json();
    expect(info.partitions).toHaveLength(2);
    expect(info.partitions[0]).toMatchObject({ index: 1, filesystem: null, error: { code: 'CORRUPT' } });
    expect(info.partitions[0].error.message).toMatch(
      /^"\/": The cluster chain from cluster 2 runs into a free cluster at 2 \(run fsck.fat\)$/,
    );
    expect(info.partitions[1]).toMatchObject({ index: 2, filesystem: { type: 'ext2' } });
    expect(info.partitions[1].error).toBeUndefined();
    const human = await cli('info', image);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/\n {2}1 .* damaged \(see below\)\n/);
    expect(human.stdout).toMatch(/\n {2}2 .* ext2 /);
    expect(human.stdout).toContain(
      '  partition 1: the filesystem cannot be read (CORRUPT): "/": The cluster chain from cluster 2 runs into a free cluster',
    );
  });
});
