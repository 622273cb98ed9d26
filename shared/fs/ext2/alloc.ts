/**
 * Free blocks and inodes of an open volume (libext2fs alloc.c, alloc_stats.c): the block and
 * inode bitmaps (pinned in the metadata cache), bg_free_blocks_count, bg_free_inodes_count and
 * bg_used_dirs_count in the descriptors, and the volume's totals (which the superblock gets at
 * write-out).
 *
 * Blocks are taken first-fit from a goal — after the last block allocated in the inode's group
 * — one contiguous run preferred to pieces. A folder's inode goes to a roomy group (spreading
 * folders, as ext2 does), anything else's near its parent.
 *
 * Until the next write-out the disk must keep the volume as it was at the last one, so a block
 * freed since then is "pending": free in memory but still used on disk, and not taken again.
 * When an operation needs those blocks, the caller writes the metadata out first
 * (needsWriteOut, writtenOut).
 */
import { LoopbackError } from '../../errors';
import { clearBit, setBits, testBit } from './bitmap';
import { EXT2_GROUP_DESC, type GroupDescTable } from './group-descriptor';
import type { CacheEntry, MetaCache } from './meta-cache';
import type { Geometry } from './openfs';

/** A run of blocks: [start, start + length). */
export interface Run {
  start: number;
  length: number;
}

/** Runs cut after the first `count` blocks: [the first `count`, the rest]. */
export function splitRuns(runs: Run[], count: number): [Run[], Run[]] {
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

export class Allocator {
  private readonly groups: GroupState[];
  private readonly free: { blocks: number; inodes: number };
  /** Blocks free in memory that are still used on disk (see GroupState.diskBlocks). */
  private pendingFree = 0;

  constructor(
    private readonly cache: MetaCache,
    private readonly g: Geometry,
    private readonly gdt: GroupDescTable,
  ) {
    this.groups = Array.from({ length: g.groupCount }, () => ({
      blockBitmap: null,
      inodeBitmap: null,
      diskBlocks: null,
      blockHint: 0,
      inodeHint: 0,
    }));
    let blocks = 0;
    let inodes = 0;
    for (let group = 0; group < g.groupCount; group++) {
      blocks += gdt.get16(group, EXT2_GROUP_DESC.bg_free_blocks_count);
      inodes += gdt.get16(group, EXT2_GROUP_DESC.bg_free_inodes_count);
    }
    this.free = { blocks, inodes };
  }

  /** Free blocks in the volume (s_free_blocks_count at the next write-out). */
  get freeBlocks(): number {
    return this.free.blocks;
  }

  /** Free inodes in the volume (s_free_inodes_count at the next write-out). */
  get freeInodes(): number {
    return this.free.inodes;
  }

  /** Throws unless `blocks` and `inodes` are free (counting `reclaimedBlocks` the operation frees first). */
  requireSpace(path: string, what: string, blocks: number, inodes: number, reclaimedBlocks = 0): void {
    if (inodes > this.free.inodes) {
      throw new LoopbackError(
        'VALIDATION',
        `${path}: no free inodes left in the ext2 filesystem for ${what}; remove files or format with a smaller inode ratio`,
        { path, freeInodes: this.free.inodes },
      );
    }
    const free = this.free.blocks + reclaimedBlocks;
    if (blocks > free) {
      const B = this.g.blockBytes;
      throw new LoopbackError(
        'VALIDATION',
        `${path}: ${what} needs ${blocks} blocks of ${B} bytes (${blocks * B} bytes with metadata) but only ${free * B} bytes are free; remove files or use a larger partition`,
        { path, neededBytes: blocks * B, freeBytes: free * B },
      );
    }
  }

  /** Whether taking `blocks` needs the blocks freed since the last write-out (so the metadata must be written out first). */
  needsWriteOut(blocks: number): boolean {
    return this.pendingFree > 0 && this.free.blocks - this.pendingFree < blocks;
  }

  /** The metadata was written out: the disk matches memory, and the blocks freed so far may be reused. */
  writtenOut(): void {
    for (const group of this.groups) group.diskBlocks = null;
    this.pendingFree = 0;
  }

  /** Between operations: unpins the bitmaps that are unchanged, so the cache may drop them. */
  unpinCleanBitmaps(): void {
    for (const group of this.groups) {
      for (const key of ['blockBitmap', 'inodeBitmap'] as const) {
        const entry = group[key];
        if (entry && !entry.dirty && !(key === 'blockBitmap' && group.diskBlocks)) {
          entry.pinned = false;
          group[key] = null;
        }
      }
    }
  }

  // --- inodes ---

  /**
   * A free inode: for a folder in the group with the most free blocks among those with at least
   * the average of free inodes (spreading folders, as ext2 does); for anything else in its
   * parent's group, or the next group that has one.
   */
  async allocInode(isDir: boolean, parentIno: number): Promise<number> {
    const { groupCount, inodesPerGroup, firstIno } = this.g;
    const freeIn = (g: number) => this.gdt.get16(g, EXT2_GROUP_DESC.bg_free_inodes_count);
    let group = -1;
    if (isDir) {
      const average = this.free.inodes / groupCount;
      let best = -1;
      for (let g = 0; g < groupCount; g++) {
        if (freeIn(g) === 0 || freeIn(g) < average) continue;
        const blocks = this.gdt.get16(g, EXT2_GROUP_DESC.bg_free_blocks_count);
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
      setBits(entry.data, bit, 1);
      entry.dirty = true;
      state.inodeHint = bit + 1;
      this.gdt.add16(group, EXT2_GROUP_DESC.bg_free_inodes_count, -1);
      if (isDir) this.gdt.add16(group, EXT2_GROUP_DESC.bg_used_dirs_count, 1);
      this.free.inodes -= 1;
      return group * inodesPerGroup + bit + 1;
    }
    throw new LoopbackError('INTERNAL', 'no free inode although the counters said there was one: run e2fsck on the image', {});
  }

  async freeInode(ino: number, isDir: boolean): Promise<void> {
    const group = Math.floor((ino - 1) / this.g.inodesPerGroup);
    const bit = (ino - 1) % this.g.inodesPerGroup;
    const entry = await this.inodeBitmap(group);
    if (!testBit(entry.data, bit)) return;
    clearBit(entry.data, bit);
    entry.dirty = true;
    const state = this.groups[group]!;
    state.inodeHint = Math.min(state.inodeHint, bit);
    this.gdt.add16(group, EXT2_GROUP_DESC.bg_free_inodes_count, 1);
    if (isDir) this.gdt.add16(group, EXT2_GROUP_DESC.bg_used_dirs_count, -1);
    this.free.inodes += 1;
  }

  private async inodeBitmap(g: number): Promise<CacheEntry> {
    const state = this.groups[g]!;
    if (!state.inodeBitmap) {
      state.inodeBitmap = await this.cache.get(this.gdt.get32(g, EXT2_GROUP_DESC.bg_inode_bitmap));
      state.inodeBitmap.pinned = true;
    }
    return state.inodeBitmap;
  }

  // --- blocks ---

  /** Where a new block for inode `ino` should go: after the last one allocated in its group. */
  goalFor(ino: number): number {
    const group = Math.floor((ino - 1) / this.g.inodesPerGroup);
    return this.groupFirstBlock(group) + this.groups[group]!.blockHint;
  }

  /**
   * Allocates `count` blocks near `goal`: one contiguous run if there is one anywhere (the
   * goal's group from the goal on, then the following groups), else first-fit pieces from the
   * goal on. The caller has checked the space (requireSpace) and written the metadata out if
   * the blocks freed since the last write-out are needed (needsWriteOut).
   */
  async allocBlocks(count: number, goal: number): Promise<Run[]> {
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
      if (this.gdt.get16(g, FREE) < count) continue;
      const bitmap = (await this.blockBitmap(g)).data;
      for (let at = i === 0 ? goalBit : 0; ;) {
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
      if (this.gdt.get16(g, FREE) === 0) continue;
      const bitmap = (await this.blockBitmap(g)).data;
      for (let at = i === 0 ? goalBit : 0; remaining > 0;) {
        const run = this.findRun(g, bitmap, at, remaining);
        if (!run) break;
        this.take(g, run);
        runs.push(run);
        remaining -= run.length;
        at = run.start + run.length - this.groupFirstBlock(g);
      }
    }
    if (remaining > 0)
      throw new LoopbackError(
        'INTERNAL',
        'the ext2 block counters promised more free blocks than the bitmaps have: run e2fsck on the image',
        {},
      );
    return runs;
  }

  /** One new metadata block (zeros, in the cache) near `goal`. */
  async allocMeta(goal: number): Promise<number> {
    const [run] = await this.allocBlocks(1, goal);
    this.cache.create(run!.start);
    return run!.start;
  }

  /** Frees blocks (any order); blocks already free or outside the volume are skipped. */
  async releaseBlocks(blocks: number[]): Promise<void> {
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
      clearBit(entry.data, bit);
      entry.dirty = true;
      this.gdt.add16(g, EXT2_GROUP_DESC.bg_free_blocks_count, 1);
      this.free.blocks += 1;
    }
  }

  private async blockBitmap(g: number): Promise<CacheEntry> {
    const state = this.groups[g]!;
    if (!state.blockBitmap) {
      state.blockBitmap = await this.cache.get(this.gdt.get32(g, EXT2_GROUP_DESC.bg_block_bitmap));
      state.blockBitmap.pinned = true;
    }
    return state.blockBitmap;
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

  private take(g: number, run: Run): void {
    const state = this.groups[g]!;
    const entry = state.blockBitmap!;
    const bit = run.start - this.groupFirstBlock(g);
    setBits(entry.data, bit, run.length);
    entry.dirty = true;
    state.blockHint = bit + run.length;
    this.gdt.add16(g, EXT2_GROUP_DESC.bg_free_blocks_count, -run.length);
    this.free.blocks -= run.length;
  }

  private groupFirstBlock(g: number): number {
    return this.g.firstDataBlock + g * this.g.blocksPerGroup;
  }

  private groupBlockCount(g: number): number {
    return Math.min(this.g.blocksPerGroup, this.g.blocksCount - this.groupFirstBlock(g));
  }
}
