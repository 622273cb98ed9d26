/**
 * File operations inside an ext2 (list, stat, read, write, mkdir, remove, rename, symlink, chmod,
 * extents) in pure TypeScript over a BlockDevice, behind the PosixFileSystem interface of
 * shared/fs/types.ts. Works on ext2 revisions 0 and 1 as our formatter and `mke2fs -t ext2` make
 * them (sparse_super, large_file, filetype; dir_index, ext_attr, resize_inode are compatible
 * features and are kept), and on ext3 whose journal is clean (written without journalling).
 * Anything else is refused at open with the feature named: incompatible features (extent,
 * 64bit, flex_bg, meta_bg, inline_data …, or a journal that needs recovery); read-only
 * compatible features we do not maintain (metadata_csum, uninit_bg, huge_file …) open the volume
 * read-only.
 *
 * How it stays fast (a tree of 2000 files goes in about as fast as `mke2fs -d` puts it there):
 * - A file's data and its indirect blocks are allocated as one run where there is one (first-fit
 *   from the last block allocated in the inode's group, whole runs preferred), data first and
 *   the indirect blocks right after it — so the data is one extent — and go straight to the
 *   device: the whole blocks in one write from the caller's buffer, the partial last block with
 *   the indirect blocks in a second one.
 * - Other metadata — superblock, group descriptors, bitmaps, inode-table blocks, directory
 *   blocks (and their indirect blocks), slow-symlink blocks — is read once into memory
 *   (MetaCache), changed there, and written out by flush() in sorted runs of adjacent blocks.
 *   Directories are indexed by name in memory (DirIndex), so lookups do not rescan their blocks.
 *   The cache is bounded between operations (Ext2OpenOptions.cacheLimitBytes).
 *
 * How it stays consistent:
 * - Operations run one at a time. Each checks everything it can refuse (paths, names, existing
 *   entries, free blocks and inodes) before changing anything, so a refusal changes nothing.
 * - Until flush() the disk keeps the volume as it was at the last flush: metadata is only in
 *   memory, and new data is written only into blocks that are free on disk too — blocks freed
 *   since the last write-out are not reused until the metadata that frees them is written (if
 *   an operation needs them, the metadata is written out first, at a consistent point).
 * - An I/O error in the middle of a change closes the volume (its memory may be half-changed;
 *   the disk still holds the last flushed state plus data in free blocks, which e2fsck accepts).
 * - flush() writes the metadata blocks, then the group descriptor table and superblock backups,
 *   then the primary descriptor table and superblock, then flushes the device.
 *
 * What ext2 asks of a writer and this does: dir entries with file_type when the filetype
 * feature is on, rec_len rules (dir-index.ts), htree directories read as linear ones and their
 * EXT2_INDEX_FL cleared when edited, link counts of folders (2 + subfolders), bg_used_dirs_count,
 * free counts in the descriptors and the superblock, i_blocks in 512-byte units including
 * indirect blocks, i_size_high (and the large_file feature) from 2 GiB, times with nanoseconds
 * and the y2038 epoch bits in 256-byte inodes, fast symlinks (< 60 bytes) in the inode.
 * Extended-attribute blocks are kept, and released (by reference count) with their inode.
 * Symlinks in paths are followed (relative to their folder, or from the root; 40 at most); the
 * last component is followed by readFile, list and chmod, not by stat, remove, rename, extents.
 * Names that are not valid UTF-8 are listed with U+FFFD (and cannot be addressed by path).
 * Not done: ACLs and xattrs beyond keeping them, owners (new inodes belong to root), device
 * nodes, FIFOs and sockets (listed as "other"; removable), hard links (read and removed only).
 */
import type { BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import type { DirEntry, EntryType, FileExtent, FsUsage, PosixFileSystem, WriteOptions } from '../types';
import { appendBlockExtent } from './block-map';
import { DirIndex, nameKey } from './dir-index';
import {
  encodeDirectoryBlock,
  EXT2_FT_BLKDEV,
  EXT2_FT_CHRDEV,
  EXT2_FT_DIR,
  EXT2_FT_FIFO,
  EXT2_FT_REG_FILE,
  EXT2_FT_SOCK,
  EXT2_FT_SYMLINK,
  EXT2_FT_UNKNOWN,
  EXT2_NAME_LEN,
} from './directory';
import { EXT2_GROUP_DESC, EXT2_GROUP_DESC_SIZE_BYTES } from './group-descriptor';
import {
  blocksWithIndirect,
  EXT2_INDEX_FL,
  EXT2_INODE,
  EXT2_N_BLOCKS,
  EXT2_NDIR_BLOCKS,
  EXT2_ROOT_INO,
  EXT4_EXTENTS_FL,
  EXT4_INLINE_DATA_FL,
  LINUX_S_IFBLK,
  LINUX_S_IFCHR,
  LINUX_S_IFDIR,
  LINUX_S_IFIFO,
  LINUX_S_IFLNK,
  LINUX_S_IFMT,
  LINUX_S_IFREG,
  LINUX_S_IFSOCK,
} from './inode';
import { groupHasSuperblock } from './layout';
import { MetaCache, type CacheEntry } from './meta-cache';
import {
  blockSizeOf,
  blocksCountOf,
  EXT2_FEATURE_INCOMPAT_FILETYPE,
  EXT2_FEATURE_RO_COMPAT_LARGE_FILE,
  EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER,
  EXT2_SUPERBLOCK,
  EXT3_FEATURE_INCOMPAT_RECOVER,
  EXT4_FEATURE_COMPAT_SPARSE_SUPER2,
  featureNames,
  formatUuid,
  INCOMPAT_FEATURE_NAMES,
  labelOf,
  parseSuperblock,
  readSuperblock,
  RO_COMPAT_FEATURE_NAMES,
  SUPERBLOCK_OFFSET_BYTES,
  SUPERBLOCK_SIZE_BYTES,
} from './superblock';

export interface Ext2FileSystem extends PosixFileSystem {
  /** mkdir also takes the new folders' mode (default 0755). */
  mkdir(path: string, options?: { parents?: boolean; mode?: number }): Promise<void>;
  /** Writes everything out (as flush) and closes: later calls are refused. */
  close(): Promise<void>;
}

export interface Ext2OpenOptions {
  /** The clock for the times written (ms since the epoch); Date.now by default. */
  now?: () => number;
  /**
   * Metadata kept in memory between operations (default 64 MiB): past it, clean blocks are
   * dropped, and when more than half is changed metadata it is written out first.
   */
  cacheLimitBytes?: number;
}

/** Incompatible features we read and write: only filetype. */
const SUPPORTED_INCOMPAT = EXT2_FEATURE_INCOMPAT_FILETYPE;
/** Read-only compatible features we keep right: sparse_super, large_file, btree_dir (never used), extra_isize. */
const SUPPORTED_RO_COMPAT = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE | 0x0004 | 0x0040;
/** Revision 0 has no s_inode_size / s_first_ino. */
const EXT2_GOOD_OLD_INODE_SIZE = 128;
const EXT2_GOOD_OLD_FIRST_INO = 11;
/** Symlink targets shorter than this live in i_block (a "fast" symlink) and use no block. */
const FAST_SYMLINK_MAX_BYTES = EXT2_N_BLOCKS * 4;
/** ext2's EXT2_LINK_MAX: a folder holds at most 31998 subfolders. */
const EXT2_LINK_MAX = 32000;
/** h_magic of an extended-attribute block; h_refcount follows it. */
const EXT2_EXT_ATTR_MAGIC = 0xea020000;
const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIR_MODE = 0o755;
const SYMLINK_MODE = 0o777;
/** Symlinks followed in one path lookup before giving up (Linux's limit). */
const MAX_SYMLINK_HOPS = 40;
/** Metadata kept in memory between operations before clean blocks are dropped (Ext2OpenOptions). */
const DEFAULT_CACHE_LIMIT_BYTES = 64 * 1024 * 1024;
/** A last run (with its partial block and indirect blocks) up to this size goes out as one padded write. */
const PAD_COPY_MAX_BYTES = 16 * 1024;
const TWO_32 = 2 ** 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

// --- paths ---

/** An absolute path checked and split: no ".", "..", empty or over-long components. */
interface FsPath {
  path: string;
  parts: string[];
}

function parsePath(path: string): FsPath {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new LoopbackError('INVALID_INPUT', `${JSON.stringify(path)} is not an absolute path inside the filesystem (it must start with "/")`, { path });
  }
  if (path.includes('\0')) throw new LoopbackError('INVALID_INPUT', `${JSON.stringify(path)} contains a NUL character`, { path });
  const parts = path.split('/').filter((part) => part !== '');
  for (const part of parts) {
    if (part === '.' || part === '..') {
      throw new LoopbackError('INVALID_INPUT', `${path}: "." and ".." are not allowed in paths here; give the full path`, { path });
    }
    // eslint-disable-next-line no-control-regex
    const bytes = /^[\u0000-\u007f]*$/.test(part) ? part.length : encoder.encode(part).length;
    if (bytes > EXT2_NAME_LEN) {
      throw new LoopbackError('INVALID_INPUT', `${path}: the name "${part.slice(0, 40)}…" is ${bytes} bytes; ext2 names are at most ${EXT2_NAME_LEN} bytes`, { path });
    }
  }
  return { path: `/${parts.join('/')}`, parts };
}

function parentOf(p: FsPath): FsPath {
  const parts = p.parts.slice(0, -1);
  return { path: `/${parts.join('/')}`, parts };
}

/** The DirIndex key of a name (its UTF-8 bytes, one char each; ASCII names are their own key). */
function keyOf(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u007f]*$/.test(name) ? name : nameKey(encoder.encode(name));
}

function checkMode(mode: number, path: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new LoopbackError('INVALID_INPUT', `${path}: mode ${String(mode)} is not a permission value (0 to 0o7777)`, { path, mode });
  }
  return mode;
}

function typeOf(mode: number): EntryType {
  switch (mode & LINUX_S_IFMT) {
    case LINUX_S_IFREG:
      return 'file';
    case LINUX_S_IFDIR:
      return 'directory';
    case LINUX_S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

/** The dir entry file_type (EXT2_FT_*) of an inode mode. */
function fileTypeOf(mode: number): number {
  switch (mode & LINUX_S_IFMT) {
    case LINUX_S_IFREG:
      return EXT2_FT_REG_FILE;
    case LINUX_S_IFDIR:
      return EXT2_FT_DIR;
    case LINUX_S_IFLNK:
      return EXT2_FT_SYMLINK;
    case LINUX_S_IFCHR:
      return EXT2_FT_CHRDEV;
    case LINUX_S_IFBLK:
      return EXT2_FT_BLKDEV;
    case LINUX_S_IFIFO:
      return EXT2_FT_FIFO;
    case LINUX_S_IFSOCK:
      return EXT2_FT_SOCK;
    default:
      return EXT2_FT_UNKNOWN;
  }
}

// --- bitmaps ---

function testBit(bitmap: Uint8Array, bit: number): boolean {
  return (bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0;
}

function setBitRange(bitmap: Uint8Array, start: number, count: number): void {
  let bit = start;
  const end = start + count;
  while (bit < end && bit & 7) bitmap[bit >> 3]! |= 1 << (bit++ & 7);
  if (end - bit >= 8) {
    bitmap.fill(0xff, bit >> 3, end >> 3);
    bit = end & ~7;
  }
  while (bit < end) bitmap[bit >> 3]! |= 1 << (bit++ & 7);
}

/** A run of blocks: [start, start + length). */
interface Run {
  start: number;
  length: number;
}

// --- times ---

type TimeField = 'atime' | 'ctime' | 'mtime' | 'crtime';
const TIME_FIELDS: Record<TimeField, { seconds: number; extra: number }> = {
  atime: { seconds: EXT2_INODE.i_atime, extra: EXT2_INODE.i_atime_extra },
  ctime: { seconds: EXT2_INODE.i_ctime, extra: EXT2_INODE.i_ctime_extra },
  mtime: { seconds: EXT2_INODE.i_mtime, extra: EXT2_INODE.i_mtime_extra },
  crtime: { seconds: EXT2_INODE.i_crtime, extra: EXT2_INODE.i_crtime_extra },
};

/**
 * One inode, edited in place in its (cached) inode-table block: every change marks the block
 * dirty. Only valid during the operation that fetched it (the cache may drop clean blocks
 * between operations).
 */
class InodeRef {
  private readonly view: DataView;

  constructor(
    readonly ino: number,
    private readonly entry: CacheEntry,
    private readonly base: number,
    private readonly inodeBytes: number,
  ) {
    this.view = new DataView(entry.data.buffer, entry.data.byteOffset + base, inodeBytes);
  }

  private u16(offset: number): number {
    return this.view.getUint16(offset, true);
  }
  private u32(offset: number): number {
    return this.view.getUint32(offset, true);
  }
  private set16(offset: number, value: number): void {
    this.view.setUint16(offset, value, true);
    this.entry.dirty = true;
  }
  private set32(offset: number, value: number): void {
    this.view.setUint32(offset, value, true);
    this.entry.dirty = true;
  }

  get mode(): number {
    return this.u16(EXT2_INODE.i_mode);
  }
  set mode(value: number) {
    this.set16(EXT2_INODE.i_mode, value);
  }
  get type(): number {
    return this.mode & LINUX_S_IFMT;
  }
  get isDir(): boolean {
    return this.type === LINUX_S_IFDIR;
  }
  get links(): number {
    return this.u16(EXT2_INODE.i_links_count);
  }
  set links(value: number) {
    this.set16(EXT2_INODE.i_links_count, value);
  }
  get flags(): number {
    return this.u32(EXT2_INODE.i_flags);
  }
  set flags(value: number) {
    this.set32(EXT2_INODE.i_flags, value);
  }
  /** i_blocks: 512-byte units, data plus indirect plus extended-attribute blocks. */
  get blocks512(): number {
    return this.u32(EXT2_INODE.i_blocks);
  }
  set blocks512(value: number) {
    this.set32(EXT2_INODE.i_blocks, value);
  }
  get fileAcl(): number {
    return this.u32(EXT2_INODE.i_file_acl);
  }
  set fileAcl(value: number) {
    this.set32(EXT2_INODE.i_file_acl, value);
  }
  set dtime(seconds: number) {
    this.set32(EXT2_INODE.i_dtime, seconds);
  }
  block(index: number): number {
    return this.u32(EXT2_INODE.i_block + 4 * index);
  }
  setBlock(index: number, block: number): void {
    this.set32(EXT2_INODE.i_block + 4 * index, block);
  }
  /** i_size, with i_size_high for a regular file. */
  get size(): number {
    const low = this.u32(EXT2_INODE.i_size);
    return this.type === LINUX_S_IFREG ? low + this.u32(EXT2_INODE.i_size_high) * TWO_32 : low;
  }
  set size(value: number) {
    this.set32(EXT2_INODE.i_size, value % TWO_32);
    if (this.type === LINUX_S_IFREG) this.set32(EXT2_INODE.i_size_high, Math.floor(value / TWO_32));
  }
  /** The i_block area's raw bytes (a fast symlink's target). */
  get blockArea(): Uint8Array {
    return new Uint8Array(this.view.buffer, this.view.byteOffset + EXT2_INODE.i_block, EXT2_N_BLOCKS * 4);
  }
  markDirty(): void {
    this.entry.dirty = true;
  }
  /** Zeroes the whole inode (a new one) and gives a large inode its i_extra_isize. */
  reset(extraIsize: number): void {
    new Uint8Array(this.view.buffer, this.view.byteOffset, this.inodeBytes).fill(0);
    if (this.inodeBytes > EXT2_GOOD_OLD_INODE_SIZE) this.set16(EXT2_INODE.i_extra_isize, extraIsize);
    this.entry.dirty = true;
  }
  private hasExtra(offset: number): boolean {
    return this.inodeBytes > EXT2_GOOD_OLD_INODE_SIZE && this.u16(EXT2_INODE.i_extra_isize) >= offset + 4 - EXT2_GOOD_OLD_INODE_SIZE;
  }
  /** A time in ms since the epoch (seconds are signed 32-bit, plus the epoch bits of a large inode). */
  time(field: TimeField): number {
    const { seconds: at, extra } = TIME_FIELDS[field];
    if (field === 'crtime' && !this.hasExtra(at)) return 0;
    const low = this.u32(at);
    let seconds = low >= 2 ** 31 ? low - TWO_32 : low;
    let nanoseconds = 0;
    if (this.hasExtra(extra)) {
      const bits = this.u32(extra);
      seconds += (bits & 3) * TWO_32;
      nanoseconds = Math.floor(bits / 4);
    }
    return seconds * 1000 + Math.floor(nanoseconds / 1e6);
  }
  /** Stores a time; clamped to what the inode can hold (1901–2038, or to 2446 with the epoch bits). */
  setTime(field: TimeField, ms: number): void {
    const { seconds: at, extra } = TIME_FIELDS[field];
    const withExtra = this.hasExtra(extra);
    if (field === 'crtime' && !this.hasExtra(at)) return;
    let seconds = Math.floor(ms / 1000);
    let nanoseconds = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
    const min = -(2 ** 31);
    const max = 2 ** 31 - 1 + (withExtra ? 3 * TWO_32 : 0);
    if (seconds < min || seconds > max) {
      seconds = Math.min(max, Math.max(min, seconds));
      nanoseconds = 0;
    }
    const low = ((seconds % TWO_32) + TWO_32) % TWO_32;
    const signed = low >= 2 ** 31 ? low - TWO_32 : low;
    this.set32(at, low);
    if (withExtra) this.set32(extra, nanoseconds * 4 + (seconds - signed) / TWO_32);
  }
}

interface GroupState {
  /** The block and inode bitmaps (pinned cache entries), loaded on first use. */
  blockBitmap: CacheEntry | null;
  inodeBitmap: CacheEntry | null;
  /**
   * The block bitmap as it is on disk, copied at the first free since the last write-out: a
   * block free in memory but used here is "pending" and not reused until the next write-out.
   */
  diskBlocks: Uint8Array | null;
  /** Where the next search for a free block / inode starts (bit in the group). */
  blockHint: number;
  inodeHint: number;
}

/** Facts from the superblock, fixed while the volume is open. */
interface Geometry {
  blockBytes: number;
  blocksCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  inodesCount: number;
  groupCount: number;
  inodeBytes: number;
  firstIno: number;
  descBlocks: number;
  /** Block numbers per indirect block. */
  perBlock: number;
  /** i_extra_isize for new large inodes. */
  extraIsize: number;
}

class Ext2Volume implements Ext2FileSystem {
  readonly type = 'ext2' as const;
  private readonly cache: MetaCache;
  private readonly sbView: DataView;
  private readonly gdtView: DataView;
  private readonly groups: GroupState[];
  private readonly dirs = new Map<number, DirIndex>();
  private readonly g: Geometry;
  private readonly filetype: boolean;
  private freeBlocks: number;
  private freeInodes: number;
  /** Blocks free in memory that are still used on disk (see GroupState.diskBlocks). */
  private pendingFree = 0;
  /** The descriptors (and so the superblock's counters) changed since the last write-out. */
  private gdtDirty = false;
  /** Something was written to the device since its last flush. */
  private unsynced = false;
  private closed: string | null = null;
  /** Set while an operation changes things: a failure then closes the volume. */
  private changing: { action: string; path: string } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly clock: () => number;
  private readonly cacheLimitBytes: number;

  constructor(
    private readonly device: BlockDevice,
    private readonly sbBytes: Uint8Array,
    private readonly gdt: Uint8Array,
    geometry: Geometry,
    /** Why the volume cannot be written, or null. */
    private readonly readOnly: string | null,
    options: Ext2OpenOptions,
  ) {
    this.g = geometry;
    this.cache = new MetaCache(device, geometry.blockBytes);
    this.sbView = new DataView(sbBytes.buffer, sbBytes.byteOffset, SUPERBLOCK_SIZE_BYTES);
    this.gdtView = new DataView(gdt.buffer, gdt.byteOffset, gdt.byteLength);
    this.groups = Array.from({ length: geometry.groupCount }, () => ({ blockBitmap: null, inodeBitmap: null, diskBlocks: null, blockHint: 0, inodeHint: 0 }));
    this.filetype = (this.sbView.getUint32(EXT2_SUPERBLOCK.s_feature_incompat, true) & EXT2_FEATURE_INCOMPAT_FILETYPE) !== 0;
    let freeBlocks = 0;
    let freeInodes = 0;
    for (let g = 0; g < geometry.groupCount; g++) {
      freeBlocks += this.gd16(g, EXT2_GROUP_DESC.bg_free_blocks_count);
      freeInodes += this.gd16(g, EXT2_GROUP_DESC.bg_free_inodes_count);
    }
    this.freeBlocks = freeBlocks;
    this.freeInodes = freeInodes;
    this.clock = options.now ?? Date.now;
    this.cacheLimitBytes = options.cacheLimitBytes ?? DEFAULT_CACHE_LIMIT_BYTES;
  }

  /** Reads and checks the superblock and descriptors; throws VALIDATION for what we cannot handle. */
  static async open(device: BlockDevice, options: Ext2OpenOptions = {}): Promise<Ext2Volume> {
    const sb = await readSuperblock(device);
    if (sb.s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER) {
      throw new LoopbackError('VALIDATION', 'this ext3/ext4 filesystem has a journal that needs recovery: run e2fsck on it first (writing now would lose data)', {});
    }
    const damaged = (what: string) => new LoopbackError('VALIDATION', `this ext2 filesystem looks damaged (${what}): run e2fsck on it`, {});
    const rev0 = sb.s_rev_level === 0;
    const incompat = rev0 ? 0 : sb.s_feature_incompat;
    const roCompat = rev0 ? 0 : sb.s_feature_ro_compat;
    const unsupported = featureNames(incompat, ~SUPPORTED_INCOMPAT >>> 0, INCOMPAT_FEATURE_NAMES);
    if (unsupported.length > 0) {
      throw new LoopbackError(
        'VALIDATION',
        `this filesystem uses ${unsupported.join(', ')} (ext4 features): Loopback Studio reads and writes ext2 (and ext3 with a clean journal) only; use the loop engine (mount) or the host's e2fsprogs for it`,
        { features: unsupported },
      );
    }
    const roUnknown = featureNames(roCompat, ~SUPPORTED_RO_COMPAT >>> 0, RO_COMPAT_FEATURE_NAMES);
    const readOnly = roUnknown.length > 0 ? `it uses ${roUnknown.join(', ')}, which Loopback Studio cannot keep up to date` : null;

    const blockBytes = blockSizeOf(sb);
    const blocksCount = blocksCountOf(sb);
    const firstDataBlock = sb.s_first_data_block;
    const blocksPerGroup = sb.s_blocks_per_group;
    const inodesPerGroup = sb.s_inodes_per_group;
    const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
    const inodeBytes = rev0 ? EXT2_GOOD_OLD_INODE_SIZE : sb.s_inode_size;
    if (blocksCount * blockBytes > device.sizeBytes) {
      throw new LoopbackError(
        'VALIDATION',
        `the ext2 filesystem says it is ${blocksCount * blockBytes} bytes (${blocksCount} blocks) but its volume has only ${device.sizeBytes} bytes: the image may be truncated`,
        { filesystemBytes: blocksCount * blockBytes, deviceBytes: device.sizeBytes },
      );
    }
    if (blocksPerGroup > 8 * blockBytes || inodesPerGroup > 8 * blockBytes) throw damaged('a group is larger than its bitmap');
    if (groupCount * inodesPerGroup !== sb.s_inodes_count) throw damaged('the inode count does not match the groups');
    if (inodeBytes < EXT2_GOOD_OLD_INODE_SIZE || inodeBytes > blockBytes || (inodeBytes & (inodeBytes - 1)) !== 0) throw damaged(`inode size ${inodeBytes}`);
    if (firstDataBlock >= blocksCount) throw damaged('the first data block is past the end');
    const descBlocks = Math.ceil((groupCount * EXT2_GROUP_DESC_SIZE_BYTES) / blockBytes);
    const gdt = await device.read((firstDataBlock + 1) * blockBytes, descBlocks * blockBytes);
    const gdtView = new DataView(gdt.buffer, gdt.byteOffset, gdt.byteLength);
    const tableBlocks = Math.ceil((inodesPerGroup * inodeBytes) / blockBytes);
    for (let g = 0; g < groupCount; g++) {
      const at = g * EXT2_GROUP_DESC_SIZE_BYTES;
      const blockBitmap = gdtView.getUint32(at + EXT2_GROUP_DESC.bg_block_bitmap, true);
      const inodeBitmap = gdtView.getUint32(at + EXT2_GROUP_DESC.bg_inode_bitmap, true);
      const inodeTable = gdtView.getUint32(at + EXT2_GROUP_DESC.bg_inode_table, true);
      if (blockBitmap >= blocksCount || inodeBitmap >= blocksCount || inodeTable + tableBlocks > blocksCount || blockBitmap === 0 || inodeTable === 0) {
        throw damaged(`group ${g}'s descriptor points outside the volume`);
      }
    }
    const sbBytes = await device.read(SUPERBLOCK_OFFSET_BYTES, SUPERBLOCK_SIZE_BYTES);
    const wantExtra = sb.s_want_extra_isize || 32;
    const geometry: Geometry = {
      blockBytes,
      blocksCount,
      firstDataBlock,
      blocksPerGroup,
      inodesPerGroup,
      inodesCount: sb.s_inodes_count,
      groupCount,
      inodeBytes,
      firstIno: rev0 ? EXT2_GOOD_OLD_FIRST_INO : sb.s_first_ino,
      descBlocks,
      perBlock: blockBytes / 4,
      extraIsize: inodeBytes > EXT2_GOOD_OLD_INODE_SIZE ? Math.min(inodeBytes - EXT2_GOOD_OLD_INODE_SIZE, Math.max(32, wantExtra)) & ~3 : 0,
    };
    return new Ext2Volume(device, sbBytes, gdt, geometry, readOnly, options);
  }

  // --- FileSystem ---

  async usage(): Promise<FsUsage> {
    return this.exclusive(async () => {
      const sb = parseSuperblock(this.sbBytes);
      const B = this.g.blockBytes;
      const sizeBytes = this.g.blocksCount * B;
      const freeBytes = this.freeBlocks * B;
      return { type: 'ext2', label: labelOf(sb), id: formatUuid(sb.s_uuid), sizeBytes, usedBytes: sizeBytes - freeBytes, freeBytes, blockBytes: B };
    });
  }

  async list(path: string): Promise<DirEntry[]> {
    const p = parsePath(path);
    return this.exclusive(async () => {
      const ino = await this.requireFolder(p, 'target');
      const dir = await this.dir(ino, p.path);
      const slots = dir.ordered().filter((slot) => !isDotOrDotDot(slot.nameBytes));
      await this.prefetchInodes(slots.map((slot) => slot.ino));
      const entries: DirEntry[] = [];
      for (const slot of slots) entries.push(await this.entryOf(decoder.decode(slot.nameBytes), await this.inode(slot.ino)));
      return entries;
    });
  }

  async stat(path: string): Promise<DirEntry> {
    const p = parsePath(path);
    return this.exclusive(async () => {
      const ino = await this.resolve(p.parts, false);
      if (ino === null) throw new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
      return this.entryOf(p.parts.at(-1) ?? '/', await this.inode(ino));
    });
  }

  /** Reads a file; like open(2), a symlink is followed to its target. */
  async readFile(path: string): Promise<Uint8Array> {
    const p = parsePath(path);
    return this.exclusive(async () => {
      const ino = await this.resolve(p.parts, true);
      if (ino === null) throw new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
      const inode = await this.inode(ino);
      if (inode.type !== LINUX_S_IFREG) throw new LoopbackError('INVALID_INPUT', `${p.path} is not a file`, { path: p.path });
      return this.readData(inode, p.path);
    });
  }

  async writeFile(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const p = parsePath(path);
    if (p.parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot write a file over the root folder', { path });
    const mode = options.mode === undefined ? undefined : checkMode(options.mode, p.path);
    if (options.modifiedMs !== undefined && !Number.isFinite(options.modifiedMs)) {
      throw new LoopbackError('INVALID_INPUT', `${p.path}: modification time ${String(options.modifiedMs)} is not a time`, { path: p.path });
    }
    return this.exclusive(async () => {
      this.requireWritable();
      const B = this.g.blockBytes;
      const parentPath = parentOf(p);
      const parentIno = await this.requireFolder(parentPath, 'parent');
      const parent = await this.dir(parentIno, parentPath.path);
      const name = p.parts.at(-1)!;
      const nameBytes = encoder.encode(name);
      const slot = parent.slots.get(keyOf(name));
      const existing = slot ? await this.inode(slot.ino) : null;
      if (existing && existing.type !== LINUX_S_IFREG) {
        const what = existing.isDir ? 'folder' : typeOf(existing.mode);
        throw new LoopbackError('ALREADY_EXISTS', `${p.path} exists and is a ${what}, not a file; remove it first`, { path: p.path });
      }
      const dataBlocks = Math.ceil(data.length / B);
      this.checkFileSize(p.path, data.length, dataBlocks);
      const needed = blocksWithIndirect(dataBlocks, B) + (existing ? 0 : this.growthBlocks(parent, nameBytes.length));
      // Replacing a file frees its blocks first.
      this.requireSpace(p.path, `a file of ${data.length} bytes`, needed, existing ? 0 : 1, existing ? this.ownBlocks(existing) : 0);

      this.begin('writing', p.path);
      const now = this.clock();
      // Write the metadata out first if blocks freed since the last write-out are needed: at a
      // consistent point (nothing changed yet, or the replaced file emptied).
      let inode: InodeRef;
      if (existing) {
        await this.freeData(existing);
        await this.ensureUsable(needed);
        inode = existing;
      } else {
        await this.ensureUsable(needed);
        inode = await this.newInode(await this.allocInode(false, parentIno), LINUX_S_IFREG | (mode ?? DEFAULT_FILE_MODE), now);
      }
      // Data and indirect blocks in one allocation: the indirect blocks right after the data,
      // so the data stays one extent.
      const metaCount = blocksWithIndirect(dataBlocks, B) - dataBlocks;
      const [dataRuns, metaRuns] = splitRuns(await this.allocBlocks(dataBlocks + metaCount, this.goalFor(inode.ino)), dataBlocks);
      await this.writeData(dataRuns, data, metaRuns, this.buildBlockMap(inode, dataRuns, metaRuns, dataBlocks));
      inode.size = data.length;
      inode.blocks512 = ((dataBlocks + metaCount) * B) / 512 + this.xattrBlocks512(inode);
      if (data.length >= 2 ** 31) this.setLargeFile();
      if (mode !== undefined) inode.mode = LINUX_S_IFREG | mode;
      inode.setTime('mtime', options.modifiedMs ?? now);
      inode.setTime('ctime', now);
      if (!existing) await this.addEntry(parent, nameBytes, inode.ino, EXT2_FT_REG_FILE, now);
    });
  }

  async mkdir(path: string, options: { parents?: boolean; mode?: number } = {}): Promise<void> {
    const p = parsePath(path);
    const mode = checkMode(options.mode ?? DEFAULT_DIR_MODE, p.path);
    return this.exclusive(async () => {
      this.requireWritable();
      let parentIno = EXT2_ROOT_INO;
      let first = 0;
      if (!options.parents) {
        if (p.parts.length === 0) throw new LoopbackError('ALREADY_EXISTS', '/ already exists', { path: '/' });
        const parentPath = parentOf(p);
        parentIno = await this.requireFolder(parentPath, 'parent');
        if ((await this.dir(parentIno, parentPath.path)).slots.has(keyOf(p.parts.at(-1)!))) {
          throw new LoopbackError('ALREADY_EXISTS', `${p.path} already exists`, { path: p.path });
        }
        first = p.parts.length - 1;
      } else {
        // Walk what exists; everything after the first missing step is created.
        for (; first < p.parts.length; first++) {
          const parent = await this.dir(parentIno, `/${p.parts.slice(0, first).join('/')}`);
          if (!parent.slots.has(keyOf(p.parts[first]!))) break;
          const stepPath = `/${p.parts.slice(0, first + 1).join('/')}`;
          const ino = await this.resolve(p.parts.slice(0, first + 1), true);
          if (ino === null || !(await this.inode(ino)).isDir) {
            throw new LoopbackError('ALREADY_EXISTS', `${stepPath} exists and is not a folder`, { path: stepPath });
          }
          parentIno = ino;
        }
        if (first === p.parts.length) return;
      }
      const count = p.parts.length - first;
      const firstParent = await this.dir(parentIno, `/${p.parts.slice(0, first).join('/')}`);
      await this.requireLinkRoom(parentIno, `/${p.parts.slice(0, first).join('/')}`);
      const needed = count + this.growthBlocks(firstParent, encoder.encode(p.parts[first]!).length);
      this.requireSpace(p.path, count > 1 ? `${count} new folders` : 'a new folder', needed, count);
      this.begin('creating folder', p.path);
      await this.ensureUsable(needed);
      const now = this.clock();
      for (let i = first; i < p.parts.length; i++) {
        parentIno = await this.createFolder(await this.dir(parentIno, ''), encoder.encode(p.parts[i]!), mode, now);
      }
    });
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const p = parsePath(path);
    if (p.parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot remove the root folder', { path });
    return this.exclusive(async () => {
      this.requireWritable();
      const { parent, key, ino } = await this.requireEntry(p);
      const inode = await this.inode(ino);
      if (inode.isDir && !options.recursive) {
        const children = this.childCount(await this.dir(ino, p.path));
        if (children > 0) {
          throw new LoopbackError('VALIDATION', `${p.path} is not empty (${children} entries): remove it recursively to delete everything in it`, { path: p.path, entries: children });
        }
      }
      this.begin('removing', p.path);
      const now = this.clock();
      const isDir = inode.isDir;
      await this.destroy(ino, p.path, now);
      await this.removeEntry(parent, key, now);
      if (isDir) (await this.inode(parent.ino)).links -= 1;
    });
  }

  async rename(from: string, to: string): Promise<void> {
    const source = parsePath(from);
    const target = parsePath(to);
    if (source.parts.length === 0 || target.parts.length === 0) {
      throw new LoopbackError('INVALID_INPUT', 'the root folder cannot be renamed, nor anything renamed to it', { from, to });
    }
    return this.exclusive(async () => {
      this.requireWritable();
      const { parent: sourceDir, key, ino } = await this.requireEntry(source);
      if (source.path === target.path) return;
      const inode = await this.inode(ino);
      const intoItself = new LoopbackError('INVALID_INPUT', `cannot move the folder ${source.path} into itself (${target.path})`, { from: source.path, to: target.path });
      if (inode.isDir && target.path.startsWith(`${source.path}/`)) throw intoItself;
      const targetParentPath = parentOf(target);
      const targetName = target.parts.at(-1)!;
      const maybeParent = await this.resolve(targetParentPath.parts, true);
      if (maybeParent !== null && (await this.inode(maybeParent)).isDir && (await this.dir(maybeParent, targetParentPath.path)).slots.has(keyOf(targetName))) {
        throw new LoopbackError('ALREADY_EXISTS', `${target.path} already exists: remove it first (rename does not overwrite)`, { path: target.path });
      }
      const targetParentIno = await this.requireFolder(targetParentPath, 'parent');
      const targetDir = await this.dir(targetParentIno, targetParentPath.path);
      const moving = inode.isDir && targetParentIno !== sourceDir.ino;
      if (inode.isDir) {
        // Through symlinks too: no folder may become its own ancestor.
        for (let at = targetParentIno, steps = 0; at !== EXT2_ROOT_INO && steps < 100_000; steps++) {
          if (at === ino) throw intoItself;
          const up = (await this.dir(at, '')).slots.get('..');
          if (!up) break;
          at = up.ino;
        }
      }
      if (moving) await this.requireLinkRoom(targetParentIno, targetParentPath.path);
      const nameBytes = encoder.encode(targetName);
      const growth = this.growthBlocks(targetDir, nameBytes.length);
      this.requireSpace(target.path, 'a new directory entry', growth, 0);
      this.begin('renaming', source.path);
      await this.ensureUsable(growth);
      const now = this.clock();
      await this.addEntry(targetDir, nameBytes, ino, fileTypeOf(inode.mode), now);
      await this.removeEntry(sourceDir, key, now);
      const moved = await this.inode(ino);
      moved.setTime('ctime', now);
      if (moving) {
        const movedDir = await this.dir(ino, target.path);
        const dotdot = movedDir.slots.get('..');
        if (dotdot) {
          const entry = await this.cache.get(movedDir.blocks[dotdot.logical]!);
          movedDir.retarget('..', entry.data, targetParentIno);
          entry.dirty = true;
          this.clearIndex(moved);
        }
        (await this.inode(sourceDir.ino)).links -= 1;
        (await this.inode(targetParentIno)).links += 1;
      }
    });
  }

  async symlink(target: string, path: string): Promise<void> {
    const p = parsePath(path);
    if (p.parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot make the root folder a symlink', { path });
    const targetBytes = typeof target === 'string' ? encoder.encode(target) : new Uint8Array(0);
    if (targetBytes.length === 0 || target.includes('\0')) {
      throw new LoopbackError('INVALID_INPUT', `${p.path}: a symlink target must be a non-empty text without NUL characters`, { path: p.path });
    }
    return this.exclusive(async () => {
      this.requireWritable();
      const B = this.g.blockBytes;
      if (targetBytes.length >= B) {
        throw new LoopbackError('INVALID_INPUT', `${p.path}: the symlink target is ${targetBytes.length} bytes; ext2 allows at most ${B - 1} with ${B}-byte blocks`, { path: p.path });
      }
      const parentPath = parentOf(p);
      const parentIno = await this.requireFolder(parentPath, 'parent');
      const parent = await this.dir(parentIno, parentPath.path);
      const name = p.parts.at(-1)!;
      if (parent.slots.has(keyOf(name))) throw new LoopbackError('ALREADY_EXISTS', `${p.path} already exists`, { path: p.path });
      const nameBytes = encoder.encode(name);
      const fast = targetBytes.length < FAST_SYMLINK_MAX_BYTES;
      const needed = (fast ? 0 : 1) + this.growthBlocks(parent, nameBytes.length);
      this.requireSpace(p.path, 'a symlink', needed, 1);
      this.begin('creating symlink', p.path);
      await this.ensureUsable(needed);
      const now = this.clock();
      const inode = await this.newInode(await this.allocInode(false, parentIno), LINUX_S_IFLNK | SYMLINK_MODE, now);
      if (fast) {
        inode.blockArea.set(targetBytes);
        inode.markDirty();
      } else {
        const [run] = await this.allocBlocks(1, this.goalFor(inode.ino));
        this.cache.create(run!.start).data.set(targetBytes);
        inode.setBlock(0, run!.start);
        inode.blocks512 = B / 512;
      }
      inode.size = targetBytes.length;
      await this.addEntry(parent, nameBytes, inode.ino, EXT2_FT_SYMLINK, now);
    });
  }

  /** Changes permission bits; like chmod(2) it follows a symlink to its target. */
  async chmod(path: string, mode: number): Promise<void> {
    const p = parsePath(path);
    checkMode(mode, p.path);
    return this.exclusive(async () => {
      this.requireWritable();
      const ino = await this.resolve(p.parts, true);
      if (ino === null) throw new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
      this.begin('changing mode of', p.path);
      const inode = await this.inode(ino);
      inode.mode = inode.type | mode;
      inode.setTime('ctime', this.clock());
    });
  }

  /**
   * The file's data extents from the block map in memory (what flush() writes out), with the
   * semantics of ext2FileExtents (block-map.ts): adjacent blocks merged, indirect blocks and
   * holes left out, the last extent cut at the file's size. A symlink is not followed.
   */
  async extents(path: string): Promise<FileExtent[]> {
    const p = parsePath(path);
    return this.exclusive(async () => {
      const ino = await this.resolve(p.parts, false);
      if (ino === null) throw new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
      const inode = await this.inode(ino);
      if (inode.type !== LINUX_S_IFREG) {
        const what = inode.isDir ? 'a folder' : inode.type === LINUX_S_IFLNK ? 'a symlink' : 'not a regular file';
        throw new LoopbackError('INVALID_INPUT', `${p.path} is ${what}: only a regular file has a block list`, { path: p.path });
      }
      const B = this.g.blockBytes;
      const size = inode.size;
      const extents: FileExtent[] = [];
      await this.walk(inode, Math.ceil(size / B), p.path, (logical, block) => appendBlockExtent(extents, logical, block, B, size));
      return extents;
    });
  }

  async flush(): Promise<void> {
    return this.exclusive(() => this.sync());
  }

  async close(): Promise<void> {
    return this.exclusive(async () => {
      try {
        await this.sync();
      } finally {
        this.closed = '';
        this.dirs.clear();
      }
    });
  }

  // --- operations: serialisation, refusals, failure ---

  /** Runs `work` after every earlier call; refuses once closed; trims the cache afterwards. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.closed !== null) throw new LoopbackError('INVALID_INPUT', `this ext2 filesystem is closed${this.closed}`, {});
      this.changing = null;
      try {
        const result = await work();
        await this.afterOperation();
        return result;
      } catch (error) {
        throw this.failed(error);
      } finally {
        this.changing = null;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Marks the start of changes: from here on, a failure closes the volume. */
  private begin(action: string, path: string): void {
    this.changing = { action, path };
  }

  private failed(error: unknown): unknown {
    const changing = this.changing;
    if (!changing) return error;
    const message = messageOf(error);
    this.closed = ` after an error while ${changing.action} ${changing.path} (${message}); open the image again and check it with e2fsck -f`;
    this.dirs.clear();
    if (error instanceof LoopbackError && error.code !== 'IO') return error;
    return new LoopbackError('IO', `${changing.action} ${changing.path} failed: ${message}`, { path: changing.path });
  }

  private requireWritable(): void {
    if (this.readOnly !== null) {
      throw new LoopbackError('VALIDATION', `this ext2 filesystem can only be read: ${this.readOnly}; use the loop engine (mount) to change it`, {});
    }
  }

  /** Throws unless `blocks` and `inodes` are free (counting `reclaimedBlocks` the operation frees first). */
  private requireSpace(path: string, what: string, blocks: number, inodes: number, reclaimedBlocks = 0): void {
    if (inodes > this.freeInodes) {
      throw new LoopbackError('VALIDATION', `${path}: no free inodes left in the ext2 filesystem for ${what}; remove files or format with a smaller inode ratio`, { path, freeInodes: this.freeInodes });
    }
    const free = this.freeBlocks + reclaimedBlocks;
    if (blocks > free) {
      const B = this.g.blockBytes;
      throw new LoopbackError(
        'VALIDATION',
        `${path}: ${what} needs ${blocks} blocks of ${B} bytes (${blocks * B} bytes with metadata) but only ${free * B} bytes are free; remove files or use a larger partition`,
        { path, neededBytes: blocks * B, freeBytes: free * B },
      );
    }
  }

  private checkFileSize(path: string, bytes: number, dataBlocks: number): void {
    const P = this.g.perBlock;
    const maxBlocks = EXT2_NDIR_BLOCKS + P + P * P + P * P * P;
    const rev0 = this.sbView.getUint32(EXT2_SUPERBLOCK.s_rev_level, true) === 0;
    const tooLarge = dataBlocks > maxBlocks || (blocksWithIndirect(dataBlocks, this.g.blockBytes) * this.g.blockBytes) / 512 >= TWO_32 || (rev0 && bytes >= 2 ** 31);
    if (tooLarge) {
      throw new LoopbackError('INVALID_INPUT', `${path}: a file of ${bytes} bytes is larger than this ext2 (${this.g.blockBytes}-byte blocks${rev0 ? ', revision 0' : ''}) can hold`, { path, sizeBytes: bytes });
    }
  }

  /** A folder may hold at most EXT2_LINK_MAX - 2 subfolders. */
  private async requireLinkRoom(dirIno: number, path: string): Promise<void> {
    if ((await this.inode(dirIno)).links >= EXT2_LINK_MAX - 1) {
      throw new LoopbackError('VALIDATION', `${path || '/'} has the most subfolders ext2 allows (${EXT2_LINK_MAX - 2})`, { path });
    }
  }

  // --- write-out ---

  private async sync(): Promise<void> {
    try {
      await this.writeOut();
      if (this.unsynced) {
        await this.device.flush();
        this.unsynced = false;
      }
    } catch (error) {
      throw new LoopbackError('IO', `writing the ext2 metadata out failed: ${messageOf(error)}; flush again, or check the image with e2fsck`, {});
    }
  }

  /**
   * Writes the changed metadata: cached blocks (inode tables, bitmaps, directories, indirect
   * blocks) in sorted runs, then the descriptor table and superblock copies, the primary ones
   * last. Afterwards the disk matches memory, so blocks freed so far may be reused.
   */
  private async writeOut(): Promise<void> {
    const writes = await this.cache.writeDirty();
    if (writes > 0) this.unsynced = true;
    if (this.gdtDirty) {
      const B = this.g.blockBytes;
      const sb = this.sbView;
      sb.setUint32(EXT2_SUPERBLOCK.s_free_blocks_count, this.freeBlocks, true);
      sb.setUint32(EXT2_SUPERBLOCK.s_free_inodes_count, this.freeInodes, true);
      sb.setUint32(EXT2_SUPERBLOCK.s_wtime, Math.max(0, Math.min(TWO_32 - 1, Math.floor(this.clock() / 1000))), true);
      const rev1 = sb.getUint32(EXT2_SUPERBLOCK.s_rev_level, true) >= 1;
      for (let g = 1; g < this.g.groupCount; g++) {
        if (!this.hasSuperblockCopy(g)) continue;
        const first = this.g.firstDataBlock + g * this.g.blocksPerGroup;
        const copy = this.sbBytes.slice();
        if (rev1) new DataView(copy.buffer).setUint16(EXT2_SUPERBLOCK.s_block_group_nr, g, true);
        await this.device.write(first * B, copy);
        await this.device.write((first + 1) * B, this.gdt);
      }
      await this.device.write((this.g.firstDataBlock + 1) * B, this.gdt);
      if (rev1) sb.setUint16(EXT2_SUPERBLOCK.s_block_group_nr, 0, true);
      await this.device.write(SUPERBLOCK_OFFSET_BYTES, this.sbBytes);
      this.gdtDirty = false;
      this.unsynced = true;
    }
    for (const group of this.groups) group.diskBlocks = null;
    this.pendingFree = 0;
  }

  private hasSuperblockCopy(g: number): boolean {
    const sb = this.sbView;
    if (sb.getUint32(EXT2_SUPERBLOCK.s_rev_level, true) === 0) return true;
    if (sb.getUint32(EXT2_SUPERBLOCK.s_feature_compat, true) & EXT4_FEATURE_COMPAT_SPARSE_SUPER2) {
      return g === sb.getUint32(EXT2_SUPERBLOCK.s_backup_bgs, true) || g === sb.getUint32(EXT2_SUPERBLOCK.s_backup_bgs + 4, true);
    }
    if (sb.getUint32(EXT2_SUPERBLOCK.s_feature_ro_compat, true) & EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER) return groupHasSuperblock(g);
    return true;
  }

  /** Makes blocks freed since the last write-out usable, if the operation needs them. Call at a consistent point only. */
  private async ensureUsable(blocks: number): Promise<void> {
    if (this.pendingFree > 0 && this.freeBlocks - this.pendingFree < blocks) await this.writeOut();
  }

  /** Between operations: bound the memory the metadata takes. */
  private async afterOperation(): Promise<void> {
    if (this.cache.sizeBytes <= this.cacheLimitBytes) return;
    if (this.cache.dirtyBytes() > this.cacheLimitBytes / 2) {
      this.begin('writing metadata of', '/');
      await this.writeOut();
    }
    for (const group of this.groups) {
      for (const key of ['blockBitmap', 'inodeBitmap'] as const) {
        const entry = group[key];
        if (entry && !entry.dirty && !(key === 'blockBitmap' && group.diskBlocks)) {
          entry.pinned = false;
          group[key] = null;
        }
      }
    }
    this.cache.trim();
    this.dirs.clear();
  }

  // --- descriptors ---

  private gd16(g: number, field: number): number {
    return this.gdtView.getUint16(g * EXT2_GROUP_DESC_SIZE_BYTES + field, true);
  }
  private gd32(g: number, field: number): number {
    return this.gdtView.getUint32(g * EXT2_GROUP_DESC_SIZE_BYTES + field, true);
  }
  private addGd16(g: number, field: number, delta: number): void {
    this.gdtView.setUint16(g * EXT2_GROUP_DESC_SIZE_BYTES + field, this.gd16(g, field) + delta, true);
    this.gdtDirty = true;
  }

  private groupFirstBlock(g: number): number {
    return this.g.firstDataBlock + g * this.g.blocksPerGroup;
  }
  private groupBlockCount(g: number): number {
    return Math.min(this.g.blocksPerGroup, this.g.blocksCount - this.groupFirstBlock(g));
  }

  private setLargeFile(): void {
    const at = EXT2_SUPERBLOCK.s_feature_ro_compat;
    const features = this.sbView.getUint32(at, true);
    if (!(features & EXT2_FEATURE_RO_COMPAT_LARGE_FILE)) {
      this.sbView.setUint32(at, features | EXT2_FEATURE_RO_COMPAT_LARGE_FILE, true);
      this.gdtDirty = true;
    }
  }

  // --- inodes ---

  private inodeLocation(ino: number): { block: number; offset: number } {
    if (!Number.isInteger(ino) || ino < 1 || ino > this.g.inodesCount) {
      throw new LoopbackError('IO', `inode number ${ino} is outside the filesystem: run e2fsck on the image`, { ino });
    }
    const group = Math.floor((ino - 1) / this.g.inodesPerGroup);
    const byte = ((ino - 1) % this.g.inodesPerGroup) * this.g.inodeBytes;
    return { block: this.gd32(group, EXT2_GROUP_DESC.bg_inode_table) + Math.floor(byte / this.g.blockBytes), offset: byte % this.g.blockBytes };
  }

  private async inode(ino: number): Promise<InodeRef> {
    const { block, offset } = this.inodeLocation(ino);
    return new InodeRef(ino, await this.cache.get(block), offset, this.g.inodeBytes);
  }

  /** Reads the inode-table blocks of `inos` in as few device reads as possible. */
  private async prefetchInodes(inos: readonly number[]): Promise<void> {
    await this.cache.load(inos.map((ino) => this.inodeLocation(ino).block));
  }

  private async newInode(ino: number, mode: number, now: number): Promise<InodeRef> {
    const inode = await this.inode(ino);
    inode.reset(this.g.extraIsize);
    inode.mode = mode;
    inode.links = 1;
    for (const field of ['atime', 'ctime', 'mtime', 'crtime'] as const) inode.setTime(field, now);
    return inode;
  }

  private async inodeBitmap(g: number): Promise<CacheEntry> {
    const state = this.groups[g]!;
    if (!state.inodeBitmap) {
      state.inodeBitmap = await this.cache.get(this.gd32(g, EXT2_GROUP_DESC.bg_inode_bitmap));
      state.inodeBitmap.pinned = true;
    }
    return state.inodeBitmap;
  }

  /**
   * A free inode: for a folder in the group with the most free blocks among those with at least
   * the average of free inodes (spreading folders, as ext2 does); for anything else in its
   * parent's group, or the next group that has one.
   */
  private async allocInode(isDir: boolean, parentIno: number): Promise<number> {
    const { groupCount, inodesPerGroup, firstIno } = this.g;
    const freeIn = (g: number) => this.gd16(g, EXT2_GROUP_DESC.bg_free_inodes_count);
    let group = -1;
    if (isDir) {
      const average = this.freeInodes / groupCount;
      let best = -1;
      for (let g = 0; g < groupCount; g++) {
        if (freeIn(g) === 0 || freeIn(g) < average) continue;
        const blocks = this.gd16(g, EXT2_GROUP_DESC.bg_free_blocks_count);
        if (blocks > best) {
          best = blocks;
          group = g;
        }
      }
    }
    if (group < 0) {
      const start = Math.floor((parentIno - 1) / inodesPerGroup);
      for (let i = 0; i < groupCount && group < 0; i++) if (freeIn((start + i) % groupCount) > 0) group = (start + i) % groupCount;
    }
    for (let tries = 0; tries < groupCount; tries++, group = (group + 1) % groupCount) {
      if (freeIn(group) === 0) continue;
      const entry = await this.inodeBitmap(group);
      const state = this.groups[group]!;
      const low = group === 0 ? firstIno - 1 : 0;
      const from = Math.max(low, state.inodeHint);
      let bit = -1;
      for (let b = from; b < inodesPerGroup && bit < 0; b++) if (!testBit(entry.data, b)) bit = b;
      for (let b = low; b < from && bit < 0; b++) if (!testBit(entry.data, b)) bit = b;
      if (bit < 0) continue;
      entry.data[bit >> 3]! |= 1 << (bit & 7);
      entry.dirty = true;
      state.inodeHint = bit + 1;
      this.addGd16(group, EXT2_GROUP_DESC.bg_free_inodes_count, -1);
      if (isDir) this.addGd16(group, EXT2_GROUP_DESC.bg_used_dirs_count, 1);
      this.freeInodes -= 1;
      return group * inodesPerGroup + bit + 1;
    }
    throw new LoopbackError('INTERNAL', 'no free inode although the counters said there was one: run e2fsck on the image', {});
  }

  private async freeInode(ino: number, isDir: boolean): Promise<void> {
    const group = Math.floor((ino - 1) / this.g.inodesPerGroup);
    const bit = (ino - 1) % this.g.inodesPerGroup;
    const entry = await this.inodeBitmap(group);
    if (!testBit(entry.data, bit)) return;
    entry.data[bit >> 3]! &= ~(1 << (bit & 7));
    entry.dirty = true;
    const state = this.groups[group]!;
    state.inodeHint = Math.min(state.inodeHint, bit);
    this.addGd16(group, EXT2_GROUP_DESC.bg_free_inodes_count, 1);
    if (isDir) this.addGd16(group, EXT2_GROUP_DESC.bg_used_dirs_count, -1);
    this.freeInodes += 1;
  }

  // --- blocks ---

  private async blockBitmap(g: number): Promise<CacheEntry> {
    const state = this.groups[g]!;
    if (!state.blockBitmap) {
      state.blockBitmap = await this.cache.get(this.gd32(g, EXT2_GROUP_DESC.bg_block_bitmap));
      state.blockBitmap.pinned = true;
    }
    return state.blockBitmap;
  }

  /** Where a new block for inode `ino` should go: after the last one allocated in its group. */
  private goalFor(ino: number): number {
    const group = Math.floor((ino - 1) / this.g.inodesPerGroup);
    return this.groupFirstBlock(group) + this.groups[group]!.blockHint;
  }

  /**
   * The first run of usable blocks (free in memory and on disk) in group `g` at or after bit
   * `from`, at most `want` long; null when there is none.
   */
  private findRun(g: number, bitmap: Uint8Array, from: number, want: number): Run | null {
    const disk = this.groups[g]!.diskBlocks;
    const limit = this.groupBlockCount(g);
    let bit = from;
    while (bit < limit) {
      const byte = disk ? bitmap[bit >> 3]! | disk[bit >> 3]! : bitmap[bit >> 3]!;
      if (byte === 0xff) bit = (bit | 7) + 1;
      else if (byte & (1 << (bit & 7))) bit++;
      else break;
    }
    if (bit >= limit) return null;
    const start = bit;
    while (bit < limit && bit - start < want) {
      const byte = disk ? bitmap[bit >> 3]! | disk[bit >> 3]! : bitmap[bit >> 3]!;
      if (byte === 0 && (bit & 7) === 0 && bit + 8 <= limit && bit - start + 8 <= want) {
        bit += 8;
        continue;
      }
      if (byte & (1 << (bit & 7))) break;
      bit++;
    }
    return { start: this.groupFirstBlock(g) + start, length: bit - start };
  }

  /**
   * Allocates `count` blocks near `goal`: one contiguous run if there is one anywhere (the
   * goal's group from the goal on, then the following groups), else first-fit pieces from the
   * goal on. The caller has checked the space (and called ensureUsable).
   */
  private async allocBlocks(count: number, goal: number): Promise<Run[]> {
    if (count === 0) return [];
    const { groupCount } = this.g;
    const clamped = Math.min(Math.max(goal, this.g.firstDataBlock), this.g.blocksCount - 1);
    const goalGroup = Math.floor((clamped - this.g.firstDataBlock) / this.g.blocksPerGroup);
    const goalBit = clamped - this.groupFirstBlock(goalGroup);
    // The goal's group from the goal on, the following groups, then the goal's group from its start.
    const FREE = EXT2_GROUP_DESC.bg_free_blocks_count;
    // One run.
    for (let i = 0; i <= groupCount; i++) {
      const g = (goalGroup + i) % groupCount;
      if (this.gd16(g, FREE) < count) continue;
      const bitmap = (await this.blockBitmap(g)).data;
      for (let at = i === 0 ? goalBit : 0; ; ) {
        const run = this.findRun(g, bitmap, at, count);
        if (!run) break;
        if (run.length >= count) {
          this.take(g, run);
          return [run];
        }
        at = run.start + run.length - this.groupFirstBlock(g);
      }
    }
    // Pieces.
    const runs: Run[] = [];
    let remaining = count;
    for (let i = 0; i <= groupCount && remaining > 0; i++) {
      const g = (goalGroup + i) % groupCount;
      if (this.gd16(g, FREE) === 0) continue;
      const bitmap = (await this.blockBitmap(g)).data;
      for (let at = i === 0 ? goalBit : 0; remaining > 0; ) {
        const run = this.findRun(g, bitmap, at, remaining);
        if (!run) break;
        this.take(g, run);
        runs.push(run);
        remaining -= run.length;
        at = run.start + run.length - this.groupFirstBlock(g);
      }
    }
    if (remaining > 0) throw new LoopbackError('INTERNAL', 'the ext2 block counters promised more free blocks than the bitmaps have: run e2fsck on the image', {});
    return runs;
  }

  private take(g: number, run: Run): void {
    const state = this.groups[g]!;
    const entry = state.blockBitmap!;
    const bit = run.start - this.groupFirstBlock(g);
    setBitRange(entry.data, bit, run.length);
    entry.dirty = true;
    state.blockHint = bit + run.length;
    this.addGd16(g, EXT2_GROUP_DESC.bg_free_blocks_count, -run.length);
    this.freeBlocks -= run.length;
  }

  /** One new metadata block (zeros, in the cache) near `goal`. */
  private async allocMeta(goal: number): Promise<number> {
    const [run] = await this.allocBlocks(1, goal);
    this.cache.create(run!.start);
    return run!.start;
  }

  /** Frees blocks (any order); blocks already free or outside the volume are skipped. */
  private async releaseBlocks(blocks: number[]): Promise<void> {
    blocks.sort((a, b) => a - b);
    for (const block of blocks) {
      this.cache.drop(block);
      if (block < this.g.firstDataBlock || block >= this.g.blocksCount) continue;
      const g = Math.floor((block - this.g.firstDataBlock) / this.g.blocksPerGroup);
      const bit = block - this.groupFirstBlock(g);
      const entry = await this.blockBitmap(g);
      if (!testBit(entry.data, bit)) continue;
      const state = this.groups[g]!;
      if (!state.diskBlocks) state.diskBlocks = entry.data.slice();
      if (testBit(state.diskBlocks, bit)) this.pendingFree += 1;
      entry.data[bit >> 3]! &= ~(1 << (bit & 7));
      entry.dirty = true;
      this.addGd16(g, EXT2_GROUP_DESC.bg_free_blocks_count, 1);
      this.freeBlocks += 1;
    }
  }

  // --- block maps ---

  private checkBlock(block: number, what: string): void {
    if (block < this.g.firstDataBlock || block >= this.g.blocksCount) {
      throw new LoopbackError('IO', `${what}: block number ${block} is outside the filesystem: run e2fsck on the image`, { block });
    }
  }

  /**
   * Walks the classic block map: `onData(logical, block)` for each mapped block below `limit`
   * (in logical order), `onMeta(block)` for each indirect block on the way.
   */
  private async walk(inode: InodeRef, limit: number, what: string, onData: (logical: number, block: number) => void, onMeta?: (block: number) => void): Promise<void> {
    if (inode.flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) {
      throw new LoopbackError('VALIDATION', `${what} uses ext4 extents or inline data, not the ext2 block map`, { path: what });
    }
    const P = this.g.perBlock;
    for (let i = 0; i < EXT2_NDIR_BLOCKS && i < limit; i++) {
      const block = inode.block(i);
      if (block !== 0) {
        this.checkBlock(block, what);
        onData(i, block);
      }
    }
    const visit = async (block: number, depth: number, first: number): Promise<void> => {
      if (block === 0 || first >= limit) return;
      this.checkBlock(block, what);
      onMeta?.(block);
      const bytes = await this.cache.read(block);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const span = P ** (depth - 1);
      for (let i = 0; i < P && first + i * span < limit; i++) {
        const child = view.getUint32(4 * i, true);
        if (child === 0) continue;
        if (depth === 1) {
          this.checkBlock(child, what);
          onData(first + i, child);
        } else {
          await visit(child, depth - 1, first + i * span);
        }
      }
    };
    await visit(inode.block(EXT2_NDIR_BLOCKS), 1, EXT2_NDIR_BLOCKS);
    await visit(inode.block(EXT2_NDIR_BLOCKS + 1), 2, EXT2_NDIR_BLOCKS + P);
    await visit(inode.block(EXT2_NDIR_BLOCKS + 2), 3, EXT2_NDIR_BLOCKS + P + P * P);
  }

  /** Whether the inode's i_block holds block numbers (not a fast symlink's text or a device number). */
  private hasBlockMap(inode: InodeRef): boolean {
    const type = inode.type;
    if (type === LINUX_S_IFREG || type === LINUX_S_IFDIR) return true;
    return type === LINUX_S_IFLNK && !this.isFastSymlink(inode);
  }

  private xattrBlocks512(inode: InodeRef): number {
    return inode.fileAcl !== 0 ? this.g.blockBytes / 512 : 0;
  }

  private isFastSymlink(inode: InodeRef): boolean {
    return inode.blocks512 - this.xattrBlocks512(inode) === 0 && inode.size < FAST_SYMLINK_MAX_BYTES;
  }

  /** Blocks of data and indirect blocks (what truncating frees), from i_blocks. */
  private ownBlocks(inode: InodeRef): number {
    return (inode.blocks512 - this.xattrBlocks512(inode)) / (this.g.blockBytes / 512);
  }

  /** Frees every data and indirect block of the inode and empties its map (size 0). */
  private async freeData(inode: InodeRef): Promise<void> {
    if (this.hasBlockMap(inode)) {
      const blocks: number[] = [];
      await this.walk(inode, Infinity, `inode ${inode.ino}`, (_, block) => blocks.push(block), (block) => blocks.push(block));
      await this.releaseBlocks(blocks);
    }
    for (let i = 0; i < EXT2_N_BLOCKS; i++) inode.setBlock(i, 0);
    inode.size = 0;
    inode.blocks512 = this.xattrBlocks512(inode);
  }

  /**
   * Points the inode at its new data: direct blocks, then the single, double and triple
   * indirect blocks, taken from `metaRuns` in the order blocksWithIndirect counts them. Returns
   * the indirect blocks' contents, in that order, for writeData to write with the data.
   */
  private buildBlockMap(inode: InodeRef, dataRuns: Run[], metaRuns: Run[], dataBlocks: number): Uint8Array {
    const B = this.g.blockBytes;
    const data = new Uint32Array(dataBlocks);
    let at = 0;
    for (const run of dataRuns) for (let i = 0; i < run.length; i++) data[at++] = run.start + i;
    const meta: number[] = [];
    for (const run of metaRuns) for (let i = 0; i < run.length; i++) meta.push(run.start + i);
    const metaBytes = new Uint8Array(meta.length * B);
    const view = new DataView(metaBytes.buffer);
    let cursor = 0;
    for (let i = 0; i < EXT2_NDIR_BLOCKS; i++) inode.setBlock(i, i < dataBlocks ? data[i]! : 0);
    const P = this.g.perBlock;
    // Fills indirect block number `index` (of `meta`) of `depth` levels, mapping from logical block `first`.
    const fill = (index: number, depth: number, first: number): number => {
      const base = index * B;
      let logical = first;
      for (let i = 0; i < P && logical < dataBlocks; i++) {
        if (depth === 1) {
          view.setUint32(base + 4 * i, data[logical++]!, true);
        } else {
          const child = cursor++;
          view.setUint32(base + 4 * i, meta[child]!, true);
          logical = fill(child, depth - 1, logical);
        }
      }
      return logical;
    };
    let logical = EXT2_NDIR_BLOCKS;
    for (let depth = 1; depth <= 3; depth++) {
      const slot = EXT2_NDIR_BLOCKS + depth - 1;
      if (logical < dataBlocks) {
        const index = cursor++;
        inode.setBlock(slot, meta[index]!);
        logical = fill(index, depth, logical);
      } else {
        inode.setBlock(slot, 0);
      }
    }
    // Written straight to the device with the data: no stale copy may stay in the cache.
    for (const block of meta) this.cache.drop(block);
    return metaBytes;
  }

  /** Maps logical block `logical` of a directory to `block`, allocating indirect blocks on the way. */
  private async mapBlock(inode: InodeRef, logical: number, block: number): Promise<void> {
    if (logical < EXT2_NDIR_BLOCKS) {
      inode.setBlock(logical, block);
      return;
    }
    const P = this.g.perBlock;
    let rest = logical - EXT2_NDIR_BLOCKS;
    let depth = 1;
    while (rest >= P ** depth) {
      rest -= P ** depth;
      depth++;
    }
    const slot = EXT2_NDIR_BLOCKS + depth - 1;
    const per512 = this.g.blockBytes / 512;
    let pointer = inode.block(slot);
    if (pointer === 0) {
      pointer = await this.allocMeta(block);
      inode.setBlock(slot, pointer);
      inode.blocks512 += per512;
    }
    for (let d = depth; d >= 1; d--) {
      const entry = await this.cache.get(pointer);
      const view = new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
      const span = P ** (d - 1);
      const index = Math.floor(rest / span);
      rest %= span;
      if (d === 1) {
        view.setUint32(4 * index, block, true);
        entry.dirty = true;
        return;
      }
      let child = view.getUint32(4 * index, true);
      if (child === 0) {
        child = await this.allocMeta(block);
        view.setUint32(4 * index, child, true);
        entry.dirty = true;
        inode.blocks512 += per512;
      }
      pointer = child;
    }
  }

  // --- file data ---

  private async readData(inode: InodeRef, what: string): Promise<Uint8Array> {
    const B = this.g.blockBytes;
    const size = inode.size;
    const runs: Array<{ logical: number; block: number; count: number }> = [];
    await this.walk(inode, Math.ceil(size / B), what, (logical, block) => {
      const last = runs[runs.length - 1];
      if (last && last.logical + last.count === logical && last.block + last.count === block) last.count++;
      else runs.push({ logical, block, count: 1 });
    });
    const first = runs[0];
    if (runs.length === 1 && first && first.logical === 0 && first.count * B >= size) return this.device.read(first.block * B, size);
    const data = new Uint8Array(size); // holes read as zeros
    for (const run of runs) {
      const offset = run.logical * B;
      data.set(await this.device.read(run.block * B, Math.min(run.count * B, size - offset)), offset);
    }
    return data;
  }

  /**
   * Writes a file's data into its runs and its indirect blocks (`metaBytes`, in `metaRuns`),
   * the last block's tail zeroed, in as few device writes as possible: the whole blocks of each
   * run straight from `data`, then the partial last block together with the indirect blocks
   * that follow it (one write; small files go out as one padded write).
   */
  private async writeData(dataRuns: Run[], data: Uint8Array, metaRuns: Run[], metaBytes: Uint8Array): Promise<void> {
    const B = this.g.blockBytes;
    const last = dataRuns[dataRuns.length - 1];
    const firstMeta = metaRuns[0];
    const appended = last !== undefined && firstMeta !== undefined && firstMeta.start === last.start + last.length ? firstMeta.length * B : 0;
    let offset = 0;
    for (let r = 0; r < dataRuns.length; r++) {
      const run = dataRuns[r]!;
      const at = run.start * B;
      const bytes = Math.min(run.length * B, data.length - offset);
      const whole = Math.floor(bytes / B) * B;
      const tail = bytes - whole;
      const trailing = r === dataRuns.length - 1 ? appended : 0;
      const restBytes = (tail > 0 ? B : 0) + trailing;
      if (restBytes === 0) {
        await this.device.write(at, data.subarray(offset, offset + bytes));
      } else if (whole + restBytes <= PAD_COPY_MAX_BYTES) {
        const buffer = new Uint8Array(whole + restBytes);
        buffer.set(data.subarray(offset, offset + bytes));
        if (trailing > 0) buffer.set(metaBytes.subarray(0, trailing), whole + (tail > 0 ? B : 0));
        await this.device.write(at, buffer);
      } else {
        if (whole > 0) await this.device.write(at, data.subarray(offset, offset + whole));
        const rest = new Uint8Array(restBytes);
        rest.set(data.subarray(offset + whole, offset + bytes));
        if (trailing > 0) rest.set(metaBytes.subarray(0, trailing), tail > 0 ? B : 0);
        await this.device.write(at + whole, rest);
      }
      offset += bytes;
    }
    let metaOffset = appended;
    for (const run of appended > 0 ? metaRuns.slice(1) : metaRuns) {
      await this.device.write(run.start * B, metaBytes.subarray(metaOffset, metaOffset + run.length * B));
      metaOffset += run.length * B;
    }
    if (dataRuns.length > 0) this.unsynced = true;
  }

  // --- directories ---

  /** The directory `ino` indexed (cached between operations until trimmed). */
  private async dir(ino: number, what: string): Promise<DirIndex> {
    const cached = this.dirs.get(ino);
    if (cached) return cached;
    const inode = await this.inode(ino);
    if (!inode.isDir) throw new LoopbackError('INTERNAL', `${what || `inode ${ino}`} is not a folder`, {});
    const B = this.g.blockBytes;
    const count = Math.ceil(inode.size / B);
    if (count > this.g.blocksCount) throw new LoopbackError('IO', `${what || `folder inode ${ino}`}: the folder's size ${inode.size} is larger than the volume: run e2fsck on the image`, {});
    const blocks: number[] = new Array<number>(count).fill(0);
    await this.walk(inode, count, what || `folder inode ${ino}`, (logical, block) => {
      blocks[logical] = block;
    });
    await this.cache.load(blocks);
    const index = new DirIndex(ino, blocks, B, what || `folder inode ${ino}`);
    for (let logical = 0; logical < count; logical++) {
      if (blocks[logical] === 0) index.markHole(logical);
      else index.scan(logical, (await this.cache.get(blocks[logical]!)).data);
    }
    this.dirs.set(ino, index);
    return index;
  }

  private childCount(dir: DirIndex): number {
    let count = 0;
    for (const slot of dir.slots.values()) if (!isDotOrDotDot(slot.nameBytes)) count++;
    return count;
  }

  /** Blocks a directory needs to take an entry of `nameBytes`: 0 if one of its blocks has room, else a block (plus indirect ones). */
  private growthBlocks(dir: DirIndex, nameBytes: number): number {
    if (dir.roomFor(nameBytes) >= 0) return 0;
    const n = dir.blocks.length;
    return blocksWithIndirect(n + 1, this.g.blockBytes) - blocksWithIndirect(n, this.g.blockBytes);
  }

  /** A directory was edited: new mtime/ctime, and an htree index is no longer valid. */
  private clearIndex(inode: InodeRef): void {
    if (inode.flags & EXT2_INDEX_FL) inode.flags = inode.flags & ~EXT2_INDEX_FL;
  }

  private async addEntry(dir: DirIndex, nameBytes: Uint8Array, ino: number, fileType: number, now: number): Promise<void> {
    const inode = await this.inode(dir.ino);
    let logical = dir.roomFor(nameBytes.length);
    if (logical < 0) {
      const B = this.g.blockBytes;
      const previous = dir.blocks.filter((block) => block !== 0).at(-1);
      const [run] = await this.allocBlocks(1, previous !== undefined ? previous + 1 : this.goalFor(dir.ino));
      logical = dir.blocks.length;
      await this.mapBlock(inode, logical, run!.start);
      dir.appendBlock(run!.start, this.cache.create(run!.start).data);
      inode.size = (logical + 1) * B;
      inode.blocks512 += B / 512;
    }
    const entry = await this.cache.get(dir.blocks[logical]!);
    dir.insert(logical, entry.data, nameBytes, ino, this.filetype ? fileType : EXT2_FT_UNKNOWN);
    entry.dirty = true;
    this.touchDir(inode, now);
  }

  private async removeEntry(dir: DirIndex, key: string, now: number): Promise<void> {
    const slot = dir.slots.get(key);
    if (!slot) return;
    const entry = await this.cache.get(dir.blocks[slot.logical]!);
    dir.remove(key, entry.data);
    entry.dirty = true;
    this.touchDir(await this.inode(dir.ino), now);
  }

  private touchDir(inode: InodeRef, now: number): void {
    this.clearIndex(inode);
    inode.setTime('mtime', now);
    inode.setTime('ctime', now);
  }

  /** Creates folder `nameBytes` in `parent`; returns its inode number. */
  private async createFolder(parent: DirIndex, nameBytes: Uint8Array, mode: number, now: number): Promise<number> {
    const B = this.g.blockBytes;
    const ino = await this.allocInode(true, parent.ino);
    const inode = await this.newInode(ino, LINUX_S_IFDIR | mode, now);
    const [run] = await this.allocBlocks(1, this.goalFor(ino));
    const block = run!.start;
    const type = this.filetype ? EXT2_FT_DIR : EXT2_FT_UNKNOWN;
    const entry = this.cache.create(block);
    entry.data.set(
      encodeDirectoryBlock(
        [
          { inode: ino, name: '.', fileType: type },
          { inode: parent.ino, name: '..', fileType: type },
        ],
        B,
      ),
    );
    inode.setBlock(0, block);
    inode.size = B;
    inode.blocks512 = B / 512;
    inode.links = 2;
    await this.addEntry(parent, nameBytes, ino, EXT2_FT_DIR, now);
    (await this.inode(parent.ino)).links += 1;
    const index = new DirIndex(ino, [block], B, `folder inode ${ino}`);
    index.scan(0, entry.data);
    this.dirs.set(ino, index);
    return ino;
  }

  /** Frees an inode that no name points to any more (and, for a folder, everything in it). */
  private async destroy(ino: number, path: string, now: number): Promise<void> {
    const inode = await this.inode(ino);
    if (inode.isDir) {
      const dir = await this.dir(ino, path);
      for (const slot of dir.ordered()) {
        if (isDotOrDotDot(slot.nameBytes)) continue;
        await this.destroy(slot.ino, `${path}/${decoder.decode(slot.nameBytes)}`, now);
      }
      this.dirs.delete(ino);
      await this.dropInode(inode, true, now);
      return;
    }
    if (inode.links > 1) {
      // Another hard link keeps the inode.
      inode.links -= 1;
      inode.setTime('ctime', now);
      return;
    }
    await this.dropInode(inode, false, now);
  }

  private async dropInode(inode: InodeRef, isDir: boolean, now: number): Promise<void> {
    await this.freeData(inode);
    await this.releaseXattrBlock(inode);
    inode.links = 0;
    inode.blocks512 = 0;
    inode.dtime = Math.max(0, Math.min(TWO_32 - 1, Math.floor(now / 1000)));
    await this.freeInode(inode.ino, isDir);
  }

  /** Drops the inode's reference to its extended-attribute block, freeing the block with the last one. */
  private async releaseXattrBlock(inode: InodeRef): Promise<void> {
    const block = inode.fileAcl;
    if (block === 0) return;
    inode.fileAcl = 0;
    if (block < this.g.firstDataBlock || block >= this.g.blocksCount) return;
    const entry = await this.cache.get(block);
    const view = new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    const refcount = view.getUint32(4, true);
    if (view.getUint32(0, true) === EXT2_EXT_ATTR_MAGIC && refcount > 1) {
      view.setUint32(4, refcount - 1, true);
      entry.dirty = true;
    } else {
      await this.releaseBlocks([block]);
    }
  }

  // --- paths ---

  /**
   * The inode at `parts` from the root, or null when a component is missing or not a folder.
   * Symlinks on the way are followed (relative to their folder, or from the root), the last one
   * only with `followLast`.
   */
  private async resolve(parts: readonly string[], followLast: boolean): Promise<number | null> {
    const queue = [...parts].reverse();
    let current = EXT2_ROOT_INO;
    let hops = 0;
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (!this.dirs.has(current) && !(await this.inode(current)).isDir) return null;
      if (name === '' || name === '.') continue;
      const slot = (await this.dir(current, '')).slots.get(keyOf(name));
      if (!slot) return null;
      // With the filetype feature the entry says whether it is a symlink; else ask the inode.
      const maybeLink = !this.filetype || slot.fileType === EXT2_FT_SYMLINK || slot.fileType === EXT2_FT_UNKNOWN;
      const child = maybeLink && (queue.length > 0 || followLast) ? await this.inode(slot.ino) : null;
      if (child && child.type === LINUX_S_IFLNK) {
        if (++hops > MAX_SYMLINK_HOPS) return null;
        const target = await this.readLink(child);
        const targetParts = target.split('/');
        for (let i = targetParts.length - 1; i >= 0; i--) queue.push(targetParts[i]!);
        if (target.startsWith('/')) current = EXT2_ROOT_INO;
        continue;
      }
      current = slot.ino;
    }
    return current;
  }

  private async requireFolder(p: FsPath, role: 'parent' | 'target'): Promise<number> {
    const ino = await this.resolve(p.parts, true);
    const what = role === 'parent' ? 'parent folder ' : '';
    if (ino === null) throw new LoopbackError('NOT_FOUND', `${what}${p.path} does not exist`, { path: p.path });
    if (!(await this.inode(ino)).isDir) throw new LoopbackError('INVALID_INPUT', `${what}${p.path} is not a folder`, { path: p.path });
    return ino;
  }

  /** The entry at `p` itself (its last component not followed): its folder, key and inode. */
  private async requireEntry(p: FsPath): Promise<{ parent: DirIndex; key: string; ino: number }> {
    const parentPath = parentOf(p);
    const parentIno = await this.resolve(parentPath.parts, true);
    const notFound = () => new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
    if (parentIno === null || !(await this.inode(parentIno)).isDir) throw notFound();
    const parent = await this.dir(parentIno, parentPath.path);
    const key = keyOf(p.parts.at(-1)!);
    const slot = parent.slots.get(key);
    if (!slot) throw notFound();
    return { parent, key, ino: slot.ino };
  }

  private async readLink(inode: InodeRef): Promise<string> {
    const size = inode.size;
    if (this.isFastSymlink(inode)) return decoder.decode(inode.blockArea.subarray(0, size));
    const block = inode.block(0);
    if (block === 0) return '';
    this.checkBlock(block, `symlink inode ${inode.ino}`);
    const bytes = await this.cache.read(block);
    return decoder.decode(bytes.subarray(0, Math.min(size, this.g.blockBytes)));
  }

  private async entryOf(name: string, inode: InodeRef): Promise<DirEntry> {
    const type = typeOf(inode.mode);
    const entry: DirEntry = { name, type, sizeBytes: inode.size, modifiedMs: inode.time('mtime'), mode: inode.mode & 0o7777 };
    if (type === 'symlink') entry.target = await this.readLink(inode);
    return entry;
  }
}

/** Runs cut after the first `count` blocks: [the first `count`, the rest]. */
function splitRuns(runs: Run[], count: number): [Run[], Run[]] {
  const head: Run[] = [];
  const tail: Run[] = [];
  let left = count;
  for (const run of runs) {
    if (left >= run.length) {
      head.push(run);
      left -= run.length;
    } else if (left > 0) {
      head.push({ start: run.start, length: left });
      tail.push({ start: run.start + left, length: run.length - left });
      left = 0;
    } else {
      tail.push(run);
    }
  }
  return [head, tail];
}

function isDotOrDotDot(name: Uint8Array): boolean {
  return (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e);
}

/**
 * Opens the ext2 (or ext3 with a clean journal) on `device` for reading and writing. Throws
 * VALIDATION when there is no ext2 superblock or it uses features we cannot handle. Changes
 * reach the device on flush() and close().
 */
export async function openExt2(device: BlockDevice, options: Ext2OpenOptions = {}): Promise<Ext2FileSystem> {
  return Ext2Volume.open(device, options);
}
