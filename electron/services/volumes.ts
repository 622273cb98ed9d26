/**
 * Volumes: the byte range a filesystem lives in (a partition, or a whole floppy) and the
 * filesystem found there. Every file command (format, ls, put, get, mkdir, rm) starts here, so
 * "which partition?" and "is there a filesystem?" get the same answers and the same errors.
 */
import { SubBlockDevice, type BlockDevice } from '../../shared/disk/block-device';
import { describeDisk, type DiskInfo, type PartitionInfo } from '../../shared/disk/disk-info';
import { editPartitions } from '../../shared/disk/partition-edits';
import { formatBytes } from '../../shared/disk/sizes';
import { LoopbackError } from '../../shared/errors';
import { formatExt2, detectExt2, openExt2, readExt2Usage } from '../../shared/fs/ext2/index';
import { detectFat, formatFat, openFat, type FatType } from '../../shared/fs/fat/index';
import type { FileSystem, FsType, FsUsage, ProgressOptions } from '../../shared/fs/types';
import { withImage, type FileBlockDevice } from './file-block-device';
import { IsoFileSystem, isIsoDevice } from './iso-files';
import type { ByteRange } from './write-guard';

/** An image and, for a partitioned one, the partition number (`-p N`). */
export interface VolumeRef {
  image: string;
  partition?: number;
}

export interface VolumeWindow {
  disk: DiskInfo;
  /** null for a whole-image volume (a floppy, or a "superfloppy" without a table). */
  partition: PartitionInfo | null;
  device: BlockDevice;
}

function partitionList(disk: DiskInfo): string {
  return disk.partitions.map((p) => `${p.index}: ${p.typeName}, ${formatBytes(p.sizeBytes)}`).join('; ');
}

/**
 * Where the volume is: the whole image, or partition N. Refuses what cannot hold a filesystem.
 * On an image opened for writing, the volume's bytes are declared to the write guard here, so a
 * volume that is mounted or attached read-write is refused before anything is written.
 */
export async function volumeWindow(image: FileBlockDevice, ref: VolumeRef): Promise<VolumeWindow> {
  const window = await findVolume(image, ref);
  image.declareWrites(
    [{ offsetBytes: window.partition?.offsetBytes ?? 0, sizeBytes: window.device.sizeBytes }],
    `write to ${describeVolume(ref)}`,
  );
  return window;
}

/**
 * The bytes of the partition table that describe `partition`: where a type change is written
 * (the MBR or the logical partition's EBR; GPT's primary and backup headers and entries).
 */
export function tableRanges(disk: DiskInfo, partition: PartitionInfo): ByteRange[] {
  if (disk.table === 'gpt')
    return [
      { offsetBytes: 0, sizeBytes: 34 * 512 },
      { offsetBytes: (disk.totalSectors - 33) * 512, sizeBytes: 33 * 512 },
    ];
  return [{ offsetBytes: (partition.ebrSector ?? 0) * 512, sizeBytes: 512 }];
}

/** Where the volume is, without declaring any write (volumeWindow's first half; mounted-files.ts reads it). */
export async function findVolume(image: FileBlockDevice, ref: VolumeRef): Promise<VolumeWindow> {
  const disk = await describeDisk(image);
  // An ISO image is one volume, whatever its hybrid MBR says (its partition 1 starts at sector 1).
  if (await isIsoDevice(image)) {
    if (ref.partition !== undefined) {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${ref.image} is an ISO 9660 image: its files are read without -p (its MBR, if any, is the hybrid one: partition 1 is the ISO itself, partition 2 its EFI system partition)`,
        { image: ref.image, iso9660: true },
      );
    }
    return { disk, partition: null, device: image };
  }
  if (ref.partition === undefined) {
    if (disk.table !== 'none') {
      throw new LoopbackError(
        'INVALID_INPUT',
        `${ref.image} has ${disk.table.toUpperCase()} partitions; say which with -p N (${partitionList(disk) || 'none yet'})`,
        { image: ref.image },
      );
    }
    return { disk, partition: null, device: image };
  }
  const partition = disk.partitions.find((p) => p.index === ref.partition);
  if (!partition) {
    const list = partitionList(disk);
    throw new LoopbackError(
      'NOT_FOUND',
      `${ref.image} has no partition ${ref.partition} (${list ? `partitions: ${list}` : 'it has no partition table'})`,
      {
        image: ref.image,
        partition: ref.partition,
      },
    );
  }
  if (partition.kind === 'extended') {
    throw new LoopbackError(
      'INVALID_INPUT',
      `Partition ${partition.index} of ${ref.image} is the extended partition: it holds logical partitions (5, 6 …), not a filesystem`,
      {
        image: ref.image,
        partition: partition.index,
      },
    );
  }
  return { disk, partition, device: new SubBlockDevice(image, partition.offsetBytes, partition.sizeBytes) };
}

/** The filesystem on a device, by its own signature (FAT by cluster count, ext2 by magic). */
export async function detectFileSystem(device: BlockDevice): Promise<FsType | null> {
  if (device.sizeBytes >= 2048 && detectExt2(await device.read(1024, 1024))) return 'ext2';
  if (device.sizeBytes >= 512) return detectFat(await device.read(0, 512));
  return null;
}

export function describeVolume(ref: VolumeRef): string {
  return ref.partition === undefined ? ref.image : `partition ${ref.partition} of ${ref.image}`;
}

export async function openFileSystem(device: BlockDevice, ref: VolumeRef): Promise<FileSystem & { close?: () => Promise<void> }> {
  if (await isIsoDevice(device)) return IsoFileSystem.open(device, ref.image);
  const type = await detectFileSystem(device);
  if (type === 'ext2') return openExt2(device);
  if (type) return openFat(device);
  throw new LoopbackError(
    'NOT_FOUND',
    `${describeVolume(ref)} has no filesystem Loopback Studio knows (FAT12/16/32, ext2); format it first`,
    {
      image: ref.image,
      partition: ref.partition,
    },
  );
}

/**
 * A CORRUPT error from a filesystem reader, which names the path inside the volume, named with
 * the volume too ("partition 2 of disk.img: …"); other errors as they are.
 */
export function inVolume(ref: VolumeRef, error: unknown): unknown {
  if (!(error instanceof LoopbackError) || error.code !== 'CORRUPT') return error;
  const volume = describeVolume(ref);
  if (error.message.startsWith(`${volume}: `)) return error;
  return new LoopbackError('CORRUPT', `${volume}: ${error.message}`, {
    ...error.details,
    image: ref.image,
    ...(ref.partition !== undefined ? { partition: ref.partition } : {}),
  });
}

/** Opens the image and the filesystem of the volume, runs `work`, then writes everything out. */
export async function withFileSystem<T>(
  ref: VolumeRef,
  writable: boolean,
  work: (fs: FileSystem, window: VolumeWindow) => Promise<T>,
): Promise<T> {
  return withImage(ref.image, writable, async (image) => {
    const window = await volumeWindow(image, ref);
    const fs = await openFileSystem(window.device, ref);
    try {
      const result = await work(fs, window);
      if (writable) await fs.flush();
      return result;
    } catch (error) {
      // A cancelled job keeps what it finished (see FileSystem.checkpoint): make that durable too.
      if (writable && error instanceof LoopbackError && error.code === 'CANCELLED') await fs.flush();
      throw error;
    } finally {
      await fs.close?.();
    }
  }).catch((error: unknown) => {
    throw inVolume(ref, error);
  });
}

/** The filesystem's usage, or null when the volume has none. Never throws for "no filesystem". */
export async function usageOf(device: BlockDevice): Promise<FsUsage | null> {
  const type = await detectFileSystem(device);
  if (type === 'ext2') return readExt2Usage(device);
  if (type) return (await openFat(device)).usage();
  return null;
}

/**
 * What format does with the partition's type: 'keep' it as the table has it — the table is the
 * user's; `loopstudio format` — and warn when it does not say what the filesystem is (an empty type
 * is still set); or 'match': set the type that says it when the type does not already (FAT32 on
 * 0b or 0c keeps its type either way) — the app, a recipe partition without a type, `format --set-type`.
 */
export type PartitionTypePolicy = 'keep' | 'match';

export interface FormatRequest extends ProgressOptions {
  fs: FsType;
  label?: string;
  /** FAT: the cluster size. */
  clusterBytes?: number;
  /** ext2: 1024 or 4096. */
  blockBytes?: 1024 | 4096;
  /** Default 'match' (see PartitionTypePolicy); the CLI asks for 'keep'. */
  partitionType?: PartitionTypePolicy;
}

export interface FormatResult {
  volume: string;
  fs: FsType;
  usage: FsUsage;
  /** The partition type set to match the filesystem, when it changed. */
  partitionType: { from: string; to: string } | null;
  /** A kept partition type that does not say what the filesystem is, and how to change it. */
  warnings: string[];
}

/**
 * The MBR type id that says what a FAT volume is (the ids DOS and Windows use: 0x01 FAT12;
 * 0x04 FAT16 under 32 MiB, 0x06 above; 0x0E/0x0C when the partition reaches past what CHS can
 * address, so the BIOS must use LBA; 0x0B FAT32 within CHS).
 */
export function mbrTypeForFat(fat: FatType, partition: PartitionInfo): number {
  const beyondChs = partition.endSector >= 1024 * 255 * 63;
  if (fat === 'fat12') return 0x01;
  if (fat === 'fat16') return beyondChs ? 0x0e : partition.sizeBytes < 32 * 1024 * 1024 ? 0x04 : 0x06;
  return beyondChs ? 0x0c : 0x0b;
}

function wantedType(fs: FsType, disk: DiskInfo, partition: PartitionInfo): string | null {
  if (disk.table === 'mbr') {
    return (fs === 'ext2' ? 0x83 : mbrTypeForFat(fs, partition)).toString(16).padStart(2, '0');
  }
  // GPT: keep an EFI System partition's type (it is FAT by definition); otherwise name the data.
  if (partition.typeName === 'EFI System') return null;
  return fs === 'ext2' ? 'linux' : 'msdata';
}

/** MBR ids that say FAT of each width (their hidden twins, 0x1?, too), and 0xEF, an EFI System partition (FAT). */
const MBR_FAT_TYPES: Record<Exclude<FsType, 'ext2'>, readonly string[]> = {
  fat12: ['01', '11', 'ef'],
  fat16: ['04', '06', '0e', '14', '16', '1e', 'ef'],
  fat32: ['0b', '0c', '1b', '1c', 'ef'],
};
/** The ids that tell the BIOS to use CHS, which reaches the first 1024 × 255 × 63 sectors only. */
const MBR_CHS_TYPES = ['04', '06', '0b', '14', '16', '1b'];

/** Why the partition's type does not say what `fs` is, or null when it does. */
export function partitionTypeMismatch(fs: FsType, disk: DiskInfo, partition: PartitionInfo): string | null {
  const name = `${partition.typeName} (${disk.table === 'gpt' ? (partition.sgdiskCode ?? partition.type) : partition.type})`;
  if (disk.table === 'gpt') {
    const code = partition.sgdiskCode ?? '';
    const fits = fs === 'ext2' ? code.startsWith('83') : code === '0700' || code === 'EF00' || code === 'ef00';
    return fits ? null : `its type is ${name}, which does not say ${fs.toUpperCase()}`;
  }
  if (fs === 'ext2') return partition.type === '83' ? null : `its type is ${name}, which does not say Linux (83)`;
  if (!MBR_FAT_TYPES[fs].includes(partition.type)) return `its type is ${name}, which does not say ${fs.toUpperCase()}`;
  if (MBR_CHS_TYPES.includes(partition.type) && partition.endSector >= 1024 * 255 * 63) {
    return `its type is ${name}, a CHS type, but it ends past what CHS can address (sector ${1024 * 255 * 63}): firmware that goes by the type cannot reach all of it`;
  }
  return null;
}

/** Sets a partition's type to say what filesystem it holds; returns the change, or null. */
async function alignPartitionType(
  image: BlockDevice,
  disk: DiskInfo,
  partition: PartitionInfo,
  fs: FsType,
): Promise<FormatResult['partitionType']> {
  const to = wantedType(fs, disk, partition);
  if (to === null) return null;
  const same = disk.table === 'mbr' ? to === partition.type : (to === 'linux' ? '8300' : '0700') === partition.sgdiskCode;
  if (same) return null;
  await editPartitions(image, { steps: [{ op: 'set', number: String(partition.index), settings: `type=${to}` }] });
  return { from: disk.table === 'mbr' ? partition.type : (partition.sgdiskCode ?? partition.type), to };
}

/**
 * The partition's type after a format (PartitionTypePolicy): set when asked for ('match') or when
 * empty; else kept, with a warning that says how to change it when it does not match.
 */
async function settleType(
  image: BlockDevice,
  ref: VolumeRef,
  disk: DiskInfo,
  partition: PartitionInfo,
  fs: FsType,
  policy: PartitionTypePolicy,
): Promise<Pick<FormatResult, 'partitionType' | 'warnings'>> {
  const empty = disk.table === 'mbr' ? partition.type === '00' : /^0{8}-/.test(partition.type);
  const mismatch = empty ? 'it has no type' : partitionTypeMismatch(fs, disk, partition);
  if (!mismatch) return { partitionType: null, warnings: [] };
  if (policy === 'match' || empty) return { partitionType: await alignPartitionType(image, disk, partition, fs), warnings: [] };
  const to = wantedType(fs, disk, partition);
  const how = to
    ? `loopstudio partition ${ref.image} --set ${partition.index} type=${to}, or format with --set-type`
    : 'set it with loopstudio partition';
  return {
    partitionType: null,
    warnings: [
      `partition ${partition.index} was formatted ${fs.toUpperCase()}, but ${mismatch}. The type was kept (the table is yours); DOS, Windows and some firmware go by it. To change it: ${how}`,
    ],
  };
}

/**
 * After a host tool formatted a partition (the loop engine's mkfs): the type kept and checked, or
 * matched, as the rootless format does.
 */
export async function settlePartitionType(
  ref: VolumeRef,
  fs: FsType,
  policy: PartitionTypePolicy = 'match',
): Promise<Pick<FormatResult, 'partitionType' | 'warnings'>> {
  if (ref.partition === undefined) return { partitionType: null, warnings: [] };
  return withImage(ref.image, true, async (image) => {
    const { disk, partition } = await findVolume(image, ref);
    if (!partition) return { partitionType: null, warnings: [] };
    image.declareWrites(tableRanges(disk, partition), `set the type of ${describeVolume(ref)}`);
    return settleType(image, ref, disk, partition, fs, policy);
  });
}

/** Formats a volume: validated by the formatter before it writes; then the partition type is kept (and checked) or set (PartitionTypePolicy). */
export async function formatVolume(ref: VolumeRef, request: FormatRequest): Promise<FormatResult> {
  return withImage(ref.image, true, async (image) => {
    const window = await volumeWindow(image, ref);
    const { disk, partition, device } = window;
    // The partition type may follow the filesystem afterwards: its table bytes must be free too.
    if (partition) image.declareWrites(tableRanges(disk, partition), `set the type of ${describeVolume(ref)}`);
    const progress = {
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    };
    if (request.fs === 'ext2') {
      if (request.clusterBytes !== undefined)
        throw new LoopbackError('INVALID_INPUT', '--cluster-size is for FAT; ext2 takes --block-size 1024|4096');
      await formatExt2(device, {
        ...(request.label !== undefined ? { label: request.label } : {}),
        ...(request.blockBytes ? { blockBytes: request.blockBytes } : {}),
        ...progress,
      });
    } else {
      if (request.blockBytes !== undefined)
        throw new LoopbackError('INVALID_INPUT', '--block-size is for ext2; FAT takes --cluster-size BYTES');
      await formatFat(device, {
        type: request.fs,
        ...(request.label !== undefined ? { label: request.label } : {}),
        ...(request.clusterBytes !== undefined ? { clusterBytes: request.clusterBytes } : {}),
        geometry: { heads: disk.geometry.heads, sectorsPerTrack: disk.geometry.sectorsPerTrack },
        hiddenSectors: partition?.startSector ?? 0,
        media: partition === null && disk.floppy ? 'floppy' : 'disk',
        ...progress,
      });
    }
    const type = partition
      ? await settleType(image, ref, disk, partition, request.fs, request.partitionType ?? 'match')
      : { partitionType: null, warnings: [] };
    const usage = await usageOf(device);
    if (!usage) throw new LoopbackError('INTERNAL', `formatted ${describeVolume(ref)} but cannot read the new filesystem back`);
    return { volume: describeVolume(ref), fs: request.fs, usage, ...type };
  });
}
