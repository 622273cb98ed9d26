/**
 * Helpers for the GPT tests (imported only by *.test.ts): a sparse in-memory device, so a
 * multi-gigabyte disk costs only the sectors written, and fast-check generators of valid tables.
 */
import fc from 'fast-check';
import type { BlockDevice } from '../block-device';
import { checkRange } from '../block-device';
import { parseGuid, ZERO_GUID } from './guid';
import { entryArraySectors } from './layout';
import type { GptPartition, GptTable } from './table';
import { GPT_PARTITION_TYPES, partitionTypeName } from './types';

const PAGE_BYTES = 4096;

/** A device of any size whose unwritten bytes read as zero; memory grows with what is written. */
export class SparseMemoryDevice implements BlockDevice {
  private readonly pages = new Map<number, Uint8Array>();
  constructor(readonly sizeBytes: number) {}

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    checkRange(this, offsetBytes, lengthBytes, 'read');
    const out = new Uint8Array(lengthBytes);
    for (let done = 0; done < lengthBytes;) {
      const at = offsetBytes + done;
      const pageOffset = at % PAGE_BYTES;
      const n = Math.min(PAGE_BYTES - pageOffset, lengthBytes - done);
      const page = this.pages.get(Math.floor(at / PAGE_BYTES));
      if (page) out.set(page.subarray(pageOffset, pageOffset + n), done);
      done += n;
    }
    return out;
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkRange(this, offsetBytes, data.length, 'write');
    for (let done = 0; done < data.length;) {
      const at = offsetBytes + done;
      const pageIndex = Math.floor(at / PAGE_BYTES);
      const pageOffset = at % PAGE_BYTES;
      const n = Math.min(PAGE_BYTES - pageOffset, data.length - done);
      let page = this.pages.get(pageIndex);
      if (!page) this.pages.set(pageIndex, (page = new Uint8Array(PAGE_BYTES)));
      page.set(data.subarray(done, done + n), pageOffset);
      done += n;
    }
  }

  async flush(): Promise<void> {}

  /** The written pages as [byte offset, bytes] in disk order, the last one cut at the device's end. */
  writtenPages(): Array<[number, Uint8Array]> {
    return [...this.pages.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([index, page]) => [index * PAGE_BYTES, page.subarray(0, Math.min(PAGE_BYTES, this.sizeBytes - index * PAGE_BYTES))]);
  }
}

const arbitraryGuid = fc
  .uuid()
  .map((text) => parseGuid(text))
  .filter((guid) => guid !== ZERO_GUID);

/**
 * Names of at most 36 UTF-16 code units. `codeUnits` draws raw code units (lone surrogates
 * included: GPT stores code units, and so do we); otherwise whole graphemes, what real tools print.
 */
export function arbitraryName(kind: 'graphemes' | 'codeUnits'): fc.Arbitrary<string> {
  const text =
    kind === 'codeUnits'
      ? fc.array(fc.integer({ min: 1, max: 0xffff }), { maxLength: 36 }).map((units) => String.fromCharCode(...units))
      : fc.string({ unit: 'grapheme', maxLength: 36 });
  return text.filter((name) => name.length <= 36 && !name.includes('\u0000'));
}

export interface ArbitraryGptOptions {
  minDiskSectors?: number;
  maxDiskSectors?: number;
  names?: 'graphemes' | 'codeUnits';
  /**
   * Also vary the entry array: 128–512 entries of 128–512 bytes, placed after LBA 2 with a gap
   * before firstUsableLBA. Off by default: real tools (and sgdisk) use 128 × 128 from LBA 2.
   */
  varyEntryArray?: boolean;
}

/** Valid tables: 1–8 non-overlapping partitions in random slots of a disk of random size. */
export function arbitraryGptTable(options: ArbitraryGptOptions = {}): fc.Arbitrary<GptTable> {
  const { minDiskSectors = 200, maxDiskSectors = 8 * 1024 * 1024, names = 'graphemes', varyEntryArray = false } = options;
  const shape = varyEntryArray
    ? fc.record({
        numberOfPartitionEntries: fc.constantFrom(128, 256, 512),
        sizeOfPartitionEntry: fc.constantFrom(128, 256, 512),
        partitionEntryLBA: fc.integer({ min: 2, max: 40 }),
        gapSectors: fc.nat({ max: 100 }),
      })
    : fc.constant({ numberOfPartitionEntries: 128, sizeOfPartitionEntry: 128, partitionEntryLBA: 2, gapSectors: 0 });
  return shape
    .chain(({ numberOfPartitionEntries, sizeOfPartitionEntry, partitionEntryLBA, gapSectors }) => {
      const arraySectors = entryArraySectors(numberOfPartitionEntries, sizeOfPartitionEntry);
      const firstUsableLBA = partitionEntryLBA + arraySectors + gapSectors;
      // Room for 16 distinct partition bounds between the two arrays.
      const smallest = Math.max(minDiskSectors, firstUsableLBA + 16 + arraySectors + 1);
      return fc.record({
        diskSectors: fc.integer({ min: smallest, max: Math.max(smallest, maxDiskSectors) }),
        count: fc.integer({ min: 1, max: 8 }),
        diskGuid: arbitraryGuid,
        numberOfPartitionEntries: fc.constant(numberOfPartitionEntries),
        sizeOfPartitionEntry: fc.constant(sizeOfPartitionEntry),
        partitionEntryLBA: fc.constant(partitionEntryLBA),
        firstUsableLBA: fc.constant(firstUsableLBA),
      });
    })
    .chain(({ diskSectors, count, diskGuid, numberOfPartitionEntries, sizeOfPartitionEntry, partitionEntryLBA, firstUsableLBA }) => {
      const lastUsableLBA = diskSectors - 2 - entryArraySectors(numberOfPartitionEntries, sizeOfPartitionEntry);
      return fc
        .record({
          // 2 × count distinct sectors, sorted, paired into [start, end] of disjoint partitions.
          bounds: fc.uniqueArray(fc.integer({ min: firstUsableLBA, max: lastUsableLBA }), { minLength: 2 * count, maxLength: 2 * count }),
          indexes: fc.uniqueArray(fc.integer({ min: 1, max: numberOfPartitionEntries }), { minLength: count, maxLength: count }),
          uniqueGuids: fc.uniqueArray(arbitraryGuid, { minLength: count, maxLength: count }),
          types: fc.array(fc.oneof(fc.constantFrom(...GPT_PARTITION_TYPES.map((t) => t.guid)), arbitraryGuid), {
            minLength: count,
            maxLength: count,
          }),
          names: fc.array(arbitraryName(names), { minLength: count, maxLength: count }),
          attributes: fc.array(fc.record({ low32: fc.nat({ max: 0xffffffff }), high32: fc.nat({ max: 0xffffffff }) }), {
            minLength: count,
            maxLength: count,
          }),
        })
        .map(({ bounds, indexes, uniqueGuids, types, names: partitionNames, attributes }) => {
          const sorted = [...bounds].sort((a, b) => a - b);
          const partitions: GptPartition[] = indexes.map((index, i) => ({
            index,
            typeGuid: types[i]!,
            typeName: partitionTypeName(types[i]!),
            uniqueGuid: uniqueGuids[i]!,
            startingLBA: sorted[2 * i]!,
            endingLBA: sorted[2 * i + 1]!,
            attributes: attributes[i]!,
            name: partitionNames[i]!,
          }));
          return {
            diskSectors,
            diskGuid,
            firstUsableLBA,
            lastUsableLBA,
            partitionEntryLBA,
            numberOfPartitionEntries,
            sizeOfPartitionEntry,
            partitions: partitions.sort((a, b) => a.index - b.index),
            warnings: [],
          };
        });
    });
}
