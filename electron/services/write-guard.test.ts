/**
 * Nothing writes underneath a mount (issue 17): with partition 1 of a disk attached read-write,
 * mounted by hand (`losetup -o` + `mount`) or mounted by `loopstudio mount`, every rootless writer
 * is refused with what holds it and how to release it, and the image's bytes stay what the kernel
 * left them; partition 2 stays writable, reads stay allowed, a read-only attachment blocks nothing.
 * Checked with losetup, e2fsck and debugfs. Runs as root (loop devices); ext2 (FAT cannot be
 * mounted on these machines — the same code path is the guard's, covered without a mount too).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../tests/support/cli';
import { runTool, runToolOk, tempDir } from '../../tests/support/host';
import { attachOwn, detachIfBackedBy, loopSkipReason, releaseUnder, skipTitle } from '../../tests/support/loops';

const skip = loopSkipReason();
const MiB = 1024 * 1024;
const P1 = { offset: 1 * MiB, size: 8 * MiB };

let dir: string;
let cleanup: () => void;
let image: string;
let payload: string;
let recipe: string;
const savedEnv = { XDG_STATE_HOME: process.env.XDG_STATE_HOME, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };

/** The image's bytes, or only those outside partition 1 (where a mounted kernel writes on its own). */
function sha(path: string, outsidePartition1 = false): string {
  const bytes = readFileSync(path);
  const hash = createHash('sha256');
  if (!outsidePartition1) return hash.update(bytes).digest('hex');
  return hash
    .update(bytes.subarray(0, P1.offset))
    .update(bytes.subarray(P1.offset + P1.size))
    .digest('hex');
}

/**
 * Every rootless writer aimed at partition 1 (or the whole image): each must be refused. While
 * partition 1 is mounted read-write, put, mkdir and rm go through the mount instead of writing
 * the image (files-through-mount.test.ts), so they are left out then.
 */
function writersOnPartition1(mounted: boolean): string[][] {
  return [
    ...(mounted
      ? []
      : [
          ['put', image, '-p', '1', payload, '/'],
          ['mkdir', image, '-p', '1', '/new'],
          ['rm', image, '-p', '1', '/keep.txt'],
        ]),
    ['format', image, '-p', '1', '--fs', 'ext2'],
    ['partition', image, '--set', '1', 'bootable'],
    ['bootloader', image, '-p', '1', '--grub2'],
    ['create', image, '--size', '20M', '--force'],
    ['build', recipe, '-o', image, '--force'],
  ];
}

async function expectAllRefused(holder: RegExp, mounted: boolean): Promise<void> {
  runToolOk('sync', []);
  const before = sha(image, mounted);
  for (const argv of writersOnPartition1(mounted)) {
    const run = await cli(...argv, '--json');
    expect(run.code, `loopstudio ${argv.join(' ')}`).toBe(1);
    expect(run.json().error, `loopstudio ${argv.join(' ')}`).toMatchObject({ code: 'IN_USE', message: expect.stringMatching(holder) });
  }
  runToolOk('sync', []);
  expect(sha(image, mounted)).toBe(before);
}

describe.skipIf(skip)(skipTitle('writes under a mount or an attached loop device', skip), () => {
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('loopstudio-guard-'));
    process.env.XDG_STATE_HOME = join(dir, 'state');
    process.env.XDG_RUNTIME_DIR = join(dir, 'run');
    image = join(dir, 'disk.img');
    payload = join(dir, 'a.txt');
    writeFileSync(payload, 'through the guard\n');
    recipe = join(dir, 'recipe.json');
    writeFileSync(
      recipe,
      JSON.stringify({ image: { size: '20M' }, table: 'mbr', partitions: [{ size: '8M', filesystem: { type: 'ext2' } }] }),
    );
    expect((await cli('create', image, '--size', '20M')).code).toBe(0);
    expect(
      (await cli('partition', image, '--table', 'mbr', '--add', 'start=2048,size=16384,type=83', '--add', 'start=18432,size=rest,type=83'))
        .code,
    ).toBe(0);
    for (const p of ['1', '2']) expect((await cli('format', image, '-p', p, '--fs', 'ext2')).code).toBe(0);
    expect((await cli('put', image, '-p', '1', payload, '/keep.txt')).code).toBe(0);
  });
  afterEach(() => releaseUnder(dir));
  afterAll(() => {
    releaseUnder(dir);
    cleanup();
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('a foreign loop device attached read-write (losetup -o) blocks every writer of its bytes, not the other partition, not reads', async () => {
    const device = attachOwn(image, ['--offset', String(P1.offset), '--sizelimit', String(P1.size)]);
    try {
      await expectAllRefused(new RegExp(`attached read-write as ${device}.*losetup -d ${device}`), false);
      // Partition 2 is not under it; reads are never blocked.
      expect((await cli('put', image, '-p', '2', payload, '/')).code).toBe(0);
      expect((await cli('ls', image, '-p', '1', '/')).stdout).toContain('keep.txt');
      expect((await cli('get', image, '-p', '1', '/keep.txt', join(dir, 'got.txt'))).code).toBe(0);
    } finally {
      detachIfBackedBy(device, image);
    }
  });

  it('a mount made by hand blocks them with the mount point named; e2fsck is clean after unmount', async () => {
    const device = attachOwn(image, ['--offset', String(P1.offset), '--sizelimit', String(P1.size)]);
    const mnt = join(dir, 'by-hand');
    mkdirSync(mnt);
    try {
      runToolOk('mount', ['-t', 'ext2', device, mnt]);
      writeFileSync(join(mnt, 'kernel-wrote.txt'), 'written through the kernel\n');
      await expectAllRefused(new RegExp(`mounted at ${mnt} \\(through ${device}\\)`), true);
    } finally {
      runTool('umount', [mnt]);
      detachIfBackedBy(device, image);
    }
    const check = attachOwn(image, ['-r', '--offset', String(P1.offset), '--sizelimit', String(P1.size)]);
    try {
      expect(runTool('e2fsck', ['-fn', check]).status).toBe(0);
      expect(runToolOk('debugfs', ['-R', 'cat /kernel-wrote.txt', check]).stdout).toBe('written through the kernel\n');
    } finally {
      detachIfBackedBy(check, image);
    }
  });

  it('loopstudio mount blocks them too, naming `loopstudio umount DIR`', async () => {
    const mounted = await cli('mount', image, '-p', '1', '--json');
    expect(mounted.code).toBe(0);
    const mountDir = mounted.json().mountDir as string;
    try {
      await expectAllRefused(new RegExp(`loopstudio umount ${mountDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), true);
    } finally {
      expect((await cli('umount', mountDir)).code).toBe(0);
    }
    expect((await cli('put', image, '-p', '1', payload, '/after.txt')).code).toBe(0);
  });

  it('a read-only attachment that is not mounted blocks nothing', async () => {
    const device = attachOwn(image, ['-r', '--offset', String(P1.offset), '--sizelimit', String(P1.size)]);
    try {
      expect((await cli('ls', image, '-p', '1', '/')).code).toBe(0);
      expect((await cli('put', image, '-p', '1', payload, '/ro-ok.txt')).code).toBe(0);
    } finally {
      detachIfBackedBy(device, image);
    }
  });
});
