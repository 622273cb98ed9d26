/**
 * Rock Ridge (RRIP 1.10, IEEE P1282 draft, identified as "RRIP_1991A" in the ER entry) — the
 * SUSP entries that give an ISO 9660 tree POSIX names, modes, times and symbolic links. Offsets
 * are within the entry, the 4-byte SUSP header included.
 *
 * - PX (4.1.1): posixFileMode, posixFileLinks, posixFileUserId, posixFileGroupId, each 7.3.3
 *   (36 bytes). RRIP 1.12 adds posixFileSerialNumber (44 bytes); we write the 1.10 form, as
 *   mkisofs does with RRIP_1991A, and read both.
 * - NM (4.1.4): the name; flags CONTINUE (more NM entries follow with the rest), CURRENT,
 *   PARENT. Names longer than one entry holds are split over several.
 * - SL (4.1.3): a symbolic link's target as component records (flags, length, content); flags
 *   CONTINUE (the component goes on in the next record), CURRENT ("."), PARENT (".."), ROOT
 *   ("/"). The entry's own CONTINUE flag says the target goes on in the next SL entry.
 * - TF (4.1.6): time stamps, present ones in a fixed order (creation, modify, access,
 *   attributes, backup, expiration, effective), 7-byte (9.1.5) or, with LONG_FORM, 17-byte.
 * - CL / PL / RE (4.1.5): directory relocation (mkisofs's RR_MOVED for trees deeper than 8
 *   levels). We never relocate, but read them.
 */
import { encodeDirectoryDate, parseDirectoryDate, parseVolumeDate, DIRECTORY_DATE_BYTES, VOLUME_DATE_BYTES } from './dates';
import { decodeUtf8, encodeUtf8, getBothU32, putBothU32 } from './numbers';
import { encodeSuspEntry, MAX_SUSP_ENTRY_BYTES, SUSP_HEADER_BYTES, type ExtensionReference, type SuspEntry } from './susp';

export const RRIP_VERSION = 1;

/** The ER entry mkisofs and xorriso write for Rock Ridge 1.10. */
export const RRIP_1991A: ExtensionReference = {
  extensionIdentifier: 'RRIP_1991A',
  extensionDescriptor: 'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS',
  extensionSource:
    'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.',
  extensionVersion: 1,
};
/** Extension identifiers readers accept as Rock Ridge (Linux's rock.c accepts the same three). */
export const ROCK_RIDGE_IDENTIFIERS = ['RRIP_1991A', 'IEEE_P1282', 'IEEE_1282'] as const;

// PX
export const PX_POSIX_FILE_MODE = 4;
export const PX_POSIX_FILE_LINKS = 12;
export const PX_POSIX_FILE_USER_ID = 20;
export const PX_POSIX_FILE_GROUP_ID = 28;
export const PX_POSIX_FILE_SERIAL_NUMBER = 36;
export const PX_LENGTH_RRIP_1_10 = 36;
export const PX_LENGTH_RRIP_1_12 = 44;

// NM and SL
export const NM_FLAGS = 4;
export const NM_NAME_CONTENT = 5;
export const SL_FLAGS = 4;
export const SL_COMPONENT_AREA = 5;
export const SL_COMPONENT_FLAGS = 0;
export const SL_COMPONENT_LENGTH = 1;
export const SL_COMPONENT_CONTENT = 2;

export const NM_FLAG = { CONTINUE: 0x01, CURRENT: 0x02, PARENT: 0x04 } as const;
export const SL_FLAG = { CONTINUE: 0x01 } as const;
export const SL_COMPONENT_FLAG = { CONTINUE: 0x01, CURRENT: 0x02, PARENT: 0x04, ROOT: 0x08 } as const;

// TF
export const TF_FLAGS = 4;
export const TF_TIME_STAMPS = 5;
export const TF_FLAG = {
  CREATION: 0x01,
  MODIFY: 0x02,
  ACCESS: 0x04,
  ATTRIBUTES: 0x08,
  BACKUP: 0x10,
  EXPIRATION: 0x20,
  EFFECTIVE: 0x40,
  LONG_FORM: 0x80,
} as const;

// CL / PL
export const CL_LOCATION_OF_CHILD_DIRECTORY = 4;
export const PL_LOCATION_OF_PARENT_DIRECTORY = 4;

/** POSIX file type bits of posixFileMode (RRIP 4.1.1, the values of <sys/stat.h>). */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** The most name bytes one NM entry holds. */
export const NM_MAX_NAME_BYTES_PER_ENTRY = MAX_SUSP_ENTRY_BYTES - NM_NAME_CONTENT;
/** The most content bytes one SL component record holds while the record fits an SL entry. */
const SL_MAX_COMPONENT_BYTES = MAX_SUSP_ENTRY_BYTES - SL_COMPONENT_AREA - SL_COMPONENT_CONTENT;

// --- PX ---

export interface PosixAttributes {
  posixFileMode: number;
  posixFileLinks: number;
  posixFileUserId: number;
  posixFileGroupId: number;
  /** RRIP 1.12 only. */
  posixFileSerialNumber?: number;
}

export function encodePx(px: PosixAttributes): Uint8Array {
  const data = new Uint8Array(PX_LENGTH_RRIP_1_10 - SUSP_HEADER_BYTES);
  putBothU32(data, PX_POSIX_FILE_MODE - SUSP_HEADER_BYTES, px.posixFileMode);
  putBothU32(data, PX_POSIX_FILE_LINKS - SUSP_HEADER_BYTES, px.posixFileLinks);
  putBothU32(data, PX_POSIX_FILE_USER_ID - SUSP_HEADER_BYTES, px.posixFileUserId);
  putBothU32(data, PX_POSIX_FILE_GROUP_ID - SUSP_HEADER_BYTES, px.posixFileGroupId);
  return encodeSuspEntry('PX', RRIP_VERSION, data);
}

export function parsePx(entry: SuspEntry): PosixAttributes | null {
  const d = entry.data;
  if (entry.signature !== 'PX' || d.length < PX_LENGTH_RRIP_1_10 - SUSP_HEADER_BYTES) return null;
  const px: PosixAttributes = {
    posixFileMode: getBothU32(d, PX_POSIX_FILE_MODE - SUSP_HEADER_BYTES),
    posixFileLinks: getBothU32(d, PX_POSIX_FILE_LINKS - SUSP_HEADER_BYTES),
    posixFileUserId: getBothU32(d, PX_POSIX_FILE_USER_ID - SUSP_HEADER_BYTES),
    posixFileGroupId: getBothU32(d, PX_POSIX_FILE_GROUP_ID - SUSP_HEADER_BYTES),
  };
  if (d.length >= PX_LENGTH_RRIP_1_12 - SUSP_HEADER_BYTES)
    px.posixFileSerialNumber = getBothU32(d, PX_POSIX_FILE_SERIAL_NUMBER - SUSP_HEADER_BYTES);
  return px;
}

// --- NM ---

/** A name (UTF-8) as NM entries: one, or several with CONTINUE on all but the last. */
export function encodeNm(name: string): Uint8Array[] {
  const bytes = encodeUtf8(name);
  const entries: Uint8Array[] = [];
  for (let at = 0; at < bytes.length || entries.length === 0; at += NM_MAX_NAME_BYTES_PER_ENTRY) {
    const piece = bytes.subarray(at, at + NM_MAX_NAME_BYTES_PER_ENTRY);
    const more = at + NM_MAX_NAME_BYTES_PER_ENTRY < bytes.length;
    const data = new Uint8Array(1 + piece.length);
    data[NM_FLAGS - SUSP_HEADER_BYTES] = more ? NM_FLAG.CONTINUE : 0;
    data.set(piece, NM_NAME_CONTENT - SUSP_HEADER_BYTES);
    entries.push(encodeSuspEntry('NM', RRIP_VERSION, data));
  }
  return entries;
}

/** One NM entry's flags and name bytes. */
export function parseNm(entry: SuspEntry): { flags: number; nameContent: Uint8Array } | null {
  if (entry.signature !== 'NM' || entry.data.length < 1) return null;
  return { flags: entry.data[NM_FLAGS - SUSP_HEADER_BYTES] ?? 0, nameContent: entry.data.slice(NM_NAME_CONTENT - SUSP_HEADER_BYTES) };
}

/**
 * The name the NM entries of one record spell (joined in order), or null when there is none.
 * "." and ".." come back for CURRENT and PARENT.
 */
export function nameFromNm(entries: readonly SuspEntry[]): string | null {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const nm = parseNm(entry);
    if (!nm) continue;
    if (nm.flags & NM_FLAG.CURRENT) return '.';
    if (nm.flags & NM_FLAG.PARENT) return '..';
    parts.push(nm.nameContent);
  }
  if (parts.length === 0) return null;
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return decodeUtf8(joined);
}

// --- SL ---

interface ComponentPiece {
  flags: number;
  content: Uint8Array;
}

/**
 * The component records of `target`: "/" leads with ROOT, "." and ".." become CURRENT and PARENT,
 * a component longer than one record holds is split with CONTINUE. The caller has refused empty
 * components ("a//b", "a/"), which SL cannot record.
 */
function slComponents(target: string): ComponentPiece[] {
  const pieces: ComponentPiece[] = [];
  let rest = target;
  if (rest.startsWith('/')) {
    pieces.push({ flags: SL_COMPONENT_FLAG.ROOT, content: new Uint8Array(0) });
    rest = rest.slice(1);
  }
  if (rest === '') return pieces;
  for (const component of rest.split('/')) {
    if (component === '.') pieces.push({ flags: SL_COMPONENT_FLAG.CURRENT, content: new Uint8Array(0) });
    else if (component === '..') pieces.push({ flags: SL_COMPONENT_FLAG.PARENT, content: new Uint8Array(0) });
    else {
      const bytes = encodeUtf8(component);
      for (let at = 0; at < bytes.length; at += SL_MAX_COMPONENT_BYTES) {
        const more = at + SL_MAX_COMPONENT_BYTES < bytes.length;
        pieces.push({ flags: more ? SL_COMPONENT_FLAG.CONTINUE : 0, content: bytes.slice(at, at + SL_MAX_COMPONENT_BYTES) });
      }
    }
  }
  return pieces;
}

/** A symbolic link's target as SL entries: as many as needed, CONTINUE on all but the last. */
export function encodeSl(target: string): Uint8Array[] {
  const groups: ComponentPiece[][] = [[]];
  let used = SL_COMPONENT_AREA;
  for (const piece of slComponents(target)) {
    const size = SL_COMPONENT_CONTENT + piece.content.length;
    if (used + size > MAX_SUSP_ENTRY_BYTES) {
      groups.push([]);
      used = SL_COMPONENT_AREA;
    }
    groups[groups.length - 1]!.push(piece);
    used += size;
  }
  return groups.map((group, i) => {
    const size = group.reduce((n, p) => n + SL_COMPONENT_CONTENT + p.content.length, 0);
    const data = new Uint8Array(1 + size);
    data[SL_FLAGS - SUSP_HEADER_BYTES] = i < groups.length - 1 ? SL_FLAG.CONTINUE : 0;
    let at = SL_COMPONENT_AREA - SUSP_HEADER_BYTES;
    for (const piece of group) {
      data[at + SL_COMPONENT_FLAGS] = piece.flags;
      data[at + SL_COMPONENT_LENGTH] = piece.content.length;
      data.set(piece.content, at + SL_COMPONENT_CONTENT);
      at += SL_COMPONENT_CONTENT + piece.content.length;
    }
    return encodeSuspEntry('SL', RRIP_VERSION, data);
  });
}

/** The target the SL entries of one record spell, or null when there is none. */
export function targetFromSl(entries: readonly SuspEntry[]): string | null {
  let target = '';
  let found = false;
  /** The previous component record had CONTINUE: the next one extends it, no "/" between. */
  let continuing = false;
  /** A separator goes before the next component (not at the start, not right after the root). */
  let needSlash = false;
  for (const entry of entries) {
    if (entry.signature !== 'SL' || entry.data.length < 1) continue;
    found = true;
    const area = entry.data.subarray(SL_COMPONENT_AREA - SUSP_HEADER_BYTES);
    let at = 0;
    while (at + SL_COMPONENT_CONTENT <= area.length) {
      const flags = area[at + SL_COMPONENT_FLAGS] ?? 0;
      const length = area[at + SL_COMPONENT_LENGTH] ?? 0;
      const content = area.subarray(at + SL_COMPONENT_CONTENT, at + SL_COMPONENT_CONTENT + length);
      at += SL_COMPONENT_CONTENT + length;
      let text: string;
      if (flags & SL_COMPONENT_FLAG.ROOT) {
        target += '/';
        needSlash = false;
        continuing = false;
        continue;
      } else if (flags & SL_COMPONENT_FLAG.CURRENT) text = '.';
      else if (flags & SL_COMPONENT_FLAG.PARENT) text = '..';
      else text = decodeUtf8(content);
      if (!continuing && needSlash) target += '/';
      target += text;
      needSlash = true;
      continuing = (flags & SL_COMPONENT_FLAG.CONTINUE) !== 0;
    }
  }
  return found ? target : null;
}

// --- TF ---

export interface TimeStamps {
  creation?: number | null;
  modify?: number | null;
  access?: number | null;
  attributes?: number | null;
  backup?: number | null;
  expiration?: number | null;
  effective?: number | null;
}

const TF_ORDER: readonly (keyof TimeStamps)[] = ['creation', 'modify', 'access', 'attributes', 'backup', 'expiration', 'effective'];
const TF_BITS: Readonly<Record<keyof TimeStamps, number>> = {
  creation: TF_FLAG.CREATION,
  modify: TF_FLAG.MODIFY,
  access: TF_FLAG.ACCESS,
  attributes: TF_FLAG.ATTRIBUTES,
  backup: TF_FLAG.BACKUP,
  expiration: TF_FLAG.EXPIRATION,
  effective: TF_FLAG.EFFECTIVE,
};

/** A TF entry in the short (7-byte) form with the given stamps (ms since the epoch). */
export function encodeTf(stamps: TimeStamps): Uint8Array {
  const present = TF_ORDER.filter((key) => typeof stamps[key] === 'number');
  const data = new Uint8Array(1 + present.length * DIRECTORY_DATE_BYTES);
  let flags = 0;
  present.forEach((key, i) => {
    flags |= TF_BITS[key];
    encodeDirectoryDate(stamps[key] as number, data, TF_TIME_STAMPS - SUSP_HEADER_BYTES + i * DIRECTORY_DATE_BYTES);
  });
  data[TF_FLAGS - SUSP_HEADER_BYTES] = flags;
  return encodeSuspEntry('TF', RRIP_VERSION, data);
}

export function parseTf(entry: SuspEntry): TimeStamps | null {
  if (entry.signature !== 'TF' || entry.data.length < 1) return null;
  const flags = entry.data[TF_FLAGS - SUSP_HEADER_BYTES] ?? 0;
  const size = flags & TF_FLAG.LONG_FORM ? VOLUME_DATE_BYTES : DIRECTORY_DATE_BYTES;
  const stamps: TimeStamps = {};
  let at = TF_TIME_STAMPS - SUSP_HEADER_BYTES;
  for (const key of TF_ORDER) {
    if (!(flags & TF_BITS[key])) continue;
    if (at + size > entry.data.length) break;
    const bytes = entry.data.subarray(at, at + size);
    stamps[key] = size === VOLUME_DATE_BYTES ? parseVolumeDate(bytes) : parseDirectoryDate(bytes);
    at += size;
  }
  return stamps;
}

// --- CL / PL / RE ---

export function parseCl(entry: SuspEntry): number | null {
  return entry.signature === 'CL' && entry.data.length >= 8
    ? getBothU32(entry.data, CL_LOCATION_OF_CHILD_DIRECTORY - SUSP_HEADER_BYTES)
    : null;
}

export function parsePl(entry: SuspEntry): number | null {
  return entry.signature === 'PL' && entry.data.length >= 8
    ? getBothU32(entry.data, PL_LOCATION_OF_PARENT_DIRECTORY - SUSP_HEADER_BYTES)
    : null;
}

/** Checks a symlink target can be recorded in SL; the reason when not. */
export function slTargetProblem(target: string): string | null {
  if (target === '') return 'the target is empty';
  if (target.includes('\0')) return 'the target contains a NUL character';
  const rest = target.startsWith('/') ? target.slice(1) : target;
  if (rest !== '' && rest.split('/').some((c) => c === ''))
    return 'the target has an empty component ("//" or a trailing "/"), which Rock Ridge cannot record';
  return null;
}
