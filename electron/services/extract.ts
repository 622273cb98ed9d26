/**
 * `get PATH OUT`: copying a file or a folder tree out of a volume onto the host — the one place
 * where names read from an image become host paths, so it treats the image as hostile
 * (docs/SECURITY.md, rule 11):
 *
 * - Every name is checked before it touches the host (shared/fs/host-names.ts): no "/", "\",
 *   "." or "..", NUL or other control characters, nothing the host cannot hold. An entry that
 *   fails is skipped — a folder with everything in it — with a warning naming it, and the rest is
 *   copied; the result lists what was skipped. So is a second entry of the same name in a folder
 *   (ignoring case on FAT, as FAT looks names up), a device node, and a symlink whose target is
 *   empty or holds a NUL.
 * - Everything is planned before the first write: the tree walked (the readers refuse directory
 *   cycles, and the walk refuses a tree with more entries than the volume could hold — folders
 *   linked in several places), and the host checked. Existing host files are replaced only with
 *   `overwrite` (the CLI's --force; the app asks); otherwise nothing is written and the error
 *   lists them. A host folder is never replaced, only merged into.
 * - Nothing is written through a symbolic link: folders are made one at a time and checked with
 *   lstat (a link where a folder should be is refused, or with `overwrite` removed — the link,
 *   not what it points to), files are created with O_CREAT | O_EXCL | O_NOFOLLOW (with
 *   `overwrite` an existing one is unlinked first, never opened), and the image's symlinks are
 *   made last, when nothing else will be written below them.
 * - Files are streamed in pieces (FileSystem.readChunks), never read whole: a 4 GiB file, or a
 *   sparse one claiming more, takes a few MiB of memory; holes stay holes on the host. A file is
 *   either whole or absent: one that fails or is cancelled half-way is removed.
 * - Host errors become LoopbackErrors naming the host path: NO_SPACE for a full disk (ENOSPC,
 *   EDQUOT), ALREADY_EXISTS, IO for the rest. (The readers' CORRUPT errors name the image path;
 *   volumes.ts adds the partition.)
 */
import {
  closeSync,
  constants,
  ftruncateSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { GetResult, SkippedEntry } from '../../shared/api/files';
import { LoopbackError } from '../../shared/errors';
import { foldCase } from '../../shared/fs/fat/names';
import { hostNameProblem, printableName } from '../../shared/fs/host-names';
import type { DirEntry, FileSystem, ProgressOptions } from '../../shared/fs/types';

export type { GetResult, SkippedEntry };

export interface GetOptions extends ProgressOptions {
  /** Replace host files and symlinks that are where the copy goes (folders are merged, never replaced). */
  overwrite?: boolean;
}

/** Conflicts named in an error's message (all of them are in its details, up to DETAIL_LIMIT). */
const MESSAGE_LIMIT = 3;
const DETAIL_LIMIT = 100;
/** Each directory entry takes at least this many bytes of a volume (ext2's smallest record; FAT's are 32). */
const MIN_ENTRY_BYTES = 12;

/** One thing to create on the host, planned before anything is written. */
type Planned =
  | { kind: 'dir'; image: string; host: string }
  | { kind: 'file'; image: string; host: string; sizeBytes: number; modifiedMs: number | null }
  | { kind: 'symlink'; image: string; host: string; target: string };

function imageChild(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** "/a//b/./c/.." → "/a/b": the image path the user asked for, made absolute. */
function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** A host error as a LoopbackError naming `path`: NO_SPACE, ALREADY_EXISTS, NOT_FOUND or IO. */
export function hostError(error: unknown, path: string, doing: string): LoopbackError {
  if (error instanceof LoopbackError) return error;
  const code = errno(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new LoopbackError('NO_SPACE', `No space left on this computer's disk to ${doing} ${path}: free some space and copy again`, {
      path,
      errno: code,
    });
  }
  if (code === 'EEXIST') return new LoopbackError('ALREADY_EXISTS', `${path} already exists`, { path });
  if (code === 'ENOENT') return new LoopbackError('NOT_FOUND', `cannot ${doing} ${path}: its folder does not exist`, { path });
  return new LoopbackError('IO', `cannot ${doing} ${path}: ${message}`, { path, ...(code ? { errno: code } : {}) });
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = errno(error);
    // Absent, or below something that is not a folder (a conflict of its own, found there).
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw hostError(error, path, 'look at');
  }
}

/** Gives the event loop a turn when `everyMs` have passed since the last one (progress, cancel). */
function pacer(everyMs = 20): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last <= everyMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    last = Date.now();
  };
}

/** O_NOFOLLOW where the platform has it (not on Windows, which has no symlinks to follow here). */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW | (constants.O_NOCTTY ?? 0);

/**
 * Copies `path` (a file, a symlink or a folder tree) of `source` to `out` on the host: into
 * `out` when it is an existing folder (the root folder's contents go straight into it), else to
 * `out` itself. `volume` names the volume in messages.
 */
export async function extractTree(
  source: FileSystem,
  volume: string,
  path: string,
  out: string,
  options: GetOptions = {},
): Promise<GetResult> {
  const from = normalize(path);
  const entry = await source.stat(from);
  const platform = process.platform;
  const skipped: SkippedEntry[] = [];
  const skip = (image: string, reason: string) => skipped.push({ path: image, reason });

  // Where the copy goes. OUT is the user's own path: a link they made there is followed.
  let outStats: Stats | null = null;
  try {
    outStats = statSync(out);
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw hostError(error, out, 'look at');
  }
  // An existing OUT folder by its real path: what is checked with lstat below is a real folder.
  const base = outStats?.isDirectory() ? realpath(out) : out;
  let dest = base;
  if (outStats?.isDirectory() && from !== '/') {
    const name = basename(from);
    const problem = hostNameProblem(name, platform);
    if (problem) {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${printableName(from)} cannot be copied into ${out} under its own name (${problem}): give the full host path to copy it to instead`,
        {
          path: from,
        },
      );
    }
    dest = join(base, name);
  } else if (outStats && !outStats.isDirectory() && entry.type === 'directory') {
    throw new LoopbackError('ALREADY_EXISTS', `${out} is a file: a folder cannot be copied over it`, { path: out });
  }
  if (entry.type === 'directory' && !outStats && dest === out) {
    // Like mkdir -p for the destination the user named (its parents are theirs).
    try {
      mkdirSync(dirname(out), { recursive: true });
    } catch (error) {
      throw hostError(error, dirname(out), 'make the folder');
    }
  } else if (!statOrFalse(dirname(dest))) {
    throw new LoopbackError('NOT_FOUND', `${dirname(dest)} does not exist: make the folder first`, { path: dirname(dest) });
  }

  // --- Plan: walk the image, check every name, before anything is written. ---
  const plan: Planned[] = [];
  const fold = source.type.startsWith('fat'); // FAT looks names up ignoring case (ext2 and ISO 9660's Rock Ridge and Joliet do not)
  const usage = await source.usage();
  const maxEntries = Math.max(1024, Math.floor(usage.sizeBytes / MIN_ENTRY_BYTES));
  const pause = pacer();
  const planEntry = (e: DirEntry, image: string, host: string): boolean => {
    if (e.type === 'directory') plan.push({ kind: 'dir', image, host });
    else if (e.type === 'file') plan.push({ kind: 'file', image, host, sizeBytes: e.sizeBytes, modifiedMs: e.modifiedMs });
    else if (e.type === 'symlink') {
      const target = e.target ?? '';
      if (target === '') skip(image, 'a symbolic link without a target');
      else if (target.includes('\0')) skip(image, 'a symbolic link whose target contains a NUL character');
      else plan.push({ kind: 'symlink', image, host, target });
    } else {
      skip(image, 'a device node, FIFO or socket: only files, folders and symbolic links are copied out');
    }
    return e.type === 'directory';
  };
  const folders: Array<{ image: string; host: string }> = [];
  if (planEntry(entry, from, dest)) folders.push({ image: from, host: dest });
  while (folders.length > 0) {
    const folder = folders.pop()!;
    await pause();
    if (options.signal?.aborted) throw new LoopbackError('CANCELLED', `Copy out of ${volume} cancelled before anything was copied`);
    const seen = new Set<string>();
    const below: Array<{ image: string; host: string }> = [];
    for (const child of await source.list(folder.image)) {
      const image = imageChild(folder.image, child.name);
      const problem = hostNameProblem(child.name, platform);
      if (problem) {
        skip(image, problem);
        continue;
      }
      const key = fold ? foldCase(child.name) : child.name;
      if (seen.has(key)) {
        skip(image, `the folder has another entry of this name${fold ? ' (ignoring case, as FAT does)' : ''}, which is the one copied`);
        continue;
      }
      seen.add(key);
      if (plan.length >= maxEntries) {
        throw new LoopbackError(
          'CORRUPT',
          `${volume}: the folder tree below ${printableName(from)} has more entries than the volume could hold (${maxEntries}): folders appear in more than one place (run ${fold ? 'fsck.fat' : 'e2fsck'})`,
          { path: from, entries: plan.length },
        );
      }
      const host = join(folder.host, child.name);
      if (planEntry(child, image, host)) below.push({ image, host });
    }
    // Depth first, in the order listed.
    for (let i = below.length - 1; i >= 0; i--) folders.push(below[i]!);
  }
  plan.sort((a, b) => Number(a.kind === 'symlink') - Number(b.kind === 'symlink')); // links last (stable)

  // --- Check the host: what is there already. ---
  const replace: string[] = [];
  const blocked: string[] = [];
  const special: string[] = [];
  for (const item of plan) {
    const there = lstatOrNull(item.host);
    if (!there) continue;
    // Only a file or a link is ever replaced: never a folder, and never a device, pipe or socket
    // (`get … /dev/null --force` as root must not unlink /dev/null).
    if (!there.isFile() && !there.isSymbolicLink() && !there.isDirectory()) special.push(item.host);
    else if (item.kind === 'dir') {
      if (!there.isDirectory()) replace.push(item.host);
    } else if (there.isDirectory()) blocked.push(item.host);
    else replace.push(item.host);
  }
  const list = (paths: string[]) =>
    paths.slice(0, MESSAGE_LIMIT).join(', ') + (paths.length > MESSAGE_LIMIT ? ` and ${paths.length - MESSAGE_LIMIT} more` : '');
  if (special.length > 0) {
    throw new LoopbackError(
      'INVALID_INPUT',
      `${list(special)} ${special.length === 1 ? 'is a device, pipe or socket' : 'are devices, pipes or sockets'} on this computer, not a file: nothing was copied (they are never replaced; to write a file's bytes to stdout, use - as OUT)`,
      {
        existing: special.slice(0, DETAIL_LIMIT),
        count: special.length,
      },
    );
  }
  if (blocked.length > 0) {
    throw new LoopbackError(
      'ALREADY_EXISTS',
      `${list(blocked)} ${blocked.length === 1 ? 'is a folder' : 'are folders'} on this computer, where the copy has a file: nothing was copied (a folder is never replaced)`,
      {
        existing: blocked.slice(0, DETAIL_LIMIT),
        count: blocked.length,
      },
    );
  }
  if (replace.length > 0 && !options.overwrite) {
    throw new LoopbackError(
      'ALREADY_EXISTS',
      `${list(replace)} already ${replace.length === 1 ? 'exists' : 'exist'}: nothing was copied. Copy again with --force (the app asks) to replace ${replace.length === 1 ? 'it' : 'them'}`,
      { existing: replace.slice(0, DETAIL_LIMIT), count: replace.length, replaceable: true },
    );
  }

  // --- Write. ---
  const files = plan.filter((p): p is Extract<Planned, { kind: 'file' }> => p.kind === 'file');
  const bytesTotal = files.reduce((sum, f) => sum + f.sizeBytes, 0);
  const result: GetResult = { volume, files: 0, folders: 0, symlinks: 0, bytes: 0, skipped };
  /** `within`: bytes of the file being copied, so a large one shows progress too. */
  const report = (within = 0) =>
    options.onProgress?.({
      phase: 'copying files',
      bytesDone: result.bytes + within,
      bytesTotal,
      itemsDone: result.files,
      itemsTotal: files.length,
    });
  report();
  const overwrite = Boolean(options.overwrite);
  for (const item of plan) {
    await pause();
    if (options.signal?.aborted) {
      throw new LoopbackError(
        'CANCELLED',
        `Copy out of ${volume} cancelled after ${result.files} of ${files.length} files; the finished ones are kept`,
      );
    }
    if (item.kind === 'dir') {
      makeFolder(item.host, overwrite);
      result.folders++;
    } else if (item.kind === 'file') {
      result.bytes += await copyFile(source, item, overwrite, options, report);
      result.files++;
      report();
    } else {
      const made = makeSymlink(item.target, item.host, overwrite);
      if (made === true) result.symlinks++;
      else skip(item.image, made);
    }
  }
  return result;
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch (error) {
    throw hostError(error, path, 'look at');
  }
}

function statOrFalse(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Removes what is at `path` (a file or a link, never a folder), for `overwrite`. */
function unlinkForReplace(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw hostError(error, path, 'replace');
  }
}

/** A real folder at `path`, made without following a link: an existing link or file is refused, or with `overwrite` removed. */
function makeFolder(path: string, overwrite: boolean): void {
  try {
    mkdirSync(path);
  } catch (error) {
    if (errno(error) !== 'EEXIST') throw hostError(error, path, 'make the folder');
    const there = lstatSync(path);
    if (!there.isDirectory()) {
      if (!overwrite) throw new LoopbackError('ALREADY_EXISTS', `${path} exists and is not a folder`, { path });
      unlinkForReplace(path);
      try {
        mkdirSync(path);
      } catch (again) {
        throw hostError(again, path, 'make the folder');
      }
    }
  }
  // Checked after making it too: what the copy writes below must be this folder, not a link.
  if (!lstatSync(path).isDirectory())
    throw new LoopbackError('IO', `${path} changed into something that is not a folder while copying`, { path });
}

/** Creates the file exclusively, never through a link; with `overwrite` an existing file or link is unlinked first. */
function createFile(path: string, overwrite: boolean): number {
  try {
    return openSync(path, CREATE_FLAGS, 0o666);
  } catch (error) {
    // EEXIST, or ELOOP when O_NOFOLLOW met a link.
    if ((errno(error) !== 'EEXIST' && errno(error) !== 'ELOOP') || !overwrite) throw hostError(error, path, 'create');
    if (lstatSync(path).isDirectory()) throw new LoopbackError('ALREADY_EXISTS', `${path} is a folder: a file cannot replace it`, { path });
    unlinkForReplace(path);
    try {
      return openSync(path, CREATE_FLAGS, 0o666);
    } catch (again) {
      throw hostError(again, path, 'create');
    }
  }
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length;) done += writeSync(fd, data, done, data.length - done, position + done);
}

/** Copies one file, streamed; a file that fails or is cancelled half-way is removed. Returns its size. */
async function copyFile(
  source: FileSystem,
  item: Extract<Planned, { kind: 'file' }>,
  overwrite: boolean,
  options: GetOptions,
  progress: (bytesDone: number) => void,
): Promise<number> {
  const fd = createFile(item.host, overwrite);
  let closed = false;
  try {
    let size: number;
    if (source.readChunks) {
      size = await source.readChunks(item.image, async (chunk) => {
        if (options.signal?.aborted) throw new LoopbackError('CANCELLED', `Copy of ${item.image} cancelled; it was removed again`);
        if (chunk.data) writeAll(fd, chunk.data, chunk.offsetBytes);
        progress(chunk.offsetBytes + chunk.lengthBytes);
      });
    } else {
      const data = await source.readFile(item.image);
      writeAll(fd, data, 0);
      size = data.length;
    }
    // Holes at the end, and the size exactly as the image says.
    ftruncateSync(fd, size);
    if (item.modifiedMs !== null && Number.isFinite(item.modifiedMs)) {
      try {
        futimesSync(fd, Date.now() / 1000, item.modifiedMs / 1000);
      } catch {
        // A date the host cannot store: the file is still right.
      }
    }
    closeSync(fd);
    closed = true;
    return size;
  } catch (error) {
    if (!closed) closeSync(fd);
    try {
      unlinkSync(item.host);
    } catch {
      // Already gone; the error below says what happened.
    }
    throw hostError(error, item.host, 'write');
  }
}

/** Makes a symlink (which never follows one at `path`); true, or why it was skipped. */
function makeSymlink(target: string, path: string, overwrite: boolean): true | string {
  try {
    symlinkSync(target, path);
    return true;
  } catch (error) {
    const code = errno(error);
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') return `symbolic links cannot be made in this folder (${code})`;
    if (code !== 'EEXIST' || !overwrite) throw hostError(error, path, 'create the symbolic link');
    if (lstatSync(path).isDirectory())
      throw new LoopbackError('ALREADY_EXISTS', `${path} is a folder: a symbolic link cannot replace it`, { path });
    unlinkForReplace(path);
    try {
      symlinkSync(target, path);
      return true;
    } catch (again) {
      throw hostError(again, path, 'create the symbolic link');
    }
  }
}
