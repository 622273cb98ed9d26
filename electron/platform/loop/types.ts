/**
 * One interface over the host's loop devices: Linux `losetup`, FreeBSD 5+ `mdconfig`, OpenBSD
 * `vnconfig` (vnd) and FreeBSD 4 `vnconfig` (vn). A backend only *builds* commands (argument
 * arrays, never shell strings) and *parses* their output; running them — as root, after the
 * safety checks — is the privileged helper's job (electron/privileged/helper.ts).
 */
import type { FsType } from '../../../shared/fs/types';

export type LoopSystem = 'linux' | 'freebsd' | 'openbsd' | 'freebsd4';

/** A program and its arguments, exactly as spawned (the program is looked up in system folders). */
export interface HostCommand {
  program: string;
  args: string[];
}

/** Which bytes of the image the device shows: a partition's offset and size, or all of it. */
export interface AttachSpec {
  /** Absolute path of the image file. */
  image: string;
  offsetBytes?: number;
  sizeBytes?: number;
  /** Let the kernel find the image's partitions (Linux `--partscan`: /dev/loop0p1 …). */
  partscan?: boolean;
  readOnly?: boolean;
}

/** One configured (or free) loop-type device, as the system lists it. */
export interface LoopDeviceEntry {
  /** /dev/loop0, /dev/md0, /dev/vnd0, /dev/vn0. */
  device: string;
  /** Whether the unit is configured (OpenBSD also lists the free ones: "vnd1: not in use"). */
  inUse: boolean;
  /** The backing file as the system reports it; null when free or not file-backed (md malloc/swap). */
  backingFile: string | null;
  /** Where the device starts in the file (Linux `-o`); 0 on the BSDs, which have no offset. */
  offsetBytes: number;
  /** Linux `--sizelimit` (0: to the end of the file); null where the system does not say. */
  sizeLimitBytes: number | null;
  /** The backing file's inode number where the system reports it (Linux, OpenBSD). */
  inode: number | null;
  /**
   * Why the listing cannot say which file this device covers (a tab or newline in a name made its
   * line ambiguous, or the release's tool does not print it). Such a device is never taken for one
   * of ours: its backingFile is null, and the helper refuses it with this reason.
   */
  unreadable?: string;
}

/** How a filesystem gets mounted: its family, and who should own the files. */
export type MountFamily = 'ext2' | 'fat';

export interface MountSpec {
  device: string;
  dir: string;
  family: MountFamily;
  /** The user the files should belong to (FAT has no owners: the driver pretends). */
  uid: number;
  gid: number;
  readOnly?: boolean;
}

export interface MkfsSpec {
  device: string;
  fs: FsType;
  label?: string;
  /** 1 KiB blocks to use (the article's `mke2fs -b1024 DEV #blocks`); the whole device if absent. */
  blocks1KiB?: number;
  /** ext2: the block size (`mke2fs -b`); default 1024, the article's. */
  blockBytes?: 1024 | 2048 | 4096;
  /** FAT: bytes per cluster (`mkfs.fat -s`, `newfs_msdos -c`, as 512-byte sectors); default: the tool's choice. */
  clusterBytes?: number;
  /** FAT: the partition's start sector, recorded in the boot sector (BPB_HiddSec). */
  hiddenSectors?: number;
  /** FAT: the disk geometry recorded in the boot sector. */
  heads?: number;
  sectorsPerTrack?: number;
  /**
   * FAT on a whole floppy image: one of newfs_msdos' standard floppy formats in KiB (360, 720,
   * 1200, 1440, 2880 — `newfs_msdos -f 1440`), which sets the floppy's geometry, root directory
   * size and media byte. The BSD backends only; mkfs.fat reads the geometry from the size.
   */
  floppyKiB?: number;
}

/** A line of the host's mount table: what is mounted where, with which type. */
export interface MountEntry {
  source: string;
  mountPoint: string;
  type: string;
  options: string[];
}

export interface LoopBackend {
  readonly system: LoopSystem;
  /** Human name of the tool set, for messages ("losetup", "mdconfig", "vnconfig"). */
  readonly tool: string;
  /**
   * Whether one partition can be attached on its own (Linux: `losetup -o OFFSET --sizelimit`).
   * Elsewhere the whole image is attached and the partition is a device node of it.
   */
  readonly attachesByOffset: boolean;
  /** Whether attach must name a free unit (found with `list`) instead of the system choosing. */
  readonly attachNeedsUnit: boolean;
  /** The command that attaches; `unit` is the free unit when attachNeedsUnit. */
  attach(spec: AttachSpec, unit?: number): HostCommand;
  /** The device the attach command made, from its output (or from the unit it was given). */
  parseAttach(stdout: string, unit?: number): string;
  detach(device: string): HostCommand;
  /** The command that lists devices and their backing files; null where the system has none (FreeBSD 4). */
  list(): HostCommand | null;
  parseList(stdout: string): LoopDeviceEntry[];
  /** Whether `path` names a device of this kind (whole device or one of its partitions). */
  isDeviceName(path: string): boolean;
  /** The whole device a partition node belongs to (/dev/loop0p1 → /dev/loop0); itself otherwise. */
  wholeDevice(path: string): string;
  /** The partition a device node stands for (/dev/loop0p1, /dev/md0s1, /dev/vnd0i → 1); null for a whole device. */
  partitionIndexOf(path: string): number | null;
  /** The device node of MBR partition `index` of an attached whole image. */
  partitionDevice(device: string, index: number): string;
  /** The node mkfs writes through (OpenBSD formats the raw /dev/rvnd0c; others the block node). */
  rawDevice(device: string): string;
  mount(spec: MountSpec): HostCommand;
  unmount(dir: string): HostCommand;
  mkfs(spec: MkfsSpec): HostCommand;
  /** The command that prints the mount table, when it is not a file (/proc/self/mounts on Linux). */
  mountTable(): HostCommand | null;
  parseMountTable(text: string): MountEntry[];
}
