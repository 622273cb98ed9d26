/**
 * Where things are on a FAT volume, worked out from its BPB: the FAT type (by the cluster count,
 * as the Microsoft FAT specification defines it), the first sector of each region and the number
 * of data clusters. Also the sizing arithmetic a formatter needs (how many sectors one FAT takes).
 *
 * References: "Microsoft Extensible Firmware Initiative FAT32 File System Specification, FAT:
 * General Overview of On-Disk Format", version 1.03 (2000), sections "FAT Type Determination"
 * and "FAT Data Structure". Section names are cited below as "FAT spec, <section>".
 */
import { LoopbackError } from '../../errors';
import type { FatBootSector } from './boot-sector';

export type FatType = 'fat12' | 'fat16' | 'fat32';

/** FAT spec, FAT Type Determination: a volume with fewer than 4085 clusters is FAT12. */
export const FAT12_MAX_CLUSTERS = 4084;
/** FAT spec, FAT Type Determination: fewer than 65525 clusters (and at least 4085) is FAT16. */
export const FAT16_MAX_CLUSTERS = 65524;
/** FAT16's minimum: anything from 4085 clusters up is no longer FAT12. */
export const FAT16_MIN_CLUSTERS = FAT12_MAX_CLUSTERS + 1;
/** FAT32's minimum: 65525 clusters. */
export const FAT32_MIN_CLUSTERS = FAT16_MAX_CLUSTERS + 1;
/**
 * FAT32's maximum: cluster numbers are 28 bits and 0x0FFFFFF7 upward are reserved (bad cluster,
 * end of chain), so the highest data cluster is 0x0FFFFFF6 and, counting from 2, there are at
 * most 0x0FFFFFF5 of them (FAT spec, FAT Data Structure).
 */
export const FAT32_MAX_CLUSTERS = 0x0ffffff5;

/** The first data cluster is number 2: FAT[0] and FAT[1] are reserved (FAT spec, FAT Data Structure). */
export const FIRST_DATA_CLUSTER = 2;

/** Bytes per directory entry (FAT spec, FAT Directory Structure). */
export const DIR_ENTRY_BYTES = 32;

export const MIN_CLUSTERS: Record<FatType, number> = { fat12: 1, fat16: FAT16_MIN_CLUSTERS, fat32: FAT32_MIN_CLUSTERS };
export const MAX_CLUSTERS: Record<FatType, number> = { fat12: FAT12_MAX_CLUSTERS, fat16: FAT16_MAX_CLUSTERS, fat32: FAT32_MAX_CLUSTERS };

/** Bits per FAT entry. */
export const FAT_ENTRY_BITS: Record<FatType, number> = { fat12: 12, fat16: 16, fat32: 32 };

/** The FAT type a cluster count means (FAT spec, FAT Type Determination). */
export function fatTypeForClusterCount(clusterCount: number): FatType {
  if (clusterCount <= FAT12_MAX_CLUSTERS) return 'fat12';
  if (clusterCount <= FAT16_MAX_CLUSTERS) return 'fat16';
  return 'fat32';
}

export function fatTypeName(type: FatType): string {
  return type.toUpperCase();
}

export interface FatLayout {
  type: FatType;
  bytesPerSector: number;
  sectorsPerCluster: number;
  clusterBytes: number;
  reservedSectors: number;
  numFats: number;
  /** Sectors per FAT copy. */
  fatSectors: number;
  /** Entries in the fixed root directory (FAT12/16); 0 on FAT32. */
  rootEntryCount: number;
  rootDirSectors: number;
  totalSectors: number;
  firstFatSector: number;
  /** First sector of the fixed root directory (FAT12/16); on FAT32 where the data area starts. */
  firstRootDirSector: number;
  firstDataSector: number;
  /** Data clusters: numbered 2 .. clusterCount + 1. */
  clusterCount: number;
  /** FAT32: the first cluster of the root directory (BPB_RootClus); 0 on FAT12/16. */
  rootCluster: number;
  /**
   * FATs that are written. All of them, unless a FAT32 volume turned mirroring off
   * (BPB_ExtFlags bit 7), in which case only the active one (bits 0-3).
   */
  activeFats: number[];
  /** The FAT that is read. */
  readFat: number;
}

/** Sectors occupied by a fixed root directory of `entryCount` entries (FAT spec, FAT Type Determination). */
export function rootDirSectorCount(entryCount: number, bytesPerSector: number): number {
  return Math.ceil((entryCount * DIR_ENTRY_BYTES) / bytesPerSector);
}

/** Why a boot sector does not describe a usable FAT volume, or null when it does. */
export function bootSectorProblem(bs: FatBootSector): string | null {
  const bps = bs.BPB_BytsPerSec;
  if (![512, 1024, 2048, 4096].includes(bps)) return `BPB_BytsPerSec is ${bps}, not 512, 1024, 2048 or 4096`;
  const spc = bs.BPB_SecPerClus;
  if (spc < 1 || spc > 128 || (spc & (spc - 1)) !== 0) return `BPB_SecPerClus is ${spc}, not a power of two from 1 to 128`;
  if (bs.BPB_RsvdSecCnt < 1) return 'BPB_RsvdSecCnt is 0 (the boot sector itself is reserved)';
  if (bs.BPB_NumFATs < 1) return 'BPB_NumFATs is 0';
  // FAT spec, BPB_Media: 0xF0 and 0xF8..0xFF are the legal values.
  if (bs.BPB_Media !== 0xf0 && bs.BPB_Media < 0xf8) return `BPB_Media is 0x${bs.BPB_Media.toString(16)}, not 0xF0 or 0xF8-0xFF`;
  const totalSectors = bs.BPB_TotSec16 !== 0 ? bs.BPB_TotSec16 : bs.BPB_TotSec32;
  if (totalSectors === 0) return 'BPB_TotSec16 and BPB_TotSec32 are both 0';
  const fatSectors = bs.BPB_FATSz16 !== 0 ? bs.BPB_FATSz16 : (bs.fat32?.BPB_FATSz32 ?? 0);
  if (fatSectors === 0) return 'BPB_FATSz16 and BPB_FATSz32 are both 0';
  const rootDirSectors = rootDirSectorCount(bs.BPB_RootEntCnt, bps);
  const firstDataSector = bs.BPB_RsvdSecCnt + bs.BPB_NumFATs * fatSectors + rootDirSectors;
  if (firstDataSector >= totalSectors)
    return `the data area would start at sector ${firstDataSector}, beyond the volume's ${totalSectors} sectors`;
  return null;
}

/**
 * The FAT type of a valid BPB. The cluster count decides (FAT spec, FAT Type Determination),
 * with one exception: a BPB in FAT32 form (BPB_FATSz16 = 0, BPB_RootEntCnt = 0) whose count is
 * below 65525 is read as FAT32, as Linux and dosfstools do — `mkfs.fat -F 32` makes such volumes
 * on small images (with a warning), and only the FAT32 reading (root directory in a cluster
 * chain) can find their files. A BPB in FAT12/16 form with 65525 clusters or more has no root
 * cluster to be FAT32 with: null.
 */
export function fatTypeOfBootSector(bs: FatBootSector): FatType | null {
  const clusterCount = clusterCountOf(bs);
  const fat32Form = bs.BPB_FATSz16 === 0 && bs.fat32 !== null;
  if (fat32Form) return bs.BPB_RootEntCnt === 0 ? 'fat32' : null;
  const type = fatTypeForClusterCount(clusterCount);
  return type === 'fat32' ? null : type;
}

function clusterCountOf(bs: FatBootSector): number {
  const bps = bs.BPB_BytsPerSec;
  const fatSectors = bs.BPB_FATSz16 !== 0 ? bs.BPB_FATSz16 : (bs.fat32?.BPB_FATSz32 ?? 0);
  const totalSectors = bs.BPB_TotSec16 !== 0 ? bs.BPB_TotSec16 : bs.BPB_TotSec32;
  const firstDataSector = bs.BPB_RsvdSecCnt + bs.BPB_NumFATs * fatSectors + rootDirSectorCount(bs.BPB_RootEntCnt, bps);
  return Math.floor((totalSectors - firstDataSector) / bs.BPB_SecPerClus);
}

/** The layout of a volume; throws VALIDATION naming the bad field when the BPB is not a FAT one. */
export function layoutFromBootSector(bs: FatBootSector): FatLayout {
  const problem = bootSectorProblem(bs);
  const type = problem === null ? fatTypeOfBootSector(bs) : null;
  if (problem !== null || type === null) {
    throw new LoopbackError(
      'VALIDATION',
      `Not a FAT volume: ${problem ?? 'a FAT12/16 BPB with 65525 clusters or more (only FAT32 can have that many)'}`,
      {
        reason: problem,
      },
    );
  }
  const bytesPerSector = bs.BPB_BytsPerSec;
  const fatSectors = bs.BPB_FATSz16 !== 0 ? bs.BPB_FATSz16 : (bs.fat32?.BPB_FATSz32 ?? 0);
  const totalSectors = bs.BPB_TotSec16 !== 0 ? bs.BPB_TotSec16 : bs.BPB_TotSec32;
  const rootDirSectors = rootDirSectorCount(bs.BPB_RootEntCnt, bytesPerSector);
  const firstFatSector = bs.BPB_RsvdSecCnt;
  const firstRootDirSector = firstFatSector + bs.BPB_NumFATs * fatSectors;
  const firstDataSector = firstRootDirSector + rootDirSectors;
  const clusterCount = clusterCountOf(bs);
  // FAT spec, BPB_ExtFlags: bit 7 set = only the FAT named by bits 0-3 is active (no mirroring).
  const extFlags = bs.fat32?.BPB_ExtFlags ?? 0;
  const mirroringOff = type === 'fat32' && (extFlags & 0x80) !== 0;
  const activeFat = extFlags & 0x0f;
  const allFats = Array.from({ length: bs.BPB_NumFATs }, (_, i) => i);
  if (mirroringOff && activeFat >= bs.BPB_NumFATs) {
    throw new LoopbackError(
      'VALIDATION',
      `Not a usable FAT32 volume: BPB_ExtFlags names FAT ${activeFat} as active, but there are ${bs.BPB_NumFATs}`,
      {},
    );
  }
  return {
    type,
    bytesPerSector,
    sectorsPerCluster: bs.BPB_SecPerClus,
    clusterBytes: bs.BPB_SecPerClus * bytesPerSector,
    reservedSectors: bs.BPB_RsvdSecCnt,
    numFats: bs.BPB_NumFATs,
    fatSectors,
    rootEntryCount: bs.BPB_RootEntCnt,
    rootDirSectors,
    totalSectors,
    firstFatSector,
    firstRootDirSector,
    firstDataSector,
    clusterCount,
    rootCluster: type === 'fat32' ? (bs.fat32?.BPB_RootClus ?? 0) : 0,
    activeFats: mirroringOff ? [activeFat] : allFats,
    readFat: mirroringOff ? activeFat : 0,
  };
}

export interface FatSizing {
  fatSectors: number;
  clusterCount: number;
}

/**
 * The smallest FAT that covers every cluster of the data area it leaves: a bigger FAT leaves
 * fewer clusters, so the search is a binary search on "does a FAT of n sectors hold the entries
 * of the clusters that remain" (clusters + the 2 reserved entries, FAT spec, FAT Data Structure).
 * `sectorsAfterReserved` is everything after the reserved sectors and the fixed root directory.
 */
export function sizeFat(
  type: FatType,
  sectorsAfterReserved: number,
  sectorsPerCluster: number,
  numFats: number,
  bytesPerSector: number,
): FatSizing {
  const clustersWith = (fatSectors: number) => Math.floor((sectorsAfterReserved - numFats * fatSectors) / sectorsPerCluster);
  const fatSectorsFor = (clusters: number) =>
    Math.ceil(Math.ceil(((clusters + FIRST_DATA_CLUSTER) * FAT_ENTRY_BITS[type]) / 8) / bytesPerSector);
  let low = 1;
  let high = Math.max(1, fatSectorsFor(Math.max(0, clustersWith(0))));
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (fatSectorsFor(Math.max(0, clustersWith(mid))) <= mid) high = mid;
    else low = mid + 1;
  }
  return { fatSectors: low, clusterCount: Math.max(0, clustersWith(low)) };
}
