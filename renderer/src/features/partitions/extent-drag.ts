/**
 * The arithmetic of resizing and moving a partition on the disk bar, by pointer or by keyboard:
 * pixels to sectors, the room between a partition's neighbours, and snapping to the alignment.
 *
 * Each handle moves one number: the start handle the first sector (the end stays), the end handle
 * the boundary after the last sector (the start stays), the body the first sector (the size
 * stays). A number snaps to multiples of the alignment, to where it was (so a drag can go back),
 * and an end also to the edge of its room (a neighbour, the end of the disk). Nothing here decides
 * whether the result is valid: what the editor stages goes through the service's dry run, as
 * typed numbers do.
 */
import type { DiskInfo, PartitionInfo } from '../../../../shared/disk/disk-info';
import { SECTOR_BYTES } from '../../../../shared/disk/sizes';
import { usableArea } from '../image/segments';

export interface Extent {
  startSector: number;
  sectorCount: number;
}

export type DragHandle = 'start' | 'end' | 'body';

/** The sectors (inclusive) a partition may cover without touching a neighbour or leaving its area. */
export interface Room {
  firstSector: number;
  lastSector: number;
}

/** Where a handle's number may go: [lo, hi], and the points besides the alignment it snaps to. */
export interface HandleRange {
  lo: number;
  hi: number;
  extras: number[];
}

export function lastSectorOf(extent: Extent): number {
  return extent.startSector + extent.sectorCount - 1;
}

/** Sectors for a movement of `dxPx` pixels on a bar `widthPx` wide drawing `totalSectors`. */
export function pixelsToSectors(dxPx: number, widthPx: number, totalSectors: number): number {
  return widthPx > 0 ? (dxPx / widthPx) * totalSectors : 0;
}

type Disk = Pick<DiskInfo, 'table' | 'totalSectors'> & { partitions: readonly PartitionInfo[] };

/**
 * The room of `partition` between its neighbours:
 * - GPT: between the partition arrays (the usable LBAs), other partitions as neighbours;
 * - MBR primary: sector 1 to the last sector a 32-bit LBA reaches, primary and extended
 *   partitions as neighbours;
 * - MBR logical: inside the extended partition, after its first sector (the chain's first EBR),
 *   clear of the other logical partitions and their EBRs, and — unless it is first in the chain —
 *   leaving one free sector before it for its own EBR to move to (see resizePartition).
 */
export function roomFor(disk: Disk, partition: PartitionInfo): Room {
  const extended = disk.partitions.find((p) => p.kind === 'extended');
  if (disk.table === 'mbr' && partition.kind === 'logical' && extended) {
    const others = disk.partitions
      .filter((p) => p.kind === 'logical' && p !== partition)
      .map((p) => ({ startSector: Math.min(p.ebrSector ?? p.startSector - 1, p.startSector), endSector: p.endSector }));
    const firstInChain = partition.ebrSector === extended.startSector;
    const room = between(
      extended.startSector + 1,
      extended.endSector,
      [{ startSector: extended.startSector, endSector: extended.startSector }, ...others],
      partition,
    );
    return firstInChain ? room : { ...room, firstSector: room.firstSector + 1 };
  }
  const { first, last } = usableArea(disk);
  return between(
    first,
    last,
    disk.partitions.filter((p) => p !== partition && (disk.table !== 'mbr' || p.kind !== 'logical')),
    partition,
  );
}

/** [first, last] narrowed to the free run around `partition` among `taken`. */
function between(
  first: number,
  last: number,
  taken: readonly { startSector: number; endSector: number }[],
  partition: PartitionInfo,
): Room {
  let firstSector = first;
  let lastSector = last;
  for (const t of taken) {
    if (t.endSector < partition.startSector) firstSector = Math.max(firstSector, t.endSector + 1);
    else if (t.startSector > partition.endSector) lastSector = Math.min(lastSector, t.startSector - 1);
  }
  return { firstSector, lastSector };
}

/** The number a handle moves: the first sector, or the boundary after the last. */
export function handleValue(handle: DragHandle, extent: Extent): number {
  return handle === 'end' ? extent.startSector + extent.sectorCount : extent.startSector;
}

/** The extent with the handle's number set to `value`. */
export function withHandleValue(handle: DragHandle, extent: Extent, value: number): Extent {
  switch (handle) {
    case 'start':
      return { startSector: value, sectorCount: extent.startSector + extent.sectorCount - value };
    case 'end':
      return { startSector: extent.startSector, sectorCount: value - extent.startSector };
    case 'body':
      return { startSector: value, sectorCount: extent.sectorCount };
  }
}

/**
 * Where the handle of `extent` may go in `room`, keeping at least one sector; `original` (where
 * the partition is now) stays a snap point, as does the end of the room for the end handle.
 */
export function handleRange(handle: DragHandle, extent: Extent, room: Room, original: Extent): HandleRange {
  const back = handleValue(handle, original);
  switch (handle) {
    case 'start':
      return { lo: room.firstSector, hi: lastSectorOf(extent), extras: [back] };
    case 'end':
      return { lo: extent.startSector + 1, hi: room.lastSector + 1, extras: [back, room.lastSector + 1] };
    case 'body':
      return { lo: room.firstSector, hi: room.lastSector - extent.sectorCount + 1, extras: [back] };
  }
}

function inRange(range: HandleRange, value: number): boolean {
  return value >= range.lo && value <= range.hi;
}

/**
 * The snap point nearest to `value` — a multiple of `alignment` or one of the range's extras —
 * inside the range; null when the range has none.
 */
export function snap(value: number, alignment: number, range: HandleRange): number | null {
  if (range.lo > range.hi) return null;
  const clamped = Math.min(range.hi, Math.max(range.lo, value));
  const below = Math.floor(clamped / alignment) * alignment;
  const candidates = [below, below + alignment, ...range.extras].filter((c) => inRange(range, c));
  if (candidates.length === 0) return null;
  return candidates.reduce((best, c) => (Math.abs(c - value) < Math.abs(best - value) ? c : best));
}

/** The snap point next to `value` in `direction` (+1 or −1), or `value` when there is none in the range. */
export function nextSnap(value: number, direction: 1 | -1, alignment: number, range: HandleRange): number {
  const grid = direction > 0 ? (Math.floor(value / alignment) + 1) * alignment : (Math.ceil(value / alignment) - 1) * alignment;
  const candidates = [grid, ...range.extras].filter((c) => inRange(range, c) && (direction > 0 ? c > value : c < value));
  if (candidates.length === 0) return value;
  return direction > 0 ? Math.min(...candidates) : Math.max(...candidates);
}

/** The handle's extent after a drag of `deltaSectors` from where the drag began (snapped, in its room). */
export function dragTo(handle: DragHandle, original: Extent, room: Room, alignment: number, deltaSectors: number): Extent {
  const range = handleRange(handle, original, room, original);
  const value = snap(handleValue(handle, original) + deltaSectors, alignment, range);
  return value === null ? original : withHandleValue(handle, original, value);
}

/** The keys a slider answers (WAI-ARIA Authoring Practices, "Slider"). */
export const SLIDER_KEYS = ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End'] as const;
export type SliderKey = (typeof SLIDER_KEYS)[number];

export function isSliderKey(key: string): key is SliderKey {
  return (SLIDER_KEYS as readonly string[]).includes(key);
}

/**
 * The extent after a key on a handle: arrows move one snap point, Page Up/Down ten alignment
 * units or 1 % of the disk (whichever is more), Home/End to the first/last snap point.
 */
export function keyStep(
  handle: DragHandle,
  key: SliderKey,
  extent: Extent,
  room: Room,
  original: Extent,
  alignment: number,
  totalSectors: number,
): Extent {
  const range = handleRange(handle, extent, room, original);
  const value = handleValue(handle, extent);
  let next: number | null;
  switch (key) {
    case 'ArrowRight':
    case 'ArrowUp':
      next = nextSnap(value, 1, alignment, range);
      break;
    case 'ArrowLeft':
    case 'ArrowDown':
      next = nextSnap(value, -1, alignment, range);
      break;
    case 'PageUp':
    case 'PageDown': {
      const page = Math.max(10 * alignment, Math.round(totalSectors / 100));
      next = snap(value + (key === 'PageUp' ? page : -page), alignment, range);
      break;
    }
    case 'Home':
      next = snap(range.lo, alignment, range);
      break;
    case 'End':
      next = snap(range.hi, alignment, range);
      break;
  }
  return next === null ? extent : withHandleValue(handle, extent, next);
}

/** What a slider reports (aria-valuemin/max/now): the start sector, or the last sector for the end handle. */
export function sliderValues(
  handle: Exclude<DragHandle, 'body'>,
  extent: Extent,
  room: Room,
  original: Extent,
  alignment: number,
): { min: number; max: number; now: number } {
  const range = handleRange(handle, extent, room, original);
  const value = handleValue(handle, extent);
  const min = snap(range.lo, alignment, range) ?? value;
  const max = snap(range.hi, alignment, range) ?? value;
  const shift = handle === 'end' ? -1 : 0;
  return { min: Math.min(min, value) + shift, max: Math.max(max, value) + shift, now: value + shift };
}

/** The disk with one partition drawn at another extent (the drag in progress). */
export function withExtent<D extends { partitions: readonly PartitionInfo[] }>(disk: D, index: number, extent: Extent): D {
  return {
    ...disk,
    partitions: disk.partitions.map((p) =>
      p.index === index
        ? {
            ...p,
            startSector: extent.startSector,
            sectorCount: extent.sectorCount,
            endSector: lastSectorOf(extent),
            offsetBytes: extent.startSector * SECTOR_BYTES,
            sizeBytes: extent.sectorCount * SECTOR_BYTES,
            blocks1KiB: Math.floor((extent.sectorCount * SECTOR_BYTES) / 1024),
          }
        : p,
    ),
  };
}
