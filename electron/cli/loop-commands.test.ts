/**
 * `loopstudio attach | detach | mount | umount | loops | cleanup`, as a user runs them (as root),
 * each printing the commands it ran; results checked with losetup and /proc/self/mounts.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { grubCfg } from '../../shared/boot/menu';
import { bootAndExpect, bootTestsMissing } from '../../tests/support/boot';
import { cli } from '../../tests/support/cli';
import { hasTool, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { buildTestKernel, KERNEL_LINE } from '../../tests/support/test-kernel';
import { isGrub2Version } from '../platform/grub';
import {
  attachOwn,
  detachIfBackedBy,
  liveLoops,
  loopSkipReason,
  skipTitle,
  loopsUnder,
  mountsUnder,
  releaseUnder,
} from '../../tests/support/loops';

const skip = loopSkipReason();
/** Whether GRUB 2's grub-install is here (Debian's grub-legacy has a grub-install of its own, 0.97). */
const grub2InstallHere = ['grub-install', 'grub2-install'].some(
  (name) => hasTool(name) && isGrub2Version(runTool(name, ['--version']).stdout),
);
const noGrubBoot = !grub2InstallHere ? 'GRUB 2’s grub-install is not installed here' : bootTestsMissing();

let dir: string;
let cleanup: () => void;
let image: string;
const savedEnv = { XDG_STATE_HOME: process.env.XDG_STATE_HOME, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };

describe('loop commands: usage', () => {
  it('are listed in --help and refuse a missing image', async () => {
    const help = await cli('--help');
    for (const name of ['attach', 'detach', 'mount', 'umount', 'loops', 'cleanup'])
      expect(help.stdout).toMatch(new RegExp(`\\n  ${name}\\s`));
    expect(await cli('attach')).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: loopstudio attach IMAGE') });
    expect(await cli('mount', 'a.img', 'dir', 'extra')).toMatchObject({ code: 2 });
    expect(await cli('attach', 'a.img', '-p', 'x')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('-p takes a partition number'),
    });
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
    expect(listed.json().entries).toEqual([
      expect.objectContaining({ device, partition: 1, live: { attached: true, mounted: false }, leftover: false }),
    ]);

    const detached = await cli('detach', device, '--json');
    expect(detached.code).toBe(0);
    expect(detached.json().commands).toEqual([`/usr/sbin/losetup --detach ${device}`]);
    expect(loopsUnder(dir)).toEqual([]);
  });

  it('mount needs -p on a partitioned image and a filesystem to mount', async () => {
    expect(await cli('mount', image)).toMatchObject({ code: 2, stderr: expect.stringContaining('say which with -p N') });
    expect(await cli('mount', image, '-p', '1')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('has no FAT or ext2 filesystem to mount'),
    });
    expect(loopsUnder(dir)).toEqual([]);
  });

  it('mount, then (in another process, which exits) — loops shows it as kept for the user, cleanup leaves it, umount releases it', async () => {
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
    expect(mounted.stdout).toContain(
      `  ${image.replace(' ', '\\040')}  ${mountDir}  ext2  user,noauto,loop,offset=32256,sizelimit=10289664  0  0`,
    );
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
    expect(loops.stdout).toMatch(new RegExp(`${mountDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+1\\s+.*\\s+cli \\d+\\s+kept\\n`));
    expect(loops.stdout).toContain(
      `Kept for you (never cleaned up):\n  ${mountDir}: kept: made by \`loopstudio mount\`; yours until \`loopstudio umount ${mountDir}\``,
    );
    expect(loops.stdout).not.toContain('leftover');
    expect((await cli('loops', '--json')).json().entries).toEqual([
      expect.objectContaining({ mountDir, leftover: false, reason: expect.stringMatching(/^kept: /) }),
    ]);
    // cleanup is for what a crash left: the user's mount stays.
    expect((await cli('cleanup')).stdout).toBe('Nothing to clean up.\n');
    expect(mountsUnder(dir)).toEqual([mountDir]);
    const released = await cli('umount', mountDir);
    expect(released.code).toBe(0);
    expect(released.stdout).toMatch(/\/usr\/bin\/sync\n.*\/usr\/bin\/umount -- .*\n.*\/usr\/sbin\/losetup --detach/);
    expect(mountsUnder(dir)).toEqual([]);
    expect(loopsUnder(dir)).toEqual([]);
  });

  it('a mount whose image was deleted is a leftover: loops says why, cleanup gives the lines that release it by hand', async () => {
    const copy = join(dir, 'doomed.img');
    runToolOk('cp', ['--sparse=always', image, copy]);
    const env = { XDG_STATE_HOME: process.env.XDG_STATE_HOME!, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR! };
    expect(runTool(process.execPath, [join(__dirname, '../../bin/loopstudio.cjs'), 'mount', copy, '-p', '1'], { env }).status).toBe(0);
    const mountDir = join(dir, 'run', 'loopback-studio', 'mnt', 'doomed-p1');
    expect(mountsUnder(dir)).toEqual([mountDir]);
    runToolOk('rm', [copy]);
    const loops = await cli('loops');
    expect(loops.stdout).toContain(`1 leftover(s): loopstudio cleanup releases them.\n  ${mountDir}: its image ${copy} no longer exists`);
    const cleaned = await cli('cleanup');
    expect(cleaned.code).toBe(1);
    const device = /losetup --detach (\/dev\/loop\d+)/.exec(cleaned.stdout)?.[1];
    expect(cleaned.stdout).toContain(`Not released: ${mountDir}: its image ${copy} no longer exists`);
    expect(cleaned.stdout).toContain(`  umount -- ${mountDir}\n  losetup --detach ${device}\n`);
    expect(mountsUnder(dir)).toEqual([mountDir]);
    // afterEach releases it, as those lines would.
  });

  it('detach refuses a loop device it did not attach', async () => {
    const theirs = attachOwn(image);
    const result = await cli('detach', theirs);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${theirs} was not attached by Loopback Studio`);
    expect(loopsUnder(dir).map((l) => l.device)).toEqual([theirs]);
  });

  it('format --engine loop runs the host mke2fs on a loop device with --block-size and --label, and keeps the partition type (a warning says it does not match)', async () => {
    const img = join(dir, 'loop format.img');
    await cli('create', img, '--size', '20M');
    await cli('partition', img, '--table', 'mbr', '--add', 'start=2048,size=rest,type=0c');
    const result = await cli(
      'format',
      img,
      '-p',
      '1',
      '--fs',
      'ext2',
      '--engine',
      'loop',
      '--block-size',
      '4096',
      '--label',
      'ROOTFS',
      '--json',
    );
    expect(result.code, result.stdout).toBe(0);
    const report = result.json();
    // 19 MiB in 4 KiB blocks: mke2fs counts its size argument in -b blocks.
    expect(report.commands.join('\n')).toMatch(
      /losetup --find --show --offset 1048576 .*\n.*mke2fs -t ext2 -b 4096 -L ROOTFS -- \/dev\/loop\d+ 4864\n.*losetup --detach/,
    );
    expect(report.partitionType).toBeNull();
    expect(report.warnings).toEqual([
      expect.stringMatching(
        /^partition 1 was formatted EXT2, but its type is W95 FAT32 \(LBA\) \(0c\), which does not say Linux \(83\)\. The type was kept .*--set 1 type=83, or format with --set-type$/,
      ),
    ]);
    expect(JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable.partitions[0].type).toBe('c');
    const part = join(dir, 'loop-format.part');
    runToolOk('dd', [`if=${img}`, `of=${part}`, 'bs=512', 'skip=2048', 'status=none']);
    expect(runTool('e2fsck', ['-fn', part]).status).toBe(0);
    expect(runToolOk('dumpe2fs', ['-h', part]).stdout).toMatch(/Filesystem volume name:\s+ROOTFS\n[\s\S]*Block size:\s+4096\n/);
    // --set-type: the type that says ext2.
    const matched = (await cli('format', img, '-p', '1', '--fs', 'ext2', '--engine', 'loop', '--set-type', '--json')).json();
    expect(matched).toMatchObject({ partitionType: { from: '0c', to: '83' }, warnings: [] });
    expect(matched.commands.join('\n')).toMatch(/mke2fs -t ext2 -b 1024 -- \/dev\/loop\d+ 19456\n/);
    expect(loopsUnder(dir)).toEqual([]);
  });

  it('format --engine loop passes --cluster-size and --label to mkfs.fat, keeps an explicit 0c, and refuses what mkfs cannot take before any prompt', async () => {
    const img = join(dir, 'loop-fat32.img');
    await cli('create', img, '--size', '128M');
    await cli('partition', img, '--table', 'mbr', '--add', 'start=2048,size=rest,type=0c');
    const result = await cli('format', img, '-p', '1', '--fs', 'fat32', '--engine', 'loop', '--cluster-size', '1024', '--label', 'MYOS');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/mkfs\.fat -F 32 -s 2 -n MYOS -h 2048 -g \d+\/\d+ --mbr=n \/dev\/loop\d+\n/);
    expect(result.stdout).not.toMatch(/partition type|warning/);
    expect(JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable.partitions[0].type).toBe('c');
    const info = runToolOk('minfo', ['-i', `${img}@@${2048 * 512}`]).stdout;
    expect(info).toMatch(/cluster size: 2 sectors\n/);
    expect(info).toMatch(/disk label="MYOS {7}"/);
    for (const [args, message] of [
      [['--fs', 'ext2', '--cluster-size', '4096'], '--cluster-size is for FAT'],
      [['--fs', 'fat32', '--block-size', '4096'], '--block-size is for ext2'],
      [['--fs', 'fat32', '--cluster-size', '1000'], '--cluster-size is a power of 2 from 512 to 65536 bytes, not 1000'],
      [['--fs', 'fat32', '--label', 'TWELVE CHARS'], "--label for the host's mkfs.fat is 1–11 letters"],
    ] as const) {
      const refused = await cli('format', img, '-p', '1', ...args, '--engine', 'loop');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(message);
    }
    expect(loopsUnder(dir)).toEqual([]);
  });

  it.skipIf(noGrubBoot)(
    `bootloader --engine loop --grub2 --kernel … writes the rootless engine's grub.cfg, and GRUB boots the test kernel from it${noGrubBoot ? ` — skipped: ${noGrubBoot}` : ''}`,
    async () => {
      const img = join(dir, 'loop-grub.img');
      const kernel = buildTestKernel(dir);
      expect((await cli('create', img, '--size', '64M')).code).toBe(0);
      expect((await cli('partition', img, '--table', 'mbr', '--add', 'start=2048,size=rest,type=83,bootable')).code).toBe(0);
      expect((await cli('format', img, '-p', '1', '--fs', 'ext2')).code).toBe(0);
      expect((await cli('put', img, '-p', '1', '--parents', kernel, '/boot/kernel.bin')).code).toBe(0);
      const result = await cli(
        'bootloader',
        img,
        '-p',
        '1',
        '--engine',
        'loop',
        '--grub2',
        '--kernel',
        '/boot/kernel.bin',
        '--kernel-type',
        'multiboot',
        '--title',
        'T',
        '--timeout',
        '1',
        '--serial',
        '--json',
      );
      expect(result.code, result.stdout).toBe(0);
      const report = result.json();
      expect(report.commands.some((c: string) => / --target=i386-pc .*\/dev\/loop\d+$/.test(c))).toBe(true);
      expect(report).toMatchObject({
        files: ['/boot/grub/grub.cfg'],
        menu: { entries: [{ title: 'T', kernel: '/boot/kernel.bin', type: 'multiboot' }], timeout: 1, serial: true },
        warnings: [],
      });
      // Byte for byte the menu the rootless engine writes for the same options.
      const written = (await cli('get', img, '-p', '1', '/boot/grub/grub.cfg', '-')).stdoutBytes!.toString('utf8');
      expect(written).toBe(
        grubCfg({ timeout: 1, default: 0, serial: true, entries: [{ title: 'T', kernel: '/boot/kernel.bin', type: 'multiboot' }] }, [
          'part_msdos',
          'ext2',
        ]),
      );
      expect(loopsUnder(dir)).toEqual([]);
      expect(mountsUnder(dir)).toEqual([]);
      const boot = await bootAndExpect(img, KERNEL_LINE);
      expect(boot.matched, boot.output).toBe(true);
      // Without --kernel, an existing grub.cfg stays; a kernel that is not in the image is refused before any prompt.
      const bare = await cli('bootloader', img, '-p', '1', '--engine', 'loop', '--grub2', '--json');
      expect(bare.json()).toMatchObject({ files: [], menu: null, warnings: [] });
      const missing = await cli('bootloader', img, '-p', '1', '--engine', 'loop', '--grub2', '--kernel', '/boot/nope.elf');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('/boot/nope.elf is not a file in partition 1 of');
      expect(missing.stdout).toBe('');
    },
    120_000,
  );
});
