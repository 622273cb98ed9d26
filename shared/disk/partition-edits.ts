/**
 * Partitioning a disk image in one step: read its table, apply a list of edits in order (add,
 * delete, set), validate the result, then write it once. Nothing is written when any step or the
 * final validation fails, so a refused edit leaves the image byte-for-byte as it was.
 * Used by `loopstudio partition`, the app's partition editor and recipes.
 */
import { LoopbackError } from '../errors';
import type { BlockDevice } from './block-device';
import { describeDisk, type DiskInfo } from './disk-info';
import * as gpt from './gpt/index';
import { createMbrLayout, writeMbr, type MbrLayout } from './mbr';
import { addPartition, deletePartition, setPartition } from './mbr-edit';
import {
  parseGptPartitionSettings,
  parseGptPartitionSpec,
  parsePartitionNumber,
  parsePartitionSettings,
  parsePartitionSpec,
  MODERN_ALIGNMENT_SECTORS,
} from './partition-spec';
import { readPartitionTable } from './partition-table';
import { SECTOR_BYTES } from './sizes';

export type TableKind = 'mbr' | 'gpt';

export type PartitionEditStep =
  { op: 'add'; spec: string } | { op: 'delete'; number: string } | { op: 'set'; number: string; settings: string };

export interface PartitionEditPlan {
  /** The table to end up with; default: the one the image has. */
  table?: TableKind;
  /** Start from an empty table even when the image has one (its partitions are lost). */
  fresh?: boolean;
  /** Where `--add` without start= puts a partition: multiples of this many sectors (default 2048). */
  alignmentSectors?: number;
  steps: readonly PartitionEditStep[];
}

export interface PartitionEditResult {
  before: DiskInfo;
  after: DiskInfo;
}

type Working = { kind: 'mbr'; layout: MbrLayout } | { kind: 'gpt'; table: gpt.GptTable };

function refuse(message: string, details: Record<string, unknown> = {}): LoopbackError {
  return new LoopbackError('VALIDATION', message, details);
}

function applyStep(working: Working, step: PartitionEditStep, alignmentSectors: number): Working {
  if (working.kind === 'mbr') {
    switch (step.op) {
      case 'add':
        return { kind: 'mbr', layout: addPartition(working.layout, parsePartitionSpec(step.spec), { alignmentSectors }).layout };
      case 'delete':
        return { kind: 'mbr', layout: deletePartition(working.layout, parsePartitionNumber(step.number)) };
      case 'set':
        return {
          kind: 'mbr',
          layout: setPartition(working.layout, parsePartitionNumber(step.number), parsePartitionSettings(step.settings), {
            alignmentSectors,
          }),
        };
    }
  }
  let table = working.table;
  switch (step.op) {
    case 'add': {
      const spec = parseGptPartitionSpec(step.spec);
      table = gpt.addPartition(table, {
        ...(spec.index !== undefined ? { index: spec.index } : {}),
        ...(spec.startSector !== undefined ? { startingLBA: spec.startSector } : {}),
        sizeSectors: spec.size === 'rest' ? 'rest' : spec.size.sectors,
        type: spec.type,
        name: spec.name,
        alignmentSectors,
      });
      if (spec.bootable) {
        // Entries stay sorted by number: the new one is the number the old table did not have.
        const old = new Set(working.table.partitions.map((p) => p.index));
        const added = table.partitions.find((p) => !old.has(p.index))!;
        table = gpt.setLegacyBiosBootable(table, added.index, true);
      }
      return { kind: 'gpt', table };
    }
    case 'delete':
      return { kind: 'gpt', table: gpt.deletePartition(table, parsePartitionNumber(step.number)) };
    case 'set': {
      const index = parsePartitionNumber(step.number);
      const settings = parseGptPartitionSettings(step.settings);
      if (settings.startSector !== undefined || settings.sectorCount !== undefined) {
        table = gpt.resizePartition(table, index, {
          ...(settings.startSector !== undefined ? { startingLBA: settings.startSector } : {}),
          ...(settings.sectorCount !== undefined ? { sizeSectors: settings.sectorCount } : {}),
        });
      }
      if (settings.type !== undefined) table = gpt.setPartitionType(table, index, settings.type);
      if (settings.name !== undefined) table = gpt.setPartitionName(table, index, settings.name);
      if (settings.bootable !== undefined) table = gpt.setLegacyBiosBootable(table, index, settings.bootable);
      return { kind: 'gpt', table };
    }
  }
}

function describeTable(info: DiskInfo): string {
  const count = info.partitions.length;
  return `${info.table === 'mbr' ? 'an MBR' : 'a GPT'} partition table with ${count} partition${count === 1 ? '' : 's'}`;
}

/** Plans and validates every edit in memory, then writes the table once. */
export async function editPartitions(device: BlockDevice, plan: PartitionEditPlan): Promise<PartitionEditResult> {
  const totalSectors = Math.floor(device.sizeBytes / SECTOR_BYTES);
  const before = await describeDisk(device);
  const kind = plan.table ?? (before.table === 'none' ? undefined : before.table);
  if (!kind) {
    throw new LoopbackError('INVALID_INPUT', 'The image has no partition table yet: say which to create, --table mbr or --table gpt');
  }
  if (before.table !== 'none' && before.table !== kind && !plan.fresh) {
    throw refuse(
      `The image has ${describeTable(before)}; making it ${kind.toUpperCase()} would lose them. Add --new to start a fresh ${kind.toUpperCase()} table.`,
      { table: before.table },
    );
  }
  const alignmentSectors = plan.alignmentSectors ?? MODERN_ALIGNMENT_SECTORS;

  let working: Working;
  const read = plan.fresh || before.table === 'none' ? null : await readPartitionTable(device);
  if (kind === 'mbr') {
    working = { kind, layout: read?.table === 'mbr' ? read.layout : createMbrLayout(totalSectors) };
  } else {
    if (read?.table === 'gpt' && !read.gpt) {
      throw refuse(`The image's GPT cannot be read (${read.gptError ?? 'damaged'}); add --new to replace it with a fresh one.`);
    }
    working = { kind, table: read?.table === 'gpt' && read.gpt ? read.gpt : gpt.newGpt(totalSectors) };
  }
  for (const step of plan.steps) working = applyStep(working, step, alignmentSectors);

  if (working.kind === 'mbr') {
    await writeMbr(device, working.layout); // validates first; writes nothing when invalid
    if (before.table === 'gpt') await wipeGptHeaders(device, totalSectors);
  } else {
    await gpt.writeGpt(device, working.table); // validates first; writes nothing when invalid
  }
  return { before, after: await describeDisk(device) };
}

/**
 * After an MBR replaces a GPT, the old GPT headers (LBA 1 and the last LBA) would still make
 * tools (and firmware) think the disk is GPT: blank them, as sfdisk and sgdisk --zap do.
 */
async function wipeGptHeaders(device: BlockDevice, totalSectors: number): Promise<void> {
  const blank = new Uint8Array(SECTOR_BYTES);
  await device.write(1 * SECTOR_BYTES, blank);
  if (totalSectors > 2) await device.write((totalSectors - 1) * SECTOR_BYTES, blank);
  await device.flush();
}
