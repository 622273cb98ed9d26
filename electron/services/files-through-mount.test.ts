/**
 * Files into a mounted partition go through the mount (issue 17), as root with ext2 and the
 * built CLI: with partition 1 mounted — by `loopstudio mount`, or by hand with `losetup -o` or
 * `losetup -P` — put, ls, mkdir, rm, get (and the services' rename) act on the mount folder and
 * say so; after unmount debugfs reads every file from the image byte-exact, with its mode and
 * links, e2fsck -fn is clean, and no byte outside partition 1 changed. A read-only mount is read
 * through and refuses writes; "not enough space" holds there too; and an unmount that something
 * still uses names the processes (pid and command) instead of a bare "target is busy".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, cliOk } from '../../tests/support/cli';
import { runTool, runToolOk, tempDir } from '../../tests/support/host';
import { attachOwn, detachIfBackedBy, loopSkipReason, mountsUnder, releaseUnder, skipTitle } from '../../tests/support/loops';
import { renamePath } from './files';

const skip = loopSkipReason();
const MiB = 1024 * 1024;
const P1 = { offset: 1 * MiB, size: 8 * MiB };

let dir: string;
let cleanup: () => void;
let image: string;
let src: string;
let big: Buffer;
let caseNo = 0;
const savedEnv = { XDG_STATE_HOME: process.env.XDG_STATE_HOME, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };

/** The image's bytes outside partition 1, hashed (inside it the kernel writes as it likes). */
function outsidePartition1(): string {
  const bytes = readFileSync(image);
  return createHash('sha256')
    .update(bytes.subarray(0, P1.offset))
    .update(bytes.subarray(P1.offset + P1.size))
    .digest('hex');
}

/** debugfs on partition 1 of the image file itself (unix_io's offset option). */
function debugfs(request: string): string {
  return runToolOk('debugfs', ['-R', request, `${image}?offset=${P1.offset}`]).stdout;
}

function dump(path: string): Buffer {
  const out = join(dir, `dump-${++caseNo}`);
  debugfs(`dump ${path} ${out}`);
  return readFileSync(out);
}

function expectFsckClean(): void {
  const run = runTool('e2fsck', ['-fn', `${image}?offset=${P1.offset}`]);
  expect(run.status, run.stdout + run.stderr).toBe(0);
}

function isMountPoint(path: string): boolean {
  return mountsUnder(dir).includes(path);
}

async function mountP1(...extra: string[]): Promise<string> {
  return (await cliOk('mount', image, '-p', '1', ...extra, '--json')).json().mountDir as string;
}

describe.skipIf(skip)(skipTitle('files through a mounted ext2 partition (as root)', skip), () => {
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('loopstudio-through-'));
    process.env.XDG_STATE_HOME = join(dir, 'state');
    process.env.XDG_RUNTIME_DIR = join(dir, 'run');
    src = join(dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'through the mount\n');
    chmodSync(join(src, 'a.txt'), 0o640);
    big = randomBytes(300_000);
    writeFileSync(join(src, 'sub', 'big.bin'), big);
    symlinkSync('sub/big.bin', join(src, 'link'));
  });
  beforeEach(async () => {
    image = join(dir, `disk-${++caseNo}.img`);
    await cliOk('create', image, '--size', '20M');
    await cliOk('partition', image, '--table', 'mbr', '--add', 'start=2048,size=16384,type=83', '--add', 'start=18432,size=rest,type=83');
    for (const p of ['1', '2']) await cliOk('format', image, '-p', p, '--fs', 'ext2');
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

  it('loopstudio put/ls/mkdir/rm/get go through `loopstudio mount`; after umount the image holds it all, byte-exact', async () => {
    const mountDir = await mountP1();
    const outside = outsidePartition1();
    const through = `through the mount at ${mountDir}`;

    const put = await cliOk('put', image, '-p', '1', src, '/');
    expect(put.stdout).toBe(`Copied 2 file(s), 292.99 KiB, and 2 folder(s) into partition 1 of ${image}:/ ${through}\n`);
    expect(readFileSync(join(mountDir, 'src/sub/big.bin')).equals(big)).toBe(true);

    const ls = await cliOk('ls', image, '-p', '1', '/src', '--json');
    expect(ls.json()).toMatchObject({
      path: '/src',
      via: { mountDir, readOnly: false, device: expect.stringMatching(/^\/dev\/loop\d+$/) },
    });
    expect(ls.json().entries.map((e: { name: string }) => e.name)).toEqual(['a.txt', 'link', 'sub']);
    expect((await cliOk('ls', image, '-p', '1', '/src')).stdout).toMatch(
      new RegExp(
        `-rw-r-----\\s+18 .* a\\.txt\\n.*link -> sub/big\\.bin\\n.*sub/\\n\\(listed ${through.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)\\n$`,
      ),
    );

    expect((await cliOk('mkdir', image, '-p', '1', '/made/deeper', '--parents')).stdout).toBe(`Made /made/deeper ${through}\n`);
    expect((await cliOk('put', image, '-p', '1', join(src, 'a.txt'), '/made/deeper/copy.txt')).stdout).toContain(through);
    expect(await renamePath({ image, partition: 1 }, '/made/deeper/copy.txt', '/made/renamed.txt')).toMatchObject({
      to: '/made/renamed.txt',
      via: { mountDir },
    });
    expect((await cliOk('rm', image, '-p', '1', '/src/a.txt')).stdout).toBe(`Removed /src/a.txt ${through}\n`);

    const out = join(dir, `got-${caseNo}`);
    // What get says goes to stderr: stdout is for data (`get … -`).
    expect((await cliOk('get', image, '-p', '1', '/src', out)).stderr).toBe(`Copied 1 file(s), 292.97 KiB, to ${out} ${through}\n`);
    expect(readFileSync(join(out, 'sub/big.bin')).equals(big)).toBe(true);

    // Through the mount, nothing outside partition 1 was written.
    runToolOk('sync', []);
    expect(outsidePartition1()).toBe(outside);
    // Partition 2 is not mounted: the rootless engine writes it as before.
    const p2 = await cliOk('put', image, '-p', '2', join(src, 'a.txt'), '/p2.txt');
    expect(p2.stdout).not.toContain('through the mount');

    expect((await cliOk('umount', mountDir)).code).toBe(0);
    expect(isMountPoint(mountDir)).toBe(false);

    expect(dump('/src/sub/big.bin').equals(big)).toBe(true);
    expect(dump('/made/renamed.txt').toString()).toBe('through the mount\n');
    expect(debugfs('stat /made/renamed.txt')).toMatch(/Mode:\s+0640/);
    expect(debugfs('stat /src/link')).toMatch(/Fast link dest: "sub\/big\.bin"/);
    expect(debugfs('ls -p /src')).not.toMatch(/\/a\.txt\//);
    expect(debugfs('ls -p /made')).toMatch(/\/deeper\//);
    expectFsckClean();
    const p2Check = runTool('e2fsck', ['-fn', `${image}?offset=${P1.offset + P1.size}`]);
    expect(p2Check.status, p2Check.stdout).toBe(0);
  });

  /** Attaches the image as by hand, mounts `node(device)` at a fresh folder, puts a file; returns where. */
  async function putThroughHandMount(
    attachArgs: string[],
    node: (device: string) => string,
    name: string,
  ): Promise<{ mnt: string; device: string } | null> {
    const device = attachOwn(image, attachArgs);
    const mnt = join(dir, `by-hand-${name}-${caseNo}`);
    mkdirSync(mnt);
    try {
      if (!existsSync(node(device))) return null;
      runToolOk('mount', ['-t', 'ext2', node(device), mnt]);
      const put = await cliOk('put', image, '-p', '1', join(src, 'sub', 'big.bin'), `/${name}.bin`, '--json');
      expect(put.json()).toMatchObject({ files: 1, via: { mountDir: mnt, device: node(device), readOnly: false } });
      expect(readFileSync(join(mnt, `${name}.bin`)).equals(big)).toBe(true);
      return { mnt, device };
    } finally {
      runTool('umount', [mnt]);
      detachIfBackedBy(device, image);
    }
  }

  it('a mount made by hand (losetup -o, with or without a size limit) is found and used; nothing else in the image changes', async () => {
    const bytesBefore = outsidePartition1();
    expect(await putThroughHandMount(['--offset', String(P1.offset), '--sizelimit', String(P1.size)], (d) => d, 'limited')).not.toBeNull();
    // `mount -o loop,offset=…` without a size limit shows the rest of the file: the filesystem there is still partition 1's.
    expect(await putThroughHandMount(['--offset', String(P1.offset)], (d) => d, 'unlimited')).not.toBeNull();
    expect(dump('/limited.bin').equals(big)).toBe(true);
    expect(dump('/unlimited.bin').equals(big)).toBe(true);
    expectFsckClean();
    expect(outsidePartition1()).toBe(bytesBefore);
  });

  it('a partition node of a whole-image loop device (losetup -P, as udisks does) is found by its sysfs start and size', async (ctx) => {
    const result = await putThroughHandMount(['-P'], (d) => `${d}p1`, 'partscan');
    if (result === null) {
      ctx.skip('this kernel or container makes no partition nodes for loop devices (no /dev/loopNp1 after losetup -P)');
      return;
    }
    expect(dump('/partscan.bin').equals(big)).toBe(true);
    expectFsckClean();
  });

  it('a read-only mount is read through; writing is refused with the mount named', async () => {
    await cliOk('put', image, '-p', '1', join(src, 'a.txt'), '/kept.txt');
    const mountDir = await mountP1('--read-only');
    const ls = await cliOk('ls', image, '-p', '1', '/', '--json');
    expect(ls.json()).toMatchObject({ via: { mountDir, readOnly: true } });
    const got = join(dir, `kept-${caseNo}.txt`);
    expect((await cliOk('get', image, '-p', '1', '/kept.txt', got)).stderr).toContain(`through the mount at ${mountDir}`);
    expect(readFileSync(got, 'utf8')).toBe('through the mount\n');
    for (const argv of [
      ['put', image, '-p', '1', join(src, 'a.txt'), '/'],
      ['mkdir', image, '-p', '1', '/new'],
      ['rm', image, '-p', '1', '/kept.txt'],
    ]) {
      const run = await cli(...argv, '--json');
      expect(run.code, argv.join(' ')).toBe(1);
      expect(run.json().error).toMatchObject({ code: 'IN_USE', message: expect.stringContaining(`is mounted read-only at ${mountDir}`) });
    }
    await cliOk('umount', mountDir);
  });

  it('"not enough space" is refused through the mount before anything is written', async () => {
    const mountDir = await mountP1();
    const huge = join(dir, `huge-${caseNo}.bin`);
    writeFileSync(huge, Buffer.alloc(9 * MiB, 1));
    const run = await cli('put', image, '-p', '1', huge, '/', '--json');
    expect(run.code).toBe(1);
    expect(run.json().error).toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(
        /^Not enough space in partition 1 of .*: the copy needs at least 9 MiB and .* is free; nothing was copied$/,
      ),
    });
    expect((await cliOk('ls', image, '-p', '1', '/', '--json')).json().entries.map((e: { name: string }) => e.name)).toEqual([
      'lost+found',
    ]);
    await cliOk('umount', mountDir);
  });

  it('an unmount that something still uses names the processes (pid, command, what they hold); it goes once they are gone', async () => {
    const mountDir = await mountP1();
    await cliOk('put', image, '-p', '1', src, '/');
    const children: ChildProcess[] = [];
    const exited = (child: ChildProcess) =>
      new Promise<void>((resolve) =>
        child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
      );
    try {
      // One process whose working folder is in the mount, one with a file of it open.
      children.push(spawn('sleep', ['30'], { cwd: join(mountDir, 'src', 'sub'), stdio: 'ignore' }));
      children.push(spawn('sh', ['-c', 'exec sleep 31 < "$0"', join(mountDir, 'src', 'a.txt')], { stdio: 'ignore' }));
      await new Promise((r) => setTimeout(r, 300));
      const run = await cli('umount', mountDir, '--json');
      expect(run.code).toBe(1);
      const error = run.json().error;
      expect(error.code).toBe('IN_USE');
      expect(error.message).toContain(`Cannot unmount ${mountDir}: it is busy — in use by `);
      expect(error.message).toContain(`pid ${children[0]!.pid} (sleep 30): working folder ${mountDir}/src/sub`);
      expect(error.message).toContain(`pid ${children[1]!.pid} (sleep 31): open file ${mountDir}/src/a.txt`);
      expect(error.message).toContain(`loopstudio umount ${mountDir}`);
      expect(error.details.processes.map((p: { pid: number }) => p.pid).sort()).toEqual(children.map((c) => c.pid).sort());
      expect(isMountPoint(mountDir)).toBe(true);
      // The human rendering says the same on stderr.
      expect((await cli('umount', mountDir)).stderr).toContain(`pid ${children[0]!.pid} (sleep 30)`);
    } finally {
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(children.map(exited));
    }
    expect((await cli('umount', mountDir)).code).toBe(0);
    expect(isMountPoint(mountDir)).toBe(false);
    expect(dump('/src/sub/big.bin').equals(big)).toBe(true);
    expectFsckClean();
  });
});
