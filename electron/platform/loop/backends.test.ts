/**
 * The loop backends' command builders and output parsers. Linux's parsers read what the real
 * losetup and the real kernel print here. The BSD parsers are tested in bsd.test.ts against outputs
 * reconstructed from each release's sources (tests/fixtures/bsd/), since no BSD runs here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToolOk, tempDir } from '../../../tests/support/host';
import { attachOwn, detachIfBackedBy, loopSkipReason, skipTitle } from '../../../tests/support/loops';
import { runCommandOk } from '../run';
import {
  attachEquivalent,
  firstFreeUnit,
  freebsd4Backend,
  freebsdBackend,
  linuxBackend,
  loopBackendFor,
  mountEquivalent,
  openbsdBackend,
  parseProcMounts,
  parseVnconfigList,
  type HostCommand,
} from './index';

const argv = (c: HostCommand) => [c.program, ...c.args];

describe('mkfs options, the same on every system', () => {
  it('mke2fs -b with its size in -b blocks; clusters in sectors (mkfs.fat -s, newfs_msdos -c); labels', () => {
    const ext2 = { device: '/dev/x', fs: 'ext2' as const, blocks1KiB: 20480, blockBytes: 4096 as const, label: 'ROOT' };
    expect(argv(linuxBackend.mkfs(ext2))).toEqual(['mke2fs', '-t', 'ext2', '-b', '4096', '-L', 'ROOT', '--', '/dev/x', '5120']);
    expect(argv(freebsdBackend.mkfs(ext2))).toEqual(['mke2fs', '-t', 'ext2', '-b', '4096', '-L', 'ROOT', '/dev/x', '5120']);
    const fat = { device: '/dev/x', fs: 'fat32' as const, clusterBytes: 4096, label: 'MYOS' };
    expect(argv(linuxBackend.mkfs(fat))).toEqual(['mkfs.fat', '-F', '32', '-s', '8', '-n', 'MYOS', '--mbr=n', '/dev/x']);
    expect(argv(freebsdBackend.mkfs(fat))).toEqual(['newfs_msdos', '-F', '32', '-c', '8', '-L', 'MYOS', '/dev/x']);
    expect(argv(openbsdBackend.mkfs({ ...fat, device: '/dev/vnd0c' }))).toEqual([
      'newfs_msdos',
      '-F',
      '32',
      '-c',
      '8',
      '-L',
      'MYOS',
      '/dev/rvnd0c',
    ]);
    expect(argv(freebsd4Backend.mkfs(fat))).toEqual(['newfs_msdos', '-F', '32', '-c', '8', '-L', 'MYOS', '/dev/x']);
  });
});

describe('Linux (losetup, mount, mke2fs, mkfs.fat): commands', () => {
  it('attaches a partition by offset and size, as the article does with -o32256', () => {
    expect(argv(linuxBackend.attach({ image: '/i/c.img', offsetBytes: 32256, sizeBytes: 516063744 }))).toEqual([
      'losetup',
      '--find',
      '--show',
      '--offset',
      '32256',
      '--sizelimit',
      '516063744',
      '--',
      '/i/c.img',
    ]);
    expect(argv(linuxBackend.attach({ image: '/i/--x.img', partscan: true, readOnly: true }))).toEqual([
      'losetup',
      '--find',
      '--show',
      '--partscan',
      '--read-only',
      '--',
      '/i/--x.img',
    ]);
    expect(linuxBackend.parseAttach('/dev/loop7\n')).toBe('/dev/loop7');
    expect(() => linuxBackend.parseAttach('losetup: cannot find an unused loop device')).toThrow(/not a loop device name/);
  });

  it('formats with the article’s mke2fs -b1024 DEV BLOCKS, and FAT without a fake MBR', () => {
    expect(argv(linuxBackend.mkfs({ device: '/dev/loop0', fs: 'ext2', blocks1KiB: 503968 }))).toEqual([
      'mke2fs',
      '-t',
      'ext2',
      '-b',
      '1024',
      '--',
      '/dev/loop0',
      '503968',
    ]);
    expect(
      argv(linuxBackend.mkfs({ device: '/dev/loop0', fs: 'fat16', label: 'BOOT', hiddenSectors: 63, heads: 16, sectorsPerTrack: 63 })),
    ).toEqual(['mkfs.fat', '-F', '16', '-n', 'BOOT', '-h', '63', '-g', '16/63', '--mbr=n', '/dev/loop0']);
  });

  it('mounts FAT with the user’s uid/gid and ext2 plainly', () => {
    expect(argv(linuxBackend.mount({ device: '/dev/loop0', dir: '/m', family: 'fat', uid: 1000, gid: 100 }))).toEqual([
      'mount',
      '-t',
      'vfat',
      '-o',
      'uid=1000,gid=100',
      '--',
      '/dev/loop0',
      '/m',
    ]);
    expect(argv(linuxBackend.mount({ device: '/dev/loop0', dir: '/m', family: 'ext2', uid: 1000, gid: 100, readOnly: true }))).toEqual([
      'mount',
      '-t',
      'ext2',
      '-o',
      'ro',
      '--',
      '/dev/loop0',
      '/m',
    ]);
    expect(argv(linuxBackend.unmount('/m'))).toEqual(['umount', '--', '/m']);
    expect(argv(linuxBackend.detach('/dev/loop0'))).toEqual(['losetup', '--detach', '/dev/loop0']);
  });

  it('knows loop device names, their partitions and whole devices (loop1 is not "loo" + p1)', () => {
    for (const name of ['/dev/loop0', '/dev/loop12', '/dev/loop3p1']) expect(linuxBackend.isDeviceName(name)).toBe(true);
    for (const name of [
      '/dev/vda',
      '/dev/sda1',
      '/dev/nvme0n1p1',
      '/dev/mmcblk0',
      '/dev/hda',
      '/tmp/loop0',
      '/dev/loop',
      '/dev/loop0/../vda',
      '/dev/loop-control',
    ]) {
      expect(linuxBackend.isDeviceName(name), name).toBe(false);
    }
    expect(linuxBackend.wholeDevice('/dev/loop1')).toBe('/dev/loop1');
    expect(linuxBackend.wholeDevice('/dev/loop1p2')).toBe('/dev/loop1');
    expect(linuxBackend.partitionIndexOf('/dev/loop1')).toBeNull();
    expect(linuxBackend.partitionIndexOf('/dev/loop1p2')).toBe(2);
    expect(linuxBackend.partitionDevice('/dev/loop1', 2)).toBe('/dev/loop1p2');
  });

  it('parses /proc/self/mounts with its octal escapes', () => {
    const text = '/dev/loop0 /run/user/1000/my\\040disk\\011x\\012y\\134z ext2 rw,relatime 0 0\nproc /proc proc rw 0 0\n';
    expect(parseProcMounts(text)).toEqual([
      { source: '/dev/loop0', mountPoint: '/run/user/1000/my disk\tx\ny\\z', type: 'ext2', options: ['rw', 'relatime'] },
      { source: 'proc', mountPoint: '/proc', type: 'proc', options: ['rw'] },
    ]);
  });

  it('shows the article’s lines, its one-step mount and an fstab line with escaped blanks', () => {
    const eq = mountEquivalent(linuxBackend, {
      image: '/home/me/my os/c.img',
      device: '/dev/loop0',
      offsetBytes: 32256,
      sizeBytes: 516063744,
      dir: '/mnt/wherever',
      family: 'ext2',
      uid: 1000,
      gid: 1000,
    });
    expect(eq.lines).toEqual([
      "losetup -o 32256 --sizelimit 516063744 /dev/loop0 '/home/me/my os/c.img'",
      'mount -t ext2 /dev/loop0 /mnt/wherever',
      'chown 1000:1000 /mnt/wherever',
      'sync',
      'umount /mnt/wherever',
      'losetup -d /dev/loop0',
    ]);
    expect(eq.oneStep).toBe("mount -t ext2 -o loop,offset=32256,sizelimit=516063744 '/home/me/my os/c.img' /mnt/wherever");
    expect(eq.fstab).toBe('/home/me/my\\040os/c.img  /mnt/wherever  ext2  user,noauto,loop,offset=32256,sizelimit=516063744  0  0');
    expect(attachEquivalent(linuxBackend, { image: '/i/f.img', device: '/dev/loop2', offsetBytes: 0, sizeBytes: null }).lines).toEqual([
      'losetup /dev/loop2 /i/f.img',
      'losetup -d /dev/loop2',
    ]);
  });
});

const skip = loopSkipReason();

describe.skipIf(skip)(skipTitle('Linux, for real: the parsers read what losetup and the kernel print', skip), () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir('loopstudio-backend-')));
  afterAll(() => cleanup());

  it('finds our device in `losetup --json --list` with its backing file, offset and size limit', async () => {
    const image = join(dir, 'a "b" $c.img');
    writeFileSync(image, Buffer.alloc(4 * 1024 * 1024));
    const device = attachOwn(image, ['--offset', '32256', '--sizelimit', '1048576']);
    try {
      const run = await runCommandOk(linuxBackend.list()!);
      const entry = linuxBackend.parseList(run.stdout).find((e) => e.device === device);
      expect(entry).toMatchObject({ inUse: true, backingFile: image, offsetBytes: 32256, sizeLimitBytes: 1048576 });
      expect(entry!.inode).toBe(Number(runToolOk('stat', ['-c', '%i', image]).stdout.trim()));
    } finally {
      detachIfBackedBy(device, image);
    }
  });

  it('reads a real mount point with a blank, a tab and a newline in its name from /proc/self/mounts', async () => {
    const mountPoint = join(dir, 'odd name\twith\nnewline');
    mkdirSync(mountPoint);
    runToolOk('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'loopstudio-test', mountPoint]);
    try {
      const entries = parseProcMounts(await import('node:fs').then((fs) => fs.readFileSync('/proc/self/mounts', 'utf8')));
      expect(entries).toContainEqual(expect.objectContaining({ source: 'loopstudio-test', mountPoint, type: 'tmpfs' }));
    } finally {
      runToolOk('umount', [mountPoint]);
    }
  });
});

// The BSD parsers against outputs reconstructed from each release's sources: bsd.test.ts.
describe('FreeBSD 5+ (mdconfig)', () => {
  it('builds the article’s commands', () => {
    expect(argv(freebsdBackend.attach({ image: '/home/u/floppy.img' }))).toEqual([
      'mdconfig',
      '-a',
      '-t',
      'vnode',
      '-f',
      '/home/u/floppy.img',
    ]);
    expect(() => freebsdBackend.attach({ image: '/i', offsetBytes: 32256 })).toThrow(/whole images only/);
    // mdconfig(8): "If the -u unit option is not provided, the newly created device name will be printed on stdout."
    expect(freebsdBackend.parseAttach('md0\n')).toBe('/dev/md0');
    expect(argv(freebsdBackend.detach('/dev/md0'))).toEqual(['mdconfig', '-d', '-u', 'md0']);
    expect(argv(freebsdBackend.mkfs({ device: '/dev/md0', fs: 'fat12' }))).toEqual(['newfs_msdos', '-F', '12', '/dev/md0']);
    expect(argv(freebsdBackend.mkfs({ device: '/dev/md0', fs: 'fat12', floppyKiB: 1440, heads: 2, sectorsPerTrack: 18 }))).toEqual([
      'newfs_msdos',
      '-F',
      '12',
      '-f',
      '1440',
      '/dev/md0',
    ]);
    expect(argv(freebsdBackend.mount({ device: '/dev/md0', dir: '/mnt/myfloppy', family: 'fat', uid: 0, gid: 0 }))).toEqual([
      'mount',
      '-t',
      'msdosfs',
      '/dev/md0',
      '/mnt/myfloppy',
    ]);
    expect(argv(freebsdBackend.mount({ device: '/dev/md0s1', dir: '/m', family: 'fat', uid: 1001, gid: 1001 }))).toEqual([
      'mount_msdosfs',
      '-u',
      '1001',
      '-g',
      '1001',
      '/dev/md0s1',
      '/m',
    ]);
    expect(argv(freebsdBackend.mount({ device: '/dev/md0s1', dir: '/m', family: 'ext2', uid: 1001, gid: 1001 }))).toEqual([
      'mount',
      '-t',
      'ext2fs',
      '/dev/md0s1',
      '/m',
    ]);
    expect(freebsdBackend.partitionDevice('/dev/md0', 1)).toBe('/dev/md0s1');
    expect(freebsdBackend.partitionIndexOf('/dev/md0s1')).toBe(1);
    expect(freebsdBackend.wholeDevice('/dev/md10s2')).toBe('/dev/md10');
    expect(freebsdBackend.isDeviceName('/dev/ada0')).toBe(false);
  });
});

describe('OpenBSD (vnconfig, vnd)', () => {
  it('parses the article’s `vnconfig -l` output (names as given, indented as the article shows it), and finds the first free unit', () => {
    const article = '   vnd0: covering floppy.img on wd0a, inode 270473\n   vnd1: not in use\n   vnd2: not in use\n   vnd3: not in use\n';
    const entries = parseVnconfigList(article);
    expect(entries).toEqual([
      { device: '/dev/vnd0c', inUse: true, backingFile: 'floppy.img', offsetBytes: 0, sizeLimitBytes: null, inode: 270473 },
      { device: '/dev/vnd1c', inUse: false, backingFile: null, offsetBytes: 0, sizeLimitBytes: null, inode: null },
      { device: '/dev/vnd2c', inUse: false, backingFile: null, offsetBytes: 0, sizeLimitBytes: null, inode: null },
      { device: '/dev/vnd3c', inUse: false, backingFile: null, offsetBytes: 0, sizeLimitBytes: null, inode: null },
    ]);
    expect(firstFreeUnit(entries)).toBe(1);
    expect(firstFreeUnit(entries.slice(0, 1))).toBeNull();
  });

  it('builds the article’s commands: vnconfig vnd0 IMG, newfs_msdos -F 12 -f 1440 on /dev/rvnd0c, mount -t msdos /dev/vnd0i, vnconfig -u vnd0', () => {
    expect(argv(openbsdBackend.attach({ image: '/path/to/floppy.img' }, 0))).toEqual(['vnconfig', 'vnd0', '/path/to/floppy.img']);
    // There is no /dev/vnd0: the whole disk is partition c.
    expect(openbsdBackend.parseAttach('', 0)).toBe('/dev/vnd0c');
    expect(argv(openbsdBackend.list()!)).toEqual(['vnconfig', '-l']);
    expect(argv(openbsdBackend.mkfs({ device: '/dev/vnd0c', fs: 'fat12', floppyKiB: 1440 }))).toEqual([
      'newfs_msdos',
      '-F',
      '12',
      '-f',
      '1440',
      '/dev/rvnd0c',
    ]);
    expect(openbsdBackend.partitionDevice('/dev/vnd0c', 1)).toBe('/dev/vnd0i');
    expect(openbsdBackend.partitionIndexOf('/dev/vnd0j')).toBe(2);
    expect(openbsdBackend.partitionIndexOf('/dev/vnd0c')).toBeNull();
    expect(openbsdBackend.rawDevice('/dev/vnd0i')).toBe('/dev/rvnd0i');
    // A FAT volume on the whole disk is mounted through the 'i' the kernel spoofs for it.
    expect(argv(openbsdBackend.mount({ device: '/dev/vnd0c', dir: '/mnt/floppy', family: 'fat', uid: 0, gid: 0 }))).toEqual([
      'mount',
      '-t',
      'msdos',
      '/dev/vnd0i',
      '/mnt/floppy',
    ]);
    expect(argv(openbsdBackend.mount({ device: '/dev/vnd0c', dir: '/m', family: 'ext2', uid: 0, gid: 0 }))).toEqual([
      'mount',
      '-t',
      'ext2fs',
      '/dev/vnd0c',
      '/m',
    ]);
    expect(argv(openbsdBackend.mount({ device: '/dev/vnd0i', dir: '/m', family: 'fat', uid: 1000, gid: 1000 }))).toEqual([
      'mount_msdos',
      '-u',
      '1000',
      '-g',
      '1000',
      '/dev/vnd0i',
      '/m',
    ]);
    expect(argv(openbsdBackend.detach('/dev/vnd0i'))).toEqual(['vnconfig', '-u', 'vnd0']);
    expect(openbsdBackend.wholeDevice('/dev/rvnd3i')).toBe('/dev/vnd3c');
    for (const name of ['/dev/wd0a', '/dev/vnd0', '/dev/vnd0q', '/dev/svnd0c']) expect(openbsdBackend.isDeviceName(name), name).toBe(false);
  });

  it('shows the vnconfig sequence as the equivalent lines (no one-step mount, no fstab loop option)', () => {
    const eq = mountEquivalent(openbsdBackend, {
      image: '/f.img',
      device: '/dev/vnd0i',
      offsetBytes: 0,
      sizeBytes: null,
      dir: '/mnt/floppy',
      family: 'fat',
      uid: 0,
      gid: 0,
    });
    expect(eq).toEqual({
      lines: ['vnconfig vnd0 /f.img', 'mount -t msdos /dev/vnd0i /mnt/floppy', 'sync', 'umount /mnt/floppy', 'vnconfig -u vnd0'],
      oneStep: null,
      fstab: null,
    });
  });
});

describe('FreeBSD 4 (vnconfig, vn)', () => {
  it('configures with -c and unconfigures with -u, as usr.sbin/vnconfig/vnconfig.c of 4.x reads them', () => {
    expect(argv(freebsd4Backend.attach({ image: '/floppy.img' }, 0))).toEqual(['vnconfig', '-c', 'vn0', '/floppy.img']);
    expect(argv(freebsd4Backend.detach('/dev/vn0'))).toEqual(['vnconfig', '-u', 'vn0']);
    expect(argv(freebsd4Backend.mkfs({ device: '/dev/vn0', fs: 'fat12' }))).toEqual(['newfs_msdos', '-F', '12', '/dev/vn0']);
    // 4.x has no way to list what a vn device covers, so the helper cannot check it and refuses.
    expect(freebsd4Backend.list()).toBeNull();
  });
});

describe('choosing the backend', () => {
  it('maps each system to its tools', () => {
    expect(loopBackendFor('linux')?.system).toBe('linux');
    expect(loopBackendFor('freebsd', '14.1-RELEASE')?.system).toBe('freebsd');
    expect(loopBackendFor('freebsd', '6.4-RELEASE')?.list()).toBeNull();
    expect(loopBackendFor('freebsd', '13.3-RELEASE')?.list()).toEqual({ program: 'mdconfig', args: ['-l', '-v'] });
    expect(loopBackendFor('freebsd', '4.11-RELEASE')?.system).toBe('freebsd4');
    expect(loopBackendFor('openbsd', '7.5')?.system).toBe('openbsd');
    expect(loopBackendFor('darwin')).toBeNull();
    expect(loopBackendFor('win32')).toBeNull();
  });
});
