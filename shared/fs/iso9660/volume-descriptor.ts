/**
 * Volume descriptors (ECMA-119 section 8): one logical block (2048 bytes) each, from block 16
 * on, ended by a Volume Descriptor Set Terminator.
 *
 * - Primary Volume Descriptor (8.4) and Supplementary Volume Descriptor (8.5) share one layout;
 *   the supplementary one adds the volume flags (byte 7) and escape sequences (bytes 88–119).
 *   Joliet is a supplementary descriptor whose escape sequences name UCS-2 (see joliet.ts); its
 *   text fields are UCS-2 big-endian instead of a-/d-characters.
 * - Boot Record (8.2): El Torito's lives in el-torito.ts.
 * - Volume Descriptor Set Terminator (8.3).
 *
 * Byte offsets below are ECMA-119's "BP" (byte position) minus one. Field names follow the
 * standard's: volumeSpaceSize is in logical blocks, pathTableSize in bytes.
 */
import { LoopbackError } from '../../errors';
import { decodeDirectoryRecord, encodeDirectoryRecord, ROOT_DIRECTORY_RECORD_BYTES, type DirectoryRecord } from './directory-record';
import { encodeVolumeDate, parseVolumeDate } from './dates';
import {
  getBothU16,
  getBothU32,
  getPaddedAscii,
  getPaddedUcs2,
  getU32BE,
  getU32LE,
  putBothU16,
  putBothU32,
  putPaddedAscii,
  putPaddedUcs2,
  putU32BE,
  putU32LE,
} from './numbers';

export const LOGICAL_BLOCK_BYTES = 2048;
/** 6.2.1: the System Area is logical sectors 0–15; the descriptor set starts at sector 16. */
export const SYSTEM_AREA_BLOCKS = 16;
export const FIRST_VOLUME_DESCRIPTOR_BLOCK = 16;
export const VOLUME_DESCRIPTOR_BYTES = 2048;

/** 8.1.1 Volume Descriptor Type. */
export const VOLUME_DESCRIPTOR_TYPE = {
  BOOT_RECORD: 0,
  PRIMARY: 1,
  SUPPLEMENTARY: 2,
  PARTITION: 3,
  TERMINATOR: 255,
} as const;

/** 8.1.2 Standard Identifier. */
export const STANDARD_IDENTIFIER = 'CD001';
/** 8.1.3 Volume Descriptor Version (and 8.4.31 File Structure Version). */
export const VOLUME_DESCRIPTOR_VERSION = 1;
export const FILE_STRUCTURE_VERSION = 1;

// --- 8.1: the header every descriptor has ---
export const VD_VOLUME_DESCRIPTOR_TYPE = 0; // u8
export const VD_STANDARD_IDENTIFIER = 1; // 5 bytes "CD001"
export const VD_VOLUME_DESCRIPTOR_VERSION = 6; // u8

// --- 8.4 Primary / 8.5 Supplementary Volume Descriptor ---
export const VD_VOLUME_FLAGS = 7; // u8 (supplementary only; unused in the primary)
export const VD_SYSTEM_IDENTIFIER = 8; // 32 bytes
export const VD_VOLUME_IDENTIFIER = 40; // 32 bytes
export const VD_VOLUME_SPACE_SIZE = 80; // 7.3.3, logical blocks
export const VD_ESCAPE_SEQUENCES = 88; // 32 bytes (supplementary only)
export const VD_VOLUME_SET_SIZE = 120; // 7.2.3
export const VD_VOLUME_SEQUENCE_NUMBER = 124; // 7.2.3
export const VD_LOGICAL_BLOCK_SIZE = 128; // 7.2.3, bytes
export const VD_PATH_TABLE_SIZE = 132; // 7.3.3, bytes
export const VD_LOCATION_OF_TYPE_L_PATH_TABLE = 140; // 7.3.1
export const VD_LOCATION_OF_OPTIONAL_TYPE_L_PATH_TABLE = 144; // 7.3.1
export const VD_LOCATION_OF_TYPE_M_PATH_TABLE = 148; // 7.3.2
export const VD_LOCATION_OF_OPTIONAL_TYPE_M_PATH_TABLE = 152; // 7.3.2
export const VD_DIRECTORY_RECORD_FOR_ROOT_DIRECTORY = 156; // 34 bytes
export const VD_VOLUME_SET_IDENTIFIER = 190; // 128 bytes
export const VD_PUBLISHER_IDENTIFIER = 318; // 128 bytes
export const VD_DATA_PREPARER_IDENTIFIER = 446; // 128 bytes
export const VD_APPLICATION_IDENTIFIER = 574; // 128 bytes
export const VD_COPYRIGHT_FILE_IDENTIFIER = 702; // 37 bytes
export const VD_ABSTRACT_FILE_IDENTIFIER = 739; // 37 bytes
export const VD_BIBLIOGRAPHIC_FILE_IDENTIFIER = 776; // 37 bytes
export const VD_VOLUME_CREATION_DATE_AND_TIME = 813; // 17 bytes
export const VD_VOLUME_MODIFICATION_DATE_AND_TIME = 830; // 17 bytes
export const VD_VOLUME_EXPIRATION_DATE_AND_TIME = 847; // 17 bytes
export const VD_VOLUME_EFFECTIVE_DATE_AND_TIME = 864; // 17 bytes
export const VD_FILE_STRUCTURE_VERSION = 881; // u8
export const VD_APPLICATION_USE = 883; // 512 bytes

export const SYSTEM_IDENTIFIER_BYTES = 32;
export const VOLUME_IDENTIFIER_BYTES = 32;
export const ESCAPE_SEQUENCES_BYTES = 32;
export const LONG_IDENTIFIER_BYTES = 128;
export const FILE_IDENTIFIER_FIELD_BYTES = 37;

/** The fields of a primary or supplementary descriptor (8.4, 8.5); text as it reads, padding removed. */
export interface VolumeDescriptor {
  volumeDescriptorType: typeof VOLUME_DESCRIPTOR_TYPE.PRIMARY | typeof VOLUME_DESCRIPTOR_TYPE.SUPPLEMENTARY;
  /** 8.5.3 (supplementary only): bit 0 set = escape sequences not registered per ISO 2375. */
  volumeFlags: number;
  systemIdentifier: string;
  volumeIdentifier: string;
  volumeSpaceSize: number;
  /** 8.5.6 (supplementary only): e.g. "%/E" for Joliet UCS-2 level 3. */
  escapeSequences: Uint8Array;
  volumeSetSize: number;
  volumeSequenceNumber: number;
  logicalBlockSize: number;
  pathTableSize: number;
  locationOfTypeLPathTable: number;
  locationOfOptionalTypeLPathTable: number;
  locationOfTypeMPathTable: number;
  locationOfOptionalTypeMPathTable: number;
  directoryRecordForRootDirectory: DirectoryRecord;
  volumeSetIdentifier: string;
  publisherIdentifier: string;
  dataPreparerIdentifier: string;
  applicationIdentifier: string;
  copyrightFileIdentifier: string;
  abstractFileIdentifier: string;
  bibliographicFileIdentifier: string;
  /** Milliseconds since the epoch, or null for "not specified". */
  volumeCreationDateAndTime: number | null;
  volumeModificationDateAndTime: number | null;
  volumeExpirationDateAndTime: number | null;
  volumeEffectiveDateAndTime: number | null;
  fileStructureVersion: number;
  applicationUse: Uint8Array;
}

/** How a descriptor's text fields are recorded: a-/d-characters, or UCS-2 big-endian (Joliet). */
export type TextEncoding = 'ascii' | 'ucs2';

/** 8.1: the type of the descriptor in `block`, or null when it does not start "?CD001\x01". */
export function volumeDescriptorType(block: Uint8Array): number | null {
  if (block.length < VOLUME_DESCRIPTOR_BYTES) return null;
  for (let i = 0; i < STANDARD_IDENTIFIER.length; i++) {
    if (block[VD_STANDARD_IDENTIFIER + i] !== STANDARD_IDENTIFIER.charCodeAt(i)) return null;
  }
  return block[VD_VOLUME_DESCRIPTOR_TYPE] ?? null;
}

/** The header (8.1) of any descriptor. */
export function encodeVolumeDescriptorHeader(block: Uint8Array, type: number): void {
  block[VD_VOLUME_DESCRIPTOR_TYPE] = type;
  putPaddedAscii(block, VD_STANDARD_IDENTIFIER, STANDARD_IDENTIFIER.length, STANDARD_IDENTIFIER);
  block[VD_VOLUME_DESCRIPTOR_VERSION] = VOLUME_DESCRIPTOR_VERSION;
}

/** 8.3: the Volume Descriptor Set Terminator. */
export function encodeTerminator(): Uint8Array {
  const block = new Uint8Array(VOLUME_DESCRIPTOR_BYTES);
  encodeVolumeDescriptorHeader(block, VOLUME_DESCRIPTOR_TYPE.TERMINATOR);
  return block;
}

/** 8.4 / 8.5: the 2048 bytes of a primary or supplementary descriptor. */
export function encodeVolumeDescriptor(vd: VolumeDescriptor, text: TextEncoding): Uint8Array {
  const block = new Uint8Array(VOLUME_DESCRIPTOR_BYTES);
  encodeVolumeDescriptorHeader(block, vd.volumeDescriptorType);
  const put = text === 'ucs2' ? putPaddedUcs2 : putPaddedAscii;
  if (vd.volumeDescriptorType === VOLUME_DESCRIPTOR_TYPE.SUPPLEMENTARY) {
    block[VD_VOLUME_FLAGS] = vd.volumeFlags;
    block.set(vd.escapeSequences.subarray(0, ESCAPE_SEQUENCES_BYTES), VD_ESCAPE_SEQUENCES);
  }
  put(block, VD_SYSTEM_IDENTIFIER, SYSTEM_IDENTIFIER_BYTES, vd.systemIdentifier);
  put(block, VD_VOLUME_IDENTIFIER, VOLUME_IDENTIFIER_BYTES, vd.volumeIdentifier);
  putBothU32(block, VD_VOLUME_SPACE_SIZE, vd.volumeSpaceSize);
  putBothU16(block, VD_VOLUME_SET_SIZE, vd.volumeSetSize);
  putBothU16(block, VD_VOLUME_SEQUENCE_NUMBER, vd.volumeSequenceNumber);
  putBothU16(block, VD_LOGICAL_BLOCK_SIZE, vd.logicalBlockSize);
  putBothU32(block, VD_PATH_TABLE_SIZE, vd.pathTableSize);
  putU32LE(block, VD_LOCATION_OF_TYPE_L_PATH_TABLE, vd.locationOfTypeLPathTable);
  putU32LE(block, VD_LOCATION_OF_OPTIONAL_TYPE_L_PATH_TABLE, vd.locationOfOptionalTypeLPathTable);
  putU32BE(block, VD_LOCATION_OF_TYPE_M_PATH_TABLE, vd.locationOfTypeMPathTable);
  putU32BE(block, VD_LOCATION_OF_OPTIONAL_TYPE_M_PATH_TABLE, vd.locationOfOptionalTypeMPathTable);
  const root = encodeDirectoryRecord(vd.directoryRecordForRootDirectory);
  if (root.length !== ROOT_DIRECTORY_RECORD_BYTES) {
    throw new LoopbackError(
      'INTERNAL',
      `the root directory record in a volume descriptor is ${ROOT_DIRECTORY_RECORD_BYTES} bytes, got ${root.length}`,
    );
  }
  block.set(root, VD_DIRECTORY_RECORD_FOR_ROOT_DIRECTORY);
  put(block, VD_VOLUME_SET_IDENTIFIER, LONG_IDENTIFIER_BYTES, vd.volumeSetIdentifier);
  put(block, VD_PUBLISHER_IDENTIFIER, LONG_IDENTIFIER_BYTES, vd.publisherIdentifier);
  put(block, VD_DATA_PREPARER_IDENTIFIER, LONG_IDENTIFIER_BYTES, vd.dataPreparerIdentifier);
  put(block, VD_APPLICATION_IDENTIFIER, LONG_IDENTIFIER_BYTES, vd.applicationIdentifier);
  put(block, VD_COPYRIGHT_FILE_IDENTIFIER, FILE_IDENTIFIER_FIELD_BYTES, vd.copyrightFileIdentifier);
  put(block, VD_ABSTRACT_FILE_IDENTIFIER, FILE_IDENTIFIER_FIELD_BYTES, vd.abstractFileIdentifier);
  put(block, VD_BIBLIOGRAPHIC_FILE_IDENTIFIER, FILE_IDENTIFIER_FIELD_BYTES, vd.bibliographicFileIdentifier);
  encodeVolumeDate(vd.volumeCreationDateAndTime, block, VD_VOLUME_CREATION_DATE_AND_TIME);
  encodeVolumeDate(vd.volumeModificationDateAndTime, block, VD_VOLUME_MODIFICATION_DATE_AND_TIME);
  encodeVolumeDate(vd.volumeExpirationDateAndTime, block, VD_VOLUME_EXPIRATION_DATE_AND_TIME);
  encodeVolumeDate(vd.volumeEffectiveDateAndTime, block, VD_VOLUME_EFFECTIVE_DATE_AND_TIME);
  block[VD_FILE_STRUCTURE_VERSION] = vd.fileStructureVersion;
  block.set(vd.applicationUse.subarray(0, 512), VD_APPLICATION_USE);
  return block;
}

/** 8.4 / 8.5 from 2048 bytes. Throws unless the block is a primary or supplementary descriptor. */
export function parseVolumeDescriptor(block: Uint8Array, text: TextEncoding): VolumeDescriptor {
  const type = volumeDescriptorType(block);
  if (type !== VOLUME_DESCRIPTOR_TYPE.PRIMARY && type !== VOLUME_DESCRIPTOR_TYPE.SUPPLEMENTARY) {
    throw new LoopbackError('INVALID_INPUT', `not a primary or supplementary volume descriptor (type ${type ?? 'none'})`, { type });
  }
  const get = text === 'ucs2' ? getPaddedUcs2 : getPaddedAscii;
  return {
    volumeDescriptorType: type,
    volumeFlags: block[VD_VOLUME_FLAGS] ?? 0,
    systemIdentifier: get(block, VD_SYSTEM_IDENTIFIER, SYSTEM_IDENTIFIER_BYTES),
    volumeIdentifier: get(block, VD_VOLUME_IDENTIFIER, VOLUME_IDENTIFIER_BYTES),
    volumeSpaceSize: getBothU32(block, VD_VOLUME_SPACE_SIZE),
    escapeSequences: block.slice(VD_ESCAPE_SEQUENCES, VD_ESCAPE_SEQUENCES + ESCAPE_SEQUENCES_BYTES),
    volumeSetSize: getBothU16(block, VD_VOLUME_SET_SIZE),
    volumeSequenceNumber: getBothU16(block, VD_VOLUME_SEQUENCE_NUMBER),
    logicalBlockSize: getBothU16(block, VD_LOGICAL_BLOCK_SIZE),
    pathTableSize: getBothU32(block, VD_PATH_TABLE_SIZE),
    locationOfTypeLPathTable: getU32LE(block, VD_LOCATION_OF_TYPE_L_PATH_TABLE),
    locationOfOptionalTypeLPathTable: getU32LE(block, VD_LOCATION_OF_OPTIONAL_TYPE_L_PATH_TABLE),
    locationOfTypeMPathTable: getU32BE(block, VD_LOCATION_OF_TYPE_M_PATH_TABLE),
    locationOfOptionalTypeMPathTable: getU32BE(block, VD_LOCATION_OF_OPTIONAL_TYPE_M_PATH_TABLE),
    directoryRecordForRootDirectory: decodeDirectoryRecord(block, VD_DIRECTORY_RECORD_FOR_ROOT_DIRECTORY),
    volumeSetIdentifier: get(block, VD_VOLUME_SET_IDENTIFIER, LONG_IDENTIFIER_BYTES),
    publisherIdentifier: get(block, VD_PUBLISHER_IDENTIFIER, LONG_IDENTIFIER_BYTES),
    dataPreparerIdentifier: get(block, VD_DATA_PREPARER_IDENTIFIER, LONG_IDENTIFIER_BYTES),
    applicationIdentifier: get(block, VD_APPLICATION_IDENTIFIER, LONG_IDENTIFIER_BYTES),
    copyrightFileIdentifier: get(block, VD_COPYRIGHT_FILE_IDENTIFIER, FILE_IDENTIFIER_FIELD_BYTES),
    abstractFileIdentifier: get(block, VD_ABSTRACT_FILE_IDENTIFIER, FILE_IDENTIFIER_FIELD_BYTES),
    bibliographicFileIdentifier: get(block, VD_BIBLIOGRAPHIC_FILE_IDENTIFIER, FILE_IDENTIFIER_FIELD_BYTES),
    volumeCreationDateAndTime: parseVolumeDate(block, VD_VOLUME_CREATION_DATE_AND_TIME),
    volumeModificationDateAndTime: parseVolumeDate(block, VD_VOLUME_MODIFICATION_DATE_AND_TIME),
    volumeExpirationDateAndTime: parseVolumeDate(block, VD_VOLUME_EXPIRATION_DATE_AND_TIME),
    volumeEffectiveDateAndTime: parseVolumeDate(block, VD_VOLUME_EFFECTIVE_DATE_AND_TIME),
    fileStructureVersion: block[VD_FILE_STRUCTURE_VERSION] ?? 0,
    applicationUse: block.slice(VD_APPLICATION_USE, VD_APPLICATION_USE + 512),
  };
}
