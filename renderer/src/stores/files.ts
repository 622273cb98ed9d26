/**
 * The file browser: which volume (an image, or one partition of it) and folder it shows, the
 * folder's entries, and the actions on them — make a folder, delete, rename, extract, and copy in
 * (host paths in the app; a dropped file's bytes in a browser). After every change the image is
 * read again, so its usage (the df view) stays true. When the volume is mounted, the services work
 * through the mount and say so (`via`): the browser shows it.
 */
import { create } from 'zustand';
import type { MountVia } from '../../../shared/api/files';
import { UPLOAD_MAX_BYTES } from '../../../shared/api/files-plain';
import {
  fsFamily,
  getCommands,
  mkdirCommands,
  putCommands,
  removeCommands,
  renameCommands,
  type FsFamily,
  type VolumeAt,
} from '../../../shared/commands/equivalents';
import type { DirEntry } from '../../../shared/fs/types';
import { printableName } from '../../../shared/fs/host-names';
import { LoopbackError } from '../../../shared/errors';
import { api } from '../api';
import { errorText } from '../features/common/errors';
import { basename, formatBytes } from '../features/common/format';
import { logError, logInfo } from './activity';
import { refreshImage, useImagesStore, volumeAt } from './images';

export interface VolumeSelection {
  image: string;
  /** null: the whole image (a floppy, or a disk without a partition table). */
  partition: number | null;
}

export interface Notice {
  level: 'info' | 'error';
  text: string;
}

export interface FilesState {
  volume: VolumeSelection | null;
  cwd: string;
  entries: DirEntry[];
  loading: boolean;
  /** Why the folder cannot be shown (no filesystem, a damaged one …). */
  error: string | null;
  selected: string | null;
  /** A copy in is running (its progress comes from the job's events). */
  copying: boolean;
  /** The outcome of the last action, shown above the list. */
  notice: Notice | null;
  /** The volume's mount, when the last listing went through it (changes then go through the kernel's driver). */
  via: MountVia | null;
}

export const initialFilesState: FilesState = {
  volume: null,
  cwd: '/',
  entries: [],
  loading: false,
  error: null,
  selected: null,
  copying: false,
  notice: null,
  via: null,
};

export const useFilesStore = create<FilesState>()(() => initialFilesState);

export function resetFilesStore(): void {
  useFilesStore.setState(initialFilesState, true);
}

function ref(volume: VolumeSelection): { path: string; partition?: number } {
  return volume.partition === null ? { path: volume.image } : { path: volume.image, partition: volume.partition };
}

function current(): VolumeSelection {
  const { volume } = useFilesStore.getState();
  if (!volume) throw new Error('no volume is selected');
  return volume;
}

/** The volume where the equivalent commands find it (its offset in the image, its filesystem), when the image is known. */
function commandsFor(volume: VolumeSelection, build: (at: VolumeAt, family: FsFamily) => string[]): string[] {
  const info = useImagesStore.getState().images.find((i) => i.path === volume.image)?.info;
  if (!info) return [];
  const partition = volume.partition === null ? null : info.partitions.find((p) => p.index === volume.partition);
  if (partition === undefined) return [];
  const at = volumeAt(
    volume.image,
    partition
      ? { partition: partition.index, startSector: partition.startSector, sizeBytes: partition.sizeBytes }
      : { partition: null, startSector: 0, sizeBytes: info.sizeBytes },
  );
  const fs = partition ? partition.filesystem : info.filesystem;
  return build(at, fsFamily(fs?.type ?? 'fat12'));
}

export function joinPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

function sortEntries(entries: DirEntry[]): DirEntry[] {
  return [...entries].sort((a, b) =>
    (a.type === 'directory') !== (b.type === 'directory') ? (a.type === 'directory' ? -1 : 1) : a.name.localeCompare(b.name),
  );
}

export async function listDir(dir: string): Promise<void> {
  const volume = current();
  useFilesStore.setState({ loading: true, error: null });
  try {
    const listing = await api().fs.list({ ...ref(volume), dir });
    if (useFilesStore.getState().volume !== volume) return; // another volume was chosen meanwhile
    useFilesStore.setState({
      cwd: listing.path,
      entries: sortEntries(listing.entries),
      loading: false,
      selected: null,
      via: listing.via ?? null,
    });
  } catch (error) {
    if (useFilesStore.getState().volume !== volume) return;
    useFilesStore.setState({ loading: false, error: errorText(error), entries: [] });
  }
}

/** Lists the folder shown again (a mount came or went): the same folder, or the root if it is gone. */
export async function refreshListing(image: string): Promise<void> {
  const { volume, cwd } = useFilesStore.getState();
  if (!volume || volume.image !== image) return;
  await listDir(cwd);
  const after = useFilesStore.getState();
  if (after.volume === volume && after.error && cwd !== '/') await listDir('/');
}

/** Shows a volume's root; keeps the folder when it is the volume already shown. */
export async function showVolume(selection: VolumeSelection): Promise<void> {
  const { volume } = useFilesStore.getState();
  if (volume && volume.image === selection.image && volume.partition === selection.partition) return;
  useFilesStore.setState({ ...initialFilesState, volume: selection });
  await listDir('/');
}

export function selectEntry(name: string | null): void {
  useFilesStore.setState({ selected: name });
}

async function afterChange(notice: Notice | null): Promise<void> {
  const volume = current();
  useFilesStore.setState({ notice });
  await Promise.all([listDir(useFilesStore.getState().cwd), refreshImage(volume.image)]);
}

/** A name for one folder level: refused here with the reason, before anything is sent. */
export function checkEntryName(name: string): string | null {
  if (name.trim() === '') return 'Type a name.';
  if (name.includes('/')) return 'A name cannot contain “/”: make one folder at a time.';
  if (name === '.' || name === '..') return '“.” and “..” are not names you can give.';
  return null;
}

/** Makes a folder in the current one. Throws the service's refusal for the name field. */
export async function makeFolder(name: string): Promise<void> {
  const problem = checkEntryName(name);
  if (problem) throw new LoopbackError('INVALID_INPUT', problem);
  const volume = current();
  const path = joinPath(useFilesStore.getState().cwd, name);
  await api().fs.mkdir({ ...ref(volume), dir: path });
  logInfo(
    `Made folder ${path} in ${basename(volume.image)}`,
    commandsFor(volume, (at, family) => mkdirCommands(at, family, path)),
  );
  await afterChange({ level: 'info', text: `Made folder ${name}.` });
}

export async function renameEntry(from: string, to: string): Promise<void> {
  const problem = checkEntryName(to);
  if (problem) throw new LoopbackError('INVALID_INPUT', problem);
  const volume = current();
  const cwd = useFilesStore.getState().cwd;
  await api().fs.rename({ ...ref(volume), from: joinPath(cwd, from), to: joinPath(cwd, to) });
  logInfo(
    `Renamed ${joinPath(cwd, from)} to ${to} in ${basename(volume.image)}`,
    commandsFor(volume, (at, family) => renameCommands(at, family, joinPath(cwd, from), joinPath(cwd, to))),
  );
  await afterChange({ level: 'info', text: `Renamed ${from} to ${to}.` });
}

export async function removeEntry(entry: DirEntry): Promise<void> {
  const volume = current();
  const path = joinPath(useFilesStore.getState().cwd, entry.name);
  try {
    await api().fs.remove({ ...ref(volume), target: path, recursive: entry.type === 'directory' });
    logInfo(
      `Deleted ${path} from ${basename(volume.image)}`,
      commandsFor(volume, (at, family) => removeCommands(at, family, path, entry.type === 'directory')),
    );
    await afterChange({ level: 'info', text: `Deleted ${entry.name}.` });
  } catch (error) {
    useFilesStore.setState({ notice: { level: 'error', text: logError(error, `Deleting ${entry.name}`).text } });
  }
}

/**
 * Copies an entry out to a host folder; with `overwrite` files already there are replaced (the
 * dialog asks first: see existingFiles). Throws for the destination field. Entries the host
 * cannot hold (a name with "/" …) were skipped: the notice says so and names them.
 */
export async function extractEntry(name: string, outDir: string, overwrite = false): Promise<void> {
  const volume = current();
  const path = joinPath(useFilesStore.getState().cwd, name);
  const result = await api().fs.get({ ...ref(volume), source: path, out: outDir, ...(overwrite ? { overwrite } : {}) });
  const folder = useFilesStore.getState().entries.find((e) => e.name === name)?.type === 'directory';
  logInfo(
    `Extracted ${path} from ${basename(volume.image)} to ${outDir}: ${result.files} file(s), ${formatBytes(result.bytes)}`,
    commandsFor(volume, (at, family) => getCommands(at, family, path, outDir, folder)),
  );
  const skipped = result.skipped.length
    ? ` Skipped ${result.skipped.length}: ${result.skipped
        .slice(0, 3)
        .map((s) => `${printableName(s.path)} (${s.reason})`)
        .join('; ')}${result.skipped.length > 3 ? ' …' : ''}.`
    : '';
  for (const s of result.skipped) logInfo(`Skipped ${printableName(s.path)} of ${basename(volume.image)}: ${s.reason}`);
  useFilesStore.setState({
    notice: {
      level: result.skipped.length ? 'error' : 'info',
      text: `Extracted ${name} to ${outDir} (${result.files} file${result.files === 1 ? '' : 's'}, ${formatBytes(result.bytes)}).${skipped}`,
    },
  });
}

/** The host files an extraction would replace, when that is why it was refused (so the dialog can ask); else null. */
export function existingFiles(error: unknown): { paths: string[]; count: number } | null {
  if (!(error instanceof LoopbackError) || error.code !== 'ALREADY_EXISTS' || error.details?.replaceable !== true) return null;
  const paths = Array.isArray(error.details.existing) ? error.details.existing.filter((p): p is string => typeof p === 'string') : [];
  return { paths, count: typeof error.details.count === 'number' ? error.details.count : paths.length };
}

interface CopyResult {
  files: number;
  folders: number;
  bytes: number;
  via?: MountVia;
}

function copied(result: CopyResult, into: string): string {
  const folders = result.folders ? ` and ${result.folders} folder${result.folders === 1 ? '' : 's'}` : '';
  return `Copied ${result.files} file${result.files === 1 ? '' : 's'}${folders} (${formatBytes(result.bytes)}) into ${into}.`;
}

async function runCopy(sources: readonly string[], work: (volume: VolumeSelection, dest: string) => Promise<CopyResult>): Promise<void> {
  const volume = current();
  const dest = useFilesStore.getState().cwd;
  useFilesStore.setState({ copying: true, notice: null });
  try {
    const result = await work(volume, dest);
    logInfo(
      copied(result, `${dest} of ${basename(volume.image)}${result.via ? ` through the mount at ${result.via.mountDir}` : ''}`),
      commandsFor(volume, (at, family) => putCommands(at, family, sources, dest)),
    );
    await afterChange({ level: 'info', text: copied(result, dest) });
  } catch (error) {
    logError(error, `Copying into ${basename(volume.image)}`);
    useFilesStore.setState({ notice: { level: 'error', text: errorText(error) } });
  } finally {
    useFilesStore.setState({ copying: false });
  }
}

/** The app: copy host files and folders (paths from the drop) into the current folder. */
export function copyHostPaths(paths: string[]): Promise<void> {
  return runCopy(paths, (volume, dest) => api().fs.put({ ...ref(volume), sources: paths, dest }));
}

export interface DroppedFile {
  /** Relative path inside the drop: "notes.txt", "src/main.c". */
  name: string;
  file: File;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 0x8000) binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(binary);
}

/**
 * A browser: send the dropped files' bytes, in calls of at most UPLOAD_MAX_BYTES (each call is
 * checked — names, free space — before it writes). A single file above the limit is refused
 * here, saying why, because one call could not carry it.
 */
export function uploadDropped(files: DroppedFile[]): Promise<void> {
  // A browser's drop has no host paths: the commands name the files as dropped.
  const names = [...new Set(files.map((f) => f.name.split('/')[0]!))];
  return runCopy(names, async (volume, dest) => {
    const tooBig = files.find((f) => f.file.size > UPLOAD_MAX_BYTES);
    if (tooBig) {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${tooBig.name} is ${formatBytes(tooBig.file.size)}; in a browser a dropped file can be at most ${formatBytes(UPLOAD_MAX_BYTES)}. Copy it with the desktop app or with loopstudio put`,
      );
    }
    const batches: DroppedFile[][] = [];
    let size = Infinity;
    for (const f of files) {
      if (size + f.file.size > UPLOAD_MAX_BYTES) {
        batches.push([]);
        size = 0;
      }
      batches.at(-1)!.push(f);
      size += f.file.size;
    }
    const total: CopyResult = { files: 0, folders: 0, bytes: 0 };
    for (const batch of batches) {
      const payload = await Promise.all(
        batch.map(async (f) => ({
          name: f.name,
          base64: toBase64(new Uint8Array(await f.file.arrayBuffer())),
          modifiedMs: Math.max(0, Math.round(f.file.lastModified)),
        })),
      );
      const result = await api().fs.upload({ ...ref(volume), dest, files: payload });
      total.files += result.files;
      total.folders += result.folders;
      total.bytes += result.bytes;
      if (result.via) total.via = result.via;
    }
    return total;
  });
}
