/**
 * The helper's safety checks (docs/SECURITY.md, rule 3), run as root right before each step:
 *
 * - the target is a loop device by its *name* (/dev/loopN, /dev/loopNpM), is not a symbolic
 *   link, is a device node, and by its *number* really is that loop device (the kernel's
 *   /sys/dev/block/MAJ:MIN must lead to /sys/devices/virtual/block/loopN) — so /dev/vda, /dev/sda,
 *   /dev/nvme0n1, /dev/mmcblk0 and a node or link dressed up as a loop device are refused;
 * - its backing file (the kernel's /sys/block/loopN/loop/backing_file) is the requested image:
 *   the same device and inode, after resolving links — so a loop device that covers another
 *   file is refused, even when that file has the same name;
 * - it shows the expected byte range of the image (offset, size), so "partition 1" is never
 *   mistaken for the whole disk;
 * - for mkfs: nothing on it, and nothing of the same image, is mounted.
 *
 * The BSDs get the same checks through mdconfig/vnconfig's listing instead of sysfs.
 */
import { promises as fs, type BigIntStats } from 'node:fs';
import { dirname } from 'node:path';
import { LoopbackError } from '../../shared/errors';
import { parseProcMounts } from '../platform/loop/linux';
import type { LoopBackend, MountEntry } from '../platform/loop/types';

export interface DeviceIdentity {
  /** The device path as checked. */
  device: string;
  /** The whole device (/dev/loop0 for /dev/loop0p1). */
  whole: string;
  /** The partition number for a partition node (/dev/loop0p1 → 1), else null. */
  partition: number | null;
  /** The backing file as the kernel reports it. */
  backingFile: string;
  /** Where the device's first byte is in the image. */
  offsetBytes: number;
  /** The device's size in bytes; null where the system does not tell (BSD partition nodes). */
  sizeBytes: number | null;
  /** The backing file's inode as the system lists it (OpenBSD's vnconfig -l); null when not listed. */
  inode: number | null;
}

export interface ExpectedRange {
  offsetBytes: number;
  sizeBytes: number | null;
}

/** What the helper needs to know about devices and mounts, per system. */
export interface TargetInspector {
  /** Who the device is and what it covers; refuses anything that is not one of ours to check. */
  identify(device: string): Promise<DeviceIdentity>;
  mounts(): Promise<MountEntry[]>;
  /** The identity of a mount's source, when it is a loop-type device (null for /dev/vda1, tmpfs …). */
  identifyMountSource(source: string): Promise<DeviceIdentity | null>;
}

const forbid = (message: string, details: Record<string, unknown> = {}): LoopbackError => new LoopbackError('FORBIDDEN', message, details);

/** The image, resolved: a regular file (after links), never a device, a folder or a pipe. */
export async function resolveImage(image: string): Promise<{ path: string; stats: BigIntStats }> {
  let path: string;
  try {
    path = await fs.realpath(image);
  } catch {
    throw new LoopbackError('NOT_FOUND', `${image}: no such image file`, { image });
  }
  const stats = await fs.stat(path, { bigint: true });
  if (!stats.isFile()) throw forbid(`${image} is not a regular file: only image files are attached`, { image });
  return { path, stats };
}

/** Which permission bits of a mode apply to a user: the owner's, the group's, or everyone's. */
function permissionBits(
  stats: { uid: number | bigint; gid: number | bigint; mode: number | bigint },
  uid: number,
  groups: readonly number[],
): number {
  const mode = Number(stats.mode);
  if (Number(stats.uid) === uid) return (mode >> 6) & 7;
  if (groups.includes(Number(stats.gid))) return (mode >> 3) & 7;
  return mode & 7;
}

/**
 * The user who asked (pkexec's or sudo's uid) must be allowed to do this to the image themselves:
 * root could attach any file read-write, and one password prompt must not turn a file the user
 * may only read into one they can write (docs/SECURITY.md, rule 3). Checked by the mode bits of
 * the image and the search bit of every folder above it, as the kernel would check that user.
 */
export async function requireUserAccess(
  path: string,
  user: { uid: number; groups: readonly number[] },
  want: 'read' | 'write',
): Promise<void> {
  if (user.uid === 0) return;
  const folders: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    folders.unshift(dir);
    if (dir === dirname(dir)) break;
  }
  for (const folder of folders) {
    if (!(permissionBits(await fs.stat(folder), user.uid, user.groups) & 1)) {
      throw forbid(`uid ${user.uid} cannot reach ${path}: the folder ${folder} is not searchable for them`, { image: path });
    }
  }
  const bits = permissionBits(await fs.stat(path), user.uid, user.groups);
  if (want === 'write' && !(bits & 2)) {
    throw forbid(
      `uid ${user.uid} may not write ${path}, so it is not attached read-write for them: attach it read-only (--read-only), or make it writable (chmod u+w / chown)`,
      { image: path },
    );
  }
  if (!(bits & 4)) throw forbid(`uid ${user.uid} may not read ${path}`, { image: path });
}

/** Same file: same device and inode (names can lie, links can move; the inode cannot). */
export async function sameFile(path: string, image: BigIntStats): Promise<boolean> {
  try {
    const stats = await fs.stat(path, { bigint: true });
    return stats.isFile() && stats.dev === image.dev && stats.ino === image.ino;
  } catch {
    return false;
  }
}

/** A device node that is neither a link nor a regular file: what every check starts from. */
async function deviceNode(device: string, allowCharacter: boolean): Promise<BigIntStats> {
  let stats: BigIntStats;
  try {
    stats = await fs.lstat(device, { bigint: true });
  } catch {
    throw new LoopbackError('NOT_FOUND', `${device} does not exist`, { device });
  }
  if (stats.isSymbolicLink()) throw forbid(`${device} is a symbolic link: the helper only works on device nodes themselves`, { device });
  if (!stats.isBlockDevice() && !(allowCharacter && stats.isCharacterDevice())) throw forbid(`${device} is not a device node`, { device });
  return stats;
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
export function majorMinor(rdev: bigint): [number, number] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [Number(major), Number(minor)];
}

async function readSys(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch {
    return null;
  }
}

const LINUX_LOOP = /^\/dev\/loop(\d+)(?:p(\d+))?$/;

export class LinuxInspector implements TargetInspector {
  constructor(private readonly sys = '/sys') {}

  async identify(device: string): Promise<DeviceIdentity> {
    const name = LINUX_LOOP.exec(device);
    if (!name) throw forbid(`${device} is not a loop device: the helper writes only to loop devices backed by your image`, { device });
    const stats = await deviceNode(device, false);
    const [major, minor] = majorMinor(stats.rdev);
    const loop = `loop${name[1]}`;
    const node = name[2] ? `${loop}p${name[2]}` : loop;
    // The kernel's own answer to "which device is MAJ:MIN": a loop device lives in virtual/block.
    const sysPath = await fs.realpath(`${this.sys}/dev/block/${major}:${minor}`).catch(() => null);
    const expected = name[2] ? `${this.sys}/devices/virtual/block/${loop}/${node}` : `${this.sys}/devices/virtual/block/${loop}`;
    if (sysPath !== expected) {
      throw forbid(
        `${device} (device ${major}:${minor}) is not ${node} but ${sysPath ? sysPath.split('/').pop() : 'an unknown device'}: refused`,
        { device, major, minor },
      );
    }
    const backing = await readSys(`${this.sys}/block/${loop}/loop/backing_file`);
    if (backing === null) throw forbid(`${device} is not attached to any file`, { device });
    const loopOffset = Number((await readSys(`${this.sys}/block/${loop}/loop/offset`)) ?? 'NaN');
    const sizeSectors = Number((await readSys(`${this.sys}/block/${loop}/${name[2] ? `${node}/` : ''}size`)) ?? 'NaN');
    const startSectors = name[2] ? Number((await readSys(`${this.sys}/block/${loop}/${node}/start`)) ?? 'NaN') : 0;
    if (![loopOffset, sizeSectors, startSectors].every(Number.isSafeInteger))
      throw new LoopbackError('IO', `cannot read ${loop}'s offset and size from sysfs`);
    return {
      device,
      whole: `/dev/${loop}`,
      partition: name[2] ? Number(name[2]) : null,
      // sysfs ends the name with one newline (a newline inside the name stays).
      backingFile: backing.endsWith('\n') ? backing.slice(0, -1) : backing,
      // sysfs sizes and starts are in 512-byte units whatever the logical block size.
      offsetBytes: loopOffset + startSectors * 512,
      sizeBytes: sizeSectors * 512,
      inode: null,
    };
  }

  async mounts(): Promise<MountEntry[]> {
    return parseProcMounts(await fs.readFile('/proc/self/mounts', 'utf8'));
  }

  async identifyMountSource(source: string): Promise<DeviceIdentity | null> {
    if (!LINUX_LOOP.test(source)) return null;
    return this.identify(source).catch(() => null);
  }
}

export class BsdInspector implements TargetInspector {
  constructor(
    private readonly backend: LoopBackend,
    private readonly runText: (command: { program: string; args: string[] }) => Promise<string>,
  ) {}

  async identify(device: string): Promise<DeviceIdentity> {
    if (!this.backend.isDeviceName(device)) throw forbid(`${device} is not a ${this.backend.tool} device: refused`, { device });
    await deviceNode(device, true);
    const list = this.backend.list();
    if (!list) {
      throw forbid(`${this.backend.tool} on this system cannot list what a device covers, so the helper cannot check ${device}: refused`, {
        device,
      });
    }
    const whole = this.backend.wholeDevice(device);
    const entry = this.backend.parseList(await this.runText(list)).find((e) => e.device === whole);
    if (entry?.unreadable) throw forbid(`${device}: ${entry.unreadable}: refused`, { device });
    if (!entry?.inUse || !entry.backingFile) throw forbid(`${device} is not attached to any file`, { device });
    const partition = this.backend.partitionIndexOf(device);
    // A partition node's place in the image is the kernel's reading of the table: not listed here.
    return { device, whole, partition, backingFile: entry.backingFile, offsetBytes: 0, sizeBytes: null, inode: entry.inode };
  }

  async mounts(): Promise<MountEntry[]> {
    const command = this.backend.mountTable();
    return command ? this.backend.parseMountTable(await this.runText(command)) : [];
  }

  async identifyMountSource(source: string): Promise<DeviceIdentity | null> {
    if (!this.backend.isDeviceName(source)) return null;
    return this.identify(source).catch(() => null);
  }
}

/**
 * The device must cover `image` (same file) and, when given, exactly the expected byte range.
 * Returns the identity on success; throws FORBIDDEN naming what it covers instead.
 */
export async function requireBackedBy(
  inspector: TargetInspector,
  device: string,
  image: string,
  expect?: ExpectedRange,
): Promise<DeviceIdentity> {
  const { stats } = await resolveImage(image);
  const identity = await inspector.identify(device);
  const { inode, backingFile: backing } = identity;
  const matches = backing.startsWith('/')
    ? (await sameFile(backing, stats)) && (inode === null || BigInt(inode) === stats.ino)
    : // OpenBSD lists the name as it was given (maybe relative): then the inode has to decide.
      inode !== null && BigInt(inode) === stats.ino;
  if (!matches) {
    throw forbid(`${device} is attached to ${JSON.stringify(backing)}, not to ${JSON.stringify(image)}: refused`, {
      device,
      backingFile: backing,
      image,
    });
  }
  if (expect) {
    // BSD partition nodes: the kernel read the table, the listing does not say where they are.
    const rangeKnown = identity.partition === null || identity.sizeBytes !== null;
    if (
      rangeKnown &&
      (identity.offsetBytes !== expect.offsetBytes || (expect.sizeBytes !== null && identity.sizeBytes !== expect.sizeBytes))
    ) {
      throw forbid(
        `${device} shows bytes ${identity.offsetBytes}…+${identity.sizeBytes ?? '?'} of the image, not ${expect.offsetBytes}…+${expect.sizeBytes ?? 'end'}: refused`,
        { device, offsetBytes: identity.offsetBytes, sizeBytes: identity.sizeBytes, expect },
      );
    }
  }
  return identity;
}

/**
 * Why the device must not be formatted now, or null: it (or a partition of it) is mounted, or the
 * same image is mounted through any other loop device.
 */
export async function mountedReason(inspector: TargetInspector, identity: DeviceIdentity, image: string): Promise<string | null> {
  const { stats } = await resolveImage(image);
  for (const mount of await inspector.mounts()) {
    if (!mount.source.startsWith('/dev/')) continue;
    const source = await inspector.identifyMountSource(mount.source);
    if (!source) continue;
    if (source.whole === identity.whole) return `${mount.source} is mounted at ${mount.mountPoint}`;
    if (source.backingFile.startsWith('/') && (await sameFile(source.backingFile, stats))) {
      return `the same image is mounted at ${mount.mountPoint} (through ${mount.source})`;
    }
  }
  return null;
}

/**
 * A mount point the helper may mount on: an existing, empty folder, reached without links, not a
 * mount point already, and owned by the user the files are for (unless that user is root) — so a
 * request can never mount over /etc or someone else's folder.
 */
export async function requireMountDir(inspector: TargetInspector, dir: string, ownerUid: number): Promise<void> {
  const real = await fs.realpath(dir).catch(() => null);
  if (real === null) throw new LoopbackError('NOT_FOUND', `mount point ${dir} does not exist`, { dir });
  if (real !== dir) throw forbid(`mount point ${dir} goes through a symbolic link (it is really ${real}): refused`, { dir });
  const stats = await fs.lstat(dir);
  if (!stats.isDirectory()) throw forbid(`mount point ${dir} is not a folder`, { dir });
  if ((await fs.readdir(dir)).length > 0) throw forbid(`mount point ${dir} is not empty: refused (mounting would hide its files)`, { dir });
  if (ownerUid !== 0 && stats.uid !== ownerUid)
    throw forbid(`mount point ${dir} belongs to uid ${stats.uid}, not to you (uid ${ownerUid}): refused`, { dir });
  if ((await inspector.mounts()).some((m) => m.mountPoint === dir)) throw forbid(`${dir} is a mount point already`, { dir });
  if (dir === '/' || dirname(dir) === dir) throw forbid('refusing to mount over /');
}
