/**
 * The System Use Sharing Protocol (IEEE P1281, SUSP 1.12): how the system use area at the end
 * of a directory record is cut into entries, and the entries SUSP itself defines. Rock Ridge's
 * entries (rock-ridge.ts) ride on it.
 *
 * Every entry starts with the same 4 bytes:
 *   0  signatureWord          2 ASCII characters ("SP", "CE", "PX" …)
 *   2  length                 u8, the whole entry in bytes (so at most 255)
 *   3  systemUseEntryVersion  u8
 *
 * - SP (5.3): first entry of the root's "." record; says SUSP is in use and how many bytes to
 *   skip at the start of every system use area (bytesSkipped, 0 here).
 * - CE (5.1): the rest of this record's entries are in a Continuation Area: blockLocation,
 *   offset and length, each 7.3.3. A continuation area lies within one logical block (Linux
 *   refuses one that crosses a block boundary) and may end with another CE.
 * - ER (5.5): names an extension in use (Rock Ridge's "RRIP_1991A"); in the root's "." record.
 * - ST (5.4): stops reading this area. We never write it; readers stop at its end anyway.
 * - PD (5.2): padding, skipped.
 */
import { LoopbackError } from '../../errors';
import { asciiBytes, asciiText, getBothU32, putBothU32 } from './numbers';

export const SUSP_SIGNATURE_WORD = 0;
export const SUSP_LENGTH = 2;
export const SUSP_SYSTEM_USE_ENTRY_VERSION = 3;
export const SUSP_HEADER_BYTES = 4;
/** An entry's length is one byte. */
export const MAX_SUSP_ENTRY_BYTES = 255;

// SP (5.3)
export const SP_CHECK_BYTES = 4; // 2 bytes: 0xBE 0xEF
export const SP_BYTES_SKIPPED = 6; // u8 (LEN_SKP)
export const SP_LENGTH = 7;
export const SP_CHECK_BYTE_VALUES = [0xbe, 0xef] as const;

// CE (5.1)
export const CE_BLOCK_LOCATION_OF_CONTINUATION_AREA = 4; // 7.3.3
export const CE_OFFSET_TO_START_OF_CONTINUATION_AREA = 12; // 7.3.3
export const CE_LENGTH_OF_CONTINUATION_AREA = 20; // 7.3.3
export const CE_LENGTH = 28;

// ER (5.5)
export const ER_LENGTH_OF_IDENTIFIER = 4; // LEN_ID
export const ER_LENGTH_OF_DESCRIPTOR = 5; // LEN_DES
export const ER_LENGTH_OF_SOURCE = 6; // LEN_SRC
export const ER_EXTENSION_VERSION = 7; // EXT_VER
export const ER_EXTENSION_IDENTIFIER = 8; // then descriptor, then source

export const ST_LENGTH = 4;

/** One entry as recorded: its signature, version and the bytes after the 4-byte header. */
export interface SuspEntry {
  signature: string;
  version: number;
  data: Uint8Array;
}

/** An entry's bytes: header + data. */
export function encodeSuspEntry(signature: string, version: number, data: Uint8Array): Uint8Array {
  const length = SUSP_HEADER_BYTES + data.length;
  if (signature.length !== 2 || length > MAX_SUSP_ENTRY_BYTES) {
    throw new LoopbackError('INTERNAL', `a SUSP "${signature}" entry of ${length} bytes does not fit its one-byte length`, {
      signature,
      length,
    });
  }
  const bytes = new Uint8Array(length);
  bytes.set(asciiBytes(signature), SUSP_SIGNATURE_WORD);
  bytes[SUSP_LENGTH] = length;
  bytes[SUSP_SYSTEM_USE_ENTRY_VERSION] = version;
  bytes.set(data, SUSP_HEADER_BYTES);
  return bytes;
}

/**
 * The entries of one system use area (or continuation area), in order. Stops at ST, at the end,
 * or at anything too short to be an entry (a padding byte, zeros); never throws.
 */
export function parseSuspEntries(area: Uint8Array): SuspEntry[] {
  const entries: SuspEntry[] = [];
  let offset = 0;
  while (offset + SUSP_HEADER_BYTES <= area.length) {
    const length = area[offset + SUSP_LENGTH] ?? 0;
    if (length < SUSP_HEADER_BYTES || offset + length > area.length) break;
    const signature = asciiText(area.subarray(offset, offset + 2));
    if (signature === 'ST') break;
    entries.push({
      signature,
      version: area[offset + SUSP_SYSTEM_USE_ENTRY_VERSION] ?? 0,
      data: area.slice(offset + SUSP_HEADER_BYTES, offset + length),
    });
    offset += length;
  }
  return entries;
}

// --- SP ---

export function encodeSp(bytesSkipped = 0): Uint8Array {
  return encodeSuspEntry('SP', 1, Uint8Array.of(SP_CHECK_BYTE_VALUES[0], SP_CHECK_BYTE_VALUES[1], bytesSkipped));
}

/** The bytesSkipped of an SP entry, or null when `entry` is no valid SP. */
export function parseSp(entry: SuspEntry): { bytesSkipped: number } | null {
  const d = entry.data;
  if (entry.signature !== 'SP' || d.length < SP_LENGTH - SUSP_HEADER_BYTES) return null;
  if (
    d[SP_CHECK_BYTES - SUSP_HEADER_BYTES] !== SP_CHECK_BYTE_VALUES[0] ||
    d[SP_CHECK_BYTES - SUSP_HEADER_BYTES + 1] !== SP_CHECK_BYTE_VALUES[1]
  )
    return null;
  return { bytesSkipped: d[SP_BYTES_SKIPPED - SUSP_HEADER_BYTES] ?? 0 };
}

// --- CE ---

export interface ContinuationArea {
  blockLocationOfContinuationArea: number;
  offsetToStartOfContinuationArea: number;
  lengthOfContinuationArea: number;
}

export function encodeCe(ce: ContinuationArea): Uint8Array {
  const data = new Uint8Array(CE_LENGTH - SUSP_HEADER_BYTES);
  putBothU32(data, CE_BLOCK_LOCATION_OF_CONTINUATION_AREA - SUSP_HEADER_BYTES, ce.blockLocationOfContinuationArea);
  putBothU32(data, CE_OFFSET_TO_START_OF_CONTINUATION_AREA - SUSP_HEADER_BYTES, ce.offsetToStartOfContinuationArea);
  putBothU32(data, CE_LENGTH_OF_CONTINUATION_AREA - SUSP_HEADER_BYTES, ce.lengthOfContinuationArea);
  return encodeSuspEntry('CE', 1, data);
}

export function parseCe(entry: SuspEntry): ContinuationArea | null {
  if (entry.signature !== 'CE' || entry.data.length < CE_LENGTH - SUSP_HEADER_BYTES) return null;
  return {
    blockLocationOfContinuationArea: getBothU32(entry.data, CE_BLOCK_LOCATION_OF_CONTINUATION_AREA - SUSP_HEADER_BYTES),
    offsetToStartOfContinuationArea: getBothU32(entry.data, CE_OFFSET_TO_START_OF_CONTINUATION_AREA - SUSP_HEADER_BYTES),
    lengthOfContinuationArea: getBothU32(entry.data, CE_LENGTH_OF_CONTINUATION_AREA - SUSP_HEADER_BYTES),
  };
}

// --- ER ---

export interface ExtensionReference {
  extensionIdentifier: string;
  extensionDescriptor: string;
  extensionSource: string;
  extensionVersion: number;
}

export function encodeEr(er: ExtensionReference): Uint8Array {
  const id = asciiBytes(er.extensionIdentifier);
  const des = asciiBytes(er.extensionDescriptor);
  const src = asciiBytes(er.extensionSource);
  const data = new Uint8Array(ER_EXTENSION_IDENTIFIER - SUSP_HEADER_BYTES + id.length + des.length + src.length);
  data[ER_LENGTH_OF_IDENTIFIER - SUSP_HEADER_BYTES] = id.length;
  data[ER_LENGTH_OF_DESCRIPTOR - SUSP_HEADER_BYTES] = des.length;
  data[ER_LENGTH_OF_SOURCE - SUSP_HEADER_BYTES] = src.length;
  data[ER_EXTENSION_VERSION - SUSP_HEADER_BYTES] = er.extensionVersion;
  let at = ER_EXTENSION_IDENTIFIER - SUSP_HEADER_BYTES;
  for (const part of [id, des, src]) {
    data.set(part, at);
    at += part.length;
  }
  return encodeSuspEntry('ER', 1, data);
}

export function parseEr(entry: SuspEntry): ExtensionReference | null {
  const d = entry.data;
  if (entry.signature !== 'ER' || d.length < ER_EXTENSION_IDENTIFIER - SUSP_HEADER_BYTES) return null;
  const idLength = d[ER_LENGTH_OF_IDENTIFIER - SUSP_HEADER_BYTES] ?? 0;
  const desLength = d[ER_LENGTH_OF_DESCRIPTOR - SUSP_HEADER_BYTES] ?? 0;
  const srcLength = d[ER_LENGTH_OF_SOURCE - SUSP_HEADER_BYTES] ?? 0;
  const start = ER_EXTENSION_IDENTIFIER - SUSP_HEADER_BYTES;
  return {
    extensionIdentifier: asciiText(d.subarray(start, start + idLength)),
    extensionDescriptor: asciiText(d.subarray(start + idLength, start + idLength + desLength)),
    extensionSource: asciiText(d.subarray(start + idLength + desLength, start + idLength + desLength + srcLength)),
    extensionVersion: d[ER_EXTENSION_VERSION - SUSP_HEADER_BYTES] ?? 0,
  };
}
