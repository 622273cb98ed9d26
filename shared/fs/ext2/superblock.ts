/**
 * The ext2 superblock (e2fsprogs lib/ext2fs/ext2_fs.h, `struct ext2_super_block`): 1024 bytes,
 * always at byte 1024 of the filesystem whatever the block size, with backup copies at the start
 * of some block groups (see layout.ts). All integers little-endian.
 *
 * Only the fields a plain revision-1 ext2 uses are modelled; everything else in the 1024 bytes
 * (journal, quota, encryption, checksum fields of ext3/ext4) stays zero when we encode.
 */
import type { BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import type { FsUsage } from '../types';

/** Where the primary superblock starts, in bytes from the start of the filesystem. */
export const SUPERBLOCK_OFFSET_BYTES = 1024;
export const SUPERBLOCK_SIZE_BYTES = 1024;

/** s_magic. */
export const EXT2_SUPER_MAGIC = 0xef53;
/** s_rev_level: revision 1 (over 0) has s_first_ino, s_inode_size and the feature flags. */
export const EXT2_DYNAMIC_REV = 1;
/** s_state. */
export const EXT2_VALID_FS = 0x0001;
/** s_errors: keep going when the kernel finds an error. */
export const EXT2_ERRORS_CONTINUE = 1;
/** s_creator_os. */
export const EXT2_OS_LINUX = 0;
/** The first inode that is not reserved (revision 0's fixed value; mke2fs keeps it). */
export const EXT2_GOOD_OLD_FIRST_INO = 11;
/** The smallest block size; s_log_block_size counts doublings from it. */
export const EXT2_MIN_BLOCK_SIZE = 1024;

/** s_feature_ro_compat: superblock backups only in groups 0, 1 and powers of 3, 5 and 7. */
export const EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER = 0x0001;
/** s_feature_incompat: directory entries record the file type. */
export const EXT2_FEATURE_INCOMPAT_FILETYPE = 0x0002;
/** s_feature_incompat: an ext3/ext4 journal needs replaying before anyone writes. */
export const EXT3_FEATURE_INCOMPAT_RECOVER = 0x0004;
/** s_feature_incompat: block numbers have 64 bits (the `_hi` fields count). */
export const EXT4_FEATURE_INCOMPAT_64BIT = 0x0080;
/** s_feature_ro_compat: files of 2 GiB and more (i_size_high counts). */
export const EXT2_FEATURE_RO_COMPAT_LARGE_FILE = 0x0002;
/** s_feature_compat: superblock backups only in the (up to two) groups of s_backup_bgs. */
export const EXT4_FEATURE_COMPAT_SPARSE_SUPER2 = 0x0200;

/** Names of the s_feature_incompat bits, as e2fsprogs (lib/e2p/feature.c) prints them. */
export const INCOMPAT_FEATURE_NAMES: Readonly<Record<number, string>> = {
  0x0001: 'compression',
  0x0002: 'filetype',
  0x0004: 'needs_recovery',
  0x0008: 'journal_dev',
  0x0010: 'meta_bg',
  0x0040: 'extent',
  0x0080: '64bit',
  0x0100: 'mmp',
  0x0200: 'flex_bg',
  0x0400: 'ea_inode',
  0x1000: 'dirdata',
  0x2000: 'metadata_csum_seed',
  0x4000: 'large_dir',
  0x8000: 'inline_data',
  0x10000: 'encrypt',
  0x20000: 'casefold',
};

/** Names of the s_feature_ro_compat bits. */
export const RO_COMPAT_FEATURE_NAMES: Readonly<Record<number, string>> = {
  0x0001: 'sparse_super',
  0x0002: 'large_file',
  0x0004: 'btree_dir',
  0x0008: 'huge_file',
  0x0010: 'uninit_bg',
  0x0020: 'dir_nlink',
  0x0040: 'extra_isize',
  0x0080: 'snapshot',
  0x0100: 'quota',
  0x0200: 'bigalloc',
  0x0400: 'metadata_csum',
  0x0800: 'replica',
  0x1000: 'read-only',
  0x2000: 'project',
  0x4000: 'shared_blocks',
  0x8000: 'verity',
};

/** The names of the bits of `mask` set in `features` ("feature 0x…" for bits without a name). */
export function featureNames(features: number, mask: number, names: Readonly<Record<number, string>>): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const value = 2 ** bit;
    if (Math.floor(features / value) % 2 === 1 && Math.floor(mask / value) % 2 === 1)
      out.push(names[value] ?? `feature 0x${value.toString(16)}`);
  }
  return out;
}

/** Byte offsets inside the superblock (ext2_fs.h order; comments as there). */
export const EXT2_SUPERBLOCK = {
  s_inodes_count: 0x00, // __u32 Inodes count
  s_blocks_count: 0x04, // __u32 Blocks count (low 32 bits)
  s_r_blocks_count: 0x08, // __u32 Reserved blocks count
  s_free_blocks_count: 0x0c, // __u32 Free blocks count
  s_free_inodes_count: 0x10, // __u32 Free inodes count
  s_first_data_block: 0x14, // __u32 First Data Block (1 for 1 KiB blocks, else 0)
  s_log_block_size: 0x18, // __u32 Block size = 1024 << s_log_block_size
  s_log_cluster_size: 0x1c, // __u32 Allocation cluster size (= block size without bigalloc)
  s_blocks_per_group: 0x20, // __u32 # Blocks per group
  s_clusters_per_group: 0x24, // __u32 # Clusters per group
  s_inodes_per_group: 0x28, // __u32 # Inodes per group
  s_mtime: 0x2c, // __u32 Mount time
  s_wtime: 0x30, // __u32 Write time
  s_mnt_count: 0x34, // __u16 Mount count
  s_max_mnt_count: 0x36, // __s16 Maximal mount count (-1: no check by count)
  s_magic: 0x38, // __u16 Magic signature
  s_state: 0x3a, // __u16 File system state
  s_errors: 0x3c, // __u16 Behaviour when detecting errors
  s_minor_rev_level: 0x3e, // __u16 minor revision level
  s_lastcheck: 0x40, // __u32 time of last check
  s_checkinterval: 0x44, // __u32 max. time between checks
  s_creator_os: 0x48, // __u32 OS
  s_rev_level: 0x4c, // __u32 Revision level
  s_def_resuid: 0x50, // __u16 Default uid for reserved blocks
  s_def_resgid: 0x52, // __u16 Default gid for reserved blocks
  s_first_ino: 0x54, // __u32 First non-reserved inode
  s_inode_size: 0x58, // __u16 size of inode structure
  s_block_group_nr: 0x5a, // __u16 block group # of this superblock
  s_feature_compat: 0x5c, // __u32 compatible feature set
  s_feature_incompat: 0x60, // __u32 incompatible feature set
  s_feature_ro_compat: 0x64, // __u32 readonly-compatible feature set
  s_uuid: 0x68, // __u8[16] 128-bit uuid for volume
  s_volume_name: 0x78, // __u8[16] volume name (EXT2_LABEL_LEN)
  s_reserved_gdt_blocks: 0xce, // __u16 Per group table for online growth
  s_mkfs_time: 0x108, // __u32 When the filesystem was created
  s_blocks_count_hi: 0x150, // __u32 Blocks count (high 32 bits, 64bit feature)
  s_r_blocks_count_hi: 0x154, // __u32 Reserved blocks count (high)
  s_free_blocks_hi: 0x158, // __u32 Free blocks count (high)
  s_min_extra_isize: 0x15c, // __u16 All inodes have at least # bytes
  s_want_extra_isize: 0x15e, // __u16 New inodes should reserve # bytes
  s_overhead_clusters: 0x248, // __u32 overhead blocks/clusters in fs (0: the kernel computes it)
  s_backup_bgs: 0x24c, // __u32[2] groups with sb backups (sparse_super2)
} as const;

/** EXT2_LABEL_LEN: s_volume_name holds at most 16 bytes, NUL-padded. */
export const EXT2_LABEL_LEN = 16;
export const EXT2_UUID_LEN = 16;

export interface Ext2Superblock {
  s_inodes_count: number;
  /** Low 32 bits; blocksCount() adds s_blocks_count_hi when the 64bit feature is on. */
  s_blocks_count: number;
  s_r_blocks_count: number;
  s_free_blocks_count: number;
  s_free_inodes_count: number;
  s_first_data_block: number;
  s_log_block_size: number;
  s_log_cluster_size: number;
  s_blocks_per_group: number;
  s_clusters_per_group: number;
  s_inodes_per_group: number;
  /** Times are seconds since the epoch (32-bit: 2106 at the latest). */
  s_mtime: number;
  s_wtime: number;
  s_mnt_count: number;
  s_max_mnt_count: number;
  s_magic: number;
  s_state: number;
  s_errors: number;
  s_minor_rev_level: number;
  s_lastcheck: number;
  s_checkinterval: number;
  s_creator_os: number;
  s_rev_level: number;
  s_def_resuid: number;
  s_def_resgid: number;
  s_first_ino: number;
  s_inode_size: number;
  s_block_group_nr: number;
  s_feature_compat: number;
  s_feature_incompat: number;
  s_feature_ro_compat: number;
  s_uuid: Uint8Array;
  /** Raw 16 bytes, NUL-padded; labelOf() decodes it. */
  s_volume_name: Uint8Array;
  s_reserved_gdt_blocks: number;
  s_mkfs_time: number;
  s_blocks_count_hi: number;
  s_r_blocks_count_hi: number;
  s_free_blocks_hi: number;
  s_min_extra_isize: number;
  s_want_extra_isize: number;
  s_overhead_clusters: number;
}

const F = EXT2_SUPERBLOCK;

export function encodeSuperblock(sb: Ext2Superblock): Uint8Array {
  const bytes = new Uint8Array(SUPERBLOCK_SIZE_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(F.s_inodes_count, sb.s_inodes_count, true);
  view.setUint32(F.s_blocks_count, sb.s_blocks_count, true);
  view.setUint32(F.s_r_blocks_count, sb.s_r_blocks_count, true);
  view.setUint32(F.s_free_blocks_count, sb.s_free_blocks_count, true);
  view.setUint32(F.s_free_inodes_count, sb.s_free_inodes_count, true);
  view.setUint32(F.s_first_data_block, sb.s_first_data_block, true);
  view.setUint32(F.s_log_block_size, sb.s_log_block_size, true);
  view.setUint32(F.s_log_cluster_size, sb.s_log_cluster_size, true);
  view.setUint32(F.s_blocks_per_group, sb.s_blocks_per_group, true);
  view.setUint32(F.s_clusters_per_group, sb.s_clusters_per_group, true);
  view.setUint32(F.s_inodes_per_group, sb.s_inodes_per_group, true);
  view.setUint32(F.s_mtime, sb.s_mtime, true);
  view.setUint32(F.s_wtime, sb.s_wtime, true);
  view.setUint16(F.s_mnt_count, sb.s_mnt_count, true);
  view.setInt16(F.s_max_mnt_count, sb.s_max_mnt_count, true);
  view.setUint16(F.s_magic, sb.s_magic, true);
  view.setUint16(F.s_state, sb.s_state, true);
  view.setUint16(F.s_errors, sb.s_errors, true);
  view.setUint16(F.s_minor_rev_level, sb.s_minor_rev_level, true);
  view.setUint32(F.s_lastcheck, sb.s_lastcheck, true);
  view.setUint32(F.s_checkinterval, sb.s_checkinterval, true);
  view.setUint32(F.s_creator_os, sb.s_creator_os, true);
  view.setUint32(F.s_rev_level, sb.s_rev_level, true);
  view.setUint16(F.s_def_resuid, sb.s_def_resuid, true);
  view.setUint16(F.s_def_resgid, sb.s_def_resgid, true);
  view.setUint32(F.s_first_ino, sb.s_first_ino, true);
  view.setUint16(F.s_inode_size, sb.s_inode_size, true);
  view.setUint16(F.s_block_group_nr, sb.s_block_group_nr, true);
  view.setUint32(F.s_feature_compat, sb.s_feature_compat, true);
  view.setUint32(F.s_feature_incompat, sb.s_feature_incompat, true);
  view.setUint32(F.s_feature_ro_compat, sb.s_feature_ro_compat, true);
  bytes.set(sb.s_uuid.subarray(0, EXT2_UUID_LEN), F.s_uuid);
  bytes.set(sb.s_volume_name.subarray(0, EXT2_LABEL_LEN), F.s_volume_name);
  view.setUint16(F.s_reserved_gdt_blocks, sb.s_reserved_gdt_blocks, true);
  view.setUint32(F.s_mkfs_time, sb.s_mkfs_time, true);
  view.setUint32(F.s_blocks_count_hi, sb.s_blocks_count_hi, true);
  view.setUint32(F.s_r_blocks_count_hi, sb.s_r_blocks_count_hi, true);
  view.setUint32(F.s_free_blocks_hi, sb.s_free_blocks_hi, true);
  view.setUint16(F.s_min_extra_isize, sb.s_min_extra_isize, true);
  view.setUint16(F.s_want_extra_isize, sb.s_want_extra_isize, true);
  view.setUint32(F.s_overhead_clusters, sb.s_overhead_clusters, true);
  return bytes;
}

/** Decodes the 1024 superblock bytes (no validation: see detectExt2). */
export function parseSuperblock(bytes: Uint8Array): Ext2Superblock {
  if (bytes.length < SUPERBLOCK_SIZE_BYTES) {
    throw new LoopbackError('INVALID_INPUT', `an ext2 superblock is ${SUPERBLOCK_SIZE_BYTES} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SUPERBLOCK_SIZE_BYTES);
  const u32 = (offset: number) => view.getUint32(offset, true);
  const u16 = (offset: number) => view.getUint16(offset, true);
  return {
    s_inodes_count: u32(F.s_inodes_count),
    s_blocks_count: u32(F.s_blocks_count),
    s_r_blocks_count: u32(F.s_r_blocks_count),
    s_free_blocks_count: u32(F.s_free_blocks_count),
    s_free_inodes_count: u32(F.s_free_inodes_count),
    s_first_data_block: u32(F.s_first_data_block),
    s_log_block_size: u32(F.s_log_block_size),
    s_log_cluster_size: u32(F.s_log_cluster_size),
    s_blocks_per_group: u32(F.s_blocks_per_group),
    s_clusters_per_group: u32(F.s_clusters_per_group),
    s_inodes_per_group: u32(F.s_inodes_per_group),
    s_mtime: u32(F.s_mtime),
    s_wtime: u32(F.s_wtime),
    s_mnt_count: u16(F.s_mnt_count),
    s_max_mnt_count: view.getInt16(F.s_max_mnt_count, true),
    s_magic: u16(F.s_magic),
    s_state: u16(F.s_state),
    s_errors: u16(F.s_errors),
    s_minor_rev_level: u16(F.s_minor_rev_level),
    s_lastcheck: u32(F.s_lastcheck),
    s_checkinterval: u32(F.s_checkinterval),
    s_creator_os: u32(F.s_creator_os),
    s_rev_level: u32(F.s_rev_level),
    s_def_resuid: u16(F.s_def_resuid),
    s_def_resgid: u16(F.s_def_resgid),
    s_first_ino: u32(F.s_first_ino),
    s_inode_size: u16(F.s_inode_size),
    s_block_group_nr: u16(F.s_block_group_nr),
    s_feature_compat: u32(F.s_feature_compat),
    s_feature_incompat: u32(F.s_feature_incompat),
    s_feature_ro_compat: u32(F.s_feature_ro_compat),
    s_uuid: bytes.slice(F.s_uuid, F.s_uuid + EXT2_UUID_LEN),
    s_volume_name: bytes.slice(F.s_volume_name, F.s_volume_name + EXT2_LABEL_LEN),
    s_reserved_gdt_blocks: u16(F.s_reserved_gdt_blocks),
    s_mkfs_time: u32(F.s_mkfs_time),
    s_blocks_count_hi: u32(F.s_blocks_count_hi),
    s_r_blocks_count_hi: u32(F.s_r_blocks_count_hi),
    s_free_blocks_hi: u32(F.s_free_blocks_hi),
    s_min_extra_isize: u16(F.s_min_extra_isize),
    s_want_extra_isize: u16(F.s_want_extra_isize),
    s_overhead_clusters: u32(F.s_overhead_clusters),
  };
}

/** EXT2_BLOCK_SIZE(s). */
export function blockSizeOf(sb: Ext2Superblock): number {
  return EXT2_MIN_BLOCK_SIZE * 2 ** sb.s_log_block_size;
}

function is64bit(sb: Ext2Superblock): boolean {
  return (sb.s_feature_incompat & EXT4_FEATURE_INCOMPAT_64BIT) !== 0;
}

/** ext2fs_blocks_count(). */
export function blocksCountOf(sb: Ext2Superblock): number {
  return sb.s_blocks_count + (is64bit(sb) ? sb.s_blocks_count_hi * 2 ** 32 : 0);
}

/** ext2fs_free_blocks_count(). */
export function freeBlocksCountOf(sb: Ext2Superblock): number {
  return sb.s_free_blocks_count + (is64bit(sb) ? sb.s_free_blocks_hi * 2 ** 32 : 0);
}

/** The volume name as text, or null when there is none. */
export function labelOf(sb: Ext2Superblock): string | null {
  const end = sb.s_volume_name.indexOf(0);
  const raw = sb.s_volume_name.subarray(0, end === -1 ? EXT2_LABEL_LEN : end);
  return raw.length === 0 ? null : new TextDecoder().decode(raw);
}

/** The UUID the way blkid, dumpe2fs and /dev/disk/by-uuid spell it: bytes in order, lower-case hex. */
export function formatUuid(uuid: Uint8Array): string {
  const hex = Array.from(uuid.subarray(0, EXT2_UUID_LEN), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Whether the 1024 bytes at byte 1024 of a volume are an ext2 superblock (ext3 and ext4 share
 * it, so they answer true too): the magic plus the values every later computation divides by.
 */
export function detectExt2(bytes1024to2048: Uint8Array): boolean {
  if (bytes1024to2048.length < SUPERBLOCK_SIZE_BYTES) return false;
  const sb = parseSuperblock(bytes1024to2048);
  return (
    sb.s_magic === EXT2_SUPER_MAGIC &&
    sb.s_rev_level <= EXT2_DYNAMIC_REV &&
    sb.s_log_block_size <= 6 && // 64 KiB, the largest block size e2fsprogs knows
    sb.s_blocks_per_group > 0 &&
    sb.s_inodes_per_group > 0 &&
    sb.s_inodes_count > 0 &&
    blocksCountOf(sb) > sb.s_first_data_block
  );
}

/** Reads and checks the primary superblock of the ext2 on `device`; throws when there is none. */
export async function readSuperblock(device: BlockDevice): Promise<Ext2Superblock> {
  if (device.sizeBytes < SUPERBLOCK_OFFSET_BYTES + SUPERBLOCK_SIZE_BYTES) {
    throw new LoopbackError('VALIDATION', `no ext2 filesystem here: the volume is only ${device.sizeBytes} bytes`, {
      sizeBytes: device.sizeBytes,
    });
  }
  const bytes = await device.read(SUPERBLOCK_OFFSET_BYTES, SUPERBLOCK_SIZE_BYTES);
  if (!detectExt2(bytes)) {
    throw new LoopbackError('VALIDATION', 'no ext2 filesystem here: there is no valid ext2 superblock at byte 1024 of the volume', {});
  }
  return parseSuperblock(bytes);
}

/** What `df` shows, from the superblock's counters. */
export function usageFromSuperblock(sb: Ext2Superblock): FsUsage {
  const blockBytes = blockSizeOf(sb);
  const blocks = blocksCountOf(sb);
  const free = freeBlocksCountOf(sb);
  return {
    type: 'ext2',
    label: labelOf(sb),
    id: formatUuid(sb.s_uuid),
    sizeBytes: blocks * blockBytes,
    usedBytes: (blocks - free) * blockBytes,
    freeBytes: free * blockBytes,
    blockBytes,
  };
}

export async function readExt2Usage(device: BlockDevice): Promise<FsUsage> {
  return usageFromSuperblock(await readSuperblock(device));
}
