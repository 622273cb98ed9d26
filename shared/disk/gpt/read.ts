/**
 * readGpt: the table of a disk, from the primary copy or, when that is damaged, the backup
 * (UEFI spec 2.10, section 5.3.2: "If the primary GPT is corrupt, software must check the last
 * LBA of the device to see if it has a valid GPT Header and point to a valid GPT Partition
 * Entry Array").
 */
import type { BlockDevice } from '../block-device';
import { LoopbackError } from '../../errors';
import { crc32 } from '../../util/crc32';
import { parseGptEntryArray, type IndexedGptEntry } from './entries';
import { hex32, parseGptHeader, type GptHeader } from './header';
import {
  backupHeaderLBA,
  DEFAULT_PARTITION_ENTRY_LBA,
  deviceSectors,
  entryArraySectors,
  MAX_PARTITION_ENTRY_ARRAY_BYTES,
  PRIMARY_HEADER_LBA,
  PROTECTIVE_MBR_LBA,
  SECTOR_SIZE_BYTES,
} from './layout';
import { protectiveMbrWarnings } from './protective-mbr';
import type { GptTable } from './table';
import { partitionTypeName } from './types';
import { findGptProblems } from './validate';

type GptCopy =
  | { ok: true; header: GptHeader; entries: IndexedGptEntry[] }
  /** `header` is set when the header itself was fine and only its entries were not. */
  | { ok: false; reason: string; hasSignature: boolean; header?: GptHeader };

/** Reads through the device, turning anything it throws that is not ours into an IO error. */
async function readSectors(device: BlockDevice, lba: number, count: number): Promise<Uint8Array> {
  try {
    return await device.read(lba * SECTOR_SIZE_BYTES, count * SECTOR_SIZE_BYTES);
  } catch (error) {
    if (error instanceof LoopbackError) throw error;
    throw new LoopbackError(
      'IO',
      `reading sectors ${lba}–${lba + count - 1} failed: ${error instanceof Error ? error.message : String(error)}`,
      { lba, count },
    );
  }
}

/** One copy (header + its entry array) at `lba`, checked for where it is and what it points to. */
async function readCopy(device: BlockDevice, lba: number, diskSectors: number, which: 'primary' | 'backup'): Promise<GptCopy> {
  const sector = await readSectors(device, lba, 1);
  let header: GptHeader;
  try {
    header = parseGptHeader(sector);
  } catch (error) {
    if (!(error instanceof LoopbackError)) throw error;
    return { ok: false, reason: error.message, hasSignature: error.details?.reason !== 'signature' };
  }
  const bad = (reason: string, keepHeader = false): GptCopy => ({
    ok: false,
    reason,
    hasSignature: true,
    ...(keepHeader ? { header } : {}),
  });
  if (header.myLBA !== lba) return bad(`the header says it is at LBA ${header.myLBA} but was found at LBA ${lba}`);
  const arrayBytes = header.numberOfPartitionEntries * header.sizeOfPartitionEntry;
  if (arrayBytes === 0 || arrayBytes > MAX_PARTITION_ENTRY_ARRAY_BYTES) {
    return bad(
      `its entry array of ${header.numberOfPartitionEntries} × ${header.sizeOfPartitionEntry} bytes is empty or larger than ${MAX_PARTITION_ENTRY_ARRAY_BYTES} bytes`,
    );
  }
  const arraySectors = entryArraySectors(header.numberOfPartitionEntries, header.sizeOfPartitionEntry);
  const arrayEnd = header.partitionEntryLBA + arraySectors - 1;
  const arrayPlacedWell =
    which === 'primary'
      ? header.partitionEntryLBA > PRIMARY_HEADER_LBA && arrayEnd < diskSectors
      : header.partitionEntryLBA > PRIMARY_HEADER_LBA && arrayEnd < lba;
  if (!arrayPlacedWell) {
    return bad(
      `its entry array (sectors ${header.partitionEntryLBA}–${arrayEnd}) is not between LBA 2 and ${which === 'primary' ? 'the end of the disk' : 'the backup header'}`,
    );
  }
  const arrayWithPadding = await readSectors(device, header.partitionEntryLBA, arraySectors);
  const array = arrayWithPadding.subarray(0, arrayBytes);
  const computed = crc32(array);
  if (computed !== header.partitionEntryArrayCRC32) {
    return bad(`its entry array CRC32 is 0x${hex32(header.partitionEntryArrayCRC32)} but the entries give 0x${hex32(computed)}`, true);
  }
  try {
    return { ok: true, header, entries: parseGptEntryArray(array, header.numberOfPartitionEntries, header.sizeOfPartitionEntry) };
  } catch (error) {
    if (!(error instanceof LoopbackError)) throw error;
    return bad(`an entry is unreadable: ${error.message}`, true);
  }
}

function sameTable(a: { header: GptHeader; entries: IndexedGptEntry[] }, b: { header: GptHeader; entries: IndexedGptEntry[] }): boolean {
  const fields = [
    'firstUsableLBA',
    'lastUsableLBA',
    'diskGuid',
    'numberOfPartitionEntries',
    'sizeOfPartitionEntry',
    'partitionEntryArrayCRC32',
  ] as const;
  return fields.every((field) => a.header[field] === b.header[field]);
}

/**
 * The GPT of `device`. Problems that still leave a usable table (a damaged copy, a backup not at
 * the end, a hybrid MBR, overlapping partitions) are listed in `warnings`. Throws only
 * LoopbackError: NOT_FOUND when neither copy has an "EFI PART" header, INVALID_INPUT when both
 * copies are damaged, IO when the device cannot be read.
 */
export async function readGpt(device: BlockDevice): Promise<GptTable> {
  const diskSectors = deviceSectors(device.sizeBytes);
  if (diskSectors < 3) {
    throw new LoopbackError(
      'NOT_FOUND',
      `no GPT: the device holds ${diskSectors} sectors, too few for a protective MBR and two GPT headers`,
      { diskSectors },
    );
  }
  const lastLBA = backupHeaderLBA(diskSectors);
  const warnings = protectiveMbrWarnings(await readSectors(device, PROTECTIVE_MBR_LBA, 1), diskSectors);
  const primary = await readCopy(device, PRIMARY_HEADER_LBA, diskSectors, 'primary');

  // Where the backup should be: where the primary says, else the last sector (5.3.2).
  const pointedTo = primary.header?.alternateLBA;
  const backupLBA = pointedTo !== undefined && pointedTo > PRIMARY_HEADER_LBA && pointedTo < diskSectors ? pointedTo : lastLBA;
  let backup = await readCopy(device, backupLBA, diskSectors, 'backup');
  if (!backup.ok && backupLBA !== lastLBA) backup = await readCopy(device, lastLBA, diskSectors, 'backup');
  const backupAt = backup.ok ? backup.header.myLBA : backupLBA;

  let chosen: { header: GptHeader; entries: IndexedGptEntry[] };
  if (primary.ok) {
    chosen = primary;
    if (!backup.ok) {
      warnings.push(`The backup GPT header (LBA ${backupAt}) is unusable: ${backup.reason}. Writing the table will rebuild it.`);
    } else if (!sameTable(primary, backup)) {
      warnings.push(
        `The backup GPT (LBA ${backupAt}) differs from the primary; the primary is used, and writing the table will make them equal.`,
      );
    }
    if (primary.header.alternateLBA !== lastLBA) {
      warnings.push(
        `The primary header places the backup at LBA ${primary.header.alternateLBA}, not at the disk's last sector ${lastLBA} ` +
          `(was the image resized?); writing the table will move the backup to the end.`,
      );
    }
  } else if (backup.ok) {
    chosen = backup;
    warnings.push(
      `The primary GPT (LBA 1) is unusable: ${primary.reason}. The backup at LBA ${backupAt} was read instead; writing the table will repair the primary.`,
    );
    if (backup.header.myLBA !== lastLBA) {
      warnings.push(
        `The backup header is at LBA ${backup.header.myLBA}, not at the disk's last sector ${lastLBA}; writing the table will move it to the end.`,
      );
    }
  } else if (!primary.hasSignature && !backup.hasSignature) {
    throw new LoopbackError('NOT_FOUND', `no GPT on this disk: neither LBA 1 nor LBA ${backupAt} holds an "EFI PART" header`, {
      diskSectors,
    });
  } else {
    throw new LoopbackError(
      'INVALID_INPUT',
      `the GPT is damaged beyond repair: primary (LBA 1): ${primary.reason}; backup (LBA ${backupAt}): ${backup.reason}`,
      {
        diskSectors,
        primary: primary.reason,
        backup: backup.reason,
      },
    );
  }

  const { header } = chosen;
  const table: GptTable = {
    diskSectors,
    diskGuid: header.diskGuid,
    firstUsableLBA: header.firstUsableLBA,
    lastUsableLBA: header.lastUsableLBA,
    // A table read from the backup gets its primary array back at the usual place.
    partitionEntryLBA: chosen === primary ? header.partitionEntryLBA : DEFAULT_PARTITION_ENTRY_LBA,
    numberOfPartitionEntries: header.numberOfPartitionEntries,
    sizeOfPartitionEntry: header.sizeOfPartitionEntry,
    partitions: chosen.entries.map((entry) => ({ ...entry, typeName: partitionTypeName(entry.typeGuid) })),
    warnings,
  };
  // A table the disk holds but we would refuse to write: say why now rather than at write time.
  for (const problem of findGptProblems(table)) warnings.push(`This table cannot be written back as it is: ${problem.message}.`);
  return table;
}
