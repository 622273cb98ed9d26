/**
 * Symlink targets on an open volume (libext2fs symlink.c): a target shorter than
 * FAST_SYMLINK_MAX_BYTES (60) lives in i_block itself — a "fast" symlink, no block of its own —
 * a longer one (up to a block less one byte) in one block, kept in the metadata cache.
 */
import type { Allocator } from './alloc';
import { checkBlock } from './bmap';
import { FAST_SYMLINK_MAX_BYTES, type InodeRef } from './inode-table';
import type { MetaCache } from './meta-cache';
import type { Geometry } from './openfs';

const decoder = new TextDecoder();

/** Blocks a symlink to `targetBytes` needs: 0 for a fast one, else 1. */
export function symlinkBlocks(targetBytes: Uint8Array): number {
  return targetBytes.length < FAST_SYMLINK_MAX_BYTES ? 0 : 1;
}

/** A symlink's target: from i_block (a fast symlink) or from its one block. */
export async function readLink(cache: MetaCache, g: Geometry, inode: InodeRef): Promise<string> {
  const size = inode.size;
  if (inode.isFastSymlink) return decoder.decode(inode.blockArea.subarray(0, size));
  const block = inode.block(0);
  if (block === 0) return '';
  checkBlock(g, block, `symlink inode ${inode.ino}`);
  const bytes = await cache.read(block);
  return decoder.decode(bytes.subarray(0, Math.min(size, g.blockBytes)));
}

/** Stores the target of the new symlink `inode` (which the caller checked is shorter than a block) and sets i_size. */
export async function writeLink(cache: MetaCache, g: Geometry, alloc: Allocator, inode: InodeRef, targetBytes: Uint8Array): Promise<void> {
  if (symlinkBlocks(targetBytes) === 0) {
    inode.blockArea.set(targetBytes);
    inode.markDirty();
  } else {
    const [run] = await alloc.allocBlocks(1, alloc.goalFor(inode.ino));
    cache.create(run!.start).data.set(targetBytes);
    inode.setBlock(0, run!.start);
    inode.blocks512 = g.blockBytes / 512;
  }
  inode.size = targetBytes.length;
}
