/**
 * GPT partition entries (UEFI spec 2.10, section 5.3.3, table "GPT Partition Entry"): an array of
 * NumberOfPartitionEntries entries of SizeOfPartitionEntry bytes each (usually 128 × 128), whose
 * CRC-32 is stored in the header. An entry whose PartitionTypeGUID is all zeros is unused.
 */
import { LoopbackError } from '../../errors';
import { crc32 } from '../../util/crc32';
import type { GptAttributes } from './attributes';
import { guidFromBytes, guidToBytes, ZERO_GUID, type Guid } from './guid';
import { readLBA, writeLBA } from './header';

/** Byte offsets inside one entry (UEFI 5.3.3). */
export const GPT_ENTRY = {
  partitionTypeGUID: 0, // EFI_GUID, 16 bytes
  uniquePartitionGUID: 16, // EFI_GUID, 16 bytes
  startingLBA: 32, // EFI_LBA (UINT64)
  endingLBA: 40, // EFI_LBA, inclusive
  attributes: 48, // UINT64
  partitionName: 56, // CHAR16[36], UTF-16LE, NUL-padded
} as const;

/** PartitionName is 72 bytes: 36 UTF-16 code units (no terminator needed when all are used). */
export const PARTITION_NAME_MAX_CODE_UNITS = 36;

export interface GptEntry {
  typeGuid: Guid;
  uniqueGuid: Guid;
  startingLBA: number;
  /** Inclusive: the partition's last sector. */
  endingLBA: number;
  attributes: GptAttributes;
  name: string;
}

/** A used entry and its slot: `index` is 1-based, the partition number tools show. */
export interface IndexedGptEntry extends GptEntry {
  index: number;
}

/** Why `name` cannot be stored in an entry, or null when it can. */
export function partitionNameProblem(name: string): string | null {
  if (typeof name !== 'string') return 'the name is not a string';
  if (name.length > PARTITION_NAME_MAX_CODE_UNITS) {
    return `the name "${name}" is ${name.length} UTF-16 code units long; GPT stores at most ${PARTITION_NAME_MAX_CODE_UNITS}`;
  }
  if (name.includes('\u0000')) return `the name ${JSON.stringify(name)} contains a NUL character, which would end it early`;
  return null;
}

function decodeName(bytes: Uint8Array, offsetBytes: number): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let name = '';
  for (let i = 0; i < PARTITION_NAME_MAX_CODE_UNITS; i++) {
    const codeUnit = view.getUint16(offsetBytes + i * 2, true);
    if (codeUnit === 0) break;
    // Code units, not code points: an unpaired surrogate survives the round trip unchanged.
    name += String.fromCharCode(codeUnit);
  }
  return name;
}

/** The entry at `offsetBytes`, or null when it is unused (zero type GUID). */
export function parseGptEntry(bytes: Uint8Array, offsetBytes: number): GptEntry | null {
  const typeGuid = guidFromBytes(bytes, offsetBytes + GPT_ENTRY.partitionTypeGUID);
  if (typeGuid === ZERO_GUID) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    typeGuid,
    uniqueGuid: guidFromBytes(bytes, offsetBytes + GPT_ENTRY.uniquePartitionGUID),
    startingLBA: readLBA(view, offsetBytes + GPT_ENTRY.startingLBA, 'StartingLBA'),
    endingLBA: readLBA(view, offsetBytes + GPT_ENTRY.endingLBA, 'EndingLBA'),
    attributes: {
      low32: view.getUint32(offsetBytes + GPT_ENTRY.attributes, true),
      high32: view.getUint32(offsetBytes + GPT_ENTRY.attributes + 4, true),
    },
    name: decodeName(bytes, offsetBytes + GPT_ENTRY.partitionName),
  };
}

/** Writes `entry` into `target` at `offsetBytes` (the bytes there must be zero). */
export function encodeGptEntry(entry: GptEntry, target: Uint8Array, offsetBytes: number): void {
  const nameProblem = partitionNameProblem(entry.name);
  if (nameProblem) throw new LoopbackError('VALIDATION', nameProblem, { name: entry.name });
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  target.set(guidToBytes(entry.typeGuid), offsetBytes + GPT_ENTRY.partitionTypeGUID);
  target.set(guidToBytes(entry.uniqueGuid), offsetBytes + GPT_ENTRY.uniquePartitionGUID);
  writeLBA(view, offsetBytes + GPT_ENTRY.startingLBA, entry.startingLBA);
  writeLBA(view, offsetBytes + GPT_ENTRY.endingLBA, entry.endingLBA);
  view.setUint32(offsetBytes + GPT_ENTRY.attributes, entry.attributes.low32, true);
  view.setUint32(offsetBytes + GPT_ENTRY.attributes + 4, entry.attributes.high32, true);
  for (let i = 0; i < entry.name.length; i++) {
    view.setUint16(offsetBytes + GPT_ENTRY.partitionName + i * 2, entry.name.charCodeAt(i), true);
  }
}

/** The used entries of an array, with their 1-based slot numbers, in slot order. */
export function parseGptEntryArray(bytes: Uint8Array, numberOfPartitionEntries: number, sizeOfPartitionEntry: number): IndexedGptEntry[] {
  const entries: IndexedGptEntry[] = [];
  for (let slot = 0; slot < numberOfPartitionEntries; slot++) {
    const entry = parseGptEntry(bytes, slot * sizeOfPartitionEntry);
    if (entry) entries.push({ index: slot + 1, ...entry });
  }
  return entries;
}

/**
 * The whole array, padded with zeros to whole sectors of `sectorSizeBytes`. Each entry goes to
 * slot `index − 1`; slots without an entry stay zero (unused).
 */
export function encodeGptEntryArray(
  entries: readonly IndexedGptEntry[],
  numberOfPartitionEntries: number,
  sizeOfPartitionEntry: number,
  sectorSizeBytes: number,
): { bytes: Uint8Array; partitionEntryArrayCRC32: number } {
  const arrayBytes = numberOfPartitionEntries * sizeOfPartitionEntry;
  const bytes = new Uint8Array(Math.ceil(arrayBytes / sectorSizeBytes) * sectorSizeBytes);
  for (const entry of entries) encodeGptEntry(entry, bytes, (entry.index - 1) * sizeOfPartitionEntry);
  // The CRC covers NumberOfPartitionEntries × SizeOfPartitionEntry bytes, not the sector padding.
  return { bytes, partitionEntryArrayCRC32: crc32(bytes.subarray(0, arrayBytes)) };
}
