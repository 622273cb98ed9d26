import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PartitionInfo } from '../../../../shared/disk/disk-info';
import {
  dragTo,
  handleValue,
  keyStep,
  lastSectorOf,
  pixelsToSectors,
  roomFor,
  SLIDER_KEYS,
  sliderValues,
  withExtent,
  type DragHandle,
  type Extent,
  type Room,
} from './extent-drag';

function partition(
  index: number,
  startSector: number,
  sectorCount: number,
  kind?: PartitionInfo['kind'],
  ebrSector?: number,
): PartitionInfo {
  return {
    index,
    startSector,
    endSector: startSector + sectorCount - 1,
    sectorCount,
    offsetBytes: startSector * 512,
    sizeBytes: sectorCount * 512,
    blocks1KiB: sectorCount / 2,
    type: '83',
    typeName: 'Linux',
    bootable: false,
    ...(kind ? { kind } : {}),
    ...(ebrSector !== undefined ? { ebrSector } : {}),
  };
}

const TOTAL = 131072; // 64 MiB
const p1 = partition(1, 2048, 20480, 'primary');
const p2 = partition(2, 22528, 40960, 'primary');
const ext = partition(3, 63488, 65536, 'extended');
const l5 = partition(5, 65536, 8192, 'logical', 63488); // the chain's first EBR: the extended partition's first sector
const l6 = partition(6, 75776, 8192, 'logical', 73728);
const mbr = { table: 'mbr' as const, totalSectors: TOTAL, partitions: [p1, p2, ext, l5, l6] };

describe('the room a partition may be dragged in', () => {
  it('MBR primary: from sector 1 or the previous partition to the next one or the end of the disk', () => {
    expect(roomFor(mbr, p1)).toEqual({ firstSector: 1, lastSector: 22527 });
    expect(roomFor(mbr, p2)).toEqual({ firstSector: 22528, lastSector: 63487 }); // the extended partition is a neighbour
    expect(roomFor({ ...mbr, partitions: [p1] }, p1)).toEqual({ firstSector: 1, lastSector: TOTAL - 1 });
  });

  it('MBR logical: inside the extended partition, clear of the other logicals and their EBRs, with a sector for its own EBR', () => {
    expect(roomFor(mbr, l5)).toEqual({ firstSector: 63489, lastSector: 73727 }); // up to partition 6's EBR
    expect(roomFor(mbr, l6)).toEqual({ firstSector: 73729, lastSector: 129023 }); // its EBR may move to 73728 at the latest
    const alone = partition(5, 65536, 8192, 'logical', 65535); // its EBR is not the extended partition's first sector
    expect(roomFor({ ...mbr, partitions: [ext, alone] }, alone)).toEqual({ firstSector: 63490, lastSector: 129023 });
  });

  it('GPT: between the partition arrays', () => {
    const only = partition(1, 2048, 4096);
    expect(roomFor({ table: 'gpt', totalSectors: TOTAL, partitions: [only] }, only)).toEqual({ firstSector: 34, lastSector: TOTAL - 34 });
  });
});

describe('dragging an edge or the whole partition', () => {
  const room = roomFor(mbr, p1);

  it('maps pixels to sectors on the bar’s scale', () => {
    expect(pixelsToSectors(100, 1000, TOTAL)).toBeCloseTo(13107.2);
    expect(pixelsToSectors(-50, 1000, TOTAL)).toBeCloseTo(-6553.6);
    expect(pixelsToSectors(10, 0, TOTAL)).toBe(0);
  });

  it('snaps the end to 1 MiB and keeps the start', () => {
    expect(dragTo('end', p1, room, 2048, -7000)).toEqual({ startSector: 2048, sectorCount: 14336 }); // boundary 15528 snaps to 16384
    expect(dragTo('end', p1, room, 2048, 900)).toEqual({ startSector: 2048, sectorCount: 20480 }); // the room ends at the next partition
    expect(dragTo('end', p1, room, 2048, -1e9)).toEqual({ startSector: 2048, sectorCount: 2048 }); // at least one unit here
  });

  it('snaps the start to the grid or back to where it was, and keeps the end', () => {
    expect(dragTo('start', p1, room, 2048, 5000)).toEqual({ startSector: 6144, sectorCount: 16384 });
    expect(dragTo('start', p1, room, 2048, -1e9)).toEqual({ startSector: 2048, sectorCount: 20480 }); // not 0: the MBR's sector
    const legacy = partition(1, 63, 1008 * 20 - 63);
    const legacyRoom = roomFor({ table: 'mbr', totalSectors: TOTAL, partitions: [legacy] }, legacy);
    expect(dragTo('start', legacy, legacyRoom, 2048, 500)).toEqual({ startSector: 63, sectorCount: legacy.sectorCount }); // nearer where it was than 2048
    expect(dragTo('start', legacy, legacyRoom, 2048, 1500)).toMatchObject({ startSector: 2048 });
  });

  it('snaps to track boundaries for the sector-63 layout, and to the end of the disk', () => {
    const legacy = partition(1, 63, 1008 * 20 - 63);
    const legacyRoom = roomFor({ table: 'mbr', totalSectors: TOTAL, partitions: [legacy] }, legacy);
    expect(dragTo('end', legacy, legacyRoom, 63, 1000)).toEqual({ startSector: 63, sectorCount: 21168 - 63 }); // boundary 21160 → 21168 = 336 × 63
    expect(dragTo('end', legacy, legacyRoom, 63, 1e9)).toEqual({ startSector: 63, sectorCount: TOTAL - 63 });
  });

  it('moves the whole partition, snapped, without changing its size', () => {
    expect(dragTo('body', p2, roomFor(mbr, p2), 2048, 3000)).toEqual({ startSector: 22528, sectorCount: 40960 }); // no room to move right
    const lone = { ...mbr, partitions: [p2] };
    expect(dragTo('body', p2, roomFor(lone, p2), 2048, 3000)).toEqual({ startSector: 24576, sectorCount: 40960 });
    expect(dragTo('body', p2, roomFor(lone, p2), 2048, -1e9)).toEqual({ startSector: 2048, sectorCount: 40960 });
  });
});

describe('the keyboard on a handle', () => {
  const room = roomFor(mbr, p1);
  const key = (handle: DragHandle, k: (typeof SLIDER_KEYS)[number], extent: Extent = p1) =>
    keyStep(handle, k, extent, room, p1, 2048, TOTAL);

  it('moves one alignment unit per arrow, ten (or 1 % of the disk) per page, to the limits with Home and End', () => {
    expect(key('end', 'ArrowLeft')).toEqual({ startSector: 2048, sectorCount: 18432 });
    expect(key('end', 'ArrowDown')).toEqual({ startSector: 2048, sectorCount: 18432 });
    expect(key('end', 'ArrowRight')).toEqual({ startSector: 2048, sectorCount: 20480 }); // the next partition is right there
    expect(key('end', 'PageDown')).toEqual({ startSector: 2048, sectorCount: 2048 }); // ten units would leave nothing: one stays
    expect(key('start', 'ArrowRight')).toEqual({ startSector: 4096, sectorCount: 18432 });
    expect(key('start', 'PageUp')).toEqual({ startSector: 20480, sectorCount: 2048 });
    expect(key('start', 'Home', { startSector: 8192, sectorCount: 14336 })).toEqual({ startSector: 2048, sectorCount: 20480 });
    expect(key('end', 'Home')).toEqual({ startSector: 2048, sectorCount: 2048 });
    expect(key('end', 'End', { startSector: 2048, sectorCount: 2048 })).toEqual({ startSector: 2048, sectorCount: 20480 });
  });

  it('reports the slider’s range and value in sectors: the start, or the last sector', () => {
    expect(sliderValues('start', p1, room, p1, 2048)).toEqual({ min: 2048, max: 20480, now: 2048 });
    expect(sliderValues('end', p1, room, p1, 2048)).toEqual({ min: 4095, max: 22527, now: 22527 });
  });
});

describe('drag properties', () => {
  const alignments = fc.constantFrom(1, 8, 63, 2048);
  /** A room on a disk, and a partition inside it. */
  const scene = fc
    .record({
      total: fc.integer({ min: 4096, max: 2 ** 26 }),
      a: fc.double({ min: 0, max: 1, noNaN: true }),
      b: fc.double({ min: 0, max: 1, noNaN: true }),
      s: fc.double({ min: 0, max: 1, noNaN: true }),
      c: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ total, a, b, s, c }) => {
      const first = 1 + Math.floor(Math.min(a, b) * (total - 2));
      const last = Math.max(first, 1 + Math.floor(Math.max(a, b) * (total - 2)));
      const startSector = first + Math.floor(s * (last - first));
      const sectorCount = 1 + Math.floor(c * (last - startSector));
      return { total, room: { firstSector: first, lastSector: last } as Room, original: { startSector, sectorCount } as Extent };
    });
  const handles = fc.constantFrom<DragHandle>('start', 'end', 'body');

  it('a drag stays in its room, keeps a sector, and moves only its own number', () => {
    fc.assert(
      fc.property(
        scene,
        alignments,
        handles,
        fc.double({ min: -1, max: 1, noNaN: true }),
        ({ total, room, original }, alignment, handle, f) => {
          const out = dragTo(handle, original, room, alignment, f * total);
          expect(out.sectorCount).toBeGreaterThanOrEqual(1);
          expect(out.startSector).toBeGreaterThanOrEqual(room.firstSector);
          expect(lastSectorOf(out)).toBeLessThanOrEqual(room.lastSector);
          if (handle === 'start') expect(lastSectorOf(out)).toBe(lastSectorOf(original));
          if (handle === 'end') expect(out.startSector).toBe(original.startSector);
          if (handle === 'body') expect(out.sectorCount).toBe(original.sectorCount);
          const value = handleValue(handle, out);
          const onGrid = value % alignment === 0;
          const back = value === handleValue(handle, original);
          const roomEdge = handle === 'end' && value === room.lastSector + 1;
          expect(onGrid || back || roomEdge).toBe(true);
        },
      ),
    );
  });

  it('no movement leaves the partition where it was; more movement never moves it less far', () => {
    fc.assert(
      fc.property(
        scene,
        alignments,
        handles,
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        ({ total, room, original }, alignment, handle, f, g) => {
          expect(dragTo(handle, original, room, alignment, 0)).toEqual(original);
          const [less, more] = [Math.min(f, g), Math.max(f, g)].map((x) =>
            handleValue(handle, dragTo(handle, original, room, alignment, x * total)),
          );
          expect(less).toBeLessThanOrEqual(more!);
        },
      ),
    );
  });

  it('keys move in their direction, stay in the room, and Home/End bound every value', () => {
    fc.assert(
      fc.property(scene, alignments, handles, fc.constantFrom(...SLIDER_KEYS), ({ total, room, original }, alignment, handle, k) => {
        const step = (extent: Extent, keyName: (typeof SLIDER_KEYS)[number]) =>
          keyStep(handle, keyName, extent, room, original, alignment, total);
        const out = step(original, k);
        expect(out.sectorCount).toBeGreaterThanOrEqual(1);
        expect(out.startSector).toBeGreaterThanOrEqual(room.firstSector);
        expect(lastSectorOf(out)).toBeLessThanOrEqual(room.lastSector);
        const before = handleValue(handle, original);
        const after = handleValue(handle, out);
        if (['ArrowRight', 'ArrowUp', 'PageUp'].includes(k)) expect(after).toBeGreaterThanOrEqual(before);
        if (['ArrowLeft', 'ArrowDown', 'PageDown'].includes(k)) expect(after).toBeLessThanOrEqual(before);
        expect(handleValue(handle, step(original, 'Home'))).toBeLessThanOrEqual(Math.max(after, before));
        expect(handleValue(handle, step(original, 'End'))).toBeGreaterThanOrEqual(Math.min(after, before));
      }),
    );
  });
});

describe('the bar while dragging', () => {
  it('draws one partition at the dragged extent, with its derived fields', () => {
    const drawn = withExtent(mbr, 1, { startSector: 4096, sectorCount: 2048 });
    expect(drawn.partitions[0]).toMatchObject({
      index: 1,
      startSector: 4096,
      endSector: 6143,
      sectorCount: 2048,
      offsetBytes: 4096 * 512,
      sizeBytes: 1 << 20,
      blocks1KiB: 1024,
    });
    expect(drawn.partitions[1]).toBe(p2);
  });
});
