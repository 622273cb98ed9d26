// Properties over random valid layouts (disks of 100 KiB to 4 GiB, held sparsely in memory).
// sgdisk checks the same generator's tables in sgdisk.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeGpt, findGptProblems, readGpt, writeGpt, type GptTable } from './index';
import { arbitraryGptTable, SparseMemoryDevice } from './test-support';

async function written(table: GptTable): Promise<SparseMemoryDevice> {
  const device = new SparseMemoryDevice(table.diskSectors * 512);
  await writeGpt(device, table);
  return device;
}

/** The written pages as [offset, hex] pairs: compared as strings, far faster than byte arrays. */
const pagesDigest = (device: SparseMemoryDevice): Array<[number, string]> =>
  device.writtenPages().map(([offset, page]) => [offset, Buffer.from(page).toString('hex')]);

const tables = fc.oneof(arbitraryGptTable({ names: 'codeUnits' }), arbitraryGptTable({ names: 'graphemes', varyEntryArray: true }));

describe('GPT properties', () => {
  it('the generator makes tables our validator accepts', () => {
    fc.assert(
      fc.property(tables, (table) => {
        expect(findGptProblems(table)).toEqual([]);
      }),
    );
  });

  it('encode → parse → encode is byte-exact, and parse gives back the table', async () => {
    await fc.assert(
      fc.asyncProperty(tables, async (table) => {
        const first = await written(table);
        const parsed = await readGpt(first);
        expect(parsed).toEqual(table);
        const second = await written(parsed);
        expect(pagesDigest(second)).toEqual(pagesDigest(first));
      }),
      { numRuns: 150 },
    );
  });

  it('writes exactly the five regions UEFI 5.3.1 places: MBR, primary header and array, backup array and header', async () => {
    await fc.assert(
      fc.asyncProperty(tables, async (table) => {
        const arraySectors = Math.ceil((table.numberOfPartitionEntries * table.sizeOfPartitionEntry) / 512);
        const regions = encodeGpt(table).map(({ lba, bytes }) => [lba, bytes.length / 512]);
        expect(regions).toEqual([
          [0, 1],
          [table.partitionEntryLBA, arraySectors],
          [1, 1],
          [table.diskSectors - 1 - arraySectors, arraySectors],
          [table.diskSectors - 1, 1],
        ]);
      }),
    );
  });

  it('any one damaged byte of the primary header or its entries is noticed, and the backup gives the same table', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryGptTable({ maxDiskSectors: 1 << 16 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (table, where, flip) => {
          const device = await written(table);
          // Byte 0–91 of the header, or any byte of the 16 KiB entry array (LBA 2–33).
          const offset = where % (92 + 16384);
          const at = offset < 92 ? 512 + offset : 1024 + (offset - 92);
          const [byte] = await device.read(at, 1);
          await device.write(at, Uint8Array.of(byte! ^ flip));
          const { warnings, ...read } = await readGpt(device);
          const { warnings: _, ...expected } = table;
          expect(read).toEqual(expected);
          expect(warnings).toEqual([
            expect.stringMatching(/^The primary GPT \(LBA 1\) is unusable: .* The backup at LBA \d+ was read instead/),
          ]);
        },
      ),
      { numRuns: 100 },
    );
  });
});
