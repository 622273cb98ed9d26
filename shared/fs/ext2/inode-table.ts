/**
 * The inodes of an open volume (libext2fs inode.c): an inode by number, found through its
 * group's bg_inode_table and edited in place in its inode-table block in the metadata cache
 * (InodeRef); the table blocks of many inodes read ahead in runs (for a listing); new inodes
 * set up. Times carry nanoseconds and the epoch bits in large inodes (i_*time_extra).
 */
import { LoopbackError } from '../../errors';
import { EXT2_GROUP_DESC, type GroupDescTable } from './group-descriptor';
import { EXT2_GOOD_OLD_INODE_SIZE, EXT2_INODE, EXT2_N_BLOCKS, LINUX_S_IFDIR, LINUX_S_IFMT, LINUX_S_IFREG } from './inode';
import type { CacheEntry, MetaCache } from './meta-cache';
import type { Geometry } from './openfs';

/** Symlink targets shorter than this live in i_block (a "fast" symlink) and use no block. */
export const FAST_SYMLINK_MAX_BYTES = EXT2_N_BLOCKS * 4;
const TWO_32 = 2 ** 32;

/** A time in ms as unsigned 32-bit seconds (i_dtime, s_wtime), clamped. */
export function u32Seconds(ms: number): number {
  return Math.max(0, Math.min(TWO_32 - 1, Math.floor(ms / 1000)));
}

export type TimeField = 'atime' | 'ctime' | 'mtime' | 'crtime';
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
export class InodeRef {
  private readonly view: DataView;

  constructor(
    readonly ino: number,
    private readonly entry: CacheEntry,
    private readonly base: number,
    private readonly inodeBytes: number,
    private readonly blockBytes: number,
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
  /** i_blocks taken by the extended-attribute block (i_file_acl), if there is one. */
  get xattrBlocks512(): number {
    return this.fileAcl !== 0 ? this.blockBytes / 512 : 0;
  }
  /** Blocks of data and indirect blocks (what truncating frees), from i_blocks. */
  get ownBlocks(): number {
    return (this.blocks512 - this.xattrBlocks512) / (this.blockBytes / 512);
  }
  /** A symlink whose target is in i_block: no blocks of its own, and short enough. */
  get isFastSymlink(): boolean {
    return this.blocks512 - this.xattrBlocks512 === 0 && this.size < FAST_SYMLINK_MAX_BYTES;
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

export class InodeTable {
  constructor(
    private readonly cache: MetaCache,
    private readonly g: Geometry,
    private readonly gdt: GroupDescTable,
  ) {}

  /** Inode `ino`, its table block read into the cache if it is not there. */
  async get(ino: number): Promise<InodeRef> {
    const { block, offset } = this.location(ino);
    return new InodeRef(ino, await this.cache.get(block), offset, this.g.inodeBytes, this.g.blockBytes);
  }

  /** Reads the inode-table blocks of `inos` in as few device reads as possible. */
  async prefetch(inos: readonly number[]): Promise<void> {
    await this.cache.load(inos.map((ino) => this.location(ino).block));
  }

  /** Inode `ino` (just allocated) zeroed and set up: `mode`, one link, every time `now`. */
  async create(ino: number, mode: number, now: number): Promise<InodeRef> {
    const inode = await this.get(ino);
    inode.reset(this.g.extraIsize);
    inode.mode = mode;
    inode.links = 1;
    for (const field of ['atime', 'ctime', 'mtime', 'crtime'] as const) inode.setTime(field, now);
    return inode;
  }

  private location(ino: number): { block: number; offset: number } {
    if (!Number.isInteger(ino) || ino < 1 || ino > this.g.inodesCount) {
      throw new LoopbackError('CORRUPT', `inode number ${ino} is outside the filesystem: run e2fsck on the image`, { ino });
    }
    const group = Math.floor((ino - 1) / this.g.inodesPerGroup);
    const byte = ((ino - 1) % this.g.inodesPerGroup) * this.g.inodeBytes;
    return {
      block: this.gdt.get32(group, EXT2_GROUP_DESC.bg_inode_table) + Math.floor(byte / this.g.blockBytes),
      offset: byte % this.g.blockBytes,
    };
  }
}
