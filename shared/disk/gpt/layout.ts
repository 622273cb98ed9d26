/**
 * Where the pieces of a GPT disk go (UEFI spec 2.10, section 5.3.1, the GPT disk layout figure):
 *
 *   LBA 0                         protective MBR (protective-mbr.ts)
 *   LBA 1                         primary GPT header (header.ts)
 *   LBA 2 … 2+E−1                 primary partition entry array, E sectors (entries.ts)
 *   firstUsableLBA … lastUsableLBA  partitions
 *   last−E … last−1               backup partition entry array
 *   last = diskSectors − 1        backup GPT header
 *
 * With the usual 128 entries of 128 bytes, E = 32: the first usable sector is 34 and the last
 * usable one is diskSectors − 34.
 */
import { SECTOR_BYTES } from '../sizes';

/** GPTs here use the same 512-byte sectors as everything else we build. */
export const SECTOR_SIZE_BYTES = SECTOR_BYTES;

export const PROTECTIVE_MBR_LBA = 0;
export const PRIMARY_HEADER_LBA = 1;
export const DEFAULT_PARTITION_ENTRY_LBA = 2;
export const DEFAULT_NUMBER_OF_PARTITION_ENTRIES = 128;
export const DEFAULT_SIZE_OF_PARTITION_ENTRY = 128;

/** UEFI 5.3.2: "a minimum of 16,384 bytes of space must be reserved for the GPT Partition Entry Array". */
export const MIN_PARTITION_ENTRY_ARRAY_BYTES = 16384;
/** Our own cap (8192 entries of 128 bytes), so a corrupt header cannot make us read gigabytes. */
export const MAX_PARTITION_ENTRY_ARRAY_BYTES = 1024 * 1024;

/** Sectors taken by one copy of the partition entry array. */
export function entryArraySectors(numberOfPartitionEntries: number, sizeOfPartitionEntry: number): number {
  return Math.ceil((numberOfPartitionEntries * sizeOfPartitionEntry) / SECTOR_SIZE_BYTES);
}

export function backupHeaderLBA(diskSectors: number): number {
  return diskSectors - 1;
}

/** The backup entry array sits directly before the backup header. */
export function backupEntryLBA(diskSectors: number, arraySectors: number): number {
  return diskSectors - 1 - arraySectors;
}

/** The smallest disk that holds both GPT copies (entry arrays of `arraySectors`) and a one-sector partition. */
export function minimumDiskSectors(arraySectors: number, partitionEntryLBA = DEFAULT_PARTITION_ENTRY_LBA): number {
  return partitionEntryLBA + arraySectors + 1 + arraySectors + 1;
}

/** Whole sectors of a device; a trailing partial sector is not addressable. */
export function deviceSectors(sizeBytes: number): number {
  return Math.floor(sizeBytes / SECTOR_SIZE_BYTES);
}
