/**
 * File names on FAT: which long names are legal, how the 8.3 short name (the "basis name" plus a
 * "~n" numeric tail) is made from a long name, how stored short names read back, and how names
 * compare (case-insensitively). Microsoft FAT spec v1.03, sections "FAT Long Directory Entries",
 * "Name Limits and Character Sets" and "Basis-Name Generation" / "Numeric-Tail Generation".
 *
 * Short names hold OEM code page bytes. We use code page 850, the default of mtools and of
 * fsck.fat (`-c 850`), so all three tools read the same short names.
 */
import { LoopbackError } from '../../errors';
import { DIR_FREE, DIR_KANJI_E5, NTRES_LOWER_BASE, NTRES_LOWER_EXT, SHORT_NAME_BYTES } from './dir-entry';

/** FAT spec, "Name Limits": a long name has at most 255 UTF-16 characters. */
export const LONG_NAME_MAX_UNITS = 255;

/** Characters refused in long names by the FAT spec (besides control characters). */
const ILLEGAL_LONG_NAME_CHARS = '"*/:<>?\\|';
/** Besides A-Z and 0-9, the printable ASCII allowed in a short name (FAT spec, DIR_Name). */
const SHORT_NAME_SPECIALS = "$%'-_@~`!(){}^#&";

/** Code page 850, bytes 0x80..0xFF. */
const CP850_HIGH =
  '\u00c7\u00fc\u00e9\u00e2\u00e4\u00e0\u00e5\u00e7\u00ea\u00eb\u00e8\u00ef\u00ee\u00ec\u00c4\u00c5' +
  '\u00c9\u00e6\u00c6\u00f4\u00f6\u00f2\u00fb\u00f9\u00ff\u00d6\u00dc\u00f8\u00a3\u00d8\u00d7\u0192' +
  '\u00e1\u00ed\u00f3\u00fa\u00f1\u00d1\u00aa\u00ba\u00bf\u00ae\u00ac\u00bd\u00bc\u00a1\u00ab\u00bb' +
  '\u2591\u2592\u2593\u2502\u2524\u00c1\u00c2\u00c0\u00a9\u2563\u2551\u2557\u255d\u00a2\u00a5\u2510' +
  '\u2514\u2534\u252c\u251c\u2500\u253c\u00e3\u00c3\u255a\u2554\u2569\u2566\u2560\u2550\u256c\u00a4' +
  '\u00f0\u00d0\u00ca\u00cb\u00c8\u0131\u00cd\u00ce\u00cf\u2518\u250c\u2588\u2584\u00a6\u00cc\u2580' +
  '\u00d3\u00df\u00d4\u00d2\u00f5\u00d5\u00b5\u00fe\u00de\u00da\u00db\u00d9\u00fd\u00dd\u00af\u00b4' +
  '\u00ad\u00b1\u2017\u00be\u00b6\u00a7\u00f7\u00b8\u00b0\u00a8\u00b7\u00b9\u00b3\u00b2\u25a0\u00a0';

const CP850_ENCODE = new Map<string, number>(Array.from(CP850_HIGH, (char, i) => [char, 0x80 + i]));

/** Upper case that keeps the length (so "ß" stays "ß"), as FAT's case-insensitive compare needs. */
export function foldCase(name: string): string {
  // eslint-disable-next-line no-control-regex -- "only ASCII": the range starts at NUL on purpose
  if (/^[\x00-\x7f]*$/.test(name)) return name.toUpperCase();
  let out = '';
  for (const char of name) {
    const upper = char.toUpperCase();
    out += upper.length === char.length ? upper : char;
  }
  return out;
}

function invalidName(name: string, why: string): LoopbackError {
  return new LoopbackError('INVALID_INPUT', `${JSON.stringify(name)} is not a valid FAT file name: ${why}`, { name });
}

/** Throws INVALID_INPUT naming `name` unless it is a legal long file name. */
export function validateLongName(name: string): void {
  if (name.length === 0) throw invalidName(name, 'it is empty');
  if (name === '.' || name === '..') throw invalidName(name, '"." and ".." name the folder itself and its parent');
  if (name.length > LONG_NAME_MAX_UNITS) {
    throw invalidName(name, `it is ${name.length} characters long (UTF-16 units); FAT allows at most ${LONG_NAME_MAX_UNITS}`);
  }
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const char = name.charAt(i);
    if (code < 0x20 || code === 0x7f) throw invalidName(name, `it contains the control character 0x${code.toString(16).padStart(2, '0')}`);
    if (ILLEGAL_LONG_NAME_CHARS.includes(char))
      throw invalidName(name, `it contains ${JSON.stringify(char)}; FAT names cannot contain any of ${ILLEGAL_LONG_NAME_CHARS}`);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = name.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw invalidName(name, 'it contains an unpaired UTF-16 surrogate');
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      throw invalidName(name, 'it contains an unpaired UTF-16 surrogate');
    }
  }
  if (name.endsWith('.') || name.endsWith(' ')) {
    throw invalidName(name, 'it ends with a dot or a space, which Windows and DOS drop from names');
  }
}

/** Throws INVALID_INPUT unless `label` can be a volume label; returns it upper-cased, without trailing spaces. */
export function normalizeVolumeLabel(label: string): string {
  const upper = label.toUpperCase().replace(/ +$/, '');
  const refuse = (why: string) =>
    new LoopbackError('INVALID_INPUT', `${JSON.stringify(label)} is not a valid volume label: ${why}`, { label });
  if (upper.length === 0) throw refuse('it is empty (leave the label out for none)');
  if (upper.length > SHORT_NAME_BYTES) throw refuse(`it has ${upper.length} characters; a FAT label has at most ${SHORT_NAME_BYTES}`);
  if (upper.startsWith(' ')) throw refuse('it starts with a space');
  for (const char of upper) {
    const ok = /[A-Z0-9 ]/.test(char) || SHORT_NAME_SPECIALS.includes(char);
    if (!ok) throw refuse(`${JSON.stringify(char)} is not allowed; use A-Z, 0-9, space and ${SHORT_NAME_SPECIALS}`);
  }
  return upper;
}

/** The 11 DIR_Name bytes of a label ("MY DISK    "). */
export function labelBytes(label: string): Uint8Array {
  return Uint8Array.from(label.padEnd(SHORT_NAME_BYTES, ' '), (c) => c.charCodeAt(0));
}

/** The 11 stored bytes as a string, one character per byte: a map key for a short name. */
export function shortNameKey(name: Uint8Array): string {
  // Spelled out: called for every entry placed or read, and a spread allocates.
  return String.fromCharCode(
    name[0] ?? 0,
    name[1] ?? 0,
    name[2] ?? 0,
    name[3] ?? 0,
    name[4] ?? 0,
    name[5] ?? 0,
    name[6] ?? 0,
    name[7] ?? 0,
    name[8] ?? 0,
    name[9] ?? 0,
    name[10] ?? 0,
  );
}

function decodeOem(byte: number): string {
  return byte < 0x80 ? String.fromCharCode(byte) : (CP850_HIGH[byte - 0x80] ?? '?');
}

/** A volume label as stored (11 OEM bytes, space padded), or null when blank. */
export function decodeLabel(stored: Uint8Array): string | null {
  const text = Array.from(stored.subarray(0, SHORT_NAME_BYTES), decodeOem).join('').replace(/ +$/, '');
  return text === '' ? null : text;
}

/** Bytes [from, to) of a stored short name, decoded, without the padding spaces at the end. */
function decodeShortPart(stored: Uint8Array, from: number, to: number): string {
  let end = to;
  while (end > from && stored[end - 1] === 0x20) end--;
  let text = '';
  for (let i = from; i < end; i++) {
    let byte = stored[i] ?? 0;
    if (i === 0 && byte === DIR_KANJI_E5) byte = DIR_FREE;
    text += byte < 0x80 ? String.fromCharCode(byte) : (CP850_HIGH[byte - 0x80] ?? '?');
  }
  return text;
}

/** A stored short name as people see it: "README.TXT", with the NT lower-case flags applied. */
export function displayShortName(stored: Uint8Array, ntRes: number): string {
  let base = decodeShortPart(stored, 0, 8);
  let ext = decodeShortPart(stored, 8, SHORT_NAME_BYTES);
  if (ntRes & NTRES_LOWER_BASE) base = base.toLowerCase();
  if (ntRes & NTRES_LOWER_EXT) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

/** How a long name is stored: its short name and whether long-name entries are needed. */
export interface ShortNamePlan {
  /** 11 bytes, as DIR_Name stores them. */
  shortName: Uint8Array;
  /** True when the long name must be kept in LFN entries (it is not an 8.3 name as typed). */
  needsLongName: boolean;
  /** DIR_NTRes lower-case flags, for 8.3 names typed in lower case. */
  ntRes: number;
  /** The basis name (shortNameKey form) the numeric tail was added to. */
  basis: string;
  /** The "~n" tail used, 0 for none. */
  tail: number;
}

/** Marks a character that has no short-name form (it becomes "_", a lossy conversion). */
const LOSSY = -1;

/**
 * Per ASCII code, its byte in a short name, or LOSSY: "_" for +,;=[] — legal in long names only
 * (FAT spec) — and the rest (lower case included: names are upper-cased before).
 */
const ASCII_SHORT = Int16Array.from({ length: 0x80 }, (_, code) => {
  const char = String.fromCharCode(code);
  return /[A-Z0-9]/.test(char) || SHORT_NAME_SPECIALS.includes(char) ? code : LOSSY;
});

/** One character (code point) of a short name: its OEM byte, or LOSSY. */
function oemByte(char: string): number {
  const code = char.charCodeAt(0);
  if (char.length === 1 && code < 0x80) return ASCII_SHORT[code] ?? LOSSY;
  const byte = CP850_ENCODE.get(char);
  return byte === undefined || byte === 0xa0 || byte === 0xff ? LOSSY : byte;
}

/** "A-Z only" or "a-z only" or neither, for the NT case flags. */
function letterCase(text: string): 'upper' | 'lower' | 'none' | 'mixed' {
  const hasUpper = /[A-Z]/.test(text);
  const hasLower = /[a-z]/.test(text);
  if (hasUpper && hasLower) return 'mixed';
  if (hasLower) return 'lower';
  return hasUpper ? 'upper' : 'none';
}

/**
 * The short name for `longName` (already validated), avoiding the short names in `taken`
 * (keys from shortNameKey). Follows the spec's basis-name algorithm as Linux and mtools apply
 * it: upper case, OEM conversion with "_" for what has no 8.3 form, spaces and leading dots
 * stripped, base = what precedes the last dot (other dots dropped) cut to 8, extension = what
 * follows it cut to 3; a "~n" tail when the name did not fit 8.3 or the basis is taken.
 */
export function planShortName(
  longName: string,
  taken: { has(key: string): boolean },
  /** Where to start looking for a free tail for a basis (a folder's hint: the last one used + 1). */
  firstTail: (basis: string) => number = () => 1,
): ShortNamePlan {
  // Spec steps 1-4: upper case; leading dots and (all) spaces do not make it into the basis.
  const upper = foldCase(longName).replace(/^[. ]+/, '');
  const lastDot = upper.lastIndexOf('.');
  const rawBase = lastDot >= 0 ? upper.slice(0, lastDot) : upper;
  const rawExt = lastDot >= 0 ? upper.slice(lastDot + 1) : '';
  let lossy = false;
  const convert = (text: string): number[] => {
    const out: number[] = [];
    for (const char of text) {
      if (char === ' ' || char === '.') continue;
      const byte = oemByte(char);
      if (byte === LOSSY) lossy = true;
      out.push(byte === LOSSY ? 0x5f : byte);
    }
    return out;
  };
  const converted = convert(rawBase);
  const base = converted.length > 0 ? converted : [0x5f];
  const ext = convert(rawExt).slice(0, 3);
  // "Fits 8.3" as typed: printable ASCII without spaces, at most one dot and not a leading one,
  // 1-8 characters before it and 1-3 after it.
  const dot = longName.indexOf('.');
  const typedBase = dot >= 0 ? longName.slice(0, dot) : longName;
  const typedExt = dot >= 0 ? longName.slice(dot + 1) : '';
  const fits =
    !lossy &&
    /^[\x21-\x7e]+$/.test(longName) &&
    longName.indexOf('.', dot + 1) < 0 &&
    typedBase.length >= 1 &&
    typedBase.length <= 8 &&
    (dot < 0 || (typedExt.length >= 1 && typedExt.length <= 3));
  const compose = (baseBytes: number[]): Uint8Array => {
    const name = new Uint8Array(SHORT_NAME_BYTES).fill(0x20);
    name.set(baseBytes.slice(0, 8), 0);
    name.set(ext, 8);
    // FAT spec, DIR_Name[0]: a real 0xE5 first byte is stored as 0x05.
    if (name[0] === DIR_FREE) name[0] = DIR_KANJI_E5;
    return name;
  };
  const plain = compose(base);
  const basis = shortNameKey(plain);
  if (fits) {
    if (!taken.has(basis)) {
      const baseCase = letterCase(typedBase);
      const extCase = letterCase(typedExt);
      // A name in one case per part is stored as 8.3 with the NT case flags; mixed case needs a long name.
      const mixed = baseCase === 'mixed' || extCase === 'mixed';
      const ntRes = mixed ? 0 : (baseCase === 'lower' ? NTRES_LOWER_BASE : 0) | (extCase === 'lower' ? NTRES_LOWER_EXT : 0);
      return { shortName: plain, needsLongName: mixed, ntRes, basis, tail: 0 };
    }
  }
  // Spec, numeric-tail generation: "~n" with the base cut to make room, n free in this folder.
  // The search starts at the folder's hint, so filling a folder with similar names stays linear.
  const MAX_TAIL = 999999;
  const start = Math.min(Math.max(1, firstTail(basis)), MAX_TAIL);
  for (let i = 0; i < MAX_TAIL; i++) {
    const n = ((start - 1 + i) % MAX_TAIL) + 1;
    const tail = Array.from(`~${n}`, (c) => c.charCodeAt(0));
    const candidate = compose([...base.slice(0, 8 - tail.length), ...tail]);
    if (!taken.has(shortNameKey(candidate))) return { shortName: candidate, needsLongName: true, ntRes: 0, basis, tail: n };
  }
  throw new LoopbackError('VALIDATION', `No free short name is left for ${JSON.stringify(longName)} (~1 to ~999999 are all taken)`, {
    name: longName,
  });
}
