/**
 * The 32-byte short directory entry (Microsoft FAT spec v1.03, section "FAT Directory
 * Structure"). Long names live in separate entries in front of it (see lfn.ts).
 */

export const DIR_NAME = 0; // 11 bytes: 8 name + 3 extension, space padded
export const DIR_ATTR = 11; // u8
export const DIR_NTRES = 12; // u8: Windows NT case flags (see below)
export const DIR_CRTTIMETENTH = 13; // u8
export const DIR_CRTTIME = 14; // u16
export const DIR_CRTDATE = 16; // u16
export const DIR_LSTACCDATE = 18; // u16
export const DIR_FSTCLUSHI = 20; // u16: high word of the first cluster (FAT32; 0 on FAT12/16)
export const DIR_WRTTIME = 22; // u16
export const DIR_WRTDATE = 24; // u16
export const DIR_FSTCLUSLO = 26; // u16
export const DIR_FILESIZE = 28; // u32

// FAT spec, DIR_Attr.
export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
/** ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_VOLUME_ID: marks a long-name entry. */
export const ATTR_LONG_NAME = 0x0f;
/** FAT spec: the attribute bits compared with ATTR_LONG_NAME (the upper two are reserved). */
export const ATTR_LONG_NAME_MASK = 0x3f;

/** FAT spec, DIR_Name[0]: the entry is free (deleted). */
export const DIR_FREE = 0xe5;
/** FAT spec, DIR_Name[0]: the entry is free and so are all after it. */
export const DIR_END = 0x00;
/** FAT spec, DIR_Name[0]: stands for a real first character 0xE5 (a Kanji lead byte). */
export const DIR_KANJI_E5 = 0x05;

/**
 * DIR_NTRes bits used by Windows NT and later (and by Linux and mtools): the base name or the
 * extension is displayed in lower case. Not in the FAT spec, which says "reserved for Windows NT".
 */
export const NTRES_LOWER_BASE = 0x08;
export const NTRES_LOWER_EXT = 0x10;

export const SHORT_NAME_BYTES = 11;

export interface ShortEntry {
  /** The 11 stored name bytes (DIR_Name), as-is (including a leading 0x05). */
  name: Uint8Array;
  attr: number;
  ntRes: number;
  crtTimeTenth: number;
  crtTime: number;
  crtDate: number;
  lstAccDate: number;
  firstCluster: number;
  wrtTime: number;
  wrtDate: number;
  fileSize: number;
}

export function parseShortEntry(bytes: Uint8Array, offset: number): ShortEntry {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 32);
  return {
    name: bytes.slice(offset + DIR_NAME, offset + DIR_NAME + SHORT_NAME_BYTES),
    attr: view.getUint8(DIR_ATTR),
    ntRes: view.getUint8(DIR_NTRES),
    crtTimeTenth: view.getUint8(DIR_CRTTIMETENTH),
    crtTime: view.getUint16(DIR_CRTTIME, true),
    crtDate: view.getUint16(DIR_CRTDATE, true),
    lstAccDate: view.getUint16(DIR_LSTACCDATE, true),
    firstCluster: (view.getUint16(DIR_FSTCLUSHI, true) << 16) + view.getUint16(DIR_FSTCLUSLO, true),
    wrtTime: view.getUint16(DIR_WRTTIME, true),
    wrtDate: view.getUint16(DIR_WRTDATE, true),
    fileSize: view.getUint32(DIR_FILESIZE, true),
  };
}

/** Writes `entry` into the 32 bytes at `offset` (DIR_FstClusHI is 0 on FAT12/16, whose clusters fit 16 bits). */
export function encodeShortEntry(entry: ShortEntry, bytes: Uint8Array, offset: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 32);
  bytes.set(entry.name.subarray(0, SHORT_NAME_BYTES), offset + DIR_NAME);
  view.setUint8(DIR_ATTR, entry.attr);
  view.setUint8(DIR_NTRES, entry.ntRes);
  view.setUint8(DIR_CRTTIMETENTH, entry.crtTimeTenth);
  view.setUint16(DIR_CRTTIME, entry.crtTime, true);
  view.setUint16(DIR_CRTDATE, entry.crtDate, true);
  view.setUint16(DIR_LSTACCDATE, entry.lstAccDate, true);
  view.setUint16(DIR_FSTCLUSHI, entry.firstCluster >>> 16, true);
  view.setUint16(DIR_WRTTIME, entry.wrtTime, true);
  view.setUint16(DIR_WRTDATE, entry.wrtDate, true);
  view.setUint16(DIR_FSTCLUSLO, entry.firstCluster & 0xffff, true);
  view.setUint32(DIR_FILESIZE, entry.fileSize >>> 0, true);
}

export function isLongNameEntry(attr: number): boolean {
  return (attr & ATTR_LONG_NAME_MASK) === ATTR_LONG_NAME;
}

/** The 11-byte DIR_Name of "." or "..". */
export function dotName(dots: '.' | '..'): Uint8Array {
  const name = new Uint8Array(SHORT_NAME_BYTES).fill(0x20);
  name[0] = 0x2e;
  if (dots === '..') name[1] = 0x2e;
  return name;
}
