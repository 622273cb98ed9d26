// Every invalid table is refused by writeGpt with a message naming the partitions and sectors,
// and the device keeps every byte it had.
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../block-device';
import { LoopbackError } from '../../errors';
import { newGpt, writeGpt, type GptPartition, type GptTable } from './index';
import { partitionTypeName } from './types';

const DISK_SECTORS = 4096; // 2 MiB: usable sectors 34..4062
const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';

function partition(index: number, startingLBA: number, endingLBA: number, extra: Partial<GptPartition> = {}): GptPartition {
  return {
    index,
    typeGuid: LINUX,
    typeName: partitionTypeName(LINUX),
    uniqueGuid: `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`,
    startingLBA,
    endingLBA,
    attributes: { low32: 0, high32: 0 },
    name: `part${index}`,
    ...extra,
  };
}

function table(partitions: GptPartition[], changes: Partial<GptTable> = {}): GptTable {
  return { ...newGpt(DISK_SECTORS, { diskGuid: '11111111-2222-4333-8444-555555555555' }), partitions, ...changes };
}

/** A device already holding a valid GPT, then filled with a pattern elsewhere, so "unchanged" means something. */
async function preparedDevice(sectors = DISK_SECTORS): Promise<MemoryBlockDevice> {
  const device = new MemoryBlockDevice(sectors * 512);
  device.bytes.forEach((_, i) => (device.bytes[i] = (i * 7 + 3) & 0xff));
  if (sectors >= 68) await writeGpt(device, table([partition(1, 2048, 3000)], { diskSectors: sectors, lastUsableLBA: sectors - 34 }));
  return device;
}

async function expectRefused(tableToWrite: GptTable, message: RegExp, device?: MemoryBlockDevice): Promise<LoopbackError> {
  const target = device ?? (await preparedDevice());
  const before = target.bytes.slice();
  const error = await writeGpt(target, tableToWrite).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LoopbackError);
  const refused = error as LoopbackError;
  expect(refused.code).toBe('VALIDATION');
  expect(refused.message).toMatch(/^Cannot write the GPT \(nothing was written\): /);
  expect(refused.message).toMatch(message);
  expect(Buffer.compare(target.bytes, before)).toBe(0);
  return refused;
}

describe('writeGpt refuses invalid tables and writes nothing', () => {
  it('accepts the valid baseline (so the refusals below are about their one change)', async () => {
    const device = await preparedDevice();
    await expect(writeGpt(device, table([partition(1, 2048, 2999), partition(2, 3000, 4062)]))).resolves.toBeUndefined();
  });

  it('refuses overlapping partitions, naming both and their sectors', async () => {
    const error = await expectRefused(
      table([partition(1, 2048, 3000), partition(2, 2900, 3500)]),
      /partition 1 \(sectors 2048–3000\) overlaps partition 2 \(sectors 2900–3500\)/,
    );
    expect(error.details?.problems).toEqual([expect.objectContaining({ kind: 'overlap', partitions: [1, 2] })]);
  });

  it('refuses a partition inside another one, even with others between them in start order', async () => {
    await expectRefused(
      table([partition(4, 100, 4000), partition(2, 200, 300), partition(3, 400, 500)]),
      /partition 4 \(sectors 100–4000\) overlaps partition 2 \(sectors 200–300\); partition 4 \(sectors 100–4000\) overlaps partition 3 \(sectors 400–500\)/,
    );
  });

  it('refuses a partition starting before the first usable sector', async () => {
    await expectRefused(table([partition(1, 33, 100)]), /partition 1 \(sectors 33–100\) starts before the first usable sector 34/);
  });

  it('refuses a partition ending after the last usable sector', async () => {
    await expectRefused(table([partition(3, 2048, 4063)]), /partition 3 \(sectors 2048–4063\) ends after the last usable sector 4062/);
  });

  it('refuses a partition that ends before it starts', async () => {
    await expectRefused(table([partition(1, 3000, 2048)]), /partition 1 \(sectors 3000–2048\) ends before it starts/);
  });

  it('refuses a disk too small for a GPT', async () => {
    const device = await preparedDevice(60);
    await expectRefused(
      table([], { diskSectors: 60, lastUsableLBA: 26 }),
      /a disk of 60 sectors is too small for a GPT: it needs at least 68 sectors \(34 for the protective MBR, the primary header and its entries, 33 for the backup entries and header, and 1 for a partition\)/,
      device,
    );
  });

  it('refuses a name longer than 36 UTF-16 code units', async () => {
    await expectRefused(
      table([partition(2, 2048, 3000, { name: 'a-partition-name-that-is-far-too-long-for-gpt' })]),
      /partition 2: the name "a-partition-name-that-is-far-too-long-for-gpt" is 45 UTF-16 code units long; GPT stores at most 36/,
    );
  });

  it('refuses a name with a NUL in it', async () => {
    await expectRefused(
      table([partition(1, 2048, 3000, { name: 'ab\u0000cd' })]),
      /partition 1: the name "ab\\u0000cd" contains a NUL character/,
    );
  });

  it('refuses two partitions with the same unique GUID', async () => {
    const guid = 'ABCDEF01-2345-4678-9ABC-DEF012345678';
    await expectRefused(
      table([partition(1, 2048, 2999, { uniqueGuid: guid }), partition(2, 3000, 4000, { uniqueGuid: guid.toLowerCase() })]),
      /partitions 1 and 2 have the same unique GUID ABCDEF01-2345-4678-9ABC-DEF012345678/,
    );
  });

  it('refuses the all-zero type GUID, which would make the entry unused', async () => {
    await expectRefused(
      table([partition(1, 2048, 3000, { typeGuid: '00000000-0000-0000-0000-000000000000' })]),
      /partition 1: type "00000000-0000-0000-0000-000000000000" is not a non-zero GUID/,
    );
  });

  it('refuses a partition number outside the entry array and a number used twice', async () => {
    await expectRefused(table([partition(129, 2048, 3000)]), /partition number 129 is outside 1\.\.128/);
    await expectRefused(
      table([partition(1, 2048, 2999), partition(1, 3000, 4000, { uniqueGuid: 'ABCDEF01-2345-4678-9ABC-DEF012345678' })]),
      /partition number 1 is used by two partitions/,
    );
  });

  it('refuses a table laid out for a disk of another size', async () => {
    await expectRefused(
      table([], { diskSectors: 8192, lastUsableLBA: 8158 }),
      /the table is laid out for a disk of 8192 sectors but the device has 4096 sectors/,
    );
  });

  it('refuses a usable range that runs into the backup entry array', async () => {
    await expectRefused(
      table([], { lastUsableLBA: 4063 }),
      /the last usable sector 4063 must come before the backup entry array \(sectors 4063–4094\)/,
    );
  });

  it('refuses an entry array smaller than the 16 KiB UEFI minimum', async () => {
    await expectRefused(
      table([], { numberOfPartitionEntries: 64 }),
      /64 entries of 128 bytes make a 8192-byte entry array; it must hold 16384/,
    );
  });

  it('reports every problem at once', async () => {
    const error = await expectRefused(
      table([partition(1, 10, 3000, { name: 'n'.repeat(37) }), partition(2, 2900, 5000)]),
      /is 37 UTF-16 code units long.*partition 1 \(sectors 10–3000\) starts before the first usable sector 34.*partition 2 \(sectors 2900–5000\) ends after the last usable sector 4062.*overlaps/,
    );
    expect((error.details?.problems as unknown[]).length).toBe(4);
  });
});

describe('newGpt', () => {
  it('refuses a disk too small for a GPT', () => {
    expect(() => newGpt(67)).toThrow(
      expect.objectContaining({ code: 'VALIDATION', message: expect.stringContaining('a disk of 67 sectors is too small') }),
    );
    expect(newGpt(68)).toMatchObject({ firstUsableLBA: 34, lastUsableLBA: 34 });
  });
});
