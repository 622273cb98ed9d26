/**
 * GUID Partition Tables (UEFI spec 2.10, section 5.3), in pure TypeScript over a BlockDevice.
 *
 *   const table = addPartition(newGpt(sectors), { type: 'linux', name: 'root' });
 *   await writeGpt(device, table);
 *   const again = await readGpt(device); // again.warnings says what was wrong on the disk, if anything
 *
 * Sector numbers are Numbers (512-byte sectors); GUIDs are upper-case strings; attributes are two
 * 32-bit halves (attributes.ts). Every error is a LoopbackError.
 */
export type { GptTable, GptPartition, NewGptOptions, SectorWrite } from './table';
export { newGpt, encodeGpt } from './table';
export { readGpt } from './read';
export { writeGpt } from './write';
export type { FreeRange, NewGptPartition } from './edit';
export {
  addPartition,
  deletePartition,
  resizePartition,
  setPartitionType,
  setPartitionName,
  setPartitionAttributes,
  setLegacyBiosBootable,
  freeRanges,
  DEFAULT_ALIGNMENT_SECTORS,
} from './edit';
export type { GptProblem, GptProblemKind } from './validate';
export { findGptProblems } from './validate';
export type { GptAttributes } from './attributes';
export {
  GPT_ATTRIBUTE_BITS,
  NO_ATTRIBUTES,
  hasAttribute,
  withAttribute,
  attributesToBigInt,
  attributesFromBigInt,
  formatAttributes,
} from './attributes';
export type { Guid } from './guid';
export { parseGuid, isGuid, randomGuid, guidToBytes, guidFromBytes, ZERO_GUID } from './guid';
export type { GptPartitionType } from './types';
export {
  GPT_PARTITION_TYPES,
  resolvePartitionType,
  partitionTypeName,
  sgdiskTypeCode,
  partitionTypeByGuid,
  UNKNOWN_TYPE_NAME,
} from './types';
export { PARTITION_NAME_MAX_CODE_UNITS } from './entries';
export {
  SECTOR_SIZE_BYTES,
  DEFAULT_NUMBER_OF_PARTITION_ENTRIES,
  DEFAULT_SIZE_OF_PARTITION_ENTRY,
  minimumDiskSectors,
  entryArraySectors,
} from './layout';
