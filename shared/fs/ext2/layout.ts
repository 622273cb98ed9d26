/**
 * Where everything of a new ext2 goes: block size, group count, inodes per group and the place
 * of each group's superblock copy, descriptor table, bitmaps and inode table. The arithmetic is
 * mke2fs's (e2fsprogs 1.47 misc/mke2fs.c and lib/ext2fs/initialize.c) for a plain ext2 with only
 * sparse_super and filetype, so the same volume gets the same geometry from either tool.
 *
 * Pure: planExt2Layout validates everything and throws before a caller writes anything.
 */
import { LoopbackError } from '../../errors';
import { EXT2_GROUP_DESC_SIZE_BYTES } from './group-descriptor';
import { EXT2_GOOD_OLD_FIRST_INO } from './superblock';

export type Ext2BlockBytes = 1024 | 4096;
export type Ext2InodeBytes = 128 | 256;

export interface Ext2LayoutOptions {
  /** Default as mke2fs.conf: 1024 below 512 MiB ("floppy" and "small"), 4096 from there on. */
  blockBytes?: Ext2BlockBytes;
  /**
   * 128 (default) or 256. 128-byte inodes are what every ext2 reader handles, GRUB's and most
   * hobby kernels' included, but their 32-bit times end in 2038 (2106 read as unsigned); 256
   * bytes is mke2fs 1.47's default and adds creation time and room for y2038-safe times.
   */
  inodeBytes?: Ext2InodeBytes;
  /** Bytes of volume per inode (mke2fs -i). Default by size as mke2fs.conf: 8192 below 3 MiB, 4096 below 512 MiB, 16384 below 4 TiB, then 32768 / 65536. */
  inodeRatio?: number;
  /** Blocks kept for root (mke2fs -m), percent of the volume, 0–50. Default 5. */
  reservedPercent?: number;
}

export interface Ext2Layout {
  blockBytes: Ext2BlockBytes;
  inodeBytes: Ext2InodeBytes;
  inodeRatio: number;
  /** s_blocks_count: whole blocks of the volume, less a last group too small to be worth it. */
  blocksCount: number;
  /** s_first_data_block: 1 with 1 KiB blocks (block 0 is the boot block), else 0. */
  firstDataBlock: number;
  blocksPerGroup: number;
  groupCount: number;
  /** Blocks of each copy of the group descriptor table. */
  descBlocks: number;
  inodesPerGroup: number;
  inodeTableBlocks: number;
  inodesCount: number;
  reservedBlocks: number;
  /** Blocks used by lost+found: mke2fs grows it to 12 KiB (1 KiB blocks) or 16 KiB (4 KiB). */
  lostFoundBlocks: number;
}

export interface Ext2GroupLayout {
  group: number;
  firstBlock: number;
  blockCount: number;
  /** Whether this group holds a superblock and descriptor table copy (sparse_super). */
  hasSuperblock: boolean;
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  /** Superblock + descriptor table (if any) + 2 bitmaps + inode table. */
  metadataBlocks: number;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const TIB = 1024 * 1024 * MIB;
/** Without the 64bit feature, block (and inode) numbers are 32 bits. */
const MAX_U32 = 2 ** 32 - 1;
/** Group 0 must hold inodes 1–11 (lost+found is 11); a multiple of 8 at least that is 16. */
const MIN_INODES_PER_GROUP = 16;
/** mke2fs -i accepts EXT2_MIN_BLOCK_SIZE .. EXT2_MAX_BLOCK_SIZE * 1024. */
const MIN_INODE_RATIO = 1024;
const MAX_INODE_RATIO = 64 * MIB;
/** misc/mke2fs.c rounds a device's block count down to a multiple of the page size. */
const PAGE_BYTES = 4096;
/** ext2fs_initialize drops a last group with fewer than its overhead + 50 blocks. */
const LAST_GROUP_SLACK_BLOCKS = 50;

/** mke2fs's size types (misc/mke2fs.c parse_fs_type) with Debian's mke2fs.conf values. */
function sizeType(sizeBytes: number): { name: string; blockBytes: Ext2BlockBytes; inodeRatio: number } {
  if (sizeBytes < 3 * MIB) return { name: 'floppy', blockBytes: 1024, inodeRatio: 8192 };
  if (sizeBytes < 512 * MIB) return { name: 'small', blockBytes: 1024, inodeRatio: 4096 };
  if (sizeBytes < 4 * TIB) return { name: 'default', blockBytes: 4096, inodeRatio: 16384 };
  if (sizeBytes < 16 * TIB) return { name: 'big', blockBytes: 4096, inodeRatio: 32768 };
  return { name: 'huge', blockBytes: 4096, inodeRatio: 65536 };
}

/** ext2fs_bg_has_super with sparse_super: groups 0, 1 and powers of 3, 5 and 7. */
export function groupHasSuperblock(group: number): boolean {
  if (group <= 1) return true;
  if (group % 2 === 0) return false;
  for (const base of [3, 5, 7]) {
    let power = base;
    while (power < group) power *= base;
    if (power === group) return true;
  }
  return false;
}

export function groupLayout(layout: Ext2Layout, group: number): Ext2GroupLayout {
  const firstBlock = layout.firstDataBlock + group * layout.blocksPerGroup;
  const last = group === layout.groupCount - 1;
  const blockCount = last ? layout.blocksCount - firstBlock : layout.blocksPerGroup;
  const hasSuperblock = groupHasSuperblock(group);
  const blockBitmap = firstBlock + (hasSuperblock ? 1 + layout.descBlocks : 0);
  return {
    group,
    firstBlock,
    blockCount,
    hasSuperblock,
    blockBitmap,
    inodeBitmap: blockBitmap + 1,
    inodeTable: blockBitmap + 2,
    metadataBlocks: blockBitmap + 2 + layout.inodeTableBlocks - firstBlock,
  };
}

/** Blocks mke2fs gives lost+found (misc/mke2fs.c create_lost_and_found). */
function lostFoundBlocks(blockBytes: number): number {
  let blocks = 1;
  for (let i = 1, bytes = 0; i < 12; i++) {
    bytes += blockBytes;
    if (bytes >= 16 * KIB && bytes >= 2 * blockBytes) break;
    blocks++;
  }
  return blocks;
}

function invalid(message: string, details: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

function checkOptions(options: Ext2LayoutOptions): void {
  const { blockBytes, inodeBytes, inodeRatio, reservedPercent } = options;
  if (blockBytes !== undefined && blockBytes !== 1024 && blockBytes !== 4096) {
    throw invalid(`ext2 block size ${String(blockBytes)} is not supported: use 1024 or 4096`, { blockBytes });
  }
  if (inodeBytes !== undefined && inodeBytes !== 128 && inodeBytes !== 256) {
    throw invalid(`ext2 inode size ${String(inodeBytes)} is not supported: use 128 or 256`, { inodeBytes });
  }
  if (inodeRatio !== undefined && (!Number.isSafeInteger(inodeRatio) || inodeRatio < MIN_INODE_RATIO || inodeRatio > MAX_INODE_RATIO)) {
    throw invalid(
      `inode ratio ${String(inodeRatio)} is out of range: give whole bytes per inode from ${MIN_INODE_RATIO} to ${MAX_INODE_RATIO}`,
      { inodeRatio },
    );
  }
  if (reservedPercent !== undefined && (!Number.isFinite(reservedPercent) || reservedPercent < 0 || reservedPercent > 50)) {
    throw invalid(`reserved blocks percentage ${String(reservedPercent)} is out of range: give 0 to 50`, { reservedPercent });
  }
}

/**
 * The geometry of an ext2 filling `sizeBytes`, or a LoopbackError (INVALID_INPUT for a bad
 * option, VALIDATION for a volume too small or too large) saying what to change.
 */
export function planExt2Layout(sizeBytes: number, options: Ext2LayoutOptions = {}): Ext2Layout {
  checkOptions(options);
  const type = sizeType(sizeBytes);
  const blockBytes = options.blockBytes ?? type.blockBytes;
  const inodeBytes = options.inodeBytes ?? 128;
  const inodeRatio = options.inodeRatio ?? type.inodeRatio;
  const reservedPercent = options.reservedPercent ?? 5;
  const sizeText = `${sizeBytes} bytes (${(sizeBytes / MIB).toFixed(2)} MiB)`;

  if (inodeRatio < blockBytes) {
    // mke2fs would shrink the groups below 8 × block size to fit the inode bitmap; we keep the
    // classic geometry instead and say so.
    throw invalid(
      `inode ratio ${inodeRatio} is below the block size ${blockBytes}: one inode bitmap block cannot cover that many inodes per group; use an inode ratio of at least ${blockBytes}`,
      { inodeRatio, blockBytes },
    );
  }
  // mke2fs, taking the size from the device, rounds it down to whole pages (4 KiB); so do we,
  // so that a volume gets the same geometry from either tool.
  const requestedBlocks = Math.floor(sizeBytes / PAGE_BYTES) * (PAGE_BYTES / blockBytes);
  if (requestedBlocks > MAX_U32) {
    const hint = blockBytes === 1024 ? 'use 4096-byte blocks' : 'ext2 without the 64bit feature cannot be larger; use a smaller partition';
    throw new LoopbackError(
      'VALIDATION',
      `a volume of ${sizeText} is too large for ext2 with ${blockBytes}-byte blocks (at most ${MAX_U32} blocks, ${((MAX_U32 * blockBytes) / TIB).toFixed(1)} TiB): ${hint}`,
      { sizeBytes, blockBytes },
    );
  }

  const firstDataBlock = blockBytes === 1024 ? 1 : 0;
  const blocksPerGroup = 8 * blockBytes; // one bitmap block covers the group
  const descPerBlock = blockBytes / EXT2_GROUP_DESC_SIZE_BYTES;
  // misc/mke2fs.c: inodes from the ratio, reserved blocks from the percentage, both on the
  // whole volume; lib/ext2fs/initialize.c then keeps the inode count if it drops a group.
  const requestedInodes = Math.max(Math.floor((requestedBlocks * blockBytes) / inodeRatio), EXT2_GOOD_OLD_FIRST_INO + 1);
  if (requestedInodes * inodeBytes >= requestedBlocks * blockBytes) {
    throw new LoopbackError(
      'VALIDATION',
      `a volume of ${sizeText} is too small for ext2: its ${requestedInodes} inodes of ${inodeBytes} bytes would not leave room for data; make it larger`,
      { sizeBytes },
    );
  }
  const requestedReserved = Math.floor((reservedPercent * requestedBlocks) / 100);
  const tooSmall = (overheadBlocks: number) => {
    const minimumBytes = Math.ceil(((firstDataBlock + overheadBlocks + LAST_GROUP_SLACK_BLOCKS) * blockBytes) / PAGE_BYTES) * PAGE_BYTES;
    const hint = blockBytes === 4096 ? ', or use 1024-byte blocks' : '';
    return new LoopbackError(
      'VALIDATION',
      `a volume of ${sizeText} is too small for ext2 with ${blockBytes}-byte blocks: it needs at least ${minimumBytes} bytes (${Math.ceil(minimumBytes / KIB)} KiB); make the image or partition larger${hint}`,
      { sizeBytes, blockBytes, minimumBytes },
    );
  };

  let blocksCount = requestedBlocks;
  let reservedBlocks = requestedReserved;
  for (;;) {
    const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
    // A volume under two blocks: report the smallest one-group overhead (superblock, one
    // descriptor block, two bitmaps, one inode table block).
    if (groupCount <= 0) throw tooSmall(5);
    const descBlocks = Math.ceil(groupCount / descPerBlock);
    let inodesPerGroup = Math.ceil(requestedInodes / groupCount);
    // Fill the inode table's last block, then round down to a multiple of 8 (initialize.c).
    let inodeTableBlocks = Math.ceil((inodesPerGroup * inodeBytes) / blockBytes);
    inodesPerGroup = (inodeTableBlocks * blockBytes) / inodeBytes;
    inodesPerGroup &= ~7;
    // mke2fs stops here with fewer than 11 inodes ("Could not allocate inode … lost+found", e.g.
    // 60 KiB with 256-byte inodes); we give group 0 the 16 it needs instead.
    inodesPerGroup = Math.max(inodesPerGroup, MIN_INODES_PER_GROUP);
    inodeTableBlocks = Math.ceil((inodesPerGroup * inodeBytes) / blockBytes);
    if (inodesPerGroup > 8 * blockBytes || inodesPerGroup * groupCount > MAX_U32) {
      throw invalid(`inode ratio ${inodeRatio} asks for more inodes than ext2 can hold on ${sizeText}; use a larger inode ratio`, {
        inodeRatio,
      });
    }
    // Beyond 3/4 of a group mke2fs switches to meta_bg, which a plain ext2 does not have.
    if (descBlocks > (blocksPerGroup * 3) / 4 || 3 + descBlocks + inodeTableBlocks > blocksPerGroup) {
      throw new LoopbackError(
        'VALIDATION',
        `a volume of ${sizeText} is too large for ext2 with ${blockBytes}-byte blocks: its ${groupCount} group descriptors would not fit in a block group; use 4096-byte blocks`,
        { sizeBytes, blockBytes },
      );
    }
    const lastGroupOverhead = 2 + inodeTableBlocks + (groupHasSuperblock(groupCount - 1) ? 1 + descBlocks : 0);
    const rem = (blocksCount - firstDataBlock) % blocksPerGroup;
    if (groupCount === 1 && rem !== 0 && rem < lastGroupOverhead) throw tooSmall(lastGroupOverhead);
    if (rem !== 0 && rem < lastGroupOverhead + LAST_GROUP_SLACK_BLOCKS) {
      if (groupCount === 1) throw tooSmall(lastGroupOverhead);
      // Drop the runt group; keep the reserved share as a ratio (initialize.c does the same in doubles).
      const reservedRatio = (100 * requestedReserved) / requestedBlocks;
      blocksCount -= rem;
      reservedBlocks = Math.floor((reservedRatio * blocksCount) / 100);
      continue;
    }
    return {
      blockBytes,
      inodeBytes,
      inodeRatio,
      blocksCount,
      firstDataBlock,
      blocksPerGroup,
      groupCount,
      descBlocks,
      inodesPerGroup,
      inodeTableBlocks,
      inodesCount: inodesPerGroup * groupCount,
      reservedBlocks,
      lostFoundBlocks: lostFoundBlocks(blockBytes),
    };
  }
}

/**
 * Free blocks of a freshly formatted volume: every group's blocks less its metadata, less the
 * root directory's block and lost+found's (what formatExt2 leaves, and mke2fs for the same layout).
 */
export function freeBlocksAfterFormat(layout: Ext2Layout): number {
  let free = 0;
  for (let g = 0; g < layout.groupCount; g++) {
    const group = groupLayout(layout, g);
    free += group.blockCount - group.metadataBlocks;
  }
  return free - 1 - layout.lostFoundBlocks;
}
