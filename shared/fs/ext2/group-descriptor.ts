/**
 * Block group descriptors (ext2_fs.h, `struct ext2_group_desc`): 32 bytes per group, packed into
 * the blocks right after each copy of the superblock (the "group descriptor table", GDT).
 * The fields after bg_flags belong to ext4's checksums and stay zero in a plain ext2.
 */

/** EXT2_MIN_DESC_SIZE: the descriptor size without the 64bit feature. */
export const EXT2_GROUP_DESC_SIZE_BYTES = 32;

/** bg_flags: the inode table is zeroed on disk (mke2fs sets it; meaningful with uninit_bg). */
export const EXT2_BG_INODE_ZEROED = 0x0004;

/** Byte offsets inside one descriptor. */
export const EXT2_GROUP_DESC = {
  bg_block_bitmap: 0x00, // __u32 Blocks bitmap block
  bg_inode_bitmap: 0x04, // __u32 Inodes bitmap block
  bg_inode_table: 0x08, // __u32 Inodes table block
  bg_free_blocks_count: 0x0c, // __u16 Free blocks count
  bg_free_inodes_count: 0x0e, // __u16 Free inodes count
  bg_used_dirs_count: 0x10, // __u16 Directories count
  bg_flags: 0x12, // __u16
} as const;

export interface Ext2GroupDesc {
  bg_block_bitmap: number;
  bg_inode_bitmap: number;
  bg_inode_table: number;
  bg_free_blocks_count: number;
  bg_free_inodes_count: number;
  bg_used_dirs_count: number;
  bg_flags: number;
}

/** Writes `desc` into `table` (a GDT being built) as descriptor number `index`. */
export function encodeGroupDesc(desc: Ext2GroupDesc, table: Uint8Array, index: number): void {
  const view = new DataView(table.buffer, table.byteOffset + index * EXT2_GROUP_DESC_SIZE_BYTES, EXT2_GROUP_DESC_SIZE_BYTES);
  const F = EXT2_GROUP_DESC;
  view.setUint32(F.bg_block_bitmap, desc.bg_block_bitmap, true);
  view.setUint32(F.bg_inode_bitmap, desc.bg_inode_bitmap, true);
  view.setUint32(F.bg_inode_table, desc.bg_inode_table, true);
  view.setUint16(F.bg_free_blocks_count, desc.bg_free_blocks_count, true);
  view.setUint16(F.bg_free_inodes_count, desc.bg_free_inodes_count, true);
  view.setUint16(F.bg_used_dirs_count, desc.bg_used_dirs_count, true);
  view.setUint16(F.bg_flags, desc.bg_flags, true);
}

/** Reads descriptor number `index` of a group descriptor table (the inverse of encodeGroupDesc). */
export function parseGroupDesc(table: Uint8Array, index: number): Ext2GroupDesc {
  const view = new DataView(table.buffer, table.byteOffset + index * EXT2_GROUP_DESC_SIZE_BYTES, EXT2_GROUP_DESC_SIZE_BYTES);
  const F = EXT2_GROUP_DESC;
  return {
    bg_block_bitmap: view.getUint32(F.bg_block_bitmap, true),
    bg_inode_bitmap: view.getUint32(F.bg_inode_bitmap, true),
    bg_inode_table: view.getUint32(F.bg_inode_table, true),
    bg_free_blocks_count: view.getUint16(F.bg_free_blocks_count, true),
    bg_free_inodes_count: view.getUint16(F.bg_free_inodes_count, true),
    bg_used_dirs_count: view.getUint16(F.bg_used_dirs_count, true),
    bg_flags: view.getUint16(F.bg_flags, true),
  };
}

/**
 * The descriptor table of an open volume (volume.ts), in memory: fields read and adjusted in
 * place. `dirty` says it — and with it the superblock, whose free counts follow the descriptors'
 * — must be written out (closefs.ts).
 */
export class GroupDescTable {
  dirty = false;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get16(group: number, field: number): number {
    return this.view.getUint16(group * EXT2_GROUP_DESC_SIZE_BYTES + field, true);
  }

  get32(group: number, field: number): number {
    return this.view.getUint32(group * EXT2_GROUP_DESC_SIZE_BYTES + field, true);
  }

  /** Adds `delta` to a 16-bit field (a count) and marks the table dirty. */
  add16(group: number, field: number, delta: number): void {
    this.view.setUint16(group * EXT2_GROUP_DESC_SIZE_BYTES + field, this.get16(group, field) + delta, true);
    this.dirty = true;
  }
}
