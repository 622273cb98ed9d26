/**
 * GUIDs as GPT stores them (UEFI spec 2.10, appendix A "GUID and Time Formats", used by section
 * 5.3.2 for DiskGUID and 5.3.3 for PartitionTypeGUID / UniquePartitionGUID).
 *
 * Text form: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" (we always produce upper case, as sgdisk and
 * sfdisk print it). On disk the 16 bytes are mixed-endian: the first three fields (TimeLow,
 * TimeMid, TimeHighAndVersion) are little-endian, the last two (ClockSeq and Node) are stored
 * in text order. So the EFI System type above is stored as
 * 28 73 2A C1 1F F8 D2 11 BA 4B 00 A0 C9 3E C9 3B.
 */
import { LoopbackError } from '../../errors';

/** A GUID in canonical text form: 8-4-4-4-12 upper-case hex digits. */
export type Guid = string;

export const GUID_SIZE_BYTES = 16;
export const ZERO_GUID: Guid = '00000000-0000-0000-0000-000000000000';

const GUID_TEXT = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** The byte order of each text hex pair on disk: fields 1–3 reversed, fields 4–5 as written. */
const DISK_ORDER_OF_TEXT_BYTES = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] as const;

export function isGuid(text: string): boolean {
  return GUID_TEXT.test(text.trim());
}

/** Accepts any case and optional braces; returns the canonical upper-case form. */
export function parseGuid(text: string): Guid {
  const match = GUID_TEXT.exec(text.trim());
  if (!match) {
    throw new LoopbackError(
      'INVALID_INPUT',
      `"${text}" is not a GUID: expected 8-4-4-4-12 hex digits such as C12A7328-F81F-11D2-BA4B-00A0C93EC93B`,
      { value: text },
    );
  }
  return match.slice(1).join('-').toUpperCase();
}

/** The 16 on-disk bytes of a GUID (mixed-endian, see the module comment). */
export function guidToBytes(guid: Guid): Uint8Array {
  const hex = parseGuid(guid).replaceAll('-', '');
  const bytes = new Uint8Array(GUID_SIZE_BYTES);
  DISK_ORDER_OF_TEXT_BYTES.forEach((textIndex, diskIndex) => {
    bytes[diskIndex] = parseInt(hex.slice(textIndex * 2, textIndex * 2 + 2), 16);
  });
  return bytes;
}

/** Reads a GUID from its 16 on-disk bytes at `offsetBytes`. */
export function guidFromBytes(bytes: Uint8Array, offsetBytes = 0): Guid {
  if (offsetBytes < 0 || offsetBytes + GUID_SIZE_BYTES > bytes.length) {
    throw new LoopbackError('INVALID_INPUT', `a GUID needs 16 bytes at offset ${offsetBytes}, but only ${bytes.length} bytes are given`);
  }
  const textBytes = new Array<string>(GUID_SIZE_BYTES);
  DISK_ORDER_OF_TEXT_BYTES.forEach((textIndex, diskIndex) => {
    textBytes[textIndex] = bytes[offsetBytes + diskIndex]!.toString(16).padStart(2, '0');
  });
  return guidFromHex(textBytes.join(''));
}

/**
 * A random (version 4, RFC 9562 variant) GUID from the platform's cryptographic generator
 * (globalThis.crypto exists in Node 20, browsers and Electron).
 */
export function randomGuid(): Guid {
  const random = new Uint8Array(GUID_SIZE_BYTES);
  globalThis.crypto.getRandomValues(random);
  // In text order: byte 6 carries the version in its high nibble, byte 8 the variant bits 10xx.
  random[6] = (random[6]! & 0x0f) | 0x40;
  random[8] = (random[8]! & 0x3f) | 0x80;
  return guidFromHex(Array.from(random, (b) => b.toString(16).padStart(2, '0')).join(''));
}

/** 32 hex digits in text order → "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX". */
function guidFromHex(hex: string): Guid {
  const upper = hex.toUpperCase();
  return `${upper.slice(0, 8)}-${upper.slice(8, 12)}-${upper.slice(12, 16)}-${upper.slice(16, 20)}-${upper.slice(20)}`;
}
