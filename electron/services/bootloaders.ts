/**
 * Boot loaders into image files, without root: GRUB 2 (for BIOS: core.img in the gap after the
 * MBR or in a GPT BIOS boot partition, boot.img in the MBR, modules and grub.cfg in /boot/grub;
 * for UEFI: /EFI/BOOT/BOOTX64.EFI with its modules built in, reading the same grub.cfg), GRUB legacy
 * (what the shell's `root (fd0)` + `setup (fd0)` write, done natively), or the user's own boot
 * sector. Everything is checked before the first write: the host's GRUB files, where core.img
 * goes and whether it fits, the kernels the menu names, the boot sector's signature and size.
 *
 * The byte-level work is in shared/boot; this reads the host's files, opens the image and the
 * filesystem, and writes.
 */
import { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import type { z } from 'zod';
import type { bootloaderInstallSchema, BootloaderResult, SectorsWritten } from '../../shared/api/boot';
import {
  BPB_START,
  FAT1216_BPB_END,
  FAT32_BPB_END,
  hasBootSignature,
  MBR_TABLE_END,
  MBR_TABLE_START,
  mergeBootSector,
  overlapsKeptBytes,
} from '../../shared/boot/boot-sector';
import {
  buildBlockList,
  checkStage1,
  checkStage2,
  DEFAULT_CONFIG_FILE,
  fileSectors,
  grubLegacyDevice,
  installPartitionOf,
  patchStage1,
  patchStage2,
} from '../../shared/boot/grub-legacy';
import {
  checkCoreFits,
  checkEfiVolume,
  coreModules,
  EFI_BOOT_FILE,
  EFI_PREFIX,
  efiModules,
  embeddingArea,
  grub2Device,
  patchBootImg,
  patchCoreImg,
  usesBios,
  usesUefi,
  type EmbeddingArea,
  type Grub2Firmware,
} from '../../shared/boot/grub2';
import { checkMenu, grubCfg, menuLst, type BootMenu } from '../../shared/boot/menu';
import { describeDisk, type DiskInfo, type PartitionInfo } from '../../shared/disk/disk-info';
import { formatBytes, SECTOR_BYTES } from '../../shared/disk/sizes';
import { LoopbackError } from '../../shared/errors';
import { layoutFromBootSector, parseBootSector } from '../../shared/fs/fat/index';
import type { FileSystem, FsType, ProgressOptions } from '../../shared/fs/types';
import { toBootMenu } from '../../shared/recipe/schema';
import {
  buildCoreImage,
  findGrub2,
  findGrub2Efi,
  findGrubLegacy,
  grub2ModuleFiles,
  type Grub2EfiFiles,
  type Grub2Files,
  type GrubLegacyFiles,
} from '../platform/grub-files';
import { withImage, type FileBlockDevice } from './file-block-device';
import { describeVolume, detectFileSystem, openFileSystem, volumeWindow, type VolumeRef, type VolumeWindow } from './volumes';

export type BootloaderKind = BootloaderResult['loader'];

interface RequestBase extends VolumeRef, ProgressOptions {}

export interface Grub2Request extends RequestBase {
  loader: 'grub2';
  /** Write /boot/grub/grub.cfg from this menu (else an existing grub.cfg is left as it is). */
  menu?: BootMenu;
  /** A host file to copy to the default entry's kernel path first. */
  kernelFile?: string;
  /** Modules built into core.img (and BOOTX64.EFI) besides the ones GRUB needs (grub-install --modules). */
  coreModules?: readonly string[];
  /** BIOS (core.img after the MBR), UEFI (/EFI/BOOT/BOOTX64.EFI on a FAT volume), or both. Default bios. */
  firmware?: Grub2Firmware;
}

export interface GrubLegacyRequest extends RequestBase {
  loader: 'grub-legacy';
  /** The folder with stage1 and stage2 (default: the host's GRUB legacy folders). */
  stageDir?: string;
  menu?: BootMenu;
  kernelFile?: string;
}

export interface BootSectorRequest extends RequestBase {
  loader: 'boot-sector';
  /** The host file: 512 bytes, or a longer first stage whose later sectors follow sector 0. */
  file: string;
  /** Replace a FAT volume's BPB with the file's bytes 3–61 (3–89 on FAT32) instead of keeping it. */
  overwriteBpb?: boolean;
  /** Replace the MBR's disk signature and partition table with the file's bytes 440–509. */
  overwriteTable?: boolean;
  /** Accept a sector without the 55 AA signature. */
  force?: boolean;
}

export type BootloaderRequest = Grub2Request | GrubLegacyRequest | BootSectorRequest;

export type { BootloaderResult, SectorsWritten };

// --- What every install checks first ---

/**
 * The volume that holds /boot: the one named, or on a partitioned disk the only partition with a
 * filesystem (or the only bootable one among several). Refuses volumes without a filesystem.
 */
export async function bootVolume(image: FileBlockDevice, ref: VolumeRef): Promise<VolumeWindow & { fsType: FsType; ref: VolumeRef }> {
  let chosen = ref;
  if (ref.partition === undefined) {
    const disk = await describeDisk(image);
    if (disk.table !== 'none') {
      const withFs: PartitionInfo[] = [];
      for (const p of disk.partitions) {
        if (p.kind === 'extended' || p.offsetBytes + p.sizeBytes > image.sizeBytes) continue;
        const probe = await volumeWindow(image, { image: ref.image, partition: p.index });
        if (await detectFileSystem(probe.device)) withFs.push(p);
      }
      const pick =
        withFs.length === 1 ? withFs[0] : withFs.filter((p) => p.bootable).length === 1 ? withFs.find((p) => p.bootable) : undefined;
      if (!pick) {
        throw new LoopbackError(
          'INVALID_INPUT',
          `${ref.image} has ${withFs.length === 0 ? 'no partition with a filesystem: format one first' : `${withFs.length} partitions with filesystems`}; say which holds /boot with -p N`,
          { image: ref.image },
        );
      }
      chosen = { image: ref.image, partition: pick.index };
    }
  }
  const window = await volumeWindow(image, chosen);
  const fsType = await detectFileSystem(window.device);
  if (!fsType) {
    throw new LoopbackError('NOT_FOUND', `${describeVolume(chosen)} has no filesystem for /boot (FAT12/16/32 or ext2): format it first`, {
      image: ref.image,
      partition: chosen.partition,
    });
  }
  return { ...window, fsType, ref: chosen };
}

async function exists(target: FileSystem, path: string): Promise<boolean> {
  try {
    return (await target.stat(path)).type === 'file';
  } catch (error) {
    if (error instanceof LoopbackError && error.code === 'NOT_FOUND') return false;
    throw error;
  }
}

/** Every kernel and module the menu names must be a file in the volume (or be copied in by `kernelFile`). */
async function checkMenuFiles(target: FileSystem, menu: BootMenu, volume: string, copied: string | null): Promise<void> {
  for (const [i, entry] of menu.entries.entries()) {
    const paths: Array<[string, string]> = [
      [`kernel`, entry.kernel],
      ...(entry.modules ?? []).map((m, j): [string, string] => [`modules[${j}]`, m.path]),
    ];
    for (const [field, path] of paths) {
      if (path === copied) continue;
      if (!(await exists(target, path))) {
        throw new LoopbackError(
          'NOT_FOUND',
          `menu entry ${i} ("${entry.title}") ${field}: ${path} is not a file in ${volume}. Copy it in first (loopstudio put IMAGE FILE ${path}) or pass --kernel-file`,
          { path, entry: i },
        );
      }
    }
  }
}

async function readHostFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fs.readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LoopbackError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'IO',
      `${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
      { path },
    );
  }
}

async function mkdirs(target: FileSystem, path: string): Promise<void> {
  await target.mkdir(path, { parents: true });
}

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/** Copies `kernelFile` (if any) to the default entry's kernel path, and lists it in `files`. */
async function copyKernel(target: FileSystem, request: { kernelFile?: string; menu?: BootMenu }, files: string[]): Promise<void> {
  if (request.kernelFile === undefined || !request.menu) return;
  const path = request.menu.entries[request.menu.default]!.kernel;
  await mkdirs(target, parentOf(path));
  await target.writeFile(path, await readHostFile(request.kernelFile, 'kernel file'));
  files.push(path);
}

function kernelPathOf(request: { kernelFile?: string; menu?: BootMenu }): string | null {
  if (request.kernelFile === undefined) return null;
  if (!request.menu)
    throw new LoopbackError(
      'INVALID_INPUT',
      'a kernel file to copy in needs a menu entry that says where it goes (--kernel /boot/kernel.elf)',
    );
  return request.menu.entries[request.menu.default]!.kernel;
}

type OpenFileSystem = FileSystem & { close?: () => Promise<void> };

async function closeFs(target: OpenFileSystem): Promise<void> {
  await target.flush();
  await target.close?.();
}

/**
 * Opens the volume's filesystem and runs the checks that read it. When one fails, the
 * filesystem is closed without flushing, so the image stays exactly as it was.
 */
async function openChecked(
  volume: VolumeWindow & { ref: VolumeRef },
  checks: (target: OpenFileSystem) => Promise<void>,
): Promise<OpenFileSystem> {
  const target = await openFileSystem(volume.device, volume.ref);
  try {
    await checks(target);
  } catch (error) {
    await target.close?.();
    throw error;
  }
  return target;
}

// --- GRUB 2 ---

export interface Grub2Prepared {
  files: Grub2Files;
  core: Uint8Array;
  prefix: string;
  modules: string[];
  bootImg: Uint8Array;
  moduleFiles: string[];
  /** Each module file's size, and their sum (for space checks). */
  moduleSizes: Array<{ name: string; bytes: number }>;
  moduleBytes: number;
}

const GRUB2_FS: Record<FsType, 'fat' | 'ext2'> = { fat12: 'fat', fat16: 'fat', fat32: 'fat', ext2: 'ext2' };

/**
 * GRUB 2's host files and core.img for a boot partition, before anything is written: grub-mkimage
 * runs into a temporary file. Used by installs and by recipe validation.
 */
export async function prepareGrub2(
  table: 'mbr' | 'gpt',
  partitionNumber: number,
  fsType: FsType,
  extraModules: readonly string[] = [],
): Promise<Grub2Prepared> {
  const files = await findGrub2();
  const prefix = `${grub2Device(table, partitionNumber)}/boot/grub`;
  const modules = coreModules(table, GRUB2_FS[fsType], extraModules);
  const core = await buildCoreImage(files, prefix, modules);
  const bootImg = await readHostFile(files.bootImg, "GRUB 2's");
  const moduleFiles = await grub2ModuleFiles(files.dir);
  const moduleSizes: Grub2Prepared['moduleSizes'] = [];
  for (const name of moduleFiles) moduleSizes.push({ name, bytes: (await fs.stat(`${files.dir}/${name}`)).size });
  const moduleBytes = moduleSizes.reduce((sum, m) => sum + m.bytes, 0);
  return { files, core, prefix, modules, bootImg, moduleFiles, moduleSizes, moduleBytes };
}

/** The hint for a core.img that does not fit. */
function coreHint(area: EmbeddingArea, extra: readonly string[]): string {
  const tips: string[] = [];
  if (extra.length) tips.push(`build fewer modules into core.img (${extra.join(', ')}): grub.cfg can insmod them from /boot/grub/i386-pc`);
  if (area.kind === 'mbr-gap') tips.push('or start the first partition at sector 2048 (1 MiB), which leaves a 1 MiB gap');
  else tips.push('or make the BIOS boot partition larger (1 MiB is usual)');
  return `Nothing was written. To fix it: ${tips.join('; ')}.`;
}

/** Where core.img goes on this disk, checked against its size; VALIDATION when it cannot. */
export function grub2Placement(disk: DiskInfo, coreBytes: number, extraModules: readonly string[]): EmbeddingArea {
  const area = embeddingArea(disk);
  checkCoreFits(area, coreBytes, coreHint(area, extraModules));
  return area;
}

export interface Grub2EfiPrepared {
  files: Grub2EfiFiles;
  /** BOOTX64.EFI as grub-mkimage made it. */
  image: Uint8Array;
  prefix: string;
  modules: string[];
}

/** GRUB 2's UEFI application for a boot volume, built before anything is written (installs and recipes). */
export async function prepareGrub2Efi(fsType: FsType, extraModules: readonly string[] = []): Promise<Grub2EfiPrepared> {
  const files = await findGrub2Efi();
  const modules = efiModules(GRUB2_FS[fsType], extraModules);
  const image = await buildCoreImage(files, EFI_PREFIX, modules, 'x86_64-efi');
  return { files, image, prefix: EFI_PREFIX, modules };
}

/** The `insmod` lines of a generated grub.cfg: the table (if any) and the filesystem. */
export function grubCfgModules(table: DiskInfo['table'], fsType: FsType): string[] {
  return [...(table === 'mbr' ? ['part_msdos'] : table === 'gpt' ? ['part_gpt'] : []), GRUB2_FS[fsType]];
}

async function installGrub2(request: Grub2Request): Promise<BootloaderResult> {
  const copied = kernelPathOf(request);
  const firmware = request.firmware ?? 'bios';
  const extra = request.coreModules ?? [];
  if (request.menu) checkMenu(request.menu, 'grub2');
  return withImage(request.image, true, async (image) => {
    const disk = await describeDisk(image);
    // Floppies and GPT disks without a BIOS boot partition are refused before grub-mkimage runs.
    if (usesBios(firmware)) embeddingArea(disk);
    const volume = await bootVolume(image, request);
    const partition = volume.partition ?? null;
    const warnings = usesUefi(firmware) ? checkEfiVolume(disk.table, partition, volume.fsType) : [];
    const bios = usesBios(firmware) ? await prepareGrub2(disk.table as 'mbr' | 'gpt', partition!.index, volume.fsType, extra) : null;
    const area = bios ? grub2Placement(disk, bios.core.length, extra) : null;
    const efi = usesUefi(firmware) ? await prepareGrub2Efi(volume.fsType, extra) : null;
    const where = describeVolume(volume.ref);
    const target = await openChecked(volume, async (target) => {
      if (request.menu) await checkMenuFiles(target, request.menu, where, copied);
      const usage = await target.usage();
      const needed = (bios?.moduleBytes ?? 0) + (efi?.image.length ?? 0);
      if (needed > usage.freeBytes) {
        const what = [bios ? "GRUB 2's modules" : null, efi ? 'BOOTX64.EFI' : null].filter(Boolean).join(' and ');
        throw new LoopbackError(
          'VALIDATION',
          `${what} need ${formatBytes(needed)} in ${where}, and ${formatBytes(usage.freeBytes)} is free; nothing was written`,
          {},
        );
      }
    });
    const files: string[] = [];
    const steps = (bios?.moduleFiles.length ?? 0) + (efi ? 1 : 0);
    let done = 0;
    const progress = (phase: string) => {
      done++;
      request.onProgress?.({ phase, bytesDone: done, bytesTotal: steps, itemsDone: done, itemsTotal: steps });
    };
    try {
      // Files first: if anything fails here, the disk still boots whatever it booted before.
      if (bios) {
        await mkdirs(target, '/boot/grub/i386-pc');
        for (const name of bios.moduleFiles) {
          if (request.signal?.aborted)
            throw new LoopbackError(
              'CANCELLED',
              `GRUB 2 install cancelled while copying modules (${done} of ${bios.moduleFiles.length}); sector 0 was not changed`,
            );
          await target.writeFile(`/boot/grub/i386-pc/${name}`, await readHostFile(`${bios.files.dir}/${name}`, 'GRUB module'));
          progress('copying GRUB modules');
        }
      }
      if (efi) {
        await mkdirs(target, parentOf(EFI_BOOT_FILE));
        await target.writeFile(EFI_BOOT_FILE, efi.image);
        files.push(EFI_BOOT_FILE);
        progress('writing BOOTX64.EFI');
      }
      await copyKernel(target, request, files);
      if (request.menu) {
        await mkdirs(target, '/boot/grub');
        await target.writeFile(
          '/boot/grub/grub.cfg',
          new TextEncoder().encode(grubCfg(request.menu, grubCfgModules(disk.table, volume.fsType))),
        );
        files.push('/boot/grub/grub.cfg');
      }
    } finally {
      await closeFs(target);
    }
    const sectors: SectorsWritten[] = [];
    if (bios && area) {
      const core = patchCoreImg(bios.core, area.firstSector);
      await image.write(area.firstSector * SECTOR_BYTES, core);
      const mbr = patchBootImg(bios.bootImg, await image.read(0, SECTOR_BYTES), area.firstSector);
      await image.write(0, mbr);
      sectors.push(
        { what: 'boot.img (MBR code; the disk signature and partition table kept)', sector: 0, count: 1 },
        { what: `core.img (${area.description})`, sector: area.firstSector, count: core.length / SECTOR_BYTES },
      );
    }
    return {
      loader: 'grub2',
      image: request.image,
      volume: where,
      device: partition ? grub2Device(disk.table as 'mbr' | 'gpt', partition.index) : null,
      firmware,
      files,
      modules: bios?.moduleFiles.length ?? 0,
      sectors,
      ...(bios && area ? { core: { bytes: bios.core.length, prefix: bios.prefix, modules: bios.modules, area: area.description } } : {}),
      ...(efi ? { efi: { path: EFI_BOOT_FILE, bytes: efi.image.length, prefix: efi.prefix, modules: efi.modules } } : {}),
      warnings,
    };
  });
}

// --- GRUB 2's menu after the host's grub-install (the loop engine) ---

/** A menu for a GRUB 2 that the host's grub-install put on the image (`bootloader --engine loop`). */
export interface Grub2MenuRequest extends VolumeRef {
  menu: BootMenu;
  kernelFile?: string;
}

/**
 * Checks, before grub-install runs, what writeGrub2Menu will need: a valid menu, a filesystem for
 * /boot, and every kernel and module the menu names in it (or copied in by `kernelFile`). Reads
 * only; throws as the rootless install would.
 */
export async function checkGrub2Menu(request: Grub2MenuRequest): Promise<void> {
  const copied = kernelPathOf(request);
  checkMenu(request.menu, 'grub2');
  if (request.kernelFile !== undefined) await readHostFile(request.kernelFile, 'kernel file');
  await withImage(request.image, false, async (image) => {
    const volume = await bootVolume(image, request);
    const target = await openChecked(volume, async (target) => checkMenuFiles(target, request.menu, describeVolume(volume.ref), copied));
    await target.close?.();
  });
}

/**
 * Writes /boot/grub/grub.cfg from the menu (and copies `kernelFile` to the default entry's kernel
 * path first), rootless — the same file, with the same insmods, the rootless GRUB 2 install writes.
 * For the loop engine, after grub-install has put GRUB's core and modules there and nothing of the
 * image is mounted any more.
 */
export async function writeGrub2Menu(request: Grub2MenuRequest): Promise<{ volume: string; files: string[] }> {
  const copied = kernelPathOf(request);
  checkMenu(request.menu, 'grub2');
  return withImage(request.image, true, async (image) => {
    const disk = await describeDisk(image);
    const volume = await bootVolume(image, request);
    const where = describeVolume(volume.ref);
    const target = await openChecked(volume, async (target) => checkMenuFiles(target, request.menu, where, copied));
    const files: string[] = [];
    try {
      await copyKernel(target, request, files);
      await mkdirs(target, '/boot/grub');
      await target.writeFile(
        '/boot/grub/grub.cfg',
        new TextEncoder().encode(grubCfg(request.menu, grubCfgModules(disk.table, volume.fsType))),
      );
      files.push('/boot/grub/grub.cfg');
    } finally {
      await closeFs(target);
    }
    return { volume: where, files };
  });
}

/** Whether the boot volume has a /boot/grub/grub.cfg (GRUB 2 without one stops at its `grub>` prompt). */
export async function hasGrubCfg(ref: VolumeRef): Promise<boolean> {
  return withImage(ref.image, false, async (image) => {
    const volume = await bootVolume(image, ref);
    const target = await openFileSystem(volume.device, volume.ref);
    try {
      return await exists(target, '/boot/grub/grub.cfg');
    } finally {
      await target.close?.();
    }
  });
}

// --- GRUB legacy ---

export interface GrubLegacyPrepared {
  files: GrubLegacyFiles;
  stage1: Uint8Array;
  stage2: Uint8Array;
}

/** GRUB legacy's stage files, read and checked: used by installs and recipe validation. */
export async function prepareGrubLegacy(stageDir?: string): Promise<GrubLegacyPrepared> {
  const files = await findGrubLegacy(stageDir);
  const stage1 = await readHostFile(files.stage1, 'GRUB legacy');
  const stage2 = await readHostFile(files.stage2, 'GRUB legacy');
  checkStage1(stage1, files.stage1);
  checkStage2(stage2, files.stage2);
  return { files, stage1, stage2 };
}

async function installGrubLegacy(request: GrubLegacyRequest): Promise<BootloaderResult> {
  const copied = kernelPathOf(request);
  if (request.menu) checkMenu(request.menu, 'grub-legacy');
  const prepared = await prepareGrubLegacy(request.stageDir);
  return withImage(request.image, true, async (image) => {
    const disk = await describeDisk(image);
    if (disk.table === 'gpt') {
      throw new LoopbackError(
        'VALIDATION',
        'GRUB legacy does not know GPT partitions: use GRUB 2 (--grub2) on a GPT disk, or an MBR table',
      );
    }
    const volume = await bootVolume(image, request);
    // A floppy image (a floppy format's size, no table) is drive 0x00; anything else a hard disk.
    const hardDisk = !(disk.table === 'none' && disk.floppy !== null);
    const partitionNumber = volume.partition?.index ?? null;
    const device = grubLegacyDevice(hardDisk, partitionNumber);
    const where = describeVolume(volume.ref);
    const target = await openChecked(volume, async (target) => {
      if (request.menu) await checkMenuFiles(target, request.menu, where, copied);
    });
    const files: string[] = [];
    let stage2Extents;
    try {
      await mkdirs(target, '/boot/grub');
      await target.writeFile('/boot/grub/stage1', prepared.stage1);
      await target.writeFile('/boot/grub/stage2', prepared.stage2);
      files.push('/boot/grub/stage1', '/boot/grub/stage2');
      await copyKernel(target, request, files);
      if (request.menu) {
        await target.writeFile(DEFAULT_CONFIG_FILE, new TextEncoder().encode(menuLst(request.menu, device)));
        files.push(DEFAULT_CONFIG_FILE);
      }
      // The FAT or ext2 metadata must be on disk before stage2's sectors are looked up and patched.
      await target.flush();
      stage2Extents = await target.extents('/boot/grub/stage2');
    } finally {
      await closeFs(target);
    }
    const volumeStart = volume.partition?.startSector ?? 0;
    const sectors = fileSectors(stage2Extents, prepared.stage2.length, volumeStart, '/boot/grub/stage2');
    const [first, second] = sectors;
    if (first === undefined || second === undefined) throw new LoopbackError('INTERNAL', 'stage2 has fewer than two sectors');
    // What GRUB would read through the filesystem must be the file we wrote.
    const onDisk = new Uint8Array(2 * SECTOR_BYTES);
    onDisk.set(await image.read(first * SECTOR_BYTES, SECTOR_BYTES), 0);
    onDisk.set(await image.read(second * SECTOR_BYTES, SECTOR_BYTES), SECTOR_BYTES);
    if (!onDisk.every((byte, i) => byte === prepared.stage2[i])) {
      throw new LoopbackError(
        'INTERNAL',
        `stage2's first sectors at LBA ${first} and ${second} do not hold stage2: the block map disagrees with the filesystem`,
      );
    }
    const blockList = buildBlockList(sectors.slice(1));
    const patched = patchStage2(onDisk, {
      entries: blockList,
      installPartition: installPartitionOf(partitionNumber),
      configFile: DEFAULT_CONFIG_FILE,
    });
    const stage1 = patchStage1(prepared.stage1, { oldSector: await image.read(0, SECTOR_BYTES), hardDisk, stage2Sector: first });
    await image.write(first * SECTOR_BYTES, patched.subarray(0, SECTOR_BYTES));
    await image.write(second * SECTOR_BYTES, patched.subarray(SECTOR_BYTES));
    await image.write(0, stage1);
    return {
      loader: 'grub-legacy',
      image: request.image,
      volume: where,
      device,
      files,
      modules: 0,
      sectors: [
        {
          what: hardDisk
            ? 'stage1 (MBR code; the disk signature and partition table kept)'
            : "stage1 (the floppy's boot sector; its BPB kept)",
          sector: 0,
          count: 1,
        },
        { what: "stage2's first sector: the block list of the rest", sector: first, count: 1 },
        { what: "stage2's second sector: install partition and config file", sector: second, count: 1 },
      ],
      blockList,
      warnings: [],
    };
  });
}

// --- The user's boot sector ---

/** Sectors after sector 0 of the target that nothing owns, as a count (sector 0 itself excluded). */
async function freeSectorsAfterBoot(disk: DiskInfo, window: VolumeWindow, fsType: FsType | null): Promise<{ free: number; owner: string }> {
  if (window.partition === null && disk.table === 'mbr') {
    const first = Math.min(disk.totalSectors, ...disk.partitions.map((p) => p.startSector));
    return {
      free: first - 1,
      owner: `partition ${disk.partitions.find((p) => p.startSector === first)?.index ?? ''} (from sector ${first})`,
    };
  }
  if (window.partition === null && disk.table === 'gpt') return { free: 0, owner: 'the GPT header (sector 1)' };
  if (fsType === 'ext2') return { free: 1, owner: 'the ext2 superblock (from byte 1024)' };
  if (fsType) {
    const layout = layoutFromBootSector(parseBootSector(await window.device.read(0, SECTOR_BYTES)));
    if (fsType === 'fat32') return { free: 0, owner: 'the FAT32 FSInfo sector (sector 1)' };
    return { free: layout.reservedSectors - 1, owner: `the first FAT (sector ${layout.firstFatSector})` };
  }
  return { free: window.device.sizeBytes / SECTOR_BYTES - 1, owner: 'the end of the volume' };
}

async function installBootSector(request: BootSectorRequest): Promise<BootloaderResult> {
  const code = await readHostFile(request.file, 'boot sector');
  if (code.length === 0 || code.length % SECTOR_BYTES !== 0) {
    throw new LoopbackError(
      'VALIDATION',
      `${request.file} is ${code.length} bytes: a boot sector (or a longer first stage) is a whole number of 512-byte sectors`,
      { sizeBytes: code.length },
    );
  }
  return withImage(request.image, true, async (image) => {
    const disk = await describeDisk(image);
    // Without -p the boot sector is the disk's own sector 0 (an MBR, or a floppy's boot sector).
    const window: VolumeWindow =
      request.partition === undefined ? { disk, partition: null, device: image } : await volumeWindow(image, request);
    const fsType = await detectFileSystem(window.device);
    const isFat = fsType !== null && fsType !== 'ext2';
    const oldSector = await window.device.read(0, SECTOR_BYTES);
    const keepTable = window.partition === null && disk.table !== 'none' && !request.overwriteTable;
    const bpbEnd = fsType === 'fat32' ? FAT32_BPB_END : FAT1216_BPB_END;
    const keepBpb = isFat && !request.overwriteBpb;
    const sector = mergeBootSector(code, { oldSector, keepBpbEnd: keepBpb ? bpbEnd : null, keepTable, force: request.force ?? false });
    const extra = code.length / SECTOR_BYTES - 1;
    if (extra > 0) {
      const { free, owner } = await freeSectorsAfterBoot(disk, window, fsType);
      if (extra > free) {
        throw new LoopbackError(
          'VALIDATION',
          `${request.file} is ${extra + 1} sectors: sector 0 and ${extra} more, but only ${free} sector${free === 1 ? '' : 's'} after sector 0 ${free === 1 ? 'is' : 'are'} free before ${owner}; nothing was written`,
          { sectors: extra + 1, free },
        );
      }
    }
    const warnings: string[] = [];
    if (keepBpb && overlapsKeptBytes(code, BPB_START, bpbEnd)) {
      warnings.push(
        `bytes ${BPB_START}–${bpbEnd - 1} of ${basename(request.file)} are not zero, but the volume's BPB was kept there: make the code jump over them`,
      );
    }
    if (keepTable && overlapsKeptBytes(code.subarray(0, SECTOR_BYTES), MBR_TABLE_START, MBR_TABLE_END)) {
      warnings.push(
        `bytes ${MBR_TABLE_START}–${MBR_TABLE_END - 1} of ${basename(request.file)} are not zero, but the disk signature and partition table were kept there`,
      );
    }
    if (!hasBootSignature(code)) warnings.push('sector 0 has no 55 AA signature (forced): the BIOS will not boot it');
    const start = window.partition?.startSector ?? 0;
    await image.write(start * SECTOR_BYTES, sector);
    if (extra > 0) await image.write((start + 1) * SECTOR_BYTES, code.subarray(SECTOR_BYTES));
    const sectors: SectorsWritten[] = [
      {
        what: `boot sector${keepBpb ? ' (BPB kept)' : ''}${keepTable ? ' (disk signature and partition table kept)' : ''}`,
        sector: start,
        count: 1,
      },
    ];
    if (extra > 0) sectors.push({ what: 'the rest of the first stage', sector: start + 1, count: extra });
    return {
      loader: 'boot-sector',
      image: request.image,
      volume: describeVolume(request),
      device: null,
      files: [],
      modules: 0,
      sectors,
      warnings,
    };
  });
}

/** Installs the boot loader the request names. Nothing is written when a check fails. */
export async function installBootloader(request: BootloaderRequest): Promise<BootloaderResult> {
  switch (request.loader) {
    case 'grub2':
      return installGrub2(request);
    case 'grub-legacy':
      return installGrubLegacy(request);
    case 'boot-sector':
      return installBootSector(request);
  }
}

/** The contract's bootloader.install input as a request (the schema already checked which fields go together). */
export function bootloaderRequestFromApi(input: z.output<typeof bootloaderInstallSchema>): BootloaderRequest {
  const ref = { image: input.path, ...(input.partition !== undefined ? { partition: input.partition } : {}) };
  if (input.loader === 'boot-sector') {
    return {
      loader: 'boot-sector',
      ...ref,
      file: input.bootSector!,
      overwriteBpb: input.overwriteBpb ?? false,
      overwriteTable: input.overwriteTable ?? false,
      force: input.force ?? false,
    };
  }
  const common = {
    ...ref,
    ...(input.menu ? { menu: toBootMenu(input.menu) } : {}),
    ...(input.kernelFile !== undefined ? { kernelFile: input.kernelFile } : {}),
  };
  if (input.loader === 'grub2')
    return {
      loader: 'grub2',
      ...common,
      ...(input.coreModules ? { coreModules: input.coreModules } : {}),
      ...(input.firmware ? { firmware: input.firmware } : {}),
    };
  return { loader: 'grub-legacy', ...common, ...(input.stageDir !== undefined ? { stageDir: input.stageDir } : {}) };
}
