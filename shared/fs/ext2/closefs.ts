/**
 * Writing an open volume's metadata out (libext2fs closefs.c): the changed blocks of the
 * metadata cache (inode tables, bitmaps, directories, indirect blocks) in sorted runs; then,
 * when the counts or features changed, the superblock (with s_free_blocks_count,
 * s_free_inodes_count and s_wtime) and the group descriptor table — the backups in the groups
 * that hold them first, the primary copies last — and a device flush. Afterwards the disk
 * matches memory, so the blocks freed so far may be reused (alloc.ts).
 */
import type { BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import type { Allocator } from './alloc';
import type { GroupDescTable } from './group-descriptor';
import { u32Seconds } from './inode-table';
import { groupHasSuperblock } from './layout';
import type { MetaCache } from './meta-cache';
import type { Geometry } from './openfs';
import {
  EXT2_FEATURE_RO_COMPAT_LARGE_FILE,
  EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER,
  EXT2_SUPERBLOCK,
  EXT4_FEATURE_COMPAT_SPARSE_SUPER2,
  SUPERBLOCK_OFFSET_BYTES,
  SUPERBLOCK_SIZE_BYTES,
} from './superblock';

export class MetadataWriter {
  /** Something was written to the device since its last flush (file data too: see FileData.write). */
  unsynced = false;
  private readonly sbView: DataView;

  constructor(
    private readonly device: BlockDevice,
    private readonly cache: MetaCache,
    private readonly g: Geometry,
    private readonly sbBytes: Uint8Array,
    private readonly gdt: GroupDescTable,
    private readonly alloc: Allocator,
    private readonly clock: () => number,
  ) {
    this.sbView = new DataView(sbBytes.buffer, sbBytes.byteOffset, SUPERBLOCK_SIZE_BYTES);
  }

  /** A file of 2 GiB or more exists: sets large_file (written out with the descriptors). */
  setLargeFile(): void {
    const at = EXT2_SUPERBLOCK.s_feature_ro_compat;
    const features = this.sbView.getUint32(at, true);
    if (!(features & EXT2_FEATURE_RO_COMPAT_LARGE_FILE)) {
      this.sbView.setUint32(at, features | EXT2_FEATURE_RO_COMPAT_LARGE_FILE, true);
      this.gdt.dirty = true;
    }
  }

  /** Writes the metadata out and flushes the device; throws IO (the changes stay in memory: flush again). */
  async sync(): Promise<void> {
    try {
      await this.writeOut();
      if (this.unsynced) {
        await this.device.flush();
        this.unsynced = false;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new LoopbackError('IO', `writing the ext2 metadata out failed: ${message}; flush again, or check the image with e2fsck`, {});
    }
  }

  /**
   * Writes the changed metadata: cached blocks (inode tables, bitmaps, directories, indirect
   * blocks) in sorted runs, then the descriptor table and superblock copies, the primary ones
   * last. Afterwards the disk matches memory, so blocks freed so far may be reused. Without
   * `backups` (a checkpoint) only the primary copies are written; the descriptors stay marked so
   * the next full write-out updates the backups too (e2fsck reads them only if the primary fails).
   */
  async writeOut(options: { backups?: boolean } = {}): Promise<void> {
    const backups = options.backups ?? true;
    const writes = await this.cache.writeDirty();
    if (writes > 0) this.unsynced = true;
    if (this.gdt.dirty) {
      const B = this.g.blockBytes;
      const sb = this.sbView;
      sb.setUint32(EXT2_SUPERBLOCK.s_free_blocks_count, this.alloc.freeBlocks, true);
      sb.setUint32(EXT2_SUPERBLOCK.s_free_inodes_count, this.alloc.freeInodes, true);
      sb.setUint32(EXT2_SUPERBLOCK.s_wtime, u32Seconds(this.clock()), true);
      const rev1 = sb.getUint32(EXT2_SUPERBLOCK.s_rev_level, true) >= 1;
      for (let g = 1; backups && g < this.g.groupCount; g++) {
        if (!this.hasSuperblockCopy(g)) continue;
        const first = this.g.firstDataBlock + g * this.g.blocksPerGroup;
        const copy = this.sbBytes.slice();
        if (rev1) new DataView(copy.buffer).setUint16(EXT2_SUPERBLOCK.s_block_group_nr, g, true);
        await this.device.write(first * B, copy);
        await this.device.write((first + 1) * B, this.gdt.bytes);
      }
      await this.device.write((this.g.firstDataBlock + 1) * B, this.gdt.bytes);
      if (rev1) sb.setUint16(EXT2_SUPERBLOCK.s_block_group_nr, 0, true);
      await this.device.write(SUPERBLOCK_OFFSET_BYTES, this.sbBytes);
      this.gdt.dirty = !backups;
      this.unsynced = true;
    }
    this.alloc.writtenOut();
  }

  /** Whether group `g` holds a backup of the superblock and descriptors (sparse_super, sparse_super2, or every group). */
  private hasSuperblockCopy(g: number): boolean {
    const sb = this.sbView;
    if (sb.getUint32(EXT2_SUPERBLOCK.s_rev_level, true) === 0) return true;
    if (sb.getUint32(EXT2_SUPERBLOCK.s_feature_compat, true) & EXT4_FEATURE_COMPAT_SPARSE_SUPER2) {
      return g === sb.getUint32(EXT2_SUPERBLOCK.s_backup_bgs, true) || g === sb.getUint32(EXT2_SUPERBLOCK.s_backup_bgs + 4, true);
    }
    if (sb.getUint32(EXT2_SUPERBLOCK.s_feature_ro_compat, true) & EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER) return groupHasSuperblock(g);
    return true;
  }
}
