/**
 * What goes into an ISO image: a list of entries (folders, files, symbolic links) by absolute
 * path, and its checks. buildTree turns the list into a tree, sorted so that the same entries in
 * any order give the same image, and collects every problem instead of stopping at the first,
 * each naming the field it is about ("entries[3].path", "entries[7].content").
 *
 * File data is never held here: a file names an IsoFileSource, which the writer reads in chunks
 * when it gets to that file (the services layer reads from the host's disk; tests use bytes).
 */
import { encodeUtf8 } from './numbers';
import { fitsDirectoryDate, describeMs } from './dates';
import { ROCK_RIDGE_MAX_NAME_BYTES } from './names';
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, slTargetProblem } from './rock-ridge';

/**
 * Where a file's bytes come from. `read` must give exactly `lengthBytes` bytes (the writer
 * checks). The writer is done with the bytes before it reads again, so a source may hand out one
 * reused buffer.
 */
export interface IsoFileSource {
  readonly sizeBytes: number;
  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array>;
}

/** A source over bytes in memory. */
export function bytesSource(data: Uint8Array): IsoFileSource {
  return {
    sizeBytes: data.length,
    read: async (offsetBytes, lengthBytes) => data.subarray(offsetBytes, offsetBytes + lengthBytes),
  };
}

export function toSource(content: IsoFileSource | Uint8Array): IsoFileSource {
  return content instanceof Uint8Array ? bytesSource(content) : content;
}

interface IsoEntryCommon {
  /** Absolute POSIX path inside the image: "/boot/grub/grub.cfg". */
  path: string;
  /** Modification time, ms since the epoch (1900–2155). Default: the volume's date. */
  modifiedMs?: number;
  /** Rock Ridge owner and group. Default 0 (root), as `mkisofs -r` records them. */
  uid?: number;
  gid?: number;
}

export interface IsoDirectoryEntry extends IsoEntryCommon {
  type: 'directory';
  /** Permission bits (0o7777 at most). Default 0o755. "/" sets the root's attributes. */
  mode?: number;
}

export interface IsoFileEntry extends IsoEntryCommon {
  type: 'file';
  content: IsoFileSource | Uint8Array;
  /** Permission bits. Default 0o644. */
  mode?: number;
}

export interface IsoSymlinkEntry extends IsoEntryCommon {
  type: 'symlink';
  /** Recorded as is (Rock Ridge SL); "a//b" and a trailing "/" cannot be. */
  target: string;
}

export type IsoEntry = IsoDirectoryEntry | IsoFileEntry | IsoSymlinkEntry;

/** A single extent holds at most 2^32 − 1 bytes (dataLength is 32 bits; ECMA-119 9.1.4). */
export const MAX_FILE_BYTES = 0xffffffff;
/**
 * Rock Ridge itself has no limit, but libisofs (xorriso, osirrox, grub-mkrescue's ISOs read back)
 * refuses to load an image with a link target of 1024 bytes or more ("Rock Ridge path too long").
 */
export const MAX_SYMLINK_TARGET_BYTES = 1023;
/** A path a POSIX reader can use: PATH_MAX is 4096 with the NUL (xorriso refuses longer ones too). */
export const MAX_PATH_BYTES = 4095;

export const DEFAULT_DIRECTORY_MODE = 0o755;
export const DEFAULT_FILE_MODE = 0o644;
export const SYMLINK_MODE = 0o777;

export type NodeKind = 'directory' | 'file' | 'symlink';

/** One entry of the tree as the planner uses it. */
export interface IsoNode {
  path: string;
  /** The real name (Rock Ridge NM); "" for the root. */
  name: string;
  kind: NodeKind;
  /** Full POSIX st_mode: type bits and permissions. */
  mode: number;
  uid: number;
  gid: number;
  modifiedMs: number;
  parent: IsoNode | null;
  /** Sorted by name (UTF-16 code units). */
  children: IsoNode[];
  source: IsoFileSource | null;
  sizeBytes: number;
  target: string | null;
  /** Index in the caller's list; null for a folder only implied by a deeper path. */
  entryIndex: number | null;
}

export interface IsoProblem {
  /** What the problem is about: "entries[3].path", "options.volumeIdentifier", "boot.bios.path". */
  field: string;
  message: string;
  details?: Record<string, unknown>;
}

/** "4 GiB − 1 byte", "5.0 GiB": sizes in messages. */
export function describeBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]} (${bytes} bytes)`;
}

/** The problem with an absolute path, or null. */
export function pathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || !path.startsWith('/')) return 'a path must be a string starting with "/"';
  if (path === '/') return null;
  if (path.includes('\0')) return 'a path cannot contain a NUL character';
  const pathBytes = encodeUtf8(path).length;
  if (pathBytes > MAX_PATH_BYTES)
    return `the path is ${pathBytes} bytes in UTF-8, more than the ${MAX_PATH_BYTES} a POSIX system (and xorriso) can use`;
  const parts = path.slice(1).split('/');
  for (const part of parts) {
    if (part === '') return 'a path cannot have an empty component ("//" or a trailing "/")';
    if (part === '.' || part === '..') return `a path cannot contain "${part}"`;
    const bytes = encodeUtf8(part).length;
    if (bytes > ROCK_RIDGE_MAX_NAME_BYTES)
      return `the name "${part.slice(0, 40)}…" is ${bytes} bytes in UTF-8, more than the ${ROCK_RIDGE_MAX_NAME_BYTES} a name may have`;
  }
  return null;
}

function isUint(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/** Permission bits from a mode that may also carry the type bits of `kind`; null when it does not fit. */
function permissionBits(mode: number, kind: NodeKind): number | null {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o177777) return null;
  const type = mode & S_IFMT;
  const expected = kind === 'directory' ? S_IFDIR : kind === 'file' ? S_IFREG : S_IFLNK;
  if (type !== 0 && type !== expected) return null;
  return mode & 0o7777;
}

function typeBits(kind: NodeKind): number {
  return kind === 'directory' ? S_IFDIR : kind === 'file' ? S_IFREG : S_IFLNK;
}

function newDirectory(path: string, name: string, parent: IsoNode | null, dateMs: number): IsoNode {
  return {
    path,
    name,
    kind: 'directory',
    mode: S_IFDIR | DEFAULT_DIRECTORY_MODE,
    uid: 0,
    gid: 0,
    modifiedMs: dateMs,
    parent,
    children: [],
    source: null,
    sizeBytes: 0,
    target: null,
    entryIndex: null,
  };
}

function byName(a: IsoNode, b: IsoNode): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The tree of `entries` under a root dated `dateMs`. Folders a deeper path implies are created
 * with the defaults. Problems are appended to `problems`; the tree is usable for further checks
 * even then (a refused entry is left out).
 */
export function buildTree(entries: readonly IsoEntry[], dateMs: number, problems: IsoProblem[], options: { symlinks: boolean }): IsoNode {
  const root = newDirectory('/', '', null, dateMs);
  const byPath = new Map<string, IsoNode>([['/', root]]);
  const firstIndex = new Map<string, number>();
  const at = (i: number, field?: string) => `entries[${i}]${field ? `.${field}` : ''}`;

  // Shallowest paths first, so a folder's own entry comes before anything inside it (which would
  // otherwise create it with the defaults), and a file is known before a path through it.
  const depth = entries.map((e) => (typeof e?.path === 'string' ? e.path.split('/').length : 0));
  const order = entries.map((_, i) => i).sort((a, b) => depth[a]! - depth[b]! || a - b);

  for (const i of order) {
    const entry = entries[i]!;
    const problem = pathProblem(entry.path);
    if (problem) {
      const shown = typeof entry.path === 'string' && entry.path.length > 200 ? `${entry.path.slice(0, 200)}…` : entry.path;
      problems.push({
        field: at(i, 'path'),
        message: `${at(i, 'path')} ${JSON.stringify(shown)}: ${problem}`,
        details: { path: entry.path },
      });
      continue;
    }
    const path = entry.path;
    const kind = entry.type;
    if (kind !== 'directory' && kind !== 'file' && kind !== 'symlink') {
      problems.push({
        field: at(i, 'type'),
        message: `${path}: the type must be "directory", "file" or "symlink"`,
        details: { path, type: kind },
      });
      continue;
    }
    const earlier = firstIndex.get(path);
    if (earlier !== undefined) {
      problems.push({
        field: at(i, 'path'),
        message: `${path} is given twice (${at(earlier)} and ${at(i)})`,
        details: { path, indexes: [earlier, i] },
      });
      continue;
    }
    firstIndex.set(path, i);
    if (path === '/' && kind !== 'directory') {
      problems.push({ field: at(i, 'type'), message: `"/" is the root folder; it cannot be a ${kind}`, details: { path } });
      continue;
    }

    const before = problems.length;
    const modifiedMs = entry.modifiedMs ?? dateMs;
    if (!fitsDirectoryDate(modifiedMs)) {
      problems.push({
        field: at(i, 'modifiedMs'),
        message: `${path}: the date ${describeMs(modifiedMs)} is outside the years 1900–2155 ISO 9660 can record`,
        details: { path, modifiedMs },
      });
    }
    for (const key of ['uid', 'gid'] as const) {
      const value = entry[key];
      if (value !== undefined && !isUint(value, 0xffffffff)) {
        problems.push({
          field: at(i, key),
          message: `${path}: ${key} must be a whole number from 0 to 4294967295`,
          details: { path, [key]: value },
        });
      }
    }
    const rawMode = entry.type === 'symlink' ? undefined : entry.mode;
    const permissions =
      rawMode === undefined
        ? kind === 'directory'
          ? DEFAULT_DIRECTORY_MODE
          : kind === 'file'
            ? DEFAULT_FILE_MODE
            : SYMLINK_MODE
        : permissionBits(rawMode, kind);
    if (permissions === null) {
      problems.push({
        field: at(i, 'mode'),
        message: `${path}: the mode ${String(rawMode)} is not a ${kind}'s POSIX mode (permission bits up to 0o7777)`,
        details: { path, mode: rawMode },
      });
    }
    let source: IsoFileSource | null = null;
    let target: string | null = null;
    if (entry.type === 'file') {
      const content = entry.content as unknown;
      if (content instanceof Uint8Array) source = toSource(content);
      else if (content && typeof content === 'object' && typeof (content as IsoFileSource).read === 'function')
        source = content as IsoFileSource;
      if (!source || !isUint(source.sizeBytes, Number.MAX_SAFE_INTEGER)) {
        problems.push({
          field: at(i, 'content'),
          message: `${path}: the content must be bytes or a source with a whole sizeBytes and read()`,
          details: { path },
        });
        source = null;
      } else if (source.sizeBytes > MAX_FILE_BYTES) {
        problems.push({
          field: at(i, 'content'),
          message: `${path} is ${describeBytes(source.sizeBytes)}: an ISO 9660 file holds at most 4 GiB − 1 byte (${MAX_FILE_BYTES} bytes) in one extent, and files of several extents are not written; split it, or leave it out`,
          details: { path, sizeBytes: source.sizeBytes, maxBytes: MAX_FILE_BYTES },
        });
      }
    } else if (entry.type === 'symlink') {
      if (!options.symlinks) {
        problems.push({ field: at(i, 'type'), message: `${path}: symbolic links need Rock Ridge, which is turned off`, details: { path } });
      }
      target = typeof entry.target === 'string' ? entry.target : '';
      const targetProblem = slTargetProblem(target);
      const targetBytes = encodeUtf8(target).length;
      if (targetProblem) problems.push({ field: at(i, 'target'), message: `${path}: ${targetProblem}`, details: { path, target } });
      else if (targetBytes > MAX_SYMLINK_TARGET_BYTES) {
        problems.push({
          field: at(i, 'target'),
          message: `${path}: the link target is ${targetBytes} bytes; xorriso and osirrox cannot read Rock Ridge link targets over ${MAX_SYMLINK_TARGET_BYTES} bytes`,
          details: { path, targetBytes, maxBytes: MAX_SYMLINK_TARGET_BYTES },
        });
      }
    }

    // The parent: created on the way, refused when an ancestor is not a folder.
    let parent = root;
    let parentProblem = false;
    if (path !== '/') {
      const parts = path.slice(1).split('/');
      for (let p = 0; p < parts.length - 1; p++) {
        const ancestorPath = `/${parts.slice(0, p + 1).join('/')}`;
        let ancestor = byPath.get(ancestorPath);
        if (!ancestor) {
          ancestor = newDirectory(ancestorPath, parts[p]!, parent, dateMs);
          parent.children.push(ancestor);
          byPath.set(ancestorPath, ancestor);
        } else if (ancestor.kind !== 'directory') {
          problems.push({
            field: at(i, 'path'),
            message: `${path}: ${ancestorPath} is a ${ancestor.kind} (${at(ancestor.entryIndex ?? 0)}), not a folder`,
            details: { path, ancestor: ancestorPath },
          });
          parentProblem = true;
          break;
        }
        parent = ancestor;
      }
    }
    if (parentProblem || problems.length > before) continue;

    if (path === '/') {
      root.mode = S_IFDIR | permissions!;
      root.uid = entry.uid ?? 0;
      root.gid = entry.gid ?? 0;
      root.modifiedMs = modifiedMs;
      root.entryIndex = i;
      continue;
    }
    // Entries go shallowest first and explicit duplicates were refused, so no node is at `path` yet.
    const node: IsoNode = {
      path,
      name: path.slice(path.lastIndexOf('/') + 1),
      kind,
      mode: typeBits(kind) | permissions!,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      modifiedMs,
      parent,
      children: [],
      source,
      sizeBytes: source?.sizeBytes ?? 0,
      target,
      entryIndex: i,
    };
    parent.children.push(node);
    byPath.set(path, node);
  }
  sortTree(root);
  return root;
}

function sortTree(node: IsoNode): void {
  node.children.sort(byName);
  for (const child of node.children) if (child.kind === 'directory') sortTree(child);
}

/** Every node below `root` (root first), parents before children, in name order. */
export function walkTree(root: IsoNode): IsoNode[] {
  const out: IsoNode[] = [];
  const visit = (node: IsoNode) => {
    out.push(node);
    for (const child of node.children) visit(child);
  };
  visit(root);
  return out;
}

/** The node at `path`, or null. */
export function findNode(root: IsoNode, path: string): IsoNode | null {
  if (path === '/') return root;
  let node: IsoNode | undefined = root;
  for (const part of path.slice(1).split('/')) {
    node = node?.children.find((c) => c.name === part);
    if (!node) return null;
  }
  return node ?? null;
}
