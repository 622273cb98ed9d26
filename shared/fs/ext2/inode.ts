/**
 * Inodes (ext2_fs.h, `struct ext2_inode` and, for inodes larger than 128 bytes, the start of
 * `struct ext2_inode_large`). The inode table of each group holds s_inodes_per_group of them,
 * s_inode_size bytes apart; inode numbers start at 1.
 */

/** i_flags: the directory has an htree index (dir_index); stale once a plain ext2 writer edits it. */
export const EXT2_INDEX_FL = 0x00001000;
/** i_flags: the inode maps its blocks with an extent tree (ext4), not the classic block map. */
export const EXT4_EXTENTS_FL = 0x00080000;
/** i_flags: the file's data is inside the inode (ext4 inline_data). */
export const EXT4_INLINE_DATA_FL = 0x10000000;

/** Special inode numbers (ext2_fs.h); 1–10 are reserved. */
export const EXT2_ROOT_INO = 2; // Root inode
/** The first inode mke2fs gives out: lost+found (EXT2_GOOD_OLD_FIRST_INO). */
export const EXT2_LOST_FOUND_INO = 11;

/** i_mode file types and permission bits (Linux stat.h values, as ext2 stores them). */
export const LINUX_S_IFMT = 0o170000;
export const LINUX_S_IFREG = 0o100000;
export const LINUX_S_IFDIR = 0o040000;
export const LINUX_S_IFLNK = 0o120000;
/** The other types (ext2 stores them; we only show them as 'other'). */
export const LINUX_S_IFCHR = 0o020000;
export const LINUX_S_IFBLK = 0o060000;
export const LINUX_S_IFIFO = 0o010000;
export const LINUX_S_IFSOCK = 0o140000;

/** EXT2_GOOD_OLD_INODE_SIZE: inodes of revision 0 (which has no s_inode_size), and the part every inode has. */
export const EXT2_GOOD_OLD_INODE_SIZE = 128;

/** EXT2_N_BLOCKS: 12 direct block pointers, then single, double and triple indirect. */
export const EXT2_NDIR_BLOCKS = 12;
export const EXT2_N_BLOCKS = 15;

/** The bytes i_extra_isize claims in a large inode: up to and including i_crtime_extra (e2fsprogs 1.47). */
export const EXT2_LARGE_INODE_EXTRA_BYTES = 32;

/** Byte offsets inside an inode. */
export const EXT2_INODE = {
  i_mode: 0x00, // __u16 File mode
  i_uid: 0x02, // __u16 Low 16 bits of Owner Uid
  i_size: 0x04, // __u32 Size in bytes
  i_atime: 0x08, // __u32 Access time
  i_ctime: 0x0c, // __u32 Inode change time
  i_mtime: 0x10, // __u32 Modification time
  i_dtime: 0x14, // __u32 Deletion Time
  i_gid: 0x18, // __u16 Low 16 bits of Group Id
  i_links_count: 0x1a, // __u16 Links count
  i_blocks: 0x1c, // __u32 Blocks count, in 512-byte units
  i_flags: 0x20, // __u32 File flags
  i_block: 0x28, // __u32[EXT2_N_BLOCKS] Pointers to blocks
  i_generation: 0x64, // __u32 File version (for NFS)
  i_file_acl: 0x68, // __u32 Extended attribute block
  i_size_high: 0x6c, // __u32 High 32 bits of the size of a regular file (i_dir_acl in revision 0)
  i_extra_isize: 0x80, // __u16 (large inodes only) bytes used beyond the first 128
  i_ctime_extra: 0x84, // __u32 (large inodes only) extra change time (nsec << 2 | epoch)
  i_mtime_extra: 0x88, // __u32 (large inodes only) extra modification time
  i_atime_extra: 0x8c, // __u32 (large inodes only) extra access time
  i_crtime: 0x90, // __u32 (large inodes only) File creation time
  i_crtime_extra: 0x94, // __u32 (large inodes only) extra creation time
} as const;

export interface Ext2Inode {
  i_mode: number;
  i_uid: number;
  i_size: number;
  i_atime: number;
  i_ctime: number;
  i_mtime: number;
  i_dtime: number;
  i_gid: number;
  i_links_count: number;
  i_blocks: number;
  i_flags: number;
  /** Block numbers; missing entries are zero. */
  i_block: number[];
}

/**
 * Encodes an inode into `inodeBytes` bytes (128 or 256). A large inode also gets i_extra_isize
 * and i_crtime (= i_ctime), as libext2fs's ext2fs_write_new_inode gives new inodes.
 */
export function encodeInode(inode: Ext2Inode, inodeBytes: number): Uint8Array {
  const bytes = new Uint8Array(inodeBytes);
  const view = new DataView(bytes.buffer);
  const F = EXT2_INODE;
  view.setUint16(F.i_mode, inode.i_mode, true);
  view.setUint16(F.i_uid, inode.i_uid, true);
  view.setUint32(F.i_size, inode.i_size, true);
  view.setUint32(F.i_atime, inode.i_atime, true);
  view.setUint32(F.i_ctime, inode.i_ctime, true);
  view.setUint32(F.i_mtime, inode.i_mtime, true);
  view.setUint32(F.i_dtime, inode.i_dtime, true);
  view.setUint16(F.i_gid, inode.i_gid, true);
  view.setUint16(F.i_links_count, inode.i_links_count, true);
  view.setUint32(F.i_blocks, inode.i_blocks, true);
  view.setUint32(F.i_flags, inode.i_flags, true);
  inode.i_block.slice(0, EXT2_N_BLOCKS).forEach((block, i) => view.setUint32(F.i_block + 4 * i, block, true));
  if (inodeBytes > 128) {
    view.setUint16(F.i_extra_isize, EXT2_LARGE_INODE_EXTRA_BYTES, true);
    view.setUint32(F.i_crtime, inode.i_ctime, true);
  }
  return bytes;
}

/** Reads an inode (the first 128 bytes are enough). A regular file's size includes i_size_high. */
export function parseInode(bytes: Uint8Array): Ext2Inode {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const F = EXT2_INODE;
  const i_mode = view.getUint16(F.i_mode, true);
  const regular = (i_mode & LINUX_S_IFMT) === LINUX_S_IFREG;
  return {
    i_mode,
    i_uid: view.getUint16(F.i_uid, true),
    i_size: view.getUint32(F.i_size, true) + (regular ? view.getUint32(F.i_size_high, true) * 2 ** 32 : 0),
    i_atime: view.getUint32(F.i_atime, true),
    i_ctime: view.getUint32(F.i_ctime, true),
    i_mtime: view.getUint32(F.i_mtime, true),
    i_dtime: view.getUint32(F.i_dtime, true),
    i_gid: view.getUint16(F.i_gid, true),
    i_links_count: view.getUint16(F.i_links_count, true),
    i_blocks: view.getUint32(F.i_blocks, true),
    i_flags: view.getUint32(F.i_flags, true),
    i_block: Array.from({ length: EXT2_N_BLOCKS }, (_, i) => view.getUint32(F.i_block + 4 * i, true)),
  };
}

/**
 * Blocks a file of `dataBlocks` data blocks occupies on disk in the classic block map: the data
 * plus the indirect blocks that point at it (single, double, triple). For free-space checks.
 */
export function blocksWithIndirect(dataBlocks: number, blockBytes: number): number {
  const perBlock = blockBytes / 4; // block numbers are __u32
  let total = dataBlocks;
  let rest = dataBlocks - EXT2_NDIR_BLOCKS;
  if (rest <= 0) return total;
  // Single indirect: one block of pointers.
  total += 1;
  rest -= perBlock;
  if (rest <= 0) return total;
  // Double indirect: one block of pointers to pointer blocks.
  const double = Math.min(rest, perBlock * perBlock);
  total += 1 + Math.ceil(double / perBlock);
  rest -= double;
  if (rest <= 0) return total;
  // Triple indirect.
  total += 1 + Math.ceil(rest / (perBlock * perBlock)) + Math.ceil(rest / perBlock);
  return total;
}
