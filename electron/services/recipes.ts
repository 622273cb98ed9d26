/**
 * Recipes: `loopstudio build recipe.json` makes the image a recipe describes, headless and
 * without root, from the same services the app and the other commands use (create, partition,
 * format, put, bootloader).
 *
 * Everything is validated before the first byte is written, and the build writes to a temporary
 * file beside the output that replaces it only at the end: a bad recipe, a missing file, missing
 * GRUB files or a failure half-way leave no image behind (and an existing one as it was).
 * Validation covers the document (shared/recipe/schema.ts) and the host: the files exist, they
 * fit their filesystems, the menu's kernels are among them, GRUB's files are installed, core.img
 * fits its gap. Each error names the recipe field it is about.
 */
import { promises as fs, type Stats } from 'node:fs';
import type { BuildResult, RecipeSummary } from '../../shared/api/boot';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { blockListCapacity } from '../../shared/boot/grub-legacy';
import { hasBootSignature } from '../../shared/boot/boot-sector';
import {
  checkEfiVolume,
  EFI_BOOT_DIR,
  EFI_BOOT_FILE,
  usesBios,
  usesUefi,
  type EmbeddingArea,
  type Grub2Firmware,
} from '../../shared/boot/grub2';
import { checkMenu, type BootMenu } from '../../shared/boot/menu';
import { describeDisk, type DiskInfo, type PartitionInfo } from '../../shared/disk/disk-info';
import { resolveImageShape, type ImageShape, type ImageShapeRequest } from '../../shared/disk/image-shape';
import { editPartitions, type PartitionEditStep } from '../../shared/disk/partition-edits';
import { formatBytes, SECTOR_BYTES } from '../../shared/disk/sizes';
import { SparseMemoryBlockDevice } from '../../shared/disk/sparse-device';
import { LoopbackError } from '../../shared/errors';
import { blocksWithIndirect } from '../../shared/fs/ext2/inode';
import { freeBlocksAfterFormat, planExt2Layout } from '../../shared/fs/ext2/layout';
import { planFatFormat } from '../../shared/fs/fat/index';
import type { ProgressOptions } from '../../shared/fs/types';
import { fieldError, parseRecipe, toBootMenu, type Recipe, type RecipeFilesystem, type RecipePartition } from '../../shared/recipe/schema';
import { planIsoRecipe, summarizeIso, writeIsoRecipe, type IsoRecipePlan } from './iso-recipe';
import {
  grub2Placement,
  installBootloader,
  prepareGrub2,
  prepareGrub2Efi,
  prepareGrubLegacy,
  type BootloaderRequest,
  type BootloaderResult,
  type Grub2EfiPrepared,
  type Grub2Prepared,
  type GrubLegacyPrepared,
} from './bootloaders';
import { partitionImage } from './disks';
import { imageJoin, makeFolder, putFiles } from './files';
import { createImage } from './images';
import { replaceImageWith, requireImageNotHeld } from './write-guard';
import { defaultOutputFor, hostPath, loadRecipe, recipeSource, sourceRoots, within } from './recipe-sources';

// The light part (reading a recipe, its sources' folders, its default output) lives in
// recipe-sources.ts, so a rebuild loads it without the build's code.
export { defaultOutput, defaultOutputFor, loadRecipe, recipeSource, sourceRoots } from './recipe-sources';
import { formatVolume } from './volumes';

/** A filesystem the recipe creates: a partition's, or the whole disk's. */
export interface PlannedVolume {
  /** The partition number, or null for a whole-disk filesystem. */
  partition: number | null;
  /** The recipe field: `partitions[0].filesystem` or `filesystem`. */
  field: string;
  /** The field to blame when it is too small: `partitions[0].size`, `image.size` … */
  sizeField: string;
  fs: RecipeFilesystem;
  startSector: number;
  sizeBytes: number;
  /** Bytes free for files right after formatting. */
  capacityBytes: number;
  /** Allocation unit (cluster or block). */
  unitBytes: number;
  /** What the build puts there, as a lower bound in bytes, and what for. */
  needs: Array<{ what: string; bytes: number }>;
  /** Paths of every file and folder the build creates there. */
  files: Set<string>;
  folders: Set<string>;
  info: PartitionInfo | null;
}

export interface PlannedCopy {
  field: string;
  /** Absolute host path. */
  from: string;
  to: string;
  /** Whether `from` is a folder (copied whole, to `to`). */
  folder: boolean;
  volume: PlannedVolume;
  bytes: number;
}

export type PlannedBootloader =
  | {
      kind: 'grub2';
      volume: PlannedVolume;
      menu?: BootMenu;
      firmware: Grub2Firmware;
      /** BIOS: core.img and where it goes (null for UEFI only). */
      bios: { prepared: Grub2Prepared; area: EmbeddingArea } | null;
      /** UEFI: BOOTX64.EFI (null for BIOS only). */
      efi: Grub2EfiPrepared | null;
      coreModules: string[];
    }
  | { kind: 'grub-legacy'; volume: PlannedVolume; menu?: BootMenu; prepared: GrubLegacyPrepared }
  | { kind: 'boot-sector'; partition: number | null; file: string; overwriteBpb: boolean; overwriteTable: boolean; force: boolean };

export interface RecipePlan {
  recipe: Recipe;
  /** The recipe file (absolute) and its folder, which relative paths start from. */
  recipePath: string;
  baseDir: string;
  shape: ImageShape;
  table: 'mbr' | 'gpt' | null;
  partitionSteps: PartitionEditStep[];
  /** The disk as it will be after partitioning (from a dry run in memory), or null without a table. */
  disk: DiskInfo | null;
  volumes: PlannedVolume[];
  copies: PlannedCopy[];
  bootloader: PlannedBootloader | null;
  /** Real paths of the host folders the recipe may read from (its own, and what the user allowed). */
  sourceRoots: string[];
  /** An ISO recipe's plan (iso-recipe.ts); then there is no table, volume, copy or disk boot loader above. */
  iso?: IsoRecipePlan;
}

function imageShapeRequest(recipe: Recipe): { request: ImageShapeRequest; field: string } {
  const { image } = recipe;
  if (image.floppy !== undefined) return { request: { floppy: image.floppy }, field: 'image.floppy' };
  if (image.chs !== undefined) return { request: { chs: image.chs }, field: 'image.chs' };
  return { request: { size: image.size! }, field: 'image.size' };
}

/** Re-throws a LoopbackError with the field in front of its message. */
async function at<T>(field: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LoopbackError && !error.message.startsWith(`${field}`)) {
      const code =
        error.code === 'INVALID_INPUT' || error.code === 'VALIDATION' || error.code === 'NOT_FOUND' || error.code === 'HOST_TOOL_MISSING'
          ? error.code
          : 'VALIDATION';
      throw fieldError(code, field, error.message, error.details ?? {});
    }
    throw error;
  }
}

/** The `--add` text of a recipe partition (the language of shared/disk/partition-spec.ts). */
function partitionSpec(table: 'mbr' | 'gpt', index: number, p: RecipePartition): string {
  const items = [`number=${index + 1}`];
  if (p.start !== undefined) items.push(`start=${p.start}`);
  items.push(`size=${p.size ?? 'rest'}`);
  const fsType = p.filesystem?.type;
  const type =
    p.type ?? (table === 'mbr' ? (fsType && fsType !== 'ext2' ? fsType : '83') : fsType && fsType !== 'ext2' ? 'msdata' : 'linux');
  items.push(`type=${type}`);
  if (p.bootable) items.push('bootable');
  if (p.name !== undefined) {
    if (/[,=]/.test(p.name)) throw new LoopbackError('INVALID_INPUT', `the name "${p.name}" cannot contain "," or "="`);
    items.push(`name=${p.name}`);
  }
  return items.join(',');
}

/** Bytes a file of `size` bytes takes in whole units (ext2: with its indirect blocks). */
function allocated(volume: PlannedVolume, size: number): number {
  const units = Math.ceil(size / volume.unitBytes);
  return (volume.fs.type === 'ext2' ? blocksWithIndirect(units, volume.unitBytes) : units) * volume.unitBytes;
}

/** Where a volume goes and what it holds, for planVolume (named, so a call reads on its own). */
interface VolumeSite {
  /** The recipe field of its filesystem, and the one to blame when it is too small. */
  field: string;
  sizeField: string;
  fsSpec: RecipeFilesystem;
  /** The partition number, or null for a whole-disk filesystem. */
  partition: number | null;
  startSector: number;
  sizeBytes: number;
  floppy: boolean;
  info: PartitionInfo | null;
  geometry: DiskInfo['geometry'] | ImageShape['geometry'];
}

async function planVolume(site: VolumeSite): Promise<PlannedVolume> {
  const { field, sizeField, fsSpec, partition, startSector, sizeBytes, floppy, info, geometry } = site;
  return at(field, () => {
    let capacityBytes: number;
    let unitBytes: number;
    if (fsSpec.type === 'ext2') {
      if (fsSpec.label !== undefined && new TextEncoder().encode(fsSpec.label).length > 16)
        throw new LoopbackError('INVALID_INPUT', 'label: an ext2 label is at most 16 bytes of UTF-8');
      const layout = planExt2Layout(sizeBytes, { ...(fsSpec.blockSize ? { blockBytes: fsSpec.blockSize } : {}) });
      unitBytes = layout.blockBytes;
      capacityBytes = freeBlocksAfterFormat(layout) * unitBytes;
    } else {
      const plan = planFatFormat(sizeBytes, {
        type: fsSpec.type,
        ...(fsSpec.label !== undefined ? { label: fsSpec.label } : {}),
        ...(fsSpec.clusterSize !== undefined ? { clusterBytes: fsSpec.clusterSize } : {}),
        geometry: { heads: geometry.heads, sectorsPerTrack: geometry.sectorsPerTrack },
        hiddenSectors: startSector,
        media: floppy ? 'floppy' : 'disk',
      });
      unitBytes = plan.layout.clusterBytes;
      // FAT32's root directory takes its first cluster.
      capacityBytes = (plan.layout.clusterCount - (plan.layout.type === 'fat32' ? 1 : 0)) * unitBytes;
    }
    return {
      partition,
      field,
      sizeField,
      fs: fsSpec,
      startSector,
      sizeBytes,
      capacityBytes,
      unitBytes,
      needs: [],
      files: new Set<string>(),
      folders: new Set<string>(['/']),
      info,
    };
  });
}

/** Every folder from the root down to `path` (itself included). */
function foldersOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

function parentPath(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await fs.stat(path);
  } catch {
    return null;
  }
}

/**
 * What a host entry is as the copy will see it: ext2 keeps a symbolic link as a link (no data);
 * FAT follows it, but only into the allowed folders (putFiles skips the others, see its
 * followLinksWithin). Null: nothing is copied.
 */
async function sourceStats(path: string, volume: PlannedVolume, roots: readonly string[]): Promise<Stats | null> {
  const stats = await fs.lstat(path).catch(() => null);
  if (!stats?.isSymbolicLink() || volume.fs.type === 'ext2') return stats;
  const real = await fs.realpath(path).catch(() => null);
  return real !== null && roots.some((root) => within(real, root)) ? statOrNull(path) : null;
}

/** Adds a host file or folder to a volume's plan; returns the bytes of file data. */
async function planCopy(volume: PlannedVolume, from: string, to: string, stats: Stats, roots: readonly string[]): Promise<number> {
  if (stats.isDirectory()) {
    for (const folder of foldersOf(to)) volume.folders.add(folder);
    let bytes = 0;
    for (const name of (await fs.readdir(from)).sort()) {
      const child = join(from, name);
      const childStats = await sourceStats(child, volume, roots);
      if (childStats && (childStats.isFile() || childStats.isDirectory()))
        bytes += await planCopy(volume, child, imageJoin(to, name), childStats, roots);
    }
    return bytes;
  }
  for (const folder of foldersOf(parentPath(to))) volume.folders.add(folder);
  volume.files.add(to);
  volume.needs.push({ what: to, bytes: allocated(volume, stats.size) });
  return stats.size;
}

/**
 * Checks a recipe against the host and plans the build, writing nothing. Throws the first
 * problem, naming its recipe field.
 */
export async function planRecipe(
  recipe: Recipe,
  recipePath: string,
  options: { allowOutside?: readonly string[] } = {},
): Promise<RecipePlan> {
  const baseDir = dirname(recipePath);
  const roots = await sourceRoots(baseDir, options.allowOutside);
  if (recipe.image.iso) {
    // An ISO image: its size follows from its files (iso-recipe.ts); the shape only carries it.
    const iso = await planIsoRecipe(recipe, baseDir, roots);
    const sizeBytes = iso.imageBytes;
    const totalSectors = sizeBytes / SECTOR_BYTES;
    const geometry = { cylinders: Math.ceil(totalSectors / (64 * 32)), heads: 64, sectorsPerTrack: 32 };
    const shape: ImageShape = { sizeBytes, totalSectors, geometry, floppy: null, geometrySource: 'size' };
    return {
      recipe,
      recipePath,
      baseDir,
      shape,
      table: null,
      partitionSteps: [],
      disk: null,
      volumes: [],
      copies: [],
      bootloader: null,
      sourceRoots: roots,
      iso,
    };
  }
  const { request, field: imageField } = imageShapeRequest(recipe);
  const shape = await at(imageField, () => resolveImageShape(request));

  // Partitions: a dry run on a sparse in-memory disk of the same size, one step at a time so an
  // error names the partition that caused it.
  const table = recipe.partitions ? (recipe.table ?? 'mbr') : null;
  const steps: PartitionEditStep[] = [];
  let disk: DiskInfo | null = null;
  if (table && recipe.partitions) {
    const device = new SparseMemoryBlockDevice(shape.sizeBytes);
    for (const [i, p] of recipe.partitions.entries()) {
      const step: PartitionEditStep = { op: 'add', spec: await at(`partitions[${i}]`, () => partitionSpec(table, i, p)) };
      await at(`partitions[${i}]`, () => editPartitions(device, { table, ...(i === 0 ? { fresh: true } : {}), steps: [step] }));
      steps.push(step);
    }
    disk = await describeDisk(device);
  }

  const volumes: PlannedVolume[] = [];
  if (recipe.filesystem) {
    volumes.push(
      await planVolume({
        field: 'filesystem',
        sizeField: imageField,
        fsSpec: recipe.filesystem,
        partition: null,
        startSector: 0,
        sizeBytes: shape.sizeBytes,
        floppy: shape.floppy !== null,
        info: null,
        geometry: shape.geometry,
      }),
    );
  }
  for (const [i, p] of (recipe.partitions ?? []).entries()) {
    if (!p.filesystem) continue;
    const info = disk!.partitions.find((x) => x.index === i + 1)!;
    volumes.push(
      await planVolume({
        field: `partitions[${i}].filesystem`,
        sizeField: `partitions[${i}].size`,
        fsSpec: p.filesystem,
        partition: i + 1,
        startSector: info.startSector,
        sizeBytes: info.sizeBytes,
        floppy: false,
        info,
        geometry: disk!.geometry,
      }),
    );
  }
  const volumeOf = (partition: number | undefined, field: string, purpose: string): PlannedVolume => {
    if (partition !== undefined) return volumes.find((v) => v.partition === partition)!;
    if (volumes.length === 1) return volumes[0]!;
    const bootable = volumes.filter((v) => v.info?.bootable);
    if (bootable.length === 1) return bootable[0]!;
    throw fieldError('INVALID_INPUT', field, `the recipe has ${volumes.length} filesystems: say which one ${purpose} with "partition"`);
  };

  // The boot loader decides the default volume for files, so it is resolved first.
  const b = recipe.bootloader;
  const bootField = b?.grub2 ? 'bootloader.grub2' : b?.grubLegacy ? 'bootloader.grubLegacy' : 'bootloader.bootSector';
  const grubSpec = b?.grub2 ?? b?.grubLegacy;
  const bootVolume = grubSpec ? volumeOf(grubSpec.partition, `${bootField}.partition`, 'holds /boot/grub') : null;

  const copies: PlannedCopy[] = [];
  for (const [i, file] of (recipe.files ?? []).entries()) {
    const field = `files[${i}]`;
    const volume =
      file.partition !== undefined
        ? volumeOf(file.partition, `${field}.partition`, '')
        : volumes.length === 1
          ? volumes[0]!
          : (bootVolume ?? volumeOf(undefined, `${field}.partition`, 'it goes to'));
    const from = await recipeSource(baseDir, file.from, roots, `${field}.from`);
    const stats = await statOrNull(from);
    if (!stats) throw fieldError('NOT_FOUND', `${field}.from`, `${from} does not exist`, { path: from });
    if (!stats.isFile() && !stats.isDirectory())
      throw fieldError('INVALID_INPUT', `${field}.from`, `${from} is not a file or a folder`, { path: from });
    const to = file.to.endsWith('/') ? imageJoin(file.to, basename(from)) : file.to.replace(/\/+$/, '');
    const bytes = await planCopy(volume, from, to, stats, roots);
    copies.push({ field, from, to, folder: stats.isDirectory(), volume, bytes });
  }

  let bootloader: PlannedBootloader | null = null;
  const menu = b?.menu ? toBootMenu(b.menu) : undefined;
  if (b && menu) {
    await at('bootloader.menu', () => checkMenu(menu, b.grub2 ? 'grub2' : 'grub-legacy'));
    const where = bootVolume!.partition === null ? 'the image' : `partition ${bootVolume!.partition}`;
    for (const [i, entry] of menu.entries.entries()) {
      const paths: Array<[string, string]> = [
        [`bootloader.menu.entries[${i}].kernel`, entry.kernel],
        ...(entry.modules ?? []).map((m, j): [string, string] => [`bootloader.menu.entries[${i}].modules[${j}]`, m.path]),
      ];
      for (const [field, path] of paths) {
        if (!bootVolume!.files.has(path)) {
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
  if (b?.grub2) {
    const volume = bootVolume!;
    const firmware = b.grub2.firmware ?? 'bios';
    const coreModules = b.grub2.coreModules ?? [];
    let bios: { prepared: Grub2Prepared; area: EmbeddingArea } | null = null;
    if (usesBios(firmware)) {
      if (!disk || !table)
        throw fieldError(
          'VALIDATION',
          bootField,
          'GRUB 2 for BIOS needs a partitioned disk (core.img goes after the MBR): use grubLegacy for a floppy, or give the recipe partitions',
        );
      const prepared = await at(bootField, () => prepareGrub2(table, volume.partition!, volume.fs.type, coreModules));
      const blame = coreModules.length ? `${bootField}.coreModules` : table === 'mbr' ? 'partitions[0].start' : bootField;
      const area = await at(blame, () => grub2Placement(disk!, prepared.core.length, coreModules));
      const moduleBytes = prepared.moduleSizes.reduce((sum, m) => sum + allocated(volume, m.bytes), 0);
      volume.needs.push({ what: `GRUB 2's ${prepared.moduleSizes.length} modules`, bytes: moduleBytes });
      foldersOf('/boot/grub/i386-pc').forEach((f) => volume.folders.add(f));
      bios = { prepared, area };
    }
    let efi: Grub2EfiPrepared | null = null;
    if (usesUefi(firmware)) {
      const partition = disk && volume.partition !== null ? (disk.partitions.find((p) => p.index === volume.partition) ?? null) : null;
      await at(`${bootField}.firmware`, () => checkEfiVolume(disk?.table ?? 'none', partition, volume.fs.type));
      efi = await at(`${bootField}.firmware`, () => prepareGrub2Efi(volume.fs.type, coreModules));
      volume.needs.push({ what: EFI_BOOT_FILE, bytes: allocated(volume, efi.image.length) });
      foldersOf(EFI_BOOT_DIR).forEach((f) => volume.folders.add(f));
    }
    if (menu) {
      foldersOf('/boot/grub').forEach((f) => volume.folders.add(f));
      volume.needs.push({ what: '/boot/grub/grub.cfg', bytes: volume.unitBytes });
    }
    bootloader = { kind: 'grub2', volume, ...(menu ? { menu } : {}), firmware, bios, efi, coreModules };
  } else if (b?.grubLegacy) {
    const volume = bootVolume!;
    if (table === 'gpt') throw fieldError('VALIDATION', 'table', 'GRUB legacy does not know GPT partitions: use "mbr", or grub2');
    const stageDir = b.grubLegacy.stageDir !== undefined ? hostPath(baseDir, b.grubLegacy.stageDir) : undefined;
    const prepared = await at(stageDir !== undefined ? `${bootField}.stageDir` : bootField, () => prepareGrubLegacy(stageDir));
    if (blockListCapacity(prepared.stage2.subarray(0, SECTOR_BYTES)) < 1)
      throw fieldError('VALIDATION', bootField, `${prepared.files.stage2} has no room for a block list`);
    foldersOf('/boot/grub').forEach((f) => volume.folders.add(f));
    volume.needs.push(
      { what: 'stage1', bytes: allocated(volume, prepared.stage1.length) },
      { what: 'stage2', bytes: allocated(volume, prepared.stage2.length) },
    );
    if (menu) volume.needs.push({ what: '/boot/grub/menu.lst', bytes: volume.unitBytes });
    bootloader = { kind: 'grub-legacy', volume, ...(menu ? { menu } : {}), prepared };
  } else if (b?.bootSector) {
    const file = await recipeSource(baseDir, b.bootSector.file, roots, `${bootField}.file`);
    const stats = await statOrNull(file);
    if (!stats?.isFile()) throw fieldError('NOT_FOUND', `${bootField}.file`, `${file} does not exist`, { path: file });
    if (stats.size === 0 || stats.size % SECTOR_BYTES !== 0) {
      throw fieldError(
        'VALIDATION',
        `${bootField}.file`,
        `${file} is ${stats.size} bytes: a boot sector (or a longer first stage) is a whole number of 512-byte sectors`,
      );
    }
    const first = new Uint8Array(SECTOR_BYTES);
    const handle = await fs.open(file, 'r');
    try {
      await handle.read(first, 0, SECTOR_BYTES, 0);
    } finally {
      await handle.close();
    }
    if (!hasBootSignature(first) && !b.bootSector.force) {
      throw fieldError(
        'VALIDATION',
        `${bootField}.file`,
        `${file} does not end its first sector with 55 AA, so the BIOS will not boot it (set "force": true to install it anyway)`,
      );
    }
    bootloader = {
      kind: 'boot-sector',
      partition: b.bootSector.partition ?? null,
      file,
      overwriteBpb: b.bootSector.overwriteBpb ?? false,
      overwriteTable: b.bootSector.overwriteTable ?? false,
      force: b.bootSector.force ?? false,
    };
  }

  // Space: the files, the folders they need, the boot loader's files.
  for (const volume of volumes) {
    const folders = [...volume.folders].filter((f) => f !== '/').length;
    const needed = volume.needs.reduce((sum, n) => sum + n.bytes, 0) + folders * volume.unitBytes;
    if (needed > volume.capacityBytes) {
      const biggest = volume.needs
        .filter((n) => n.bytes > 0)
        .sort((x, y) => y.bytes - x.bytes)
        .slice(0, 3)
        .map((n) => `${n.what} ${formatBytes(n.bytes)}`);
      throw fieldError(
        'VALIDATION',
        volume.sizeField,
        `${volume.partition === null ? 'the image' : `partition ${volume.partition}`} (${formatBytes(volume.sizeBytes)}, ${volume.fs.type.toUpperCase()}) holds ${formatBytes(volume.capacityBytes)} of files, but what goes into it needs at least ${formatBytes(needed)} (largest: ${biggest.join(', ')}); make it larger or copy less`,
        { neededBytes: needed, capacityBytes: volume.capacityBytes },
      );
    }
  }
  return { recipe, recipePath, baseDir, shape, table, partitionSteps: steps, disk, volumes, copies, bootloader, sourceRoots: roots };
}

/** Loads and plans a recipe file: everything `build` checks, without writing. */
/**
 * Writes a recipe file, checked by the schema first (nothing is written when it is not valid).
 * Host paths (files[].from, a boot sector's file) inside the recipe's folder are made relative to
 * it, so the folder can move as a whole. Never replaces an existing file unless `force`; the file
 * appears whole (written beside it, then renamed).
 */
export async function saveRecipe(path: string, document: unknown, options: { force?: boolean } = {}): Promise<{ path: string }> {
  const recipePath = resolve(path);
  const recipe = parseRecipe(document);
  const baseDir = dirname(recipePath);
  const portable = (from: string) => {
    if (!isAbsolute(from)) return from;
    const rel = relative(baseDir, from);
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : from;
  };
  const out: Recipe = {
    ...recipe,
    ...(recipe.files ? { files: recipe.files.map((f) => ({ ...f, from: portable(f.from) })) } : {}),
    ...(recipe.bootloader?.bootSector
      ? {
          bootloader: {
            ...recipe.bootloader,
            bootSector: { ...recipe.bootloader.bootSector, file: portable(recipe.bootloader.bootSector.file) },
          },
        }
      : {}),
  };
  const existing = await fs.lstat(recipePath).catch(() => null);
  if (existing && !options.force)
    throw new LoopbackError('ALREADY_EXISTS', `${recipePath} already exists; not replacing it (choose another name, or pass force)`, {
      path: recipePath,
    });
  if (existing && !existing.isFile())
    throw new LoopbackError('INVALID_INPUT', `${recipePath} is not a regular file: refusing to replace it`, { path: recipePath });
  const temp = join(baseDir, `.${basename(recipePath)}.saving-${process.pid}-${Date.now()}`);
  try {
    await fs.writeFile(temp, `${JSON.stringify(out, null, 2)}\n`, { flag: 'wx' });
    // Without force, link() refuses a file that appeared since the check; rename() would replace it.
    if (options.force) await fs.rename(temp, recipePath);
    else await fs.link(temp, recipePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new LoopbackError('ALREADY_EXISTS', `${recipePath} already exists; not replacing it`, { path: recipePath });
    throw new LoopbackError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'IO',
      `${recipePath}: ${code === 'ENOENT' ? 'its folder does not exist' : (error as Error).message}`,
      { path: recipePath },
    );
  } finally {
    await fs.rm(temp, { force: true });
  }
  return { path: recipePath };
}

export async function validateRecipeFile(path: string, options: { allowOutside?: readonly string[] } = {}): Promise<RecipePlan> {
  const { recipe, recipePath } = await loadRecipe(path);
  return planRecipe(recipe, recipePath, options);
}

export function summarizePlan(plan: RecipePlan): RecipeSummary {
  return {
    recipe: plan.recipePath,
    sizeBytes: plan.shape.sizeBytes,
    floppy: plan.shape.floppy,
    table: plan.table,
    volumes: plan.volumes.map((v) => ({
      partition: v.partition,
      fs: v.fs.type,
      label: v.fs.label ?? null,
      startSector: v.startSector,
      sizeBytes: v.sizeBytes,
      capacityBytes: v.capacityBytes,
      neededBytes: v.needs.reduce((sum, n) => sum + n.bytes, 0),
    })),
    files: plan.iso ? plan.iso.fileCount : plan.copies.length,
    fileBytes: plan.iso ? plan.iso.fileBytes : plan.copies.reduce((sum, c) => sum + c.bytes, 0),
    bootloader: plan.iso ? (plan.iso.boot?.kind ?? null) : (plan.bootloader?.kind ?? null),
    ...(plan.iso ? { iso: summarizeIso(plan.iso) } : {}),
  };
}

export interface BuildOptions extends ProgressOptions {
  /** Default: the recipe's name with .img, beside it. */
  output?: string;
  /** Replace an existing output image. */
  force?: boolean;
  /** Host folders the recipe may read files from besides its own (see sourceRoots). */
  allowOutside?: readonly string[];
}

/** The boot loader request the plan describes, for an image at `image`. */
export function bootloaderRequest(plan: RecipePlan, image: string): BootloaderRequest | null {
  const b = plan.bootloader;
  if (!b) return null;
  if (b.kind === 'boot-sector') {
    return {
      loader: 'boot-sector',
      image,
      ...(b.partition !== null ? { partition: b.partition } : {}),
      file: b.file,
      overwriteBpb: b.overwriteBpb,
      overwriteTable: b.overwriteTable,
      force: b.force,
    };
  }
  const base = { image, ...(b.volume.partition !== null ? { partition: b.volume.partition } : {}), ...(b.menu ? { menu: b.menu } : {}) };
  if (b.kind === 'grub2')
    return {
      loader: 'grub2',
      ...base,
      ...(b.coreModules.length ? { coreModules: b.coreModules } : {}),
      ...(b.firmware !== 'bios' ? { firmware: b.firmware } : {}),
    };
  return { loader: 'grub-legacy', ...base, stageDir: b.prepared.files.dir };
}

/** Builds the image a recipe describes. See the file comment for what is checked first. */
export async function buildRecipe(path: string, options: BuildOptions = {}): Promise<BuildResult> {
  const started = Date.now();
  const { recipe, recipePath } = await loadRecipe(path);
  const plan = await planRecipe(recipe, recipePath, options.allowOutside ? { allowOutside: options.allowOutside } : {});
  const output = resolve(options.output ?? defaultOutputFor(recipe, recipePath));
  const existing = await fs.lstat(output).catch(() => null);
  if (existing && !options.force) {
    throw new LoopbackError(
      'ALREADY_EXISTS',
      `${output} already exists; pass --force to replace it (it is replaced only when the build succeeds)`,
      { path: output },
    );
  }
  if (existing && !existing.isFile())
    throw new LoopbackError('INVALID_INPUT', `${output} is not a regular file: refusing to replace it`, { path: output });
  // A mounted or attached image stays the user's: checked before the build and again before the
  // new image takes its name (a mount made meanwhile would be left on the old, deleted file).
  if (existing) await requireImageNotHeld(output, existing.size, 'replace it with a new build');

  const temp = join(dirname(output), `.${basename(output)}.building-${process.pid}-${Date.now()}`);
  if (plan.iso) return buildIso(plan, plan.iso, output, temp, existing, started, options);
  const steps: BuildResult['steps'] = [];
  const totalSteps = 1 + (plan.table ? 1 : 0) + plan.volumes.length + plan.copies.length + (plan.bootloader ? 1 : 0);
  let stepsDone = 0;
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    if (options.signal?.aborted)
      throw new LoopbackError('CANCELLED', `build of ${output} cancelled before "${name}"; no image was written`);
    // Steps are counted as items: they are not bytes.
    options.onProgress?.({ phase: name, bytesDone: 0, bytesTotal: 0, itemsDone: stepsDone, itemsTotal: totalSteps });
    const t = Date.now();
    const result = await work();
    steps.push({ step: name, ms: Date.now() - t });
    stepsDone++;
    return result;
  };
  let bootloaderResult: BootloaderResult | null = null;
  const skipped: NonNullable<BuildResult['skipped']> = [];
  try {
    await step(`create ${formatBytes(plan.shape.sizeBytes)} image`, () =>
      createImage({ path: temp, shape: imageShapeRequest(recipe).request, force: true }),
    );
    if (plan.table)
      await step(`partition (${plan.table.toUpperCase()})`, () =>
        partitionImage(temp, { table: plan.table!, fresh: true, steps: plan.partitionSteps }),
      );
    for (const volume of plan.volumes) {
      const ref = { image: temp, ...(volume.partition !== null ? { partition: volume.partition } : {}) };
      await step(`format ${volume.partition === null ? 'the image' : `partition ${volume.partition}`} as ${volume.fs.type}`, () =>
        formatVolume(ref, {
          fs: volume.fs.type,
          ...(volume.fs.label !== undefined ? { label: volume.fs.label } : {}),
          ...(volume.fs.clusterSize !== undefined ? { clusterBytes: volume.fs.clusterSize } : {}),
          ...(volume.fs.blockSize !== undefined ? { blockBytes: volume.fs.blockSize } : {}),
          // A type the recipe names is kept (the recipe is the user's table); without one, the type follows the filesystem.
          partitionType: volume.partition !== null && recipe.partitions?.[volume.partition - 1]?.type !== undefined ? 'keep' : 'match',
        }),
      );
    }
    for (const copy of plan.copies) {
      const ref = { image: temp, ...(copy.volume.partition !== null ? { partition: copy.volume.partition } : {}) };
      await step(`copy ${copy.to}`, async () => {
        if (copy.folder) {
          await makeFolder(ref, copy.to, true);
          const children = (await fs.readdir(copy.from)).sort().map((name) => join(copy.from, name));
          if (children.length)
            skipped.push(...((await putFiles(ref, children, copy.to, { followLinksWithin: plan.sourceRoots })).skipped ?? []));
        } else {
          if (parentPath(copy.to) !== '/') await makeFolder(ref, parentPath(copy.to), true);
          skipped.push(...((await putFiles(ref, [copy.from], copy.to, { followLinksWithin: plan.sourceRoots })).skipped ?? []));
        }
      });
    }
    const request = bootloaderRequest(plan, temp);
    if (request) bootloaderResult = await step(`install ${request.loader}`, () => installBootloader(request));
    await replaceImageWith(temp, output);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  if (bootloaderResult) bootloaderResult = { ...bootloaderResult, image: output };
  return {
    ...summarizePlan(plan),
    image: output,
    bootloaderResult,
    steps,
    totalMs: Date.now() - started,
    ...(skipped.length ? { skipped } : {}),
  };
}

/** The ISO half of buildRecipe: the plan is made; write it beside the output, then rename. */
async function buildIso(
  plan: RecipePlan,
  iso: IsoRecipePlan,
  output: string,
  temp: string,
  existing: Stats | null,
  started: number,
  options: BuildOptions,
): Promise<BuildResult> {
  const planned = Date.now();
  if (options.signal?.aborted) throw new LoopbackError('CANCELLED', `build of ${output} cancelled before writing; no image was written`);
  try {
    await writeIsoRecipe(iso, temp, {
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await replaceImageWith(temp, output);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  const steps = [
    { step: `plan the ISO image${iso.boot?.kind === 'grub2' ? ' (GRUB 2: grub-mkimage, the EFI partition)' : ''}`, ms: planned - started },
    { step: `write ${formatBytes(iso.imageBytes)} ISO 9660 image`, ms: Date.now() - planned },
  ];
  return {
    ...summarizePlan(plan),
    image: output,
    bootloaderResult: null,
    steps,
    totalMs: Date.now() - started,
    ...(iso.skipped.length ? { skipped: iso.skipped } : {}),
  };
}

export type { BuildResult, RecipeSummary };
