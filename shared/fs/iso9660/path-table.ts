/**
 * Path tables (ECMA-119 9.4 and 6.9): every directory once, in a fixed order, so a reader can
 * find a deep directory without reading its parents. The Type L table has its numbers
 * little-endian, the Type M table big-endian; both list the same records.
 *
 *   0  lengthOfDirectoryIdentifier       u8
 *   1  extendedAttributeRecordLength     u8
 *   2  locationOfExtent                  u32 (7.3.1 in L, 7.3.2 in M)
 *   6  parentDirectoryNumber             u16 (7.2.1 in L, 7.2.2 in M)
 *   8  directoryIdentifier               lengthOfDirectoryIdentifier bytes
 *      padding                           one zero byte when the identifier length is odd
 *
 * 6.9.1 orders the records by level in the hierarchy, then by the parent's directory number,
 * then by identifier; a directory's number is its position (from 1, the root). The root's
 * identifier is one 0x00 byte and its parent is itself (number 1).
 */
import { LoopbackError } from '../../errors';
import { getU16BE, getU16LE, getU32BE, getU32LE, putU16BE, putU16LE, putU32BE, putU32LE } from './numbers';

export const PT_LENGTH_OF_DIRECTORY_IDENTIFIER = 0;
export const PT_EXTENDED_ATTRIBUTE_RECORD_LENGTH = 1;
export const PT_LOCATION_OF_EXTENT = 2;
export const PT_PARENT_DIRECTORY_NUMBER = 6;
export const PT_DIRECTORY_IDENTIFIER = 8;

/** parentDirectoryNumber is 16 bits: a volume has at most this many directories. */
export const MAX_PATH_TABLE_DIRECTORIES = 0xffff;

export type PathTableType = 'L' | 'M';

export interface PathTableRecord {
  extendedAttributeRecordLength: number;
  locationOfExtent: number;
  parentDirectoryNumber: number;
  directoryIdentifier: Uint8Array;
}

export function pathTableRecordLength(identifierLength: number): number {
  return PT_DIRECTORY_IDENTIFIER + identifierLength + (identifierLength % 2);
}

/** The bytes of a whole table (pathTableSize of them), records in the order given. */
export function encodePathTable(records: readonly PathTableRecord[], type: PathTableType): Uint8Array {
  if (records.length > MAX_PATH_TABLE_DIRECTORIES) {
    throw new LoopbackError(
      'VALIDATION',
      `an ISO 9660 volume holds at most ${MAX_PATH_TABLE_DIRECTORIES} directories; this one has ${records.length}`,
      {
        directories: records.length,
      },
    );
  }
  let size = 0;
  for (const record of records) size += pathTableRecordLength(record.directoryIdentifier.length);
  const bytes = new Uint8Array(size);
  const putU16 = type === 'L' ? putU16LE : putU16BE;
  const putU32 = type === 'L' ? putU32LE : putU32BE;
  let offset = 0;
  for (const record of records) {
    bytes[offset + PT_LENGTH_OF_DIRECTORY_IDENTIFIER] = record.directoryIdentifier.length;
    bytes[offset + PT_EXTENDED_ATTRIBUTE_RECORD_LENGTH] = record.extendedAttributeRecordLength;
    putU32(bytes, offset + PT_LOCATION_OF_EXTENT, record.locationOfExtent);
    putU16(bytes, offset + PT_PARENT_DIRECTORY_NUMBER, record.parentDirectoryNumber);
    bytes.set(record.directoryIdentifier, offset + PT_DIRECTORY_IDENTIFIER);
    offset += pathTableRecordLength(record.directoryIdentifier.length);
  }
  return bytes;
}

/** Every record of a table of `pathTableSize` bytes. */
export function parsePathTable(bytes: Uint8Array, type: PathTableType): PathTableRecord[] {
  const getU16 = type === 'L' ? getU16LE : getU16BE;
  const getU32 = type === 'L' ? getU32LE : getU32BE;
  const records: PathTableRecord[] = [];
  let offset = 0;
  while (offset + PT_DIRECTORY_IDENTIFIER <= bytes.length) {
    const idLength = bytes[offset + PT_LENGTH_OF_DIRECTORY_IDENTIFIER] ?? 0;
    if (idLength === 0) break;
    records.push({
      extendedAttributeRecordLength: bytes[offset + PT_EXTENDED_ATTRIBUTE_RECORD_LENGTH] ?? 0,
      locationOfExtent: getU32(bytes, offset + PT_LOCATION_OF_EXTENT),
      parentDirectoryNumber: getU16(bytes, offset + PT_PARENT_DIRECTORY_NUMBER),
      directoryIdentifier: bytes.slice(offset + PT_DIRECTORY_IDENTIFIER, offset + PT_DIRECTORY_IDENTIFIER + idLength),
    });
    offset += pathTableRecordLength(idLength);
  }
  return records;
}
