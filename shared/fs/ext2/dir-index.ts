/**
 * One ext2 directory in memory, for the file layer (link.ts keeps one per folder): its blocks,
 * a name → entry map built from them (names as raw bytes, so lookups are exact even for names
 * that are not UTF-8), and for each block the largest record that would still fit, so
 * inserting does not rescan the whole directory.
 *
 * The records themselves stay in the directory blocks (ext2_fs.h `struct ext2_dir_entry_2`;
 * see directory.ts), which live in the volume's metadata cache: insert() and remove() edit a
 * block's bytes in place, following the kernel's rules (ext2/dir.c) —
 * - a new record goes into an unused record big enough, or into the slack after a used one
 *   (whose rec_len shrinks to what its name needs);
 * - a removed record is merged into the one before it in the block, or, first in its block,
 *   marked unused (inode 0);
 * - rec_len is a multiple of 4, and the records of a block cover it exactly.
 *
 * An htree (dir_index) directory reads the same way: its index blocks look like blocks holding
 * one empty record. Whoever edits one must clear EXT2_INDEX_FL (the index would be stale).
 */
import { LoopbackError } from '../../errors';
import { dirRecordLength, EXT2_DIR_ENTRY } from './directory';

const F = EXT2_DIR_ENTRY;

/** One record in use. */
export interface DirSlot {
  ino: number;
  fileType: number;
  /** Logical block of the directory, and byte offset inside it. */
  logical: number;
  offset: number;
  nameBytes: Uint8Array;
}

/** A name's raw bytes as a map key (one char per byte). */
export function nameKey(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** rec_len as stored, decoded (ext2fs_get_rec_len: 0 or 65535 mean a whole 64 KiB block). */
export function getRecLen(view: DataView, offset: number, blockBytes: number): number {
  const raw = view.getUint16(offset + F.rec_len, true);
  if (blockBytes < 65536) return raw;
  if (raw === 65535 || raw === 0) return blockBytes;
  return (raw & 65532) | ((raw & 3) << 16);
}

export function setRecLen(view: DataView, offset: number, length: number, blockBytes: number): void {
  if (length < 65536) view.setUint16(offset + F.rec_len, length, true);
  else if (length === blockBytes) view.setUint16(offset + F.rec_len, blockBytes === 65536 ? 65535 : 0, true);
  else view.setUint16(offset + F.rec_len, (length & 65532) | ((length >> 16) & 3), true);
}

function damaged(what: string, logical: number, offset: number, recLen: number, why = `rec_len ${recLen}`): LoopbackError {
  return new LoopbackError(
    'CORRUPT',
    `${what}: directory block ${logical} has a damaged record at byte ${offset} (${why}): run e2fsck on the image`,
    {
      path: what,
      block: logical,
      offset,
      recLen,
    },
  );
}

export class DirIndex {
  readonly slots = new Map<string, DirSlot>();
  /** Per logical block: the longest record (rec_len) an insert could place there. */
  private readonly gaps: number[] = [];
  /** Where roomFor starts looking: the block of the last insert. */
  private hint = 0;

  /**
   * @param blocks physical block of each logical block (0: a hole, never used)
   * @param what how to name the directory in errors (its path)
   */
  constructor(
    readonly ino: number,
    readonly blocks: number[],
    private readonly blockBytes: number,
    private readonly what: string,
  ) {}

  /**
   * Reads the records of logical block `logical` (its bytes are `data`) into the map. Every
   * record must move forward and stay inside the block (rec_len at least 8, a multiple of 4,
   * not past the end), and a record in use must have a name that fits it and is not empty — an
   * empty name would be the folder itself again, and a walk down the tree would never end.
   */
  scan(logical: number, data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let gap = 0;
    for (let offset = 0; offset < this.blockBytes;) {
      const recLen = offset + F.name <= this.blockBytes ? getRecLen(view, offset, this.blockBytes) : 0;
      if (recLen < F.name || recLen % 4 !== 0 || offset + recLen > this.blockBytes) throw damaged(this.what, logical, offset, recLen);
      const ino = view.getUint32(offset + F.inode, true);
      const nameLen = view.getUint8(offset + F.name_len);
      if (ino !== 0) {
        if (F.name + nameLen > recLen)
          throw damaged(this.what, logical, offset, recLen, `a name of ${nameLen} bytes in a record of ${recLen}`);
        if (nameLen === 0) throw damaged(this.what, logical, offset, recLen, 'an entry with an empty name');
        const nameBytes = data.slice(offset + F.name, offset + F.name + nameLen);
        this.slots.set(nameKey(nameBytes), { ino, fileType: view.getUint8(offset + F.file_type), logical, offset, nameBytes });
        gap = Math.max(gap, recLen - dirRecordLength(nameLen));
      } else {
        gap = Math.max(gap, recLen);
      }
      offset += recLen;
    }
    this.gaps[logical] = gap;
  }

  /** A hole in the directory: no records, no room. */
  markHole(logical: number): void {
    this.gaps[logical] = 0;
  }

  /**
   * A logical block with room for a record of `nameBytes` bytes — the first from the block of
   * the last insert on, then from the start (so big directories do not rescan their full
   * blocks each time) — or -1: the directory must grow.
   */
  roomFor(nameBytes: number): number {
    const need = dirRecordLength(nameBytes);
    const count = this.blocks.length;
    for (let i = 0; i < count; i++) {
      const logical = (this.hint + i) % count;
      if (this.blocks[logical] !== 0 && (this.gaps[logical] ?? 0) >= need) return logical;
    }
    return -1;
  }

  /** Appends a new, empty block (one unused record covering it) as the last logical block. */
  appendBlock(physical: number, data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    view.setUint32(F.inode, 0, true);
    setRecLen(view, 0, this.blockBytes, this.blockBytes);
    this.blocks.push(physical);
    this.gaps[this.blocks.length - 1] = this.blockBytes;
  }

  /** Writes a record for `nameBytes` into logical block `logical` (which roomFor chose); `data` are its bytes. */
  insert(logical: number, data: Uint8Array, nameBytes: Uint8Array, ino: number, fileType: number): DirSlot {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const need = dirRecordLength(nameBytes.length);
    for (let offset = 0; offset < this.blockBytes;) {
      const recLen = getRecLen(view, offset, this.blockBytes);
      const used = view.getUint32(offset + F.inode, true) !== 0;
      const own = used ? dirRecordLength(view.getUint8(offset + F.name_len)) : 0;
      if (recLen - own >= need) {
        let at = offset;
        if (used) {
          // Split: the used record keeps what its name needs, the new one takes the rest.
          setRecLen(view, offset, own, this.blockBytes);
          at = offset + own;
          setRecLen(view, at, recLen - own, this.blockBytes);
        }
        view.setUint32(at + F.inode, ino, true);
        view.setUint8(at + F.name_len, nameBytes.length);
        view.setUint8(at + F.file_type, fileType);
        data.set(nameBytes, at + F.name);
        const slot: DirSlot = { ino, fileType, logical, offset: at, nameBytes: nameBytes.slice() };
        this.slots.set(nameKey(nameBytes), slot);
        this.rescanGap(logical, data);
        this.hint = logical;
        return slot;
      }
      offset += recLen;
    }
    throw new LoopbackError('INTERNAL', `${this.what}: no room in directory block ${logical} after all`, {});
  }

  /** Removes the record of `key` from block `slot.logical` (bytes `data`). */
  remove(key: string, data: Uint8Array): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let previous = -1;
    for (let offset = 0; offset < slot.offset;) {
      previous = offset;
      offset += getRecLen(view, offset, this.blockBytes);
    }
    const recLen = getRecLen(view, slot.offset, this.blockBytes);
    if (previous >= 0) {
      setRecLen(view, previous, getRecLen(view, previous, this.blockBytes) + recLen, this.blockBytes);
    } else {
      view.setUint32(slot.offset + F.inode, 0, true);
    }
    this.slots.delete(key);
    this.rescanGap(slot.logical, data);
  }

  /** Points an existing record at another inode (".." of a moved folder). */
  retarget(key: string, data: Uint8Array, ino: number): void {
    const slot = this.slots.get(key);
    if (!slot) throw new LoopbackError('INTERNAL', `${this.what}: no entry to retarget`, {});
    new DataView(data.buffer, data.byteOffset, data.byteLength).setUint32(slot.offset + F.inode, ino, true);
    slot.ino = ino;
  }

  /** Entries in on-disk order. */
  ordered(): DirSlot[] {
    return [...this.slots.values()].sort((a, b) => a.logical - b.logical || a.offset - b.offset);
  }

  private rescanGap(logical: number, data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let gap = 0;
    for (let offset = 0; offset < this.blockBytes;) {
      const recLen = getRecLen(view, offset, this.blockBytes);
      const used = view.getUint32(offset + F.inode, true) !== 0;
      gap = Math.max(gap, used ? recLen - dirRecordLength(view.getUint8(offset + F.name_len)) : recLen);
      offset += recLen;
    }
    this.gaps[logical] = gap;
  }
}
