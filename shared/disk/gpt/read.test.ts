import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../block-device';
import { LoopbackError } from '../../errors';
import { addPartition, newGpt, readGpt, writeGpt, type GptTable } from './index';

const SECTORS = 8192;
const LAST = SECTORS - 1;

function sampleTable(diskSectors = SECTORS): GptTable {
  let table = newGpt(diskSectors, { diskGuid: 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE' });
  table = addPartition(table, { sizeSectors: 2048, type: 'bios', uniqueGuid: '10000000-0000-4000-8000-000000000001' });
  table = addPartition(table, { type: 'linux', name: 'root', uniqueGuid: '10000000-0000-4000-8000-000000000002' });
  return table;
}

async function deviceWith(table: GptTable): Promise<MemoryBlockDevice> {
  const device = new MemoryBlockDevice(table.diskSectors * 512);
  await writeGpt(device, table);
  return device;
}

/** XORs one byte of `bytes` with `mask`. */
function flip(bytes: Uint8Array, offset: number, mask: number): void {
  bytes[offset] = bytes[offset]! ^ mask;
}

/**
 * Changes both entry arrays of a disk written by deviceWith (`patch` gets the array's byte
 * offset) and fixes up the array and header CRCs, so the change looks deliberate.
 */
function patchEntriesOnDisk(device: MemoryBlockDevice, patch: (view: DataView, arrayAt: number) => void): void {
  const view = new DataView(device.bytes.buffer);
  for (const [headerLBA, arrayLBA] of [
    [1, 2],
    [LAST, LAST - 32],
  ] as const) {
    patch(view, arrayLBA * 512);
    const header = headerLBA * 512;
    view.setUint32(header + 88, zlibCrc32(device.bytes.subarray(arrayLBA * 512, arrayLBA * 512 + 16384)), true);
    view.setUint32(header + 16, 0, true);
    view.setUint32(header + 16, zlibCrc32(device.bytes.subarray(header, header + 92)), true);
  }
}

/** What must survive a round trip through the disk (warnings aside). */
const essence = ({ warnings: _, ...rest }: GptTable) => rest;

async function readError(device: MemoryBlockDevice): Promise<LoopbackError> {
  const error = await readGpt(device).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LoopbackError);
  return error as LoopbackError;
}

describe('readGpt', () => {
  it('reads back what writeGpt wrote, with no warnings', async () => {
    const table = sampleTable();
    const read = await readGpt(await deviceWith(table));
    expect(read).toEqual(table);
  });

  it('falls back to the backup when the primary header is corrupt, and says so', async () => {
    const table = sampleTable();
    const device = await deviceWith(table);
    flip(device.bytes, 512 + 40, 0xff); // FirstUsableLBA: the header CRC no longer matches
    const read = await readGpt(device);
    expect(essence(read)).toEqual(essence(table));
    expect(read.warnings).toEqual([
      expect.stringMatching(
        /^The primary GPT \(LBA 1\) is unusable: header CRC32 is 0x[0-9a-f]{8} but .*The backup at LBA 8191 was read instead; writing the table will repair the primary\.$/,
      ),
    ]);
  });

  it('falls back to the backup when the primary entry array is corrupt', async () => {
    const device = await deviceWith(sampleTable());
    flip(device.bytes, 2 * 512 + 128 + 60, 1); // a byte of partition 2's name
    const read = await readGpt(device);
    expect(read.partitions[1]!.name).toBe('root');
    expect(read.warnings[0]).toMatch(/primary GPT \(LBA 1\) is unusable: its entry array CRC32 is/);
  });

  it('falls back to the backup when the primary is gone entirely', async () => {
    const device = await deviceWith(sampleTable());
    device.bytes.fill(0, 512, 34 * 512);
    const read = await readGpt(device);
    expect(essence(read)).toEqual(essence(sampleTable()));
    expect(read.warnings[0]).toMatch(/primary GPT \(LBA 1\) is unusable: no "EFI PART" signature/);
  });

  it('warns when the backup is damaged but reads the primary', async () => {
    const device = await deviceWith(sampleTable());
    flip(device.bytes, LAST * 512 + 3, 1);
    const read = await readGpt(device);
    expect(essence(read)).toEqual(essence(sampleTable()));
    expect(read.warnings).toEqual([
      expect.stringMatching(
        /^The backup GPT header \(LBA 8191\) is unusable: no "EFI PART" signature\. Writing the table will rebuild it\.$/,
      ),
    ]);
  });

  it('repairs a damaged primary when the table it read is written back', async () => {
    const table = sampleTable();
    const device = await deviceWith(table);
    const good = device.bytes.slice();
    device.bytes.fill(0x5a, 512, 1024);
    await writeGpt(device, await readGpt(device));
    expect(Buffer.compare(device.bytes, good)).toBe(0);
  });

  it('warns when the disk grew and the backup is no longer at the end, and moves it when written', async () => {
    const small = await deviceWith(sampleTable());
    const grown = new MemoryBlockDevice(SECTORS * 2 * 512);
    grown.bytes.set(small.bytes);
    const read = await readGpt(grown);
    expect(read.diskSectors).toBe(2 * SECTORS);
    expect(read.partitions).toEqual(sampleTable().partitions);
    expect(read.warnings).toEqual([
      'The protective MBR record covers sectors 1 + 8191, not 1 + 16383; writing the table will correct it.',
      expect.stringMatching(
        /primary header places the backup at LBA 8191, not at the disk's last sector 16383 \(was the image resized\?\)/,
      ),
    ]);
    await writeGpt(grown, read);
    expect((await readGpt(grown)).warnings).toEqual([]);
  });

  it('warns about a hybrid MBR and about overlapping partitions it was given', async () => {
    const device = await deviceWith(sampleTable());
    device.bytes[446 + 16 + 4] = 0x83;
    // An overlap our writer would refuse, put on disk by hand: partition 2 now starts inside partition 1.
    patchEntriesOnDisk(device, (view, arrayAt) => view.setBigUint64(arrayAt + 128 + 32, 3000n, true));
    const read = await readGpt(device);
    expect(read.partitions[1]!.startingLBA).toBe(3000);
    expect(read.warnings).toEqual([
      expect.stringMatching(/hybrid MBR \(records of type 0x83 besides 0xEE\); writing the table will replace it/),
      `This table cannot be written back as it is: partition 1 (sectors 2048–4095) overlaps partition 2 (sectors 3000–${SECTORS - 34}).`,
    ]);
  });

  it('says NOT_FOUND for a disk without a GPT and for a device too small for one', async () => {
    expect(await readError(new MemoryBlockDevice(SECTORS * 512))).toMatchObject({
      code: 'NOT_FOUND',
      message: 'no GPT on this disk: neither LBA 1 nor LBA 8191 holds an "EFI PART" header',
    });
    expect(await readError(new MemoryBlockDevice(1000))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('turns a failing device read into an IO LoopbackError', async () => {
    const failing = new MemoryBlockDevice(SECTORS * 512);
    failing.read = async () => {
      throw new Error('EIO: i/o error');
    };
    expect(await readError(failing)).toMatchObject({ code: 'IO', message: 'reading sectors 0–0 failed: EIO: i/o error' });
  });

  it('says INVALID_INPUT, with both reasons, when both copies are damaged', async () => {
    const device = await deviceWith(sampleTable());
    flip(device.bytes, 512 + 40, 1);
    flip(device.bytes, LAST * 512 + 40, 1);
    const error = await readError(device);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(
      /^the GPT is damaged beyond repair: primary \(LBA 1\): header CRC32 .*; backup \(LBA 8191\): header CRC32/,
    );
  });

  it('turns an entry with a sector number beyond 2^53 into INVALID_INPUT, not a wrong number', async () => {
    const device = await deviceWith(sampleTable());
    patchEntriesOnDisk(device, (view, arrayAt) => view.setBigUint64(arrayAt + 40, 1n << 62n, true));
    const error = await readError(device);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(/an entry is unreadable: EndingLBA is 4611686018427387904, beyond the 2\^53 − 1 sectors/);
  });
});

describe('readGpt on garbage never throws anything but LoopbackError', () => {
  const base = new MemoryBlockDevice(SECTORS * 512);
  const ready = writeGpt(base, sampleTable());

  async function expectOnlyLoopbackErrors(bytes: Uint8Array): Promise<void> {
    try {
      await readGpt(new MemoryBlockDevice(bytes));
    } catch (error) {
      expect(error).toBeInstanceOf(LoopbackError);
    }
  }

  it('random bytes in LBA 1 and the entries', async () => {
    await ready;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 512, maxLength: 512 }),
        fc.uint8Array({ minLength: 0, maxLength: 16384 }),
        async (header, entries) => {
          const bytes = base.bytes.slice();
          bytes.set(header, 512);
          bytes.set(entries, 1024);
          await expectOnlyLoopbackErrors(bytes);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random header fields behind a valid signature and CRC, in both copies', async () => {
    await ready;
    const headerFields = fc.uint8Array({ minLength: 92 - 16, maxLength: 92 - 16 });
    await fc.assert(
      fc.asyncProperty(
        headerFields,
        headerFields,
        fc.uint8Array({ minLength: 16384, maxLength: 16384 }),
        async (primary, backup, entries) => {
          const bytes = base.bytes.slice();
          const view = new DataView(bytes.buffer);
          for (const [lba, fields] of [
            [1, primary],
            [LAST, backup],
          ] as const) {
            const at = lba * 512;
            bytes.set(fields, at + 16 + 4); // everything after signature, revision, size and CRC
            view.setUint32(at + 16, 0, true);
            view.setUint32(at + 16, zlibCrc32(bytes.subarray(at, at + 92)), true);
          }
          bytes.set(entries, 1024);
          await expectOnlyLoopbackErrors(bytes);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random entries behind a valid entry-array CRC are all read, problems becoming warnings', async () => {
    await ready;
    const entry = fc.record({
      used: fc.boolean(),
      guids: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      startingLBA: fc.oneof(fc.nat({ max: 20000 }), fc.maxSafeNat()),
      endingLBA: fc.oneof(fc.nat({ max: 20000 }), fc.maxSafeNat()),
      rest: fc.uint8Array({ minLength: 80, maxLength: 80 }), // attributes and name: any bytes
    });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 128, maxLength: 128 }), async (entries) => {
        const bytes = base.bytes.slice();
        const view = new DataView(bytes.buffer);
        const array = bytes.subarray(1024, 1024 + 16384);
        array.fill(0);
        entries.forEach((e, slot) => {
          const at = 1024 + slot * 128;
          if (!e.used) return;
          bytes.set(e.guids, at);
          bytes[at] = 1; // a non-zero type GUID
          view.setBigUint64(at + 32, BigInt(e.startingLBA), true);
          view.setBigUint64(at + 40, BigInt(e.endingLBA), true);
          bytes.set(e.rest, at + 48);
        });
        view.setUint32(512 + 88, zlibCrc32(array), true);
        view.setUint32(512 + 16, 0, true);
        view.setUint32(512 + 16, zlibCrc32(bytes.subarray(512, 512 + 92)), true);
        const table = await readGpt(new MemoryBlockDevice(bytes));
        expect(table.partitions.map((p) => p.index)).toEqual(entries.flatMap((e, slot) => (e.used ? [slot + 1] : [])));
        expect(table.warnings).toContain(
          'The backup GPT (LBA 8191) differs from the primary; the primary is used, and writing the table will make them equal.',
        );
      }),
      { numRuns: 100 },
    );
  });
});
