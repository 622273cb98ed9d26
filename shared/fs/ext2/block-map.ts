/**
 * Where a file's data is on an ext2 volume, read straight from the on-disk structures: the path is
 * looked up directory by directory from the root inode, then the inode's classic block map is
 * walked — 12 direct blocks, then the single, double and triple indirect blocks (ext2_fs.h,
 * EXT2_NDIR_BLOCKS … EXT2_TIND_BLOCK). The indirect blocks themselves are metadata, never part of
 * an extent: a boot loader that loads the file by its block list must skip them, as GRUB legacy's
 * `setup` does (its disk-read hook sees only data reads).
 *
 * Read-only and pure (any BlockDevice). A writer that caches metadata (volume.ts does, until
 * flush) must write it out before this reads the device; volume.ts's own extents() answers from
 * memory, through bmap.ts, with the same semantics.
 */
import type { BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import type { FileExtent } from '../types';
import { parseDirectoryBlock } from './directory';
import { EXT2_GROUP_DESC_SIZE_BYTES, parseGroupDesc } from './group-descriptor';
import {
  EXT2_GOOD_OLD_INODE_SIZE,
  EXT2_NDIR_BLOCKS,
  EXT2_ROOT_INO,
  EXT4_EXTENTS_FL,
  EXT4_INLINE_DATA_FL,
  LINUX_S_IFDIR,
  LINUX_S_IFLNK,
  LINUX_S_IFMT,
  LINUX_S_IFREG,
  parseInode,
  type Ext2Inode,
} from './inode';
import { blockSizeOf, EXT4_FEATURE_INCOMPAT_64BIT, readSuperblock, type Ext2Superblock } from './superblock';

/** i_block slots of the indirect blocks (ext2_fs.h EXT2_IND_BLOCK, EXT2_DIND_BLOCK, EXT2_TIND_BLOCK). */
const EXT2_IND_BLOCK = EXT2_NDIR_BLOCKS;
const EXT2_DIND_BLOCK = EXT2_IND_BLOCK + 1;
const EXT2_TIND_BLOCK = EXT2_DIND_BLOCK + 1;

/** A volume opened for reading block maps: the superblock and what follows from it. */
class Ext2Reader {
  readonly blockBytes: number;
  private readonly inodeBytes: number;

  constructor(
    private readonly device: BlockDevice,
    private readonly sb: Ext2Superblock,
  ) {
    this.blockBytes = blockSizeOf(sb);
    this.inodeBytes = sb.s_rev_level === 0 ? EXT2_GOOD_OLD_INODE_SIZE : sb.s_inode_size;
    if (sb.s_feature_incompat & EXT4_FEATURE_INCOMPAT_64BIT) {
      throw new LoopbackError(
        'VALIDATION',
        'this is an ext4 with the 64bit feature: block maps are read from ext2 (and ext3) volumes only',
        {},
      );
    }
  }

  readBlock(block: number): Promise<Uint8Array> {
    return this.device.read(block * this.blockBytes, this.blockBytes);
  }

  /** Inode `ino` (numbers start at 1), through its group's descriptor. */
  async inode(ino: number): Promise<Ext2Inode> {
    const group = Math.floor((ino - 1) / this.sb.s_inodes_per_group);
    const index = (ino - 1) % this.sb.s_inodes_per_group;
    // The descriptor table starts in the block after the superblock's (s_first_data_block).
    const tableBytes = (this.sb.s_first_data_block + 1) * this.blockBytes;
    const descBytes = await this.device.read(tableBytes + group * EXT2_GROUP_DESC_SIZE_BYTES, EXT2_GROUP_DESC_SIZE_BYTES);
    const { bg_inode_table } = parseGroupDesc(descBytes, 0);
    return parseInode(await this.device.read(bg_inode_table * this.blockBytes + index * this.inodeBytes, EXT2_GOOD_OLD_INODE_SIZE));
  }

  /** The physical block of each logical block that is mapped, in logical order ([logical, physical]). */
  async blockMap(inode: Ext2Inode, path: string): Promise<Array<[number, number]>> {
    if (inode.i_flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) {
      throw new LoopbackError('VALIDATION', `${path} uses ext4 extents or inline data, not the ext2 block map`, { path });
    }
    const logicalBlocks = Math.ceil(inode.i_size / this.blockBytes);
    const perBlock = this.blockBytes / 4; // block numbers are __u32
    const map: Array<[number, number]> = [];
    for (let i = 0; i < Math.min(EXT2_NDIR_BLOCKS, logicalBlocks); i++) {
      const block = inode.i_block[i] ?? 0;
      if (block !== 0) map.push([i, block]);
    }
    // Indirect block of `depth` levels (1 = single) covering logical blocks from `first`.
    const walk = async (block: number, depth: number, first: number): Promise<void> => {
      if (block === 0 || first >= logicalBlocks) return;
      const pointers = await this.readBlock(block);
      const view = new DataView(pointers.buffer, pointers.byteOffset, pointers.byteLength);
      const span = perBlock ** (depth - 1);
      for (let i = 0; i < perBlock && first + i * span < logicalBlocks; i++) {
        const child = view.getUint32(4 * i, true);
        if (depth === 1) {
          if (child !== 0) map.push([first + i, child]);
        } else {
          await walk(child, depth - 1, first + i * span);
        }
      }
    };
    await walk(inode.i_block[EXT2_IND_BLOCK] ?? 0, 1, EXT2_NDIR_BLOCKS);
    await walk(inode.i_block[EXT2_DIND_BLOCK] ?? 0, 2, EXT2_NDIR_BLOCKS + perBlock);
    await walk(inode.i_block[EXT2_TIND_BLOCK] ?? 0, 3, EXT2_NDIR_BLOCKS + perBlock + perBlock ** 2);
    return map;
  }

  /** The byte extents of an inode's data, adjacent blocks merged, the last one cut at i_size. */
  async extents(inode: Ext2Inode, path: string): Promise<FileExtent[]> {
    const extents: FileExtent[] = [];
    for (const [logical, physical] of await this.blockMap(inode, path)) {
      appendBlockExtent(extents, logical, physical, this.blockBytes, inode.i_size);
    }
    return extents;
  }

  /** The inode number of `path`, walking the directories from the root; symlinks are not followed. */
  async lookup(path: string): Promise<number> {
    let ino = EXT2_ROOT_INO;
    const parts = path.split('/').filter((part) => part !== '' && part !== '.');
    for (let i = 0; i < parts.length; i++) {
      const here = `/${parts.slice(0, i).join('/')}`;
      const dir = await this.inode(ino);
      if ((dir.i_mode & LINUX_S_IFMT) !== LINUX_S_IFDIR) {
        throw new LoopbackError('NOT_FOUND', `${path}: ${here} is not a folder`, { path });
      }
      let found: number | null = null;
      for (const extent of await this.extents(dir, here)) {
        const bytes = await this.device.read(extent.deviceOffsetBytes, extent.lengthBytes);
        for (let offset = 0; offset < bytes.length && found === null; offset += this.blockBytes) {
          found = parseDirectoryBlock(bytes.subarray(offset, offset + this.blockBytes)).find((r) => r.name === parts[i])?.inode ?? null;
        }
        if (found !== null) break;
      }
      if (found === null) throw new LoopbackError('NOT_FOUND', `${path}: no such file or folder`, { path });
      ino = found;
    }
    return ino;
  }
}

/** The data extents of the regular file at `path` on the ext2 volume on `device`. */
export async function ext2FileExtents(device: BlockDevice, path: string): Promise<FileExtent[]> {
  const reader = new Ext2Reader(device, await readSuperblock(device));
  const inode = await reader.inode(await reader.lookup(path));
  const type = inode.i_mode & LINUX_S_IFMT;
  if (type !== LINUX_S_IFREG) {
    const what = type === LINUX_S_IFDIR ? 'a folder' : type === LINUX_S_IFLNK ? 'a symlink' : 'not a regular file';
    throw new LoopbackError('INVALID_INPUT', `${path} is ${what}: only a regular file has a block list`, { path });
  }
  return reader.extents(inode, path);
}

/**
 * Adds file block `logical`, stored at volume block `physical`, to `extents` (file order): it
 * joins the last extent when it continues it on the device too. The file's last block counts
 * only up to the file's size.
 */
export function appendBlockExtent(extents: FileExtent[], logical: number, physical: number, blockBytes: number, fileBytes: number): void {
  const fileOffsetBytes = logical * blockBytes;
  const lengthBytes = Math.min(blockBytes, fileBytes - fileOffsetBytes);
  const deviceOffsetBytes = physical * blockBytes;
  const last = extents[extents.length - 1];
  if (
    last &&
    last.fileOffsetBytes + last.lengthBytes === fileOffsetBytes &&
    last.deviceOffsetBytes + last.lengthBytes === deviceOffsetBytes
  ) {
    last.lengthBytes += lengthBytes;
  } else {
    extents.push({ fileOffsetBytes, deviceOffsetBytes, lengthBytes });
  }
}
