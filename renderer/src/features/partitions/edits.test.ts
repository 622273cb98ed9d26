import { describe, expect, it } from 'vitest';
import { editPartitions } from '../../../../shared/disk/partition-edits';
import { SparseMemoryBlockDevice } from '../../../../shared/disk/sparse-device';
import { continuesLastResize, describeEdit, lossesOf, planSteps, resizeEdit, type StagedEdit } from './edits';

const MIB = 1024 * 1024;

/** The staged edits, applied by the disk core the service uses, on a blank 64 MiB disk. */
async function apply(table: 'mbr' | 'gpt', ...rounds: StagedEdit[][]) {
  const device = new SparseMemoryBlockDevice(64 * MIB);
  let result = await editPartitions(device, { table, steps: [] });
  for (const edits of rounds) result = await editPartitions(device, { steps: planSteps(edits, table) });
  return result;
}

describe('staged partition edits become steps the disk core accepts', () => {
  it('adds, resizes and deletes MBR partitions (primary and logical) as staged', async () => {
    const { after } = await apply(
      'mbr',
      [
        { op: 'add', startSector: 2048, sectorCount: 20480, type: '83', bootable: true, kind: 'primary' },
        { op: 'add', startSector: 22528, sectorCount: 40960, type: '0c', bootable: false, kind: 'primary' },
        { op: 'add', startSector: 63488, sectorCount: 65536, type: '05', bootable: false, kind: 'extended' },
        { op: 'add', startSector: 65536, sectorCount: 8192, type: '83', bootable: false, kind: 'logical' },
      ],
      [
        { op: 'resize', number: 1, startSector: 2048, sectorCount: 10240 },
        { op: 'delete', number: 2 },
        { op: 'set', number: 5, type: '82' },
      ],
    );
    expect(after.partitions.map((p) => [p.index, p.kind, p.startSector, p.sectorCount, p.type, p.bootable])).toEqual([
      [1, 'primary', 2048, 10240, '83', true],
      [3, 'extended', 63488, 65536, '05', false],
      [5, 'logical', 65536, 8192, '82', false],
    ]);
  });

  it('keeps a GPT partition’s number, name, type, flag and unique GUID through a move', async () => {
    const { before, after } = await apply(
      'gpt',
      [{ op: 'add', startSector: 2048, sectorCount: 4096, type: 'linux', name: 'root', bootable: true }],
      [{ op: 'resize', number: 1, startSector: 4096, sectorCount: 8192 }],
    );
    expect(after.partitions).toHaveLength(1);
    expect(after.partitions[0]).toMatchObject({
      index: 1,
      startSector: 4096,
      sectorCount: 8192,
      name: 'root',
      typeName: 'Linux filesystem',
      bootable: true,
    });
    expect(after.partitions[0]!.uniqueGuid).toBe(before.partitions[0]!.uniqueGuid);
  });

  it('keeps logical partitions’ numbers in place when one of them is resized', async () => {
    const { after } = await apply(
      'mbr',
      [
        { op: 'add', startSector: 2048, sectorCount: 65536, type: '05', bootable: false, kind: 'extended' },
        { op: 'add', startSector: 4096, sectorCount: 8192, type: '83', bootable: false, kind: 'logical' },
        { op: 'add', startSector: 16384, sectorCount: 8192, type: '82', bootable: false, kind: 'logical' },
      ],
      [{ op: 'resize', number: 5, startSector: 4096, sectorCount: 10240 }],
    );
    expect(after.partitions.map((p) => [p.index, p.startSector, p.sectorCount, p.type])).toEqual([
      [1, 2048, 65536, '05'],
      [5, 4096, 10240, '83'],
      [6, 16384, 8192, '82'],
    ]);
  });

  it('words each edit for the list of staged changes', () => {
    expect(describeEdit({ op: 'add', startSector: 2048, sectorCount: 2048, type: '83', bootable: true, kind: 'primary' }, 'mbr')).toBe(
      'Add partition at sectors 2048–4095 (1 MiB), type 83, bootable',
    );
    expect(describeEdit({ op: 'set', number: 2, bootable: false }, 'mbr')).toBe('Set partition 2: not bootable');
  });
});

describe('resizes by dragging', () => {
  it('are one `--set N start=…,size=…` each', () => {
    expect(resizeEdit(5, { startSector: 4096, sectorCount: 2048 })).toEqual({
      op: 'resize',
      number: 5,
      startSector: 4096,
      sectorCount: 2048,
    });
    expect(planSteps([resizeEdit(5, { startSector: 4096, sectorCount: 2048 })], 'mbr')).toEqual([
      { op: 'set', number: '5', settings: 'start=4096,size=2048' },
    ]);
  });

  it('replace the last staged resize only when they take the same partition further', () => {
    const first = resizeEdit(1, { startSector: 2048, sectorCount: 4096 });
    const further = resizeEdit(1, { startSector: 2048, sectorCount: 6144 });
    expect(continuesLastResize([first], further, { startSector: 2048, sectorCount: 4096 })).toBe(true);
    // Not where that resize put it (another partition with that number since), or another change in between: appended.
    expect(continuesLastResize([first], further, { startSector: 8192, sectorCount: 4096 })).toBe(false);
    expect(continuesLastResize([first, { op: 'set', number: 1, bootable: true }], further, { startSector: 2048, sectorCount: 4096 })).toBe(
      false,
    );
    expect(continuesLastResize([first], { op: 'delete', number: 1 }, { startSector: 2048, sectorCount: 4096 })).toBe(false);
    expect(continuesLastResize([], further, { startSector: 2048, sectorCount: 20480 })).toBe(false);
  });

  it('end where the last one says when replaced, as the disk core applies them', async () => {
    const add: StagedEdit = { op: 'add', startSector: 2048, sectorCount: 20480, type: '83', bootable: false, kind: 'primary' };
    const first = resizeEdit(1, { startSector: 2048, sectorCount: 40960 });
    const further = resizeEdit(1, { startSector: 4096, sectorCount: 38912 });
    const replaced = await apply('mbr', [add], [further]);
    const appended = await apply('mbr', [add], [first, further]);
    expect(replaced.after.partitions).toEqual(appended.after.partitions);
    expect(replaced.after.partitions.map((p) => [p.startSector, p.sectorCount])).toEqual([[4096, 38912]]);
  });
});

describe('what a change loses', () => {
  it('names a removed partition’s filesystem and a resized one that no longer matches', async () => {
    const { after: before } = await apply('mbr', [
      { op: 'add', startSector: 2048, sectorCount: 20480, type: '83', bootable: false, kind: 'primary' },
      { op: 'add', startSector: 22528, sectorCount: 20480, type: '0c', bootable: false, kind: 'primary' },
    ]);
    const withUsage = {
      ...before,
      partitions: before.partitions.map((p) => ({ ...p, filesystem: { type: p.index === 1 ? 'ext2' : 'fat16', usedBytes: MIB } })),
    };
    const after = {
      ...before,
      partitions: [{ ...before.partitions[0]!, sectorCount: 10240, sizeBytes: 10240 * 512 }],
    };
    const losses = lossesOf(withUsage, after);
    expect(losses.map((l) => [l.partition, l.severity])).toEqual([
      [1, 'mismatch'],
      [2, 'lost'],
    ]);
    expect(losses[1]!.text).toBe('Partition 2 (FAT16, 10 MiB) is removed or moved: its filesystem, with 1 MiB used, is lost.');
  });
});
