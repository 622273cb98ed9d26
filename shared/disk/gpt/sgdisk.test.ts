// GPTs checked by independent tools: what we write must satisfy sgdisk -v and be listed by
// sgdisk -p / sgdisk -i / sfdisk --json exactly as we meant it; what sgdisk writes we must read.
import { closeSync, ftruncateSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import type { BlockDevice } from '../block-device';
import { parseGptHeader } from './header';
import {
  addPartition,
  formatAttributes,
  GPT_PARTITION_TYPES,
  newGpt,
  readGpt,
  setLegacyBiosBootable,
  sgdiskTypeCode,
  writeGpt,
  type GptTable,
} from './index';
import { arbitraryGptTable, SparseMemoryDevice } from './test-support';

const missing = missingTools('sgdisk', 'sfdisk');
/** Skips a test, saying why, on a machine without the tools. */
const skipWithoutTools = (context: TestContext): void => {
  if (missing) context.skip(missing);
};

/** An image file as a BlockDevice (tests only: shared/ code never touches node:fs). */
class FileDevice implements BlockDevice {
  private constructor(
    private readonly fd: number,
    readonly sizeBytes: number,
  ) {}
  static open(path: string): FileDevice {
    const fd = openSync(path, 'r+');
    return new FileDevice(fd, fstatSync(fd).size);
  }
  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(lengthBytes);
    readSync(this.fd, bytes, 0, lengthBytes, offsetBytes);
    return bytes;
  }
  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    writeSync(this.fd, data, 0, data.length, offsetBytes);
  }
  async flush(): Promise<void> {}
  close(): void {
    closeSync(this.fd);
  }
}

let dir = '';
let cleanup = () => {};
let counter = 0;
beforeAll(() => ({ dir, cleanup } = tempDir('loopstudio-gpt-')));
afterAll(() => cleanup());

/** A new sparse image file of `sectors` 512-byte sectors. */
function sparseImage(sectors: number): string {
  const path = join(dir, `disk-${++counter}.img`);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, sectors * 512);
  closeSync(fd);
  return path;
}

async function withDevice<T>(path: string, use: (device: FileDevice) => Promise<T>): Promise<T> {
  const device = FileDevice.open(path);
  try {
    return await use(device);
  } finally {
    device.close();
  }
}

function readBytes(path: string, offsetBytes: number, lengthBytes: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(lengthBytes);
    readSync(fd, bytes, 0, lengthBytes, offsetBytes);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid: string;
  name?: string;
}

function expectSgdiskVerifies(image: string): void {
  const verify = runTool('sgdisk', ['-v', image]);
  expect(verify.stdout + verify.stderr).toContain('No problems found');
  expect(verify.status).toBe(0);
}

/** sfdisk --json and sgdisk -p / -i list exactly the table we wrote. */
function expectToolsList(image: string, table: GptTable, options: { checkEachPartitionWithSgdisk: boolean }): void {
  const sfdisk = JSON.parse(runToolOk('sfdisk', ['--json', image]).stdout).partitiontable;
  expect({ label: sfdisk.label, id: sfdisk.id, firstlba: sfdisk.firstlba, lastlba: sfdisk.lastlba }).toEqual({
    label: 'gpt',
    id: table.diskGuid,
    firstlba: table.firstUsableLBA,
    lastlba: table.lastUsableLBA,
  });
  expect(
    (sfdisk.partitions as SfdiskPartition[]).map((p) => ({
      index: Number(p.node.slice(image.length)),
      startingLBA: p.start,
      endingLBA: p.start + p.size - 1,
      typeGuid: p.type,
      uniqueGuid: p.uuid,
      name: p.name ?? '',
    })),
  ).toEqual(
    table.partitions.map(({ index, startingLBA, endingLBA, typeGuid, uniqueGuid, name }) => ({
      index,
      startingLBA,
      endingLBA,
      typeGuid,
      uniqueGuid,
      name,
    })),
  );

  const print = runToolOk('sgdisk', ['-p', image]).stdout;
  expect(print).toContain(`Disk identifier (GUID): ${table.diskGuid}`);
  const rows = [...print.matchAll(/^\s*(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+ \S+\s+([0-9A-F]{4}) {2}/gm)].map((m) => m.slice(1, 5));
  expect(rows).toEqual(
    table.partitions.map((p) => [
      String(p.index),
      String(p.startingLBA),
      String(p.endingLBA),
      (sgdiskTypeCode(p.typeGuid) ?? 'ffff').toUpperCase(),
    ]),
  );

  if (!options.checkEachPartitionWithSgdisk) return;
  for (const p of table.partitions) {
    const info = runToolOk('sgdisk', ['-i', String(p.index), image]).stdout;
    expect(info).toContain(`Partition GUID code: ${p.typeGuid}`);
    expect(info).toContain(`Partition unique GUID: ${p.uniqueGuid}`);
    expect(info).toContain(`Attribute flags: ${formatAttributes(p.attributes).toUpperCase()}`);
  }
}

describe('GPTs we write, checked by sgdisk and sfdisk', () => {
  beforeEach(skipWithoutTools);

  it('a BIOS-boot + ESP + root layout with a gap, a high partition number and Unicode names', async () => {
    const sectors = 128 * 2048; // 128 MiB
    let table = newGpt(sectors);
    table = addPartition(table, { sizeSectors: 2048, type: 'bios', name: 'BIOS boot' });
    table = addPartition(table, { sizeSectors: 32 * 2048, type: 'efi', name: 'EFI system' });
    table = addPartition(table, { index: 5, startingLBA: 40 * 2048, type: 'linux', name: 'root ✓ système 日本' });
    table = setLegacyBiosBootable(table, 5, true);
    table = addPartition(table, {
      index: 4,
      startingLBA: 36 * 2048,
      sizeSectors: 2048,
      type: 'swap',
      attributes: { low32: 1, high32: 0x90000000 },
    });
    const image = sparseImage(sectors);
    // Boot code and disk signature already in sector 0 must survive.
    const bootCode = Uint8Array.from({ length: 444 }, (_, i) => (i * 13 + 1) & 0xff);
    await withDevice(image, async (device) => {
      await device.write(0, bootCode);
      await writeGpt(device, table);
    });
    expectSgdiskVerifies(image);
    expectToolsList(image, table, { checkEachPartitionWithSgdisk: true });
    expect(readBytes(image, 0, 444)).toEqual(bootCode);
  });

  it('writes the same bytes as sgdisk for the table sgdisk wrote: MBR, both headers, both entry arrays', async () => {
    for (const sectors of [16384, 3 * 2 ** 31 /* 3 TiB: protective MBR capped at 0xFFFFFFFF */]) {
      const theirs = sparseImage(sectors);
      runToolOk('sgdisk', ['-n', '1:2048:+1M', '-t', '1:ef02', '-n', '2:0:0', '-t', '2:8300', '-c', '2:root', '-A', '2:set:2', theirs]);
      const ours = sparseImage(sectors);
      const table = await withDevice(theirs, (device) => readGpt(device));
      await withDevice(ours, (device) => writeGpt(device, table));
      const head = 34 * 512;
      const tailAt = (sectors - 33) * 512;
      expect(readBytes(ours, 0, head)).toEqual(readBytes(theirs, 0, head));
      expect(readBytes(ours, tailAt, 33 * 512)).toEqual(readBytes(theirs, tailAt, 33 * 512));
    }
  });

  it('the smallest GPT disk: 68 sectors with a one-sector partition', async () => {
    const table = addPartition(newGpt(68), { alignmentSectors: 1, name: 'tiny' });
    expect(table.partitions[0]).toMatchObject({ startingLBA: 34, endingLBA: 34 });
    const image = sparseImage(68);
    await withDevice(image, (device) => writeGpt(device, table));
    expectSgdiskVerifies(image);
    expectToolsList(image, table, { checkEachPartitionWithSgdisk: true });
  });

  it('random layouts (100 KiB to 4 GiB, 1–8 partitions, Unicode names, any attributes) pass sgdisk -v and list as written', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryGptTable(), async (table) => {
        // Written through a sparse in-memory device, then copied page by page into a sparse file.
        const memory = new SparseMemoryDevice(table.diskSectors * 512);
        await writeGpt(memory, table);
        const image = sparseImage(table.diskSectors);
        await withDevice(image, async (device) => {
          for (const [offset, page] of memory.writtenPages()) await device.write(offset, page);
        });
        expectSgdiskVerifies(image);
        expectToolsList(image, table, { checkEachPartitionWithSgdisk: false });
        // Attributes and unique GUIDs through sgdisk -i for one partition per run.
        const p = table.partitions[0]!;
        const info = runToolOk('sgdisk', ['-i', String(p.index), image]).stdout;
        expect(info).toContain(`Attribute flags: ${formatAttributes(p.attributes).toUpperCase()}`);
      }),
      { numRuns: 20 },
    );
  });
});

describe('GPTs sgdisk writes, read by us', () => {
  beforeEach(skipWithoutTools);
  const SECTORS = 16384; // 8 MiB

  function sgdiskImage(): { image: string; sfdisk: { id: string; partitions: SfdiskPartition[] } } {
    const image = sparseImage(SECTORS);
    runToolOk('sgdisk', ['-n', '1:2048:+1M', '-t', '1:ef02', '-n', '2:0:0', '-t', '2:8300', '-c', '2:root', image]);
    return { image, sfdisk: JSON.parse(runToolOk('sfdisk', ['--json', image]).stdout).partitiontable };
  }

  function expectSameAsSfdisk(table: GptTable, sfdisk: { id: string; partitions: SfdiskPartition[] }): void {
    expect(table.diskGuid).toBe(sfdisk.id);
    expect(table.partitions).toEqual([
      {
        index: 1,
        typeGuid: '21686148-6449-6E6F-744E-656564454649',
        typeName: 'BIOS boot',
        uniqueGuid: sfdisk.partitions[0]!.uuid,
        startingLBA: 2048,
        endingLBA: 4095,
        attributes: { low32: 0, high32: 0 },
        name: '',
      },
      {
        index: 2,
        typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
        typeName: 'Linux filesystem',
        uniqueGuid: sfdisk.partitions[1]!.uuid,
        startingLBA: 4096,
        endingLBA: 4096 + sfdisk.partitions[1]!.size - 1,
        attributes: { low32: 0, high32: 0 },
        name: 'root',
      },
    ]);
    expect(table.partitions[1]!.endingLBA).toBe(SECTORS - 34);
  }

  it('reads the table, and finds the backup header and entries where sgdisk put them', async () => {
    const { image, sfdisk } = sgdiskImage();
    const table = await withDevice(image, (device) => readGpt(device));
    expectSameAsSfdisk(table, sfdisk);
    expect(table).toMatchObject({
      diskSectors: SECTORS,
      firstUsableLBA: 34,
      lastUsableLBA: SECTORS - 34,
      partitionEntryLBA: 2,
      warnings: [],
    });
    const primary = parseGptHeader(readBytes(image, 512, 512));
    const backup = parseGptHeader(readBytes(image, (SECTORS - 1) * 512, 512));
    expect(backup).toMatchObject({ myLBA: SECTORS - 1, alternateLBA: 1, partitionEntryLBA: SECTORS - 33, diskGuid: sfdisk.id });
    expect(backup.partitionEntryArrayCRC32).toBe(primary.partitionEntryArrayCRC32);
  });

  it('reads the backup, with a warning, when the primary header is corrupt; writing it back satisfies sgdisk again', async () => {
    const { image, sfdisk } = sgdiskImage();
    await withDevice(image, (device) => device.write(512 + 24, new Uint8Array([0x7f]))); // MyLBA: CRC breaks
    const verify = runTool('sgdisk', ['-v', image]);
    expect(verify.stdout + verify.stderr).toContain('Main header: ERROR'); // the corruption is real
    const table = await withDevice(image, (device) => readGpt(device));
    expectSameAsSfdisk(table, sfdisk);
    expect(table.warnings).toEqual([
      expect.stringMatching(/^The primary GPT \(LBA 1\) is unusable: header CRC32 .* The backup at LBA 16383 was read instead/),
    ]);
    await withDevice(image, (device) => writeGpt(device, table));
    expectSgdiskVerifies(image);
    expect(JSON.parse(runToolOk('sfdisk', ['--json', image]).stdout).partitiontable.partitions).toEqual(sfdisk.partitions);
  });

  it('knows the GUID sgdisk uses for every type code in our list', async () => {
    const image = sparseImage(64 * 2048);
    const args = GPT_PARTITION_TYPES.flatMap((type, i) => ['-n', `${i + 1}:0:+8`, '-t', `${i + 1}:${type.sgdiskCode}`]);
    runToolOk('sgdisk', ['-a', '8', ...args, image]);
    const table = await withDevice(image, (device) => readGpt(device));
    expect(table.partitions.map((p) => [p.index, p.typeGuid, p.typeName])).toEqual(
      GPT_PARTITION_TYPES.map((type, i) => [i + 1, type.guid, type.name]),
    );
  });
});
