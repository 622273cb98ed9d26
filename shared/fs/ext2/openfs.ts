/**
 * Opening an ext2 volume for the file layer (volume.ts; libext2fs openfs.c): reads and checks the
 * superblock and the group descriptor table, refuses what we cannot handle — incompatible
 * features (everything but filetype), a journal that needs recovery, a filesystem larger than
 * its device, descriptors pointing outside it — and works out the Geometry the other modules
 * share. Read-only compatible features we do not keep up to date open the volume read-only.
 */
import type { BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import { EXT2_GROUP_DESC, EXT2_GROUP_DESC_SIZE_BYTES } from './group-descriptor';
import { EXT2_GOOD_OLD_INODE_SIZE } from './inode';
import {
  blockSizeOf,
  blocksCountOf,
  EXT2_FEATURE_INCOMPAT_FILETYPE,
  EXT2_FEATURE_RO_COMPAT_LARGE_FILE,
  EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER,
  EXT2_GOOD_OLD_FIRST_INO,
  EXT3_FEATURE_INCOMPAT_RECOVER,
  featureNames,
  INCOMPAT_FEATURE_NAMES,
  readSuperblock,
  RO_COMPAT_FEATURE_NAMES,
  SUPERBLOCK_OFFSET_BYTES,
  SUPERBLOCK_SIZE_BYTES,
} from './superblock';

/** Incompatible features we read and write: only filetype. */
const SUPPORTED_INCOMPAT = EXT2_FEATURE_INCOMPAT_FILETYPE;
/** Read-only compatible features we keep right: sparse_super, large_file, btree_dir (never used), extra_isize. */
const SUPPORTED_RO_COMPAT = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE | 0x0004 | 0x0040;

/** Facts from the superblock, fixed while the volume is open. */
export interface Geometry {
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
  /** s_rev_level 0: no s_inode_size, s_first_ino or feature flags, and files under 2 GiB. */
  rev0: boolean;
  /** The filetype feature: directory entries carry a file_type. */
  filetype: boolean;
}

export interface OpenedExt2 {
  /** The primary superblock's 1024 bytes, and the group descriptor table (descBlocks blocks). */
  sbBytes: Uint8Array;
  gdt: Uint8Array;
  geometry: Geometry;
  /** Why the volume cannot be written, or null. */
  readOnly: string | null;
}

/** Reads and checks the superblock and descriptors; throws VALIDATION for what we cannot handle, CORRUPT for what is damaged. */
export async function openExt2Metadata(device: BlockDevice): Promise<OpenedExt2> {
  const sb = await readSuperblock(device);
  if (sb.s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER) {
    throw new LoopbackError(
      'VALIDATION',
      'this ext3/ext4 filesystem has a journal that needs recovery: run e2fsck on it first (writing now would lose data)',
      {},
    );
  }
  const damaged = (what: string) => new LoopbackError('CORRUPT', `this ext2 filesystem looks damaged (${what}): run e2fsck on it`, {});
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
  if (inodeBytes < EXT2_GOOD_OLD_INODE_SIZE || inodeBytes > blockBytes || (inodeBytes & (inodeBytes - 1)) !== 0)
    throw damaged(`inode size ${inodeBytes}`);
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
    if (
      blockBitmap >= blocksCount ||
      inodeBitmap >= blocksCount ||
      inodeTable + tableBlocks > blocksCount ||
      blockBitmap === 0 ||
      inodeTable === 0
    ) {
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
    rev0,
    // As the superblock says, whatever the revision (a revision 0 superblock has it clear).
    filetype: (sb.s_feature_incompat & EXT2_FEATURE_INCOMPAT_FILETYPE) !== 0,
  };
  return { sbBytes, gdt, geometry, readOnly };
}
