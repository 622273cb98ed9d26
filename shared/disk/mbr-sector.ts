/**
 * The 512-byte MBR sector, field by field, and the 16-byte partition entry it holds four of.
 * An EBR (extended boot record) has the same layout; `ebr.ts` gives its entries their meaning.
 *
 * Layout (offsets in bytes, multi-byte values little-endian):
 *   0x000  440  bootstrap code
 *   0x1B8    4  disk signature (Windows NT "disk identifier"; sfdisk's label-id)
 *   0x1BC    2  reserved, usually 0 (0x5A5A marks a copy-protected disk)
 *   0x1BE   64  four partition entries of 16 bytes
 *   0x1FE    2  boot signature 0x55 0xAA
 * A classic MBR has 446 bytes of code; the disk signature took the last 6 of them (Windows NT),
 * so we keep 0..439 as code and name the rest, and rewrite all 446 bytes as they were read.
 */
import { LoopbackError } from '../errors';
import type { Chs, TrackGeometry } from './geometry';
import { lbaToChs } from './geometry';
import { SECTOR_BYTES } from './sizes';

export const MBR_BOOT_CODE_OFFSET = 0x000;
export const MBR_BOOT_CODE_BYTES = 440;
export const MBR_DISK_SIGNATURE_OFFSET = 0x1b8; // 440
export const MBR_RESERVED_OFFSET = 0x1bc; // 444
export const MBR_PARTITION_TABLE_OFFSET = 0x1be; // 446
export const MBR_PARTITION_ENTRY_BYTES = 16;
export const MBR_PARTITION_ENTRY_COUNT = 4;
export const MBR_BOOT_SIGNATURE_OFFSET = 0x1fe; // 510
/** Bytes 0x55 0xAA at 510..511, read as a little-endian 16-bit value. */
export const MBR_BOOT_SIGNATURE = 0xaa55;

// Fields of a partition entry, offsets within its 16 bytes.
const ENTRY_STATUS_OFFSET = 0;
const ENTRY_FIRST_CHS_OFFSET = 1;
const ENTRY_TYPE_OFFSET = 4;
const ENTRY_LAST_CHS_OFFSET = 5;
const ENTRY_START_LBA_OFFSET = 8;
const ENTRY_SECTOR_COUNT_OFFSET = 12;

/** Status byte of a bootable ("active") partition; 0x00 is inactive, anything else invalid. */
export const MBR_STATUS_ACTIVE = 0x80;
export const MBR_STATUS_INACTIVE = 0x00;

/** The largest LBA a 32-bit entry field can hold: MBR disks end at 2^32 sectors (2 TiB). */
export const MBR_MAX_LBA = 0xffffffff;

/**
 * The CHS an entry stores for an LBA beyond cylinder 1023: 1023/254/63, bytes FE FF FF. Tools
 * that read CHS take it as "use the LBA fields" (sfdisk writes the same for 255-head tables).
 */
export const CHS_BEYOND_LIMIT: Readonly<Chs> = { cylinder: 1023, head: 254, sector: 63 };

export interface MbrPartitionEntry {
  /** 0x80 bootable, 0x00 not; other values make Linux reject the whole table. */
  status: number;
  firstChs: Chs;
  /** Partition type id, see partition-types.ts; 0x00 marks an unused entry. */
  type: number;
  lastChs: Chs;
  /** First sector, relative to the disk (MBR) or to an EBR / the extended partition (EBR). */
  startLBA: number;
  sectorCount: number;
}

export interface MbrSector {
  /** Bytes 0..439. */
  bootCode: Uint8Array;
  diskSignature: number;
  /** Bytes 444..445 as a little-endian value. */
  reserved: number;
  /** Always four entries. */
  entries: MbrPartitionEntry[];
  /** Bytes 510..511 as a little-endian value; MBR_BOOT_SIGNATURE (0xAA55) when valid. */
  bootSignature: number;
}

export const EMPTY_CHS: Readonly<Chs> = { cylinder: 0, head: 0, sector: 0 };

export function emptyEntry(): MbrPartitionEntry {
  return { status: 0, firstChs: { ...EMPTY_CHS }, type: 0, lastChs: { ...EMPTY_CHS }, startLBA: 0, sectorCount: 0 };
}

/**
 * An entry is in use when its sector count is nonzero: the test Linux (block/partitions/msdos.c)
 * and libfdisk (is_used_partition) make, whatever the type byte says.
 */
export function isEntryUsed(entry: MbrPartitionEntry): boolean {
  return entry.sectorCount !== 0;
}

/** A sector with zero code, the given signature, four empty entries and 0x55AA. */
export function emptyMbrSector(diskSignature = 0): MbrSector {
  return {
    bootCode: new Uint8Array(MBR_BOOT_CODE_BYTES),
    diskSignature,
    reserved: 0,
    entries: [emptyEntry(), emptyEntry(), emptyEntry(), emptyEntry()],
    bootSignature: MBR_BOOT_SIGNATURE,
  };
}

/**
 * CHS as an entry stores it in 3 bytes: head; sector in bits 0–5 with cylinder bits 8–9 in
 * bits 6–7; cylinder bits 0–7.
 */
export function decodeChs(bytes: Uint8Array, offset: number): Chs {
  const head = bytes[offset] ?? 0;
  const sectorByte = bytes[offset + 1] ?? 0;
  const cylinderLow = bytes[offset + 2] ?? 0;
  return { cylinder: ((sectorByte & 0xc0) << 2) | cylinderLow, head, sector: sectorByte & 0x3f };
}

export function encodeChs(chs: Chs, bytes: Uint8Array, offset: number): void {
  if (
    !Number.isInteger(chs.cylinder) ||
    chs.cylinder < 0 ||
    chs.cylinder > 1023 ||
    !Number.isInteger(chs.head) ||
    chs.head < 0 ||
    chs.head > 255 ||
    !Number.isInteger(chs.sector) ||
    chs.sector < 0 ||
    chs.sector > 63
  ) {
    throw new LoopbackError(
      'INVALID_INPUT',
      `CHS ${chs.cylinder}/${chs.head}/${chs.sector} does not fit an MBR entry (cylinder 0–1023, head 0–255, sector 0–63)`,
      { chs },
    );
  }
  bytes[offset] = chs.head;
  bytes[offset + 1] = (chs.sector & 0x3f) | ((chs.cylinder >> 2) & 0xc0);
  bytes[offset + 2] = chs.cylinder & 0xff;
}

/** The CHS an entry should hold for `lba`: exact below cylinder 1024, else 1023/254/63. */
export function chsForEntry(lba: number, geometry: TrackGeometry): Chs {
  const chs = lbaToChs(lba, geometry);
  return chs.cylinder > 1023 ? { ...CHS_BEYOND_LIMIT } : chs;
}

export function parseEntry(bytes: Uint8Array, offset: number): MbrPartitionEntry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    status: view.getUint8(offset + ENTRY_STATUS_OFFSET),
    firstChs: decodeChs(bytes, offset + ENTRY_FIRST_CHS_OFFSET),
    type: view.getUint8(offset + ENTRY_TYPE_OFFSET),
    lastChs: decodeChs(bytes, offset + ENTRY_LAST_CHS_OFFSET),
    startLBA: view.getUint32(offset + ENTRY_START_LBA_OFFSET, true),
    sectorCount: view.getUint32(offset + ENTRY_SECTOR_COUNT_OFFSET, true),
  };
}

function checkUint(value: number, bits: 8 | 16 | 32, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 2 ** bits - 1) {
    throw new LoopbackError('INVALID_INPUT', `${what} ${value} does not fit in ${bits} bits`, { [what]: value });
  }
}

export function encodeEntry(entry: MbrPartitionEntry, bytes: Uint8Array, offset: number): void {
  checkUint(entry.status, 8, 'status');
  checkUint(entry.type, 8, 'type');
  checkUint(entry.startLBA, 32, 'startLBA');
  checkUint(entry.sectorCount, 32, 'sectorCount');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint8(offset + ENTRY_STATUS_OFFSET, entry.status);
  encodeChs(entry.firstChs, bytes, offset + ENTRY_FIRST_CHS_OFFSET);
  view.setUint8(offset + ENTRY_TYPE_OFFSET, entry.type);
  encodeChs(entry.lastChs, bytes, offset + ENTRY_LAST_CHS_OFFSET);
  view.setUint32(offset + ENTRY_START_LBA_OFFSET, entry.startLBA, true);
  view.setUint32(offset + ENTRY_SECTOR_COUNT_OFFSET, entry.sectorCount, true);
}

/** Reads every field of a 512-byte MBR or EBR sector. Never throws for any 512 bytes. */
export function parseMbrSector(bytes: Uint8Array): MbrSector {
  if (bytes.length < SECTOR_BYTES) {
    throw new LoopbackError('INVALID_INPUT', `an MBR sector is ${SECTOR_BYTES} bytes, got ${bytes.length}`, {
      lengthBytes: bytes.length,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: MbrPartitionEntry[] = [];
  for (let i = 0; i < MBR_PARTITION_ENTRY_COUNT; i++) {
    entries.push(parseEntry(bytes, MBR_PARTITION_TABLE_OFFSET + i * MBR_PARTITION_ENTRY_BYTES));
  }
  return {
    bootCode: bytes.slice(MBR_BOOT_CODE_OFFSET, MBR_BOOT_CODE_OFFSET + MBR_BOOT_CODE_BYTES),
    diskSignature: view.getUint32(MBR_DISK_SIGNATURE_OFFSET, true),
    reserved: view.getUint16(MBR_RESERVED_OFFSET, true),
    entries,
    bootSignature: view.getUint16(MBR_BOOT_SIGNATURE_OFFSET, true),
  };
}

/** The 512 bytes of a sector; `encodeMbrSector(parseMbrSector(b))` equals `b`. */
export function encodeMbrSector(sector: MbrSector): Uint8Array {
  if (sector.bootCode.length !== MBR_BOOT_CODE_BYTES) {
    throw new LoopbackError('INVALID_INPUT', `MBR boot code must be ${MBR_BOOT_CODE_BYTES} bytes, got ${sector.bootCode.length}`, {
      lengthBytes: sector.bootCode.length,
    });
  }
  if (sector.entries.length !== MBR_PARTITION_ENTRY_COUNT) {
    throw new LoopbackError('INVALID_INPUT', `an MBR has ${MBR_PARTITION_ENTRY_COUNT} partition entries, got ${sector.entries.length}`);
  }
  checkUint(sector.diskSignature, 32, 'diskSignature');
  checkUint(sector.reserved, 16, 'reserved');
  checkUint(sector.bootSignature, 16, 'bootSignature');
  const bytes = new Uint8Array(SECTOR_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(sector.bootCode, MBR_BOOT_CODE_OFFSET);
  view.setUint32(MBR_DISK_SIGNATURE_OFFSET, sector.diskSignature, true);
  view.setUint16(MBR_RESERVED_OFFSET, sector.reserved, true);
  sector.entries.forEach((entry, i) => encodeEntry(entry, bytes, MBR_PARTITION_TABLE_OFFSET + i * MBR_PARTITION_ENTRY_BYTES));
  view.setUint16(MBR_BOOT_SIGNATURE_OFFSET, sector.bootSignature, true);
  return bytes;
}

/** A random 32-bit disk signature (never 0, which tools read as "none"), from Web Crypto. */
export function randomDiskSignature(): number {
  const value = new Uint32Array(1);
  do {
    globalThis.crypto.getRandomValues(value);
  } while (value[0] === 0);
  return value[0] ?? 1;
}

/** "0x69f9d782": the disk signature as sfdisk prints it (its "label-id" / JSON "id"). */
export function formatDiskSignature(signature: number): string {
  return `0x${signature.toString(16).padStart(8, '0')}`;
}
