/**
 * Pure editing of a GptTable: each helper returns a new table and leaves its argument alone, so
 * the CLI (`loopstudio partition IMG --table gpt --add 'start=2048,size=rest,type=linux'`), the
 * UI and recipes share one set of rules. Each refuses, with LoopbackError('VALIDATION'), a change
 * that would make the partition it touches invalid (overlap, outside the usable sectors …).
 */
import { LoopbackError } from '../../errors';
import { GPT_ATTRIBUTE_BITS, NO_ATTRIBUTES, withAttribute, type GptAttributes } from './attributes';
import { randomGuid, type Guid } from './guid';
import type { GptPartition, GptTable } from './table';
import { partitionTypeName, resolvePartitionType } from './types';
import { describePartition, findGptProblems, validationError } from './validate';

/** Modern alignment: 1 MiB in 512-byte sectors, what sgdisk, parted and fdisk use. */
export const DEFAULT_ALIGNMENT_SECTORS = 2048;

export interface FreeRange {
  startingLBA: number;
  endingLBA: number;
  sizeSectors: number;
}

/** The unpartitioned runs of sectors between firstUsableLBA and lastUsableLBA, in disk order. */
export function freeRanges(table: GptTable): FreeRange[] {
  const taken = table.partitions
    .filter((p) => p.startingLBA <= p.endingLBA)
    .map((p) => [p.startingLBA, p.endingLBA] as const)
    .sort((a, b) => a[0] - b[0]);
  const free: FreeRange[] = [];
  let next = table.firstUsableLBA;
  for (const [start, end] of [...taken, [table.lastUsableLBA + 1, table.lastUsableLBA + 1] as const]) {
    const gapEnd = Math.min(start - 1, table.lastUsableLBA);
    if (gapEnd >= next) free.push({ startingLBA: next, endingLBA: gapEnd, sizeSectors: gapEnd - next + 1 });
    next = Math.max(next, end + 1);
  }
  return free;
}

export interface NewGptPartition {
  /** 1-based partition number; default: the first unused entry. */
  index?: number;
  /** Default: the first free sector at a multiple of `alignmentSectors` with room for the partition. */
  startingLBA?: number;
  /** A number of sectors, or 'rest' for up to the next partition or the last usable sector. Default 'rest'. */
  sizeSectors?: number | 'rest';
  /** Inclusive last sector, instead of sizeSectors. */
  endingLBA?: number;
  /** An alias (`linux`, `efi`, `bios`, `fat32` …), an sgdisk code (`8300`) or a type GUID. Default `linux`. */
  type?: string;
  /** Default empty. At most 36 UTF-16 code units. */
  name?: string;
  /** Default: a random GUID. */
  uniqueGuid?: Guid;
  attributes?: GptAttributes;
  /** Used only when startingLBA is not given. Default 2048 (1 MiB). */
  alignmentSectors?: number;
}

function invalidInput(message: string, details?: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

function withPartitions(table: GptTable, partitions: GptPartition[]): GptTable {
  return { ...table, partitions: [...partitions].sort((a, b) => a.index - b.index) };
}

/** `table` with `partition` changed or added, refused when the change makes that partition invalid. */
function checked(table: GptTable, index: number, action: string): GptTable {
  const problems = findGptProblems(table).filter((problem) => problem.partitions.includes(index));
  if (problems.length > 0) throw validationError(action, problems);
  return table;
}

function findPartition(table: GptTable, index: number): GptPartition {
  const partition = table.partitions.find((p) => p.index === index);
  if (!partition) {
    const existing = table.partitions.map((p) => p.index).join(', ') || 'none';
    throw new LoopbackError('NOT_FOUND', `there is no partition ${index} (existing partitions: ${existing})`, { index });
  }
  return partition;
}

function firstUnusedIndex(table: GptTable): number {
  const used = new Set(table.partitions.map((p) => p.index));
  for (let index = 1; index <= table.numberOfPartitionEntries; index++) if (!used.has(index)) return index;
  throw new LoopbackError('VALIDATION', `all ${table.numberOfPartitionEntries} partition entries are in use`, {});
}

function where(table: GptTable, sector: number): string {
  const holder = table.partitions.find((p) => p.startingLBA <= sector && sector <= p.endingLBA);
  return holder
    ? `sector ${sector} is inside ${describePartition(holder)}`
    : `sector ${sector} is outside the usable sectors ${table.firstUsableLBA}–${table.lastUsableLBA}`;
}

/** Adds a partition; see NewGptPartition for the defaults. */
export function addPartition(table: GptTable, spec: NewGptPartition = {}): GptTable {
  const alignment = spec.alignmentSectors ?? DEFAULT_ALIGNMENT_SECTORS;
  if (!Number.isSafeInteger(alignment) || alignment < 1)
    throw invalidInput(`alignment must be a positive number of sectors, got ${alignment}`);
  if (spec.sizeSectors !== undefined && spec.endingLBA !== undefined) throw invalidInput('give either a size or an end sector, not both');
  const size = spec.endingLBA !== undefined ? undefined : (spec.sizeSectors ?? 'rest');
  if (typeof size === 'number' && (!Number.isSafeInteger(size) || size < 1))
    throw invalidInput(`size must be a positive number of sectors, got ${size}`);
  for (const [field, value] of [
    ['start', spec.startingLBA],
    ['end', spec.endingLBA],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0))
      throw invalidInput(`${field} must be a sector number, got ${value}`);
  }

  const index = spec.index ?? firstUnusedIndex(table);
  if (table.partitions.some((p) => p.index === index)) {
    throw new LoopbackError(
      'VALIDATION',
      `Cannot add partition ${index}: ${describePartition(findPartition(table, index))} already exists`,
      { index },
    );
  }
  const gaps = freeRanges(table);
  let startingLBA: number;
  let gapEnd: number;
  if (spec.startingLBA !== undefined) {
    startingLBA = spec.startingLBA;
    const gap = gaps.find((g) => g.startingLBA <= startingLBA && startingLBA <= g.endingLBA);
    if (!gap)
      throw new LoopbackError('VALIDATION', `Cannot add partition ${index} at sector ${startingLBA}: ${where(table, startingLBA)}`, {
        index,
        startingLBA,
      });
    gapEnd = gap.endingLBA;
  } else {
    const fits = gaps
      .map((g) => ({ start: Math.ceil(g.startingLBA / alignment) * alignment, end: g.endingLBA }))
      .find(({ start, end }) => {
        const last = typeof size === 'number' ? start + size - 1 : (spec.endingLBA ?? start);
        return start <= end && start <= last && last <= end;
      });
    if (!fits) {
      const free = gaps.map((g) => `${g.startingLBA}–${g.endingLBA}`).join(', ') || 'none';
      const wanted =
        typeof size === 'number'
          ? `${size} sectors`
          : spec.endingLBA !== undefined
            ? `a partition ending at sector ${spec.endingLBA}`
            : 'a partition';
      throw new LoopbackError(
        'VALIDATION',
        `Cannot add partition ${index}: no free space for ${wanted} starting at a multiple of ${alignment} sectors (free sectors: ${free}); ` +
          `give a start sector or a smaller alignment`,
        { index, alignmentSectors: alignment, free: gaps },
      );
    }
    startingLBA = fits.start;
    gapEnd = fits.end;
  }
  const endingLBA = size === 'rest' ? gapEnd : typeof size === 'number' ? startingLBA + size - 1 : spec.endingLBA!;
  const typeGuid = resolvePartitionType(spec.type ?? 'linux');
  const partition: GptPartition = {
    index,
    typeGuid,
    typeName: partitionTypeName(typeGuid),
    uniqueGuid: spec.uniqueGuid ?? randomGuid(),
    startingLBA,
    endingLBA,
    attributes: spec.attributes ?? NO_ATTRIBUTES,
    name: spec.name ?? '',
  };
  return checked(withPartitions(table, [...table.partitions, partition]), index, `add partition ${index}`);
}

/** Removes partition `index` (1-based); the other partitions keep their numbers. */
export function deletePartition(table: GptTable, index: number): GptTable {
  findPartition(table, index);
  return withPartitions(
    table,
    table.partitions.filter((p) => p.index !== index),
  );
}

function changePartition(table: GptTable, index: number, change: Partial<GptPartition>, action: string): GptTable {
  const updated = { ...findPartition(table, index), ...change, index };
  return checked(withPartitions(table, [...table.partitions.filter((p) => p.index !== index), updated]), index, action);
}

/**
 * Moves or resizes partition `index` in place: a new first sector and/or size, everything else —
 * number, unique GUID, type, name, attributes — as it was. The data inside does not move.
 */
export function resizePartition(table: GptTable, index: number, extent: { startingLBA?: number; sizeSectors?: number }): GptTable {
  const partition = findPartition(table, index);
  const startingLBA = extent.startingLBA ?? partition.startingLBA;
  const sizeSectors = extent.sizeSectors ?? partition.endingLBA - partition.startingLBA + 1;
  if (!Number.isSafeInteger(startingLBA) || startingLBA < 0) throw invalidInput(`start must be a sector number, got ${startingLBA}`);
  if (!Number.isSafeInteger(sizeSectors) || sizeSectors < 1)
    throw invalidInput(`size must be a positive number of sectors, got ${sizeSectors}`);
  return changePartition(table, index, { startingLBA, endingLBA: startingLBA + sizeSectors - 1 }, `move or resize partition ${index}`);
}

/** `type`: an alias, an sgdisk code or a type GUID (see types.ts). */
export function setPartitionType(table: GptTable, index: number, type: string): GptTable {
  const typeGuid = resolvePartitionType(type);
  return changePartition(table, index, { typeGuid, typeName: partitionTypeName(typeGuid) }, `set the type of partition ${index}`);
}

export function setPartitionName(table: GptTable, index: number, name: string): GptTable {
  return changePartition(table, index, { name }, `name partition ${index}`);
}

export function setPartitionAttributes(table: GptTable, index: number, attributes: GptAttributes): GptTable {
  return changePartition(table, index, { attributes }, `set the attributes of partition ${index}`);
}

/** Sets or clears bit 2, "legacy BIOS bootable" (UEFI 5.3.3). */
export function setLegacyBiosBootable(table: GptTable, index: number, bootable: boolean): GptTable {
  const { attributes } = findPartition(table, index);
  return setPartitionAttributes(table, index, withAttribute(attributes, GPT_ATTRIBUTE_BITS.legacyBiosBootable, bootable));
}
