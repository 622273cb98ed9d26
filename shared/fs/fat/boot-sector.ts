/**
 * The FAT boot sector: the BIOS Parameter Block (BPB) and the extended BPB, in their FAT12/16
 * form and their FAT32 form. Field names and byte offsets are those of the Microsoft FAT
 * specification (v1.03), section "Boot Sector and BPB" (tables "BPB structure common to FAT12,
 * FAT16 and FAT32", "Fat12 and Fat16 Structure Starting at Offset 36", "FAT32 Structure Starting
 * at Offset 36"). All multi-byte fields are little-endian.
 */
import { LoopbackError } from '../../errors';

// --- Common BPB (offsets 0..35) ---
export const BS_JMPBOOT = 0; // 3 bytes: EB xx 90 or E9 xx xx
export const BS_OEMNAME = 3; // 8 bytes
export const BPB_BYTSPERSEC = 11; // u16
export const BPB_SECPERCLUS = 13; // u8
export const BPB_RSVDSECCNT = 14; // u16
export const BPB_NUMFATS = 16; // u8
export const BPB_ROOTENTCNT = 17; // u16
export const BPB_TOTSEC16 = 19; // u16
export const BPB_MEDIA = 21; // u8
export const BPB_FATSZ16 = 22; // u16
export const BPB_SECPERTRK = 24; // u16
export const BPB_NUMHEADS = 26; // u16
export const BPB_HIDDSEC = 28; // u32
export const BPB_TOTSEC32 = 32; // u32

// --- Extended BPB, FAT12/16 form (offsets 36..61) ---
export const FAT16_BS_DRVNUM = 36; // u8
export const FAT16_BS_RESERVED1 = 37; // u8
export const FAT16_BS_BOOTSIG = 38; // u8
export const FAT16_BS_VOLID = 39; // u32
export const FAT16_BS_VOLLAB = 43; // 11 bytes
export const FAT16_BS_FILSYSTYPE = 54; // 8 bytes
export const FAT16_BOOT_CODE = 62; // 448 bytes, up to the signature

// --- Extended BPB, FAT32 form (offsets 36..89) ---
export const BPB_FATSZ32 = 36; // u32
export const BPB_EXTFLAGS = 40; // u16
export const BPB_FSVER = 42; // u16
export const BPB_ROOTCLUS = 44; // u32
export const BPB_FSINFO = 48; // u16
export const BPB_BKBOOTSEC = 50; // u16
export const BPB_RESERVED = 52; // 12 bytes
export const FAT32_BS_DRVNUM = 64; // u8
export const FAT32_BS_RESERVED1 = 65; // u8
export const FAT32_BS_BOOTSIG = 66; // u8
export const FAT32_BS_VOLID = 67; // u32
export const FAT32_BS_VOLLAB = 71; // 11 bytes
export const FAT32_BS_FILSYSTYPE = 82; // 8 bytes
export const FAT32_BOOT_CODE = 90; // 420 bytes, up to the signature

/** Offset of the 0x55 0xAA signature (FAT spec: bytes 510 and 511 of sector 0). */
export const BOOT_SIGNATURE_OFFSET = 510;
/** The signature read as a little-endian u16. */
export const BOOT_SIGNATURE = 0xaa55;
/** BS_BootSig value meaning "BS_VolID, BS_VolLab and BS_FilSysType follow" (FAT spec). */
export const EXTENDED_BOOT_SIGNATURE = 0x29;
/** What BS_VolLab holds on a volume without a label (FAT spec, BS_VolLab). */
export const NO_NAME_LABEL = 'NO NAME';

export const BOOT_SECTOR_BYTES = 512;

/** The FAT32-only fields of the BPB (offsets 36..63). */
export interface Fat32Bpb {
  BPB_FATSz32: number;
  BPB_ExtFlags: number;
  BPB_FSVer: number;
  BPB_RootClus: number;
  /** Sector (within the reserved area) of the FSInfo structure, usually 1. */
  BPB_FSInfo: number;
  /** Sector of the backup boot sector, usually 6 (0 = none). */
  BPB_BkBootSec: number;
}

export interface FatBootSector {
  BS_jmpBoot: Uint8Array;
  BS_OEMName: string;
  BPB_BytsPerSec: number;
  BPB_SecPerClus: number;
  BPB_RsvdSecCnt: number;
  BPB_NumFATs: number;
  BPB_RootEntCnt: number;
  BPB_TotSec16: number;
  BPB_Media: number;
  BPB_FATSz16: number;
  BPB_SecPerTrk: number;
  BPB_NumHeads: number;
  BPB_HiddSec: number;
  BPB_TotSec32: number;
  /** Present when the BPB is in FAT32 form (BPB_FATSz16 = 0); null for FAT12/16. */
  fat32: Fat32Bpb | null;
  BS_DrvNum: number;
  BS_BootSig: number;
  BS_VolID: number;
  /** 11 characters, space-padded as stored. */
  BS_VolLab: string;
  /** 8 characters, space-padded ("FAT12   "); informational only (FAT spec: never used to decide the type). */
  BS_FilSysType: string;
  /** The bytes between the extended BPB and the signature (448 for FAT12/16, 420 for FAT32). */
  bootCode: Uint8Array;
  /** The u16 at offset 510 (0xAA55 when valid). */
  signature: number;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(bytes[offset + i] ?? 0);
  return text;
}

function putAscii(bytes: Uint8Array, offset: number, length: number, text: string): void {
  for (let i = 0; i < length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0x20;
    if (code > 0x7e)
      throw new LoopbackError('INVALID_INPUT', `"${text}" is not plain ASCII: boot sector text fields hold ASCII only`, { text });
    bytes[offset + i] = code;
  }
}

/** Reads a boot sector (at least the first 512 bytes of the volume). */
export function parseBootSector(bytes: Uint8Array): FatBootSector {
  if (bytes.length < BOOT_SECTOR_BYTES) {
    throw new LoopbackError('INVALID_INPUT', `A boot sector is ${BOOT_SECTOR_BYTES} bytes; got ${bytes.length}`, { length: bytes.length });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, BOOT_SECTOR_BYTES);
  const fatSz16 = view.getUint16(BPB_FATSZ16, true);
  // FAT spec: on FAT32 BPB_FATSz16 must be 0, and the FAT32 fields follow at offset 36.
  const fat32: Fat32Bpb | null =
    fatSz16 === 0
      ? {
          BPB_FATSz32: view.getUint32(BPB_FATSZ32, true),
          BPB_ExtFlags: view.getUint16(BPB_EXTFLAGS, true),
          BPB_FSVer: view.getUint16(BPB_FSVER, true),
          BPB_RootClus: view.getUint32(BPB_ROOTCLUS, true),
          BPB_FSInfo: view.getUint16(BPB_FSINFO, true),
          BPB_BkBootSec: view.getUint16(BPB_BKBOOTSEC, true),
        }
      : null;
  const ext = fat32
    ? {
        drvNum: FAT32_BS_DRVNUM,
        bootSig: FAT32_BS_BOOTSIG,
        volId: FAT32_BS_VOLID,
        volLab: FAT32_BS_VOLLAB,
        type: FAT32_BS_FILSYSTYPE,
        code: FAT32_BOOT_CODE,
      }
    : {
        drvNum: FAT16_BS_DRVNUM,
        bootSig: FAT16_BS_BOOTSIG,
        volId: FAT16_BS_VOLID,
        volLab: FAT16_BS_VOLLAB,
        type: FAT16_BS_FILSYSTYPE,
        code: FAT16_BOOT_CODE,
      };
  return {
    BS_jmpBoot: bytes.slice(BS_JMPBOOT, BS_JMPBOOT + 3),
    BS_OEMName: ascii(bytes, BS_OEMNAME, 8),
    BPB_BytsPerSec: view.getUint16(BPB_BYTSPERSEC, true),
    BPB_SecPerClus: view.getUint8(BPB_SECPERCLUS),
    BPB_RsvdSecCnt: view.getUint16(BPB_RSVDSECCNT, true),
    BPB_NumFATs: view.getUint8(BPB_NUMFATS),
    BPB_RootEntCnt: view.getUint16(BPB_ROOTENTCNT, true),
    BPB_TotSec16: view.getUint16(BPB_TOTSEC16, true),
    BPB_Media: view.getUint8(BPB_MEDIA),
    BPB_FATSz16: fatSz16,
    BPB_SecPerTrk: view.getUint16(BPB_SECPERTRK, true),
    BPB_NumHeads: view.getUint16(BPB_NUMHEADS, true),
    BPB_HiddSec: view.getUint32(BPB_HIDDSEC, true),
    BPB_TotSec32: view.getUint32(BPB_TOTSEC32, true),
    fat32,
    BS_DrvNum: view.getUint8(ext.drvNum),
    BS_BootSig: view.getUint8(ext.bootSig),
    BS_VolID: view.getUint32(ext.volId, true),
    BS_VolLab: ascii(bytes, ext.volLab, 11),
    BS_FilSysType: ascii(bytes, ext.type, 8),
    bootCode: bytes.slice(ext.code, BOOT_SIGNATURE_OFFSET),
    signature: view.getUint16(BOOT_SIGNATURE_OFFSET, true),
  };
}

/**
 * Writes a boot sector: 512 bytes, with the signature. `bs.bootCode` fills the area after the
 * extended BPB (shorter code is zero-padded; longer code is refused).
 */
export function encodeBootSector(bs: FatBootSector): Uint8Array {
  const bytes = new Uint8Array(BOOT_SECTOR_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(bs.BS_jmpBoot.subarray(0, 3), BS_JMPBOOT);
  putAscii(bytes, BS_OEMNAME, 8, bs.BS_OEMName);
  view.setUint16(BPB_BYTSPERSEC, bs.BPB_BytsPerSec, true);
  view.setUint8(BPB_SECPERCLUS, bs.BPB_SecPerClus);
  view.setUint16(BPB_RSVDSECCNT, bs.BPB_RsvdSecCnt, true);
  view.setUint8(BPB_NUMFATS, bs.BPB_NumFATs);
  view.setUint16(BPB_ROOTENTCNT, bs.BPB_RootEntCnt, true);
  view.setUint16(BPB_TOTSEC16, bs.BPB_TotSec16, true);
  view.setUint8(BPB_MEDIA, bs.BPB_Media);
  view.setUint16(BPB_FATSZ16, bs.BPB_FATSz16, true);
  view.setUint16(BPB_SECPERTRK, bs.BPB_SecPerTrk, true);
  view.setUint16(BPB_NUMHEADS, bs.BPB_NumHeads, true);
  view.setUint32(BPB_HIDDSEC, bs.BPB_HiddSec, true);
  view.setUint32(BPB_TOTSEC32, bs.BPB_TotSec32, true);
  let ext: { drvNum: number; reserved1: number; bootSig: number; volId: number; volLab: number; type: number; code: number };
  if (bs.fat32) {
    if (bs.BPB_FATSz16 !== 0) {
      throw new LoopbackError('INVALID_INPUT', 'A FAT32 boot sector must have BPB_FATSz16 = 0 (FAT spec)', { BPB_FATSz16: bs.BPB_FATSz16 });
    }
    view.setUint32(BPB_FATSZ32, bs.fat32.BPB_FATSz32, true);
    view.setUint16(BPB_EXTFLAGS, bs.fat32.BPB_ExtFlags, true);
    view.setUint16(BPB_FSVER, bs.fat32.BPB_FSVer, true);
    view.setUint32(BPB_ROOTCLUS, bs.fat32.BPB_RootClus, true);
    view.setUint16(BPB_FSINFO, bs.fat32.BPB_FSInfo, true);
    view.setUint16(BPB_BKBOOTSEC, bs.fat32.BPB_BkBootSec, true);
    ext = {
      drvNum: FAT32_BS_DRVNUM,
      reserved1: FAT32_BS_RESERVED1,
      bootSig: FAT32_BS_BOOTSIG,
      volId: FAT32_BS_VOLID,
      volLab: FAT32_BS_VOLLAB,
      type: FAT32_BS_FILSYSTYPE,
      code: FAT32_BOOT_CODE,
    };
  } else {
    ext = {
      drvNum: FAT16_BS_DRVNUM,
      reserved1: FAT16_BS_RESERVED1,
      bootSig: FAT16_BS_BOOTSIG,
      volId: FAT16_BS_VOLID,
      volLab: FAT16_BS_VOLLAB,
      type: FAT16_BS_FILSYSTYPE,
      code: FAT16_BOOT_CODE,
    };
  }
  view.setUint8(ext.drvNum, bs.BS_DrvNum);
  view.setUint8(ext.reserved1, 0);
  view.setUint8(ext.bootSig, bs.BS_BootSig);
  view.setUint32(ext.volId, bs.BS_VolID >>> 0, true);
  putAscii(bytes, ext.volLab, 11, bs.BS_VolLab);
  putAscii(bytes, ext.type, 8, bs.BS_FilSysType);
  const codeRoom = BOOT_SIGNATURE_OFFSET - ext.code;
  if (bs.bootCode.length > codeRoom) {
    throw new LoopbackError(
      'INVALID_INPUT',
      `Boot code of ${bs.bootCode.length} bytes does not fit the ${codeRoom} bytes before the signature`,
      {
        bootCodeBytes: bs.bootCode.length,
        roomBytes: codeRoom,
      },
    );
  }
  bytes.set(bs.bootCode, ext.code);
  view.setUint16(BOOT_SIGNATURE_OFFSET, BOOT_SIGNATURE, true);
  return bytes;
}

/** FAT spec, BS_jmpBoot: a FAT boot sector starts with 0xEB ?? 0x90 or 0xE9 ?? ?? (a jump over the BPB). */
export function hasBootJump(bs: FatBootSector): boolean {
  const first = bs.BS_jmpBoot[0];
  return first === 0xeb || first === 0xe9;
}

/** The offset where boot code starts for a BPB form (the target of BS_jmpBoot). */
export function bootCodeOffset(fat32: boolean): number {
  return fat32 ? FAT32_BOOT_CODE : FAT16_BOOT_CODE;
}

/** A volume serial as DOS prints it: "ABCD-1234". */
export function formatVolumeId(volumeId: number): string {
  const hex = (volumeId >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
}
