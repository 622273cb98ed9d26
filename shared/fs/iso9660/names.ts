/**
 * Names in the three trees of an ISO image:
 *
 * - ISO 9660 (ECMA-119 7.5, 7.6, 10): d-characters only (A–Z, 0–9, _). Interchange level 1
 *   allows "NAME.EXT;1" with at most 8 + 3 characters and directories of 8; level 2 allows 30
 *   characters of name and extension together and directories of 31 (levels 2 and 3 differ
 *   only in multi-extent files). A name is mapped as mkisofs maps it: upper case, any other
 *   character becomes "_", the last "." (not a leading one) separates the extension, then cut to
 *   the level's lengths. Every file gets the version ";1" and a "." even without an extension
 *   ("KERNEL.;1"), as mkisofs and xorriso write it.
 * - Joliet: UCS-2 (UTF-16 big-endian), case kept, at most 64 characters; "*", "/", ":", ";",
 *   "?", "\" and control characters are not allowed and become "_" (as mkisofs does), and so do
 *   trailing dots and spaces (which Windows and libisofs drop).
 * - Rock Ridge: the name itself, UTF-8, up to 255 bytes (NAME_MAX); see rock-ridge.ts.
 *
 * Two entries of one directory whose mapped names are equal are made unique deterministically,
 * as mkisofs does ("Using READM000.TXT;1 for ReadMe.TXT"): in the order of their real names
 * (UTF-16 code units), the first keeps the mapped name, each other gets the smallest counter
 * (000, 001, …) that, put at the end of its name part, gives a name no other entry has.
 */
export type IsoLevel = 1 | 2;
export type EntryKind = 'file' | 'directory';

/** What the ISO 9660 tree shows for one entry. */
export interface IsoName {
  /** File name part (d-characters). */
  base: string;
  /** Extension (d-characters; "" for none). Always "" for directories. */
  ext: string;
}

interface LevelLimits {
  fileBaseBytes: number;
  fileExtBytes: number;
  /** Name + extension together. */
  fileTotalBytes: number;
  directoryBytes: number;
}

export const LEVEL_LIMITS: Readonly<Record<IsoLevel, LevelLimits>> = {
  1: { fileBaseBytes: 8, fileExtBytes: 3, fileTotalBytes: 11, directoryBytes: 8 },
  2: { fileBaseBytes: 30, fileExtBytes: 30, fileTotalBytes: 30, directoryBytes: 31 },
};

/** Joliet: at most 64 UCS-2 characters in a file identifier (the Joliet specification, 1995). */
export const JOLIET_MAX_NAME_CHARS = 64;
/** ";1", appended to a Joliet file name when it stays within the 64 characters. */
const VERSION_SUFFIX = ';1';
/** Rock Ridge names are POSIX names: NAME_MAX bytes. */
export const ROCK_RIDGE_MAX_NAME_BYTES = 255;

/** ECMA-119 7.4.1: the d-characters. */
export function isDCharacter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f;
}

/** Upper case, and every character that is no d-character becomes "_". */
export function toDCharacters(text: string): string {
  let out = '';
  for (const char of text) {
    const upper = char >= 'a' && char <= 'z' ? char.toUpperCase() : char;
    out += upper.length === 1 && isDCharacter(upper.charCodeAt(0)) ? upper : '_';
  }
  return out;
}

/** The mapped ISO 9660 name of `name` before any counter is added. */
export function mapIsoName(name: string, kind: EntryKind, level: IsoLevel): IsoName {
  const limits = LEVEL_LIMITS[level];
  if (kind === 'directory') return { base: toDCharacters(name).slice(0, limits.directoryBytes), ext: '' };
  const dot = name.lastIndexOf('.');
  let base = toDCharacters(dot > 0 ? name.slice(0, dot) : name);
  let ext = dot > 0 ? toDCharacters(name.slice(dot + 1)) : '';
  if (level === 1) {
    base = base.slice(0, limits.fileBaseBytes);
    ext = ext.slice(0, limits.fileExtBytes);
  } else if (base.length + ext.length > limits.fileTotalBytes) {
    // Keep at least three characters of the extension (or all of a shorter one), then the name.
    ext = ext.slice(0, Math.max(Math.min(ext.length, 3), limits.fileTotalBytes - base.length));
    base = base.slice(0, limits.fileTotalBytes - ext.length);
  }
  return { base, ext };
}

/** The recorded identifier: "BASE.EXT;1" for files, "BASE" for directories. */
export function isoIdentifier(name: IsoName, kind: EntryKind): string {
  return kind === 'directory' ? name.base : `${name.base}.${name.ext};1`;
}

/**
 * What two entries may not share: the identifier without version, and without the "." of a
 * file that has no extension (readers show "KERNEL." as "KERNEL", the same as a directory).
 */
function isoKey(name: IsoName): string {
  return name.ext === '' ? name.base : `${name.base}.${name.ext}`;
}

/** The name with `counter` at the end of its name part, cut to fit the level. */
function withCounter(name: IsoName, kind: EntryKind, level: IsoLevel, counter: number): IsoName {
  const limits = LEVEL_LIMITS[level];
  const digits = String(counter).padStart(3, '0');
  const room = kind === 'directory' ? limits.directoryBytes : Math.min(limits.fileBaseBytes, limits.fileTotalBytes - name.ext.length);
  return { base: name.base.slice(0, Math.max(0, room - digits.length)) + digits, ext: name.ext };
}

export interface NamedEntry {
  /** The real (Rock Ridge) name. */
  name: string;
  kind: EntryKind;
}

/** One renaming the caller may want to show, as mkisofs prints "Using X for Y". */
export interface NameChange {
  /** The real name. */
  name: string;
  /** What the mapping gave, shared with `sharedWith`. */
  mapped: string;
  /** The unique name used instead. */
  used: string;
  /** The real name of the entry that kept `mapped`; null when the name only had to be cut or cleaned (Joliet). */
  sharedWith: string | null;
}

/** A name the caller asked us not to change but that cannot stay as it is. */
export interface NameRefusal {
  message: string;
  details: Record<string, unknown>;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * ISO 9660 identifiers for the entries of one directory, unique, in the order given. With
 * `collisions: 'refuse'` each pair mapping to one name is also reported in `refusals`, naming
 * both (`describe` turns a real name into what the message shows, e.g. its full path).
 */
export function assignIsoIdentifiers(
  entries: readonly NamedEntry[],
  level: IsoLevel,
  collisions: 'rename' | 'refuse',
  describe: (name: string) => string = (name) => name,
): { identifiers: string[]; changes: NameChange[]; refusals: NameRefusal[] } {
  const mapped = entries.map((e) => mapIsoName(e.name, e.kind, level));
  const refusals: NameRefusal[] = [];
  const order = entries.map((_, i) => i).sort((a, b) => byCodeUnits(entries[a]!.name, entries[b]!.name));
  const owner = new Map<string, number>();
  const used = new Set(mapped.map(isoKey));
  const result: IsoName[] = new Array(entries.length);
  const changes: NameChange[] = [];
  for (const i of order) {
    const name = mapped[i]!;
    const entry = entries[i]!;
    const key = isoKey(name);
    const first = owner.get(key);
    if (first === undefined) {
      owner.set(key, i);
      result[i] = name;
      continue;
    }
    const other = entries[first]!;
    const identifier = isoIdentifier(name, entry.kind);
    if (collisions === 'refuse') {
      refusals.push({
        message: `${describe(other.name)} and ${describe(entry.name)} both map to the ISO 9660 name "${identifier}" (level ${level}): rename one, or let the writer rename it (nameCollisions: 'rename')`,
        details: { names: [describe(other.name), describe(entry.name)], isoName: identifier, level },
      });
    }
    let counter = 0;
    let candidate = withCounter(name, entry.kind, level, counter);
    while (used.has(isoKey(candidate))) candidate = withCounter(name, entry.kind, level, ++counter);
    used.add(isoKey(candidate));
    owner.set(isoKey(candidate), i);
    result[i] = candidate;
    changes.push({ name: entry.name, mapped: identifier, used: isoIdentifier(candidate, entry.kind), sharedWith: other.name });
  }
  return { identifiers: result.map((name, i) => isoIdentifier(name, entries[i]!.kind)), changes, refusals };
}

// --- Joliet ---

const JOLIET_FORBIDDEN = new Set(['*', '/', ':', ';', '?', '\\']);

/**
 * The Joliet name for `name`: forbidden characters replaced, and trailing dots and spaces too —
 * Windows drops them, and so do libisofs's readers (osirrox reads "a." as "a"), which would make
 * "a." and "a" one name. Not yet cut to 64 characters.
 */
export function mapJolietName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const char = name[i]!;
    out += JOLIET_FORBIDDEN.has(char) || char.charCodeAt(0) < 0x20 ? '_' : char;
  }
  const trailing = /[. ]+$/.exec(out);
  return trailing ? out.slice(0, trailing.index) + '_'.repeat(trailing[0].length) : out;
}

/** `text` cut to at most `units` UTF-16 code units, never between the halves of a surrogate pair. */
export function cutUtf16(text: string, units: number): string {
  if (text.length <= units) return text;
  const code = text.charCodeAt(units - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? units - 1 : units);
}

/** The recorded Joliet identifier: files get ";1" when it fits within 64 characters (xorriso leaves it off otherwise). */
export function jolietIdentifier(name: string, kind: EntryKind): string {
  return kind === 'file' && name.length + VERSION_SUFFIX.length <= JOLIET_MAX_NAME_CHARS ? name + VERSION_SUFFIX : name;
}

/**
 * Joliet names for the entries of one directory, unique, in the order given. A name longer
 * than 64 characters is cut ('truncate', what mkisofs and xorriso do) or reported in `refusals`
 * ('refuse');
 * names the cut or the character replacement made equal get counters as in assignIsoIdentifiers.
 */
export function assignJolietNames(
  entries: readonly NamedEntry[],
  longNames: 'truncate' | 'refuse',
  describe: (name: string) => string = (name) => name,
): { names: string[]; changes: NameChange[]; refusals: NameRefusal[] } {
  const refusals: NameRefusal[] = [];
  const mapped = entries.map((e) => {
    const name = mapJolietName(e.name);
    if (name.length > JOLIET_MAX_NAME_CHARS && longNames === 'refuse') {
      refusals.push({
        message: `${describe(e.name)}: the name has ${name.length} UTF-16 characters, more than the ${JOLIET_MAX_NAME_CHARS} Joliet allows (Windows reads Joliet names): shorten it, or let the writer cut the Joliet name (jolietLongNames: 'truncate')`,
        details: { name: describe(e.name), lengthChars: name.length, maxChars: JOLIET_MAX_NAME_CHARS },
      });
    }
    return cutUtf16(name, JOLIET_MAX_NAME_CHARS);
  });
  const order = entries.map((_, i) => i).sort((a, b) => byCodeUnits(entries[a]!.name, entries[b]!.name));
  const used = new Set(mapped);
  const owner = new Map<string, number>();
  const result: string[] = new Array(entries.length);
  const changes: NameChange[] = [];
  for (const i of order) {
    const name = mapped[i]!;
    const first = owner.get(name);
    if (first === undefined) {
      owner.set(name, i);
      result[i] = name;
      if (name !== entries[i]!.name) changes.push({ name: entries[i]!.name, mapped: name, used: name, sharedWith: null });
      continue;
    }
    let counter = 0;
    const candidateFor = (n: number) => {
      const digits = String(n).padStart(3, '0');
      const dot = name.lastIndexOf('.');
      const ext = dot > 0 && entries[i]!.kind === 'file' && name.length - dot <= 8 ? name.slice(dot) : '';
      const stem = name.slice(0, name.length - ext.length);
      return cutUtf16(stem, JOLIET_MAX_NAME_CHARS - ext.length - digits.length) + digits + ext;
    };
    let candidate = candidateFor(counter);
    while (used.has(candidate)) candidate = candidateFor(++counter);
    used.add(candidate);
    owner.set(candidate, i);
    result[i] = candidate;
    changes.push({ name: entries[i]!.name, mapped: name, used: candidate, sharedWith: entries[first]!.name });
  }
  return { names: result, changes, refusals };
}

// --- Ordering (ECMA-119 9.3, 6.9.1) ---

/** Splits "NAME.EXT;1" into its parts for ordering; a directory identifier is all name. */
function identifierParts(identifier: string): [string, string, number] {
  const semi = identifier.lastIndexOf(';');
  const version = semi >= 0 ? Number(identifier.slice(semi + 1)) || 0 : 0;
  const body = semi >= 0 ? identifier.slice(0, semi) : identifier;
  const dot = body.lastIndexOf('.');
  return dot >= 0 ? [body.slice(0, dot), body.slice(dot + 1), version] : [body, '', version];
}

function comparePadded(a: string, b: string): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = i < a.length ? a.charCodeAt(i) : 0x20;
    const y = i < b.length ? b.charCodeAt(i) : 0x20;
    if (x !== y) return x - y;
  }
  return 0;
}

/**
 * ECMA-119 9.3: records ordered by file name, then extension (each compared as if padded with
 * spaces), then version, higher first. Joliet identifiers are ordered the same way by their
 * UTF-16 code units.
 */
export function compareIdentifiers(a: string, b: string): number {
  const [an, ae, av] = identifierParts(a);
  const [bn, be, bv] = identifierParts(b);
  return comparePadded(an, bn) || comparePadded(ae, be) || bv - av;
}
