/**
 * Checks a partition layout before anything is written. Two parts:
 * - `rangeProblems`: generic, over `{index, startSector, sectorCount}` ranges — zero sizes,
 *   ranges outside the usable area, overlaps. Any table format can use it (MBR here, GPT in
 *   `gpt/` with its first and last usable LBA).
 * - `mbrLayoutProblems`: the MBR's own rules (four primary slots, one extended partition,
 *   logical partitions and their EBRs inside it, the 2 TiB limit of 32-bit sector fields).
 * Problems are collected, not thrown one by one, so a UI can show them all; `throwIfProblems`
 * turns them into one LoopbackError('VALIDATION').
 */
import { LoopbackError } from '../errors';
import { checkTrackGeometry } from './geometry';
import type { MbrLayout, MbrPartition } from './mbr';
import { MBR_BOOT_CODE_BYTES, MBR_MAX_LBA } from './mbr-sector';
import { formatMbrType, isExtendedType, MBR_TYPE_GPT_PROTECTIVE, mbrTypeName } from './partition-types';

export type ProblemCode =
  | 'BAD_FIELD'
  | 'ZERO_SIZE'
  | 'OUT_OF_RANGE'
  | 'OVERLAP'
  | 'BAD_NUMBER'
  | 'BAD_TYPE'
  | 'TOO_MANY_PRIMARIES'
  | 'MULTIPLE_EXTENDED'
  | 'BEYOND_2TIB'
  | 'NO_EXTENDED'
  | 'LOGICAL_OUTSIDE_EXTENDED'
  | 'BAD_EBR';

export interface ValidationProblem {
  code: ProblemCode;
  /** A sentence for a person naming the partitions and sectors involved. */
  message: string;
  details: Record<string, unknown>;
}

export interface SectorRange {
  /** The partition number people see (1-based). */
  index: number;
  startSector: number;
  sectorCount: number;
  /** How to name the range; default `partition ${index}`. E.g. "the EBR of partition 6". */
  label?: string;
}

function labelOf(range: SectorRange): string {
  return range.label ?? `partition ${range.index}`;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "sectors 63–1007999", or "sector 2048" for a one-sector range. */
export function describeSectors(startSector: number, sectorCount: number): string {
  const end = startSector + sectorCount - 1;
  return sectorCount === 1 ? `sector ${startSector}` : `sectors ${startSector}–${end}`;
}

/** "partition 2 (sectors 2048–4095)". */
export function describeRange(range: SectorRange): string {
  return `${labelOf(range)} (${describeSectors(range.startSector, range.sectorCount)})`;
}

function rangeDetails(range: SectorRange): Record<string, unknown> {
  return {
    index: range.index,
    startSector: range.startSector,
    endSector: range.startSector + range.sectorCount - 1,
    sectorCount: range.sectorCount,
  };
}

export interface UsableArea {
  firstUsableSector: number;
  lastUsableSector: number;
  /** What lives before the first usable sector, for messages: "sector 0 holds the MBR". */
  reservedBefore?: string;
  /** What the area is, for messages: "the disk" (default), "extended partition 2". */
  areaName?: string;
}

/**
 * Zero or malformed sizes, ranges outside [firstUsableSector, lastUsableSector], and every
 * overlapping pair ("Partition 2 (sectors 2048–4095) overlaps partition 1 (sectors 63–3000)").
 */
export function rangeProblems(ranges: readonly SectorRange[], area: UsableArea): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const areaName = area.areaName ?? 'the disk';
  const wellFormed: SectorRange[] = [];
  for (const range of ranges) {
    const name = capitalized(labelOf(range));
    if (
      !Number.isSafeInteger(range.startSector) ||
      range.startSector < 0 ||
      !Number.isSafeInteger(range.sectorCount) ||
      range.sectorCount < 0
    ) {
      problems.push({
        code: 'BAD_FIELD',
        message: `${name} has start ${range.startSector} and size ${range.sectorCount}: both must be whole numbers of sectors, not negative`,
        details: { index: range.index, startSector: range.startSector, sectorCount: range.sectorCount },
      });
      continue;
    }
    if (range.sectorCount === 0) {
      problems.push({
        code: 'ZERO_SIZE',
        message: `${name} (starting at sector ${range.startSector}) has a size of 0 sectors`,
        details: rangeDetails(range),
      });
      continue;
    }
    const end = range.startSector + range.sectorCount - 1;
    if (range.startSector < area.firstUsableSector) {
      const why = area.reservedBefore ? `: ${area.reservedBefore}` : '';
      problems.push({
        code: 'OUT_OF_RANGE',
        message: `${capitalized(describeRange(range))} starts before sector ${area.firstUsableSector}, the first usable sector of ${areaName}${why}`,
        details: { ...rangeDetails(range), firstUsableSector: area.firstUsableSector },
      });
    } else if (end > area.lastUsableSector) {
      problems.push({
        code: 'OUT_OF_RANGE',
        message: `${capitalized(describeRange(range))} ends beyond sector ${area.lastUsableSector}, the last usable sector of ${areaName}`,
        details: { ...rangeDetails(range), lastUsableSector: area.lastUsableSector },
      });
    }
    wellFormed.push(range);
  }
  for (let j = 0; j < wellFormed.length; j++) {
    for (let i = 0; i < j; i++) {
      const a = wellFormed[i]!;
      const b = wellFormed[j]!;
      const overlaps = a.startSector < b.startSector + b.sectorCount && b.startSector < a.startSector + a.sectorCount;
      if (overlaps) {
        problems.push({
          code: 'OVERLAP',
          message: `${capitalized(describeRange(b))} overlaps ${describeRange(a)}`,
          details: { range: rangeDetails(b), overlapping: rangeDetails(a) },
        });
      }
    }
  }
  return problems;
}

/** Throws one LoopbackError('VALIDATION') carrying every problem; does nothing when there are none. */
export function throwIfProblems(problems: readonly ValidationProblem[]): void {
  if (problems.length === 0) return;
  const message =
    problems.length === 1 ? problems[0]!.message : `${problems.length} problems: ${problems.map((p) => p.message).join('; ')}`;
  throw new LoopbackError('VALIDATION', message, { problems: problems.map((p) => ({ ...p })) });
}

// --- MBR rules ---

function partitionRange(partition: MbrPartition): SectorRange {
  return { index: partition.number, startSector: partition.startSector, sectorCount: partition.sectorCount };
}

function typeText(type: number): string {
  return `${formatMbrType(type)} (${mbrTypeName(type)})`;
}

/**
 * Every problem with an MBR layout, as `mbrLayoutProblems(layout)`; pass `diskSectors` to check
 * against a device's real size instead of the layout's.
 */
export function mbrLayoutProblems(layout: MbrLayout, diskSectors = layout.diskSectors): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const problem = (code: ProblemCode, message: string, details: Record<string, unknown> = {}): void => {
    problems.push({ code, message, details });
  };

  if (!Number.isSafeInteger(diskSectors) || diskSectors < 2) {
    problem('BAD_FIELD', `The disk has ${diskSectors} sectors; an MBR disk needs at least 2 (the MBR and one sector to partition)`, {
      diskSectors,
    });
    return problems;
  }
  try {
    checkTrackGeometry(layout.geometry);
  } catch (error) {
    problem('BAD_FIELD', `Bad CHS geometry: ${(error as Error).message}`, { geometry: layout.geometry });
  }
  if (!Number.isInteger(layout.diskSignature) || layout.diskSignature < 0 || layout.diskSignature > 0xffffffff) {
    problem('BAD_FIELD', `The disk signature ${layout.diskSignature} is not a 32-bit number`, { diskSignature: layout.diskSignature });
  }
  if (layout.bootCode !== undefined && layout.bootCode.length !== MBR_BOOT_CODE_BYTES) {
    problem('BAD_FIELD', `The boot code is ${layout.bootCode.length} bytes; the MBR holds exactly ${MBR_BOOT_CODE_BYTES}`, {
      lengthBytes: layout.bootCode.length,
    });
  }
  if (layout.reserved !== undefined && (!Number.isInteger(layout.reserved) || layout.reserved < 0 || layout.reserved > 0xffff)) {
    problem('BAD_FIELD', `The reserved word at bytes 444–445 is ${layout.reserved}, not a 16-bit number`, { reserved: layout.reserved });
  }

  const primaries = layout.partitions.filter((p) => p.kind !== 'logical');
  const logicals = layout.partitions.filter((p) => p.kind === 'logical');
  const extendeds = layout.partitions.filter((p) => p.kind === 'extended');

  // Numbers: primaries and the extended partition use slots 1-4; logicals are 5, 6, … in chain order.
  if (primaries.length > 4) {
    problem(
      'TOO_MANY_PRIMARIES',
      `The MBR has 4 slots for primary and extended partitions; this layout has ${primaries.length} (partitions ${primaries.map((p) => p.number).join(', ')}). Use an extended partition with logical partitions for more`,
      { numbers: primaries.map((p) => p.number) },
    );
  }
  const seenSlots = new Set<number>();
  for (const p of primaries) {
    if (!Number.isInteger(p.number) || p.number < 1 || p.number > 4) {
      problem('BAD_NUMBER', `Partition ${p.number} is ${p.kind}, but primary and extended partitions are numbered 1–4`, {
        number: p.number,
      });
    } else if (seenSlots.has(p.number)) {
      problem('BAD_NUMBER', `Two partitions use number ${p.number}`, { number: p.number });
    }
    seenSlots.add(p.number);
  }
  logicals.forEach((p, i) => {
    if (p.number !== 5 + i) {
      problem(
        'BAD_NUMBER',
        `Logical partition ${p.number} is number ${5 + i} in the EBR chain; logical partitions are numbered 5, 6, … in chain order`,
        {
          number: p.number,
          expected: 5 + i,
        },
      );
    }
  });

  for (const p of layout.partitions) {
    if (!Number.isInteger(p.type) || p.type < 1 || p.type > 0xff) {
      problem('BAD_TYPE', `Partition ${p.number} has type ${p.type}: a type is a byte from 0x01 to 0xff (0x00 marks an empty slot)`, {
        number: p.number,
        type: p.type,
      });
    } else if (p.kind === 'extended' && !isExtendedType(p.type)) {
      problem('BAD_TYPE', `Extended partition ${p.number} has type ${typeText(p.type)}; an extended partition needs 0x05, 0x0f or 0x85`, {
        number: p.number,
        type: p.type,
      });
    } else if (p.kind !== 'extended' && isExtendedType(p.type)) {
      problem('BAD_TYPE', `Partition ${p.number} is ${p.kind} but has the extended type ${typeText(p.type)}`, {
        number: p.number,
        type: p.type,
      });
    } else if (p.type === MBR_TYPE_GPT_PROTECTIVE) {
      // Linux, sfdisk and firmware take a 0xEE entry to mean "this disk is GPT" and ignore the rest.
      problem('BAD_TYPE', `Partition ${p.number} has type 0xee, which marks a GPT disk's protective MBR; create a GPT instead`, {
        number: p.number,
        type: p.type,
      });
    }
    if (typeof p.bootable !== 'boolean') {
      problem('BAD_FIELD', `Partition ${p.number}: bootable must be true or false`, { number: p.number });
    }
  }

  if (extendeds.length > 1) {
    problem(
      'MULTIPLE_EXTENDED',
      `An MBR may hold one extended partition; this layout has ${extendeds.length} (${extendeds.map((p) => describeRange(partitionRange(p))).join(', ')})`,
      { numbers: extendeds.map((p) => p.number) },
    );
  }

  // Start and size are 32-bit sector numbers: nothing may reach past sector 2^32 − 1 (2 TiB of
  // 512-byte sectors), the limit most tools and firmware apply to the end as well.
  for (const p of layout.partitions) {
    const end = p.startSector + p.sectorCount - 1;
    if (Number.isSafeInteger(end) && (p.startSector > MBR_MAX_LBA || end > MBR_MAX_LBA)) {
      problem(
        'BEYOND_2TIB',
        `Partition ${p.number} (${describeSectors(p.startSector, p.sectorCount)}) reaches past sector ${MBR_MAX_LBA}, the 2 TiB limit of MBR's 32-bit sector numbers; use GPT for this`,
        { number: p.number, startSector: p.startSector, endSector: end, lastAddressableSector: MBR_MAX_LBA },
      );
    }
  }

  problems.push(
    ...rangeProblems(primaries.map(partitionRange), {
      firstUsableSector: 1,
      lastUsableSector: diskSectors - 1,
      reservedBefore: 'sector 0 holds the MBR',
    }),
  );

  const extended = extendeds[0];
  if (logicals.length > 0 && !extended) {
    problem(
      'NO_EXTENDED',
      `Logical partitions ${logicals.map((p) => p.number).join(', ')} need an extended partition to hold them, and this layout has none`,
      {
        numbers: logicals.map((p) => p.number),
      },
    );
  }
  if (extended && extendeds.length === 1) problems.push(...logicalProblems(extended, logicals, diskSectors));
  return problems;
}

/** Logical partitions and their EBRs must lie inside the extended partition without overlapping. */
function logicalProblems(extended: MbrPartition, logicals: readonly MbrPartition[], diskSectors: number): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const extendedRange = partitionRange(extended);
  const extendedEnd = Math.min(extended.startSector + extended.sectorCount - 1, diskSectors - 1);
  const isInside = (start: number, count: number): boolean => start >= extended.startSector && start + count - 1 <= extendedEnd;
  const ranges: SectorRange[] = [];
  // The extended partition's first sector always holds an EBR (one without a partition when
  // the first logical partition's EBR is elsewhere, see ebr.ts).
  if (logicals[0]?.ebrSector !== extended.startSector) {
    ranges.push({
      index: extended.number,
      startSector: extended.startSector,
      sectorCount: 1,
      label: `the first EBR of extended partition ${extended.number}`,
    });
  }
  for (const [i, p] of logicals.entries()) {
    const ebr = p.ebrSector;
    const ebrProblem = (message: string): void => {
      problems.push({ code: 'BAD_EBR', message, details: { number: p.number, ebrSector: ebr, startSector: p.startSector } });
    };
    if (ebr === undefined || !Number.isSafeInteger(ebr) || ebr < 0) {
      ebrProblem(`Logical partition ${p.number} has no valid EBR sector (${String(ebr)})`);
    } else if (!isInside(ebr, 1)) {
      ebrProblem(`The EBR of partition ${p.number} (sector ${ebr}) lies outside extended ${describeRange(extendedRange)}`);
    } else if (ebr === extended.startSector && i !== 0) {
      ebrProblem(
        `The EBR of partition ${p.number} is at sector ${ebr}, the start of extended partition ${extended.number}, which only the first logical partition's EBR may use`,
      );
    } else if (ebr >= p.startSector) {
      ebrProblem(`The EBR of partition ${p.number} (sector ${ebr}) must come before the partition's first sector ${p.startSector}`);
    } else {
      ranges.push({ index: p.number, startSector: ebr, sectorCount: 1, label: `the EBR of partition ${p.number}` });
    }
    const range = partitionRange(p);
    if (Number.isSafeInteger(p.startSector) && p.sectorCount > 0 && !isInside(p.startSector, p.sectorCount)) {
      problems.push({
        code: 'LOGICAL_OUTSIDE_EXTENDED',
        message: `Logical ${describeRange(range)} lies outside extended ${describeRange(extendedRange)}`,
        details: { range: rangeDetails(range), extended: rangeDetails(extendedRange) },
      });
    }
    ranges.push(range);
  }
  // Inside/outside was checked above; this adds zero sizes and overlaps among logicals and EBRs.
  problems.push(...rangeProblems(ranges, { firstUsableSector: 0, lastUsableSector: Number.MAX_SAFE_INTEGER }));
  return problems;
}

/** Throws LoopbackError('VALIDATION') listing every problem of `layout`. */
export function validateMbrLayout(layout: MbrLayout, diskSectors = layout.diskSectors): void {
  throwIfProblems(mbrLayoutProblems(layout, diskSectors));
}
