/**
 * FAT12/16/32 in pure TypeScript: format a volume, detect one, and open it as a FileSystem.
 */
import { BOOT_SECTOR_BYTES, hasBootJump, parseBootSector } from './boot-sector';
import { bootSectorProblem, fatTypeOfBootSector, type FatType } from './layout';

export { formatFat, planFatFormat } from './format';
export type { FatFormatOptions, FatFormatPlan, FatFormatResult } from './format';
export { openFat, FatVolume } from './volume';
export type { FatWriteOptions } from './volume';
export { parseBootSector, encodeBootSector, formatVolumeId } from './boot-sector';
export type { FatBootSector, Fat32Bpb } from './boot-sector';
export { layoutFromBootSector, fatTypeForClusterCount } from './layout';
export type { FatLayout, FatType } from './layout';

/**
 * The FAT type of a boot sector (the first 512 bytes of a volume), or null when it is not a FAT
 * boot sector. Decided by the cluster count, as the Microsoft FAT spec defines ("FAT Type
 * Determination"), never by the BS_FilSysType string; see fatTypeOfBootSector for FAT32-form
 * BPBs with too few clusters.
 */
export function detectFat(bootSectorBytes: Uint8Array): FatType | null {
  if (bootSectorBytes.length < BOOT_SECTOR_BYTES) return null;
  const bs = parseBootSector(bootSectorBytes);
  if (!hasBootJump(bs) || bootSectorProblem(bs) !== null) return null;
  return fatTypeOfBootSector(bs);
}
