/**
 * The disk drawn to scale: the runs of sectors a bar shows, in disk order — partitions, free
 * space big enough to put a partition in, and, for a disk without a table, the whole disk.
 * Logical partitions are drawn in place, inside their extended partition's span.
 */
import type { ImageInfo } from '../../../../shared/api/contract';
import type { DiskInfo, PartitionInfo } from '../../../../shared/disk/disk-info';

export type Partition = ImageInfo['partitions'][number] | (PartitionInfo & { filesystem?: null });

export type Segment =
  | { kind: 'partition'; startSector: number; sectorCount: number; partition: Partition; inExtended: boolean }
  | { kind: 'free'; startSector: number; sectorCount: number; inExtended: boolean }
  | { kind: 'whole'; startSector: number; sectorCount: number };

/** GPT with the usual 128 entries: the primary array ends at LBA 33, the backup starts 33 from the end. */
const GPT_RESERVED_SECTORS = 34;
/** Smaller gaps (alignment padding) are not offered as free space. */
export const MIN_FREE_SECTORS = 2048;

/** The sectors partitions may use (inclusive): after the MBR, or between the GPT's arrays. */
export function usableArea(disk: Pick<DiskInfo, 'table' | 'totalSectors'>): { first: number; last: number } {
  if (disk.table === 'gpt') return { first: GPT_RESERVED_SECTORS, last: disk.totalSectors - GPT_RESERVED_SECTORS };
  return { first: 1, last: Math.min(disk.totalSectors - 1, 2 ** 32 - 1) };
}

function gaps(first: number, last: number, taken: readonly { startSector: number; endSector: number }[], inExtended: boolean): Segment[] {
  const out: Segment[] = [];
  let next = first;
  for (const t of [...taken].sort((a, b) => a.startSector - b.startSector)) {
    if (t.startSector - next >= MIN_FREE_SECTORS)
      out.push({ kind: 'free', startSector: next, sectorCount: t.startSector - next, inExtended });
    next = Math.max(next, t.endSector + 1);
  }
  if (last + 1 - next >= MIN_FREE_SECTORS) out.push({ kind: 'free', startSector: next, sectorCount: last + 1 - next, inExtended });
  return out;
}

export function diskSegments(disk: DiskInfo & { partitions: Partition[] }): Segment[] {
  if (disk.table === 'none') return [{ kind: 'whole', startSector: 0, sectorCount: disk.totalSectors }];
  const { first, last } = usableArea(disk);
  const top = disk.partitions.filter((p) => p.kind !== 'logical');
  const extended = disk.partitions.find((p) => p.kind === 'extended');
  const logical = disk.partitions.filter((p) => p.kind === 'logical');
  const segments: Segment[] = [
    ...top
      .filter((p) => p.kind !== 'extended')
      .map((p): Segment => ({
        kind: 'partition',
        startSector: p.startSector,
        sectorCount: p.sectorCount,
        partition: p,
        inExtended: false,
      })),
    ...logical.map((p): Segment => ({
      kind: 'partition',
      startSector: p.startSector,
      sectorCount: p.sectorCount,
      partition: p,
      inExtended: true,
    })),
    ...gaps(first, last, top, false),
    // Inside the extended partition: its first sector holds the EBR, logicals need one more each.
    ...(extended
      ? gaps(
          extended.startSector + 1,
          extended.endSector,
          logical.map((p) => ({ startSector: p.startSector - 1, endSector: p.endSector })),
          true,
        )
      : []),
  ];
  return segments.sort((a, b) => a.startSector - b.startSector);
}

/** The fraction of the disk before a sector: where the bar draws it. */
export function fractionOf(disk: Pick<DiskInfo, 'totalSectors'>, sector: number): number {
  return disk.totalSectors > 0 ? sector / disk.totalSectors : 0;
}
