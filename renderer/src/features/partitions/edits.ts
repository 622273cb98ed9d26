/**
 * The partition editor's staged changes, and how each becomes steps of image.partition (the
 * spec language of shared/disk/partition-spec.ts). Nothing here decides whether a change is
 * valid: the service's dry run of every staged step together does, with the same code that
 * writes them, and the editor shows its refusal at the field that asked.
 *
 * A resize or move is `--set N start=…,size=…`: the entry keeps its number, type and flag, its
 * place in the EBR chain (MBR) and its GUIDs (GPT). The data inside does not move.
 */
import type { PartitionInfo } from '../../../../shared/disk/disk-info';
import type { DiskInfo } from '../../../../shared/disk/disk-info';
import type { PartitionEditStep } from '../../../../shared/disk/partition-edits';
import { formatBytes } from '../../../../shared/disk/sizes';

export type TableKind = 'mbr' | 'gpt';
export type MbrKind = 'primary' | 'extended' | 'logical';

export interface PartitionFields {
  startSector: number;
  sectorCount: number;
  /** MBR: two hex digits ("83"); GPT: a type GUID or alias. */
  type: string;
  bootable: boolean;
  /** MBR only. */
  kind?: MbrKind;
  /** GPT only. */
  name?: string;
}

export type StagedEdit =
  | ({ op: 'add' } & PartitionFields)
  | { op: 'delete'; number: number }
  | { op: 'resize'; number: number; startSector: number; sectorCount: number }
  | { op: 'set'; number: number; type?: string; bootable?: boolean };

/** The `--add` spec of a new partition. */
function addSpec(fields: PartitionFields, table: TableKind): string {
  const items: string[] = [];
  if (table === 'mbr' && fields.kind && fields.kind !== 'primary') items.push(fields.kind);
  items.push(`start=${fields.startSector}`, `size=${fields.sectorCount}`);
  if (!(table === 'mbr' && fields.kind === 'extended')) items.push(`type=${fields.type}`);
  if (table === 'gpt' && fields.name) items.push(`name=${fields.name}`);
  if (fields.bootable) items.push('bootable');
  return items.join(',');
}

/** The steps one staged edit stands for. */
export function stepsFor(edit: StagedEdit, table: TableKind): PartitionEditStep[] {
  switch (edit.op) {
    case 'add':
      return [{ op: 'add', spec: addSpec(edit, table) }];
    case 'delete':
      return [{ op: 'delete', number: String(edit.number) }];
    case 'resize':
      return [{ op: 'set', number: String(edit.number), settings: `start=${edit.startSector},size=${edit.sectorCount}` }];
    case 'set': {
      const settings = [
        ...(edit.type !== undefined ? [`type=${edit.type}`] : []),
        ...(edit.bootable !== undefined ? [`bootable=${edit.bootable ? 'on' : 'off'}`] : []),
      ];
      return settings.length ? [{ op: 'set', number: String(edit.number), settings: settings.join(',') }] : [];
    }
  }
}

/** Resizing or moving partition `number` to a new extent. */
export function resizeEdit(
  number: number,
  extent: Pick<PartitionFields, 'startSector' | 'sectorCount'>,
): Extract<StagedEdit, { op: 'resize' }> {
  return { op: 'resize', number, startSector: extent.startSector, sectorCount: extent.sectorCount };
}

/**
 * Whether `edit` only takes further the resize staged last — the same partition, now where that
 * resize put it — so it replaces it: one drag (or one run of key presses, or a corrected typed
 * size) stays one staged change, and Undo takes all of it back.
 */
export function continuesLastResize(
  staged: readonly StagedEdit[],
  edit: StagedEdit,
  now: Pick<PartitionFields, 'startSector' | 'sectorCount'>,
): boolean {
  const last = staged.at(-1);
  return (
    edit.op === 'resize' &&
    last?.op === 'resize' &&
    last.number === edit.number &&
    last.startSector === now.startSector &&
    last.sectorCount === now.sectorCount
  );
}

export function planSteps(edits: readonly StagedEdit[], table: TableKind): PartitionEditStep[] {
  return edits.flatMap((edit) => stepsFor(edit, table));
}

/** A GPT name goes into the comma-separated spec: refuse what it cannot carry. */
export function gptNameProblem(name: string): string | null {
  if (name.includes(',')) return 'A partition name cannot contain a comma here.';
  if (name.length > 36) return 'A GPT partition name has at most 36 characters.';
  return null;
}

function extentText(fields: Pick<PartitionFields, 'startSector' | 'sectorCount'>): string {
  return `sectors ${fields.startSector}–${fields.startSector + fields.sectorCount - 1} (${formatBytes(fields.sectorCount * 512)})`;
}

/** One line for the list of staged changes. */
export function describeEdit(edit: StagedEdit, table: TableKind): string {
  switch (edit.op) {
    case 'add':
      return `Add ${table === 'mbr' && edit.kind && edit.kind !== 'primary' ? `${edit.kind} ` : ''}partition at ${extentText(edit)}, type ${edit.type}${edit.bootable ? ', bootable' : ''}`;
    case 'delete':
      return `Delete partition ${edit.number}`;
    case 'resize':
      return `Resize partition ${edit.number} to ${extentText(edit)}`;
    case 'set': {
      const what = [
        ...(edit.type !== undefined ? [`type ${edit.type}`] : []),
        ...(edit.bootable !== undefined ? [edit.bootable ? 'bootable' : 'not bootable'] : []),
      ];
      return `Set partition ${edit.number}: ${what.join(', ')}`;
    }
  }
}

export interface Loss {
  partition: number;
  /** "Partition 2 (FAT16, 20 MiB): its filesystem with 3.2 MiB used is lost." */
  text: string;
  severity: 'lost' | 'mismatch';
  /** Data goes: a partition removed or moved, or a filesystem whose end is cut off. */
  destroys: boolean;
}

type WithUsage = PartitionInfo & { filesystem?: { type: string; usedBytes: number } | null };

function what(p: WithUsage): string {
  return `Partition ${p.index} (${p.filesystem ? `${p.filesystem.type.toUpperCase()}, ` : ''}${formatBytes(p.sizeBytes)})`;
}

/**
 * What the change would lose, from the disk before and the dry run's disk after: a partition
 * whose extent is gone loses what it holds; one that keeps its start but changes size keeps its
 * filesystem at the old size. A whole-disk filesystem is lost under a new table.
 */
export function lossesOf(
  before: DiskInfo & { partitions: WithUsage[]; filesystem?: { type: string; usedBytes: number } | null },
  after: DiskInfo,
): Loss[] {
  const losses: Loss[] = [];
  if (before.table === 'none' && before.filesystem) {
    losses.push({
      partition: 0,
      severity: 'lost',
      destroys: true,
      text: `The ${before.filesystem.type.toUpperCase()} filesystem on the whole image (${formatBytes(before.filesystem.usedBytes)} used) is lost: a partition table takes its first sector.`,
    });
  }
  for (const p of before.partitions) {
    if (p.kind === 'extended') continue;
    if (after.partitions.some((q) => q.startSector === p.startSector && q.sectorCount === p.sectorCount)) continue;
    const sameStart = after.partitions.find((q) => q.startSector === p.startSector && q.kind !== 'extended');
    if (sameStart && p.filesystem) {
      losses.push({
        partition: p.index,
        severity: 'mismatch',
        destroys: sameStart.sizeBytes < p.sizeBytes,
        text: `${what(p)} changes size to ${formatBytes(sameStart.sizeBytes)}; its filesystem keeps its old size${sameStart.sizeBytes < p.sizeBytes ? ' and its end is cut off: reformat it' : ': format it again to use the space'}.`,
      });
    } else if (sameStart) {
      losses.push({
        partition: p.index,
        severity: 'mismatch',
        destroys: false,
        text: `${what(p)} changes size to ${formatBytes(sameStart.sizeBytes)}; it has no filesystem.`,
      });
    } else {
      losses.push({
        partition: p.index,
        severity: 'lost',
        destroys: true,
        text: p.filesystem
          ? `${what(p)} is removed or moved: its filesystem, with ${formatBytes(p.filesystem.usedBytes)} used, is lost.`
          : `${what(p)} is removed or moved; it has no filesystem Loopback Studio can read.`,
      });
    }
  }
  return losses;
}
