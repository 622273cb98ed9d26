/**
 * VFAT long-name directory entries (Microsoft FAT spec v1.03, section "FAT Long Directory
 * Entries"). A long name of up to 255 UTF-16 characters is cut into pieces of 13 stored in
 * entries placed, last piece first, right before the short entry they belong to; each carries
 * the checksum of that short entry's 11-byte name so a reader can tell they still match.
 */
import { ATTR_LONG_NAME, DIR_FREE, SHORT_NAME_BYTES } from './dir-entry';

export const LDIR_ORD = 0; // u8: sequence number, 1-based; LAST_LONG_ENTRY marks the last piece
export const LDIR_NAME1 = 1; // characters 1-5 (UTF-16LE)
export const LDIR_ATTR = 11; // u8: ATTR_LONG_NAME
export const LDIR_TYPE = 12; // u8: 0
export const LDIR_CHKSUM = 13; // u8: checksum of the short name
export const LDIR_NAME2 = 14; // characters 6-11
export const LDIR_FSTCLUSLO = 26; // u16: must be 0
export const LDIR_NAME3 = 28; // characters 12-13

/** FAT spec: "LAST_LONG_ENTRY 0x40", or-ed into LDIR_Ord of the last piece (stored first). */
export const LAST_LONG_ENTRY = 0x40;
export const CHARS_PER_LFN_ENTRY = 13;
/** 255 characters in pieces of 13 (FAT spec). */
export const MAX_LFN_ENTRIES = 20;

/** Where each of an entry's 13 UTF-16 characters lives, in order: 5 in Name1, 6 in Name2, 2 in Name3. */
const CHAR_OFFSETS = [
  ...[0, 2, 4, 6, 8].map((i) => LDIR_NAME1 + i),
  ...[0, 2, 4, 6, 8, 10].map((i) => LDIR_NAME2 + i),
  ...[0, 2].map((i) => LDIR_NAME3 + i),
];

/** FAT spec, ChkSum(): rotate right by one and add the next byte, over the 11 name bytes. */
export function lfnChecksum(shortName: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < SHORT_NAME_BYTES; i++) {
    sum = (((sum & 1) << 7) + (sum >> 1) + (shortName[i] ?? 0)) & 0xff;
  }
  return sum;
}

export function lfnEntryCount(longName: string): number {
  return Math.ceil(longName.length / CHARS_PER_LFN_ENTRY);
}

/**
 * The long-name entries for `longName`, in the order they are stored (highest ordinal first).
 * The name ends with one 0x0000 when there is room, and the rest is padded with 0xFFFF (FAT spec).
 */
export function encodeLfnEntries(longName: string, checksum: number): Uint8Array {
  const count = lfnEntryCount(longName);
  const bytes = new Uint8Array(count * 32);
  for (let ord = 1; ord <= count; ord++) {
    const at = (count - ord) * 32;
    bytes[at + LDIR_ORD] = ord | (ord === count ? LAST_LONG_ENTRY : 0);
    bytes[at + LDIR_ATTR] = ATTR_LONG_NAME;
    bytes[at + LDIR_TYPE] = 0;
    bytes[at + LDIR_CHKSUM] = checksum;
    // LDIR_FstClusLO (offset LDIR_FSTCLUSLO) stays 0, as the spec requires.
    for (let i = 0; i < CHARS_PER_LFN_ENTRY; i++) {
      const index = (ord - 1) * CHARS_PER_LFN_ENTRY + i;
      const unit = index < longName.length ? longName.charCodeAt(index) : index === longName.length ? 0x0000 : 0xffff;
      const offset = at + (CHAR_OFFSETS[i] ?? 0);
      bytes[offset] = unit & 0xff;
      bytes[offset + 1] = unit >> 8;
    }
  }
  return bytes;
}

/**
 * Collects long-name entries while a directory is read in order, and hands the name to the
 * short entry that follows them when the sequence is complete and its checksum matches.
 */
export class LfnCollector {
  private pieces: string[] = [];
  private expected = 0;
  private checksum = -1;
  /** Slot index of the first entry of the current sequence. */
  private startSlot = -1;

  /** Feeds one long-name entry (the 32 bytes at `offset`) found at `slot`. */
  add(bytes: Uint8Array, offset: number, slot: number): void {
    const ord = bytes[offset + LDIR_ORD] ?? 0;
    const checksum = bytes[offset + LDIR_CHKSUM] ?? 0;
    const sequence = ord & ~LAST_LONG_ENTRY;
    if (ord === DIR_FREE || sequence < 1 || sequence > MAX_LFN_ENTRIES) {
      this.reset();
      return;
    }
    if (ord & LAST_LONG_ENTRY) {
      this.pieces = new Array<string>(sequence).fill('');
      this.expected = sequence;
      this.checksum = checksum;
      this.startSlot = slot;
    } else if (sequence !== this.expected || checksum !== this.checksum) {
      this.reset();
      return;
    }
    let text = '';
    for (const charOffset of CHAR_OFFSETS) {
      const unit = (bytes[offset + charOffset] ?? 0) | ((bytes[offset + charOffset + 1] ?? 0) << 8);
      if (unit === 0x0000) break;
      text += String.fromCharCode(unit);
    }
    this.pieces[sequence - 1] = text;
    this.expected = sequence - 1;
  }

  /**
   * The long name for the short entry `shortName`, with the slot its sequence started at, or
   * null when no complete, matching sequence precedes it — or when it spells an empty name (a
   * damaged entry: the short name stands, as Linux and mtools read it). Resets for the next entry.
   */
  take(shortName: Uint8Array): { name: string; startSlot: number } | null {
    const complete = this.pieces.length > 0 && this.expected === 0 && this.checksum === lfnChecksum(shortName);
    const name = complete ? this.pieces.join('') : '';
    const result = name !== '' ? { name, startSlot: this.startSlot } : null;
    this.reset();
    return result;
  }

  reset(): void {
    this.pieces = [];
    this.expected = 0;
    this.checksum = -1;
    this.startSlot = -1;
  }
}
