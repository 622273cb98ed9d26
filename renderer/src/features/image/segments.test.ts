import { describe, expect, it } from 'vitest';
import { editPartitions } from '../../../../shared/disk/partition-edits';
import { SparseMemoryBlockDevice } from '../../../../shared/disk/sparse-device';
import { diskSegments } from './segments';

const MIB = 1024 * 1024;

async function disk(table: 'mbr' | 'gpt', specs: string[]) {
  const { after } = await editPartitions(new SparseMemoryBlockDevice(64 * MIB), {
    table,
    steps: specs.map((spec) => ({ op: 'add' as const, spec })),
  });
  return after;
}

const shape = (segments: ReturnType<typeof diskSegments>) =>
  segments.map((s) => [
    s.kind,
    s.startSector,
    s.sectorCount,
    s.kind === 'partition' ? s.partition.index : null,
    s.kind === 'whole' ? null : s.inExtended,
  ]);

describe('the disk bar’s runs of sectors', () => {
  it('draws partitions and the free space between and after them, in disk order', async () => {
    // 64 MiB = 131072 sectors; the 2047-sector gap before sector 2048 is alignment padding, not offered.
    const segments = diskSegments(await disk('mbr', ['start=2048,size=20480', 'start=43008,size=8192']));
    expect(shape(segments)).toEqual([
      ['partition', 2048, 20480, 1, false],
      ['free', 22528, 20480, null, false],
      ['partition', 43008, 8192, 2, false],
      ['free', 51200, 131072 - 51200, null, false],
    ]);
  });

  it('draws logical partitions inside the extended one, with its free space', async () => {
    const segments = diskSegments(
      await disk('mbr', ['start=2048,size=8192', 'extended,start=10240,size=40960', 'logical,start=12288,size=8192']),
    );
    expect(shape(segments)).toEqual([
      ['partition', 2048, 8192, 1, false],
      ['partition', 12288, 8192, 5, true],
      ['free', 20480, 30720, null, true],
      ['free', 51200, 131072 - 51200, null, false],
    ]);
  });

  it('keeps a GPT’s free space inside its usable sectors (34 to the end less 34)', async () => {
    const segments = diskSegments(await disk('gpt', []));
    expect(shape(segments)).toEqual([['free', 34, 131072 - 34 - 34 + 1, null, false]]);
  });
});
