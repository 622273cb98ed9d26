/**
 * El Torito ("El Torito" Bootable CD-ROM Format Specification 1.0, Phoenix/IBM 1995): how a
 * PC firmware finds boot images on a CD.
 *
 * - The Boot Record Volume Descriptor (section 2.0) sits at logical block 17 and points at the
 *   boot catalog.
 * - The boot catalog (one 2048-byte block of 32-byte entries, section 2.x):
 *   - Validation Entry (2.1): header id 1, platform id, id string, a checksum that makes the
 *     sixteen 16-bit words of the entry add up to 0, and the key bytes 55 AA;
 *   - Initial/Default Entry (2.2): the first boot image (bootable 0x88, media type, load
 *     segment, system type, sectorCount of 512-byte "virtual sectors" to load, loadRba);
 *   - Section Header Entries (2.3): 0x90 (more headers follow) or 0x91 (final), a platform id
 *     and how many Section Entries (2.4, same layout as the initial entry) follow. UEFI images
 *     are in a section for platform 0xEF (UEFI 2.x, section 13.3.2.1).
 * - boot-info-table (mkisofs, xorriso -boot-info-table; what ISOLINUX and GRUB's cdboot read):
 *   bytes 8–63 of the boot image become the PVD's block, the image's block, its length in
 *   bytes, a 32-bit checksum of the image from byte 64 (sum of little-endian 32-bit words), and
 *   40 zero bytes.
 */
import { LoopbackError } from '../../errors';
import { getPaddedAscii, getU16LE, getU32LE, putU16LE, putU32LE } from './numbers';
import { encodeVolumeDescriptorHeader, VOLUME_DESCRIPTOR_BYTES, VOLUME_DESCRIPTOR_TYPE, volumeDescriptorType } from './volume-descriptor';

/** El Torito 2.0: the Boot Record Volume Descriptor is at logical block 17. */
export const BOOT_RECORD_BLOCK = 17;
export const EL_TORITO_SYSTEM_IDENTIFIER = 'EL TORITO SPECIFICATION';

// Boot Record Volume Descriptor (El Torito 2.0), offsets.
export const BR_BOOT_SYSTEM_IDENTIFIER = 7; // 32 bytes, padded with zeros
export const BR_BOOT_IDENTIFIER = 39; // 32 bytes, unused
export const BR_BOOT_CATALOG_POINTER = 71; // u32 LE: block of the catalog
const BOOT_SYSTEM_IDENTIFIER_BYTES = 32;

export const CATALOG_ENTRY_BYTES = 32;
export const CATALOG_BYTES = 2048;

// Validation Entry (2.1).
export const VE_HEADER_ID = 0; // 1
export const VE_PLATFORM_ID = 1;
export const VE_ID_STRING = 4; // 24 bytes
export const VE_CHECKSUM = 0x1c; // u16 LE
export const VE_KEY = 0x1e; // 0x55 0xAA
const ID_STRING_BYTES = 24;

// Initial/Default Entry (2.2) and Section Entry (2.4).
export const IE_BOOT_INDICATOR = 0; // 0x88 bootable, 0x00 not
export const IE_BOOT_MEDIA_TYPE = 1; // 0 = no emulation
export const IE_LOAD_SEGMENT = 2; // u16 LE; 0 means 0x7C0
export const IE_SYSTEM_TYPE = 4; // partition type byte for hard-disk emulation
export const IE_SECTOR_COUNT = 6; // u16 LE, 512-byte virtual sectors
export const IE_LOAD_RBA = 8; // u32 LE, logical block of the image
export const SE_SELECTION_CRITERIA_TYPE = 12; // section entries only

// Section Header Entry (2.3).
export const SH_HEADER_INDICATOR = 0; // 0x90 more follow, 0x91 final
export const SH_PLATFORM_ID = 1;
export const SH_NUMBER_OF_SECTION_ENTRIES = 2; // u16 LE
export const SH_ID_STRING = 4; // 28 bytes

export const HEADER_ID = 0x01;
export const BOOTABLE = 0x88;
export const NOT_BOOTABLE = 0x00;
export const SECTION_HEADER_MORE = 0x90;
export const SECTION_HEADER_FINAL = 0x91;
export const KEY_BYTES = [0x55, 0xaa] as const;

/** Platform ids: El Torito 2.1 (0, 1, 2) and UEFI 2.x 13.3.2.1 (0xEF). */
export const PLATFORM_ID = { X86: 0x00, POWERPC: 0x01, MAC: 0x02, EFI: 0xef } as const;
/** Boot media types (2.2). */
export const MEDIA_TYPE = { NO_EMULATION: 0, FLOPPY_1_2M: 1, FLOPPY_1_44M: 2, FLOPPY_2_88M: 3, HARD_DISK: 4 } as const;

/** El Torito's virtual sectors are 512 bytes. */
export const VIRTUAL_SECTOR_BYTES = 512;
/** sectorCount is 16 bits. */
export const MAX_SECTOR_COUNT = 0xffff;

// boot-info-table (mkisofs), offsets in the boot image.
export const BI_PVD = 8;
export const BI_FILE = 12;
export const BI_LENGTH = 16;
export const BI_CHECKSUM = 20;
export const BI_RESERVED = 24; // 40 bytes
export const BOOT_INFO_TABLE_END = 64;

/** One boot image of the catalog. */
export interface BootCatalogEntry {
  platformId: number;
  bootIndicator: number;
  bootMediaType: number;
  loadSegment: number;
  systemType: number;
  sectorCount: number;
  loadRba: number;
}

export interface BootCatalog {
  /** The validation entry's platform (that of the initial entry). */
  platformId: number;
  idString: string;
  /** Index 0 is the initial/default entry; the others come from sections. */
  entries: BootCatalogEntry[];
}

// --- Boot Record Volume Descriptor ---

export function encodeBootRecord(bootCatalogBlock: number): Uint8Array {
  const block = new Uint8Array(VOLUME_DESCRIPTOR_BYTES);
  encodeVolumeDescriptorHeader(block, VOLUME_DESCRIPTOR_TYPE.BOOT_RECORD);
  for (let i = 0; i < EL_TORITO_SYSTEM_IDENTIFIER.length; i++)
    block[BR_BOOT_SYSTEM_IDENTIFIER + i] = EL_TORITO_SYSTEM_IDENTIFIER.charCodeAt(i);
  putU32LE(block, BR_BOOT_CATALOG_POINTER, bootCatalogBlock);
  return block;
}

/** The catalog's block when `block` is El Torito's boot record, else null. */
export function parseBootRecord(block: Uint8Array): number | null {
  if (volumeDescriptorType(block) !== VOLUME_DESCRIPTOR_TYPE.BOOT_RECORD) return null;
  const id = getPaddedAscii(block, BR_BOOT_SYSTEM_IDENTIFIER, BOOT_SYSTEM_IDENTIFIER_BYTES);
  return id === EL_TORITO_SYSTEM_IDENTIFIER ? getU32LE(block, BR_BOOT_CATALOG_POINTER) : null;
}

// --- The catalog ---

/** 2.1: the checksum word that makes the 16 words of the validation entry sum to 0 (mod 2^16). */
export function validationChecksum(entry: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < CATALOG_ENTRY_BYTES; i += 2) if (i !== VE_CHECKSUM) sum = (sum + getU16LE(entry, i)) & 0xffff;
  return (0x10000 - sum) & 0xffff;
}

function encodeBootEntry(entry: BootCatalogEntry, bytes: Uint8Array, offset: number): void {
  bytes[offset + IE_BOOT_INDICATOR] = entry.bootIndicator;
  bytes[offset + IE_BOOT_MEDIA_TYPE] = entry.bootMediaType;
  putU16LE(bytes, offset + IE_LOAD_SEGMENT, entry.loadSegment);
  bytes[offset + IE_SYSTEM_TYPE] = entry.systemType;
  putU16LE(bytes, offset + IE_SECTOR_COUNT, entry.sectorCount);
  putU32LE(bytes, offset + IE_LOAD_RBA, entry.loadRba);
}

function decodeBootEntry(bytes: Uint8Array, offset: number, platformId: number): BootCatalogEntry {
  return {
    platformId,
    bootIndicator: bytes[offset + IE_BOOT_INDICATOR] ?? 0,
    bootMediaType: (bytes[offset + IE_BOOT_MEDIA_TYPE] ?? 0) & 0x0f,
    loadSegment: getU16LE(bytes, offset + IE_LOAD_SEGMENT),
    systemType: bytes[offset + IE_SYSTEM_TYPE] ?? 0,
    sectorCount: getU16LE(bytes, offset + IE_SECTOR_COUNT),
    loadRba: getU32LE(bytes, offset + IE_LOAD_RBA),
  };
}

/**
 * The catalog block: validation entry, initial entry, then one section per later entry's
 * platform (entries of one platform share a section), as xorriso writes it for grub-mkrescue.
 */
export function encodeBootCatalog(catalog: BootCatalog): Uint8Array {
  const [initial, ...rest] = catalog.entries;
  if (!initial) throw new LoopbackError('INTERNAL', 'a boot catalog needs at least one entry');
  const bytes = new Uint8Array(CATALOG_BYTES);
  bytes[VE_HEADER_ID] = HEADER_ID;
  bytes[VE_PLATFORM_ID] = catalog.platformId;
  for (let i = 0; i < Math.min(catalog.idString.length, ID_STRING_BYTES); i++)
    bytes[VE_ID_STRING + i] = catalog.idString.charCodeAt(i) & 0x7f;
  bytes[VE_KEY] = KEY_BYTES[0];
  bytes[VE_KEY + 1] = KEY_BYTES[1];
  putU16LE(bytes, VE_CHECKSUM, validationChecksum(bytes.subarray(0, CATALOG_ENTRY_BYTES)));
  encodeBootEntry(initial, bytes, CATALOG_ENTRY_BYTES);

  const sections: BootCatalogEntry[][] = [];
  for (const entry of rest) {
    const last = sections[sections.length - 1];
    if (last && last[0]!.platformId === entry.platformId) last.push(entry);
    else sections.push([entry]);
  }
  let offset = 2 * CATALOG_ENTRY_BYTES;
  sections.forEach((section, i) => {
    if (offset + (section.length + 1) * CATALOG_ENTRY_BYTES > CATALOG_BYTES) {
      throw new LoopbackError('VALIDATION', 'too many boot images for one boot catalog block', { entries: catalog.entries.length });
    }
    bytes[offset + SH_HEADER_INDICATOR] = i === sections.length - 1 ? SECTION_HEADER_FINAL : SECTION_HEADER_MORE;
    bytes[offset + SH_PLATFORM_ID] = section[0]!.platformId;
    putU16LE(bytes, offset + SH_NUMBER_OF_SECTION_ENTRIES, section.length);
    offset += CATALOG_ENTRY_BYTES;
    for (const entry of section) {
      encodeBootEntry(entry, bytes, offset);
      offset += CATALOG_ENTRY_BYTES;
    }
  });
  return bytes;
}

/** Reads a catalog block; throws when the validation entry is not valid (header, key, checksum). */
export function parseBootCatalog(bytes: Uint8Array): BootCatalog {
  const ve = bytes.subarray(0, CATALOG_ENTRY_BYTES);
  let sum = 0;
  for (let i = 0; i < CATALOG_ENTRY_BYTES; i += 2) sum = (sum + getU16LE(ve, i)) & 0xffff;
  if (ve[VE_HEADER_ID] !== HEADER_ID || ve[VE_KEY] !== KEY_BYTES[0] || ve[VE_KEY + 1] !== KEY_BYTES[1] || sum !== 0) {
    throw new LoopbackError('IO', 'the El Torito boot catalog has no valid validation entry (header 01, key 55 AA, words summing to 0)');
  }
  const platformId = ve[VE_PLATFORM_ID] ?? 0;
  let idString = '';
  for (let i = 0; i < ID_STRING_BYTES; i++) idString += String.fromCharCode(ve[VE_ID_STRING + i] ?? 0);
  const entries = [decodeBootEntry(bytes, CATALOG_ENTRY_BYTES, platformId)];
  let offset = 2 * CATALOG_ENTRY_BYTES;
  while (offset + CATALOG_ENTRY_BYTES <= bytes.length) {
    const indicator = bytes[offset + SH_HEADER_INDICATOR];
    if (indicator !== SECTION_HEADER_MORE && indicator !== SECTION_HEADER_FINAL) break;
    const sectionPlatform = bytes[offset + SH_PLATFORM_ID] ?? 0;
    const count = getU16LE(bytes, offset + SH_NUMBER_OF_SECTION_ENTRIES);
    offset += CATALOG_ENTRY_BYTES;
    for (let i = 0; i < count && offset + CATALOG_ENTRY_BYTES <= bytes.length; i++) {
      entries.push(decodeBootEntry(bytes, offset, sectionPlatform));
      offset += CATALOG_ENTRY_BYTES;
      // Section entry extensions (indicator 0x44) follow their entry; skip them.
      while (offset + CATALOG_ENTRY_BYTES <= bytes.length && bytes[offset] === 0x44) offset += CATALOG_ENTRY_BYTES;
    }
    if (indicator === SECTION_HEADER_FINAL) break;
  }
  return { platformId, idString: idString.replace(/\0+$/, ''), entries };
}

// --- boot-info-table ---

/** Sum of the little-endian 32-bit words of `bytes` (a last partial word padded with zeros), mod 2^32. */
export function bootInfoChecksum(bytes: Uint8Array): number {
  let sum = 0;
  const whole = bytes.length - (bytes.length % 4);
  for (let i = 0; i < whole; i += 4) sum = (sum + getU32LE(bytes, i)) >>> 0;
  if (whole < bytes.length) {
    const last = new Uint8Array(4);
    last.set(bytes.subarray(whole));
    sum = (sum + getU32LE(last, 0)) >>> 0;
  }
  return sum;
}

/**
 * Writes the boot info table into `image` (the whole boot file, patched in place): what
 * `xorriso -boot-info-table` does. Patch anything else first (GRUB's boot info): the checksum
 * covers the image as it will be recorded.
 */
export function patchBootInfoTable(image: Uint8Array, info: { primaryVolumeDescriptorBlock: number; bootFileBlock: number }): void {
  if (image.length < BOOT_INFO_TABLE_END) {
    throw new LoopbackError(
      'VALIDATION',
      `a boot image with a boot info table must be at least ${BOOT_INFO_TABLE_END} bytes; this one is ${image.length}`,
    );
  }
  putU32LE(image, BI_PVD, info.primaryVolumeDescriptorBlock);
  putU32LE(image, BI_FILE, info.bootFileBlock);
  putU32LE(image, BI_LENGTH, image.length);
  image.fill(0, BI_RESERVED, BOOT_INFO_TABLE_END);
  putU32LE(image, BI_CHECKSUM, bootInfoChecksum(image.subarray(BOOT_INFO_TABLE_END)));
}
