/**
 * Editing an MBR layout: pure functions that take a layout and an edit and return a new,
 * validated layout (the input is never changed). Nothing here touches a disk; `writeMbr`
 * does that afterwards.
 *
 * Placement follows fdisk/sfdisk: a partition without a start goes to the first free sector
 * aligned to `alignmentSectors` (2048 = 1 MiB by default, 63 for the legacy track layout) where
 * it fits; `size=rest` runs to the end of the free run it starts in. A logical partition gets
 * its EBR at the aligned start of the free run and itself one alignment unit later, which is
 * exactly where sfdisk puts them.
 */
import { LoopbackError } from '../errors';
import { extendedPartition, logicalPartitions, partitionEndSector, type MbrLayout, type MbrPartition } from './mbr';
import { MBR_MAX_LBA } from './mbr-sector';
import { MODERN_ALIGNMENT_SECTORS, type PartitionSettings, type PartitionSpec } from './partition-spec';
import { formatMbrType, isExtendedType } from './partition-types';
import { describeSectors, validateMbrLayout } from './validate';

export interface FreeRun {
  startSector: number;
  endSector: number;
  sectorCount: number;
}

export interface EditOptions {
  /** Default 2048 (1 MiB). */
  alignmentSectors?: number;
}

interface Occupied {
  startSector: number;
  endSector: number;
  what: string;
}

function refuse(message: string, details: Record<string, unknown> = {}): LoopbackError {
  return new LoopbackError('VALIDATION', message, details);
}

function alignUp(sector: number, alignment: number): number {
  return Math.ceil(sector / alignment) * alignment;
}

/** The gaps in [first, last] not covered by `occupied`. */
function gaps(first: number, last: number, occupied: readonly Occupied[]): FreeRun[] {
  const runs: FreeRun[] = [];
  let next = first;
  for (const o of [...occupied].sort((a, b) => a.startSector - b.startSector)) {
    if (o.startSector > next) {
      const end = Math.min(o.startSector - 1, last);
      if (end >= next) runs.push({ startSector: next, endSector: end, sectorCount: end - next + 1 });
    }
    next = Math.max(next, o.endSector + 1);
  }
  if (next <= last) runs.push({ startSector: next, endSector: last, sectorCount: last - next + 1 });
  return runs;
}

/** The disk area primary partitions may use: sector 1 (after the MBR) to the last sector MBR can address. */
function primaryArea(layout: MbrLayout): { first: number; last: number; occupied: Occupied[] } {
  return {
    first: 1,
    last: Math.min(layout.diskSectors - 1, MBR_MAX_LBA),
    occupied: layout.partitions
      .filter((p) => p.kind !== 'logical')
      .map((p) => ({
        startSector: p.startSector,
        endSector: partitionEndSector(p),
        what: `partition ${p.number} (${describeSectors(p.startSector, p.sectorCount)})`,
      })),
  };
}

function logicalArea(layout: MbrLayout, extended: MbrPartition): { first: number; last: number; occupied: Occupied[] } {
  const occupied: Occupied[] = [
    { startSector: extended.startSector, endSector: extended.startSector, what: `the first EBR of extended partition ${extended.number}` },
  ];
  for (const p of logicalPartitions(layout)) {
    occupied.push({
      startSector: p.startSector,
      endSector: partitionEndSector(p),
      what: `partition ${p.number} (${describeSectors(p.startSector, p.sectorCount)})`,
    });
    if (p.ebrSector !== undefined)
      occupied.push({ startSector: p.ebrSector, endSector: p.ebrSector, what: `the EBR of partition ${p.number}` });
  }
  return { first: extended.startSector, last: Math.min(partitionEndSector(extended), layout.diskSectors - 1), occupied };
}

/** Free space for new primary/extended partitions, or for logical ones inside the extended partition. */
export function freeRuns(layout: MbrLayout, area: 'primary' | 'logical'): FreeRun[] {
  if (area === 'primary') {
    const { first, last, occupied } = primaryArea(layout);
    return gaps(first, last, occupied);
  }
  const extended = extendedPartition(layout);
  if (!extended) return [];
  const { first, last, occupied } = logicalArea(layout, extended);
  return gaps(first, last, occupied);
}

function sizeText(spec: PartitionSpec): string {
  return spec.size === 'rest' ? 'the rest of the free space' : `${spec.size.sectors} sectors`;
}

/** Where a start sector the user gave falls: inside which free run, or on what. */
function runContaining(
  runs: readonly FreeRun[],
  sector: number,
  occupied: readonly Occupied[],
  areaText: string,
  first: number,
  last: number,
): FreeRun {
  const run = runs.find((r) => sector >= r.startSector && sector <= r.endSector);
  if (run) return run;
  const user = occupied.find((o) => sector >= o.startSector && sector <= o.endSector);
  if (user) throw refuse(`Sector ${sector} is not free: it belongs to ${user.what}`, { startSector: sector });
  if (sector < first && first === 1)
    throw refuse(`Sector ${sector} holds the MBR; partitions start at sector 1 or later`, { startSector: sector });
  throw refuse(`Sector ${sector} is outside ${areaText} (sectors ${first}–${last})`, {
    startSector: sector,
    firstSector: first,
    lastSector: last,
  });
}

function sectorCountIn(spec: PartitionSpec, startSector: number, run: FreeRun): number {
  return spec.size === 'rest' ? run.endSector - startSector + 1 : spec.size.sectors;
}

function fits(spec: PartitionSpec, startSector: number, run: FreeRun): boolean {
  return startSector <= run.endSector && (spec.size === 'rest' || startSector + spec.size.sectors - 1 <= run.endSector);
}

function noRoom(spec: PartitionSpec, runs: readonly FreeRun[], where: string): LoopbackError {
  const largest = runs.reduce<FreeRun | undefined>((best, r) => (!best || r.sectorCount > best.sectorCount ? r : best), undefined);
  const largestText = largest
    ? `the largest free run is ${describeSectors(largest.startSector, largest.sectorCount)} (${largest.sectorCount} sectors)`
    : 'there is no free space';
  return refuse(`No room ${where} for a partition of ${sizeText(spec)}: ${largestText}`, { freeRuns: runs });
}

function placePrimary(layout: MbrLayout, spec: PartitionSpec, alignment: number): { startSector: number; sectorCount: number } {
  const { first, last, occupied } = primaryArea(layout);
  const runs = gaps(first, last, occupied);
  if (spec.startSector !== undefined) {
    // An explicit start and size are taken as given; validation reports any overlap.
    if (spec.size !== 'rest') return { startSector: spec.startSector, sectorCount: spec.size.sectors };
    const run = runContaining(runs, spec.startSector, occupied, 'the disk', first, last);
    return { startSector: spec.startSector, sectorCount: sectorCountIn(spec, spec.startSector, run) };
  }
  for (const run of runs) {
    const start = alignUp(run.startSector, alignment);
    if (fits(spec, start, run)) return { startSector: start, sectorCount: sectorCountIn(spec, start, run) };
  }
  throw noRoom(spec, runs, 'on the disk');
}

function placeLogical(
  layout: MbrLayout,
  extended: MbrPartition,
  spec: PartitionSpec,
  alignment: number,
): { ebrSector: number; startSector: number; sectorCount: number } {
  const { first, last, occupied } = logicalArea(layout, extended);
  const areaText = `extended partition ${extended.number}`;
  if (logicalPartitions(layout).length === 0) {
    // The first logical partition's EBR is the extended partition's first sector.
    const run: FreeRun = { startSector: first + 1, endSector: last, sectorCount: last - first };
    const start = spec.startSector ?? alignUp(first + 1, alignment);
    if (start <= first || start > last) {
      throw refuse(
        `A logical partition must start inside ${areaText} after its first sector ${first}, which holds the EBR (sectors ${first + 1}–${last})`,
        {
          startSector: start,
        },
      );
    }
    if (spec.startSector === undefined && !fits(spec, start, run)) throw noRoom(spec, [run], `in ${areaText}`);
    return { ebrSector: first, startSector: start, sectorCount: sectorCountIn(spec, start, run) };
  }
  const runs = gaps(first, last, occupied);
  if (spec.startSector !== undefined) {
    const start = spec.startSector;
    const run = runContaining(runs, start, occupied, areaText, first, last);
    const ebrSector = Math.max(run.startSector, start - alignment);
    if (ebrSector >= start) {
      throw refuse(`A logical partition needs a free sector before its start for its EBR; sector ${start - 1} is not free`, {
        startSector: start,
      });
    }
    return { ebrSector, startSector: start, sectorCount: sectorCountIn(spec, start, run) };
  }
  for (const run of runs) {
    const alignedEbr = alignUp(run.startSector, alignment);
    for (const ebrSector of [alignedEbr, run.startSector]) {
      const start = alignUp(ebrSector + 1, alignment);
      if (ebrSector <= run.endSector && fits(spec, start, run))
        return { ebrSector, startSector: start, sectorCount: sectorCountIn(spec, start, run) };
    }
  }
  throw noRoom(spec, runs, `in ${areaText}`);
}

function requireAlignment(alignment: number): void {
  if (!Number.isSafeInteger(alignment) || alignment < 1) {
    throw new LoopbackError('INVALID_INPUT', `Alignment must be a whole number of sectors, at least 1, not ${alignment}`, { alignment });
  }
}

export interface AddResult {
  layout: MbrLayout;
  partition: MbrPartition;
}

/** Adds a partition as described by `spec` (see partition-spec.ts). Throws VALIDATION when it cannot. */
export function addPartition(layout: MbrLayout, spec: PartitionSpec, options: EditOptions = {}): AddResult {
  const alignment = options.alignmentSectors ?? MODERN_ALIGNMENT_SECTORS;
  requireAlignment(alignment);
  let partition: MbrPartition;
  if (spec.kind === 'logical') {
    const extended = extendedPartition(layout);
    if (!extended) throw refuse('A logical partition needs an extended partition; add one first (--add extended)');
    const place = placeLogical(layout, extended, spec, alignment);
    partition = {
      number: 5 + logicalPartitions(layout).length,
      kind: 'logical',
      startSector: place.startSector,
      sectorCount: place.sectorCount,
      type: spec.type,
      bootable: spec.bootable,
      ebrSector: place.ebrSector,
    };
  } else {
    const existing = extendedPartition(layout);
    if (spec.kind === 'extended' && existing) {
      throw refuse(`There is already an extended partition (partition ${existing.number}); an MBR holds only one`, {
        number: existing.number,
      });
    }
    const usedSlots = new Set(layout.partitions.filter((p) => p.kind !== 'logical').map((p) => p.number));
    const number = spec.number ?? [1, 2, 3, 4].find((slot) => !usedSlots.has(slot));
    if (number === undefined) {
      throw refuse(
        'All four primary slots are in use (partitions 1–4): delete one, or use logical partitions inside an extended partition',
      );
    }
    if (usedSlots.has(number)) throw refuse(`Slot ${number} is already used by partition ${number}`, { number });
    const place = placePrimary(layout, spec, alignment);
    partition = {
      number,
      kind: spec.kind,
      startSector: place.startSector,
      sectorCount: place.sectorCount,
      type: spec.type,
      bootable: spec.bootable,
    };
  }
  const primaries = layout.partitions.filter((p) => p.kind !== 'logical');
  const logicals = logicalPartitions(layout);
  const partitions = partition.kind === 'logical' ? [...primaries, ...logicals, partition] : [...primaries, partition, ...logicals];
  const next: MbrLayout = { ...layout, partitions };
  validateMbrLayout(next);
  return { layout: next, partition };
}

function findPartition(layout: MbrLayout, number: number): MbrPartition {
  const partition = layout.partitions.find((p) => p.number === number);
  if (!partition) {
    const numbers = layout.partitions.map((p) => p.number).sort((a, b) => a - b);
    throw new LoopbackError(
      'NOT_FOUND',
      `There is no partition ${number}${numbers.length ? ` (the table has ${numbers.join(', ')})` : ' (the table is empty)'}`,
      {
        number,
        numbers,
      },
    );
  }
  return partition;
}

/**
 * Deletes partition `number`. Deleting the extended partition deletes its logical partitions;
 * deleting a logical partition renumbers the ones after it, as Linux does (6 becomes 5 …).
 */
export function deletePartition(layout: MbrLayout, number: number): MbrLayout {
  const target = findPartition(layout, number);
  let partitions: MbrPartition[];
  if (target.kind === 'extended') {
    partitions = layout.partitions.filter((p) => p.kind !== 'logical' && p !== target);
  } else if (target.kind === 'logical') {
    const primaries = layout.partitions.filter((p) => p.kind !== 'logical');
    const extended = extendedPartition(layout)!;
    const logicals = logicalPartitions(layout)
      .filter((p) => p !== target)
      .map((p, i) => ({ ...p, number: 5 + i }));
    // The chain must start at the extended partition's first sector (an empty first EBR makes
    // sfdisk print "omitting empty partition"): when the first logical goes, the next one's EBR
    // moves there, as fdisk does. Its data stays where it is.
    const first = logicals[0];
    if (first && first.ebrSector !== extended.startSector) logicals[0] = { ...first, ebrSector: extended.startSector };
    partitions = [...primaries, ...logicals];
  } else {
    partitions = layout.partitions.filter((p) => p !== target);
  }
  const next = { ...layout, partitions };
  validateMbrLayout(next);
  return next;
}

/** Changes the bootable flag and/or the type of partition `number`, and moves or resizes it (resizePartition). */
export function setPartition(layout: MbrLayout, number: number, settings: PartitionSettings, options: EditOptions = {}): MbrLayout {
  if (settings.startSector !== undefined || settings.sectorCount !== undefined) {
    const { startSector, sectorCount, ...rest } = settings;
    const moved = resizePartition(
      layout,
      number,
      { ...(startSector !== undefined ? { startSector } : {}), ...(sectorCount !== undefined ? { sectorCount } : {}) },
      options,
    );
    return rest.type === undefined && rest.bootable === undefined ? moved : setPartition(moved, number, rest);
  }
  const target = findPartition(layout, number);
  const updated: MbrPartition = { ...target };
  if (settings.type !== undefined) {
    if (target.kind === 'extended' && !isExtendedType(settings.type)) {
      throw refuse(
        `Partition ${number} is the extended partition; its type must stay an extended type (05, 0f, 85), not ${formatMbrType(settings.type)}`,
        {
          number,
          type: settings.type,
        },
      );
    }
    if (target.kind !== 'extended' && isExtendedType(settings.type)) {
      throw refuse(
        `Partition ${number} cannot become an extended partition by changing its type to ${formatMbrType(settings.type)}; add an extended partition instead`,
        {
          number,
          type: settings.type,
        },
      );
    }
    updated.type = settings.type;
  }
  if (settings.bootable !== undefined) updated.bootable = settings.bootable;
  const next = { ...layout, partitions: layout.partitions.map((p) => (p === target ? updated : p)) };
  validateMbrLayout(next);
  return next;
}

/**
 * Moves or resizes partition `number` in place (`--set N start=…,size=…`): it keeps its number,
 * type, flag and place in the EBR chain; only the table entry changes, not the data inside.
 * A logical partition keeps its EBR while that still comes before it; otherwise the EBR goes one
 * alignment unit before it, after whatever ends there (as placeLogical puts a new one). An
 * extended partition holding logical partitions keeps its start: its first sector is the chain's
 * first EBR.
 */
export function resizePartition(
  layout: MbrLayout,
  number: number,
  extent: { startSector?: number; sectorCount?: number },
  options: EditOptions = {},
): MbrLayout {
  const alignment = options.alignmentSectors ?? MODERN_ALIGNMENT_SECTORS;
  requireAlignment(alignment);
  const target = findPartition(layout, number);
  const startSector = extent.startSector ?? target.startSector;
  const sectorCount = extent.sectorCount ?? target.sectorCount;
  if (target.kind === 'extended' && startSector !== target.startSector && logicalPartitions(layout).length > 0) {
    throw refuse(
      `Extended partition ${number} holds logical partitions, and its first sector ${target.startSector} holds the first of their EBRs: its start cannot move while they are there (its end can)`,
      { number },
    );
  }
  const updated: MbrPartition = { ...target, startSector, sectorCount };
  if (target.kind === 'logical') updated.ebrSector = ebrBefore(layout, target, startSector, alignment);
  const next = { ...layout, partitions: layout.partitions.map((p) => (p === target ? updated : p)) };
  validateMbrLayout(next);
  return next;
}

/** Where a moved logical partition's EBR goes (see resizePartition); validation judges the result. */
function ebrBefore(layout: MbrLayout, target: MbrPartition, startSector: number, alignment: number): number | undefined {
  const extended = extendedPartition(layout);
  if (!extended || target.ebrSector === undefined) return target.ebrSector;
  if (target.ebrSector === extended.startSector || target.ebrSector < startSector) return target.ebrSector;
  const taken = logicalPartitions(layout)
    .filter((p) => p !== target)
    .flatMap((p) => [partitionEndSector(p), ...(p.ebrSector !== undefined ? [p.ebrSector] : [])])
    .filter((sector) => sector < startSector);
  return Math.max(Math.max(extended.startSector, ...taken) + 1, startSector - alignment);
}

export type PartitionEdit =
  { op: 'add'; spec: PartitionSpec } | { op: 'delete'; number: number } | { op: 'set'; number: number; settings: PartitionSettings };

/** One edit of any kind, for recipes that list them. */
export function applyPartitionEdit(layout: MbrLayout, edit: PartitionEdit, options: EditOptions = {}): MbrLayout {
  switch (edit.op) {
    case 'add':
      return addPartition(layout, edit.spec, options).layout;
    case 'delete':
      return deletePartition(layout, edit.number);
    case 'set':
      return setPartition(layout, edit.number, edit.settings, options);
  }
}
