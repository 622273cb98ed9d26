/**
 * The BSDs: FreeBSD 5+ `mdconfig` (md memory disks backed by a vnode), OpenBSD `vnconfig` (vnd)
 * and FreeBSD 4 `vnconfig` (vn). None of them attaches a byte range of a file: the whole image
 * is attached and the kernel makes a device node per MBR partition (FreeBSD slices /dev/md0s1,
 * OpenBSD's spoofed disklabel letters /dev/vnd0i …).
 *
 * The output formats parsed here come from the systems' own sources and manual pages:
 * - FreeBSD sbin/mdconfig/mdconfig.c, md_list(): `-l -v` prints one line per device,
 *   "md0<TAB>vnode<TAB>  1024M<TAB>/path/to/file" (size right-aligned in 6 columns by
 *   humanize_number); `-a` prints the new device's name ("md0") when no -u was given.
 * - OpenBSD sbin/vnconfig/vnconfig.c, getinfo(): "vnd0: covering %s on %s, inode %llu" or
 *   "vnd1: not in use" — the lines the OSDev article shows.
 * - FreeBSD 4 vnconfig(8) (4.5-RELEASE): `vnconfig [-c] vn0 file` configures, `-u` unconfigures;
 *   it has no list option (DragonFly added `-l` later).
 */
import { LoopbackError } from '../../../shared/errors';
import type { AttachSpec, HostCommand, LoopBackend, LoopDeviceEntry, MkfsSpec, MountEntry, MountSpec } from './types';

const FAT_BITS = { fat12: '12', fat16: '16', fat32: '32' } as const;

function refuseRange(spec: AttachSpec, tool: string): void {
  if (spec.offsetBytes || spec.sizeBytes) {
    throw new LoopbackError('INVALID_INPUT', `${tool} attaches whole images only; mount a partition through its device node (slice) instead of an offset`);
  }
}

function unitOf(device: string, prefix: string): number {
  const match = new RegExp(`^(?:/dev/)?r?${prefix}(\\d+)`).exec(device);
  if (!match) throw new LoopbackError('INVALID_INPUT', `${device} is not a ${prefix} device`);
  return Number(match[1]);
}

/** newfs_msdos takes the same options on FreeBSD and OpenBSD (both descend from the same code). */
function newfsMsdos(spec: MkfsSpec, device: string): HostCommand {
  if (spec.fs === 'ext2') {
    // e2fsprogs from packages/ports: the same mke2fs as on Linux.
    const args = ['-t', 'ext2', '-b', '1024'];
    if (spec.label) args.push('-L', spec.label);
    return { program: 'mke2fs', args: [...args, device, ...(spec.blocks1KiB !== undefined ? [String(spec.blocks1KiB)] : [])] };
  }
  const args = ['-F', FAT_BITS[spec.fs]];
  if (spec.label) args.push('-L', spec.label);
  if (spec.heads && spec.sectorsPerTrack) args.push('-h', String(spec.heads), '-u', String(spec.sectorsPerTrack));
  if (spec.hiddenSectors !== undefined) args.push('-o', String(spec.hiddenSectors));
  return { program: 'newfs_msdos', args: [...args, device] };
}

/**
 * Mounting FAT for a user: `mount -t TYPE` cannot pass an owner, so the filesystem's own mount
 * program is used with -u/-g (mount_msdosfs(8) on FreeBSD, mount_msdos(8) on OpenBSD and FreeBSD 4).
 */
function bsdMount(spec: MountSpec, fatType: string, fatProgram: string): HostCommand {
  const ro = spec.readOnly ? ['-o', 'ro'] : [];
  if (spec.family === 'ext2') return { program: 'mount', args: ['-t', 'ext2fs', ...ro, spec.device, spec.dir] };
  if (spec.uid === 0 && spec.gid === 0) return { program: 'mount', args: ['-t', fatType, ...ro, spec.device, spec.dir] };
  return { program: fatProgram, args: ['-u', String(spec.uid), '-g', String(spec.gid), ...ro, spec.device, spec.dir] };
}

/**
 * `mount` with no arguments. FreeBSD: "/dev/md0s1 on /mnt (msdosfs, local)"; OpenBSD:
 * "/dev/vnd0i on /mnt type msdos (local)". Names with " on " in them are read greedily.
 */
export function parseBsdMountOutput(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const openbsd = /^(.+) on (.+) type (\S+) \((.*)\)$/.exec(line);
    if (openbsd) {
      entries.push({ source: openbsd[1]!, mountPoint: openbsd[2]!, type: openbsd[3]!, options: openbsd[4]!.split(', ') });
      continue;
    }
    const freebsd = /^(.+) on (.+) \(([^,()]+)(?:, (.*))?\)$/.exec(line);
    if (freebsd) {
      entries.push({ source: freebsd[1]!, mountPoint: freebsd[2]!, type: freebsd[3]!, options: freebsd[4] ? freebsd[4].split(', ') : [] });
    }
  }
  return entries;
}

/** `mdconfig -l -v`: name, type, size and (for vnode disks) the file, separated by tabs. */
export function parseMdconfigList(stdout: string): LoopDeviceEntry[] {
  const entries: LoopDeviceEntry[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [name, type, , ...file] = line.split('\t');
    if (!name || !/^md\d+$/.test(name.trim())) continue;
    const backing = type?.trim() === 'vnode' && file.length ? file.join('\t') : null;
    entries.push({ device: `/dev/${name.trim()}`, inUse: true, backingFile: backing, offsetBytes: 0, sizeLimitBytes: null, inode: null });
  }
  return entries;
}

export const freebsdBackend: LoopBackend = {
  system: 'freebsd',
  tool: 'mdconfig',
  attachesByOffset: false,
  attachNeedsUnit: false,
  attach(spec) {
    refuseRange(spec, 'mdconfig');
    return { program: 'mdconfig', args: ['-a', '-t', 'vnode', ...(spec.readOnly ? ['-o', 'readonly'] : []), '-f', spec.image] };
  },
  parseAttach(stdout) {
    const name = stdout.trim();
    if (!/^md\d+$/.test(name)) throw new LoopbackError('IO', `mdconfig -a printed "${name.slice(0, 80)}", not an md device name`);
    return `/dev/${name}`;
  },
  detach: (device) => ({ program: 'mdconfig', args: ['-d', '-u', String(unitOf(device, 'md'))] }),
  list: () => ({ program: 'mdconfig', args: ['-l', '-v'] }),
  parseList: parseMdconfigList,
  isDeviceName: (path) => /^\/dev\/md\d+(?:s\d+[a-h]?|[a-h])?$/.test(path),
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
  parseMountTable: parseBsdMountOutput,
};

/** `vnconfig -l`: "vnd0: covering /path on wd0a, inode 270473" or "vnd1: not in use". */
export function parseVnconfigList(stdout: string): LoopDeviceEntry[] {
  const entries: LoopDeviceEntry[] = [];
  for (const line of stdout.split('\n')) {
    const free = /^vnd(\d+): not in use$/.exec(line.trim());
    if (free) {
      entries.push({ device: `/dev/vnd${free[1]}`, inUse: false, backingFile: null, offsetBytes: 0, sizeLimitBytes: null, inode: null });
      continue;
    }
    const used = /^vnd(\d+): covering (.+) on (\S+), inode (\d+)$/.exec(line.replace(/^\s+/, ''));
    if (used) {
      entries.push({ device: `/dev/vnd${used[1]}`, inUse: true, backingFile: used[2]!, offsetBytes: 0, sizeLimitBytes: null, inode: Number(used[4]) });
    }
  }
  return entries;
}

/** The first unit `vnconfig -l` lists as free. */
export function firstFreeUnit(entries: readonly LoopDeviceEntry[]): number | null {
  const free = entries.find((e) => !e.inUse);
  return free ? Number(/\d+$/.exec(free.device)![0]) : null;
}

/**
 * OpenBSD partition letters: `c` is the whole disk; with no OpenBSD disklabel on the image the
 * kernel spoofs one in which the MBR's partitions follow from `i` (the article mounts a FAT
 * floppy as /dev/vnd0i). This assumes the image's partitions are all of types OpenBSD spoofs
 * (FAT, ext2, NTFS …), which is what Loopback Studio makes.
 */
const OPENBSD_FIRST_SPOOFED = 'i'.charCodeAt(0);

export const openbsdBackend: LoopBackend = {
  system: 'openbsd',
  tool: 'vnconfig',
  attachesByOffset: false,
  attachNeedsUnit: true,
  attach(spec, unit) {
    refuseRange(spec, 'vnconfig');
    if (unit === undefined) throw new LoopbackError('INTERNAL', 'vnconfig needs a free vnd unit (from vnconfig -l)');
    return { program: 'vnconfig', args: [`vnd${unit}`, spec.image] };
  },
  parseAttach: (_stdout, unit) => `/dev/vnd${unit}`,
  detach: (device) => ({ program: 'vnconfig', args: ['-u', `vnd${unitOf(device, 'vnd')}`] }),
  list: () => ({ program: 'vnconfig', args: ['-l'] }),
  parseList: parseVnconfigList,
  isDeviceName: (path) => /^\/dev\/r?vnd\d+[a-p]?$/.test(path),
  wholeDevice: (path) => `/dev/vnd${unitOf(path, 'vnd')}`,
  partitionIndexOf: (path) => {
    const letter = /^\/dev\/r?vnd\d+([a-p])$/.exec(path)?.[1];
    return letter && letter.charCodeAt(0) >= OPENBSD_FIRST_SPOOFED ? letter.charCodeAt(0) - OPENBSD_FIRST_SPOOFED + 1 : null;
  },
  partitionDevice: (device, index) => `/dev/vnd${unitOf(device, 'vnd')}${String.fromCharCode(OPENBSD_FIRST_SPOOFED + index - 1)}`,
  // Formatting goes through the raw (character) device: /dev/rvnd0c for the whole disk.
  rawDevice: (device) => {
    const match = /^\/dev\/vnd(\d+)([a-p]?)$/.exec(device);
    return match ? `/dev/rvnd${match[1]}${match[2] || 'c'}` : device;
  },
  mount: (spec) => bsdMount(spec, 'msdos', 'mount_msdos'),
  unmount: (dir) => ({ program: 'umount', args: [dir] }),
  mkfs: (spec) => newfsMsdos(spec, openbsdBackend.rawDevice(spec.device)),
  mountTable: () => ({ program: 'mount', args: [] }),
  parseMountTable: parseBsdMountOutput,
};

/**
 * FreeBSD 4: `vnconfig -c vn0 IMG` and `vnconfig -u vn0`. (The OSDev article writes
 * `vnconfig -c /dev/vn0` to shut the device down; the 4.x manual page says -c *configures* and
 * -u unconfigures, so -u it is.) FreeBSD 4 named the FAT filesystem "msdos" (mount_msdos);
 * "msdosfs" arrived with 5.0.
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
  parseMountTable: parseBsdMountOutput,
};
