/**
 * `loopstudio attach | detach | mount | umount | loops | cleanup`, as a user runs them (as root),
 * each printing the commands it ran; results checked with losetup and /proc/self/mounts.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../tests/support/cli';
import { runTool, runToolOk, tempDir } from '../../tests/support/host';
import { attachOwn, detachIfBackedBy, liveLoops, loopSkipReason, skipTitle, loopsUnder, mountsUnder, releaseUnder } from '../../tests/support/loops';

const skip = loopSkipReason();

let dir: string;
let cleanup: () => void;
let image: string;
const savedEnv = { XDG_STATE_HOME: process.env.XDG_STATE_HOME, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };


describe('loop commands: usage', () => {
  it('are listed in --help and refuse a missing image', async () => {
    const help = await cli('--help');
    for (const name of ['attach', 'detach', 'mount', 'umount', 'loops', 'cleanup']) expect(help.stdout).toMatch(new RegExp(`\\n  ${name}\\s`));
    expect(await cli('attach')).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: loopstudio attach IMAGE') });
    expect(await cli('mount', 'a.img', 'dir', 'extra')).toMatchObject({ code: 2 });
    expect(await cli('attach', 'a.img', '-p', 'x')).toMatchObject({ code: 2, stderr: expect.stringContaining('-p takes a partition number') });
  });
});

describe.skipIf(skip)(skipTitle('loop commands, for real', skip), () => {
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('loopstudio-cli-loops-'));
    process.env.XDG_STATE_HOME = join(dir, 'state');
    process.env.XDG_RUNTIME_DIR = join(dir, 'run');
    image = join(dir, 'disk image.img');
    expect((await cli('create', image, '--chs', '20/16/63')).code).toBe(0);
    expect((await cli('partition', image, '--table', 'mbr', '--add', 'start=63,size=rest,type=83')).code).toBe(0);
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

  it('attach -p 1 prints the device, the losetup it ran and the article’s line; detach undoes it', async () => {
    const attached = await cli('attach', image, '-p', '1');
    expect(attached.code).toBe(0);
    const device = /as (\/dev\/loop\d+)/.exec(attached.stdout)![1]!;
    expect(attached.stdout).toContain(`Attached partition 1 of ${image} as ${device}`);
    expect(attached.stdout).toContain(`  /usr/sbin/losetup --find --show --offset 32256 --sizelimit 10289664 -- '${image}'`);
    expect(attached.stdout).toContain(`  losetup -o 32256 --sizelimit 10289664 ${device} '${image}'`);
    expect(liveLoops().find((l) => l.device === device)).toMatchObject({ backingFile: image, offset: 32256 });

    const listed = await cli('loops', '--json');
    expect(listed.json().entries).toEqual([expect.objectContaining({ device, partition: 1, live: { attached: true, mounted: false }, leftover: false })]);

    const detached = await cli('detach', device, '--json');
    expect(detached.code).toBe(0);
    expect(detached.json().commands).toEqual([`/usr/sbin/losetup --detach ${device}`]);
    expect(loopsUnder(dir)).toEqual([]);
  });

  it('mount needs -p on a partitioned image and a filesystem to mount', async () => {
    expect(await cli('mount', image)).toMatchObject({ code: 2, stderr: expect.stringContaining('say which with -p N') });
    expect(await cli('mount', image, '-p', '1')).toMatchObject({ code: 1, stderr: expect.stringContaining('has no FAT or ext2 filesystem to mount') });
    expect(loopsUnder(dir)).toEqual([]);
  });

  it('mount, then (in another process, which exits) — loops shows it as a leftover, umount by image or cleanup releases', async () => {
    const device = attachOwn(image, ['--offset', '32256']);
    try {
      runToolOk('mke2fs', ['-q', '-t', 'ext2', device]);
    } finally {
      detachIfBackedBy(device, image);
    }
    const mounted = await cli('mount', image, '-p', '1');
    expect(mounted.code).toBe(0);
    const mountDir = join(dir, 'run', 'loopback-studio', 'mnt', 'disk_image-p1');
    expect(mounted.stdout).toContain(`at ${mountDir}`);
    expect(mounted.stdout).toContain('Or attach and mount in one step:');
    expect(mounted.stdout).toContain(`  mount -t ext2 -o loop,offset=32256,sizelimit=10289664 '${image}' ${mountDir}`);
    expect(mounted.stdout).toContain(`  ${image.replace(' ', '\\040')}  ${mountDir}  ext2  user,noauto,loop,offset=32256,sizelimit=10289664  0  0`);
    expect(mountsUnder(dir)).toEqual([mountDir]);
    expect((await cli('umount', image)).stdout).toContain(`Unmounted ${mountDir} (partition 1 of ${image})`);
    expect(mountsUnder(dir)).toEqual([]);
    expect(loopsUnder(dir)).toEqual([]);

    // `loopstudio mount` as its own process: it exits, the mount stays (that is the point).
    const env = { XDG_STATE_HOME: process.env.XDG_STATE_HOME!, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR! };
    const bin = join(__dirname, '../../bin/loopstudio.cjs');
    expect(runTool(process.execPath, [bin, 'mount', image, '-p', '1'], { env }).status).toBe(0);
    expect(mountsUnder(dir)).toEqual([mountDir]);
    const loops = await cli('loops');
    expect(loops.stdout).toMatch(new RegExp(`${mountDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+1\\s+.*leftover`));
    expect(loops.stdout).toContain('1 leftover(s): loopstudio cleanup releases them.');
    const cleaned = await cli('cleanup');
    expect(cleaned.code).toBe(0);
    expect(cleaned.stdout).toContain(`Released ${mountDir}`);
    expect(cleaned.stdout).toMatch(/\/usr\/bin\/sync\n.*\/usr\/bin\/umount -- .*\n.*\/usr\/sbin\/losetup --detach/);
    expect(mountsUnder(dir)).toEqual([]);
    expect(loopsUnder(dir)).toEqual([]);
    expect((await cli('cleanup')).stdout).toBe('Nothing to clean up.\n');
  });

  it('detach refuses a loop device it did not attach', async () => {
    const theirs = attachOwn(image);
    const result = await cli('detach', theirs);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${theirs} was not attached by Loopback Studio`);
    expect(loopsUnder(dir).map((l) => l.device)).toEqual([theirs]);
  });

  it('format --engine loop runs the host mke2fs on a loop device, then matches the partition type', async () => {
    const img = join(dir, 'loop format.img');
    await cli('create', img, '--size', '20M');
    await cli('partition', img, '--table', 'mbr', '--add', 'start=2048,size=rest,type=0c');
    const result = await cli('format', img, '-p', '1', '--fs', 'ext2', '--engine', 'loop', '--json');
    expect(result.code).toBe(0);
    const report = result.json();
    expect(report.commands.join('\n')).toMatch(/losetup --find --show --offset 1048576 .*\n.*mke2fs -t ext2 .*\n.*losetup --detach/);
    expect(report.partitionType).toEqual({ from: '0c', to: '83' });
    expect(JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable.partitions[0].type).toBe('83');
    const part = join(dir, 'loop-format.part');
    runToolOk('dd', [`if=${img}`, `of=${part}`, 'bs=512', 'skip=2048', 'status=none']);
    expect(runTool('e2fsck', ['-fn', part]).status).toBe(0);
    expect(loopsUnder(dir)).toEqual([]);
  });
});
