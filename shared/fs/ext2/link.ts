/**
 * The folders of an open volume (libext2fs link.c, unlink.c, mkdir.c, dir_iterate.c). Each
 * folder is read once through its block map and indexed by name (DirIndex), the index kept
 * between operations until the cache is trimmed. Entries are added — the folder growing by a
 * block when none has room — and removed, following dir-index.ts's rec_len rules; every edit
 * sets the folder's mtime and ctime and clears a stale htree index (EXT2_INDEX_FL). Folders
 * are created with "." and "..", moved (".." retargeted, link counts of 2 + subfolders kept),
 * and inodes destroyed when the last name pointing to them goes: a folder with everything in
 * it, hard links counted down, extended-attribute blocks released by reference count.
 */
import { LoopbackError } from '../../errors';
import type { Allocator } from './alloc';
import type { BlockMap } from './bmap';
import { DirIndex } from './dir-index';
import { encodeDirectoryBlock, EXT2_FT_DIR, EXT2_FT_UNKNOWN } from './directory';
import { blocksWithIndirect, EXT2_INDEX_FL, EXT2_ROOT_INO, LINUX_S_IFDIR } from './inode';
import { u32Seconds, type InodeRef, type InodeTable } from './inode-table';
import type { MetaCache } from './meta-cache';
import type { Geometry } from './openfs';

/** ext2's EXT2_LINK_MAX: a folder holds at most 31998 subfolders. */
const EXT2_LINK_MAX = 32000;
/** h_magic of an extended-attribute block; h_refcount follows it. */
const EXT2_EXT_ATTR_MAGIC = 0xea020000;

const decoder = new TextDecoder();

export function isDotOrDotDot(name: Uint8Array): boolean {
  return (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e);
}

export class Directories {
  private readonly indexes = new Map<number, DirIndex>();

  constructor(
    private readonly cache: MetaCache,
    private readonly g: Geometry,
    private readonly inodes: InodeTable,
    private readonly alloc: Allocator,
    private readonly bmap: BlockMap,
  ) {}

  /** Whether folder `ino` is indexed already (so it is a folder). */
  has(ino: number): boolean {
    return this.indexes.has(ino);
  }

  /** Forgets every index (between operations, or when the volume closes). */
  clear(): void {
    this.indexes.clear();
  }

  /** The directory `ino` indexed (cached between operations until trimmed). */
  async get(ino: number, what: string): Promise<DirIndex> {
    const cached = this.indexes.get(ino);
    if (cached) return cached;
    const inode = await this.inodes.get(ino);
    // Callers reach folders through entries and checks of their own; one that is not a folder
    // here is the root inode, or an entry whose file_type says folder, on a damaged volume.
    if (!inode.isDir) {
      throw new LoopbackError(
        'CORRUPT',
        `${what || `inode ${ino}`} should be a folder but its inode (${ino}) is not one: run e2fsck on the image`,
        { path: what, ino },
      );
    }
    const B = this.g.blockBytes;
    const count = Math.ceil(inode.size / B);
    if (count > this.g.blocksCount) {
      throw new LoopbackError(
        'CORRUPT',
        `${what || `folder inode ${ino}`}: the folder's size ${inode.size} is larger than the volume: run e2fsck on the image`,
        { path: what, ino },
      );
    }
    const blocks: number[] = new Array<number>(count).fill(0);
    await this.bmap.walk(inode, count, what || `folder inode ${ino}`, (logical, block) => {
      blocks[logical] = block;
    });
    await this.cache.load(blocks);
    const index = new DirIndex(ino, blocks, B, what || `folder inode ${ino}`);
    for (let logical = 0; logical < count; logical++) {
      if (blocks[logical] === 0) index.markHole(logical);
      else index.scan(logical, (await this.cache.get(blocks[logical]!)).data);
    }
    this.indexes.set(ino, index);
    return index;
  }

  /** Entries other than "." and "..". */
  childCount(dir: DirIndex): number {
    let count = 0;
    for (const slot of dir.slots.values()) if (!isDotOrDotDot(slot.nameBytes)) count++;
    return count;
  }

  /** Blocks a directory needs to take an entry of `nameBytes`: 0 if one of its blocks has room, else a block (plus indirect ones). */
  growthBlocks(dir: DirIndex, nameBytes: number): number {
    if (dir.roomFor(nameBytes) >= 0) return 0;
    const n = dir.blocks.length;
    return blocksWithIndirect(n + 1, this.g.blockBytes) - blocksWithIndirect(n, this.g.blockBytes);
  }

  /** A folder may hold at most EXT2_LINK_MAX - 2 subfolders. */
  async requireLinkRoom(dirIno: number, path: string): Promise<void> {
    if ((await this.inodes.get(dirIno)).links >= EXT2_LINK_MAX - 1) {
      throw new LoopbackError('VALIDATION', `${path || '/'} has the most subfolders ext2 allows (${EXT2_LINK_MAX - 2})`, { path });
    }
  }

  /** Links inode `ino` into `dir` as `nameBytes` (which the caller checked is free), growing `dir` by a block if no block has room. */
  async add(dir: DirIndex, nameBytes: Uint8Array, ino: number, fileType: number, now: number): Promise<void> {
    const inode = await this.inodes.get(dir.ino);
    let logical = dir.roomFor(nameBytes.length);
    if (logical < 0) {
      const B = this.g.blockBytes;
      const previous = dir.blocks.filter((block) => block !== 0).at(-1);
      const [run] = await this.alloc.allocBlocks(1, previous !== undefined ? previous + 1 : this.alloc.goalFor(dir.ino));
      logical = dir.blocks.length;
      await this.bmap.map(inode, logical, run!.start);
      dir.appendBlock(run!.start, this.cache.create(run!.start).data);
      inode.size = (logical + 1) * B;
      inode.blocks512 += B / 512;
    }
    const entry = await this.cache.get(dir.blocks[logical]!);
    dir.insert(logical, entry.data, nameBytes, ino, this.g.filetype ? fileType : EXT2_FT_UNKNOWN);
    entry.dirty = true;
    this.touch(inode, now);
  }

  /** Removes the entry `key` (a DirIndex key) from `dir`; the inode it pointed to is the caller's. */
  async remove(dir: DirIndex, key: string, now: number): Promise<void> {
    const slot = dir.slots.get(key);
    if (!slot) return;
    const entry = await this.cache.get(dir.blocks[slot.logical]!);
    dir.remove(key, entry.data);
    entry.dirty = true;
    this.touch(await this.inodes.get(dir.ino), now);
  }

  /** A directory was edited: new mtime/ctime, and an htree index is no longer valid. */
  private touch(inode: InodeRef, now: number): void {
    this.clearIndex(inode);
    inode.setTime('mtime', now);
    inode.setTime('ctime', now);
  }

  /** An htree index is no longer valid once the directory is edited. */
  private clearIndex(inode: InodeRef): void {
    if (inode.flags & EXT2_INDEX_FL) inode.flags = inode.flags & ~EXT2_INDEX_FL;
  }

  /** Creates folder `nameBytes` in `parent`; returns its inode number. */
  async mkdir(parent: DirIndex, nameBytes: Uint8Array, mode: number, now: number): Promise<number> {
    const B = this.g.blockBytes;
    const ino = await this.alloc.allocInode(true, parent.ino);
    const inode = await this.inodes.create(ino, LINUX_S_IFDIR | mode, now);
    const [run] = await this.alloc.allocBlocks(1, this.alloc.goalFor(ino));
    const block = run!.start;
    const type = this.g.filetype ? EXT2_FT_DIR : EXT2_FT_UNKNOWN;
    const entry = this.cache.create(block);
    entry.data.set(
      encodeDirectoryBlock(
        [
          { inode: ino, name: '.', fileType: type },
          { inode: parent.ino, name: '..', fileType: type },
        ],
        B,
      ),
    );
    inode.setBlock(0, block);
    inode.size = B;
    inode.blocks512 = B / 512;
    inode.links = 2;
    await this.add(parent, nameBytes, ino, EXT2_FT_DIR, now);
    (await this.inodes.get(parent.ino)).links += 1;
    const index = new DirIndex(ino, [block], B, `folder inode ${ino}`);
    index.scan(0, entry.data);
    this.indexes.set(ino, index);
    return ino;
  }

  /** Whether folder `folder` is `ancestor` or inside it (following ".." up, through any symlinks that led there). */
  async within(folder: number, ancestor: number): Promise<boolean> {
    for (let at = folder, steps = 0; at !== EXT2_ROOT_INO && steps < 100_000; steps++) {
      if (at === ancestor) return true;
      const up = (await this.get(at, '')).slots.get('..');
      if (!up) break;
      at = up.ino;
    }
    return false;
  }

  /** Folder `ino` (at `path`), already linked into `to`, leaves `from`: its ".." and both link counts follow. */
  async reparent(ino: number, path: string, from: number, to: number): Promise<void> {
    const moved = await this.get(ino, path);
    const dotdot = moved.slots.get('..');
    if (dotdot) {
      const entry = await this.cache.get(moved.blocks[dotdot.logical]!);
      moved.retarget('..', entry.data, to);
      entry.dirty = true;
      this.clearIndex(await this.inodes.get(ino));
    }
    (await this.inodes.get(from)).links -= 1;
    (await this.inodes.get(to)).links += 1;
  }

  /** Frees an inode that no name points to any more (and, for a folder, everything in it). */
  async destroy(ino: number, path: string, now: number): Promise<void> {
    const inode = await this.inodes.get(ino);
    if (inode.isDir) {
      const dir = await this.get(ino, path);
      for (const slot of dir.ordered()) {
        if (isDotOrDotDot(slot.nameBytes)) continue;
        await this.destroy(slot.ino, `${path}/${decoder.decode(slot.nameBytes)}`, now);
      }
      this.indexes.delete(ino);
      await this.dropInode(inode, true, now);
      return;
    }
    if (inode.links > 1) {
      // Another hard link keeps the inode.
      inode.links -= 1;
      inode.setTime('ctime', now);
      return;
    }
    await this.dropInode(inode, false, now);
  }

  private async dropInode(inode: InodeRef, isDir: boolean, now: number): Promise<void> {
    await this.bmap.freeData(inode);
    await this.releaseXattrBlock(inode);
    inode.links = 0;
    inode.blocks512 = 0;
    inode.dtime = u32Seconds(now);
    await this.alloc.freeInode(inode.ino, isDir);
  }

  /** Drops the inode's reference to its extended-attribute block, freeing the block with the last one. */
  private async releaseXattrBlock(inode: InodeRef): Promise<void> {
    const block = inode.fileAcl;
    if (block === 0) return;
    inode.fileAcl = 0;
    if (block < this.g.firstDataBlock || block >= this.g.blocksCount) return;
    const entry = await this.cache.get(block);
    const view = new DataView(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    const refcount = view.getUint32(4, true);
    if (view.getUint32(0, true) === EXT2_EXT_ATTR_MAGIC && refcount > 1) {
      view.setUint32(4, refcount - 1, true);
      entry.dirty = true;
    } else {
      await this.alloc.releaseBlocks([block]);
    }
  }
}
