/**
 * The classic block map of an open volume's inodes (libext2fs bmap.c, block.c): i_block's 12
 * direct blocks (EXT2_NDIR_BLOCKS), then the single, double and triple indirect blocks. Walked
 * (each data block in logical order, each indirect block on the way), built in one go for a
 * file's new data, grown a block at a time for a directory, and freed. Indirect blocks live in
 * the metadata cache — except those built for a file's data, which go to the device with the
 * data (fileio.ts). (block-map.ts reads the same maps straight from the device, read-only.)
 */
import { LoopbackError } from '../../errors';
import type { FileExtent } from '../types';
import type { Allocator, Run } from './alloc';
import { appendBlockExtent } from './block-map';
import {
  EXT2_N_BLOCKS,
  EXT2_NDIR_BLOCKS,
  EXT4_EXTENTS_FL,
  EXT4_INLINE_DATA_FL,
  LINUX_S_IFDIR,
  LINUX_S_IFLNK,
  LINUX_S_IFREG,
} from './inode';
import type { InodeRef } from './inode-table';
import type { MetaCache } from './meta-cache';
import type { Geometry } from './openfs';

/** Throws CORRUPT unless `block` is inside the volume (a damaged map must not send us elsewhere). */
export function checkBlock(g: Geometry, block: number, what: string): void {
  if (block < g.firstDataBlock || block >= g.blocksCount) {
    throw new LoopbackError('CORRUPT', `${what}: block number ${block} is outside the filesystem: run e2fsck on the image`, {
      path: what,
      block,
    });
  }
}

/** Data blocks the classic block map can address with `perBlock` numbers per indirect block. */
export function maxMappedBlocks(perBlock: number): number {
  return EXT2_NDIR_BLOCKS + perBlock + perBlock ** 2 + perBlock ** 3;
}

export class BlockMap {
  constructor(
    private readonly cache: MetaCache,
    private readonly g: Geometry,
    private readonly alloc: Allocator,
  ) {}

  /**
   * Walks the classic block map: `onData(logical, block)` for each mapped block below `limit`
   * (in logical order), `onMeta(block)` for each indirect block on the way. A map that names
   * more blocks than the volume has (indirect blocks pointing at each other or at the same
   * blocks over and over: only a damaged or crafted map does) is refused (CORRUPT) as soon as
   * it does, so a walk is bounded by the volume's size whatever i_size claims.
   */
  async walk(
    inode: InodeRef,
    limit: number,
    what: string,
    onData: (logical: number, block: number) => void,
    onMeta?: (block: number) => void,
  ): Promise<void> {
    if (inode.flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) {
      throw new LoopbackError('VALIDATION', `${what} uses ext4 extents or inline data, not the ext2 block map`, { path: what });
    }
    const P = this.g.perBlock;
    let named = 0;
    const count = (): void => {
      if (++named > this.g.blocksCount) {
        throw new LoopbackError(
          'CORRUPT',
          `${what}: its block map names more blocks than the filesystem has (${this.g.blocksCount}): run e2fsck on the image`,
          { path: what },
        );
      }
    };
    for (let i = 0; i < EXT2_NDIR_BLOCKS && i < limit; i++) {
      const block = inode.block(i);
      if (block !== 0) {
        checkBlock(this.g, block, what);
        count();
        onData(i, block);
      }
    }
    const visit = async (block: number, depth: number, first: number): Promise<void> => {
      if (block === 0 || first >= limit) return;
      checkBlock(this.g, block, what);
      count();
      onMeta?.(block);
      const bytes = await this.cache.read(block);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const span = P ** (depth - 1);
      for (let i = 0; i < P && first + i * span < limit; i++) {
        const child = view.getUint32(4 * i, true);
        if (child === 0) continue;
        if (depth === 1) {
          checkBlock(this.g, child, what);
          count();
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

  /**
   * A regular file's data extents from the map in memory, with the semantics of ext2FileExtents
   * (block-map.ts, which reads the device): adjacent blocks merged, indirect blocks and holes
   * left out, the last extent cut at i_size.
   */
  async extents(inode: InodeRef, what: string): Promise<FileExtent[]> {
    const B = this.g.blockBytes;
    const size = inode.size;
    const extents: FileExtent[] = [];
    await this.walk(inode, Math.ceil(size / B), what, (logical, block) => appendBlockExtent(extents, logical, block, B, size));
    return extents;
  }

  /** Frees every data and indirect block of the inode and empties its map (size 0). */
  async freeData(inode: InodeRef): Promise<void> {
    if (this.hasBlockMap(inode)) {
      const blocks: number[] = [];
      await this.walk(
        inode,
        Infinity,
        `inode ${inode.ino}`,
        (_, block) => blocks.push(block),
        (block) => blocks.push(block),
      );
      await this.alloc.releaseBlocks(blocks);
    }
    for (let i = 0; i < EXT2_N_BLOCKS; i++) inode.setBlock(i, 0);
    inode.size = 0;
    inode.blocks512 = inode.xattrBlocks512;
  }

  /**
   * Points the inode at its new data: direct blocks, then the single, double and triple
   * indirect blocks, taken from `metaRuns` in the order blocksWithIndirect counts them. Returns
   * the indirect blocks' contents, in that order, for the caller to write with the data (fileio.ts).
   */
  build(inode: InodeRef, dataRuns: Run[], metaRuns: Run[], dataBlocks: number): Uint8Array {
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
  async map(inode: InodeRef, logical: number, block: number): Promise<void> {
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
      pointer = await this.alloc.allocMeta(block);
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
        child = await this.alloc.allocMeta(block);
        view.setUint32(4 * index, child, true);
        entry.dirty = true;
        inode.blocks512 += per512;
      }
      pointer = child;
    }
  }

  /** Whether the inode's i_block holds block numbers (not a fast symlink's text or a device number). */
  private hasBlockMap(inode: InodeRef): boolean {
    const type = inode.type;
    if (type === LINUX_S_IFREG || type === LINUX_S_IFDIR) return true;
    return type === LINUX_S_IFLNK && !inode.isFastSymlink;
  }
}
