/**
 * The GPT header (UEFI spec 2.10, section 5.3.2, table "GPT Header"): the primary copy in LBA 1, the
 * backup in the last LBA. All integers little-endian. HeaderCRC32 is the CRC-32 of the first
 * HeaderSize bytes computed with the HeaderCRC32 field itself set to zero.
 */
import { LoopbackError } from '../../errors';
import { crc32 } from '../../util/crc32';
import { guidFromBytes, guidToBytes, type Guid } from './guid';
import { SECTOR_SIZE_BYTES } from './layout';

/** "EFI PART" in ASCII: 45h 46h 49h 20h 50h 41h 52h 54h. */
export const GPT_SIGNATURE = 'EFI PART';
export const GPT_SIGNATURE_BYTES = Uint8Array.from(GPT_SIGNATURE, (c) => c.charCodeAt(0));
/** Revision 1.0 (00h 00h 01h 00h), the only one UEFI defines. */
export const GPT_REVISION_1_0 = 0x00010000;
/** The size of the fields below; the rest of the sector is reserved and must be zero. */
export const GPT_HEADER_SIZE_BYTES = 92;

/** Byte offsets of the header fields (UEFI 5.3.2). */
export const GPT_HEADER = {
  signature: 0, // 8 bytes
  revision: 8, // UINT32
  headerSize: 12, // UINT32, bytes
  headerCRC32: 16, // UINT32
  reserved: 20, // UINT32, zero
  myLBA: 24, // EFI_LBA (UINT64)
  alternateLBA: 32, // EFI_LBA
  firstUsableLBA: 40, // EFI_LBA
  lastUsableLBA: 48, // EFI_LBA
  diskGUID: 56, // EFI_GUID, 16 bytes
  partitionEntryLBA: 72, // EFI_LBA
  numberOfPartitionEntries: 80, // UINT32
  sizeOfPartitionEntry: 84, // UINT32, bytes
  partitionEntryArrayCRC32: 88, // UINT32
} as const;

export interface GptHeader {
  revision: number;
  headerSizeBytes: number;
  headerCRC32: number;
  /** The LBA of this header: 1 for the primary, the last LBA for the backup. */
  myLBA: number;
  /** The LBA of the other copy's header. */
  alternateLBA: number;
  firstUsableLBA: number;
  lastUsableLBA: number;
  diskGuid: Guid;
  /** Where this copy's partition entry array starts. */
  partitionEntryLBA: number;
  numberOfPartitionEntries: number;
  /** Bytes per entry: 128 × 2^n. */
  sizeOfPartitionEntry: number;
  partitionEntryArrayCRC32: number;
}

/** The fields a caller chooses; signature, revision, size and header CRC are ours. */
export type GptHeaderFields = Omit<GptHeader, 'revision' | 'headerSizeBytes' | 'headerCRC32'>;

/**
 * Reads a 64-bit LBA field as a Number, refusing values JavaScript cannot hold exactly (the
 * spec allows 2^64 sectors; no disk has more than 2^53).
 */
export function readLBA(view: DataView, offsetBytes: number, field: string): number {
  const value = view.getBigUint64(offsetBytes, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new LoopbackError('INVALID_INPUT', `${field} is ${value}, beyond the 2^53 − 1 sectors Loopback Studio can address`, {
      field,
      value: value.toString(),
    });
  }
  return Number(value);
}

export function writeLBA(view: DataView, offsetBytes: number, lba: number): void {
  view.setBigUint64(offsetBytes, BigInt(lba), true);
}

/** 128 × 2^n (UEFI 5.3.2, SizeOfPartitionEntry). */
export function isValidEntrySize(sizeOfPartitionEntry: number): boolean {
  return Number.isInteger(sizeOfPartitionEntry) && sizeOfPartitionEntry >= 128 && (sizeOfPartitionEntry & (sizeOfPartitionEntry - 1)) === 0;
}

function headerCrc(headerBytes: Uint8Array): number {
  const copy = headerBytes.slice();
  new DataView(copy.buffer).setUint32(GPT_HEADER.headerCRC32, 0, true);
  return crc32(copy);
}

function invalid(reason: string, details: Record<string, unknown> = {}): LoopbackError {
  return new LoopbackError('INVALID_INPUT', reason, details);
}

/**
 * Parses and checks one header sector: signature, revision, header size, header CRC, and the
 * entry size. Where it sits on the disk is checked by the caller (read.ts), which knows where
 * it found it. Throws LoopbackError('INVALID_INPUT') with the reason.
 */
export function parseGptHeader(sector: Uint8Array): GptHeader {
  if (sector.length < GPT_HEADER_SIZE_BYTES) throw invalid(`a GPT header needs ${GPT_HEADER_SIZE_BYTES} bytes, got ${sector.length}`);
  const view = new DataView(sector.buffer, sector.byteOffset, sector.byteLength);
  if (!GPT_SIGNATURE_BYTES.every((byte, i) => sector[GPT_HEADER.signature + i] === byte)) {
    throw invalid(`no "${GPT_SIGNATURE}" signature`, { reason: 'signature' });
  }
  const revision = view.getUint32(GPT_HEADER.revision, true);
  if (revision >>> 16 !== 1) {
    throw invalid(`unsupported GPT revision 0x${revision.toString(16).padStart(8, '0')} (expected 1.x)`, { revision });
  }
  const headerSizeBytes = view.getUint32(GPT_HEADER.headerSize, true);
  if (headerSizeBytes < GPT_HEADER_SIZE_BYTES || headerSizeBytes > sector.length) {
    throw invalid(`header size ${headerSizeBytes} bytes is outside ${GPT_HEADER_SIZE_BYTES}..${sector.length}`, { headerSizeBytes });
  }
  const headerCRC32 = view.getUint32(GPT_HEADER.headerCRC32, true);
  const computed = headerCrc(sector.subarray(0, headerSizeBytes));
  if (computed !== headerCRC32) {
    throw invalid(`header CRC32 is 0x${hex32(headerCRC32)} but the header's bytes give 0x${hex32(computed)}`, { headerCRC32, computed });
  }
  const sizeOfPartitionEntry = view.getUint32(GPT_HEADER.sizeOfPartitionEntry, true);
  if (!isValidEntrySize(sizeOfPartitionEntry)) {
    throw invalid(`partition entry size ${sizeOfPartitionEntry} bytes is not 128 × 2^n`, { sizeOfPartitionEntry });
  }
  return {
    revision,
    headerSizeBytes,
    headerCRC32,
    myLBA: readLBA(view, GPT_HEADER.myLBA, 'MyLBA'),
    alternateLBA: readLBA(view, GPT_HEADER.alternateLBA, 'AlternateLBA'),
    firstUsableLBA: readLBA(view, GPT_HEADER.firstUsableLBA, 'FirstUsableLBA'),
    lastUsableLBA: readLBA(view, GPT_HEADER.lastUsableLBA, 'LastUsableLBA'),
    diskGuid: guidFromBytes(sector, GPT_HEADER.diskGUID),
    partitionEntryLBA: readLBA(view, GPT_HEADER.partitionEntryLBA, 'PartitionEntryLBA'),
    numberOfPartitionEntries: view.getUint32(GPT_HEADER.numberOfPartitionEntries, true),
    sizeOfPartitionEntry,
    partitionEntryArrayCRC32: view.getUint32(GPT_HEADER.partitionEntryArrayCRC32, true),
  };
}

/** One sector holding the header (revision 1.0, 92 bytes, CRC computed, the rest zero). */
export function encodeGptHeader(fields: GptHeaderFields): Uint8Array {
  const sector = new Uint8Array(SECTOR_SIZE_BYTES);
  const view = new DataView(sector.buffer);
  sector.set(GPT_SIGNATURE_BYTES, GPT_HEADER.signature);
  view.setUint32(GPT_HEADER.revision, GPT_REVISION_1_0, true);
  view.setUint32(GPT_HEADER.headerSize, GPT_HEADER_SIZE_BYTES, true);
  writeLBA(view, GPT_HEADER.myLBA, fields.myLBA);
  writeLBA(view, GPT_HEADER.alternateLBA, fields.alternateLBA);
  writeLBA(view, GPT_HEADER.firstUsableLBA, fields.firstUsableLBA);
  writeLBA(view, GPT_HEADER.lastUsableLBA, fields.lastUsableLBA);
  sector.set(guidToBytes(fields.diskGuid), GPT_HEADER.diskGUID);
  writeLBA(view, GPT_HEADER.partitionEntryLBA, fields.partitionEntryLBA);
  view.setUint32(GPT_HEADER.numberOfPartitionEntries, fields.numberOfPartitionEntries, true);
  view.setUint32(GPT_HEADER.sizeOfPartitionEntry, fields.sizeOfPartitionEntry, true);
  view.setUint32(GPT_HEADER.partitionEntryArrayCRC32, fields.partitionEntryArrayCRC32, true);
  // The CRC covers HeaderSize bytes with its own field zero, which it still is here.
  view.setUint32(GPT_HEADER.headerCRC32, crc32(sector.subarray(0, GPT_HEADER_SIZE_BYTES)), true);
  return sector;
}

export function hex32(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}
