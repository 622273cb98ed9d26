import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from './block-device';
import { createMbrLayout, readMbr, writeMbr, type MbrLayout } from './mbr';
import { addPartition, applyPartitionEdit, deletePartition, freeRuns, resizePartition, setPartition } from './mbr-edit';
import { parsePartitionSettings, parsePartitionSpec } from './partition-spec';
import { expectLoopbackError } from './test-support';

function add(layout: MbrLayout, spec: string, alignmentSectors = 2048): MbrLayout {
  return addPartition(layout, parsePartitionSpec(spec), { alignmentSectors }).layout;
}

function summary(layout: MbrLayout): string[] {
  return layout.partitions.map(
    (p) =>
      `${p.number} ${p.kind} ${p.startSector}+${p.sectorCount} ${p.type.toString(16)}${p.bootable ? ' *' : ''}${p.ebrSector !== undefined ? ` ebr ${p.ebrSector}` : ''}`,
  );
}

const blank = (diskSectors: number): MbrLayout => createMbrLayout(diskSectors, { diskSignature: 0x12345678 });

describe('addPartition', () => {
  it("makes the article's partition: start=63,size=rest,type=83,bootable on 1000/16/63", () => {
    const { layout, partition } = addPartition(blank(1008000), parsePartitionSpec('start=63,size=rest,type=83,bootable'));
    expect(partition).toEqual({ number: 1, kind: 'primary', startSector: 63, sectorCount: 1007937, type: 0x83, bootable: true });
    expect(layout.partitions).toEqual([partition]);
    expect(layout.geometry).toEqual({ heads: 16, sectorsPerTrack: 63 });
  });

  it('puts a partition without a start at the first free aligned sector (2048, or 63 for legacy)', () => {
    expect(summary(add(blank(100_000), 'size=1000'))).toEqual(['1 primary 2048+1000 83']);
    expect(summary(add(blank(100_000), 'size=1000', 63))).toEqual(['1 primary 63+1000 83']);
    const two = add(add(blank(100_000), 'size=10000'), 'size=5000,type=c');
    expect(summary(two)).toEqual(['1 primary 2048+10000 83', '2 primary 12288+5000 c']);
  });

  it('fills a gap that fits, and size=rest ends where the free run ends', () => {
    let layout = add(blank(100_000), 'start=50000,size=1000');
    layout = add(layout, 'size=rest'); // the run before partition 1
    expect(summary(layout)).toEqual(['1 primary 50000+1000 83', '2 primary 2048+47952 83']);
    layout = add(layout, 'size=10000'); // does not fit before 1: goes after it
    expect(summary(layout)[2]).toBe('3 primary 51200+10000 83');
  });

  it('uses the first free slot, or the slot asked for', () => {
    let layout = add(blank(100_000), 'number=3,size=1000');
    layout = add(layout, 'size=1000');
    expect(summary(layout)).toEqual(['3 primary 2048+1000 83', '1 primary 4096+1000 83']);
  });

  it('places logical partitions and their EBRs where sfdisk does (sfdisk 2.38: 22528, 30720, 38912)', () => {
    // sfdisk, given 'start=20480,size=100000,type=5' then three logicals of 5000, 6000 and 7000
    // sectors, put them at 22528, 30720 and 38912 with EBRs at 20480, 28672 and 36864.
    let layout = add(blank(131072), 'start=2048,size=10000,bootable');
    layout = add(layout, 'extended,start=20480,size=100000');
    layout = add(layout, 'logical,size=5000');
    layout = add(layout, 'logical,size=6000,type=c');
    layout = add(layout, 'logical,size=7000,type=82');
    expect(summary(layout)).toEqual([
      '1 primary 2048+10000 83 *',
      '2 extended 20480+100000 5',
      '5 logical 22528+5000 83 ebr 20480',
      '6 logical 30720+6000 c ebr 28672',
      '7 logical 38912+7000 82 ebr 36864',
    ]);
  });

  it('lists free runs on the disk and inside the extended partition', () => {
    let layout = add(blank(100_000), 'extended,start=2048,size=50000');
    expect(freeRuns(layout, 'logical')).toEqual([{ startSector: 2049, endSector: 52047, sectorCount: 49999 }]);
    layout = add(layout, 'logical,size=1000');
    expect(freeRuns(layout, 'logical')).toEqual([
      { startSector: 2049, endSector: 4095, sectorCount: 2047 },
      { startSector: 5096, endSector: 52047, sectorCount: 46952 },
    ]);
    expect(freeRuns(layout, 'primary')).toEqual([
      { startSector: 1, endSector: 2047, sectorCount: 2047 },
      { startSector: 52048, endSector: 99999, sectorCount: 47952 },
    ]);
  });

  it('never changes the layout it was given', () => {
    const layout = add(blank(100_000), 'size=1000');
    const copy = structuredClone(layout);
    add(layout, 'size=1000');
    deletePartition(layout, 1);
    setPartition(layout, 1, { bootable: true });
    expect(layout).toEqual(copy);
  });

  it.each([
    [
      (l: MbrLayout) => add(add(add(add(l, 'size=100'), 'size=100'), 'size=100'), 'size=100'),
      'size=100',
      'All four primary slots are in use (partitions 1–4): delete one, or use logical partitions inside an extended partition',
    ],
    [(l: MbrLayout) => add(l, 'number=2,size=100'), 'number=2,size=100', 'Slot 2 is already used by partition 2'],
    [
      (l: MbrLayout) => add(l, 'extended,size=10000'),
      'extended',
      'There is already an extended partition (partition 1); an MBR holds only one',
    ],
    [(l: MbrLayout) => l, 'logical', 'A logical partition needs an extended partition; add one first (--add extended)'],
    [
      (l: MbrLayout) => add(l, 'size=rest'),
      'size=100',
      'No room on the disk for a partition of 100 sectors: the largest free run is sectors 1–2047 (2047 sectors)',
    ],
    [
      (l: MbrLayout) => l,
      'size=200000',
      'No room on the disk for a partition of 200000 sectors: the largest free run is sectors 1–99999 (99999 sectors)',
    ],
    [
      (l: MbrLayout) => add(l, 'start=2048,size=1000'),
      'start=2500,size=rest',
      'Sector 2500 is not free: it belongs to partition 1 (sectors 2048–3047)',
    ],
    [(l: MbrLayout) => l, 'start=0,size=rest', 'Sector 0 holds the MBR; partitions start at sector 1 or later'],
    [(l: MbrLayout) => l, 'start=100000,size=rest', 'Sector 100000 is outside the disk (sectors 1–99999)'],
    [
      (l: MbrLayout) => add(l, 'start=2048,size=1000'),
      'start=2500,size=1000',
      'Partition 2 (sectors 2500–3499) overlaps partition 1 (sectors 2048–3047)',
    ],
    [
      (l: MbrLayout) => l,
      'start=99000,size=2000',
      'Partition 1 (sectors 99000–100999) ends beyond sector 99999, the last usable sector of the disk',
    ],
    [
      (l: MbrLayout) => add(l, 'extended,start=2048,size=1000'),
      'logical,start=2048',
      'A logical partition must start inside extended partition 1 after its first sector 2048, which holds the EBR (sectors 2049–3047)',
    ],
    [
      (l: MbrLayout) => add(add(l, 'extended,start=2048,size=10000'), 'logical,size=1000'),
      'logical,start=5096,size=100',
      'A logical partition needs a free sector before its start for its EBR; sector 5095 is not free',
    ],
    [
      (l: MbrLayout) => add(l, 'extended,start=2048,size=3000'),
      'logical,size=5000',
      'No room in extended partition 1 for a partition of 5000 sectors: the largest free run is sectors 2049–5047 (2999 sectors)',
    ],
  ])('refuses: %#', (prepare, spec, message) => {
    expectLoopbackError(() => add(prepare(blank(100_000)), spec), 'VALIDATION', message);
  });

  it('refuses an alignment that is not a positive whole number', () => {
    expectLoopbackError(
      () => addPartition(blank(100_000), parsePartitionSpec('size=1'), { alignmentSectors: 0 }),
      'INVALID_INPUT',
      'Alignment must be a whole number of sectors, at least 1, not 0',
    );
  });
});

describe('deletePartition and setPartition', () => {
  const withLogicals = (): MbrLayout => {
    let layout = add(blank(131072), 'start=2048,size=10000');
    layout = add(layout, 'extended,start=20480,size=100000');
    for (const size of [5000, 6000, 7000]) layout = add(layout, `logical,size=${size}`);
    return layout;
  };

  it('keeps primary numbers when a primary goes', () => {
    const layout = add(add(blank(100_000), 'size=100'), 'size=100');
    expect(summary(deletePartition(layout, 1))).toEqual(['2 primary 4096+100 83']);
  });

  it('renumbers the logical partitions after a deleted one, as Linux does', () => {
    expect(summary(deletePartition(withLogicals(), 6))).toEqual([
      '1 primary 2048+10000 83',
      '2 extended 20480+100000 5',
      '5 logical 22528+5000 83 ebr 20480',
      '6 logical 38912+7000 83 ebr 36864',
    ]);
  });

  it('deletes the logical partitions with the extended one', () => {
    expect(summary(deletePartition(withLogicals(), 2))).toEqual(['1 primary 2048+10000 83']);
  });

  it('keeps a readable chain when the first logical partition goes (the next EBR moves to the start, as fdisk does)', async () => {
    const layout = deletePartition(withLogicals(), 5);
    expect(summary(layout).slice(2)).toEqual(['5 logical 30720+6000 83 ebr 20480', '6 logical 38912+7000 83 ebr 36864']);
    const device = new MemoryBlockDevice(131072 * 512);
    await writeMbr(device, layout);
    const read = await readMbr(device);
    expect(read.warnings).toEqual([]);
    expect(summary(read.layout)).toEqual(summary(layout));
    // A new logical partition may not take the extended partition's first sector.
    expect(summary(add(layout, 'logical,size=100'))[4]).toBe('7 logical 24576+100 83 ebr 22528');
  });

  it('sets bootable and type', () => {
    const layout = setPartition(withLogicals(), 1, parsePartitionSettings('bootable=on,type=0c'));
    expect(summary(layout)[0]).toBe('1 primary 2048+10000 c *');
    expect(summary(setPartition(layout, 6, { bootable: true }))[3]).toBe('6 logical 30720+6000 83 * ebr 28672');
    expect(summary(setPartition(layout, 2, { type: 0x0f }))[1]).toBe('2 extended 20480+100000 f');
    expect(summary(applyPartitionEdit(layout, { op: 'set', number: 1, settings: { bootable: false } }))[0]).toBe('1 primary 2048+10000 c');
  });

  it('moves and resizes a partition in place (--set N start=,size=), keeping its number, type and flag', () => {
    const layout = setPartition(withLogicals(), 1, parsePartitionSettings('bootable=on'));
    expect(summary(setPartition(layout, 1, parsePartitionSettings('start=4096')))[0]).toBe('1 primary 4096+10000 83 *');
    expect(summary(setPartition(layout, 1, parsePartitionSettings('size=12000,type=0c')))[0]).toBe('1 primary 2048+12000 c *');
    expect(summary(applyPartitionEdit(layout, { op: 'set', number: 1, settings: { startSector: 4096, sectorCount: 4096 } }))[0]).toBe(
      '1 primary 4096+4096 83 *',
    );
  });

  it('keeps a resized logical partition’s number and place in the chain, and its EBR while that comes before it', () => {
    const layout = withLogicals();
    expect(summary(resizePartition(layout, 6, { sectorCount: 6144 })).slice(2)).toEqual([
      '5 logical 22528+5000 83 ebr 20480',
      '6 logical 30720+6144 83 ebr 28672',
      '7 logical 38912+7000 83 ebr 36864',
    ]);
    expect(summary(resizePartition(layout, 6, { startSector: 34816, sectorCount: 2000 }))[3]).toBe('6 logical 34816+2000 83 ebr 28672');
    // Its start before its old EBR: the EBR goes right after partition 5.
    expect(summary(resizePartition(layout, 6, { startSector: 28672, sectorCount: 8048 }))[3]).toBe('6 logical 28672+8048 83 ebr 27528');
    // The first logical partition's EBR is the extended partition's first sector, wherever it starts.
    expect(summary(resizePartition(layout, 5, { startSector: 21000, sectorCount: 7000 }))[2]).toBe('5 logical 21000+7000 83 ebr 20480');
  });

  it('resizes the extended partition around its logical partitions, but keeps its start', () => {
    expect(summary(resizePartition(withLogicals(), 2, { sectorCount: 50000 }))[1]).toBe('2 extended 20480+50000 5');
    expectLoopbackError(
      () => resizePartition(withLogicals(), 2, { sectorCount: 20000 }),
      'VALIDATION',
      /Logical partition 7 \(sectors 38912–45911\) lies outside extended partition 2/,
    );
    expectLoopbackError(
      () => resizePartition(withLogicals(), 2, { startSector: 18432 }),
      'VALIDATION',
      'Extended partition 2 holds logical partitions, and its first sector 20480 holds the first of their EBRs: its start cannot move while they are there (its end can)',
    );
  });

  it('refuses a move onto another partition or an EBR', () => {
    expectLoopbackError(
      () => resizePartition(withLogicals(), 1, { sectorCount: 20000 }),
      'VALIDATION',
      'Partition 2 (sectors 20480–120479) overlaps partition 1 (sectors 2048–22047)',
    );
    expectLoopbackError(() => resizePartition(withLogicals(), 5, { sectorCount: 7000 }), 'VALIDATION', /overlaps/);
  });

  it('refuses what would change the kind of a partition, and unknown numbers', () => {
    expectLoopbackError(
      () => setPartition(withLogicals(), 1, { type: 0x05 }),
      'VALIDATION',
      'Partition 1 cannot become an extended partition by changing its type to 0x05; add an extended partition instead',
    );
    expectLoopbackError(
      () => setPartition(withLogicals(), 2, { type: 0x83 }),
      'VALIDATION',
      'Partition 2 is the extended partition; its type must stay an extended type (05, 0f, 85), not 0x83',
    );
    expectLoopbackError(() => deletePartition(withLogicals(), 9), 'NOT_FOUND', 'There is no partition 9 (the table has 1, 2, 5, 6, 7)');
    expectLoopbackError(() => setPartition(blank(100), 1, { bootable: true }), 'NOT_FOUND', 'There is no partition 1 (the table is empty)');
  });
});
