/**
 * The images open in the window: each one's description from image.info (table, partitions,
 * filesystems and their usage), which one is selected, and the recently opened paths.
 */
import { create } from 'zustand';
import type { BootloaderResult } from '../../../shared/api/boot';
import type { ImageInfo, MethodInput } from '../../../shared/api/contract';
import type { FormatResult } from '../../../shared/api/files';
import { bootloaderCommands, formatCommands, type VolumeAt } from '../../../shared/commands/equivalents';
import type { FsType } from '../../../shared/fs/types';
import { api } from '../api';
import { hostBridge } from '../host';
import { basename, formatBytes } from '../features/common/format';
import { logError, logInfo } from './activity';

export interface OpenImage {
  path: string;
  name: string;
  info: ImageInfo | null;
  loading: boolean;
  /** Why the last refresh failed, as a sentence. */
  error: string | null;
}

export interface ImagesState {
  images: OpenImage[];
  selectedPath: string | null;
  recent: string[];
}

const RECENT_KEY = 'loopback-studio.recent-images';
const RECENT_MAX = 8;

function loadRecent(): string[] {
  try {
    const value = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]') as unknown;
    return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string').slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

function saveRecent(recent: string[]): string[] {
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch {
    // Storage may be unavailable (private window); recents are a convenience.
  }
  return recent;
}

function rememberRecent(path: string): string[] {
  return saveRecent([path, ...useImagesStore.getState().recent.filter((p) => p !== path)].slice(0, RECENT_MAX));
}

/** Takes a path off the recent images (a file that is gone, or one the person does not want listed). */
export function forgetRecent(path: string): void {
  useImagesStore.setState((s) => ({ recent: saveRecent(s.recent.filter((p) => p !== path)) }));
}

export const initialImagesState: ImagesState = { images: [], selectedPath: null, recent: [] };

export const useImagesStore = create<ImagesState>()(() => ({ ...initialImagesState, recent: loadRecent() }));

export function resetImagesStore(): void {
  useImagesStore.setState(initialImagesState, true);
}

export function selectImage(path: string): void {
  useImagesStore.setState({ selectedPath: path });
}

/** Back to the start: the welcome screen, the images staying open in the sidebar. */
export function showWelcome(): void {
  useImagesStore.setState({ selectedPath: null });
}

function patchImage(path: string, patch: Partial<OpenImage>): void {
  useImagesStore.setState((s) => ({ images: s.images.map((image) => (image.path === path ? { ...image, ...patch } : image)) }));
}

/**
 * Opens an image (or selects it when already open). Throws the service's error — "no such image
 * file", "is a folder" — for the caller to show at the path field; nothing is added then.
 */
export async function openImage(path: string): Promise<ImageInfo> {
  const info = await api().image.info({ path });
  useImagesStore.setState((s) => {
    const known = s.images.some((image) => image.path === info.path);
    const entry: OpenImage = { path: info.path, name: basename(info.path), info, loading: false, error: null };
    return {
      images: known ? s.images.map((image) => (image.path === info.path ? entry : image)) : [...s.images, entry],
      selectedPath: info.path,
      recent: rememberRecent(info.path),
    };
  });
  logInfo(`Opened ${info.path}`);
  return info;
}

/** Reads the image again (after a change); a failure stays on the image, shown in its view. */
export async function refreshImage(path: string): Promise<void> {
  patchImage(path, { loading: true });
  try {
    const info = await api().image.info({ path });
    patchImage(path, { info, loading: false, error: null });
  } catch (error) {
    const entry = logError(error, `Reading ${basename(path)}`);
    patchImage(path, { loading: false, error: entry.text });
  }
}

export function closeImage(path: string): void {
  useImagesStore.setState((s) => {
    const images = s.images.filter((image) => image.path !== path);
    const selectedPath = s.selectedPath === path ? (images[0]?.path ?? null) : s.selectedPath;
    return { images, selectedPath };
  });
}

export function useSelectedImage(): OpenImage | null {
  return useImagesStore((s) => s.images.find((image) => image.path === s.selectedPath) ?? null);
}

/**
 * Images dropped on the window (outside the file browser). Only the app knows a dropped file's
 * path; a browser cannot open a dropped image in place, so it says how to instead.
 */
export async function openDroppedImages(data: DataTransfer): Promise<void> {
  const host = hostBridge();
  const files = [...data.files];
  if (!host) {
    logError(
      new Error(
        `${files[0]?.name ?? 'The file'} was dropped on the window: in a browser the app cannot see where it lives; use Open image… and type its path`,
      ),
    );
    return;
  }
  for (const file of files) {
    const path = host.pathForFile(file);
    if (!path) continue;
    try {
      await openImage(path);
    } catch (error) {
      logError(error, `Opening ${file.name}`);
    }
  }
}

/** A volume of an image where the commands that work on it can find it. */
export function volumeAt(path: string, volume: { partition: number | null; startSector: number; sizeBytes: number }): VolumeAt {
  return { image: path, partition: volume.partition, startSector: volume.startSector, sectorCount: Math.floor(volume.sizeBytes / 512) };
}

/** Formats a volume of an image (a job), then reads the image again. Throws the refusal, logged. */
export async function formatImageVolume(
  path: string,
  volume: { partition: number | null; startSector: number; sizeBytes: number },
  fs: FsType,
  label: string,
): Promise<FormatResult> {
  const { partition } = volume;
  try {
    const result = await api().image.format({
      path,
      ...(partition === null ? {} : { partition }),
      fs,
      ...(label.trim() ? { label: label.trim() } : {}),
    });
    logInfo(
      `Formatted ${result.volume} as ${result.fs.toUpperCase()}: ${formatBytes(result.usage.freeBytes)} free` +
        (result.partitionType ? `; partition type ${result.partitionType.from} → ${result.partitionType.to}` : ''),
      formatCommands(volumeAt(path, volume), { fs, ...(label.trim() ? { label: label.trim() } : {}) }),
    );
    await refreshImage(path);
    return result;
  } catch (error) {
    logError(error, `Formatting ${partition === null ? basename(path) : `partition ${partition} of ${basename(path)}`}`);
    throw error;
  }
}

/** Installs a boot loader (a job), then reads the image again. Throws the refusal, logged. */
export async function installBootloader(input: MethodInput<'bootloader.install'>, info?: ImageInfo): Promise<BootloaderResult> {
  try {
    const installed = await api().bootloader.install(input);
    const volume = info ? (input.partition === undefined ? null : info.partitions.find((p) => p.index === input.partition)) : undefined;
    const where =
      info && volume !== undefined
        ? volumeAt(
            input.path,
            volume
              ? { partition: volume.index, startSector: volume.startSector, sizeBytes: volume.sizeBytes }
              : { partition: null, startSector: 0, sizeBytes: info.sizeBytes },
          )
        : null;
    logInfo(`Installed ${installed.loader} on ${installed.volume}${installed.device ? ` as ${installed.device}` : ''}`, [
      ...(where && info
        ? bootloaderCommands(where, input, {
            table: info.table,
            floppy: info.floppy !== null,
            fs: (volume ? volume.filesystem?.type : info.filesystem?.type) ?? null,
          })
        : []),
      ...installed.sectors.map((s) => `# ${s.what}: sector ${s.sector}, ${s.count} sector(s)`),
    ]);
    await refreshImage(input.path);
    return installed;
  } catch (error) {
    logError(error, `Installing the boot loader on ${basename(input.path)}`);
    throw error;
  }
}
