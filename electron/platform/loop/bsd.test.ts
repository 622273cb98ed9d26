/**
 * The BSD backends against what the BSDs print, release by release. No BSD runs here: each
 * fixture in tests/fixtures/bsd/ is a command's exact output reconstructed from the printf formats
 * of that release's source, and its header names the file, release and function it comes from.
 * Then the OSDev article's BSD floppy recipes, as the plans the app builds on a host that says it
 * is FreeBSD or OpenBSD, compared with the article line by line.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliOk } from '../../../tests/support/cli';
import { tempDir } from '../../../tests/support/host';
import { describeAction } from '../../cli/commands/loops';
import type { HelperOutcome } from '../../privileged/elevate';
import type { HelperRequest, HelperStep } from '../../privileged/request';
import { LoopService } from '../../services/loops';
import {
  firstFreeUnit,
  floppyKiBOf,
  freebsdBackendFor,
  imageRecipeEquivalent,
  loopBackendFor,
  mdconfigListingFor,
  mdconfigShowsFaithfully,
  parseFreebsdMountOutput,
  parseMdconfigList,
  parseMdconfigNames,
  parseOpenbsdMountOutput,
  parseVnconfigChosen,
  parseVnconfigList,
  type HostCommand,
  type LoopBackend,
  type LoopDeviceEntry,
} from './index';

const FIXTURES = join(__dirname, '../../../tests/fixtures/bsd');

/** A fixture's output: what follows its "# ----" line, byte for byte (tabs at line ends included). */
function fixture(name: string): string {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  const cut = text.indexOf('\n# ----\n');
  if (!text.startsWith('# ') || cut < 0) throw new Error(`${name}: no "# ----" line after its header`);
  return text.slice(cut + '\n# ----\n'.length);
}

const files = (entries: readonly LoopDeviceEntry[]) =>
  Object.fromEntries(entries.map((e) => [e.device, e.unreadable ? 'unreadable' : e.backingFile]));
const argv = (c: HostCommand) => [c.program, ...c.args];

describe('the fixtures', () => {
  it('each name the source file, release and function they come from', () => {
    const names = readdirSync(FIXTURES);
    expect(names.length).toBeGreaterThanOrEqual(16);
    for (const name of names) {
      const header = readFileSync(join(FIXTURES, name), 'utf8').split('\n# ----\n')[0]!;
      expect(header, name).toMatch(/(?:sbin|lib)\/[\w/]+\.c/);
      expect(header, name).toMatch(/\w+\(\)/);
      expect(header, name).toMatch(/FreeBSD \d|OpenBSD \d/);
      expect(header, name).toMatch(/Command: /);
    }
  });
});

describe('FreeBSD mdconfig -l -v, release by release', () => {
  it('chooses the columns by release: none before 7, the file last to 10, a label column from 12, options from 15', () => {
    expect(
      [
        '4.11-RELEASE',
        '5.5-RELEASE',
        '6.4-RELEASE',
        '7.4-RELEASE',
        '10.4-RELEASE',
        '11.4-RELEASE',
        '12.0-RELEASE',
        '14.1-RELEASE',
        '15.0-RELEASE',
        '',
      ].map(mdconfigListingFor),
    ).toEqual(['none', 'none', 'none', 'file', 'file', 'auto', 'label', 'label', 'label-options', 'auto']);
    expect(freebsdBackendFor('6.4-RELEASE').list()).toBeNull();
  });

  it('5.x and 6.x print no file in `-l`, and `-l -u` one unit: no listing to check a device by (refused)', () => {
    expect(parseMdconfigList(fixture('freebsd-5-mdconfig-l-u.txt'))).toEqual([
      {
        device: '/dev/md0',
        inUse: true,
        backingFile: null,
        offsetBytes: 0,
        sizeLimitBytes: null,
        inode: null,
        unreadable: 'mdconfig cannot tell which file md0 covers: mdconfig printed no file for it',
      },
    ]);
    // 6.x's query() has the 7–10 columns, one unit at a time.
    expect(files(parseMdconfigList(fixture('freebsd-6-mdconfig-l-u.txt'), 'file'))).toEqual({
      '/dev/md0': '/home/u/floppy.img',
      '/dev/md1': null,
    });
  });

  it('8.3 and 10.4: the file is the last column, so blanks, tabs and a trailing tab are part of it; malloc and swap have none', () => {
    expect(files(freebsdBackendFor('8.3-RELEASE').parseList(fixture('freebsd-8.3-mdconfig-l-v.txt')))).toEqual({
      '/dev/md0': '/home/u/floppy.img',
      '/dev/md1': null,
      '/dev/md2': null,
      '/dev/md3': '/home/u/my floppy.img',
      '/dev/md4': '/home/u/tab\there.img',
    });
    const ten = freebsdBackendFor('10.4-RELEASE').parseList(fixture('freebsd-10.4-mdconfig-l-v.txt'));
    expect(files(ten)).toEqual({
      '/dev/md0': '/home/u/floppy.img',
      '/dev/md1': null,
      '/dev/md2': null,
      '/dev/md3': '/home/u/os dev/c.img',
      // Another file, whose name ends in a tab: never read as /home/u/floppy.img.
      '/dev/md4': '/home/u/floppy.img\t',
      '/dev/md5': '/home/bob/c.img',
      '/dev/md6': '/mnt/usb/floppy.img',
    });
    expect(ten.every((e) => e.inUse && e.inode === null && e.offsetBytes === 0)).toBe(true);
    // Without the release, the listing's own shape (malloc with no columns after the size) says the same.
    expect(parseMdconfigList(fixture('freebsd-10.4-mdconfig-l-v.txt'))).toEqual(ten);
  });

  it('12.0 and 14: the label column gives the plain path (no label still prints its tab); "-" is no file; a tab in a name is refused', () => {
    const twelve = freebsdBackendFor('12.0-RELEASE').parseList(fixture('freebsd-12.0-mdconfig-l-v.txt'));
    expect(files(twelve)).toEqual({
      '/dev/md0': '/home/u/floppy.img',
      '/dev/md1': null,
      '/dev/md2': null,
      '/dev/md3': '/home/bob/c.img',
      '/dev/md4': 'unreadable',
      '/dev/md5': '/home/u/my floppy.img',
    });
    expect(twelve.find((e) => e.device === '/dev/md4')!.unreadable).toMatch(/a tab is in its file name or label/);
    expect(files(freebsdBackendFor('14.1-RELEASE').parseList(fixture('freebsd-14-mdconfig-l-v.txt')))).toEqual({
      '/dev/md0': '/home/u/os dev/c.img',
      '/dev/md1': null, // preload: a file the loader read into memory, not one on disk
      '/dev/md2': '/home/bob/floppy.img',
      '/dev/md3': '/mnt/usb/floppy.img',
      '/dev/md4': null,
    });
    // The bug: every field after the size joined, the file ended in a tab and was never ours.
    expect(twelve[0]!.backingFile!.endsWith('\t')).toBe(false);
    // 11.x, or an unknown release: the malloc line ("-" then a label) shows the label columns.
    expect(parseMdconfigList(fixture('freebsd-12.0-mdconfig-l-v.txt'))).toEqual(twelve);
  });

  it('15: file, label ("-" when none) and options; the same plain paths', () => {
    const fifteen = freebsdBackendFor('15.0-RELEASE').parseList(fixture('freebsd-15-mdconfig-l-v.txt'));
    expect(files(fifteen)).toEqual({
      '/dev/md0': '/home/u/floppy.img',
      '/dev/md1': null,
      '/dev/md2': null,
      '/dev/md3': '/home/bob/c.img',
      '/dev/md4': 'unreadable',
      '/dev/md5': '/home/u/my floppy.img',
    });
    expect(parseMdconfigList(fixture('freebsd-15-mdconfig-l-v.txt'))).toEqual(fifteen);
    // A 14 userland on a 15 kernel (a jail) prints the 14 columns: its lines are still read right.
    expect(files(freebsdBackendFor('15.0-RELEASE').parseList(fixture('freebsd-12.0-mdconfig-l-v.txt')))['/dev/md0']).toBe(
      '/home/u/floppy.img',
    );
  });

  it('refuses to guess when the release is unknown and only ambiguous lines are listed', () => {
    // One device with no label and nothing else: "file<TAB>" could be a 10.x file named "file<TAB>".
    expect(files(parseMdconfigList('md0\tvnode\t 1440K\t/home/u/floppy.img\t\n'))).toEqual({ '/dev/md0': 'unreadable' });
    expect(files(parseMdconfigList('md0\tvnode\t 1440K\t/home/u/floppy.img\n'))).toEqual({ '/dev/md0': '/home/u/floppy.img' });
    expect(parseMdconfigList('')).toEqual([]);
  });

  it('reads `mdconfig -a` (the new unit) and `mdconfig -l -f FILE` (the devices of one file)', () => {
    expect(freebsdBackendFor('14.1-RELEASE').parseAttach(fixture('freebsd-mdconfig-a.txt'))).toBe('/dev/md12');
    expect(() => freebsdBackendFor('14.1-RELEASE').parseAttach('mdconfig: ioctl(/dev/mdctl): Device busy\n')).toThrow(
      /not an md device name/,
    );
    expect(parseMdconfigNames(fixture('freebsd-10.4-mdconfig-l-f.txt'))).toEqual(['/dev/md0', '/dev/md7']);
  });

  it('refuses to attach an image whose name mdconfig -l would not show as it is', () => {
    const backend = freebsdBackendFor('14.1-RELEASE');
    expect(argv(backend.attach({ image: '/home/u/my floppy (copy).img' }))).toEqual([
      'mdconfig',
      '-a',
      '-t',
      'vnode',
      '-f',
      '/home/u/my floppy (copy).img',
    ]);
    for (const image of [
      '/home/u/tab\there.img',
      '/home/u/line\nbreak.img',
      '/home/u/floppy.img ',
      '/home/u/café.img',
      '/home/u/a & b.img',
      "/home/u/it' s.img",
    ]) {
      expect(mdconfigShowsFaithfully(image), JSON.stringify(image)).not.toBeNull();
      expect(() => backend.attach({ image }), JSON.stringify(image)).toThrow(/mdconfig -l could not show this file name as it is/);
    }
    for (const image of ['/home/u/a&b.img', "/home/u/bob's.img", '/home/u/my floppy.img'])
      expect(mdconfigShowsFaithfully(image), image).toBeNull();
  });

  it('parses `mount` (prmount: "DEV on DIR (TYPE, flags)"), a mount point with " on " and " (" in it included', () => {
    expect(parseFreebsdMountOutput(fixture('freebsd-mount.txt'))).toEqual([
      { source: '/dev/ada0p2', mountPoint: '/', type: 'ufs', options: ['local', 'soft-updates'] },
      { source: 'devfs', mountPoint: '/dev', type: 'devfs', options: [] },
      { source: '/dev/md0', mountPoint: '/mnt/myfloppy', type: 'msdosfs', options: ['local'] },
      {
        source: '/dev/md1s1',
        mountPoint: '/home/u/.cache/loopback-studio/mnt/c-p1',
        type: 'ext2fs',
        options: ['local', 'nosuid', 'mounted by u'],
      },
      { source: '/dev/md2', mountPoint: '/mnt/dir on (x)', type: 'msdosfs', options: ['local'] },
    ]);
  });
});

describe('OpenBSD vnconfig -l, release by release', () => {
  it('3.6 ("inode %d") and 5.7 ("inode %llu"): names as given, blanks and " on " in them, files on other disks', () => {
    const old = parseVnconfigList(fixture('openbsd-3.6-vnconfig-l.txt'));
    expect(old[0]).toEqual({
      device: '/dev/vnd0c',
      inUse: true,
      backingFile: 'floppy.img',
      offsetBytes: 0,
      sizeLimitBytes: null,
      inode: 270473,
    });
    expect(firstFreeUnit(old)).toBe(1);
    expect(parseVnconfigList(fixture('openbsd-5.7-vnconfig-l.txt'))).toEqual([
      { device: '/dev/vnd0c', inUse: true, backingFile: '/home/u/floppy.img', offsetBytes: 0, sizeLimitBytes: null, inode: 5242881 },
      { device: '/dev/vnd1c', inUse: true, backingFile: '/home/bob/os image.img', offsetBytes: 0, sizeLimitBytes: null, inode: 5242900 },
      { device: '/dev/vnd2c', inUse: true, backingFile: '/mnt/usb/fun on the run.img', offsetBytes: 0, sizeLimitBytes: null, inode: 12 },
      { device: '/dev/vnd3c', inUse: false, backingFile: null, offsetBytes: 0, sizeLimitBytes: null, inode: null },
    ]);
  });

  it('7.2 on: a tab in a name is printed as is and read back as is', () => {
    expect(files(openbsdBackendFor().parseList(fixture('openbsd-7.2-vnconfig-l.txt')))).toEqual({
      '/dev/vnd0c': '/home/u/floppy.img',
      '/dev/vnd1c': '/home/u/tab\there.img',
      '/dev/vnd2c': '/home/bob/c.img',
      '/dev/vnd3c': null,
    });
  });

  it('a newline in a name breaks the one-line-per-unit order: no unit in use is trusted, the forged one included', () => {
    const entries = parseVnconfigList(fixture('openbsd-7.2-vnconfig-l-newline.txt'));
    expect(files(entries)).toEqual({ '/dev/vnd0c': 'unreadable', '/dev/vnd1c': 'unreadable', '/dev/vnd2c': null, '/dev/vnd3c': null });
    expect(entries.every((e) => e.backingFile === null)).toBe(true);
    expect(entries[1]!.unreadable).toMatch(/newline/);
    expect(firstFreeUnit(entries)).toBe(2);
  });

  it('reads the unit `vnconfig IMAGE` chose and printed', () => {
    expect(parseVnconfigChosen(fixture('openbsd-7.2-vnconfig-chosen.txt'))).toBe('/dev/vnd1c');
    expect(() => parseVnconfigChosen('vnconfig: no devices available\n')).toThrow(/not a vnd device name/);
  });

  it('refuses an image path longer than vnd keeps (VNDNLEN 90, NUL included) or with a newline', () => {
    const backend = openbsdBackendFor();
    const long = `/home/u/${'x'.repeat(81)}`; // 89 bytes: the most vnd keeps
    expect(argv(backend.attach({ image: long }, 0))).toEqual(['vnconfig', 'vnd0', long]);
    expect(() => backend.attach({ image: `${long}y` }, 0)).toThrow(/at most 89 bytes/);
    expect(() => backend.attach({ image: '/home/u/a\nb.img' }, 0)).toThrow(/newline/);
  });

  it('parses `mount` (prmount: "DEV on DIR type TYPE (flags, options)", or no parentheses when there are none)', () => {
    expect(parseOpenbsdMountOutput(fixture('openbsd-mount.txt'))).toEqual([
      { source: '/dev/sd0a', mountPoint: '/', type: 'ffs', options: ['local'] },
      { source: '/dev/vnd0i', mountPoint: '/mnt/floppy', type: 'msdos', options: ['local'] },
      {
        source: '/dev/vnd1i',
        mountPoint: '/home/u/.cache/loopback-studio/mnt/floppy',
        type: 'msdos',
        options: ['local', 'uid=1000', 'gid=1000'],
      },
      { source: '/dev/vnd2i', mountPoint: '/mnt/ext', type: 'ext2fs', options: ['local'] },
      { source: 'server:/export', mountPoint: '/mnt/nfs', type: 'nfs', options: [] },
    ]);
  });
});

function openbsdBackendFor(): LoopBackend {
  return loopBackendFor('openbsd', '7.6')!;
}

/**
 * The OSDev article's BSD floppy recipes, line by line, and the line of our plan that stands for
 * each — with why, where the two differ. Lines of ours that the article has no line for are
 * listed apart (copying files in, sync, and the unit lookup OpenBSD's attach needs).
 */
interface Correspondence {
  article: string;
  ours: string;
  why?: string;
}

const ARTICLE_FREEBSD_5: Correspondence[] = [
  { article: 'mdconfig -a -t vnode -f floppy.img', ours: 'mdconfig -a -t vnode -f floppy.img' },
  {
    article: 'newfs_msdos -f 1440 /dev/md0',
    ours: 'newfs_msdos -F 12 -f 1440 /dev/md0',
    why: '-F 12 said outright; the 1440 format is FAT12 anyway',
  },
  { article: 'mount -t msdosfs /dev/md0 /mnt/myfloppy', ours: 'mount -t msdosfs /dev/md0 /mnt/myfloppy' },
  { article: 'umount /mnt/myfloppy', ours: 'umount /mnt/myfloppy' },
  { article: 'mdconfig -d -u md0', ours: 'mdconfig -d -u md0' },
];

const ARTICLE_OPENBSD: Correspondence[] = [
  { article: 'vnconfig vnd0 /path/to/floppy.img', ours: 'vnconfig vnd0 /path/to/floppy.img' },
  { article: 'vnconfig -l', ours: 'vnconfig -l', why: 'run first, to find the free unit the attach names' },
  { article: 'newfs_msdos -F 12 -f 1440 /dev/rvnd0c', ours: 'newfs_msdos -F 12 -f 1440 /dev/rvnd0c' },
  { article: 'mount -t msdos /dev/vnd0i /mnt/floppy', ours: 'mount -t msdos /dev/vnd0i /mnt/floppy' },
  { article: 'umount /mnt/floppy', ours: 'umount /mnt/floppy' },
  { article: 'vnconfig -u vnd0', ours: 'vnconfig -u vnd0' },
];

const ARTICLE_FREEBSD_4: Correspondence[] = [
  {
    article: 'vnconfig vn0 floppy.img',
    ours: 'vnconfig -c vn0 floppy.img',
    why: '-c (configure) said outright: it is what vnconfig does with no flag',
  },
  { article: 'newfs_msdos -f 1440 /dev/vn0', ours: 'newfs_msdos -F 12 -f 1440 /dev/vn0', why: '-F 12 said outright' },
  {
    article: 'mount -t msdosfs /dev/vn0 /mnt/myfloppy',
    ours: 'mount -t msdos /dev/vn0 /mnt/myfloppy',
    why: 'FreeBSD 4 calls the filesystem msdos (mount_msdos)',
  },
  { article: 'umount /mnt/myfloppy', ours: 'umount /mnt/myfloppy' },
  { article: 'vnconfig -c /dev/vn0', ours: 'vnconfig -u vn0', why: 'vnconfig.c: -c configures, -u unconfigures' },
];

const OUR_EXTRA_LINES = /^(?:cp |sync$|vnconfig -l$)/;

function compareWithArticle(plan: readonly string[], article: readonly Correspondence[]): void {
  // Every article line has its line in our plan, in the article's order (the lookup aside).
  const ordered = article.filter((c) => c.ours !== 'vnconfig -l');
  const positions = ordered.map((c) => plan.indexOf(c.ours));
  expect(positions, `plan:\n${plan.join('\n')}`).not.toContain(-1);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  for (const c of article) if (c.article !== c.ours) expect(c.why, `${c.article} → ${c.ours}`).toBeTruthy();
  // And our plan has nothing else but the copies, sync and the unit lookup.
  expect(plan.filter((l) => !article.some((c) => c.ours === l)).filter((l) => !OUR_EXTRA_LINES.test(l))).toEqual([]);
}

describe('the article’s BSD floppy recipes, as the plans the app builds', () => {
  const floppy = { sizeBytes: 1474560, partition: null, fs: 'fat12' as const, uid: 0, gid: 0, files: ['kernel.bin'] };

  it('knows newfs_msdos’ standard floppy formats by size', () => {
    expect([368640, 737280, 1228800, 1474560, 2949120, 1474561, 10485760].map(floppyKiBOf)).toEqual([
      360,
      720,
      1200,
      1440,
      2880,
      undefined,
      undefined,
    ]);
  });

  it('FreeBSD 5 and later (a host that says it is 14.1-RELEASE): mdconfig, newfs_msdos, mount -t msdosfs, cp, umount, mdconfig -d', () => {
    const backend = loopBackendFor('freebsd', '14.1-RELEASE')!;
    const plan = imageRecipeEquivalent(backend, {
      ...floppy,
      image: 'floppy.img',
      device: backend.parseAttach('md0\n'),
      dir: '/mnt/myfloppy',
    });
    expect(plan.lines).toEqual([
      'mdconfig -a -t vnode -f floppy.img',
      'newfs_msdos -F 12 -f 1440 /dev/md0',
      'mount -t msdosfs /dev/md0 /mnt/myfloppy',
      'cp kernel.bin /mnt/myfloppy',
      'sync',
      'umount /mnt/myfloppy',
      'mdconfig -d -u md0',
    ]);
    compareWithArticle(plan.lines, ARTICLE_FREEBSD_5);
  });

  it('OpenBSD (a host that says it is 7.6): vnconfig -l, vnconfig vnd0, newfs_msdos on the raw rvnd0c, mount the spoofed vnd0i, umount, vnconfig -u', () => {
    const backend = loopBackendFor('openbsd', '7.6')!;
    const unit = firstFreeUnit(backend.parseList(fixture('openbsd-7.2-vnconfig-l.txt').replace(/^vnd0: .*$/m, 'vnd0: not in use')))!;
    const plan = imageRecipeEquivalent(backend, {
      ...floppy,
      image: '/path/to/floppy.img',
      device: backend.parseAttach('', unit),
      dir: '/mnt/floppy',
    });
    const lines = [argv(backend.list()!).join(' '), ...plan.lines];
    expect(lines).toEqual([
      'vnconfig -l',
      'vnconfig vnd0 /path/to/floppy.img',
      'newfs_msdos -F 12 -f 1440 /dev/rvnd0c',
      'mount -t msdos /dev/vnd0i /mnt/floppy',
      'cp kernel.bin /mnt/floppy',
      'sync',
      'umount /mnt/floppy',
      'vnconfig -u vnd0',
    ]);
    compareWithArticle(lines, ARTICLE_OPENBSD);
  });

  it('FreeBSD 4 (a host that says it is 4.11-RELEASE): the article’s lines, with -u to unconfigure and msdos for the type', () => {
    const backend = loopBackendFor('freebsd', '4.11-RELEASE')!;
    const plan = imageRecipeEquivalent(backend, {
      ...floppy,
      image: 'floppy.img',
      device: backend.parseAttach('', 0),
      dir: '/mnt/myfloppy',
    });
    compareWithArticle(plan.lines, ARTICLE_FREEBSD_4);
  });

  it('as a user: the filesystem’s own mount program with -u/-g, and image names quoted for the shell', () => {
    const backend = loopBackendFor('openbsd', '7.6')!;
    const plan = imageRecipeEquivalent(backend, {
      ...floppy,
      uid: 1000,
      gid: 1000,
      image: '/home/u/my os/floppy.img',
      device: '/dev/vnd2c',
      dir: '/home/u/mnt',
      files: ['boot/kernel.bin', 'it’s here.txt'],
    });
    expect(plan.lines).toEqual([
      "vnconfig vnd2 '/home/u/my os/floppy.img'",
      'newfs_msdos -F 12 -f 1440 /dev/rvnd2c',
      'mount_msdos -u 1000 -g 1000 /dev/vnd2i /home/u/mnt',
      'cp boot/kernel.bin /home/u/mnt',
      "cp 'it’s here.txt' /home/u/mnt",
      'sync',
      'umount /home/u/mnt',
      'vnconfig -u vnd2',
    ]);
  });

  it('a partitioned disk: the slice (FreeBSD) or the spoofed letter (OpenBSD), with no floppy format', () => {
    const disk = { sizeBytes: 516096000, partition: 1, fs: 'fat16' as const, uid: 0, gid: 0, files: [], dir: '/mnt/wherever' };
    expect(
      imageRecipeEquivalent(loopBackendFor('freebsd', '13.3-RELEASE')!, { ...disk, image: '/i/c.img', device: '/dev/md0' }).lines.slice(
        1,
        3,
      ),
    ).toEqual(['newfs_msdos -F 16 /dev/md0s1', 'mount -t msdosfs /dev/md0s1 /mnt/wherever']);
    expect(
      imageRecipeEquivalent(loopBackendFor('openbsd', '7.6')!, { ...disk, image: '/i/c.img', device: '/dev/vnd0c' }).lines.slice(1, 3),
    ).toEqual(['newfs_msdos -F 16 /dev/rvnd0i', 'mount -t msdos /dev/vnd0i /mnt/wherever']);
  });
});

/**
 * `loopstudio mount` on a host that says it is OpenBSD or FreeBSD: the loop service with that
 * system's backend, and a stand-in for the root helper that answers as the helper would there (it
 * builds each step's commands with the same backend, and reports the devices the BSD made). What
 * the CLI prints is then the "same by hand" lines of describeAction, as for Linux.
 */
describe('loopstudio mount on a host that says it is a BSD (the loop service, a stand-in helper)', () => {
  async function mountAs(backend: LoopBackend, made: string) {
    const { dir, cleanup } = tempDir('loopstudio-bsd-');
    try {
      const image = join(dir, 'floppy.img');
      await cliOk('create', image, '--floppy', '1.44M');
      await cliOk('format', image, '--fs', 'fat12');
      const requests: HelperRequest[] = [];
      const standIn = async (request: HelperRequest): Promise<HelperOutcome> => {
        requests.push(request);
        const [attach, mount] = request.steps as [Extract<HelperStep, { op: 'attach' }>, Extract<HelperStep, { op: 'mount' }>];
        const ran = (c: HostCommand) => ({ argv: [c.program, ...c.args], exitCode: 0 });
        const lookup = backend.attachNeedsUnit ? [ran(backend.list()!)] : [];
        const steps = [
          {
            step: 0,
            op: 'attach' as const,
            ok: true,
            commands: [...lookup, ran(backend.attach({ image: attach.image }, 0))],
            device: made,
          },
          {
            step: 1,
            op: 'mount' as const,
            ok: true,
            commands: [ran(backend.mount({ device: made, dir: mount.dir, family: mount.family, ...request.owner }))],
            device: made,
            dir: mount.dir,
          },
        ];
        return { ok: true, steps, final: { done: true, ok: true }, elevation: 'root' } as HelperOutcome;
      };
      const loops = new LoopService({
        shell: 'cli',
        stateDir: join(dir, 'state'),
        mountRoot: join(dir, 'mnt'),
        backend,
        privileged: standIn,
      });
      const result = await loops.mount(image);
      return { image: realpathSync(image), result, printed: describeAction(result), requests };
    } finally {
      cleanup();
    }
  }
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;

  it('OpenBSD: vnconfig -l, vnconfig vnd0, mount the spoofed vnd0i, and the same by hand', async () => {
    const { image, result, printed, requests } = await mountAs(loopBackendFor('openbsd', '7.6')!, '/dev/vnd0c');
    // The whole floppy is attached (no offset on the BSDs) and mounted as the whole device.
    expect(requests[0]!.steps[0]).toEqual({ op: 'attach', image });
    expect(result.device).toBe('/dev/vnd0c');
    const mount =
      uid === 0 && gid === 0
        ? `mount -t msdos /dev/vnd0i ${result.mountDir}`
        : `mount_msdos -u ${uid} -g ${gid} /dev/vnd0i ${result.mountDir}`;
    expect(result.commands).toEqual(['vnconfig -l', `vnconfig vnd0 ${image}`, mount]);
    expect(printed).toContain(
      `The same by hand, as root:\n  vnconfig vnd0 ${image}\n  ${mount}\n  sync\n  umount ${result.mountDir}\n  vnconfig -u vnd0\n`,
    );
    expect(result.equivalent?.oneStep).toBeNull();
  });

  it('FreeBSD 14: mdconfig -a, mount -t msdosfs /dev/md0, and mdconfig -d -u md0 by hand', async () => {
    const { image, result } = await mountAs(loopBackendFor('freebsd', '14.1-RELEASE')!, '/dev/md0');
    const mount =
      uid === 0 && gid === 0
        ? `mount -t msdosfs /dev/md0 ${result.mountDir}`
        : `mount_msdosfs -u ${uid} -g ${gid} /dev/md0 ${result.mountDir}`;
    expect(result.commands).toEqual([`mdconfig -a -t vnode -f ${image}`, mount]);
    expect(result.equivalent?.lines).toEqual([
      `mdconfig -a -t vnode -f ${image}`,
      mount,
      'sync',
      `umount ${result.mountDir}`,
      'mdconfig -d -u md0',
    ]);
  });
});
