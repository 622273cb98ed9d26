/**
 * File operations inside an ext2 (list, read, write, mkdir, remove, rename, symlink, chmod) through
 * the `ext2fs` package: e2fsprogs' libext2fs compiled to WASM, mounted on our BlockDevice.
 *
 * libext2fs keeps the superblock, group descriptors and bitmaps in memory until it is closed, so:
 * - flush() and close() unmount (flush() mounts again): that is when the image becomes consistent
 *   on disk. Until then `e2fsck` on the image sees stale metadata.
 * - Free space is counted here: read from the superblock at mount, then adjusted after every
 *   operation by the i_blocks (data + indirect blocks) of the inodes it changed. writeFile checks
 *   it before writing. Any unexpected failure remounts, which re-reads exact counters.
 *
 * Guards libext2fs lacks, done here before calling it: existing names (its mkdir on an existing
 * name corrupts the directory tree), missing parents, "." / ".." components, a folder moved into
 * itself, names over 255 bytes, symlink targets over a block.
 *
 * Not supported by the package: setting times (no utimes), so `WriteOptions.modifiedMs` is not
 * applied: files get the current time. Names that are not valid UTF-8 are shown with U+FFFD.
 */
import * as ext2fs from 'ext2fs';
import type { BlockDevice } from '../../../shared/disk/block-device';
import { LoopbackError } from '../../../shared/errors';
import { EXT2_NAME_LEN } from '../../../shared/fs/ext2/directory';
import { blocksWithIndirect, LINUX_S_IFDIR, LINUX_S_IFLNK, LINUX_S_IFMT, LINUX_S_IFREG } from '../../../shared/fs/ext2/inode';
import {
  blockSizeOf,
  EXT3_FEATURE_INCOMPAT_RECOVER,
  freeBlocksCountOf,
  readSuperblock,
  usageFromSuperblock,
  type Ext2Superblock,
} from '../../../shared/fs/ext2/superblock';
import { ext2FileExtents } from '../../../shared/fs/ext2/block-map';
import type { DirEntry, EntryType, FileExtent, FsUsage, PosixFileSystem, WriteOptions } from '../../../shared/fs/types';
import { BlockDeviceDisk } from './block-device-disk';
import { CachedBlockDevice } from './cached-block-device';

export interface Ext2FileSystem extends PosixFileSystem {
  /** mkdir also takes the new folder's mode (default 0755). */
  mkdir(path: string, options?: { parents?: boolean; mode?: number }): Promise<void>;
  /** Unmounts (writes superblock, descriptors and bitmaps) and flushes the device. */
  close(): Promise<void>;
}

/** Linux open(2) flags as lib/fs.js passes them to the WASM side. */
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
/** Without it every read rewrites the inode's atime. */
const O_NOATIME = 0o1000000;
/** Reads and writes go through the WASM heap in pieces this big. */
const CHUNK_BYTES = 1024 * 1024;
/** Symlink targets shorter than this live in the inode (a "fast" symlink) and use no block. */
const FAST_SYMLINK_MAX_BYTES = 60;
const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIR_MODE = 0o755;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function isErrno(error: unknown): error is ext2fs.ErrnoException {
  return error instanceof Error && typeof (error as Partial<ext2fs.ErrnoException>).code === 'string' && 'errno' in error;
}

/** An absolute path checked and split: no ".", "..", empty or over-long components. */
interface FsPath {
  path: string;
  parts: string[];
}

function parsePath(path: string): FsPath {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new LoopbackError('INVALID_INPUT', `${JSON.stringify(path)} is not an absolute path inside the filesystem (it must start with "/")`, { path });
  }
  if (path.includes('\0')) throw new LoopbackError('INVALID_INPUT', `${JSON.stringify(path)} contains a NUL character`, { path });
  const parts = path.split('/').filter((part) => part !== '');
  for (const part of parts) {
    if (part === '.' || part === '..') {
      throw new LoopbackError('INVALID_INPUT', `${path}: "." and ".." are not allowed in paths here; give the full path`, { path });
    }
    const bytes = Buffer.byteLength(part);
    if (bytes > EXT2_NAME_LEN) {
      throw new LoopbackError('INVALID_INPUT', `${path}: the name "${part.slice(0, 40)}…" is ${bytes} bytes; ext2 names are at most ${EXT2_NAME_LEN} bytes`, { path });
    }
  }
  return { path: `/${parts.join('/')}`, parts };
}

function parentOf(p: FsPath): FsPath {
  const parts = p.parts.slice(0, -1);
  return { path: `/${parts.join('/')}`, parts };
}

function typeOf(mode: number): EntryType {
  switch (mode & LINUX_S_IFMT) {
    case LINUX_S_IFREG:
      return 'file';
    case LINUX_S_IFDIR:
      return 'directory';
    case LINUX_S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

function checkMode(mode: number, path: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new LoopbackError('INVALID_INPUT', `${path}: mode ${String(mode)} is not a permission value (0 to 0o7777)`, { path, mode });
  }
  return mode;
}

class Ext2Volume implements Ext2FileSystem {
  readonly type = 'ext2' as const;
  private mounted: ext2fs.MountedFs | null = null;
  /** The mount's write-back cache: flushed after unmount, because libext2fs only flushes its I/O when it had marked itself dirty. */
  private cache: CachedBlockDevice | null = null;
  private superblock!: Ext2Superblock;
  private blockBytes = 0;
  private freeBlocks = 0;
  private freeInodes = 0;
  /** Every public call runs after the previous one: libext2fs state is one shared thing. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly device: BlockDevice) {}

  async mount(): Promise<void> {
    const superblock = await readSuperblock(this.device);
    if (superblock.s_feature_incompat & EXT3_FEATURE_INCOMPAT_RECOVER) {
      throw new LoopbackError('VALIDATION', 'this ext3/ext4 filesystem has a journal that needs recovery: run e2fsck on it first (writing now would lose data)', {});
    }
    this.superblock = superblock;
    this.blockBytes = blockSizeOf(superblock);
    this.freeBlocks = freeBlocksCountOf(superblock);
    this.freeInodes = superblock.s_free_inodes_count;
    const cache = new CachedBlockDevice(this.device, this.blockBytes);
    try {
      this.mounted = await ext2fs.mount(new BlockDeviceDisk(cache), 0);
      this.cache = cache;
    } catch (error) {
      throw new LoopbackError('IO', `libext2fs could not open the ext2 filesystem: ${messageOf(error)}`, {});
    }
  }

  private async unmount(): Promise<void> {
    const mounted = this.mounted;
    if (!mounted) return;
    this.mounted = null;
    const cache = this.cache;
    this.cache = null;
    try {
      try {
        await ext2fs.umount(mounted);
      } finally {
        // Even after a failed close, what libext2fs did write belongs on the device.
        await cache?.flush();
      }
    } catch (error) {
      throw new LoopbackError('IO', `writing the ext2 filesystem out failed: ${messageOf(error)}; it is closed now, check the image with e2fsck`, {});
    }
  }

  /** Runs `work` after every earlier call; refuses once closed. */
  private run<T>(work: (fs: ext2fs.Promises) => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (!this.mounted) throw new LoopbackError('INVALID_INPUT', 'this ext2 filesystem is closed', {});
      return work(this.mounted.promises);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** After an unexpected failure: unmount and mount again, which re-reads exact free counts. */
  private async resync(): Promise<void> {
    await this.unmount();
    await this.mount();
  }

  private translate(error: unknown, action: string, path: string): never {
    if (error instanceof LoopbackError) throw error;
    if (isErrno(error)) {
      switch (error.code) {
        case 'ENOENT':
          throw new LoopbackError('NOT_FOUND', `${path}: no such file or folder`, { path });
        case 'ENOTDIR':
          throw new LoopbackError('NOT_FOUND', `${path}: a folder on the way does not exist or is not a folder`, { path });
        case 'EEXIST':
          throw new LoopbackError('ALREADY_EXISTS', `${path} already exists`, { path });
        case 'ENOTEMPTY':
          throw new LoopbackError('VALIDATION', `${path} is not empty`, { path });
        case 'ENOSPC':
          throw new LoopbackError('VALIDATION', `${action} ${path}: no space left in the ext2 filesystem`, { path });
      }
    }
    throw new LoopbackError('IO', `${action} ${path} failed: ${messageOf(error)}`, { path });
  }

  /** lstat, or null when nothing is there. */
  private async lookup(fs: ext2fs.Promises, path: string): Promise<ext2fs.Stats | null> {
    try {
      return await fs.lstat(path);
    } catch (error) {
      if (isErrno(error) && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return null;
      return this.translate(error, 'looking up', path);
    }
  }

  private async requireFolder(fs: ext2fs.Promises, p: FsPath, role: 'parent' | 'target'): Promise<ext2fs.Stats> {
    const stats = await this.lookup(fs, p.path);
    const what = role === 'parent' ? 'parent folder ' : '';
    if (!stats) throw new LoopbackError('NOT_FOUND', `${what}${p.path} does not exist`, { path: p.path });
    if (typeOf(stats.mode) !== 'directory') throw new LoopbackError('INVALID_INPUT', `${what}${p.path} is not a folder`, { path: p.path });
    return stats;
  }

  private blocksOf(stats: ext2fs.Stats | null): number {
    return stats ? (stats.blocks * 512) / this.blockBytes : 0;
  }

  /** Blocks a directory may need to take one more entry: one block, plus an indirect one when it crosses into them. */
  private growthBlocks(dir: ext2fs.Stats): number {
    const dataBlocks = Math.ceil(dir.size / this.blockBytes);
    return blocksWithIndirect(dataBlocks + 1, this.blockBytes) - blocksWithIndirect(dataBlocks, this.blockBytes);
  }

  /** Throws unless `blocks` and `inodes` are free (counting `reclaimedBlocks` the operation frees first). */
  private requireSpace(path: string, what: string, blocks: number, inodes: number, reclaimedBlocks = 0): void {
    if (inodes > this.freeInodes) {
      throw new LoopbackError('VALIDATION', `${path}: no free inodes left in the ext2 filesystem for ${what}; remove files or format with a smaller inode ratio`, { path, freeInodes: this.freeInodes });
    }
    if (blocks > this.freeBlocks + reclaimedBlocks) {
      const freeBytes = (this.freeBlocks + reclaimedBlocks) * this.blockBytes;
      throw new LoopbackError(
        'VALIDATION',
        `${path}: ${what} needs ${blocks} blocks of ${this.blockBytes} bytes (${blocks * this.blockBytes} bytes with metadata) but only ${freeBytes} bytes are free; remove files or use a larger partition`,
        { path, neededBytes: blocks * this.blockBytes, freeBytes },
      );
    }
  }

  /** Adjusts the counters by the change in blocks of the inodes an operation touched. */
  private account(blocksBefore: number, blocksAfter: number, inodesUsed: number): void {
    this.freeBlocks -= blocksAfter - blocksBefore;
    this.freeInodes -= inodesUsed;
  }

  private async toEntry(fs: ext2fs.Promises, path: string, name: string, stats: ext2fs.Stats): Promise<DirEntry> {
    const type = typeOf(stats.mode);
    const entry: DirEntry = {
      name,
      type,
      sizeBytes: stats.size,
      modifiedMs: stats.mtime.getTime(),
      mode: stats.mode & 0o7777,
    };
    if (type === 'symlink') entry.target = await fs.readlink(path);
    return entry;
  }

  async usage(): Promise<FsUsage> {
    return this.run(async () => {
      const usage = usageFromSuperblock(this.superblock);
      const freeBytes = this.freeBlocks * this.blockBytes;
      return { ...usage, freeBytes, usedBytes: usage.sizeBytes - freeBytes };
    });
  }

  async list(path: string): Promise<DirEntry[]> {
    const p = parsePath(path);
    return this.run(async (fs) => {
      await this.requireFolder(fs, p, 'target');
      const names = await fs.readdir(p.path).catch((error: unknown) => this.translate(error, 'listing', p.path));
      const entries: DirEntry[] = [];
      for (const name of names) {
        const child = p.path === '/' ? `/${name}` : `${p.path}/${name}`;
        const stats = await fs.lstat(child).catch((error: unknown) => this.translate(error, 'listing', child));
        entries.push(await this.toEntry(fs, child, name, stats));
      }
      return entries;
    });
  }

  async stat(path: string): Promise<DirEntry> {
    const p = parsePath(path);
    return this.run(async (fs) => {
      const stats = await this.lookup(fs, p.path);
      if (!stats) throw new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
      return this.toEntry(fs, p.path, p.parts.at(-1) ?? '/', stats);
    });
  }

  async readFile(path: string): Promise<Uint8Array> {
    const p = parsePath(path);
    return this.run(async (fs) => {
      // stat follows symlinks, like open() below.
      const stats = await fs.stat(p.path).catch((error: unknown) => this.translate(error, 'reading', p.path));
      if (typeOf(stats.mode) !== 'file') throw new LoopbackError('INVALID_INPUT', `${p.path} is not a file`, { path: p.path });
      const data = Buffer.alloc(stats.size);
      const { fd } = await fs.open(p.path, O_RDONLY | O_NOATIME).catch((error: unknown) => this.translate(error, 'reading', p.path));
      try {
        for (let offset = 0; offset < data.length; ) {
          const { bytesRead } = await fs.read(fd, data, offset, Math.min(CHUNK_BYTES, data.length - offset), offset);
          if (bytesRead === 0) throw new LoopbackError('IO', `${p.path}: the file ended at ${offset} of ${data.length} bytes`, { path: p.path });
          offset += bytesRead;
        }
      } catch (error) {
        this.translate(error, 'reading', p.path);
      } finally {
        await fs.close(fd);
      }
      return new Uint8Array(data.buffer, data.byteOffset, data.length);
    });
  }

  async writeFile(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const p = parsePath(path);
    if (p.parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot write a file over the root folder', { path });
    const mode = options.mode === undefined ? undefined : checkMode(options.mode, p.path);
    return this.run(async (fs) => {
      const parentPath = parentOf(p);
      const parent = await this.requireFolder(fs, parentPath, 'parent');
      const existing = await this.lookup(fs, p.path);
      if (existing && typeOf(existing.mode) !== 'file') {
        throw new LoopbackError('ALREADY_EXISTS', `${p.path} exists and is a ${typeOf(existing.mode) === 'directory' ? 'folder' : typeOf(existing.mode)}, not a file; remove it first`, { path: p.path });
      }
      const dataBlocks = Math.ceil(data.length / this.blockBytes);
      const needed = blocksWithIndirect(dataBlocks, this.blockBytes) + (existing ? 0 : this.growthBlocks(parent));
      // Replacing a file frees its blocks first (O_TRUNC).
      this.requireSpace(p.path, `a file of ${data.length} bytes`, needed, existing ? 0 : 1, this.blocksOf(existing));

      let created = false;
      try {
        const { fd } = await fs.open(p.path, O_WRONLY | O_CREAT | O_TRUNC, mode ?? DEFAULT_FILE_MODE);
        created = !existing;
        try {
          for (let offset = 0; offset < data.length; ) {
            const length = Math.min(CHUNK_BYTES, data.length - offset);
            // lib/fs.js ignores the offset argument: hand it a view that starts at the chunk.
            const chunk = Buffer.from(data.buffer, data.byteOffset + offset, length);
            const { bytesWritten } = await fs.write(fd, chunk, 0, length, offset);
            if (bytesWritten !== length) throw new LoopbackError('IO', `${p.path}: wrote ${bytesWritten} of ${length} bytes at ${offset}`, { path: p.path });
            offset += length;
          }
        } finally {
          await fs.close(fd);
        }
        // A replaced file keeps its mode unless one is given.
        if (existing && mode !== undefined) await fs.chmod(p.path, mode);
        const after = await fs.lstat(p.path);
        const parentAfter = await fs.lstat(parentPath.path);
        this.account(this.blocksOf(existing) + this.blocksOf(parent), this.blocksOf(after) + this.blocksOf(parentAfter), created ? 1 : 0);
      } catch (error) {
        // Leave no half-written new file behind (a replaced file keeps what was written), and
        // recount what the failure left.
        if (created) await fs.unlink(p.path).catch(() => undefined);
        try {
          await this.resync();
        } catch (resyncError) {
          throw new LoopbackError('IO', `writing ${p.path} failed (${messageOf(error)}), and then ${messageOf(resyncError)}`, { path: p.path });
        }
        this.translate(error, 'writing', p.path);
      }
    });
  }

  async mkdir(path: string, options: { parents?: boolean; mode?: number } = {}): Promise<void> {
    const p = parsePath(path);
    const mode = checkMode(options.mode ?? DEFAULT_DIR_MODE, p.path);
    return this.run(async (fs) => {
      if (!options.parents) {
        if (await this.lookup(fs, p.path)) throw new LoopbackError('ALREADY_EXISTS', `${p.path} already exists`, { path: p.path });
        await this.createFolder(fs, p, mode);
        return;
      }
      for (let depth = 1; depth <= p.parts.length; depth++) {
        const step = { path: `/${p.parts.slice(0, depth).join('/')}`, parts: p.parts.slice(0, depth) };
        const stats = await this.lookup(fs, step.path);
        if (!stats) await this.createFolder(fs, step, mode);
        else if (typeOf(stats.mode) !== 'directory') throw new LoopbackError('ALREADY_EXISTS', `${step.path} exists and is not a folder`, { path: step.path });
      }
    });
  }

  private async createFolder(fs: ext2fs.Promises, p: FsPath, mode: number): Promise<void> {
    const parentPath = parentOf(p);
    const parent = await this.requireFolder(fs, parentPath, 'parent');
    this.requireSpace(p.path, 'a new folder', 1 + this.growthBlocks(parent), 1);
    await fs.mkdir(p.path, mode).catch((error: unknown) => this.translate(error, 'creating folder', p.path));
    const created = await fs.lstat(p.path);
    const parentAfter = await fs.lstat(parentPath.path);
    this.account(this.blocksOf(parent), this.blocksOf(created) + this.blocksOf(parentAfter), 1);
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const p = parsePath(path);
    if (p.parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot remove the root folder', { path });
    return this.run(async (fs) => {
      const stats = await this.lookup(fs, p.path);
      if (!stats) throw new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
      if (typeOf(stats.mode) === 'directory' && !options.recursive) {
        const children = await fs.readdir(p.path);
        if (children.length > 0) {
          throw new LoopbackError('VALIDATION', `${p.path} is not empty (${children.length} entries): remove it recursively to delete everything in it`, { path: p.path, entries: children.length });
        }
      }
      await this.removeTree(fs, p.path, stats);
    });
  }

  private async removeTree(fs: ext2fs.Promises, path: string, stats: ext2fs.Stats): Promise<void> {
    if (typeOf(stats.mode) === 'directory') {
      for (const name of await fs.readdir(path)) {
        const child = `${path}/${name}`;
        await this.removeTree(fs, child, await fs.lstat(child));
      }
      await fs.rmdir(path).catch((error: unknown) => this.translate(error, 'removing', path));
      this.account(this.blocksOf(stats), 0, -1);
      return;
    }
    await fs.unlink(path).catch((error: unknown) => this.translate(error, 'removing', path));
    // A file with other hard links keeps its inode and blocks.
    if (stats.nlink <= 1) this.account(this.blocksOf(stats), 0, -1);
  }

  async rename(from: string, to: string): Promise<void> {
    const source = parsePath(from);
    const target = parsePath(to);
    if (source.parts.length === 0 || target.parts.length === 0) {
      throw new LoopbackError('INVALID_INPUT', 'the root folder cannot be renamed, nor anything renamed to it', { from, to });
    }
    return this.run(async (fs) => {
      const stats = await this.lookup(fs, source.path);
      if (!stats) throw new LoopbackError('NOT_FOUND', `${source.path}: no such file or folder`, { path: source.path });
      if (source.path === target.path) return;
      if (typeOf(stats.mode) === 'directory' && target.path.startsWith(`${source.path}/`)) {
        throw new LoopbackError('INVALID_INPUT', `cannot move the folder ${source.path} into itself (${target.path})`, { from: source.path, to: target.path });
      }
      if (await this.lookup(fs, target.path)) {
        throw new LoopbackError('ALREADY_EXISTS', `${target.path} already exists: remove it first (rename does not overwrite)`, { path: target.path });
      }
      const targetParentPath = parentOf(target);
      const targetParent = await this.requireFolder(fs, targetParentPath, 'parent');
      this.requireSpace(target.path, 'a new directory entry', this.growthBlocks(targetParent), 0);
      await fs.rename(source.path, target.path).catch((error: unknown) => this.translate(error, 'renaming', source.path));
      this.account(this.blocksOf(targetParent), this.blocksOf(await fs.lstat(targetParentPath.path)), 0);
    });
  }

  async symlink(target: string, path: string): Promise<void> {
    const p = parsePath(path);
    if (p.parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot make the root folder a symlink', { path });
    const targetBytes = typeof target === 'string' ? Buffer.byteLength(target) : 0;
    if (targetBytes === 0 || target.includes('\0')) {
      throw new LoopbackError('INVALID_INPUT', `${p.path}: a symlink target must be a non-empty text without NUL characters`, { path: p.path });
    }
    if (target.endsWith('/')) {
      // The ext2fs package strips trailing slashes from every path it is given, the target too
      // ("/" would become an empty link): refuse rather than store something else.
      throw new LoopbackError('INVALID_INPUT', `${p.path}: symlink targets ending in "/" cannot be stored through the ext2fs library; write ${JSON.stringify(`${target}.`)} instead`, { path: p.path, target });
    }
    return this.run(async (fs) => {
      if (targetBytes >= this.blockBytes) {
        throw new LoopbackError('INVALID_INPUT', `${p.path}: the symlink target is ${targetBytes} bytes; ext2 allows at most ${this.blockBytes - 1} with ${this.blockBytes}-byte blocks`, { path: p.path });
      }
      if (await this.lookup(fs, p.path)) throw new LoopbackError('ALREADY_EXISTS', `${p.path} already exists`, { path: p.path });
      const parentPath = parentOf(p);
      const parent = await this.requireFolder(fs, parentPath, 'parent');
      const ownBlocks = targetBytes < FAST_SYMLINK_MAX_BYTES ? 0 : 1;
      this.requireSpace(p.path, 'a symlink', ownBlocks + this.growthBlocks(parent), 1);
      await fs.symlink(target, p.path).catch((error: unknown) => this.translate(error, 'creating symlink', p.path));
      const created = await fs.lstat(p.path);
      const parentAfter = await fs.lstat(parentPath.path);
      this.account(this.blocksOf(parent), this.blocksOf(created) + this.blocksOf(parentAfter), 1);
    });
  }

  /** Changes permission bits; like chmod(2) it follows a symlink to its target. */
  async chmod(path: string, mode: number): Promise<void> {
    const p = parsePath(path);
    checkMode(mode, p.path);
    return this.run(async (fs) => {
      await fs.chmod(p.path, mode).catch((error: unknown) => this.translate(error, 'changing mode of', p.path));
    });
  }

  /**
   * Read from the device itself by the pure block-map reader, after writing out what libext2fs
   * holds in memory (as flush() does), so the answer is what a boot loader will find there.
   */
  async extents(path: string): Promise<FileExtent[]> {
    const p = parsePath(path);
    return this.run(async () => {
      await this.resync();
      return ext2FileExtents(this.device, p.path);
    });
  }

  async flush(): Promise<void> {
    return this.run(() => this.resync());
  }

  async close(): Promise<void> {
    return this.run(() => this.unmount());
  }
}

/**
 * Opens the ext2 (or ext3/ext4 without a pending journal) on `device` for reading and writing.
 * Throws VALIDATION when there is no ext2 superblock. Call close() to write everything out.
 */
export async function openExt2(device: BlockDevice): Promise<Ext2FileSystem> {
  const volume = new Ext2Volume(device);
  await volume.mount();
  return volume;
}
