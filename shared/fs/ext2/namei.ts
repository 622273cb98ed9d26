/**
 * Paths on an open volume (libext2fs namei.c): checked and split — absolute, no "." or "..",
 * names at most EXT2_NAME_LEN bytes — and looked up folder by folder from the root inode
 * through the folders' indexes (link.ts). Symlinks on the way are followed, relative to their
 * folder or from the root, 40 at most (Linux's limit); the last component only when asked.
 */
import { LoopbackError } from '../../errors';
import { nameKey, type DirIndex } from './dir-index';
import { EXT2_FT_SYMLINK, EXT2_FT_UNKNOWN, EXT2_NAME_LEN } from './directory';
import { EXT2_ROOT_INO, LINUX_S_IFLNK } from './inode';
import type { InodeTable } from './inode-table';
import type { Directories } from './link';
import type { MetaCache } from './meta-cache';
import type { Geometry } from './openfs';
import { readLink } from './symlink';

/** Symlinks followed in one path lookup before giving up (Linux's limit). */
const MAX_SYMLINK_HOPS = 40;

const encoder = new TextEncoder();

/** An absolute path checked and split: no ".", "..", empty or over-long components. */
export interface FsPath {
  path: string;
  parts: string[];
}

export function parsePath(path: string): FsPath {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new LoopbackError(
      'INVALID_INPUT',
      `${JSON.stringify(path)} is not an absolute path inside the filesystem (it must start with "/")`,
      { path },
    );
  }
  if (path.includes('\0')) throw new LoopbackError('INVALID_INPUT', `${JSON.stringify(path)} contains a NUL character`, { path });
  const parts = path.split('/').filter((part) => part !== '');
  for (const part of parts) {
    if (part === '.' || part === '..') {
      throw new LoopbackError('INVALID_INPUT', `${path}: "." and ".." are not allowed in paths here; give the full path`, { path });
    }
    // eslint-disable-next-line no-control-regex
    const bytes = /^[\u0000-\u007f]*$/.test(part) ? part.length : encoder.encode(part).length;
    if (bytes > EXT2_NAME_LEN) {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${path}: the name "${part.slice(0, 40)}…" is ${bytes} bytes; ext2 names are at most ${EXT2_NAME_LEN} bytes`,
        { path },
      );
    }
  }
  return { path: `/${parts.join('/')}`, parts };
}

export function parentOf(p: FsPath): FsPath {
  const parts = p.parts.slice(0, -1);
  return { path: `/${parts.join('/')}`, parts };
}

/** The DirIndex key of a name (its UTF-8 bytes, one char each; ASCII names are their own key). */
export function keyOf(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u007f]*$/.test(name) ? name : nameKey(encoder.encode(name));
}

export class PathLookup {
  constructor(
    private readonly cache: MetaCache,
    private readonly g: Geometry,
    private readonly inodes: InodeTable,
    private readonly dirs: Directories,
  ) {}

  /**
   * The inode at `parts` from the root, or null when a component is missing or not a folder.
   * Symlinks on the way are followed (relative to their folder, or from the root), the last one
   * only with `followLast`. Going down through entries (not symlinks), a folder met twice is a
   * directory cycle — a hard link to a folder above, which only a damaged or crafted volume
   * has — and is refused (CORRUPT) naming the path, so a walk down the tree (get, rm -r) ends.
   */
  async resolve(parts: readonly string[], followLast: boolean): Promise<number | null> {
    const queue = [...parts].reverse();
    let current = EXT2_ROOT_INO;
    let hops = 0;
    // The folders entered since the last symlink (which may lead back up, legitimately), with
    // the path each was reached by.
    let entered = new Map<number, string>([[EXT2_ROOT_INO, '/']]);
    let here = '';
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (!this.dirs.has(current) && !(await this.inodes.get(current)).isDir) return null;
      if (name === '' || name === '.') continue;
      const slot = (await this.dirs.get(current, here || '/')).slots.get(keyOf(name));
      if (!slot) return null;
      // With the filetype feature the entry says whether it is a symlink; else ask the inode.
      const maybeLink = !this.g.filetype || slot.fileType === EXT2_FT_SYMLINK || slot.fileType === EXT2_FT_UNKNOWN;
      const child = maybeLink && (queue.length > 0 || followLast) ? await this.inodes.get(slot.ino) : null;
      if (child && child.type === LINUX_S_IFLNK) {
        if (++hops > MAX_SYMLINK_HOPS) return null;
        const target = await readLink(this.cache, this.g, child);
        const targetParts = target.split('/');
        for (let i = targetParts.length - 1; i >= 0; i--) queue.push(targetParts[i]!);
        if (target.startsWith('/')) current = EXT2_ROOT_INO;
        entered = new Map();
        here = `${here}/${name}`;
        continue;
      }
      here = `${here}/${name}`;
      // Going up (a symlink's "..") ends the walk down that the map describes.
      if (name === '..') entered = new Map();
      else if (queue.length > 0) {
        const seen = entered.get(slot.ino);
        if (seen !== undefined) {
          throw new LoopbackError(
            'CORRUPT',
            `${here} is the folder ${seen} again: a folder that contains itself (a directory cycle); run e2fsck on the image`,
            { path: here, ancestor: seen },
          );
        }
        entered.set(slot.ino, here);
      }
      current = slot.ino;
    }
    return current;
  }

  /** The inode at `p` (as resolve finds it); NOT_FOUND when there is none. */
  async requireInode(p: FsPath, followLast: boolean): Promise<number> {
    const ino = await this.resolve(p.parts, followLast);
    if (ino === null) throw new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
    return ino;
  }

  /** The folder at `p` (symlinks followed): NOT_FOUND or INVALID_INPUT naming it as `role`. */
  async requireFolder(p: FsPath, role: 'parent' | 'target'): Promise<number> {
    const ino = await this.resolve(p.parts, true);
    const what = role === 'parent' ? 'parent folder ' : '';
    if (ino === null) throw new LoopbackError('NOT_FOUND', `${what}${p.path} does not exist`, { path: p.path });
    if (!(await this.inodes.get(ino)).isDir) throw new LoopbackError('INVALID_INPUT', `${what}${p.path} is not a folder`, { path: p.path });
    return ino;
  }

  /** The entry at `p` itself (its last component not followed): its folder, key and inode. */
  async requireEntry(p: FsPath): Promise<{ parent: DirIndex; key: string; ino: number }> {
    const parentPath = parentOf(p);
    const parentIno = await this.resolve(parentPath.parts, true);
    const notFound = () => new LoopbackError('NOT_FOUND', `${p.path}: no such file or folder`, { path: p.path });
    if (parentIno === null || !(await this.inodes.get(parentIno)).isDir) throw notFound();
    const parent = await this.dirs.get(parentIno, parentPath.path);
    const key = keyOf(p.parts.at(-1)!);
    const slot = parent.slots.get(key);
    if (!slot) throw notFound();
    return { parent, key, ino: slot.ino };
  }

  /**
   * For mkdir -p: the deepest folder on `p` that exists, walking from the root (symlinks to
   * folders followed) — its inode, and how many components of `p` lead to it. Throws
   * ALREADY_EXISTS when a component exists but is not a folder.
   */
  async existingFolders(p: FsPath): Promise<{ ino: number; depth: number }> {
    let ino = EXT2_ROOT_INO;
    let depth = 0;
    for (; depth < p.parts.length; depth++) {
      const parent = await this.dirs.get(ino, `/${p.parts.slice(0, depth).join('/')}`);
      if (!parent.slots.has(keyOf(p.parts[depth]!))) break;
      const stepPath = `/${p.parts.slice(0, depth + 1).join('/')}`;
      const step = await this.resolve(p.parts.slice(0, depth + 1), true);
      if (step === null || !(await this.inodes.get(step)).isDir) {
        throw new LoopbackError('ALREADY_EXISTS', `${stepPath} exists and is not a folder`, { path: stepPath });
      }
      ino = step;
    }
    return { ino, depth };
  }
}
