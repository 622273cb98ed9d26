/**
 * Files in and out of a volume, without root and without mounting: `put` copies host files and
 * folders in (like `cp -r`), `get` copies them out, plus ls, mkdir and rm. Copies are checked
 * before the first byte is written — every source exists, every name is legal on the target
 * filesystem, everything fits in the free space — and report progress file by file; a cancelled
 * copy stops between files, so each file is either complete or absent.
 *
 * When the volume is mounted (ours or anyone's), the same code runs through the mount with the
 * host's own filesystem calls instead (mounted-files.ts), and the results say so (`via`).
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  promises as fs,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { basename, join, sep } from 'node:path';
import { formatBytes } from '../../shared/disk/sizes';
import { LoopbackError } from '../../shared/errors';
import { validateLongName } from '../../shared/fs/fat/names';
import type { DirEntry, FileSystem, PosixFileSystem, ProgressOptions } from '../../shared/fs/types';
import { extractTree, type GetOptions, type GetResult } from './extract';
import { viaField, withVolume, type MountVia } from './mounted-files';
import { foldCase } from '../../shared/fs/fat/names';
import { describeVolume, type VolumeRef } from './volumes';

/** Joins image paths: always POSIX, always absolute. */
export function imageJoin(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`.replace(/^(?!\/)/, '/');
}

export function normalizeImagePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

async function statOrNull(target: FileSystem, path: string): Promise<DirEntry | null> {
  try {
    return await target.stat(path);
  } catch (error) {
    if (error instanceof LoopbackError && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

function isPosix(target: FileSystem): target is PosixFileSystem {
  return 'symlink' in target && 'chmod' in target;
}

/** One thing to create in the image, planned before anything is written. */
type Planned =
  | { kind: 'dir'; to: string; mode: number }
  | { kind: 'file'; from: string; to: string; sizeBytes: number; mode: number; modifiedMs: number }
  | { kind: 'symlink'; to: string; target: string };

/**
 * Plans `from` and everything below it. Synchronous calls: a stat is a few microseconds from the
 * inode cache, while each awaited fs.promises call is a thread-pool round trip (tens of them),
 * which dominated planning a tree of thousands of small files. Long walks still give the event
 * loop a turn now and then (`pause`).
 */
interface PlanContext {
  posix: boolean;
  plan: Planned[];
  pause: () => Promise<void>;
  /** Where FAT may follow a symlink to (see PutOptions.followLinksWithin); undefined: anywhere. */
  linkRoots: readonly string[] | undefined;
  skipped: SkippedSource[];
}

/** Whether `path` is `root` or below it (both real paths). */
function isWithin(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

async function planSource(from: string, to: string, ctx: PlanContext): Promise<void> {
  const { posix, plan, pause } = ctx;
  await pause();
  let stats: Stats;
  try {
    stats = lstatSync(from);
    // FAT cannot hold symlinks: follow them there (as mcopy does) — within the allowed roots only,
    // when there are some (a recipe's folder): a link must not carry /etc/shadow into an image.
    // ext2 keeps them as links.
    if (stats.isSymbolicLink() && !posix) {
      const real = realpathOrNull(from);
      if (ctx.linkRoots && (real === null || !ctx.linkRoots.some((root) => isWithin(real, root)))) {
        ctx.skipped.push({
          path: from,
          reason: `a symbolic link to ${real ?? readlinkSync(from)}, outside the folders a recipe may copy from; FAT cannot store links`,
        });
        return;
      }
      stats = statSync(from);
    }
  } catch (error) {
    throw new LoopbackError(
      'NOT_FOUND',
      `${from}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (error as Error).message}`,
      { path: from },
    );
  }
  if (stats.isSymbolicLink()) {
    plan.push({ kind: 'symlink', to, target: readlinkSync(from) });
  } else if (stats.isDirectory()) {
    plan.push({ kind: 'dir', to, mode: stats.mode & 0o7777 });
    const names = readdirSync(from).sort();
    for (const name of names) await planSource(join(from, name), imageJoin(to, name), ctx);
  } else if (stats.isFile()) {
    plan.push({ kind: 'file', from, to, sizeBytes: stats.size, mode: stats.mode & 0o7777, modifiedMs: stats.mtimeMs });
  } else {
    throw new LoopbackError(
      'INVALID_INPUT',
      `${from} is not a regular file or folder (devices, pipes and sockets cannot be copied into an image)`,
      { path: from },
    );
  }
}

/** Gives the event loop a turn when `everyMs` have passed since the last one (progress, cancel, I/O callbacks). */
function pacer(everyMs = 20): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last <= everyMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    last = Date.now();
  };
}

/**
 * Reads host files whole, with few syscalls (open, fstat, one read, close) and, when `reuse`,
 * into one growing buffer instead of a new one per file: thousands of fresh buffers of
 * external memory kept the garbage collector busy. A reused buffer's bytes are only valid
 * until the next read.
 */
class SourceReader {
  private scratch = Buffer.allocUnsafeSlow(0);

  constructor(private readonly reuse: boolean) {}

  read(path: string): Uint8Array {
    // Errors are readFileSync's own (ENOENT, EACCES … naming the path).
    const fd = openSync(path, 'r');
    try {
      // Like readFileSync: the size when opened (a file that grows since is read up to it).
      const size = fstatSync(fd).size;
      const buffer = this.reuse ? this.room(size) : Buffer.allocUnsafe(size);
      let done = 0;
      while (done < size) {
        const n = readSync(fd, buffer, done, size - done, done);
        if (n === 0) break; // it shrank
        done += n;
      }
      return buffer.subarray(0, done);
    } finally {
      closeSync(fd);
    }
  }

  private room(size: number): Buffer {
    if (this.scratch.length < size)
      this.scratch = Buffer.allocUnsafeSlow(Math.max(size, Math.min(2 * this.scratch.length, 64 * 1024 * 1024)));
    return this.scratch;
  }
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** A source entry that was not copied, and why. */
export interface SkippedSource {
  path: string;
  reason: string;
}

export interface PutResult {
  volume: string;
  files: number;
  folders: number;
  bytes: number;
  /** Set when the copy went through the volume's mount. */
  via?: MountVia;
  /** Sources left out (symbolic links FAT may not follow); absent when none were. */
  skipped?: SkippedSource[];
}

export interface PutOptions extends ProgressOptions {
  /**
   * Real paths of the host folders that symbolic links may lead into when the target is FAT
   * (which stores no links, so they are followed). A recipe passes its own folder and what the
   * user allowed; a link pointing elsewhere is skipped and reported. Undefined: links are followed
   * wherever they point, as mcopy does, for files the user named themselves.
   */
  followLinksWithin?: readonly string[];
  /**
   * Make DEST's missing parent folders first, like `mkdir -p` (and DEST itself when it ends in `/`
   * or takes several sources). They are planned with the rest, so nothing is made when a check fails.
   */
  parents?: boolean;
}

/**
 * FAT compares names without case: two sources that differ only in case would land on one entry,
 * the second silently replacing the first. Refused before anything is written, naming both.
 */
function requireDistinctWithoutCase(plan: readonly Planned[], volume: string): void {
  const seen = new Map<string, string>();
  for (const item of plan) {
    const key = foldCase(item.to);
    const first = seen.get(key);
    if (first !== undefined && first !== item.to) {
      throw new LoopbackError(
        'VALIDATION',
        `${first} and ${item.to} would be the same name in ${volume}: FAT does not tell upper from lower case. Rename one of them; nothing was copied`,
        { paths: [first, item.to] },
      );
    }
    if (first === undefined) seen.set(key, item.to);
  }
}

/** `put SRC… DEST`: like `cp -r SRC… DEST`, into the image. */
export async function putFiles(ref: VolumeRef, sources: readonly string[], dest: string, options: PutOptions = {}): Promise<PutResult> {
  if (sources.length === 0) throw new LoopbackError('INVALID_INPUT', 'name at least one file or folder to copy in');
  return withVolume(ref, true, async (target, via) => {
    const destPath = normalizeImagePath(dest);
    const destEntry = await statOrNull(target, destPath);
    // With --parents, DEST ending in / (or taking several sources) is a folder to make too.
    const destIsFolder =
      destEntry?.type === 'directory' || (options.parents === true && !destEntry && (sources.length > 1 || /\/$/.test(dest)));
    if (destEntry && destEntry.type !== 'directory' && sources.length > 1) {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${destPath} in ${describeVolume(ref)} is a file; copying several sources needs a folder there`,
      );
    }
    if (!destEntry && sources.length > 1 && !options.parents) {
      throw new LoopbackError(
        'NOT_FOUND',
        `${destPath} does not exist in ${describeVolume(ref)}; make it first (loopstudio mkdir), add --parents, or copy one source at a time`,
      );
    }
    const posix = isPosix(target);
    const ctx: PlanContext = { posix, plan: [], pause: pacer(), linkRoots: options.followLinksWithin, skipped: [] };
    const { plan, pause } = ctx;
    if (options.parents) {
      // The folders to make, outermost first, planned before what goes into them.
      const folder = destIsFolder ? destPath : destPath.slice(0, destPath.lastIndexOf('/')) || '/';
      const missing: string[] = [];
      for (let at = folder; at !== '/'; at = at.slice(0, at.lastIndexOf('/')) || '/') {
        const entry = await statOrNull(target, at);
        if (entry?.type === 'directory') break;
        if (entry)
          throw new LoopbackError('ALREADY_EXISTS', `${at} is a file in ${describeVolume(ref)}, not a folder: nothing was copied`, {
            path: at,
          });
        missing.unshift(at);
      }
      for (const to of missing) plan.push({ kind: 'dir', to, mode: 0o755 });
    }
    for (const source of sources) {
      const to = destIsFolder ? imageJoin(destPath, basename(source)) : destPath;
      await planSource(source, to, ctx);
    }

    // Everything is checked before the first write.
    if (!posix) {
      for (const item of plan) for (const part of item.to.split('/').filter(Boolean)) validateLongName(part);
      requireDistinctWithoutCase(plan, describeVolume(ref));
    }
    const parent = plan[0] ? plan[0].to.slice(0, plan[0].to.lastIndexOf('/')) || '/' : '/';
    const parentEntry = await statOrNull(target, parent);
    if (!parentEntry) {
      throw new LoopbackError(
        'NOT_FOUND',
        `${parent} does not exist in ${describeVolume(ref)}: make it first (loopstudio mkdir --parents), or add --parents; nothing was copied`,
        { path: parent },
      );
    }
    if (parentEntry.type !== 'directory') {
      throw new LoopbackError('NOT_FOUND', `${parent} is not a folder in ${describeVolume(ref)}`, { path: parent });
    }
    const usage = await target.usage();
    const block = usage.blockBytes;
    const files = plan.filter((p): p is Extract<Planned, { kind: 'file' }> => p.kind === 'file');
    const bytesTotal = files.reduce((sum, f) => sum + f.sizeBytes, 0);
    // Data in whole clusters/blocks, plus one for each new folder: a lower bound of what is needed.
    const needed =
      files.reduce((sum, f) => sum + Math.ceil(f.sizeBytes / block) * block, 0) + plan.filter((p) => p.kind === 'dir').length * block;
    if (needed > usage.freeBytes) {
      throw new LoopbackError(
        'VALIDATION',
        `Not enough space in ${describeVolume(ref)}: the copy needs at least ${formatBytes(needed)} and ${formatBytes(usage.freeBytes)} is free; nothing was copied`,
        { neededBytes: needed, freeBytes: usage.freeBytes },
      );
    }

    let bytesDone = 0;
    let itemsDone = 0;
    const report = (phase: string) => options.onProgress?.({ phase, bytesDone, bytesTotal, itemsDone, itemsTotal: files.length });
    report('copying files');
    // FAT's and ext2's writeFile are done with the data when they return (they write it, or copy
    // the partial last block), so one buffer serves every file. Measured on the ext2 bench: 2.15×
    // dd with a fresh buffer per file, 1.5–1.7× with the one buffer.
    const reader = new SourceReader(true);
    for (const item of plan) {
      // The device does synchronous I/O: give the event loop a turn now and then, so progress
      // reaches the UI and a cancel request can arrive.
      await pause();
      if (options.signal?.aborted)
        throw new LoopbackError('CANCELLED', `Copy into ${describeVolume(ref)} cancelled after ${itemsDone} of ${files.length} files`);
      if (item.kind === 'dir') {
        const existing = await statOrNull(target, item.to);
        if (!existing) await target.mkdir(item.to);
        else if (existing.type !== 'directory')
          throw new LoopbackError('ALREADY_EXISTS', `${item.to} exists in ${describeVolume(ref)} and is not a folder`);
        if (posix) await target.chmod(item.to, item.mode);
      } else if (item.kind === 'symlink') {
        if (posix) {
          if (await statOrNull(target, item.to)) await target.remove(item.to);
          await target.symlink(item.target, item.to);
        }
      } else {
        const data = reader.read(item.from);
        await target.writeFile(item.to, data, { modifiedMs: item.modifiedMs, ...(posix ? { mode: item.mode } : {}) });
        // The file is in the image's metadata before the next one starts: a cancel, or a kill,
        // keeps every finished file, and the volume is clean either way.
        await target.checkpoint?.();
        bytesDone += item.sizeBytes;
        itemsDone += 1;
        report('copying files');
      }
    }
    report('writing metadata');
    return {
      volume: describeVolume(ref),
      files: files.length,
      folders: plan.filter((p) => p.kind === 'dir').length,
      bytes: bytesTotal,
      ...viaField(via),
      ...(ctx.skipped.length ? { skipped: ctx.skipped } : {}),
    };
  });
}

/**
 * `get PATH OUT`: a file to OUT (or into OUT when it is a folder); a folder recursively. The
 * image is treated as hostile: names checked, nothing written through a link, existing files
 * replaced only with `overwrite` (extract.ts).
 */
export async function getFiles(
  ref: VolumeRef,
  path: string,
  out: string,
  options: GetOptions = {},
): Promise<GetResult & { via?: MountVia }> {
  return withVolume(ref, false, async (source, via) => ({
    ...(await extractTree(source, describeVolume(ref), path, out, options)),
    ...viaField(via),
  }));
}

/**
 * `get PATH -`: one file's bytes, in pieces, to `write` (the CLI's stdout), like `mcopy … -`.
 * Holes come as zeros. A folder (or a link, a device) is refused: `-` takes one file.
 */
export async function streamFile(
  ref: VolumeRef,
  path: string,
  write: (data: Uint8Array) => Promise<void>,
  options: ProgressOptions = {},
): Promise<{ path: string; files: 1; bytes: number; via?: MountVia }> {
  return withVolume(ref, false, async (source, via) => {
    const at = normalizeImagePath(path);
    const entry = await source.stat(at);
    if (entry.type !== 'file') {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${at} in ${describeVolume(ref)} is ${entry.type === 'directory' ? 'a folder' : `a ${entry.type}`}: \`-\` writes one file's bytes to stdout (copy a folder to a host folder instead)`,
        { path: at },
      );
    }
    let bytes = 0;
    const zeros = new Uint8Array(1024 * 1024);
    const piece = async (data: Uint8Array) => {
      if (options.signal?.aborted) throw new LoopbackError('CANCELLED', `Copy of ${at} to stdout cancelled after ${bytes} bytes`);
      await write(data);
      bytes += data.length;
      options.onProgress?.({ phase: 'copying to stdout', bytesDone: bytes, bytesTotal: entry.sizeBytes, itemsDone: 0, itemsTotal: 1 });
    };
    /** Zeros up to `end`: a hole, written in pieces of at most 1 MiB. */
    const zerosTo = async (end: number) => {
      while (bytes < end) await piece(zeros.subarray(0, Math.min(zeros.length, end - bytes)));
    };
    if (source.readChunks) {
      const size = await source.readChunks(at, async (chunk) => {
        await zerosTo(chunk.offsetBytes);
        if (chunk.data) await piece(chunk.data);
        else await zerosTo(chunk.offsetBytes + chunk.lengthBytes);
      });
      await zerosTo(size);
    } else {
      await piece(await source.readFile(at));
    }
    return { path: at, files: 1, bytes, ...viaField(via) };
  });
}

/** Where `get` streams a file instead of making one: stdout, or a device or pipe it opens. */
export type StreamTarget =
  | { kind: 'stdout'; close: () => Promise<void> }
  | { kind: 'device'; write: (data: Uint8Array) => Promise<void>; close: () => Promise<void> };

/**
 * `get`'s OUT when it is not a place for a file: `-`, this process's own stdout by another name
 * (/dev/stdout, /dev/fd/1 — the same file as fd 1), or a character device or FIFO, which is
 * opened for writing (never created, truncated, or unlinked to be replaced). Null: a path for a file
 * or folder, for getFiles.
 */
export async function streamTarget(out: string): Promise<StreamTarget | null> {
  const none = async () => {};
  if (out === '-') return { kind: 'stdout', close: none };
  const stats = await fs.stat(out).catch(() => null);
  if (!stats) return null;
  const stdout = (() => {
    try {
      return fstatSync(1);
    } catch {
      return null;
    }
  })();
  // /dev/stdout, /dev/fd/1, /proc/self/fd/1: our own stdout, whatever it is (a file, a pipe, a terminal).
  if (stdout && stats.dev === stdout.dev && stats.ino === stdout.ino && /^\/(dev|proc)\//.test(out)) return { kind: 'stdout', close: none };
  if (stats.isFile() || stats.isDirectory()) return null;
  if (!stats.isCharacterDevice() && !stats.isFIFO()) {
    throw new LoopbackError('INVALID_INPUT', `${out} is not a file, a folder, a character device or a pipe: nothing to copy into`, {
      path: out,
    });
  }
  const handle = await fs.open(out, constants.O_WRONLY | constants.O_NOCTTY);
  return {
    kind: 'device',
    write: async (data) => {
      for (let done = 0; done < data.length;) done += (await handle.write(data, done, data.length - done)).bytesWritten;
    },
    close: () => handle.close(),
  };
}

export async function listFiles(ref: VolumeRef, path: string): Promise<{ path: string; entries: DirEntry[]; via?: MountVia }> {
  return withVolume(ref, false, async (target, via) => {
    const at = normalizeImagePath(path);
    const entry = await target.stat(at);
    return { path: at, entries: entry.type === 'directory' ? await target.list(at) : [entry], ...viaField(via) };
  });
}

export async function makeFolder(ref: VolumeRef, path: string, parents: boolean): Promise<{ path: string; via?: MountVia }> {
  const at = normalizeImagePath(path);
  return withVolume(ref, true, async (target, via) => {
    await target.mkdir(at, { parents });
    return { path: at, ...viaField(via) };
  });
}

export async function removePath(ref: VolumeRef, path: string, recursive: boolean): Promise<{ path: string; via?: MountVia }> {
  const at = normalizeImagePath(path);
  if (at === '/') throw new LoopbackError('INVALID_INPUT', 'Refusing to remove the root folder; format the volume to empty it');
  return withVolume(ref, true, async (target, via) => {
    await target.remove(at, { recursive });
    return { path: at, ...viaField(via) };
  });
}

export async function renamePath(ref: VolumeRef, from: string, to: string): Promise<{ from: string; to: string; via?: MountVia }> {
  const [source, target] = [normalizeImagePath(from), normalizeImagePath(to)];
  return withVolume(ref, true, async (fs, via) => {
    await fs.rename(source, target);
    return { from: source, to: target, ...viaField(via) };
  });
}
