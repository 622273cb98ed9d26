/**
 * The BSDs: FreeBSD 5+ `mdconfig` (md memory disks backed by a vnode), OpenBSD `vnconfig` (vnd)
 * and FreeBSD 4 `vnconfig` (vn). None of them attaches a byte range of a file: the whole image
 * is attached and the kernel makes a device node per MBR partition (FreeBSD slices /dev/md0s1,
 * OpenBSD's spoofed disklabel letters /dev/vnd0i …).
 *
 * Every format parsed here was read off the systems' own sources, release by release (the
 * fixtures in tests/fixtures/bsd/ name the file, release and function of each); none of it has
 * been run on a BSD machine.
 *
 * FreeBSD, sbin/mdconfig/mdconfig.c:
 * - 5.0 to 6.x: `-l` prints unit names only and `-l -u N` one unit; there is no `-v`, so no one
 *   command lists every device with its file. These releases get no listing (the helper refuses).
 * - 7.x to 10.x, md_list(): `-l -v` prints name TAB type TAB size("%6s") [TAB file] — the file
 *   only for vnode disks, and last, so it may hold tabs. (Read in 8.3, a 9.3 tree, 10.2 and 10.4;
 *   7.x is taken to be the same: were its mdconfig without -v, the listing would fail, not mislead.)
 * - 12.0 to 14.x: name TAB type TAB size TAB file TAB label — the file is "-" when there is none,
 *   the label "" when there is none (so a device without one ends in a tab).
 * - 15 (FreeBSD's main branch): name TAB type TAB size TAB file TAB label TAB options — the label "-" when there
 *   is none, the options (print_options()) comma-separated and possibly empty.
 * - 11.x: not pinned down from a release tree; its listing is recognised by its shape, and a line
 *   that could be read two ways is refused.
 * The kernel hands mdconfig the file name in XML (sys/geom/geom_dump.c g_conf_cat_escaped() turns
 * bytes above 0x7e into &#xNN; and other control characters than tab/newline into '?'); libgeom
 * (lib/libgeom/geom_xml2tree.c CharData()) trims the white space around each piece of character
 * data and drops newlines. So mdconfig cannot show every name as it is: images whose names it
 * would change are refused before they are attached (mdconfigShowsFaithfully).
 *
 * OpenBSD, sbin/vnconfig/vnconfig.c (usr.sbin/vnconfig before 2021, sbin/mount_vnd for a while),
 * getinfo(): "vnd%d: not in use" or "vnd%d: covering %s on %s, inode %llu" ("%d" before 64-bit
 * inodes), one line per unit from vnd0 up. The file is the name as vnconfig was given it, at most
 * 89 bytes (sys/dev/vndioctl.h VNDNLEN 90, copyinstr in vndioctl): longer paths cannot be attached.
 * The block node of a whole vnd is /dev/vndNc (there is no /dev/vndN); a FAT volume with no MBR
 * is mounted through the 'i' partition the kernel spoofs for it (sys/kern/subr_disk.c
 * readdoslabel(): "Looks like a FAT filesystem. Spoof 'i'.").
 *
 * FreeBSD 4, usr.sbin/vnconfig/vnconfig.c: `vnconfig [-c] DEV FILE` configures (the default when
 * neither -c nor -u is given), `-u DEV` unconfigures, and there is no way to list what a vn covers.
 */
import { LoopbackError } from '../../../shared/errors';
import { mke2fsBlocks, sectorsPerCluster } from './mkfs-args';
import type { AttachSpec, HostCommand, LoopBackend, LoopDeviceEntry, MkfsSpec, MountEntry, MountSpec } from './types';

const FAT_BITS = { fat12: '12', fat16: '16', fat32: '32' } as const;

function refuseRange(spec: AttachSpec, tool: string): void {
  if (spec.offsetBytes || spec.sizeBytes) {
    throw new LoopbackError(
      'INVALID_INPUT',
      `${tool} attaches whole images only; mount a partition through its device node (slice) instead of an offset`,
    );
  }
}

function unitOf(device: string, prefix: string): number {
  const match = new RegExp(`^(?:/dev/)?r?${prefix}(\\d+)`).exec(device);
  if (!match) throw new LoopbackError('INVALID_INPUT', `${device} is not a ${prefix} device`);
  return Number(match[1]);
}

const entry = (device: string, fields: Partial<LoopDeviceEntry> = {}): LoopDeviceEntry => ({
  device,
  inUse: true,
  backingFile: null,
  offsetBytes: 0,
  sizeLimitBytes: null,
  inode: null,
  ...fields,
});

/** newfs_msdos takes the same options on FreeBSD and OpenBSD (both descend from the same code). */
function newfsMsdos(spec: MkfsSpec, device: string): HostCommand {
  if (spec.fs === 'ext2') {
    // e2fsprogs from packages/ports: the same mke2fs as on Linux.
    const args = ['-t', 'ext2', '-b', String(spec.blockBytes ?? 1024)];
    if (spec.label) args.push('-L', spec.label);
    return { program: 'mke2fs', args: [...args, device, ...mke2fsBlocks(spec)] };
  }
  const args = ['-F', FAT_BITS[spec.fs]];
  // -c: sectors per cluster, a power of 2 from 1 to 128 (newfs_msdos(8)), as mkfs.fat's -s.
  if (spec.clusterBytes !== undefined) args.push('-c', sectorsPerCluster(spec.clusterBytes));
  if (spec.label) args.push('-L', spec.label);
  if (spec.floppyKiB !== undefined) {
    // -f: one of newfs_msdos' standard floppy formats (geometry, root entries, media byte).
    args.push('-f', String(spec.floppyKiB));
  } else {
    if (spec.heads && spec.sectorsPerTrack) args.push('-h', String(spec.heads), '-u', String(spec.sectorsPerTrack));
    if (spec.hiddenSectors !== undefined) args.push('-o', String(spec.hiddenSectors));
  }
  return { program: 'newfs_msdos', args: [...args, device] };
}

/**
 * Mounting FAT for a user: `mount -t TYPE` cannot pass an owner, so the filesystem's own mount
 * program is used with -u/-g (mount_msdosfs(8) on FreeBSD, mount_msdos(8) on OpenBSD and FreeBSD 4).
 */
function bsdMount(spec: MountSpec, fatType: string, fatProgram: string, device = spec.device): HostCommand {
  const ro = spec.readOnly ? ['-o', 'ro'] : [];
  if (spec.family === 'ext2') return { program: 'mount', args: ['-t', 'ext2fs', ...ro, device, spec.dir] };
  if (spec.uid === 0 && spec.gid === 0) return { program: 'mount', args: ['-t', fatType, ...ro, device, spec.dir] };
  return { program: fatProgram, args: ['-u', String(spec.uid), '-g', String(spec.gid), ...ro, device, spec.dir] };
}

const splitOptions = (text: string | undefined): string[] => (text ? text.split(', ') : []);

/**
 * FreeBSD `mount` with no arguments (sbin/mount/mount.c prmount()): "%s on %s (%s" then ", %s"
 * per flag (and ", mounted by USER") then ")". Device names hold no " on ", mount points may: the
 * source is read up to the first " on ", the mount point up to the last " (".
 */
export function parseFreebsdMountOutput(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(.+?) on (.+) \(([^,()]+)(?:, (.*))?\)$/.exec(line);
    if (match) entries.push({ source: match[1]!, mountPoint: match[2]!, type: match[3]!, options: splitOptions(match[4]) });
  }
  return entries;
}

/**
 * OpenBSD `mount` (sbin/mount/mount.c prmount()): "%s on %s type %s", then " (" flags and
 * filesystem options ", "-separated ")" — or nothing at all when there is none to print.
 */
export function parseOpenbsdMountOutput(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(.+?) on (.+) type (\S+)(?: \((.*)\))?$/.exec(line);
    if (match) entries.push({ source: match[1]!, mountPoint: match[2]!, type: match[3]!, options: splitOptions(match[4]) });
  }
  return entries;
}

/** Either system's `mount` output (OpenBSD's "type" form first). */
export function parseBsdMountOutput(text: string): MountEntry[] {
  return text
    .split('\n')
    .flatMap((line) => (/ type \S+(?: \(.*\))?$/.test(line) ? parseOpenbsdMountOutput(line) : parseFreebsdMountOutput(line)));
}

// ── FreeBSD mdconfig ──────────────────────────────────────────────────────────────────────────

/**
 * Which columns `mdconfig -l -v` prints after name, type and size:
 * - 'file': the file only, for vnode disks, last (7.x–10.x);
 * - 'label': file ("-" if none) and label ("" if none) (12.0–14.x);
 * - 'label-options': file, label ("-" if none) and options (15);
 * - 'auto': not known from the release — read from the listing, ambiguous lines refused.
 */
export type MdconfigListing = 'file' | 'label' | 'label-options' | 'auto';

/** The words print_options() can print (sbin/mdconfig/mdconfig.c, FreeBSD 15). */
const MD_OPTIONS = /^(?:(?:async|cache|compress|force|readonly|reserve|verify|mustdealloc)(?:,(?=.)|$))*$/;

interface MdLine {
  name: string;
  type: string;
  /** The fields after the size. */
  rest: string[];
}

const TAB_AMBIGUITY =
  'its line has more tab-separated fields than mdconfig prints, so a tab is in its file name or label and which file it covers cannot be read';

/** The listing's format from lines that only one format could print. */
function mdListingFromShapes(lines: readonly MdLine[]): Exclude<MdconfigListing, 'auto'> | null {
  for (const line of lines) {
    if (line.rest.length === 0) return 'file';
    if (line.type !== 'vnode' && line.type !== 'preload' && line.rest[0] === '-') return line.rest.length === 2 ? 'label' : 'label-options';
    if (line.type === 'vnode' && line.rest.length === 1) return 'file';
  }
  return null;
}

/** The file of a vnode line, or why it cannot be read. */
function mdFileOf(line: MdLine, listing: MdconfigListing): { file: string } | { unreadable: string } {
  const { rest } = line;
  if (rest.length === 0) return { unreadable: 'mdconfig printed no file for it' };
  switch (listing) {
    case 'file':
      // The file is the last column: whatever follows the size is the name, tabs and all.
      return { file: rest.join('\t') };
    case 'label':
      return rest.length === 2 ? { file: rest[0]! } : { unreadable: TAB_AMBIGUITY };
    case 'label-options':
      return rest.length === 3 && MD_OPTIONS.test(rest[2]!) ? { file: rest[0]! } : { unreadable: TAB_AMBIGUITY };
    case 'auto':
      return rest.length === 1
        ? { file: rest[0]! }
        : { unreadable: `${TAB_AMBIGUITY} (this FreeBSD release's mdconfig columns are not known)` };
  }
}

/**
 * `mdconfig -l -v`. Malloc, swap, null and preload disks are listed with no backing file: never
 * an image of ours. A line that cannot be read unambiguously is listed as `unreadable`, with why.
 */
export function parseMdconfigList(stdout: string, listing: MdconfigListing = 'auto'): LoopDeviceEntry[] {
  const lines: MdLine[] = [];
  for (const text of stdout.split('\n')) {
    if (!text.trim()) continue;
    const [name = '', type = '', , ...rest] = text.split('\t');
    if (!/^md\d+$/.test(name)) continue;
    lines.push({ name, type, rest });
  }
  let format = listing;
  if (format === 'auto') format = mdListingFromShapes(lines) ?? 'auto';
  // A 15 kernel can run a 14 userland (a jail): a line only the label format prints decides.
  if (format === 'label-options' && lines.some((l) => l.rest.length === 2)) format = 'label';
  return lines.map((line) => {
    const device = `/dev/${line.name}`;
    if (line.type !== 'vnode') return entry(device);
    const read = mdFileOf(line, format);
    return 'file' in read
      ? entry(device, { backingFile: read.file })
      : entry(device, { unreadable: `mdconfig cannot tell which file ${line.name} covers: ${read.unreadable}` });
  });
}

/** `mdconfig -l -f FILE` (10.x and later): the names of the md devices whose file is FILE, space-separated. */
export function parseMdconfigNames(stdout: string): string[] {
  return stdout
    .split(/\s+/)
    .filter((name) => /^md\d+$/.test(name))
    .map((name) => `/dev/${name}`);
}

/**
 * Why mdconfig could not show this file name as it is, or null. The name goes to mdconfig
 * through the kernel's XML: bytes outside printable ASCII are escaped or replaced, newlines are
 * dropped, and white space at the ends of each piece of text (the whole name, and around each
 * escaped & < > ' ") is trimmed — a name that comes back different could be taken for another.
 */
export function mdconfigShowsFaithfully(path: string): string | null {
  if (/[^\x20-\x7e]/.test(path)) return 'it has a tab, a newline, another control character or a non-ASCII character';
  if (/\s$/.test(path)) return 'it ends in white space';
  if (/\s[&<>'"]|[&<>'"]\s/.test(path)) return 'it has white space next to one of & < > \' "';
  return null;
}

function freebsdRelease(osRelease: string): number | null {
  const major = Number.parseInt(osRelease, 10);
  return Number.isFinite(major) ? major : null;
}

/** The `mdconfig -l -v` columns of a FreeBSD release (see the top of this file). */
export function mdconfigListingFor(osRelease: string): MdconfigListing | 'none' {
  const major = freebsdRelease(osRelease);
  if (major === null) return 'auto';
  if (major < 7) return 'none';
  if (major <= 10) return 'file';
  if (major === 11) return 'auto';
  if (major <= 14) return 'label';
  return 'label-options';
}

const FREEBSD_NAME = /^\/dev\/md\d+(?:s\d+[a-h]?|[a-h])?$/;

/** The FreeBSD 5+ backend for a release ("14.1-RELEASE"; "" when not known). */
export function freebsdBackendFor(osRelease = ''): LoopBackend {
  const listing = mdconfigListingFor(osRelease);
  return {
    system: 'freebsd',
    tool: 'mdconfig',
    attachesByOffset: false,
    attachNeedsUnit: false,
    attach(spec) {
      refuseRange(spec, 'mdconfig');
      const why = mdconfigShowsFaithfully(spec.image);
      if (why) {
        throw new LoopbackError(
          'INVALID_INPUT',
          `${spec.image}: mdconfig -l could not show this file name as it is (${why}), so the helper could not check the device later; rename or move the image`,
        );
      }
      return { program: 'mdconfig', args: ['-a', '-t', 'vnode', ...(spec.readOnly ? ['-o', 'readonly'] : []), '-f', spec.image] };
    },
    parseAttach(stdout) {
      // main(): printf("%s%d\n", MD_NAME, mdio.md_unit) when no -u was given.
      const name = stdout.trim();
      if (!/^md\d+$/.test(name)) throw new LoopbackError('IO', `mdconfig -a printed "${name.slice(0, 80)}", not an md device name`);
      return `/dev/${name}`;
    },
    // -u takes "md0" as well as "0" (the 'u' case strips "/dev/" and "md"): the article's form.
    detach: (device) => ({ program: 'mdconfig', args: ['-d', '-u', `md${unitOf(device, 'md')}`] }),
    list: () => (listing === 'none' ? null : { program: 'mdconfig', args: ['-l', '-v'] }),
    parseList: (stdout) => parseMdconfigList(stdout, listing === 'none' ? 'auto' : listing),
    isDeviceName: (path) => FREEBSD_NAME.test(path),
    wholeDevice: (path) => path.replace(/^(\/dev\/md\d+).*$/, '$1'),
    partitionIndexOf: (path) => {
      const match = /s(\d+)[a-h]?$/.exec(path);
      return match ? Number(match[1]) : null;
    },
    partitionDevice: (device, index) => `${device}s${index}`,
    rawDevice: (device) => device,
    mount: (spec) => bsdMount(spec, 'msdosfs', 'mount_msdosfs'),
    unmount: (dir) => ({ program: 'umount', args: [dir] }),
    mkfs: (spec) => newfsMsdos(spec, spec.device),
    mountTable: () => ({ program: 'mount', args: [] }),
    parseMountTable: parseFreebsdMountOutput,
  };
}

/** FreeBSD with the columns read from the listing itself (release not known). */
export const freebsdBackend: LoopBackend = freebsdBackendFor('');

// ── OpenBSD vnconfig ──────────────────────────────────────────────────────────────────────────

/** sys/dev/vndioctl.h: `char vnu_file[VNDNLEN]`, VNDNLEN 90 — the name and its NUL. */
export const VND_NAME_MAX = 89;

/**
 * `vnconfig -l`: one line per unit, vnd0 first, units in order. A line that breaks that order is
 * a piece of a file name with a newline in it — possibly made to look like a unit's line. Then no
 * line can be trusted to say which file a unit covers: every unit in use is listed as
 * `unreadable` (the free ones stay free: attaching to a unit that is not free only fails).
 */
export function parseVnconfigList(stdout: string): LoopDeviceEntry[] {
  const entries: LoopDeviceEntry[] = [];
  let broken = false;
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    if (!line) continue;
    const head = /^vnd(\d+): (.*)$/.exec(line);
    if (!head || Number(head[1]) !== entries.length) {
      broken = true;
      continue;
    }
    const device = `/dev/vnd${head[1]}c`;
    if (head[2] === 'not in use') {
      entries.push(entry(device, { inUse: false }));
      continue;
    }
    // The last " on DEV, inode N" ends the name: a name may hold " on " itself.
    const used = /^covering (.+) on (\S+), inode (\d+)$/.exec(head[2]!);
    if (used) entries.push(entry(device, { backingFile: used[1]!, inode: Number(used[3]) }));
    else entries.push(entry(device, { unreadable: `vnconfig -l printed "${head[2]!.slice(0, 80)}" for it` }));
  }
  if (!broken) return entries;
  const why =
    'vnconfig -l printed lines that are not one line per unit in order: a file name with a newline in it breaks the listing, so no line can be trusted to say which file a unit covers';
  return entries.map((e) => (e.inUse ? { ...e, backingFile: null, inode: null, unreadable: why } : e));
}

/** `vnconfig IMAGE` without a device (sbin/vnconfig, 2021 on) prints the unit it chose: "vnd1". */
export function parseVnconfigChosen(stdout: string): string {
  const name = stdout.trim();
  if (!/^vnd\d+$/.test(name)) throw new LoopbackError('IO', `vnconfig printed "${name.slice(0, 80)}", not a vnd device name`);
  return `/dev/${name}c`;
}

/** The first unit `vnconfig -l` lists as free. */
export function firstFreeUnit(entries: readonly LoopDeviceEntry[]): number | null {
  const free = entries.find((e) => !e.inUse && !e.unreadable);
  return free ? Number(/vnd(\d+)/.exec(free.device)![1]) : null;
}

/**
 * OpenBSD partition letters: `c` is the whole disk; with no OpenBSD disklabel on the image the
 * kernel spoofs one in which the MBR's partitions follow from `i` (the article mounts a FAT
 * floppy as /dev/vnd0i). This assumes the image's partitions are all of types OpenBSD spoofs
 * (FAT, ext2, NTFS …), which is what Loopback Studio makes.
 */
const OPENBSD_FIRST_SPOOFED = 'i'.charCodeAt(0);
const OPENBSD_NAME = /^\/dev\/r?vnd(\d+)([a-p])$/;

export const openbsdBackend: LoopBackend = {
  system: 'openbsd',
  tool: 'vnconfig',
  attachesByOffset: false,
  attachNeedsUnit: true,
  attach(spec, unit) {
    refuseRange(spec, 'vnconfig');
    if (unit === undefined) throw new LoopbackError('INTERNAL', 'vnconfig needs a free vnd unit (from vnconfig -l)');
    if (Buffer.byteLength(spec.image) > VND_NAME_MAX) {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${spec.image}: OpenBSD's vnd keeps at most ${VND_NAME_MAX} bytes of a file name (VNDNLEN), and this path is ${Buffer.byteLength(spec.image)}; move the image to a shorter path`,
      );
    }
    if (/\n/.test(spec.image))
      throw new LoopbackError(
        'INVALID_INPUT',
        `${spec.image}: a file name with a newline would break vnconfig -l's listing; rename the image`,
      );
    return { program: 'vnconfig', args: [`vnd${unit}`, spec.image] };
  },
  parseAttach: (_stdout, unit) => `/dev/vnd${unit}c`,
  detach: (device) => ({ program: 'vnconfig', args: ['-u', `vnd${unitOf(device, 'vnd')}`] }),
  list: () => ({ program: 'vnconfig', args: ['-l'] }),
  parseList: parseVnconfigList,
  isDeviceName: (path) => OPENBSD_NAME.test(path),
  wholeDevice: (path) => `/dev/vnd${unitOf(path, 'vnd')}c`,
  partitionIndexOf: (path) => {
    const letter = OPENBSD_NAME.exec(path)?.[2];
    return letter && letter.charCodeAt(0) >= OPENBSD_FIRST_SPOOFED ? letter.charCodeAt(0) - OPENBSD_FIRST_SPOOFED + 1 : null;
  },
  partitionDevice: (device, index) => `/dev/vnd${unitOf(device, 'vnd')}${String.fromCharCode(OPENBSD_FIRST_SPOOFED + index - 1)}`,
  // Formatting goes through the raw (character) device: /dev/rvnd0c for the whole disk.
  rawDevice: (device) => {
    const match = /^\/dev\/vnd(\d+)([a-p])$/.exec(device);
    return match ? `/dev/rvnd${match[1]}${match[2]}` : device;
  },
  // A FAT volume on the whole disk (no MBR) is the spoofed 'i' partition, as the article mounts it.
  mount: (spec) => {
    const whole = /^\/dev\/vnd(\d+)c$/.exec(spec.device);
    return bsdMount(spec, 'msdos', 'mount_msdos', whole && spec.family === 'fat' ? `/dev/vnd${whole[1]}i` : spec.device);
  },
  unmount: (dir) => ({ program: 'umount', args: [dir] }),
  mkfs: (spec) => newfsMsdos(spec, openbsdBackend.rawDevice(spec.device)),
  mountTable: () => ({ program: 'mount', args: [] }),
  parseMountTable: parseOpenbsdMountOutput,
};

/**
 * FreeBSD 4: `vnconfig -c vn0 IMG` and `vnconfig -u vn0`. (The OSDev article writes
 * `vnconfig -c /dev/vn0` to shut the device down; usr.sbin/vnconfig/vnconfig.c of 4.x says -c
 * *configures* and -u unconfigures, so -u it is.) FreeBSD 4 named the FAT filesystem "msdos"
 * (mount_msdos); "msdosfs" came later.
 */
export const freebsd4Backend: LoopBackend = {
  system: 'freebsd4',
  tool: 'vnconfig',
  attachesByOffset: false,
  attachNeedsUnit: true,
  attach(spec, unit) {
    refuseRange(spec, 'vnconfig');
    if (unit === undefined) throw new LoopbackError('INTERNAL', 'FreeBSD 4 vnconfig needs a vn unit');
    return { program: 'vnconfig', args: ['-c', `vn${unit}`, spec.image] };
  },
  parseAttach: (_stdout, unit) => `/dev/vn${unit}`,
  detach: (device) => ({ program: 'vnconfig', args: ['-u', `vn${unitOf(device, 'vn')}`] }),
  list: () => null,
  parseList: () => [],
  isDeviceName: (path) => /^\/dev\/vn\d+(?:s\d+[a-h]?|[a-h])?$/.test(path),
  wholeDevice: (path) => path.replace(/^(\/dev\/vn\d+).*$/, '$1'),
  partitionIndexOf: (path) => {
    const match = /s(\d+)[a-h]?$/.exec(path);
    return match ? Number(match[1]) : null;
  },
  partitionDevice: (device, index) => `${device}s${index}`,
  rawDevice: (device) => device,
  mount: (spec) => bsdMount(spec, 'msdos', 'mount_msdos'),
  unmount: (dir) => ({ program: 'umount', args: [dir] }),
  mkfs: (spec) => newfsMsdos(spec, spec.device),
  mountTable: () => ({ program: 'mount', args: [] }),
  parseMountTable: parseFreebsdMountOutput,
};
