/**
 * Everything that makes a GPT unwritable, found before a single byte is written. The rules are
 * UEFI spec 2.10, section 5.3.2 (header: entry array outside the usable range, 16 KiB minimum,
 * FirstUsableLBA ≤ LastUsableLBA) and 5.3.3 (entries: inside the usable range, no overlaps,
 * unique partition GUIDs, 36-character names).
 *
 * A generic range checker for MBR and GPT may later live in shared/disk/validate.ts; these are
 * GPT's own, kept small.
 */
import { LoopbackError } from '../../errors';
import { isValidAttributes } from './attributes';
import { partitionNameProblem } from './entries';
import { isGuid, parseGuid, ZERO_GUID } from './guid';
import { isValidEntrySize } from './header';
import {
  backupEntryLBA,
  DEFAULT_PARTITION_ENTRY_LBA,
  entryArraySectors,
  MAX_PARTITION_ENTRY_ARRAY_BYTES,
  MIN_PARTITION_ENTRY_ARRAY_BYTES,
  minimumDiskSectors,
} from './layout';
import type { GptPartition, GptTable } from './table';

export type GptProblemKind =
  'layout' | 'disk-too-small' | 'index' | 'guid' | 'duplicate-guid' | 'range' | 'outside-usable' | 'overlap' | 'name' | 'attributes';

export interface GptProblem {
  kind: GptProblemKind;
  message: string;
  /** The partition numbers (1-based indexes) involved; empty for problems of the header. */
  partitions: number[];
}

const isSector = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

export function describePartition(partition: Pick<GptPartition, 'index' | 'startingLBA' | 'endingLBA'>): string {
  return `partition ${partition.index} (sectors ${partition.startingLBA}–${partition.endingLBA})`;
}

function layoutProblems(table: GptTable): GptProblem[] {
  const problem = (kind: GptProblemKind, message: string): GptProblem[] => [{ kind, message, partitions: [] }];
  const { diskSectors, numberOfPartitionEntries, sizeOfPartitionEntry, partitionEntryLBA, firstUsableLBA, lastUsableLBA } = table;
  if (!isSector(diskSectors)) return problem('layout', `the disk size ${diskSectors} is not a whole number of sectors`);
  if (!isValidEntrySize(sizeOfPartitionEntry))
    return problem('layout', `the partition entry size ${sizeOfPartitionEntry} bytes is not 128 × 2^n`);
  const arrayBytes = numberOfPartitionEntries * sizeOfPartitionEntry;
  if (
    !Number.isInteger(numberOfPartitionEntries) ||
    arrayBytes < MIN_PARTITION_ENTRY_ARRAY_BYTES ||
    arrayBytes > MAX_PARTITION_ENTRY_ARRAY_BYTES
  ) {
    return problem(
      'layout',
      `${numberOfPartitionEntries} entries of ${sizeOfPartitionEntry} bytes make a ${arrayBytes}-byte entry array; it must hold ` +
        `${MIN_PARTITION_ENTRY_ARRAY_BYTES} (UEFI minimum) to ${MAX_PARTITION_ENTRY_ARRAY_BYTES} bytes`,
    );
  }
  const arraySectors = entryArraySectors(numberOfPartitionEntries, sizeOfPartitionEntry);
  const minimum = minimumDiskSectors(arraySectors);
  if (diskSectors < minimum) {
    return problem(
      'disk-too-small',
      `a disk of ${diskSectors} sectors is too small for a GPT: it needs at least ${minimum} sectors ` +
        `(${DEFAULT_PARTITION_ENTRY_LBA + arraySectors} for the protective MBR, the primary header and its entries, ` +
        `${arraySectors + 1} for the backup entries and header, and 1 for a partition)`,
    );
  }
  const problems: GptProblem[] = [];
  if (!isGuid(table.diskGuid) || parseGuid(table.diskGuid) === ZERO_GUID) {
    problems.push(...problem('guid', `the disk GUID "${table.diskGuid}" is not a non-zero GUID`));
  }
  if (!isSector(partitionEntryLBA) || !isSector(firstUsableLBA) || !isSector(lastUsableLBA)) {
    return [...problems, ...problem('layout', `partitionEntryLBA, firstUsableLBA and lastUsableLBA must be sector numbers`)];
  }
  if (partitionEntryLBA < DEFAULT_PARTITION_ENTRY_LBA || partitionEntryLBA + arraySectors > firstUsableLBA) {
    problems.push(
      ...problem(
        'layout',
        `the primary entry array (sectors ${partitionEntryLBA}–${partitionEntryLBA + arraySectors - 1}) must lie after the header ` +
          `in LBA 1 and end before the first usable sector ${firstUsableLBA}`,
      ),
    );
  }
  const backupArrayLBA = backupEntryLBA(diskSectors, arraySectors);
  if (lastUsableLBA >= backupArrayLBA) {
    problems.push(
      ...problem(
        'layout',
        `the last usable sector ${lastUsableLBA} must come before the backup entry array (sectors ${backupArrayLBA}–${diskSectors - 2}) ` +
          `of this ${diskSectors}-sector disk`,
      ),
    );
  }
  if (firstUsableLBA > lastUsableLBA) {
    problems.push(...problem('layout', `the first usable sector ${firstUsableLBA} is after the last usable sector ${lastUsableLBA}`));
  }
  return problems;
}

function partitionProblems(table: GptTable): GptProblem[] {
  const problems: GptProblem[] = [];
  const add = (kind: GptProblemKind, partitions: number[], message: string) => problems.push({ kind, message, partitions });
  const byIndex = new Map<number, GptPartition>();
  const byGuid = new Map<string, GptPartition>();
  const ranged: GptPartition[] = [];
  for (const p of table.partitions) {
    if (!Number.isInteger(p.index) || p.index < 1 || p.index > table.numberOfPartitionEntries) {
      add('index', [p.index], `partition number ${p.index} is outside 1..${table.numberOfPartitionEntries} (the entry array's slots)`);
    } else if (byIndex.has(p.index)) {
      add('index', [p.index], `partition number ${p.index} is used by two partitions`);
    } else {
      byIndex.set(p.index, p);
    }
    if (!isGuid(p.typeGuid) || parseGuid(p.typeGuid) === ZERO_GUID) {
      add('guid', [p.index], `partition ${p.index}: type "${p.typeGuid}" is not a non-zero GUID (all zeros marks an unused entry)`);
    }
    if (!isGuid(p.uniqueGuid) || parseGuid(p.uniqueGuid) === ZERO_GUID) {
      add('guid', [p.index], `partition ${p.index}: unique GUID "${p.uniqueGuid}" is not a non-zero GUID`);
    } else {
      const guid = parseGuid(p.uniqueGuid);
      const first = byGuid.get(guid);
      if (first)
        add('duplicate-guid', [first.index, p.index], `partitions ${first.index} and ${p.index} have the same unique GUID ${guid}`);
      else byGuid.set(guid, p);
    }
    const nameProblem = partitionNameProblem(p.name);
    if (nameProblem) add('name', [p.index], `partition ${p.index}: ${nameProblem}`);
    if (!isValidAttributes(p.attributes))
      add('attributes', [p.index], `partition ${p.index}: attributes must be two unsigned 32-bit halves`);
    if (!isSector(p.startingLBA) || !isSector(p.endingLBA)) {
      add('range', [p.index], `partition ${p.index}: start ${p.startingLBA} and end ${p.endingLBA} must be sector numbers`);
      continue;
    }
    if (p.endingLBA < p.startingLBA) {
      add('range', [p.index], `${describePartition(p)} ends before it starts`);
      continue;
    }
    if (p.startingLBA < table.firstUsableLBA) {
      add('outside-usable', [p.index], `${describePartition(p)} starts before the first usable sector ${table.firstUsableLBA}`);
    }
    if (p.endingLBA > table.lastUsableLBA) {
      add('outside-usable', [p.index], `${describePartition(p)} ends after the last usable sector ${table.lastUsableLBA}`);
    }
    ranged.push(p);
  }
  // Sweep in start order: each partition against the later ones that start inside it.
  ranged.sort((a, b) => a.startingLBA - b.startingLBA);
  for (let i = 0; i < ranged.length; i++) {
    const a = ranged[i]!;
    for (let j = i + 1; j < ranged.length && ranged[j]!.startingLBA <= a.endingLBA; j++) {
      const b = ranged[j]!;
      add('overlap', [a.index, b.index], `${describePartition(a)} overlaps ${describePartition(b)}`);
    }
  }
  return problems;
}

/** Every problem of `table`, empty when it can be written. */
export function findGptProblems(table: GptTable): GptProblem[] {
  const layout = layoutProblems(table);
  if (layout.some((p) => p.kind === 'disk-too-small')) return layout;
  return [...layout, ...partitionProblems(table)];
}

export function validationError(action: string, problems: readonly GptProblem[]): LoopbackError {
  return new LoopbackError('VALIDATION', `Cannot ${action}: ${problems.map((p) => p.message).join('; ')}.`, { problems });
}

/** Throws LoopbackError('VALIDATION') naming every problem; `action` completes "Cannot …". */
export function assertValidGpt(table: GptTable, action: string): void {
  const problems = findGptProblems(table);
  if (problems.length > 0) throw validationError(action, problems);
}
