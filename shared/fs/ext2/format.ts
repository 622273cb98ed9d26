/**
 * Formats a BlockDevice as a plain revision-1 ext2 (features: filetype, sparse_super), the way
 * `mke2fs -t ext2 -O ^resize_inode,^dir_index,^ext_attr,^large_file` would: same geometry (see
 * layout.ts), a root directory and lost+found, and nothing else.
 *
 * What is written: bytes 1024–4095 are cleared first (the old primary superblock, as mke2fs's
 * zap_sector does; bytes 0–1023 — a boot sector — are kept), then the inode tables are zeroed
 * where they do not read as zeros already, then directories, bitmaps and descriptor tables,
 * then the backup superblocks and the primary superblock LAST. The data area is never written,
 * so a sparse image stays sparse (inode tables that are holes stay holes too; mke2fs gets the
 * same by punching them with fallocate).
 *
 * Cancellation (options.signal) is honoured before each write until the superblocks: a
 * cancelled format leaves no primary ext2 superblock, so nothing (blkid, detectExt2, the
 * kernel, GRUB) sees a half-made filesystem. Whatever was on the volume before is damaged
 * by then: format it again.
 */
import type { BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import type { ProgressOptions } from '../types';
import { makeBitmap } from './bitmap';
import { encodeDirectoryBlock, EXT2_FT_DIR } from './directory';
import { EXT2_BG_INODE_ZEROED, encodeGroupDesc } from './group-descriptor';
import { encodeInode, EXT2_LOST_FOUND_INO, EXT2_ROOT_INO, LINUX_S_IFDIR } from './inode';
import { groupLayout, planExt2Layout, type Ext2GroupLayout, type Ext2Layout, type Ext2LayoutOptions } from './layout';
import {
  encodeSuperblock,
  EXT2_DYNAMIC_REV,
  EXT2_ERRORS_CONTINUE,
  EXT2_FEATURE_INCOMPAT_FILETYPE,
  EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER,
  EXT2_GOOD_OLD_FIRST_INO,
  EXT2_LABEL_LEN,
  EXT2_OS_LINUX,
  EXT2_SUPER_MAGIC,
  EXT2_UUID_LEN,
  EXT2_VALID_FS,
  formatUuid,
  SUPERBLOCK_OFFSET_BYTES,
  type Ext2Superblock,
} from './superblock';

export interface Ext2FormatOptions extends Ext2LayoutOptions, ProgressOptions {
  /** Volume name, at most 16 bytes of UTF-8 (e2label's limit), no control characters. */
  label?: string;
  /** 16 bytes; a random (version 4) UUID by default. */
  uuid?: Uint8Array;
  /** Creation time to record, ms since the epoch (default now): with `uuid`, gives identical images. */
  nowMs?: number;
}

export interface Ext2FormatResult {
  blockBytes: number;
  inodeBytes: number;
  blocksCount: number;
  inodesCount: number;
  groupCount: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  reservedBlocks: number;
  freeBlocks: number;
  freeInodes: number;
  /** Block numbers of the superblock copies after the primary (for `e2fsck -b`). */
  backupSuperblocks: number[];
  uuid: string;
  label: string | null;
}

/** Where bytes 1024–4095 end: mke2fs clears sectors 2–7 before it writes anything. */
const ZAP_END_BYTES = 4096;
/** Largest single write of zeros, so progress moves and cancel is prompt. */
const ZERO_CHUNK_BYTES = 1024 * 1024;
/** mke2fs.conf enable_periodic_fsck = 0: no check forced by mount count. */
const NO_MAX_MOUNT_COUNT = -1;
/** Root directory: drwxr-xr-x; lost+found: drwx------ (mke2fs). */
const ROOT_MODE = LINUX_S_IFDIR | 0o755;
const LOST_FOUND_MODE = LINUX_S_IFDIR | 0o700;

function encodeLabel(label: string | undefined): Uint8Array {
  const bytes = new Uint8Array(EXT2_LABEL_LEN);
  if (label === undefined) return bytes;
  const encoded = new TextEncoder().encode(label);
  if (encoded.length > EXT2_LABEL_LEN) {
    throw new LoopbackError(
      'INVALID_INPUT',
      `ext2 label "${label}" is ${encoded.length} bytes: ext2 allows at most ${EXT2_LABEL_LEN} bytes (UTF-8); shorten it`,
      { label, labelBytes: encoded.length },
    );
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(label)) {
    throw new LoopbackError('INVALID_INPUT', `ext2 label ${JSON.stringify(label)} contains control characters: use printable text`, {
      label,
    });
  }
  bytes.set(encoded);
  return bytes;
}

function makeUuid(uuid: Uint8Array | undefined): Uint8Array {
  if (uuid !== undefined) {
    if (uuid.length !== EXT2_UUID_LEN) {
      throw new LoopbackError('INVALID_INPUT', `an ext2 UUID is ${EXT2_UUID_LEN} bytes, got ${uuid.length}`, { uuidBytes: uuid.length });
    }
    return uuid.slice();
  }
  const random = crypto.getRandomValues(new Uint8Array(EXT2_UUID_LEN));
  random[6] = (random[6]! & 0x0f) | 0x40; // RFC 4122 version 4 (random)
  random[8] = (random[8]! & 0x3f) | 0x80; // RFC 4122 variant
  return random;
}

/** Everything decided before the first write: geometry, counts, and each group's blocks. */
interface Plan {
  layout: Ext2Layout;
  groups: Ext2GroupLayout[];
  /** Bits set in each group's block bitmap (its metadata, plus root and lost+found in group 0). */
  usedBlocks: number[];
  rootBlock: number;
  lostFoundFirstBlock: number;
}

function makePlan(layout: Ext2Layout): Plan {
  const groups = Array.from({ length: layout.groupCount }, (_, g) => groupLayout(layout, g));
  const usedBlocks = groups.map((group) => group.metadataBlocks);
  const group0 = groups[0]!;
  // mke2fs takes the first free blocks of group 0: the root's block, then lost+found's.
  const rootBlock = group0.firstBlock + group0.metadataBlocks;
  usedBlocks[0]! += 1 + layout.lostFoundBlocks;
  return { layout, groups, usedBlocks, rootBlock, lostFoundFirstBlock: rootBlock + 1 };
}

function isAllZero(bytes: Uint8Array): boolean {
  // Word-wise where the view allows (device reads are fresh, aligned buffers), else bytewise.
  const words =
    bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : bytes;
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new LoopbackError(
      'CANCELLED',
      'ext2 format cancelled: the volume no longer holds a valid filesystem (its old superblock is cleared); format it again before use',
      {},
    );
  }
}

export async function formatExt2(device: BlockDevice, options: Ext2FormatOptions = {}): Promise<Ext2FormatResult> {
  // Everything that can be refused is checked before the first write.
  const layout = planExt2Layout(device.sizeBytes, options);
  const volumeName = encodeLabel(options.label);
  const uuid = makeUuid(options.uuid);
  const nowMs = options.nowMs ?? Date.now();
  if (!Number.isFinite(nowMs) || nowMs < 0 || nowMs / 1000 >= 2 ** 32) {
    throw new LoopbackError('INVALID_INPUT', `creation time ${nowMs} ms cannot be stored in ext2's 32-bit seconds`, { nowMs });
  }
  const now = Math.floor(nowMs / 1000);
  const { signal, onProgress } = options;
  checkCancelled(signal);

  const plan = makePlan(layout);
  const { blockBytes: B, inodeBytes } = layout;
  const superGroups = plan.groups.filter((group) => group.hasSuperblock);
  const bytesTotal =
    ZAP_END_BYTES -
    SUPERBLOCK_OFFSET_BYTES +
    layout.groupCount * (layout.inodeTableBlocks + 2) * B +
    (1 + layout.lostFoundBlocks) * B +
    2 * inodeBytes + // root and lost+found inodes
    superGroups.length * (layout.descBlocks * B + 1024);
  let bytesDone = 0;
  const write = async (phase: string, offsetBytes: number, data: Uint8Array, cancellable = true) => {
    if (cancellable) checkCancelled(signal);
    await device.write(offsetBytes, data);
    bytesDone += data.length;
    onProgress?.({ phase, bytesDone, bytesTotal });
  };

  await write('clearing old superblock', SUPERBLOCK_OFFSET_BYTES, new Uint8Array(ZAP_END_BYTES - SUPERBLOCK_OFFSET_BYTES));

  // Inode tables: metadata, so they must read as zeros (stale inodes would look like files to
  // e2fsck). A chunk that already does (a fresh sparse image) is left alone, so it stays a hole.
  const zeros = new Uint8Array(Math.min(ZERO_CHUNK_BYTES, layout.inodeTableBlocks * B));
  for (const group of plan.groups) {
    const start = group.inodeTable * B;
    const end = start + layout.inodeTableBlocks * B;
    for (let offset = start; offset < end; offset += zeros.length) {
      const chunk = zeros.subarray(0, Math.min(zeros.length, end - offset));
      checkCancelled(signal);
      if (isAllZero(await device.read(offset, chunk.length))) {
        bytesDone += chunk.length;
        onProgress?.({ phase: 'zeroing inode tables', bytesDone, bytesTotal });
      } else {
        await write('zeroing inode tables', offset, chunk);
      }
    }
  }

  await writeDirectories(plan, now, (offset, data) => write('creating root and lost+found', offset, data));

  const freeBlocks = plan.groups.map((group, g) => group.blockCount - plan.usedBlocks[g]!);
  const freeInodes = plan.groups.map((_, g) => layout.inodesPerGroup - (g === 0 ? EXT2_LOST_FOUND_INO : 0));
  for (const group of plan.groups) {
    const g = group.group;
    await write('writing bitmaps', group.blockBitmap * B, makeBitmap(B, plan.usedBlocks[g]!, group.blockCount));
    await write('writing bitmaps', group.inodeBitmap * B, makeBitmap(B, layout.inodesPerGroup - freeInodes[g]!, layout.inodesPerGroup));
  }

  const gdt = new Uint8Array(layout.descBlocks * B);
  plan.groups.forEach((group, g) => {
    encodeGroupDesc(
      {
        bg_block_bitmap: group.blockBitmap,
        bg_inode_bitmap: group.inodeBitmap,
        bg_inode_table: group.inodeTable,
        bg_free_blocks_count: freeBlocks[g]!,
        bg_free_inodes_count: freeInodes[g]!,
        bg_used_dirs_count: g === 0 ? 2 : 0, // root and lost+found
        bg_flags: EXT2_BG_INODE_ZEROED,
      },
      gdt,
      g,
    );
  });
  for (const group of superGroups) {
    await write('writing group descriptors', (group.firstBlock + 1) * B, gdt);
  }

  const totalFreeBlocks = freeBlocks.reduce((a, b) => a + b, 0);
  const totalFreeInodes = freeInodes.reduce((a, b) => a + b, 0);
  const superblock: Ext2Superblock = {
    s_inodes_count: layout.inodesCount,
    s_blocks_count: layout.blocksCount,
    s_r_blocks_count: layout.reservedBlocks,
    s_free_blocks_count: totalFreeBlocks,
    s_free_inodes_count: totalFreeInodes,
    s_first_data_block: layout.firstDataBlock,
    s_log_block_size: Math.log2(B / 1024),
    s_log_cluster_size: Math.log2(B / 1024),
    s_blocks_per_group: layout.blocksPerGroup,
    s_clusters_per_group: layout.blocksPerGroup,
    s_inodes_per_group: layout.inodesPerGroup,
    s_mtime: 0,
    s_wtime: now,
    s_mnt_count: 0,
    s_max_mnt_count: NO_MAX_MOUNT_COUNT,
    s_magic: EXT2_SUPER_MAGIC,
    s_state: EXT2_VALID_FS,
    s_errors: EXT2_ERRORS_CONTINUE,
    s_minor_rev_level: 0,
    s_lastcheck: now,
    s_checkinterval: 0,
    s_creator_os: EXT2_OS_LINUX,
    s_rev_level: EXT2_DYNAMIC_REV,
    s_def_resuid: 0,
    s_def_resgid: 0,
    s_first_ino: EXT2_GOOD_OLD_FIRST_INO,
    s_inode_size: inodeBytes,
    s_block_group_nr: 0,
    s_feature_compat: 0,
    s_feature_incompat: EXT2_FEATURE_INCOMPAT_FILETYPE,
    s_feature_ro_compat: EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER,
    s_uuid: uuid,
    s_volume_name: volumeName,
    s_reserved_gdt_blocks: 0,
    s_mkfs_time: now,
    s_blocks_count_hi: 0,
    s_r_blocks_count_hi: 0,
    s_free_blocks_hi: 0,
    // mke2fs sets these for large inodes even without the extra_isize feature.
    s_min_extra_isize: inodeBytes > 128 ? 32 : 0,
    s_want_extra_isize: inodeBytes > 128 ? 32 : 0,
    // Blocks that are not data: the boot block (1 KiB blocks) and every group's metadata.
    s_overhead_clusters: layout.firstDataBlock + plan.groups.reduce((sum, group) => sum + group.metadataBlocks, 0),
  };

  // From here on the work is short and is not interrupted: backups first, the primary last.
  checkCancelled(signal);
  for (const group of superGroups.slice(1)) {
    await write('writing superblocks', group.firstBlock * B, encodeSuperblock({ ...superblock, s_block_group_nr: group.group }), false);
  }
  await write('writing superblocks', SUPERBLOCK_OFFSET_BYTES, encodeSuperblock(superblock), false);
  await device.flush();

  return {
    blockBytes: B,
    inodeBytes,
    blocksCount: layout.blocksCount,
    inodesCount: layout.inodesCount,
    groupCount: layout.groupCount,
    blocksPerGroup: layout.blocksPerGroup,
    inodesPerGroup: layout.inodesPerGroup,
    reservedBlocks: layout.reservedBlocks,
    freeBlocks: totalFreeBlocks,
    freeInodes: totalFreeInodes,
    backupSuperblocks: superGroups.slice(1).map((group) => group.firstBlock),
    uuid: formatUuid(uuid),
    label: options.label ? options.label : null,
  };
}

/** Root (inode 2) and lost+found (inode 11): their directory blocks and inodes. */
async function writeDirectories(plan: Plan, now: number, write: (offsetBytes: number, data: Uint8Array) => Promise<void>): Promise<void> {
  const { layout, rootBlock, lostFoundFirstBlock } = plan;
  const B = layout.blockBytes;
  await write(
    rootBlock * B,
    encodeDirectoryBlock(
      [
        { inode: EXT2_ROOT_INO, name: '.', fileType: EXT2_FT_DIR },
        { inode: EXT2_ROOT_INO, name: '..', fileType: EXT2_FT_DIR },
        { inode: EXT2_LOST_FOUND_INO, name: 'lost+found', fileType: EXT2_FT_DIR },
      ],
      B,
    ),
  );
  await write(
    lostFoundFirstBlock * B,
    encodeDirectoryBlock(
      [
        { inode: EXT2_LOST_FOUND_INO, name: '.', fileType: EXT2_FT_DIR },
        { inode: EXT2_ROOT_INO, name: '..', fileType: EXT2_FT_DIR },
      ],
      B,
    ),
  );
  // The rest of lost+found: empty records, so e2fsck can link orphans without allocating.
  const empty = encodeDirectoryBlock([], B);
  const rest = new Uint8Array((layout.lostFoundBlocks - 1) * B);
  for (let i = 0; i < layout.lostFoundBlocks - 1; i++) rest.set(empty, i * B);
  await write((lostFoundFirstBlock + 1) * B, rest);

  const times = { i_atime: now, i_ctime: now, i_mtime: now, i_dtime: 0 };
  const directory = (mode: number, links: number, first: number, blocks: number) =>
    encodeInode(
      {
        i_mode: mode,
        i_uid: 0,
        i_gid: 0,
        i_size: blocks * B,
        ...times,
        i_links_count: links,
        i_blocks: (blocks * B) / 512,
        i_flags: 0,
        i_block: Array.from({ length: blocks }, (_, i) => first + i),
      },
      layout.inodeBytes,
    );
  const inodeTable = plan.groups[0]!.inodeTable * B;
  const inodeOffset = (ino: number) => inodeTable + (ino - 1) * layout.inodeBytes;
  // Root: ".", ".." (itself) and lost+found's "..".
  await write(inodeOffset(EXT2_ROOT_INO), directory(ROOT_MODE, 3, rootBlock, 1));
  await write(inodeOffset(EXT2_LOST_FOUND_INO), directory(LOST_FOUND_MODE, 2, lostFoundFirstBlock, layout.lostFoundBlocks));
}
