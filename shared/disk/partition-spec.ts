/**
 * The small languages of the partition commands (CLI and recipes):
 *
 *   --add 'start=63,size=rest,type=83,bootable'
 *   --add 'size=100MiB,type=fat32'          start omitted: the first free aligned sector
 *   --add 'extended'                        an extended partition over the rest of the disk
 *   --add 'logical,size=20M,type=linux'     a logical partition inside the extended one
 *   --set 2 'bootable=on,type=0c'
 *   --set 5 'start=4096,size=20M'            moves / resizes partition 5 in place: it keeps its
 *                                           number and its place in the EBR chain
 *   --delete 5
 *   --align 2048 | 63 | 1MiB
 *
 * Items are comma-separated `key=value` pairs or bare flags:
 *   start=N      first sector: plain numbers are sectors, with a unit bytes (`1MiB` = 2048)
 *   size=N|rest  plain numbers are sectors; with a unit bytes rounded up to whole sectors
 *                (sizes.ts: M/MiB = 2^20, MB = 10^6); `+` allowed (`+100M`, as in sfdisk);
 *                `rest` (the default) runs to the end of the free space after the start
 *   type=T       hex id or name (partition-types.ts); default 83 (Linux), 05 for extended
 *   number=N     the slot 1–4 for a primary or extended partition (default: first free)
 *   bootable     or bootable=on|off|yes|no|true|false|1|0
 *   primary | extended | logical   the kind (default primary)
 */
import { LoopbackError } from '../errors';
import { isExtendedType, MBR_TYPE_EXTENDED, MBR_TYPE_LINUX, parseMbrType } from './partition-types';
import { parseSectorCount, parseSectorOffset, SECTOR_BYTES } from './sizes';
import type { MbrPartitionKind } from './mbr';

export type SizeSpec = { sectors: number } | 'rest';

export interface PartitionSpec {
  kind: MbrPartitionKind;
  /** Primary/extended slot 1–4; undefined = the first free one. */
  number?: number;
  /** First sector; undefined = the first free aligned sector. */
  startSector?: number;
  size: SizeSpec;
  type: number;
  bootable: boolean;
}

export interface PartitionSettings {
  bootable?: boolean;
  type?: number;
  /** Moves the partition: its new first sector (the data inside does not move). */
  startSector?: number;
  /** Resizes it: its new size in sectors. */
  sectorCount?: number;
}

/** `start=` and `size=` of `--set`: a partition's new extent (no `rest`: that is for --add). */
function parseExtentSetting(item: Item, text: string, settings: { startSector?: number; sectorCount?: number }): void {
  if (item.key === 'start') {
    settings.startSector = parseStartItem(item, text, SECTOR_BYTES);
    return;
  }
  const size = parseSizeItem(item, text, SECTOR_BYTES);
  if (size === 'rest') throw invalid(`In "${text}", size=rest is for --add: give the new size`, { value: text });
  settings.sectorCount = size.sectors;
}

function invalid(message: string, details: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

interface Item {
  key: string;
  value: string | undefined;
  text: string;
}

function splitItems(text: string, what: string): Item[] {
  const items = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (items.length === 0) throw invalid(`Nothing in the ${what} "${text}"`, { value: text });
  const seen = new Set<string>();
  return items.map((item) => {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : item.slice(eq + 1).trim();
    if (seen.has(key)) throw invalid(`"${key}" appears twice in the ${what} "${text}"`, { value: text, key });
    seen.add(key);
    return { key, value, text: item };
  });
}

function requireValue(item: Item, spec: string): string {
  if (item.value === undefined || item.value === '') {
    throw invalid(`"${item.text}" in "${spec}" needs a value: ${item.key}=…`, { value: spec, item: item.text });
  }
  return item.value;
}

/** on/off, yes/no, true/false, 1/0. */
export function parseOnOff(text: string, what = 'value'): boolean {
  const key = text.trim().toLowerCase();
  if (['on', 'yes', 'true', '1'].includes(key)) return true;
  if (['off', 'no', 'false', '0'].includes(key)) return false;
  throw invalid(`"${text}" is not a valid ${what}: use on or off`, { value: text });
}

/** Wraps an error from a value parser so the message also names the item it came from. */
function inItem<T>(item: Item, spec: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof LoopbackError) {
      throw invalid(`In "${spec}", ${item.key}: ${error.message}`, { value: spec, item: item.text, ...(error.details ?? {}) });
    }
    throw error;
  }
}

/** `bootable` alone, or `bootable=on|off|yes|no|…`. */
function parseBootableItem(item: Item, text: string): boolean {
  return item.value === undefined ? true : inItem(item, text, () => parseOnOff(item.value ?? '', 'bootable setting'));
}

/** `start=N`: plain numbers are sectors, with a unit bytes on a sector boundary. */
function parseStartItem(item: Item, text: string, sectorBytes: number): number {
  const value = requireValue(item, text);
  return inItem(item, text, () => parseSectorOffset(value, sectorBytes));
}

/** `size=N|+N|rest`: plain numbers are sectors, with a unit bytes rounded up to whole sectors. */
function parseSizeItem(item: Item, text: string, sectorBytes: number): SizeSpec {
  const value = requireValue(item, text);
  if (value.toLowerCase() === 'rest') return 'rest';
  const sectors = inItem(item, text, () => parseSectorCount(value.replace(/^\+/, ''), sectorBytes));
  if (sectors === 0) throw invalid(`In "${text}", size is 0: a partition needs at least one sector`, { value: text });
  return { sectors };
}

/** Parses the `--add` text. Throws INVALID_INPUT naming the offending item. */
export function parsePartitionSpec(text: string, sectorBytes = SECTOR_BYTES): PartitionSpec {
  const items = splitItems(text, 'partition description');
  let kind: MbrPartitionKind | undefined;
  const spec: Partial<PartitionSpec> = {};
  for (const item of items) {
    switch (item.key) {
      case 'primary':
      case 'extended':
      case 'logical':
        if (item.value !== undefined)
          throw invalid(`"${item.text}" in "${text}": ${item.key} takes no value`, { value: text, item: item.text });
        if (kind !== undefined) throw invalid(`"${text}" names two kinds of partition (${kind} and ${item.key})`, { value: text });
        kind = item.key;
        break;
      case 'start':
        spec.startSector = parseStartItem(item, text, sectorBytes);
        break;
      case 'size':
        spec.size = parseSizeItem(item, text, sectorBytes);
        break;
      case 'type':
      case 'id': {
        const value = requireValue(item, text);
        spec.type = inItem(item, text, () => parseMbrType(value));
        break;
      }
      case 'number': {
        const value = requireValue(item, text);
        if (!/^[1-4]$/.test(value))
          throw invalid(`In "${text}", number=${value}: primary and extended partitions use slots 1–4`, { value: text });
        spec.number = Number(value);
        break;
      }
      case 'bootable':
        spec.bootable = parseBootableItem(item, text);
        break;
      default:
        throw invalid(
          `Unknown item "${item.text}" in "${text}": use start=, size=, type=, number=, bootable, primary, extended or logical`,
          { value: text, item: item.text },
        );
    }
  }
  const resolvedKind = kind ?? 'primary';
  if (resolvedKind === 'logical' && spec.number !== undefined) {
    throw invalid(`In "${text}": logical partitions are numbered 5, 6, … in chain order; number= is for primary slots`, { value: text });
  }
  const type = spec.type ?? (resolvedKind === 'extended' ? MBR_TYPE_EXTENDED : MBR_TYPE_LINUX);
  if (resolvedKind === 'extended' && !isExtendedType(type)) {
    throw invalid(`In "${text}": an extended partition needs type 05, 0f or 85, not ${type.toString(16)}`, { value: text });
  }
  if (resolvedKind !== 'extended' && isExtendedType(type)) {
    throw invalid(
      `In "${text}": type ${type.toString(16).padStart(2, '0')} is an extended type; write "extended" to make an extended partition`,
      { value: text },
    );
  }
  const result: PartitionSpec = { kind: resolvedKind, size: spec.size ?? 'rest', type, bootable: spec.bootable ?? false };
  if (spec.startSector !== undefined) result.startSector = spec.startSector;
  if (spec.number !== undefined) result.number = spec.number;
  return result;
}

/** Parses the `--set N` text: `bootable=on|off`, `type=0c`, `start=N`, `size=N` (any of them). */
export function parsePartitionSettings(text: string): PartitionSettings {
  const settings: PartitionSettings = {};
  for (const item of splitItems(text, 'partition settings')) {
    if (item.key === 'bootable') {
      settings.bootable = parseBootableItem(item, text);
    } else if (item.key === 'type' || item.key === 'id') {
      const value = requireValue(item, text);
      settings.type = inItem(item, text, () => parseMbrType(value));
    } else if (item.key === 'start' || item.key === 'size') {
      parseExtentSetting(item, text, settings);
    } else {
      throw invalid(`Unknown setting "${item.text}" in "${text}": use bootable=on|off, type=…, start= and size=`, {
        value: text,
        item: item.text,
      });
    }
  }
  return settings;
}

/** A partition number as typed after `--delete` / `--set`: 1–4 primary, 5… logical. */
export function parsePartitionNumber(text: string): number {
  const trimmed = text.trim();
  if (!/^[1-9]\d{0,2}$/.test(trimmed)) {
    throw invalid(`"${text}" is not a partition number: use 1–4 for primary partitions, 5 and up for logical ones`, { value: text });
  }
  return Number(trimmed);
}

/** 2048 sectors (1 MiB), the modern default that fdisk, sfdisk and parted use. */
export const MODERN_ALIGNMENT_SECTORS = 2048;
/** 63 sectors: one track of the 16/63 or 255/63 geometry, what DOS-era fdisk used. */
export const LEGACY_ALIGNMENT_SECTORS = 63;

/**
 * The alignment a layout already follows, to keep editing it that way: 63 when every partition
 * starts on a track boundary but not every one on a 1 MiB boundary (DOS-era fdisk and the classic
 * loopback recipe, first partition at sector 63), otherwise — and for an empty table — 2048.
 */
export function layoutAlignment(startSectors: readonly number[]): number {
  const all = (alignment: number) => startSectors.every((sector) => sector % alignment === 0);
  return startSectors.length > 0 && all(LEGACY_ALIGNMENT_SECTORS) && !all(MODERN_ALIGNMENT_SECTORS)
    ? LEGACY_ALIGNMENT_SECTORS
    : MODERN_ALIGNMENT_SECTORS;
}

/** `--align`: `2048`, `63`, `1MiB`, `modern`, `legacy` (a number is sectors). */
export function parseAlignment(text: string, sectorBytes = SECTOR_BYTES): number {
  const key = text.trim().toLowerCase();
  if (key === 'modern') return MODERN_ALIGNMENT_SECTORS;
  if (key === 'legacy' || key === 'track') return LEGACY_ALIGNMENT_SECTORS;
  const sectors = parseSectorOffset(key, sectorBytes);
  if (sectors < 1) throw invalid(`Alignment "${text}" must be at least one sector`, { value: text });
  return sectors;
}

// --- The same language for GPT partitions ---
//   --add 'start=2048,size=rest,type=linux,name=root'
//   --add 'size=1MiB,type=bios'            a BIOS boot partition for GRUB 2 on a GPT disk
//   --set 2 'type=efi,name=ESP,bootable=on'
//   --set 2 'start=4096,size=64MiB'        moves / resizes entry 2 in place (its GUIDs stay)
// type is an alias (linux, efi, bios, fat32, swap …), an sgdisk code (8300) or a type GUID;
// `bootable` sets the "legacy BIOS bootable" attribute (bit 2). number=N picks the entry 1–128.

export interface GptPartitionSpec {
  index?: number;
  startSector?: number;
  size: SizeSpec;
  /** As typed; resolved (and checked) by the GPT editor. */
  type: string;
  name: string;
  bootable: boolean;
}

export interface GptPartitionSettings {
  type?: string;
  name?: string;
  bootable?: boolean;
  startSector?: number;
  sectorCount?: number;
}

function parseGptIndex(item: Item, text: string): number {
  const value = requireValue(item, text);
  if (!/^[1-9]\d{0,2}$/.test(value) || Number(value) > 128)
    throw invalid(`In "${text}", number=${value}: GPT entries are numbered 1–128`, { value: text });
  return Number(value);
}

export function parseGptPartitionSpec(text: string, sectorBytes = SECTOR_BYTES): GptPartitionSpec {
  const spec: GptPartitionSpec = { size: 'rest', type: 'linux', name: '', bootable: false };
  for (const item of splitItems(text, 'partition description')) {
    switch (item.key) {
      case 'start':
        spec.startSector = parseStartItem(item, text, sectorBytes);
        break;
      case 'size':
        spec.size = parseSizeItem(item, text, sectorBytes);
        break;
      case 'type':
        spec.type = requireValue(item, text);
        break;
      case 'name':
        spec.name = item.value ?? '';
        break;
      case 'number':
        spec.index = parseGptIndex(item, text);
        break;
      case 'bootable':
        spec.bootable = parseBootableItem(item, text);
        break;
      default:
        throw invalid(`Unknown item "${item.text}" in "${text}": for a GPT use start=, size=, type=, name=, number= or bootable`, {
          value: text,
          item: item.text,
        });
    }
  }
  return spec;
}

export function parseGptPartitionSettings(text: string): GptPartitionSettings {
  const settings: GptPartitionSettings = {};
  for (const item of splitItems(text, 'partition settings')) {
    if (item.key === 'bootable') {
      settings.bootable = parseBootableItem(item, text);
    } else if (item.key === 'type') {
      settings.type = requireValue(item, text);
    } else if (item.key === 'name') {
      settings.name = item.value ?? '';
    } else if (item.key === 'start' || item.key === 'size') {
      parseExtentSetting(item, text, settings);
    } else {
      throw invalid(`Unknown setting "${item.text}" in "${text}": for a GPT use type=, name=, bootable=on|off, start= and size=`, {
        value: text,
        item: item.text,
      });
    }
  }
  return settings;
}
