/**
 * Incremental rebuilds (issue 15): after a first build, a change to a recipe's sources rewrites
 * only what changed in the image — the changed files, the boot menu when the recipe's menu
 * changed — and builds anew only when the layout changed (size, table, partitions, filesystems,
 * boot loader and its settings), the host's boot loader files changed, or what the image holds
 * can no longer be known.
 *
 * What was built from what lives in a small state file beside the image
 * (`.disk.img.build-state.json`): the recipe's layout and menu (as hashes), every file, folder and
 * link the build put in the image with the size, times and SHA-256 of its source, each volume's
 * free space, and the image file's own identity after the last write (device, inode, size,
 * modification and change times). The rules that make a stale or missing state a full build,
 * never a wrong image:
 *
 * - No state, a state from another recipe, or one that does not parse: full build. Replacing an
 *   image that has no state (made by hand, by `build`, by the wizard) needs `force`: it may hold
 *   changes of its own (docs/SECURITY.md, rule 8).
 * - The image's identity differs from the state's: something else wrote to it since (QEMU's guest,
 *   `loopstudio put`, a rebuild killed half-way — every write changes the file's times): full
 *   build. A rebuild therefore marks nothing "in progress": the image's own times do.
 * - A source whose size and times (and inode) are unchanged, and that was not modified within
 *   a few seconds of being read (the clock's granularity: "racily clean", as git calls it), is
 *   unchanged; any other is read and compared by its hash.
 * - The state is written after the image, atomically (a temporary file renamed). The image is not
 *   synced before it (QEMU reads the page cache; mcopy does not sync either): the state says so,
 *   with the machine's boot id, and a state that was never synced is stale after a reboot. A run
 *   syncs in the background once QEMU is up, and marks the state synced.
 *
 * A rebuild is split in two for `run`: prepare() reads and checks everything and, for a full
 * build, builds into a temporary file beside the image — all while the old machine still runs, so
 * a broken change leaves it running — and apply() then writes the image (after the run has stopped
 * QEMU): the changed files, or the finished build renamed over the image.
 *
 * The files are written by the filesystems' own writers, in place where the size allows: FAT
 * overwrites a file's own clusters when it needs as many (WriteOptions.inPlace; else new clusters,
 * then the entry, then the old chain freed), ext2 reuses a replaced file's blocks.
 * GRUB legacy finds stage2 by a block list: a rebuild never rewrites stage2, and checks that its
 * sectors did not move (else it installs GRUB legacy again). Kernels are read through the
 * filesystem by both GRUBs, and GRUB 2's core.img finds /boot/grub by its partition.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  promises as fs,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import packageJson from '../../package.json';
import { DEFAULT_CONFIG_FILE } from '../../shared/boot/grub-legacy';
import { EFI_BOOT_DIR, EFI_BOOT_FILE, usesBios, usesUefi } from '../../shared/boot/grub2';
import { checkMenu, grubCfg, menuLst, type BootMenu } from '../../shared/boot/menu';
import { formatBytes } from '../../shared/disk/sizes';
import { LoopbackError } from '../../shared/errors';
import { blocksWithIndirect } from '../../shared/fs/ext2/inode';
import { validateLongName } from '../../shared/fs/fat/names';
import type { FileExtent, FileSystem, FsType, PosixFileSystem, ProgressOptions } from '../../shared/fs/types';
import { fieldError, parseRecipe, toBootMenu, type Recipe } from '../../shared/recipe/schema';
import type { RunChange, RunReport } from '../../shared/api/run-plain';
import { findGrub2, findGrub2Efi, findGrubLegacy } from '../platform/grub-files';
import { FileBlockDevice } from './file-block-device';
import { defaultOutput, defaultOutputFor, loadRecipe, recipeSource, sourceRoots } from './recipe-sources';
import type { buildRecipe } from './recipes';
import { findVolume, openFileSystem, volumeWindow, type VolumeRef } from './volumes';
import { replaceImageWith } from './write-guard';

const STATE_VERSION = 1;
/** A source modified this close to when it was read may change again without its times changing. */
const RACY_MS = 3000;

// --- The state file ---

interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** Something the build put in the image. */
interface EntryState {
  partition: number | null;
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  /** The host source; null for folders made as parents (and the boot loader's). */
  from: string | null;
  /** ext2: the mode the build set (files, and folders copied from the host); null otherwise. */
  mode: number | null;
  target?: string;
  source?: FileIdentity;
  sha256?: string;
  /** Modified within RACY_MS of being read: compared by content next time whatever its times say. */
  racy?: boolean;
}

interface HostFileState {
  path: string;
  source: FileIdentity | null;
}

export interface BuildState {
  version: number;
  tool: string;
  recipe: string;
  recipeSha256: string;
  /** The layout's parts, each hashed: which one changed names the reason for a full build. */
  layout: Record<string, string>;
  menuSha256: string | null;
  /** How the menu file is written: its path, and grub.cfg's modules or menu.lst's root device. */
  menu: { kind: 'grub2' | 'grub-legacy'; partition: number | null; path: string; modules: string[]; root: string | null } | null;
  image: FileIdentity;
  bootId: string | null;
  synced: boolean;
  volumes: Array<{ partition: number | null; fs: FsType; freeBytes: number; unitBytes: number }>;
  entries: EntryState[];
  bootloader: {
    kind: string;
    hostFiles: HostFileState[];
    stage2: { partition: number | null; extents: FileExtent[] } | null;
    bootSector: { path: string; sha256: string } | null;
  } | null;
  builtAt: string;
}

/** Where an image's build state lives: beside it, hidden (`.disk.img.build-state.json`). */
export function statePath(image: string): string {
  return join(dirname(image), `.${basename(image)}.build-state.json`);
}

function identityOf(stats: Stats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

function sameIdentity(a: FileIdentity | null | undefined, b: FileIdentity | null | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

let bootIdCache: string | null | undefined;
/** The kernel's boot id (Linux): a state never synced is stale once the machine has rebooted. */
function bootId(): string | null {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache;
}

/**
 * The image's build state: null when there is no state file, 'unreadable' when there is one that
 * does not parse or is of another version (the image was built by a run: it is rebuilt in full).
 */
async function readState(image: string): Promise<BuildState | 'unreadable' | null> {
  let text: string;
  try {
    text = await fs.readFile(statePath(image), 'utf8');
  } catch {
    return null;
  }
  try {
    const state = JSON.parse(text) as BuildState;
    return state && state.version === STATE_VERSION && Array.isArray(state.entries) && state.image && state.layout ? state : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

async function writeState(image: string, state: BuildState): Promise<void> {
  const path = statePath(image);
  const temp = `${path}.${process.pid}-${Date.now()}`;
  try {
    await fs.writeFile(temp, `${JSON.stringify(state)}\n`, { mode: 0o644 });
    await fs.rename(temp, path);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/**
 * Syncs the image to the disk and marks its state synced, when the state still describes it (a
 * run calls this once QEMU is up, off the rebuild's path).
 */
export async function syncImageState(image: string): Promise<void> {
  const state = await readState(image);
  if (!state || state === 'unreadable' || state.synced) return;
  const fd = openSync(image, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const now = await fs.stat(image).catch(() => null);
  if (now && sameIdentity(identityOf(now), state.image)) await writeState(image, { ...state, synced: true });
}

/** Forgets what the state knows (the image is about to change in ways it does not describe). */
export async function dropState(image: string): Promise<void> {
  await fs.rm(statePath(image), { force: true });
}

// --- Hashes ---

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The parts of a recipe that, changed, need a new image. */
function layoutParts(recipe: Recipe): Record<string, string> {
  const { menu: _menu, ...bootloader } = recipe.bootloader ?? {};
  return {
    image: sha256(stableJson(recipe.image)),
    table: sha256(stableJson(recipe.table ?? (recipe.partitions ? 'mbr' : null))),
    partitions: sha256(stableJson(recipe.partitions ?? null)),
    filesystem: sha256(stableJson(recipe.filesystem ?? null)),
    bootloader: sha256(stableJson(recipe.bootloader ? bootloader : null)),
  };
}

const LAYOUT_WORDS: Record<string, string> = {
  image: 'the image size',
  table: 'the partition table',
  partitions: 'the partitions',
  filesystem: 'the filesystem',
  bootloader: 'the boot loader',
};

// --- What the recipe puts where ---

interface Volume {
  partition: number | null;
  fs: FsType;
}

interface Desired {
  partition: number | null;
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  from: string | null;
  mode: number | null;
  target?: string;
  /** The field that put it there, for errors. */
  field: string;
}

const keyOf = (partition: number | null, path: string) => `${partition ?? 0}:${path}`;

/** Joins image paths (files.ts's imageJoin, without loading files.ts). */
function imageJoin(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`.replace(/^(?!\/)/, '/');
}

function volumesOf(recipe: Recipe): Volume[] {
  if (recipe.filesystem) return [{ partition: null, fs: recipe.filesystem.type }];
  return (recipe.partitions ?? []).flatMap((p, i) => (p.filesystem ? [{ partition: i + 1, fs: p.filesystem.type }] : []));
}

/** The volume that holds /boot/grub, as planRecipe chooses it. */
function bootVolumeOf(recipe: Recipe, volumes: Volume[]): Volume | null {
  const grub = recipe.bootloader?.grub2 ?? recipe.bootloader?.grubLegacy;
  if (!grub) return null;
  if (grub.partition !== undefined) return volumes.find((v) => v.partition === grub.partition) ?? null;
  if (volumes.length === 1) return volumes[0]!;
  const bootable = volumes.filter((v) => v.partition !== null && recipe.partitions?.[v.partition - 1]?.bootable);
  return bootable.length === 1 ? bootable[0]! : null;
}

function foldersOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

function parentPath(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

function realpathOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * Everything a full build would put in the image from `files[]`, in the order it would, with what
 * putFiles does to each source: a folder's children copied into it, links kept on ext2 and
 * followed on FAT only into the allowed folders (others skipped), ext2 modes from the host.
 */
async function expand(
  recipe: Recipe,
  baseDir: string,
  roots: readonly string[],
  volumes: Volume[],
  bootVolume: Volume | null,
): Promise<Map<string, Desired>> {
  const desired = new Map<string, Desired>();
  const put = (entry: Desired) => {
    const key = keyOf(entry.partition, entry.path);
    const before = desired.get(key);
    if (before && before.kind !== entry.kind && (before.kind === 'dir' || entry.kind === 'dir')) {
      throw fieldError(
        'VALIDATION',
        entry.field,
        `${entry.path} is a ${before.kind === 'dir' ? 'folder' : 'file'} from ${before.field} and a ${entry.kind === 'dir' ? 'folder' : 'file'} here: the build cannot make it both`,
        { path: entry.path },
      );
    }
    if (before?.kind === 'dir' && entry.kind === 'dir' && entry.mode === null) return;
    desired.delete(key);
    desired.set(key, entry);
  };
  const parents = (partition: number | null, path: string, field: string) => {
    for (const folder of foldersOf(path))
      if (!desired.has(keyOf(partition, folder))) put({ partition, path: folder, kind: 'dir', from: null, mode: null, field });
  };
  const source = (from: string, to: string, volume: Volume, field: string) => {
    const posix = volume.fs === 'ext2';
    let stats = lstatSync(from);
    if (stats.isSymbolicLink() && !posix) {
      const real = realpathOrNull(from);
      if (real === null || !roots.some((root) => within(real, root))) return; // skipped, as putFiles does
      stats = statSync(from);
    }
    if (stats.isSymbolicLink())
      put({ partition: volume.partition, path: to, kind: 'symlink', from, mode: null, target: readlinkSync(from), field });
    else if (stats.isDirectory()) {
      put({ partition: volume.partition, path: to, kind: 'dir', from, mode: posix ? stats.mode & 0o7777 : null, field });
      for (const name of readdirSync(from).sort()) source(join(from, name), imageJoin(to, name), volume, field);
    } else if (stats.isFile())
      put({ partition: volume.partition, path: to, kind: 'file', from, mode: posix ? stats.mode & 0o7777 : null, field });
    else
      throw fieldError(
        'INVALID_INPUT',
        field,
        `${from} is not a regular file or folder (devices, pipes and sockets cannot be copied into an image)`,
        { path: from },
      );
  };

  for (const [i, file] of (recipe.files ?? []).entries()) {
    const field = `files[${i}]`;
    const volume =
      file.partition !== undefined
        ? volumes.find((v) => v.partition === file.partition)!
        : volumes.length === 1
          ? volumes[0]!
          : (bootVolume ??
            (() => {
              throw fieldError(
                'INVALID_INPUT',
                `${field}.partition`,
                `the recipe has ${volumes.length} filesystems: say which one it goes to with "partition"`,
              );
            })());
    const from = await recipeSource(baseDir, file.from, roots, `${field}.from`);
    let stats: Stats;
    try {
      stats = statSync(from);
    } catch {
      throw fieldError('NOT_FOUND', `${field}.from`, `${from} does not exist`, { path: from });
    }
    let to = file.to.endsWith('/') ? imageJoin(file.to, basename(from)) : file.to.replace(/\/+$/, '');
    if (stats.isDirectory()) {
      parents(volume.partition, to, field);
      for (const name of readdirSync(from).sort()) source(join(from, name), imageJoin(to, name), volume, field);
    } else if (stats.isFile()) {
      // putFiles([from], to) copies into `to` when it is a folder already.
      if (desired.get(keyOf(volume.partition, to))?.kind === 'dir') to = imageJoin(to, basename(from));
      parents(volume.partition, parentPath(to), field);
      source(from, to, volume, field);
    } else {
      throw fieldError('INVALID_INPUT', `${field}.from`, `${from} is not a file or a folder`, { path: from });
    }
  }
  // The boot loader's folders: never removed by a rebuild.
  const b = recipe.bootloader;
  if (bootVolume && (b?.grub2 || b?.grubLegacy)) {
    const folders = [
      '/boot/grub',
      ...(b.grub2 && usesBios(b.grub2.firmware ?? 'bios') ? ['/boot/grub/i386-pc'] : []),
      ...(b.grub2 && usesUefi(b.grub2.firmware ?? 'bios') ? [EFI_BOOT_DIR] : []),
    ];
    for (const folder of folders) parents(bootVolume.partition, folder, 'bootloader');
  }
  return desired;
}

/** Files the boot loader writes itself: a source landing there means building anew. */
function bootloaderOwns(path: string): boolean {
  return path.startsWith('/boot/grub/') || path.toUpperCase() === EFI_BOOT_FILE.toUpperCase();
}

/** FAT names are checked before anything is written; two that differ only in case are one name. */
function checkFatNames(desired: Map<string, Desired>, volumes: Volume[]): void {
  for (const volume of volumes) {
    if (volume.fs === 'ext2') continue;
    const seen = new Map<string, Desired>();
    for (const entry of desired.values()) {
      if (entry.partition !== volume.partition) continue;
      for (const part of entry.path.split('/').filter(Boolean)) {
        try {
          validateLongName(part);
        } catch (error) {
          if (error instanceof LoopbackError) throw fieldError('VALIDATION', entry.field, error.message, { path: entry.path });
          throw error;
        }
      }
      const folded = entry.path.toUpperCase();
      const first = seen.get(folded);
      if (first && first.path !== entry.path) {
        throw fieldError(
          'VALIDATION',
          entry.field,
          `${first.path} and ${entry.path} would be the same name on FAT, which does not tell upper from lower case: rename one of them`,
          { paths: [first.path, entry.path] },
        );
      }
      seen.set(folded, entry);
    }
  }
}

/** The menu's kernels and modules must be files the recipe copies to the boot volume (as planRecipe checks). */
function checkMenuFiles(menu: BootMenu, desired: Map<string, Desired>, bootVolume: Volume): void {
  for (const [i, entry] of menu.entries.entries()) {
    const paths: Array<[string, string]> = [
      [`bootloader.menu.entries[${i}].kernel`, entry.kernel],
      ...(entry.modules ?? []).map((m, j): [string, string] => [`bootloader.menu.entries[${i}].modules[${j}]`, m.path]),
    ];
    for (const [field, path] of paths) {
      if (desired.get(keyOf(bootVolume.partition, path))?.kind !== 'file') {
        const where = bootVolume.partition === null ? 'the image' : `partition ${bootVolume.partition}`;
        throw fieldError(
          'NOT_FOUND',
          field,
          `${path} is not copied into ${where} by any files[] entry: add { "from": "…", "to": "${path}" } to files`,
          { path },
        );
      }
    }
  }
}

// --- Host files of the boot loader ---

async function identityOrNull(path: string): Promise<FileIdentity | null> {
  return fs.stat(path).then(identityOf, () => null);
}

/** The host files a boot loader is built from: when one changes (a package upgrade), build anew. */
async function bootloaderHostFiles(recipe: Recipe, baseDir: string): Promise<HostFileState[]> {
  const b = recipe.bootloader;
  const paths: string[] = [];
  if (b?.grub2) {
    const firmware = b.grub2.firmware ?? 'bios';
    if (usesBios(firmware)) {
      const files = await findGrub2();
      paths.push(files.bootImg, files.moddep, join(files.dir, 'kernel.img'), files.grubMkimage);
    }
    if (usesUefi(firmware)) {
      const files = await findGrub2Efi();
      paths.push(join(files.dir, 'moddep.lst'), join(files.dir, 'kernel.img'), files.grubMkimage);
    }
  } else if (b?.grubLegacy) {
    const files = await findGrubLegacy(
      b.grubLegacy.stageDir !== undefined
        ? isAbsolute(b.grubLegacy.stageDir)
          ? b.grubLegacy.stageDir
          : join(baseDir, b.grubLegacy.stageDir)
        : undefined,
    );
    paths.push(files.stage1, files.stage2);
  }
  return Promise.all([...new Set(paths)].map(async (path) => ({ path, source: await identityOrNull(path) })));
}

function sameHostFiles(a: readonly HostFileState[], b: readonly HostFileState[]): boolean {
  return (
    a.length === b.length &&
    a.every((f, i) => f.path === b[i]!.path && (f.source === null ? b[i]!.source === null : sameIdentity(f.source, b[i]!.source)))
  );
}

// --- Preparing and applying ---

export interface UpdateOptions extends ProgressOptions {
  /** The image (default: the recipe's name with .img, beside it). */
  output?: string;
  allowOutside?: readonly string[];
  /** Replace an image that has no build state (see the file comment). */
  force?: boolean;
  /** Build anew even when an incremental rebuild would do. */
  full?: boolean;
}

/** A file to write, read (and hashed) while preparing. */
interface FileWrite {
  entry: Desired;
  data: Uint8Array;
  source: FileIdentity;
  hash: string;
}

interface Operations {
  removals: EntryState[];
  folders: Desired[];
  chmods: Array<{ entry: Desired }>;
  writes: Array<FileWrite & { what: 'changed' | 'added' }>;
  links: Desired[];
  menu: { write: string | null; remove: boolean } | null;
}

export interface PreparedUpdate {
  recipe: string;
  image: string;
  kind: RunReport['kind'];
  reason: string;
  /** The image exists but has no build state (it was made some other way). */
  unowned: boolean;
  /** What an incremental rebuild will change (empty for full builds and for none). */
  changes: RunChange[];
  /** The host path of the default menu entry's kernel (for gdb's symbols), when the recipe copies it. */
  kernel: string | null;
  /** Every host file and folder the recipe reads: the recipe itself and each files[] source (what `watch` watches). */
  inputs: string[];
  /** Writes the image (see the file comment). Call once; afterwards the prepared update is spent. */
  apply(): Promise<RunReport>;
  /** Throws away what prepare() made (a full build's temporary file). */
  discard(): Promise<void>;
}

const since = (started: number) => Math.max(0, Math.round(performance.now() - started));

function describeChanges(changes: readonly RunChange[]): string {
  return changes
    .map((c) => (c.what === 'menu' ? 'the menu changed' : `${c.path}${c.bytes !== null ? ` (${formatBytes(c.bytes)})` : ''} ${c.what}`))
    .join(', ');
}

function shortChanges(changes: readonly RunChange[]): string {
  const names = changes.map((c) => (c.what === 'menu' ? 'menu' : basename(c.path)));
  const shown = names.length > 3 ? [...names.slice(0, 3), `${names.length - 3} more`] : names;
  return `${shown.join(', ')} changed`;
}

function report(kind: RunReport['kind'], ms: number, reason: string, changes: RunChange[]): RunReport {
  const at = new Date().toISOString();
  if (kind === 'none') return { at, ms, kind, reason, changes, summary: `up to date (${reason})`, short: 'nothing changed' };
  if (kind === 'full') return { at, ms, kind, reason, changes, summary: `built in ${ms} ms (${reason})`, short: `full build: ${reason}` };
  return { at, ms, kind, reason, changes, summary: `rebuilt in ${ms} ms: ${describeChanges(changes)}`, short: shortChanges(changes) };
}

function kernelSource(recipe: Recipe, desired: Map<string, Desired>, bootVolume: Volume | null): string | null {
  const menu = recipe.bootloader?.menu;
  const entry = menu?.entries[menu.default];
  if (!entry || !bootVolume) return null;
  return desired.get(keyOf(bootVolume.partition, entry.kernel))?.from ?? null;
}

function inputsOf(recipePath: string, recipe: Recipe, baseDir: string): string[] {
  const inputs = [recipePath, ...(recipe.files ?? []).map((f) => (isAbsolute(f.from) ? f.from : join(baseDir, f.from)))];
  const sector = recipe.bootloader?.bootSector?.file;
  if (sector !== undefined) inputs.push(isAbsolute(sector) ? sector : join(baseDir, sector));
  return [...new Set(inputs)];
}

function readSource(path: string): { data: Uint8Array; source: FileIdentity } {
  const before = statSync(path);
  const data = readFileSync(path);
  return { data, source: identityOf(before) };
}

/** Hashes every file source (a full build's state). */
function hashAll(desired: Map<string, Desired>): Map<string, { source: FileIdentity; hash: string }> {
  const hashes = new Map<string, { source: FileIdentity; hash: string }>();
  for (const [key, entry] of desired) {
    if (entry.kind !== 'file' || entry.from === null) continue;
    const { data, source } = readSource(entry.from);
    hashes.set(key, { source, hash: sha256(data) });
  }
  return hashes;
}

function entryStates(
  desired: Map<string, Desired>,
  hashes: Map<string, { source: FileIdentity; hash: string }>,
  now: number,
): EntryState[] {
  return [...desired].map(([key, d]) => {
    const h = hashes.get(key);
    return {
      partition: d.partition,
      path: d.path,
      kind: d.kind,
      from: d.from,
      mode: d.mode,
      ...(d.target !== undefined ? { target: d.target } : {}),
      ...(h ? { source: h.source, sha256: h.hash, ...(now - h.source.mtimeMs < RACY_MS ? { racy: true } : {}) } : {}),
    };
  });
}

function menuTarget(
  recipe: Recipe,
  bootVolume: Volume | null,
  table: 'mbr' | 'gpt' | 'none',
  legacyRoot: string | null,
): BuildState['menu'] {
  const b = recipe.bootloader;
  if (!b?.menu || !bootVolume) return null;
  if (b.grub2) {
    const modules = [
      ...(table === 'mbr' ? ['part_msdos'] : table === 'gpt' ? ['part_gpt'] : []),
      bootVolume.fs === 'ext2' ? 'ext2' : 'fat',
    ];
    return { kind: 'grub2', partition: bootVolume.partition, path: '/boot/grub/grub.cfg', modules, root: null };
  }
  if (b.grubLegacy && legacyRoot)
    return { kind: 'grub-legacy', partition: bootVolume.partition, path: DEFAULT_CONFIG_FILE, modules: [], root: legacyRoot };
  return null;
}

function menuText(target: NonNullable<BuildState['menu']>, menu: BootMenu): string {
  return target.kind === 'grub2' ? grubCfg(menu, target.modules) : menuLst(menu, target.root!);
}

/** Opens each volume of the image in turn (writable) and hands it to `work`; the image is not synced. */
async function withVolumes(
  image: string,
  partitions: ReadonlyArray<number | null>,
  work: (fs: FileSystem, partition: number | null) => Promise<void>,
): Promise<void> {
  const device = await FileBlockDevice.open(image, { writable: true });
  try {
    for (const partition of partitions) {
      const ref: VolumeRef = partition === null ? { image } : { image, partition };
      const window = await volumeWindow(device, ref);
      const volume = await openFileSystem(window.device, ref);
      try {
        await work(volume, partition);
        // Consistent on the device, without waiting for it (see FileSystem.checkpoint).
        if (volume.checkpoint) await volume.checkpoint();
        else await volume.flush();
      } finally {
        await volume.close?.();
      }
    }
  } finally {
    await device.close();
  }
}

/** Reads each volume's free space, and GRUB legacy's stage2 extents, from a finished image. */
async function readVolumes(
  image: string,
  volumes: Volume[],
  stage2Volume: number | null | undefined,
): Promise<{ free: BuildState['volumes']; stage2: FileExtent[] | null }> {
  const device = await FileBlockDevice.open(image, { writable: false });
  const free: BuildState['volumes'] = [];
  let stage2: FileExtent[] | null = null;
  try {
    for (const v of volumes) {
      const ref: VolumeRef = v.partition === null ? { image } : { image, partition: v.partition };
      const window = await findVolume(device, ref);
      const volume = await openFileSystem(window.device, ref);
      try {
        const usage = await volume.usage();
        free.push({ partition: v.partition, fs: v.fs, freeBytes: usage.freeBytes, unitBytes: usage.blockBytes });
        if (stage2Volume !== undefined && v.partition === stage2Volume) stage2 = await volume.extents('/boot/grub/stage2');
      } finally {
        await volume.close?.();
      }
    }
  } finally {
    await device.close();
  }
  return { free, stage2 };
}

const sameExtents = (a: readonly FileExtent[] | null | undefined, b: readonly FileExtent[] | null | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Reads the recipe, its state and its sources and decides what a rebuild does; builds a full
 * image into a temporary file when one is needed. Writes nothing to the image. Throws the
 * recipe's problems as `build` does (naming the field).
 */
export async function prepareUpdate(recipeFile: string, options: UpdateOptions = {}): Promise<PreparedUpdate> {
  const started = performance.now();
  const recipePath = resolve(recipeFile);
  let text: Buffer;
  try {
    text = await fs.readFile(recipePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LoopbackError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'IO',
      `${recipePath}: ${code === 'ENOENT' ? 'no such recipe file' : (error as Error).message}`,
      { path: recipePath },
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text.toString('utf8'));
  } catch (error) {
    throw new LoopbackError('INVALID_INPUT', `${recipePath} is not valid JSON: ${(error as Error).message}`, { path: recipePath });
  }
  const recipe = parseRecipe(document);
  // An ISO image is built anew each time (iso-rebuild.ts): nothing in it is patched in place.
  if (recipe.image.iso) {
    const { prepareIsoUpdate } = await import('./iso-rebuild');
    return prepareIsoUpdate(recipePath, recipe, options, started);
  }
  const baseDir = dirname(recipePath);
  const image = resolve(options.output ?? defaultOutput(recipePath));
  const roots = await sourceRoots(baseDir, options.allowOutside);
  const volumes = volumesOf(recipe);
  const bootVolume = bootVolumeOf(recipe, volumes);
  const desired = await expand(recipe, baseDir, roots, volumes, bootVolume);
  checkFatNames(desired, volumes);
  const menu = recipe.bootloader?.menu ? toBootMenu(recipe.bootloader.menu) : undefined;
  if (menu && bootVolume) {
    checkMenu(menu, recipe.bootloader?.grub2 ? 'grub2' : 'grub-legacy');
    checkMenuFiles(menu, desired, bootVolume);
  }
  const layout = layoutParts(recipe);
  const menuSha256 = menu ? sha256(stableJson(menu)) : null;
  const recipeSha256 = sha256(text);
  const kernel = kernelSource(recipe, desired, bootVolume);
  const inputs = inputsOf(recipePath, recipe, baseDir);
  const hostFiles = await bootloaderHostFiles(recipe, baseDir);
  const sectorFile = recipe.bootloader?.bootSector
    ? await recipeSource(baseDir, recipe.bootloader.bootSector.file, roots, 'bootloader.bootSector.file')
    : null;

  const imageStats = await fs.stat(image).catch(() => null);
  if (imageStats && !imageStats.isFile())
    throw new LoopbackError('INVALID_INPUT', `${image} is not a regular file: refusing to replace it`, { path: image });
  const found = imageStats ? await readState(image) : null;
  const state = found === 'unreadable' ? null : found;
  const ours = found === 'unreadable' || (state !== null && state.recipe === recipePath);
  const unowned = imageStats !== null && !ours;

  // --- Is a full build needed, and why? ---
  let reason: string | null = null;
  if (options.full) reason = 'a full build was asked for';
  else if (!imageStats) reason = `${basename(image)} does not exist yet`;
  else if (found === 'unreadable') reason = `its build state ${basename(statePath(image))} cannot be read`;
  else if (!state) reason = `${basename(image)} has no build state`;
  else if (!ours) reason = `${basename(image)} was built from ${state.recipe}`;
  else if (state.tool !== packageJson.version) reason = `it was built by Loopback Studio ${state.tool}`;
  else if (!sameIdentity(identityOf(imageStats), state.image))
    reason = `${basename(image)} changed since it was built (QEMU's guest or another program wrote to it)`;
  else if (!state.synced && state.bootId !== bootId()) reason = 'the machine restarted before the last rebuild reached the disk';
  else {
    const changed = Object.keys(layout).filter((part) => state.layout[part] !== layout[part]);
    if (changed.length) reason = `${changed.map((part) => LAYOUT_WORDS[part] ?? part).join(' and ')} changed`;
    else if (!sameHostFiles(hostFiles, state.bootloader?.hostFiles ?? [])) reason = "the host's boot loader files changed";
    else if (
      sectorFile !== null &&
      (state.bootloader?.bootSector?.path !== sectorFile || sha256(readFileSync(sectorFile)) !== state.bootloader.bootSector.sha256)
    )
      reason = 'the boot sector changed';
  }

  if (reason !== null) {
    if (unowned && !options.force) {
      if (!options.full && imageStats && newerThanInputs(imageStats, recipePath, desired, sectorFile)) {
        // make's rule: an image newer than everything it is made from is up to date.
        return noneUpdate(
          recipePath,
          image,
          `${basename(image)} has no build state, but it is newer than the recipe and its sources`,
          true,
          kernel,
          inputs,
          started,
        );
      }
      throw new LoopbackError(
        'ALREADY_EXISTS',
        `${image} ${state ? `was built from another recipe (${state.recipe})` : 'was not built by `loopstudio run` (it has no build state beside it)'}, so it may hold changes of its own: ` +
          'pass --force to rebuild it from the recipe (it is replaced only when the build succeeds; the app asks first)',
        { path: image },
      );
    }
    return prepareFull(
      recipePath,
      recipe,
      image,
      reason,
      desired,
      volumes,
      bootVolume,
      hostFiles,
      sectorFile,
      layout,
      menuSha256,
      recipeSha256,
      unowned,
      kernel,
      inputs,
      options,
      started,
    );
  }

  // --- Incremental: what changed? ---
  const old = new Map(state!.entries.map((e) => [keyOf(e.partition, e.path), e]));
  const ops: Operations = { removals: [], folders: [], chmods: [], writes: [], links: [], menu: null };
  const changes: RunChange[] = [];
  const stats: EntryState[] = [];
  let full: string | null = null;
  for (const [key, before] of old) {
    const now = desired.get(key);
    if (!now || now.kind !== before.kind) {
      ops.removals.push(before);
      if (before.kind !== 'dir' || before.from !== null)
        changes.push({ path: before.path, what: 'removed', bytes: null, partition: before.partition });
    }
  }
  const nowMs = Date.now();
  for (const [key, entry] of desired) {
    const before = old.get(key);
    const same = before && before.kind === entry.kind ? before : null;
    if (entry.kind === 'dir') {
      if (!same) ops.folders.push(entry);
      else if (entry.mode !== null && same.mode !== entry.mode) ops.chmods.push({ entry });
      continue;
    }
    if (entry.kind === 'symlink') {
      if (!same || same.target !== entry.target) {
        if (same) ops.removals.push(same);
        ops.links.push(entry);
        changes.push({ path: entry.path, what: same ? 'changed' : 'added', bytes: null, partition: entry.partition });
      }
      continue;
    }
    const current = statSync(entry.from!);
    const unchangedStat = same && same.from === entry.from && sameIdentity(same.source, identityOf(current)) && !same.racy;
    if (unchangedStat) {
      if (entry.mode !== null && same.mode !== entry.mode) ops.chmods.push({ entry });
      continue;
    }
    const { data, source } = readSource(entry.from!);
    const hash = sha256(data);
    if (same && same.sha256 === hash) {
      // The same bytes (a touch, a rebuild that made the same file): nothing to write.
      if (entry.mode !== null && same.mode !== entry.mode) ops.chmods.push({ entry });
      stats.push({ ...same, from: entry.from, mode: entry.mode, source, racy: nowMs - source.mtimeMs < RACY_MS ? true : undefined });
      continue;
    }
    if (bootloaderOwns(entry.path)) full = `${entry.path} is a boot loader file`;
    ops.writes.push({ entry, data, source, hash, what: same ? 'changed' : 'added' });
    changes.push({ path: entry.path, what: same ? 'changed' : 'added', bytes: data.length, partition: entry.partition });
  }
  const target = state!.menu ?? menuTarget(recipe, bootVolume, recipe.table ?? (recipe.partitions ? 'mbr' : 'none'), null);
  if (menuSha256 !== state!.menuSha256) {
    if (menu && !target) full = 'the boot menu needs the boot loader installed again';
    else if (target) {
      ops.menu = { write: menu ? menuText(target, menu) : null, remove: !menu };
      changes.push({ path: target.path, what: 'menu', bytes: null, partition: target.partition });
    }
  }
  // Room: what is written must fit beside what is there (FAT keeps a replaced file's clusters
  // until the new ones are written), else a full build, which checks the space exactly.
  for (const volume of state!.volumes) {
    const writes = ops.writes.filter((w) => w.entry.partition === volume.partition);
    const unit = volume.unitBytes;
    const units = (bytes: number) => Math.ceil(bytes / unit);
    const needed =
      writes.reduce(
        (sum, w) => sum + (volume.fs === 'ext2' ? blocksWithIndirect(units(w.data.length), unit) : units(w.data.length)) * unit,
        0,
      ) +
      ops.folders.filter((f) => f.partition === volume.partition).length * unit +
      (ops.menu?.write && target?.partition === volume.partition ? units(ops.menu.write.length) * unit : 0);
    if (needed > volume.freeBytes)
      full = `the changes may not fit beside the old files (${formatBytes(needed)} to write, ${formatBytes(volume.freeBytes)} free)`;
  }
  if (full !== null)
    return prepareFull(
      recipePath,
      recipe,
      image,
      full,
      desired,
      volumes,
      bootVolume,
      hostFiles,
      sectorFile,
      layout,
      menuSha256,
      recipeSha256,
      false,
      kernel,
      inputs,
      options,
      started,
    );

  const nothing =
    ops.removals.length + ops.folders.length + ops.chmods.length + ops.writes.length + ops.links.length === 0 && ops.menu === null;
  if (nothing) {
    // Sources touched without changing: remember their new times, so they are not read again.
    if (stats.length) {
      const byKey = new Map(stats.map((e) => [keyOf(e.partition, e.path), e]));
      await writeState(image, { ...state!, recipeSha256, entries: state!.entries.map((e) => byKey.get(keyOf(e.partition, e.path)) ?? e) });
    }
    const why = recipeSha256 !== state!.recipeSha256 ? 'the recipe changed, but nothing it puts in the image' : 'nothing changed';
    return noneUpdate(recipePath, image, why, false, kernel, inputs, started);
  }
  const prepareMs = performance.now() - started;

  let spent = false;
  return {
    recipe: recipePath,
    image,
    kind: 'incremental',
    reason: 'only what changed',
    unowned: false,
    changes,
    kernel,
    inputs,
    discard: async () => {
      spent = true;
    },
    apply: async () => {
      if (spent) throw new LoopbackError('INTERNAL', 'this rebuild was already applied or discarded');
      spent = true;
      const applyStarted = performance.now();
      // Checked again: nothing may have written to the image since it was prepared.
      const nowStats = await fs.stat(image);
      if (!sameIdentity(identityOf(nowStats), state!.image)) {
        throw new LoopbackError(
          'VALIDATION',
          `${image} changed while the rebuild was prepared; nothing was written (the next change builds it anew)`,
          { path: image },
        );
      }
      const partitions = [
        ...new Set([
          ...ops.removals.map((e) => e.partition),
          ...ops.folders.map((e) => e.partition),
          ...ops.chmods.map((c) => c.entry.partition),
          ...ops.writes.map((w) => w.entry.partition),
          ...ops.links.map((e) => e.partition),
          ...(ops.menu && target ? [target.partition] : []),
        ]),
      ];
      const legacyStage2 = state!.bootloader?.stage2 ?? null;
      let stage2Moved = false;
      const free = new Map<number | null, number>();
      await withVolumes(image, partitions, async (volume, partition) => {
        const posix = volume.type === 'ext2' ? (volume as PosixFileSystem) : null;
        const removals = ops.removals
          .filter((e) => e.partition === partition)
          .sort((a, b) => b.path.split('/').length - a.path.split('/').length);
        for (const entry of removals) {
          try {
            await volume.remove(entry.path, { recursive: true });
          } catch (error) {
            if (!(error instanceof LoopbackError && error.code === 'NOT_FOUND')) throw error;
          }
        }
        const folders = ops.folders
          .filter((e) => e.partition === partition)
          .sort((a, b) => a.path.split('/').length - b.path.split('/').length);
        for (const entry of folders) {
          await volume.mkdir(entry.path, { parents: true });
          if (posix && entry.mode !== null) await posix.chmod(entry.path, entry.mode);
        }
        for (const { entry } of ops.chmods.filter((c) => c.entry.partition === partition))
          if (posix && entry.mode !== null) await posix.chmod(entry.path, entry.mode);
        for (const write of ops.writes.filter((w) => w.entry.partition === partition)) {
          // In place where the size allows: a write cut short changes the image's times, so the
          // next rebuild is a full one (see the file comment).
          await volume.writeFile(write.entry.path, write.data, {
            modifiedMs: write.source.mtimeMs,
            inPlace: true,
            ...(posix && write.entry.mode !== null ? { mode: write.entry.mode } : {}),
          });
        }
        for (const entry of ops.links.filter((e) => e.partition === partition)) if (posix) await posix.symlink(entry.target!, entry.path);
        if (ops.menu && target && target.partition === partition) {
          if (ops.menu.write !== null) await volume.writeFile(target.path, new TextEncoder().encode(ops.menu.write));
          else await volume.remove(target.path).catch(() => {});
        }
        free.set(partition, (await volume.usage()).freeBytes);
        if (legacyStage2 && legacyStage2.partition === partition)
          stage2Moved = !sameExtents(await volume.extents('/boot/grub/stage2'), legacyStage2.extents);
      });
      if (stage2Moved) {
        // Never expected (a rebuild does not touch stage2), but its block list must stay true.
        const b = recipe.bootloader!;
        const { installBootloader } = await import('./bootloaders');
        await installBootloader({
          loader: 'grub-legacy',
          image,
          ...(bootVolume?.partition ? { partition: bootVolume.partition } : {}),
          ...(menu ? { menu } : {}),
          ...(b.grubLegacy?.stageDir !== undefined
            ? { stageDir: isAbsolute(b.grubLegacy.stageDir) ? b.grubLegacy.stageDir : join(baseDir, b.grubLegacy.stageDir) }
            : {}),
        });
      }
      const after = await fs.stat(image);
      const written = new Map(ops.writes.map((w) => [keyOf(w.entry.partition, w.entry.path), w]));
      const touched = new Map(stats.map((e) => [keyOf(e.partition, e.path), e]));
      const now = Date.now();
      const entries = [...desired].map(([key, d]): EntryState => {
        const w = written.get(key);
        if (w)
          return {
            partition: d.partition,
            path: d.path,
            kind: d.kind,
            from: d.from,
            mode: d.mode,
            source: w.source,
            sha256: w.hash,
            ...(now - w.source.mtimeMs < RACY_MS ? { racy: true } : {}),
          };
        const t = touched.get(key);
        if (t) return t;
        const o = old.get(key);
        const racy = o?.racy && o.source ? now - o.source.mtimeMs < RACY_MS : false;
        return {
          partition: d.partition,
          path: d.path,
          kind: d.kind,
          from: d.from,
          mode: d.mode,
          ...(d.target !== undefined ? { target: d.target } : {}),
          ...(o?.kind === d.kind && o.source ? { source: o.source, sha256: o.sha256! } : {}),
          ...(racy ? { racy: true } : {}),
        };
      });
      const stage2 = stage2Moved ? (await readVolumes(image, volumes, legacyStage2?.partition)).stage2 : (legacyStage2?.extents ?? null);
      await writeState(image, {
        ...state!,
        recipeSha256,
        menuSha256,
        image: identityOf(after),
        bootId: bootId(),
        synced: false,
        volumes: state!.volumes.map((v) => (free.has(v.partition) ? { ...v, freeBytes: free.get(v.partition)! } : v)),
        entries,
        bootloader: state!.bootloader
          ? { ...state!.bootloader, stage2: legacyStage2 && stage2 ? { partition: legacyStage2.partition, extents: stage2 } : null }
          : null,
        builtAt: new Date().toISOString(),
      });
      return report('incremental', Math.round(prepareMs + since(applyStarted)), 'only what changed', changes);
    },
  };
}

function newerThanInputs(imageStats: Stats, recipePath: string, desired: Map<string, Desired>, sectorFile: string | null): boolean {
  const paths = [
    recipePath,
    ...[...desired.values()].flatMap((d) => (d.from !== null ? [d.from] : [])),
    ...(sectorFile ? [sectorFile] : []),
  ];
  return paths.every((path) => {
    try {
      return lstatSync(path).mtimeMs <= imageStats.mtimeMs;
    } catch {
      return false;
    }
  });
}

function noneUpdate(
  recipePath: string,
  image: string,
  reason: string,
  unowned: boolean,
  kernel: string | null,
  inputs: string[],
  started: number,
): PreparedUpdate {
  const ms = since(started);
  return {
    recipe: recipePath,
    image,
    kind: 'none',
    reason,
    unowned,
    changes: [],
    kernel,
    inputs,
    discard: async () => {},
    apply: async () => report('none', ms, reason, []),
  };
}

async function prepareFull(
  recipePath: string,
  recipe: Recipe,
  image: string,
  reason: string,
  desired: Map<string, Desired>,
  volumes: Volume[],
  bootVolume: Volume | null,
  hostFiles: HostFileState[],
  sectorFile: string | null,
  layout: Record<string, string>,
  menuSha256: string | null,
  recipeSha256: string,
  unowned: boolean,
  kernel: string | null,
  inputs: string[],
  options: UpdateOptions,
  started: number,
): Promise<PreparedUpdate> {
  // The sources are hashed (and their times taken) before the build reads them: a source that
  // changes in between is seen as changed next time.
  const hashes = hashAll(desired);
  const temp = join(dirname(image), `.${basename(image)}.next-${process.pid}-${Date.now()}`);
  let built: Awaited<ReturnType<typeof buildRecipe>>;
  try {
    // The build's code is loaded only for a full build.
    const { buildRecipe } = await import('./recipes');
    built = await buildRecipe(recipePath, {
      output: temp,
      force: true,
      ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  const table = built.table ?? 'none';
  const legacy = recipe.bootloader?.grubLegacy ? (built.bootloaderResult?.device ?? null) : null;
  const stage2Volume = recipe.bootloader?.grubLegacy && bootVolume ? bootVolume.partition : undefined;
  const read = await readVolumes(temp, volumes, stage2Volume).catch(async (error) => {
    await fs.rm(temp, { force: true });
    throw error;
  });
  const buildMs = since(started);
  let spent = false;
  return {
    recipe: recipePath,
    image,
    kind: 'full',
    reason,
    unowned,
    changes: [],
    kernel,
    inputs,
    discard: async () => {
      spent = true;
      await fs.rm(temp, { force: true });
    },
    apply: async () => {
      if (spent) throw new LoopbackError('INTERNAL', 'this build was already applied or discarded');
      spent = true;
      const applyStarted = performance.now();
      // The old state stays until the new one is written: it names the old file's inode, so
      // it cannot describe the new image if this process dies in between.
      await replaceImageWith(temp, image);
      const after = await fs.stat(image);
      await writeState(image, {
        version: STATE_VERSION,
        tool: packageJson.version,
        recipe: recipePath,
        recipeSha256,
        layout,
        menuSha256,
        menu: menuTarget(recipe, bootVolume, table, legacy),
        image: identityOf(after),
        bootId: bootId(),
        synced: false,
        volumes: read.free,
        entries: entryStates(desired, hashes, Date.now()),
        bootloader: recipe.bootloader
          ? {
              kind: recipe.bootloader.grub2 ? 'grub2' : recipe.bootloader.grubLegacy ? 'grub-legacy' : 'boot-sector',
              hostFiles,
              stage2: stage2Volume !== undefined && read.stage2 ? { partition: stage2Volume, extents: read.stage2 } : null,
              bootSector: sectorFile ? { path: sectorFile, sha256: sha256(readFileSync(sectorFile)) } : null,
            }
          : null,
        builtAt: new Date().toISOString(),
      });
      return report('full', buildMs + since(applyStarted), reason, []);
    },
  };
}

/** What a recipe reads and where its kernel comes from, without building anything (`run --print-gdb`). */
export async function inspectRecipe(
  recipeFile: string,
  options: Pick<UpdateOptions, 'output' | 'allowOutside'> = {},
): Promise<{ recipe: string; image: string; kernel: string | null; inputs: string[] }> {
  const recipePath = resolve(recipeFile);
  const { recipe } = await loadRecipe(recipePath);
  if (recipe.image.iso) {
    const { isoInputs, isoKernel } = await import('./iso-rebuild');
    return {
      recipe: recipePath,
      image: resolve(options.output ?? defaultOutputFor(recipe, recipePath)),
      kernel: isoKernel(recipePath, recipe),
      inputs: isoInputs(recipePath, recipe),
    };
  }
  const baseDir = dirname(recipePath);
  const roots = await sourceRoots(baseDir, options.allowOutside);
  const volumes = volumesOf(recipe);
  const bootVolume = bootVolumeOf(recipe, volumes);
  const desired = await expand(recipe, baseDir, roots, volumes, bootVolume);
  return {
    recipe: recipePath,
    image: resolve(options.output ?? defaultOutput(recipePath)),
    kernel: kernelSource(recipe, desired, bootVolume),
    inputs: inputsOf(recipePath, recipe, baseDir),
  };
}

/** Prepares and applies at once: `loopstudio build --update`, and the tests. */
export async function updateImage(recipeFile: string, options: UpdateOptions = {}): Promise<RunReport & { image: string; recipe: string }> {
  const prepared = await prepareUpdate(recipeFile, options);
  const result = await prepared.apply();
  return { ...result, image: prepared.image, recipe: prepared.recipe };
}
