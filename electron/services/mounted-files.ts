/**
 * Files of a volume that is mounted (issue 17). While a partition — or a whole floppy image — is
 * mounted read-write, the kernel owns its filesystem: the rootless engine must not write the
 * image underneath it (write-guard.ts refuses), so ls, put, get, mkdir, rm and rename go through
 * the mount instead, with the host's own filesystem calls as the user. volume-mount.ts finds the
 * mount among the image's holders (ours — `loopstudio mount`, the app's Mount — or anyone's:
 * `mount -o loop`, GNOME Disks): a loop device of this very file whose bytes start where the
 * volume starts.
 *
 * MountedFileSystem is the FileSystem interface over the mount folder, so files.ts runs the same
 * code either way: the same checks before the first write (names, "not enough space", from
 * statfs here), the same progress, the same cancel between files.
 *
 * Paths never leave the mount. An image path is normalized (no "..", files.ts), then walked one
 * folder at a time: on Linux each folder is opened from its parent's descriptor
 * (/proc/self/fd/N/NAME, O_DIRECTORY | O_NOFOLLOW — openat in effect), so neither a symbolic
 * link nor a folder swapped for one meanwhile leads out; elsewhere each step is checked with
 * lstat. A link is never followed (it is listed, copied out and removed as a link), another
 * filesystem mounted inside is not entered, a file is read with O_NOFOLLOW and written to a fresh
 * temporary name (O_EXCL) then renamed into place, so a file is whole or absent.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs, type Stats } from 'node:fs';
import type { MountVia } from '../../shared/api/files';
import { LoopbackError } from '../../shared/errors';
import { validateLongName } from '../../shared/fs/fat/names';
import type { DirEntry, FileExtent, FileSystem, FsType, FsUsage, PosixFileSystem, WriteOptions } from '../../shared/fs/types';
import { findVolumeMount, readOnlyMountError, type VolumeMount } from './volume-mount';
import { withFileSystem, type VolumeRef } from './volumes';

export type { MountVia };

/** Linux: folders opened relative to their parent's descriptor through /proc/self/fd. */
const FD_RELATIVE = process.platform === 'linux';
const EXT2_NAME_MAX = 255;

// ── paths ─────────────────────────────────────────────────────────────────────────────────────

/** "/a/b/" → ["a", "b"]. files.ts has normalized it already; a ".." is refused here all the same (from the root it would lead out). */
function split(path: string): string[] {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..') || path.includes('\0'))
    throw new LoopbackError('INVALID_INPUT', `${JSON.stringify(path)}: ".." and NUL are not allowed in paths here; give the full path`, {
      path,
    });
  return parts;
}

function shown(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'folder';
  if (stats.isSymbolicLink()) return 'symbolic link';
  if (stats.isFile()) return 'file';
  return 'special file';
}

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

/**
 * An error from a host call on a path in the mount, in the rootless engine's codes and words —
 * naming the image path, never the descriptor path the call used.
 */
function hostError(error: unknown, path: string, what: string): LoopbackError {
  if (error instanceof LoopbackError) return error;
  const code = errno(error);
  const details = { path, errno: code ?? null };
  switch (code) {
    case 'ENOENT':
      return new LoopbackError('NOT_FOUND', `${path}: no such file or folder`, details);
    case 'EEXIST':
      return new LoopbackError('ALREADY_EXISTS', `${path} already exists`, details);
    case 'ENOTEMPTY':
      return new LoopbackError('VALIDATION', `${path} is not empty: remove it recursively to delete everything in it`, details);
    case 'ENOTDIR':
      return new LoopbackError('INVALID_INPUT', `${path}: a part of the path is not a folder`, details);
    case 'EISDIR':
      return new LoopbackError('ALREADY_EXISTS', `${path} is a folder`, details);
    case 'ENOSPC':
    case 'EDQUOT':
      return new LoopbackError('VALIDATION', `Not enough space to ${what} ${path}: the filesystem is full`, details);
    case 'EROFS':
      return new LoopbackError('IN_USE', `${path}: the mount is read-only`, details);
    case 'EACCES':
    case 'EPERM':
      return new LoopbackError('FORBIDDEN', `${path}: permission denied (${what}) — the mount's files belong to another user`, details);
    case 'ENAMETOOLONG':
      return new LoopbackError('INVALID_INPUT', `${path}: a name is too long for this filesystem`, details);
    default:
      return new LoopbackError('IO', `cannot ${what} ${path}: ${code ?? (error as Error)?.message ?? String(error)}`, details);
  }
}

/**
 * The mount folder's folders, reached without links and without entering another mount. On
 * Linux each opened folder is kept as a descriptor for the operation (a few dozen at most), and
 * a host path is /proc/self/fd/N/NAME — relative to that very folder, whatever happens to the
 * names above it meanwhile.
 */
class MountFolders {
  private readonly opened = new Map<string, fs.FileHandle>();

  private constructor(
    readonly root: string,
    readonly dev: number,
    private readonly rootHandle: fs.FileHandle | null,
  ) {}

  static async open(root: string): Promise<MountFolders> {
    const stats = await fs.lstat(root).catch((error: unknown) => {
      throw new LoopbackError('NOT_FOUND', `the mount folder ${root} is gone (${errno(error) ?? 'unreadable'})`, { mountPoint: root });
    });
    if (!stats.isDirectory()) throw new LoopbackError('INVALID_INPUT', `the mount point ${root} is not a folder`, { mountPoint: root });
    if (!FD_RELATIVE) return new MountFolders(root, stats.dev, null);
    const handle = await fs.open(root, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch((error: unknown) => {
      throw hostError(error, root, 'open the mount folder');
    });
    return new MountFolders(root, (await handle.stat()).dev, handle);
  }

  /** The root folder's own stats (its descriptor path is a link to it, so not lstat). */
  rootStats(): Promise<Stats> {
    return this.rootHandle ? this.rootHandle.stat() : fs.lstat(this.root);
  }

  /** The host path of the mount's root folder (followed by the calls that take it). */
  get rootPath(): string {
    return this.rootHandle ? `/proc/self/fd/${this.rootHandle.fd}` : this.root;
  }

  /** Closes the folders opened so far (after a rename or remove, whose names they may no longer have). */
  async forget(): Promise<void> {
    const handles = [...this.opened.values()];
    this.opened.clear();
    await Promise.all(handles.map((h) => h.close().catch(() => {})));
  }

  /** Keeps the number of open folders small between operations. */
  async trim(): Promise<void> {
    if (this.opened.size > 64) await this.forget();
  }

  async close(): Promise<void> {
    await this.forget();
    await this.rootHandle?.close().catch(() => {});
  }

  /** Why a step of the walk failed, for a person. */
  private async walkError(error: unknown, parts: readonly string[], hostPath: string): Promise<LoopbackError> {
    const path = shown(parts);
    const code = errno(error);
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      const stats = await fs.lstat(hostPath).catch(() => null);
      if (stats?.isSymbolicLink()) return symlinkRefusal(path);
      return new LoopbackError('INVALID_INPUT', `${path} is not a folder`, { path });
    }
    if (code === 'ENOENT') return new LoopbackError('NOT_FOUND', `${path} does not exist`, { path });
    return hostError(error, path, 'open the folder');
  }

  private otherMount(parts: readonly string[]): LoopbackError {
    const path = shown(parts);
    return new LoopbackError(
      'FORBIDDEN',
      `${path} is another filesystem mounted inside ${this.root}: Loopback Studio does not go into it`,
      { path },
    );
  }

  /** The host path of the folder at `parts` (the root for []). */
  async folder(parts: readonly string[]): Promise<string> {
    if (!this.rootHandle) return this.lstatWalk(parts);
    let handle = this.rootHandle;
    for (let i = 1; i <= parts.length; i++) {
      const key = shown(parts.slice(0, i));
      const cached = this.opened.get(key);
      if (cached) {
        handle = cached;
        continue;
      }
      const hostPath = `/proc/self/fd/${handle.fd}/${parts[i - 1]}`;
      let next: fs.FileHandle;
      try {
        next = await fs.open(hostPath, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      } catch (error) {
        throw await this.walkError(error, parts.slice(0, i), hostPath);
      }
      if ((await next.stat()).dev !== this.dev) {
        await next.close();
        throw this.otherMount(parts.slice(0, i));
      }
      this.opened.set(key, next);
      handle = next;
    }
    return `/proc/self/fd/${handle.fd}`;
  }

  /** Without descriptor paths (the BSDs): every step checked with lstat. */
  private async lstatWalk(parts: readonly string[]): Promise<string> {
    let path = this.root;
    for (let i = 1; i <= parts.length; i++) {
      path = `${path}/${parts[i - 1]}`;
      let stats: Stats;
      try {
        stats = await fs.lstat(path);
      } catch (error) {
        throw await this.walkError(error, parts.slice(0, i), path);
      }
      if (stats.isSymbolicLink()) throw symlinkRefusal(shown(parts.slice(0, i)));
      if (!stats.isDirectory())
        throw new LoopbackError('INVALID_INPUT', `${shown(parts.slice(0, i))} is not a folder`, { path: shown(parts.slice(0, i)) });
      if (stats.dev !== this.dev) throw this.otherMount(parts.slice(0, i));
    }
    return path;
  }
}

function symlinkRefusal(path: string): LoopbackError {
  return new LoopbackError(
    'FORBIDDEN',
    `${path} is a symbolic link: through a mount, Loopback Studio does not follow links (one could lead out of the mount); give the path it points to`,
    { path },
  );
}

// ── the filesystem ────────────────────────────────────────────────────────────────────────────

/** The FileSystem interface over a mount folder: host calls, as this process's user. */
export class MountedFileSystem implements FileSystem {
  protected constructor(
    readonly type: FsType,
    readonly via: MountVia,
    protected readonly folders: MountFolders,
  ) {}

  /** Opens the mount's root folder; ext2 gets symlinks and modes (PosixFileSystem), FAT does not. */
  static async open(mount: VolumeMount): Promise<MountedFileSystem> {
    const folders = await MountFolders.open(mount.via.mountDir);
    return mount.type === 'ext2'
      ? new PosixMountedFileSystem(mount.type, mount.via, folders)
      : new MountedFileSystem(mount.type, mount.via, folders);
  }

  protected get posix(): boolean {
    return this.type === 'ext2';
  }

  /** A name the file commands may create: what the rootless engine accepts for this filesystem. */
  protected checkName(name: string, path: string): void {
    if (!this.posix) {
      validateLongName(name);
      return;
    }
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > EXT2_NAME_MAX) {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${path}: the name "${name.slice(0, 40)}…" is ${bytes} bytes; ext2 names are at most ${EXT2_NAME_MAX} bytes`,
        { path },
      );
    }
  }

  protected requireWritable(): void {
    if (this.via.readOnly)
      throw new LoopbackError('IN_USE', `${this.via.mountDir} is mounted read-only: files cannot be changed through it`, {
        mountPoint: this.via.mountDir,
      });
  }

  /** The host path of an entry: its folder reached safely, then its own name (never followed by the callers). */
  protected async entryPath(parts: readonly string[]): Promise<string> {
    return `${await this.folders.folder(parts.slice(0, -1))}/${parts.at(-1)!}`;
  }

  protected async lstatOrNull(hostPath: string, path: string): Promise<Stats | null> {
    try {
      return await fs.lstat(hostPath);
    } catch (error) {
      if (errno(error) === 'ENOENT') return null;
      throw hostError(error, path, 'look at');
    }
  }

  private async entryOf(name: string, stats: Stats, hostPath: string): Promise<DirEntry> {
    const type = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'other';
    const entry: DirEntry = {
      name,
      type,
      sizeBytes: stats.size,
      modifiedMs: Math.floor(stats.mtimeMs),
      mode: this.posix ? stats.mode & 0o7777 : null,
    };
    if (type === 'symlink') {
      const target = await fs.readlink(hostPath).catch(() => null);
      if (target !== null) entry.target = target;
    }
    return entry;
  }

  async usage(): Promise<FsUsage> {
    const stats = await fs.statfs(this.folders.rootPath).catch((error: unknown) => {
      throw hostError(error, '/', 'measure');
    });
    // Root may use the blocks ext2 reserves for it; anyone else only what statfs calls available.
    const free = process.getuid?.() === 0 ? stats.bfree : stats.bavail;
    return {
      type: this.type,
      label: null,
      id: null,
      sizeBytes: stats.blocks * stats.bsize,
      usedBytes: (stats.blocks - stats.bfree) * stats.bsize,
      freeBytes: free * stats.bsize,
      blockBytes: stats.bsize,
    };
  }

  async list(path: string): Promise<DirEntry[]> {
    await this.folders.trim();
    return this.listParts(split(path));
  }

  private async listParts(parts: readonly string[]): Promise<DirEntry[]> {
    const dir = await this.folders.folder(parts);
    const names = await fs.readdir(dir).catch((error: unknown) => {
      throw hostError(error, shown(parts), 'list');
    });
    const entries: DirEntry[] = [];
    for (const name of names.sort()) {
      const hostPath = `${dir}/${name}`;
      const stats = await this.lstatOrNull(hostPath, shown([...parts, name]));
      if (stats) entries.push(await this.entryOf(name, stats, hostPath));
    }
    return entries;
  }

  async stat(path: string): Promise<DirEntry> {
    await this.folders.trim();
    const parts = split(path);
    if (parts.length === 0) return this.entryOf('/', await this.folders.rootStats(), this.folders.root);
    const hostPath = await this.entryPath(parts);
    const stats = await this.lstatOrNull(hostPath, shown(parts));
    if (!stats) throw new LoopbackError('NOT_FOUND', `${shown(parts)}: no such file or folder`, { path: shown(parts) });
    return this.entryOf(parts.at(-1)!, stats, hostPath);
  }

  async readFile(path: string): Promise<Uint8Array> {
    await this.folders.trim();
    const parts = split(path);
    const where = shown(parts);
    if (parts.length === 0) throw new LoopbackError('INVALID_INPUT', '/ is not a file', { path: where });
    const hostPath = await this.entryPath(parts);
    const stats = await this.lstatOrNull(hostPath, where);
    if (!stats) throw new LoopbackError('NOT_FOUND', `${where}: no such file or folder`, { path: where });
    if (stats.isSymbolicLink()) throw symlinkRefusal(where);
    if (!stats.isFile()) throw new LoopbackError('INVALID_INPUT', `${where} is not a file`, { path: where });
    // O_NOFOLLOW: a link swapped in since is refused; O_NONBLOCK: a pipe swapped in does not hang.
    const handle = await fs.open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: unknown) => {
      throw errno(error) === 'ELOOP' ? symlinkRefusal(where) : hostError(error, where, 'read');
    });
    try {
      if (!(await handle.stat()).isFile()) throw new LoopbackError('INVALID_INPUT', `${where} is not a file`, { path: where });
      return await handle.readFile();
    } catch (error) {
      throw hostError(error, where, 'read');
    } finally {
      await handle.close();
    }
  }

  /**
   * Creates or replaces a file: written under a fresh temporary name (O_EXCL, so never through a
   * link), given its mode and time, then renamed over the old one — the file is whole or absent.
   */
  async writeFile(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    this.requireWritable();
    await this.folders.trim();
    const parts = split(path);
    const where = shown(parts);
    if (parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot write a file over the root folder', { path: where });
    this.checkName(parts.at(-1)!, where);
    const dir = await this.folders.folder(parts.slice(0, -1));
    const existing = await this.lstatOrNull(`${dir}/${parts.at(-1)!}`, where);
    if (existing && !existing.isFile()) {
      throw new LoopbackError('ALREADY_EXISTS', `${where} exists and is a ${kindOf(existing)}, not a file; remove it first`, {
        path: where,
      });
    }
    const temp = `${dir}/.loopstudio-${randomBytes(6).toString('hex')}.part`;
    const mode = this.posix && options.mode !== undefined ? options.mode & 0o7777 : 0o644;
    const handle = await fs
      .open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode & 0o777)
      .catch((error: unknown) => {
        throw hostError(error, where, 'write');
      });
    let closed = false;
    try {
      let done = 0;
      while (done < data.length) done += (await handle.write(data, done, data.length - done)).bytesWritten;
      // The mode as asked, whatever the umask (ext2 keeps it; FAT has none to set).
      if (this.posix && options.mode !== undefined) await handle.chmod(mode);
      const when = new Date(options.modifiedMs ?? Date.now());
      await handle.utimes(new Date(), when);
      await handle.close();
      closed = true;
      await fs.rename(temp, `${dir}/${parts.at(-1)!}`);
    } catch (error) {
      if (!closed) await handle.close().catch(() => {});
      await fs.unlink(temp).catch(() => {});
      throw hostError(error, where, 'write');
    }
  }

  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    this.requireWritable();
    await this.folders.trim();
    const parts = split(path);
    if (parts.length === 0) {
      if (options.parents) return;
      throw new LoopbackError('ALREADY_EXISTS', '/ already exists', { path: '/' });
    }
    for (let i = 1; i <= parts.length; i++) this.checkName(parts[i - 1]!, shown(parts.slice(0, i)));
    const first = options.parents ? 1 : parts.length;
    for (let i = first; i <= parts.length; i++) {
      const step = parts.slice(0, i);
      const hostPath = await this.entryPath(step);
      try {
        await fs.mkdir(hostPath, 0o755);
      } catch (error) {
        if (errno(error) !== 'EEXIST') throw hostError(error, shown(step), 'make the folder');
        if (!options.parents) throw new LoopbackError('ALREADY_EXISTS', `${shown(step)} already exists`, { path: shown(step) });
        const stats = await this.lstatOrNull(hostPath, shown(step));
        if (stats?.isSymbolicLink()) throw symlinkRefusal(shown(step));
        if (!stats?.isDirectory())
          throw new LoopbackError('ALREADY_EXISTS', `${shown(step)} exists and is not a folder`, { path: shown(step) });
      }
    }
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    this.requireWritable();
    await this.folders.trim();
    const parts = split(path);
    if (parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot remove the root folder', { path: '/' });
    await this.removeParts(parts, options.recursive ?? false);
    await this.folders.forget();
  }

  private async removeParts(parts: readonly string[], recursive: boolean): Promise<void> {
    const where = shown(parts);
    const stats = await this.lstatOrNull(await this.entryPath(parts), where);
    if (!stats) throw new LoopbackError('NOT_FOUND', `${where}: no such file or folder`, { path: where });
    if (!stats.isDirectory()) {
      await fs.unlink(await this.entryPath(parts)).catch((error: unknown) => {
        throw hostError(error, where, 'remove');
      });
      return;
    }
    const children = await this.listParts(parts); // opens it: refuses another mount inside
    if (children.length > 0 && !recursive) {
      throw new LoopbackError(
        'VALIDATION',
        `${where} is not empty (${children.length} entries): remove it recursively to delete everything in it`,
        { path: where, entries: children.length },
      );
    }
    for (const child of children) await this.removeParts([...parts, child.name], true);
    await fs.rmdir(await this.entryPath(parts)).catch((error: unknown) => {
      throw hostError(error, where, 'remove');
    });
  }

  /** Rename or move within the volume; like the rootless engine, never over an existing entry. */
  async rename(from: string, to: string): Promise<void> {
    this.requireWritable();
    await this.folders.trim();
    const source = split(from);
    const target = split(to);
    if (source.length === 0 || target.length === 0) {
      throw new LoopbackError('INVALID_INPUT', 'the root folder cannot be renamed, nor anything renamed to it', { from, to });
    }
    const [src, dst] = [shown(source), shown(target)];
    const sourcePath = await this.entryPath(source);
    const stats = await this.lstatOrNull(sourcePath, src);
    if (!stats) throw new LoopbackError('NOT_FOUND', `${src}: no such file or folder`, { path: src });
    if (src === dst) return;
    if (stats.isDirectory() && dst.startsWith(`${src}/`)) {
      throw new LoopbackError('INVALID_INPUT', `cannot move the folder ${src} into itself (${dst})`, { from: src, to: dst });
    }
    this.checkName(target.at(-1)!, dst);
    const targetPath = await this.entryPath(target);
    if (await this.lstatOrNull(targetPath, dst)) {
      throw new LoopbackError('ALREADY_EXISTS', `${dst} already exists: remove it first (rename does not overwrite)`, { path: dst });
    }
    try {
      await fs.rename(sourcePath, targetPath);
    } catch (error) {
      throw hostError(error, `${src} → ${dst}`, 'rename');
    } finally {
      await this.folders.forget();
    }
  }

  async extents(path: string): Promise<FileExtent[]> {
    throw new LoopbackError(
      'IN_USE',
      `${path}: the volume is mounted at ${this.via.mountDir}, so where a file's data lies is the kernel's business; unmount it first`,
      { path },
    );
  }

  /** Nothing is cached here: the kernel writes back, and unmount (which syncs first) finishes it. */
  async flush(): Promise<void> {}

  /** Each file is in place once writeFile returns (renamed into its folder): nothing to write out. */
  async checkpoint(): Promise<void> {}

  async close(): Promise<void> {
    await this.folders.close();
  }
}

/** ext2 through the mount: symbolic links and permission bits too. */
export class PosixMountedFileSystem extends MountedFileSystem implements PosixFileSystem {
  async symlink(target: string, path: string): Promise<void> {
    this.requireWritable();
    const parts = split(path);
    const where = shown(parts);
    if (parts.length === 0) throw new LoopbackError('INVALID_INPUT', 'cannot make a link over the root folder', { path: where });
    this.checkName(parts.at(-1)!, where);
    await fs.symlink(target, await this.entryPath(parts)).catch((error: unknown) => {
      throw hostError(error, where, 'make the link');
    });
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.requireWritable();
    const parts = split(path);
    const where = shown(parts);
    // The entry itself, never a link's target: opened with O_NOFOLLOW (a folder through the walk).
    const handle =
      parts.length === 0
        ? null
        : await fs
            .open(await this.entryPath(parts), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
            .catch((error: unknown) => {
              throw errno(error) === 'ELOOP' ? symlinkRefusal(where) : hostError(error, where, 'change the mode of');
            });
    try {
      if (handle) await handle.chmod(mode & 0o7777);
      else await fs.chmod(this.folders.rootPath, mode & 0o7777);
    } catch (error) {
      throw hostError(error, where, 'change the mode of');
    } finally {
      await handle?.close();
    }
  }
}

/**
 * Runs `work` on the volume's filesystem: through its mount when it is mounted (MountedFileSystem;
 * a read-only mount refuses writing), else the rootless engine on the image. `via` says which.
 */
export async function withVolume<T>(
  ref: VolumeRef,
  writable: boolean,
  work: (fs: FileSystem, via: MountVia | null) => Promise<T>,
): Promise<T> {
  const mount = await findVolumeMount(ref);
  if (!mount) return withFileSystem(ref, writable, (target) => work(target, null));
  if (writable && mount.via.readOnly) throw readOnlyMountError(ref, mount.via);
  const target = await MountedFileSystem.open(mount);
  try {
    return await work(target, mount.via);
  } finally {
    await target.close();
  }
}

/** `{via}` for a result that went through a mount, nothing otherwise. */
export function viaField(via: MountVia | null): { via?: MountVia } {
  return via ? { via } : {};
}
