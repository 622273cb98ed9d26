/**
 * Formatting a FAT12/16/32 volume: choosing its parameters (planFatFormat, pure: it refuses a
 * bad request before anything is written) and writing its metadata (formatFat).
 *
 * Only metadata is written — reserved sectors (boot sector; on FAT32 also FSInfo, the backup
 * boot sector and its FSInfo copy), the FATs and the root directory — never the data area, so a
 * sparse image stays sparse and a 4 GiB FAT32 formats in milliseconds, as with mkfs.fat.
 *
 * Defaults follow mkfs.fat (dosfstools 4.2, measured on sparse images): FAT32 from 512 MiB up,
 * else FAT12 when 2 KiB clusters give no more than 4084 of them, else FAT16; FAT12/16 start at
 * 2 KiB clusters and double until the count fits; FAT32 uses Microsoft's table (512 bytes up to
 * 260 MiB, 4 KiB up to 8 GiB, 8 KiB to 16 GiB, 16 KiB to 32 GiB, 32 KiB above). Floppy images
 * get their format's BPB exactly as `mkfs.fat -C IMG 1440` writes it. Unlike mkfs.fat, the
 * reserved area is not padded for alignment (1 sector on FAT12/16, 32 on FAT32), and the type
 * always agrees with the cluster count (FAT spec: FAT12 < 4085 ≤ FAT16 < 65525 ≤ FAT32).
 */
import type { BlockDevice } from '../../disk/block-device';
import {
  checkTrackGeometry,
  floppyPresetForSize,
  LARGE_DISK_TRACK_GEOMETRY,
  type FloppyPreset,
  type TrackGeometry,
} from '../../disk/geometry';
import { formatBytes, SECTOR_BYTES } from '../../disk/sizes';
import { LoopbackError } from '../../errors';
import type { ProgressOptions } from '../types';
import { bootJump, notBootableStub } from './boot-code';
import {
  BOOT_SIGNATURE,
  bootCodeOffset,
  encodeBootSector,
  EXTENDED_BOOT_SIGNATURE,
  formatVolumeId,
  NO_NAME_LABEL,
  type FatBootSector,
} from './boot-sector';
import { ATTR_VOLUME_ID, encodeShortEntry } from './dir-entry';
import { toDosTimestamp } from './dos-time';
import { encodeFsInfo } from './fsinfo';
import {
  DIR_ENTRY_BYTES,
  fatTypeName,
  FIRST_DATA_CLUSTER,
  layoutFromBootSector,
  MAX_CLUSTERS,
  MIN_CLUSTERS,
  rootDirSectorCount,
  sizeFat,
  type FatLayout,
  type FatType,
} from './layout';
import { labelBytes, normalizeVolumeLabel } from './names';

export interface FatFormatOptions extends ProgressOptions {
  /** Default: chosen by size, as mkfs.fat does. */
  type?: FatType;
  /** Up to 11 characters; stored upper-case, in the boot sector and as the root's label entry. */
  label?: string;
  /** BS_VolID; random (crypto.getRandomValues) unless given. */
  volumeId?: number;
  /** Cluster size: a power of two from 512 bytes to 64 KiB (above 32 KiB not every system reads it). */
  clusterBytes?: number;
  /** BPB_NumHeads / BPB_SecPerTrk. Default: the floppy format's, else 255 heads × 63 sectors. */
  geometry?: TrackGeometry;
  /** BPB_HiddSec: the partition's start LBA (0 for a floppy or a whole-disk volume). */
  hiddenSectors?: number;
  /** Default: 'floppy' when the device is exactly a floppy format's size (and not a partition), else 'disk'. */
  media?: 'floppy' | 'disk';
}

export interface FatFormatPlan {
  bootSector: FatBootSector;
  layout: FatLayout;
  /** The label as stored (upper case), or null. */
  label: string | null;
  /** The floppy format whose BPB was used, if any. */
  floppy: FloppyPreset | null;
}

export interface FatFormatResult {
  type: FatType;
  /** BS_VolID as DOS shows it ("ABCD-1234"). */
  volumeId: string;
  label: string | null;
  clusterBytes: number;
  clusterCount: number;
  totalSectors: number;
  fatSectors: number;
  reservedSectors: number;
  rootEntryCount: number;
  /** Bytes the data area holds (clusters × cluster size). */
  dataBytes: number;
  /** Bytes of metadata written. */
  metadataBytes: number;
}

/** FAT spec: reserved sectors are 1 on FAT12/16 ("should not be anything but 1") and 32 on FAT32 (typical). */
const RESERVED_SECTORS: Record<FatType, number> = { fat12: 1, fat16: 1, fat32: 32 };
const NUM_FATS = 2;
/** Root directory entries on hard disks (FAT spec: "for maximum compatibility, FAT16 volumes should use 512"). */
const DISK_ROOT_ENTRIES = 512;
/** FAT32 layout (FAT spec: BPB_FSInfo "usually 1", BPB_BkBootSec "recommended 6"). */
const FSINFO_SECTOR = 1;
const BACKUP_BOOT_SECTOR = 6;
const FAT32_ROOT_CLUSTER = FIRST_DATA_CLUSTER;
/** BS_DrvNum: 0x00 for floppies, 0x80 for hard disks (FAT spec). */
const FLOPPY_DRIVE = 0x00;
const HARD_DISK_DRIVE = 0x80;
/** BPB_Media for fixed (non-removable) media; floppies take their format's byte. */
const HARD_DISK_MEDIA = 0xf8;
/** mkfs.fat's default for FAT12/16: 4 sectors (2 KiB) per cluster, doubled until the count fits. */
const DEFAULT_FAT1216_SECTORS_PER_CLUSTER = 4;
/** Defaults never go above 32 KiB clusters (FAT spec: larger ones are not supported everywhere). */
const DEFAULT_MAX_SECTORS_PER_CLUSTER = 64;
const MAX_CLUSTER_BYTES = 65536;
/** A floppy whose size is no standard format (media 'floppy'): 3.5" high-density values. */
const FLOPPY_ROOT_ENTRIES = 224;
const FLOPPY_MEDIA = 0xf0;
const FLOPPY_GEOMETRY: TrackGeometry = { heads: 2, sectorsPerTrack: 18 };
const FAT32_FROM_BYTES = 512 * 1024 * 1024;
const MIB = 1024 * 1024;
const OEM_NAME = 'LOOPSTDO';
const FAT_WRITE_CHUNK_BYTES = 1024 * 1024;

/** "512-byte", "2 KiB": a cluster size inside a sentence. */
function clusterSize(bytes: number): string {
  return bytes < 1024 ? `${bytes}-byte` : formatBytes(bytes);
}

function invalid(message: string, details: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

/** Microsoft's FAT32 cluster sizes by volume size, as mkfs.fat applies them (in sectors). */
function defaultFat32SectorsPerCluster(sizeBytes: number): number {
  const mib = Math.floor(sizeBytes / MIB);
  if (mib > 32 * 1024) return 64;
  if (mib > 16 * 1024) return 32;
  if (mib > 8 * 1024) return 16;
  if (mib > 260) return 8;
  return 1;
}

interface Shape {
  type: FatType;
  sectorsPerCluster: number;
  reservedSectors: number;
  rootEntryCount: number;
  fatSectors: number;
  clusterCount: number;
}

function shapeFor(type: FatType, totalSectors: number, sectorsPerCluster: number, rootEntries: number): Shape {
  const reservedSectors = RESERVED_SECTORS[type];
  const rootEntryCount = type === 'fat32' ? 0 : rootEntries;
  const afterReserved = totalSectors - reservedSectors - rootDirSectorCount(rootEntryCount, SECTOR_BYTES);
  const { fatSectors, clusterCount } =
    afterReserved > NUM_FATS ? sizeFat(type, afterReserved, sectorsPerCluster, NUM_FATS, SECTOR_BYTES) : { fatSectors: 1, clusterCount: 0 };
  return { type, sectorsPerCluster, reservedSectors, rootEntryCount, fatSectors, clusterCount };
}

function fits(shape: Shape): boolean {
  return shape.clusterCount >= MIN_CLUSTERS[shape.type] && shape.clusterCount <= MAX_CLUSTERS[shape.type];
}

/** The default cluster size for `type`: mkfs.fat's start value, doubled (FAT12/16) until the count fits. */
function defaultShape(type: FatType, totalSectors: number, rootEntries: number, floppy: FloppyPreset | null): Shape {
  if (floppy && type === 'fat12') return shapeFor(type, totalSectors, floppy.sectorsPerCluster, rootEntries);
  if (type === 'fat32') return shapeFor(type, totalSectors, defaultFat32SectorsPerCluster(totalSectors * SECTOR_BYTES), rootEntries);
  let shape = shapeFor(type, totalSectors, DEFAULT_FAT1216_SECTORS_PER_CLUSTER, rootEntries);
  while (shape.clusterCount > MAX_CLUSTERS[type] && shape.sectorsPerCluster < DEFAULT_MAX_SECTORS_PER_CLUSTER) {
    shape = shapeFor(type, totalSectors, shape.sectorsPerCluster * 2, rootEntries);
  }
  return shape;
}

/** mkfs.fat's choice when no type is given. */
function automaticShape(totalSectors: number, rootEntries: number, floppy: FloppyPreset | null): Shape | null {
  if (totalSectors * SECTOR_BYTES >= FAT32_FROM_BYTES) {
    const fat32 = defaultShape('fat32', totalSectors, rootEntries, floppy);
    if (fits(fat32)) return fat32;
  }
  const fat12 = defaultShape('fat12', totalSectors, rootEntries, floppy);
  if (floppy || fat12.sectorsPerCluster === DEFAULT_FAT1216_SECTORS_PER_CLUSTER) {
    if (fits(fat12)) return fat12;
  }
  const fat16 = defaultShape('fat16', totalSectors, rootEntries, floppy);
  if (fits(fat16)) return fat16;
  // Just above FAT12's limit FAT16's bigger FAT can leave fewer than 4085 clusters: FAT12 with
  // the next cluster size fits there. Far above FAT16's, FAT32 fits.
  if (fits(fat12)) return fat12;
  const fat32 = defaultShape('fat32', totalSectors, rootEntries, floppy);
  return fits(fat32) ? fat32 : null;
}

/** A short "what to do instead" for a request that does not fit. */
function advice(shape: Shape, totalSectors: number, rootEntries: number, floppy: FloppyPreset | null): string {
  const tips: string[] = [];
  const { type } = shape;
  // The nearest cluster size that fits: smaller ones when there are too few clusters, bigger when too many.
  const step = shape.clusterCount < MIN_CLUSTERS[type] ? 0.5 : 2;
  for (let spc = shape.sectorsPerCluster * step; spc >= 1 && spc * SECTOR_BYTES <= MAX_CLUSTER_BYTES; spc *= step) {
    if (fits(shapeFor(type, totalSectors, spc, rootEntries))) {
      tips.push(`use ${clusterSize(spc * SECTOR_BYTES)} clusters (clusterBytes ${spc * SECTOR_BYTES})`);
      break;
    }
  }
  const types = (['fat12', 'fat16', 'fat32'] as const).filter(
    (t) => t !== type && fits(defaultShape(t, totalSectors, rootEntries, floppy)),
  );
  if (types.length > 0) tips.push(`use ${types.map(fatTypeName).join(' or ')}`);
  return tips.length > 0 ? `${tips.join(', or ')}.` : 'use a bigger or smaller volume.';
}

function checkOptions(options: FatFormatOptions): void {
  const { clusterBytes, hiddenSectors, volumeId } = options;
  if (clusterBytes !== undefined) {
    const ok =
      Number.isSafeInteger(clusterBytes) &&
      clusterBytes >= SECTOR_BYTES &&
      clusterBytes <= MAX_CLUSTER_BYTES &&
      (clusterBytes & (clusterBytes - 1)) === 0;
    if (!ok) {
      throw invalid(
        `A cluster size of ${clusterBytes} bytes is not possible: use a power of two from 512 bytes to 32 KiB (64 KiB works on some systems only)`,
        {
          clusterBytes,
        },
      );
    }
  }
  if (hiddenSectors !== undefined && (!Number.isSafeInteger(hiddenSectors) || hiddenSectors < 0 || hiddenSectors > 0xffffffff)) {
    throw invalid(`hiddenSectors must be the partition's start sector, a whole number from 0 to 4294967295, not ${hiddenSectors}`, {
      hiddenSectors,
    });
  }
  if (volumeId !== undefined && (!Number.isSafeInteger(volumeId) || volumeId < 0 || volumeId > 0xffffffff)) {
    throw invalid(`volumeId must be a 32-bit number (0 to 0xFFFFFFFF), not ${volumeId}`, { volumeId });
  }
  if (options.geometry) checkTrackGeometry(options.geometry);
  if (options.type !== undefined && !['fat12', 'fat16', 'fat32'].includes(options.type)) {
    throw invalid(`"${options.type}" is not a FAT type: use fat12, fat16 or fat32`, { type: options.type });
  }
  if (options.media !== undefined && options.media !== 'floppy' && options.media !== 'disk') {
    throw invalid(`media must be "floppy" or "disk", not "${options.media}"`, { media: options.media });
  }
}

/**
 * Works out the boot sector and layout for a volume of `sizeBytes` (the device's size), or
 * throws INVALID_INPUT / VALIDATION saying why not and what would work. Writes nothing.
 */
export function planFatFormat(sizeBytes: number, options: Omit<FatFormatOptions, keyof ProgressOptions> = {}): FatFormatPlan {
  checkOptions(options);
  const label = options.label === undefined || options.label.trim() === '' ? null : normalizeVolumeLabel(options.label);
  const totalSectors = Math.floor(sizeBytes / SECTOR_BYTES);
  const size = formatBytes(sizeBytes);
  if (totalSectors > 0xffffffff) {
    throw new LoopbackError(
      'VALIDATION',
      `A ${size} volume is too large for FAT: FAT counts at most 4294967295 sectors (2 TiB). Use a smaller partition`,
      {
        sizeBytes,
      },
    );
  }
  const preset = floppyPresetForSize(sizeBytes) ?? null;
  const media = options.media ?? (preset && !options.hiddenSectors ? 'floppy' : 'disk');
  const floppy = media === 'floppy' ? preset : null;
  const rootEntries = media === 'floppy' ? (preset?.rootDirEntries ?? FLOPPY_ROOT_ENTRIES) : DISK_ROOT_ENTRIES;
  const spc = options.clusterBytes !== undefined ? options.clusterBytes / SECTOR_BYTES : undefined;

  let shape: Shape | null;
  if (options.type) {
    shape =
      spc !== undefined
        ? shapeFor(options.type, totalSectors, spc, rootEntries)
        : defaultShape(options.type, totalSectors, rootEntries, floppy);
  } else if (spc !== undefined) {
    const order: FatType[] = sizeBytes >= FAT32_FROM_BYTES ? ['fat32', 'fat16', 'fat12'] : ['fat12', 'fat16', 'fat32'];
    shape = order.map((t) => shapeFor(t, totalSectors, spc, rootEntries)).find(fits) ?? null;
    if (!shape) {
      throw new LoopbackError(
        'VALIDATION',
        `A ${size} volume with ${clusterSize(spc * SECTOR_BYTES)} clusters fits no FAT type (FAT12 needs 1-4084 clusters, FAT16 4085-65524, FAT32 65525 or more): ${advice(
          shapeFor(sizeBytes >= FAT32_FROM_BYTES ? 'fat32' : 'fat16', totalSectors, spc, rootEntries),
          totalSectors,
          rootEntries,
          floppy,
        )}`,
        { sizeBytes, clusterBytes: options.clusterBytes },
      );
    }
  } else {
    shape = automaticShape(totalSectors, rootEntries, floppy);
    if (!shape) {
      throw new LoopbackError('VALIDATION', `A ${size} volume is too small for a FAT filesystem: it leaves no room for data clusters`, {
        sizeBytes,
      });
    }
  }
  if (!fits(shape)) {
    const name = fatTypeName(shape.type);
    const { clusterCount } = shape;
    const clusters = clusterSize(shape.sectorsPerCluster * SECTOR_BYTES);
    const tooSmall = clusterCount < MIN_CLUSTERS[shape.type];
    const range = shape.type === 'fat12' ? 'at most 4084' : shape.type === 'fat16' ? 'from 4085 to 65524' : 'at least 65525';
    throw new LoopbackError(
      'VALIDATION',
      `A ${size} volume is too ${tooSmall ? 'small' : 'large'} for ${name} with ${clusters} clusters: it would have ${clusterCount} clusters, and ${name} needs ${range} (Microsoft FAT specification). Instead, ${advice(shape, totalSectors, rootEntries, floppy)}`,
      { sizeBytes, type: shape.type, clusterBytes: shape.sectorsPerCluster * SECTOR_BYTES, clusterCount },
    );
  }

  const geometry = options.geometry ?? (media === 'floppy' ? (preset?.geometry ?? FLOPPY_GEOMETRY) : LARGE_DISK_TRACK_GEOMETRY);
  const fat32 = shape.type === 'fat32';
  const codeOffset = bootCodeOffset(fat32);
  const bootSector: FatBootSector = {
    BS_jmpBoot: bootJump(codeOffset),
    BS_OEMName: OEM_NAME,
    BPB_BytsPerSec: SECTOR_BYTES,
    BPB_SecPerClus: shape.sectorsPerCluster,
    BPB_RsvdSecCnt: shape.reservedSectors,
    BPB_NumFATs: NUM_FATS,
    BPB_RootEntCnt: shape.rootEntryCount,
    // FAT spec: BPB_TotSec16 when the count fits 16 bits (and never on FAT32), else BPB_TotSec32.
    BPB_TotSec16: !fat32 && totalSectors < 0x10000 ? totalSectors : 0,
    BPB_Media: media === 'floppy' ? (preset?.mediaDescriptor ?? FLOPPY_MEDIA) : HARD_DISK_MEDIA,
    BPB_FATSz16: fat32 ? 0 : shape.fatSectors,
    BPB_SecPerTrk: geometry.sectorsPerTrack,
    BPB_NumHeads: geometry.heads,
    BPB_HiddSec: options.hiddenSectors ?? 0,
    BPB_TotSec32: !fat32 && totalSectors < 0x10000 ? 0 : totalSectors,
    fat32: fat32
      ? {
          BPB_FATSz32: shape.fatSectors,
          BPB_ExtFlags: 0, // mirroring on: every FAT is kept up to date
          BPB_FSVer: 0, // FAT spec: version 0:0
          BPB_RootClus: FAT32_ROOT_CLUSTER,
          BPB_FSInfo: FSINFO_SECTOR,
          BPB_BkBootSec: BACKUP_BOOT_SECTOR,
        }
      : null,
    BS_DrvNum: media === 'floppy' ? FLOPPY_DRIVE : HARD_DISK_DRIVE,
    BS_BootSig: EXTENDED_BOOT_SIGNATURE,
    BS_VolID: options.volumeId ?? 0,
    BS_VolLab: (label ?? NO_NAME_LABEL).padEnd(11, ' '),
    BS_FilSysType: fatTypeName(shape.type).padEnd(8, ' '),
    bootCode: notBootableStub(codeOffset),
    signature: BOOT_SIGNATURE,
  };
  return { bootSector, layout: layoutFromBootSector(bootSector), label, floppy };
}

function randomVolumeId(): number {
  const value = new Uint32Array(1);
  globalThis.crypto.getRandomValues(value);
  return value[0] ?? 0;
}

/** The first FAT sector: FAT[0] = media byte with the other bits set, FAT[1] = EOC; on FAT32 also FAT[2], the root's EOC. */
function firstFatSector(type: FatType, media: number): Uint8Array {
  const sector = new Uint8Array(SECTOR_BYTES);
  const view = new DataView(sector.buffer);
  switch (type) {
    case 'fat12':
      // FAT spec: FAT[0] = 0xF00 | BPB_Media; FAT[1] = EOC (0xFFF). Packed: F0 FF FF for media 0xF0.
      sector.set([media, 0xff, 0xff]);
      break;
    case 'fat16':
      view.setUint16(0, 0xff00 | media, true);
      view.setUint16(2, 0xffff, true); // EOC with the "clean shutdown" and "no error" bits set
      break;
    case 'fat32':
      view.setUint32(0, 0x0fffff00 | media, true);
      view.setUint32(4, 0x0fffffff, true);
      view.setUint32(8, 0x0fffffff, true); // root directory: one cluster, end of chain
      break;
  }
  return sector;
}

/**
 * Formats `device` as FAT12/16/32. Validates everything first (the device is untouched when the
 * request is refused). Cancelling before the first write leaves the device unchanged; after it,
 * the remaining metadata is still written (a half-written volume would be neither the old one
 * nor a new one) and then CANCELLED is thrown.
 */
export async function formatFat(device: BlockDevice, options: FatFormatOptions = {}): Promise<FatFormatResult> {
  const plan = planFatFormat(device.sizeBytes, options);
  if (options.signal?.aborted) throw new LoopbackError('CANCELLED', 'Formatting was cancelled before anything was written', {});
  const bootSector = { ...plan.bootSector, BS_VolID: options.volumeId ?? randomVolumeId() };
  const { layout } = plan;
  const { bytesPerSector, fatSectors, type } = layout;
  const fat32 = type === 'fat32';

  const reserved = new Uint8Array(layout.reservedSectors * bytesPerSector);
  const bootBytes = encodeBootSector(bootSector);
  reserved.set(bootBytes, 0);
  const freeClusters = layout.clusterCount - (fat32 ? 1 : 0);
  if (fat32) {
    // FAT spec: FSI_Nxt_Free is a hint; the first cluster after the root's.
    const fsInfo = encodeFsInfo({ FSI_Free_Count: freeClusters, FSI_Nxt_Free: FAT32_ROOT_CLUSTER + 1 });
    reserved.set(fsInfo, FSINFO_SECTOR * bytesPerSector);
    reserved.set(bootBytes, BACKUP_BOOT_SECTOR * bytesPerSector);
    reserved.set(fsInfo, (BACKUP_BOOT_SECTOR + 1) * bytesPerSector);
  }

  const rootBytes = new Uint8Array(fat32 ? layout.clusterBytes : layout.rootEntryCount * DIR_ENTRY_BYTES);
  if (plan.label) {
    const t = toDosTimestamp(Date.now());
    encodeShortEntry(
      {
        name: labelBytes(plan.label),
        attr: ATTR_VOLUME_ID,
        ntRes: 0,
        crtTimeTenth: 0,
        crtTime: 0,
        crtDate: 0,
        lstAccDate: 0,
        firstCluster: 0,
        wrtTime: t.time,
        wrtDate: t.date,
        fileSize: 0,
      },
      rootBytes,
      0,
    );
  }
  const rootOffset = fat32 ? layout.firstDataSector * bytesPerSector : layout.firstRootDirSector * bytesPerSector;

  const fatBytes = fatSectors * bytesPerSector;
  const bytesTotal = layout.numFats * fatBytes + rootBytes.length + reserved.length;
  let bytesDone = 0;
  let cancelledWhileWriting = false;
  const write = async (offset: number, bytes: Uint8Array) => {
    await device.write(offset, bytes);
    bytesDone += bytes.length;
    options.onProgress?.({ phase: 'format', bytesDone, bytesTotal });
    if (options.signal?.aborted) cancelledWhileWriting = true;
  };

  // The boot sector goes last: until then the old volume's boot sector (if any) is what a
  // reader finds, and never a new BPB over FATs that are not written yet.
  const head = firstFatSector(type, bootSector.BPB_Media);
  const zeros = new Uint8Array(Math.min(FAT_WRITE_CHUNK_BYTES, fatBytes));
  for (let copy = 0; copy < layout.numFats; copy++) {
    const start = (layout.firstFatSector + copy * fatSectors) * bytesPerSector;
    await write(start, head);
    for (let at = head.length; at < fatBytes; at += zeros.length) {
      await write(start + at, zeros.subarray(0, Math.min(zeros.length, fatBytes - at)));
    }
  }
  await write(rootOffset, rootBytes);
  await write(0, reserved);
  await device.flush();

  if (cancelledWhileWriting) {
    throw new LoopbackError(
      'CANCELLED',
      `Formatting was cancelled after it had started writing, so it was completed to leave a consistent, empty ${fatTypeName(type)} volume`,
      { formatted: true, type },
    );
  }
  return {
    type,
    volumeId: formatVolumeId(bootSector.BS_VolID),
    label: plan.label,
    clusterBytes: layout.clusterBytes,
    clusterCount: layout.clusterCount,
    totalSectors: layout.totalSectors,
    fatSectors,
    reservedSectors: layout.reservedSectors,
    rootEntryCount: layout.rootEntryCount,
    dataBytes: layout.clusterCount * layout.clusterBytes,
    metadataBytes: bytesTotal,
  };
}
