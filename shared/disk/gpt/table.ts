/**
 * A GPT as the rest of the app sees it: the header fields a person may choose and the used
 * partition entries. Plain data (no bigint, no typed arrays), so it crosses IPC and JSON as is.
 *
 * encodeGpt turns a table into the sectors to write; read.ts does the opposite.
 */
import type { GptAttributes } from './attributes';
import { encodeGptEntryArray } from './entries';
import { randomGuid, type Guid } from './guid';
import { encodeGptHeader } from './header';
import {
  backupEntryLBA,
  backupHeaderLBA,
  DEFAULT_NUMBER_OF_PARTITION_ENTRIES,
  DEFAULT_PARTITION_ENTRY_LBA,
  DEFAULT_SIZE_OF_PARTITION_ENTRY,
  entryArraySectors,
  PRIMARY_HEADER_LBA,
  PROTECTIVE_MBR_LBA,
  SECTOR_SIZE_BYTES,
} from './layout';
import { encodeProtectiveMbr } from './protective-mbr';
import { assertValidGpt } from './validate';

export interface GptPartition {
  /** 1-based slot in the entry array: the partition number (`/dev/sda2`, `sgdisk -i 2`). */
  index: number;
  typeGuid: Guid;
  /** Display name of the type ("Linux filesystem"), or "Unknown type". Derived from typeGuid. */
  typeName: string;
  uniqueGuid: Guid;
  startingLBA: number;
  /** Inclusive. */
  endingLBA: number;
  /** The 64-bit attribute field as two 32-bit halves, see attributes.ts. */
  attributes: GptAttributes;
  /** At most 36 UTF-16 code units. */
  name: string;
}

export interface GptTable {
  /** Sectors of the disk (512 bytes each) this table is laid out for. */
  diskSectors: number;
  diskGuid: Guid;
  firstUsableLBA: number;
  lastUsableLBA: number;
  /** Where the primary entry array starts (usually 2); the backup array sits just before the last LBA. */
  partitionEntryLBA: number;
  numberOfPartitionEntries: number;
  /** Bytes per entry. */
  sizeOfPartitionEntry: number;
  /** The used entries, ordered by index. */
  partitions: GptPartition[];
  /** What readGpt noticed on the disk (primary header corrupt, hybrid MBR …); empty for new tables. */
  warnings: string[];
}

export interface NewGptOptions {
  /** Default: a random GUID. */
  diskGuid?: Guid;
  /** Default 128. The array must hold at least 16 KiB (UEFI 5.3.2). */
  numberOfPartitionEntries?: number;
  /** Default 128 bytes. */
  sizeOfPartitionEntry?: number;
}

/**
 * An empty table for a disk of `diskSectors`: entries from LBA 2, firstUsableLBA right after
 * them (34 with the defaults), lastUsableLBA right before the backup array (diskSectors − 34).
 * Partitions are aligned by addPartition, not by moving firstUsableLBA. Throws
 * LoopbackError('VALIDATION') when the disk is too small.
 */
export function newGpt(diskSectors: number, options: NewGptOptions = {}): GptTable {
  const numberOfPartitionEntries = options.numberOfPartitionEntries ?? DEFAULT_NUMBER_OF_PARTITION_ENTRIES;
  const sizeOfPartitionEntry = options.sizeOfPartitionEntry ?? DEFAULT_SIZE_OF_PARTITION_ENTRY;
  const arraySectors = entryArraySectors(numberOfPartitionEntries, sizeOfPartitionEntry);
  const table: GptTable = {
    diskSectors,
    diskGuid: options.diskGuid ?? randomGuid(),
    firstUsableLBA: DEFAULT_PARTITION_ENTRY_LBA + arraySectors,
    lastUsableLBA: backupEntryLBA(diskSectors, arraySectors) - 1,
    partitionEntryLBA: DEFAULT_PARTITION_ENTRY_LBA,
    numberOfPartitionEntries,
    sizeOfPartitionEntry,
    partitions: [],
    warnings: [],
  };
  assertValidGpt(table, 'create a GPT');
  return table;
}

/** One run of sectors to write, starting at `lba`. */
export interface SectorWrite {
  lba: number;
  bytes: Uint8Array;
}

/**
 * The sectors that make up `table` on disk, in a crash-tolerant order: the protective MBR, then
 * the primary array before the primary header, then the backup array before the backup header
 * (a header is only ever valid together with the entries it describes).
 * `existingSector0` supplies the MBR boot code and disk signature to keep.
 * Validates first: throws LoopbackError('VALIDATION') for an invalid table.
 */
export function encodeGpt(table: GptTable, existingSector0?: Uint8Array): SectorWrite[] {
  assertValidGpt(table, 'write the GPT');
  const { bytes: entryArray, partitionEntryArrayCRC32 } = encodeGptEntryArray(
    table.partitions,
    table.numberOfPartitionEntries,
    table.sizeOfPartitionEntry,
    SECTOR_SIZE_BYTES,
  );
  const lastLBA = backupHeaderLBA(table.diskSectors);
  const backupArrayLBA = backupEntryLBA(table.diskSectors, entryArraySectors(table.numberOfPartitionEntries, table.sizeOfPartitionEntry));
  const shared = {
    firstUsableLBA: table.firstUsableLBA,
    lastUsableLBA: table.lastUsableLBA,
    diskGuid: table.diskGuid,
    numberOfPartitionEntries: table.numberOfPartitionEntries,
    sizeOfPartitionEntry: table.sizeOfPartitionEntry,
    partitionEntryArrayCRC32,
  };
  return [
    { lba: PROTECTIVE_MBR_LBA, bytes: encodeProtectiveMbr(table.diskSectors, existingSector0) },
    { lba: table.partitionEntryLBA, bytes: entryArray },
    {
      lba: PRIMARY_HEADER_LBA,
      bytes: encodeGptHeader({ ...shared, myLBA: PRIMARY_HEADER_LBA, alternateLBA: lastLBA, partitionEntryLBA: table.partitionEntryLBA }),
    },
    { lba: backupArrayLBA, bytes: entryArray },
    {
      lba: lastLBA,
      bytes: encodeGptHeader({ ...shared, myLBA: lastLBA, alternateLBA: PRIMARY_HEADER_LBA, partitionEntryLBA: backupArrayLBA }),
    },
  ];
}
