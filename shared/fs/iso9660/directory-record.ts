/**
 * The directory record (ECMA-119 9.1): one per entry of a directory, "." and ".." first. A
 * record never crosses a logical block boundary (6.8.1.1); the rest of a block after its last
 * record is zero, which readers take as "go on at the next block".
 *
 *   0  lengthOfDirectoryRecord           u8
 *   1  extendedAttributeRecordLength     u8 (we write none)
 *   2  locationOfExtent                  7.3.3, logical block
 *  10  dataLength                        7.3.3, bytes
 *  18  recordingDateAndTime              7 bytes (9.1.5, see dates.ts)
 *  25  fileFlags                         u8 (9.1.6)
 *  26  fileUnitSize                      u8 (interleaving; 0)
 *  27  interleaveGapSize                 u8 (0)
 *  28  volumeSequenceNumber              7.2.3
 *  32  lengthOfFileIdentifier            u8
 *  33  fileIdentifier                    lengthOfFileIdentifier bytes
 *      padding                           one zero byte when lengthOfFileIdentifier is even
 *      systemUse                         the rest (SUSP / Rock Ridge entries), up to 255 in all
 */
import { LoopbackError } from '../../errors';
import { DIRECTORY_DATE_BYTES, encodeDirectoryDate, parseDirectoryDate } from './dates';
import { getBothU16, getBothU32, putBothU16, putBothU32 } from './numbers';

export const DR_LENGTH_OF_DIRECTORY_RECORD = 0;
export const DR_EXTENDED_ATTRIBUTE_RECORD_LENGTH = 1;
export const DR_LOCATION_OF_EXTENT = 2;
export const DR_DATA_LENGTH = 10;
export const DR_RECORDING_DATE_AND_TIME = 18;
export const DR_FILE_FLAGS = 25;
export const DR_FILE_UNIT_SIZE = 26;
export const DR_INTERLEAVE_GAP_SIZE = 27;
export const DR_VOLUME_SEQUENCE_NUMBER = 28;
export const DR_LENGTH_OF_FILE_IDENTIFIER = 32;
export const DR_FILE_IDENTIFIER = 33;

/** The fixed part, up to the file identifier. */
export const DIRECTORY_RECORD_HEADER_BYTES = 33;
/** A record's length is one byte. */
export const MAX_DIRECTORY_RECORD_BYTES = 255;
/** The root's record in a volume descriptor: header + a one-byte identifier (0x00), no system use. */
export const ROOT_DIRECTORY_RECORD_BYTES = 34;

/** 9.1.6 File Flags. */
export const FILE_FLAGS = {
  /** "Existence": the user need not be told the file exists (hidden). */
  EXISTENCE: 0x01,
  DIRECTORY: 0x02,
  ASSOCIATED_FILE: 0x04,
  RECORD: 0x08,
  PROTECTION: 0x10,
  /** This is not the final record of a file whose data is in several extents. */
  MULTI_EXTENT: 0x80,
} as const;

/** 9.1.11: the identifiers of "." and "..". */
export const SELF_IDENTIFIER = Uint8Array.of(0x00);
export const PARENT_IDENTIFIER = Uint8Array.of(0x01);

/** One parsed record; `recordingDateAndTime` in ms since the epoch (null when unset). */
export interface DirectoryRecord {
  lengthOfDirectoryRecord: number;
  extendedAttributeRecordLength: number;
  locationOfExtent: number;
  dataLength: number;
  recordingDateAndTime: number | null;
  fileFlags: number;
  fileUnitSize: number;
  interleaveGapSize: number;
  volumeSequenceNumber: number;
  fileIdentifier: Uint8Array;
  systemUse: Uint8Array;
}

/** What a writer gives; the length is computed. */
export type DirectoryRecordInput = Omit<DirectoryRecord, 'lengthOfDirectoryRecord' | 'recordingDateAndTime'> & {
  recordingDateAndTime: number;
};

/** Bytes before the system use area: 33 + identifier + its padding byte when the identifier length is even. */
export function systemUseOffset(fileIdentifierLength: number): number {
  return DIRECTORY_RECORD_HEADER_BYTES + fileIdentifierLength + (fileIdentifierLength % 2 === 0 ? 1 : 0);
}

/** The record's length for an identifier and system use of these sizes (9.1.1: always even). */
export function directoryRecordLength(fileIdentifierLength: number, systemUseLength: number): number {
  const length = systemUseOffset(fileIdentifierLength) + systemUseLength;
  return length + (length % 2);
}

/** 9.1: the bytes of one record. Throws when it would exceed 255 bytes. */
export function encodeDirectoryRecord(record: DirectoryRecordInput | DirectoryRecord): Uint8Array {
  const length = directoryRecordLength(record.fileIdentifier.length, record.systemUse.length);
  if (length > MAX_DIRECTORY_RECORD_BYTES) {
    throw new LoopbackError('INTERNAL', `a directory record of ${length} bytes exceeds ${MAX_DIRECTORY_RECORD_BYTES}`, { length });
  }
  const bytes = new Uint8Array(length);
  bytes[DR_LENGTH_OF_DIRECTORY_RECORD] = length;
  bytes[DR_EXTENDED_ATTRIBUTE_RECORD_LENGTH] = record.extendedAttributeRecordLength;
  putBothU32(bytes, DR_LOCATION_OF_EXTENT, record.locationOfExtent);
  putBothU32(bytes, DR_DATA_LENGTH, record.dataLength);
  if (record.recordingDateAndTime !== null) encodeDirectoryDate(record.recordingDateAndTime, bytes, DR_RECORDING_DATE_AND_TIME);
  bytes[DR_FILE_FLAGS] = record.fileFlags;
  bytes[DR_FILE_UNIT_SIZE] = record.fileUnitSize;
  bytes[DR_INTERLEAVE_GAP_SIZE] = record.interleaveGapSize;
  putBothU16(bytes, DR_VOLUME_SEQUENCE_NUMBER, record.volumeSequenceNumber);
  bytes[DR_LENGTH_OF_FILE_IDENTIFIER] = record.fileIdentifier.length;
  bytes.set(record.fileIdentifier, DR_FILE_IDENTIFIER);
  bytes.set(record.systemUse, systemUseOffset(record.fileIdentifier.length));
  return bytes;
}

/**
 * 9.1 from `bytes` at `offset`. The caller has checked that a record starts there (a nonzero
 * length byte); throws when the record claims more bytes than there are or is too short.
 */
export function decodeDirectoryRecord(bytes: Uint8Array, offset: number): DirectoryRecord {
  const length = bytes[offset + DR_LENGTH_OF_DIRECTORY_RECORD] ?? 0;
  const idLength = bytes[offset + DR_LENGTH_OF_FILE_IDENTIFIER] ?? 0;
  if (length < DIRECTORY_RECORD_HEADER_BYTES + 1 || offset + length > bytes.length || DIRECTORY_RECORD_HEADER_BYTES + idLength > length) {
    throw new LoopbackError('IO', `a damaged ISO 9660 directory record at byte ${offset} (length ${length}, identifier ${idLength})`, {
      offset,
      length,
    });
  }
  const useStart = Math.min(systemUseOffset(idLength), length);
  return {
    lengthOfDirectoryRecord: length,
    extendedAttributeRecordLength: bytes[offset + DR_EXTENDED_ATTRIBUTE_RECORD_LENGTH] ?? 0,
    locationOfExtent: getBothU32(bytes, offset + DR_LOCATION_OF_EXTENT),
    dataLength: getBothU32(bytes, offset + DR_DATA_LENGTH),
    recordingDateAndTime: parseDirectoryDate(
      bytes.subarray(offset + DR_RECORDING_DATE_AND_TIME, offset + DR_RECORDING_DATE_AND_TIME + DIRECTORY_DATE_BYTES),
    ),
    fileFlags: bytes[offset + DR_FILE_FLAGS] ?? 0,
    fileUnitSize: bytes[offset + DR_FILE_UNIT_SIZE] ?? 0,
    interleaveGapSize: bytes[offset + DR_INTERLEAVE_GAP_SIZE] ?? 0,
    volumeSequenceNumber: getBothU16(bytes, offset + DR_VOLUME_SEQUENCE_NUMBER),
    fileIdentifier: bytes.slice(offset + DR_FILE_IDENTIFIER, offset + DR_FILE_IDENTIFIER + idLength),
    systemUse: bytes.slice(offset + useStart, offset + length),
  };
}

/**
 * Every record of a directory's extent, "." and ".." included, in recorded order. A zero length
 * byte ends the records of the current block (6.8.1.1).
 */
export function decodeDirectoryExtent(extent: Uint8Array, logicalBlockBytes: number): DirectoryRecord[] {
  const records: DirectoryRecord[] = [];
  let offset = 0;
  while (offset < extent.length) {
    const length = extent[offset] ?? 0;
    if (length === 0) {
      offset = (Math.floor(offset / logicalBlockBytes) + 1) * logicalBlockBytes;
      continue;
    }
    records.push(decodeDirectoryRecord(extent, offset));
    offset += length;
  }
  return records;
}
