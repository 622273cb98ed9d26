/**
 * Directory blocks (ext2_fs.h, `struct ext2_dir_entry_2`, with the filetype feature): a chain of
 * variable-length records, each at a 4-byte boundary; the last record's rec_len reaches the end
 * of the block. An unused record has inode 0.
 */
import { LoopbackError } from '../../errors';
import {
  LINUX_S_IFBLK,
  LINUX_S_IFCHR,
  LINUX_S_IFDIR,
  LINUX_S_IFIFO,
  LINUX_S_IFLNK,
  LINUX_S_IFMT,
  LINUX_S_IFREG,
  LINUX_S_IFSOCK,
} from './inode';

/** Byte offsets inside one directory entry. */
export const EXT2_DIR_ENTRY = {
  inode: 0, // __u32 Inode number (0: unused)
  rec_len: 4, // __u16 Directory entry length
  name_len: 6, // __u8 Name length
  file_type: 7, // __u8 EXT2_FT_* (filetype feature)
  name: 8, // char[name_len], not NUL-terminated
} as const;

/** file_type values (EXT2_FT_*): 0 unknown (always, without the filetype feature). */
export const EXT2_FT_UNKNOWN = 0;
export const EXT2_FT_REG_FILE = 1;
/** file_type of a directory. */
export const EXT2_FT_DIR = 2;
export const EXT2_FT_CHRDEV = 3;
export const EXT2_FT_BLKDEV = 4;
export const EXT2_FT_FIFO = 5;
export const EXT2_FT_SOCK = 6;
export const EXT2_FT_SYMLINK = 7;

/** The file_type (EXT2_FT_*) of an entry for an inode of mode `i_mode`. */
export function fileTypeOf(i_mode: number): number {
  switch (i_mode & LINUX_S_IFMT) {
    case LINUX_S_IFREG:
      return EXT2_FT_REG_FILE;
    case LINUX_S_IFDIR:
      return EXT2_FT_DIR;
    case LINUX_S_IFLNK:
      return EXT2_FT_SYMLINK;
    case LINUX_S_IFCHR:
      return EXT2_FT_CHRDEV;
    case LINUX_S_IFBLK:
      return EXT2_FT_BLKDEV;
    case LINUX_S_IFIFO:
      return EXT2_FT_FIFO;
    case LINUX_S_IFSOCK:
      return EXT2_FT_SOCK;
    default:
      return EXT2_FT_UNKNOWN;
  }
}

/** EXT2_NAME_LEN: names are at most 255 bytes. */
export const EXT2_NAME_LEN = 255;

export interface DirRecord {
  inode: number;
  name: string;
  fileType: number;
}

/** EXT2_DIR_REC_LEN(name_len): header plus name, rounded up to 4 bytes. */
export function dirRecordLength(nameBytes: number): number {
  return (8 + nameBytes + 3) & ~3;
}

/** One directory block holding `records` (an empty list gives the empty block of a grown directory). */
export function encodeDirectoryBlock(records: readonly DirRecord[], blockBytes: number): Uint8Array {
  const block = new Uint8Array(blockBytes);
  const view = new DataView(block.buffer);
  const F = EXT2_DIR_ENTRY;
  if (records.length === 0) {
    view.setUint16(F.rec_len, blockBytes, true);
    return block;
  }
  let offset = 0;
  records.forEach((record, i) => {
    const name = new TextEncoder().encode(record.name);
    const last = i === records.length - 1;
    const recLen = last ? blockBytes - offset : dirRecordLength(name.length);
    view.setUint32(offset + F.inode, record.inode, true);
    view.setUint16(offset + F.rec_len, recLen, true);
    view.setUint8(offset + F.name_len, name.length);
    view.setUint8(offset + F.file_type, record.fileType);
    block.set(name, offset + F.name);
    offset += recLen;
  });
  return block;
}

/** The records in use (inode ≠ 0) of one directory block, in on-disk order. */
export function parseDirectoryBlock(block: Uint8Array): DirRecord[] {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const F = EXT2_DIR_ENTRY;
  const records: DirRecord[] = [];
  for (let offset = 0; offset + F.name <= block.length;) {
    const recLen = view.getUint16(offset + F.rec_len, true);
    if (recLen < F.name || recLen % 4 !== 0 || offset + recLen > block.length) {
      throw new LoopbackError('CORRUPT', `a directory block has a damaged record at byte ${offset} (rec_len ${recLen}): run e2fsck`, {
        offset,
        recLen,
      });
    }
    const inode = view.getUint32(offset + F.inode, true);
    const nameLen = view.getUint8(offset + F.name_len);
    if (inode !== 0 && nameLen === 0) {
      throw new LoopbackError('CORRUPT', `a directory block has an entry with an empty name at byte ${offset}: run e2fsck`, {
        offset,
        recLen,
      });
    }
    if (inode !== 0 && F.name + nameLen <= recLen) {
      const name = new TextDecoder().decode(block.subarray(offset + F.name, offset + F.name + nameLen));
      records.push({ inode, name, fileType: view.getUint8(offset + F.file_type) });
    }
    offset += recLen;
  }
  return records;
}
