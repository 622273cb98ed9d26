/**
 * Our MBR code against util-linux's sfdisk, both ways: tables we write must read back the same
 * in `sfdisk --json` and pass `sfdisk -V`; tables sfdisk writes must read the same in ours — and
 * where both write the same layout, the bytes must be identical.
 */
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice, withImage } from '../../electron/services/file-block-device';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { createMbrLayout, readMbr, writeMbr, type MbrLayout, type MbrPartition } from './mbr';
import { addPartition, resizePartition } from './mbr-edit';
import { formatDiskSignature } from './mbr-sector';
import { parsePartitionSpec } from './partition-spec';
import { arbitraryMbrLayout, hex, loopbackErrorOfAsync } from './test-support';

const skipReason = missingTools('sfdisk');

interface SfdiskPartition {
  number: number;
  start: number;
  size: number;
  type: number;
  bootable: boolean;
}

function sfdiskJson(image: string): { id: string; partitions: SfdiskPartition[] } {
  const run = runToolOk('sfdisk', ['--json', image]);
  const table = (
    JSON.parse(run.stdout) as {
      partitiontable: {
        label: string;
        id: string;
        partitions?: { node: string; start: number; size: number; type: string; bootable?: boolean }[];
      };
    }
  ).partitiontable;
  expect(table.label).toBe('dos');
  return {
    id: table.id,
    partitions: (table.partitions ?? []).map((p) => ({
      number: Number(p.node.slice(image.length)),
      start: p.start,
      size: p.size,
      type: parseInt(p.type, 16),
      bootable: p.bootable === true,
    })),
  };
}

/**
 * libfdisk's count of allocated sectors (libfdisk/src/dos.c, dos_verify_disklabel): 1 for the
 * MBR, the size of every non-extended partition, the sectors before the partition in slot 1, and
 * 1 per logical partition (its EBR). `sfdisk -V` prints the difference to the disk size as
 * "Remaining N unallocated 512-byte sectors." — or, because the slot-1 term assumes slot 1 comes
 * first on the disk, "Total allocated sectors T greater than the maximum M." for a valid table
 * whose slot 1 lies after another partition.
 */
function libfdiskAllocatedSectors(layout: MbrLayout): number {
  const slot1 = layout.partitions.find((p) => p.number === 1 && p.kind === 'primary');
  const data = layout.partitions.filter((p) => p.kind !== 'extended');
  const logicals = layout.partitions.filter((p) => p.kind === 'logical').length;
  return 1 + data.reduce((sum, p) => sum + p.sectorCount, 0) + (slot1 ? slot1.startSector - 1 : 0) + logicals;
}

/**
 * `sfdisk -V` must find nothing wrong. It exits 0 even when it reports an overlap, so its whole
 * output is checked: the image name, "No errors detected." and the allocation line with exactly
 * the numbers libfdisk's arithmetic gives (above), nothing else.
 */
function expectSfdiskVerifies(image: string, layout: MbrLayout): void {
  const run = runTool('sfdisk', ['-V', image]);
  expect(run.status).toBe(0);
  expect(run.stderr).toBe('');
  const total = libfdiskAllocatedSectors(layout);
  const allocationLine =
    total < layout.diskSectors
      ? `Remaining ${layout.diskSectors - total} unallocated 512-byte sectors.\n`
      : total > layout.diskSectors
        ? `Total allocated sectors ${total} greater than the maximum ${layout.diskSectors}.\n`
        : '';
  expect(run.stdout).toBe(`${image}:\nNo errors detected.\n${allocationLine}`);
}

function asSfdisk(layout: MbrLayout): SfdiskPartition[] {
  return [...layout.partitions]
    .sort((a, b) => a.number - b.number)
    .map((p: MbrPartition) => ({ number: p.number, start: p.startSector, size: p.sectorCount, type: p.type, bootable: p.bootable }));
}

function sparseImage(path: string, sectors: number): string {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, sectors * 512);
  } finally {
    closeSync(fd);
  }
  return path;
}

function readSectorOfFile(path: string, lba: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(512);
    readSync(fd, bytes, 0, 512, lba * 512);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function build(
  diskSectors: number,
  specs: string[],
  options: { diskSignature: number; geometry?: { heads: number; sectorsPerTrack: number } },
): MbrLayout {
  let layout = createMbrLayout(diskSectors, options);
  for (const spec of specs) layout = addPartition(layout, parsePartitionSpec(spec)).layout;
  return layout;
}

describe.skipIf(skipReason)('MBR against sfdisk', () => {
  const { dir, cleanup } = tempDir('loopstudio-mbr-');
  afterAll(cleanup);
  let counter = 0;
  const newImage = (sectors: number): string => sparseImage(join(dir, `disk${counter++}.img`), sectors);

  it("writes the article's table as sfdisk reads it: 63–1007999, type 83, bootable", async () => {
    const image = newImage(1008000);
    const layout = build(1008000, ['start=63,size=rest,type=83,bootable'], { diskSignature: 0x0badf00d });
    await withImage(image, true, (device) => writeMbr(device, layout));
    expect(sfdiskJson(image)).toEqual({
      id: '0x0badf00d',
      partitions: [{ number: 1, start: 63, size: 1007937, type: 0x83, bootable: true }],
    });
    expectSfdiskVerifies(image, layout);
  });

  it('writes primary, extended and logical partitions as sfdisk reads them', async () => {
    const image = newImage(262144);
    const layout = build(
      262144,
      [
        'size=8M,type=c,bootable',
        'number=3,size=16M,type=82',
        'extended',
        'logical,size=10M',
        'logical,size=20M,type=fat16',
        'logical,size=rest,type=ef',
      ],
      {
        diskSignature: 0x00c0ffee,
      },
    );
    await withImage(image, true, (device) => writeMbr(device, layout));
    const read = sfdiskJson(image);
    expect(read.id).toBe(formatDiskSignature(0x00c0ffee));
    expect(read.partitions).toEqual(asSfdisk(layout));
    expect(read.partitions.map((p) => p.number)).toEqual([1, 2, 3, 5, 6, 7]);
    expectSfdiskVerifies(image, layout);
  });

  it('keeps the numbers sfdisk shows when a logical partition is moved and resized in place', async () => {
    const image = newImage(131072);
    let layout = build(
      131072,
      ['start=2048,size=10000', 'extended,start=20480,size=100000', 'logical,size=5000', 'logical,size=6000', 'logical,size=7000'],
      { diskSignature: 9 },
    );
    layout = resizePartition(layout, 6, { startSector: 28672, sectorCount: 8048 });
    await withImage(image, true, (device) => writeMbr(device, layout));
    expect(sfdiskJson(image).partitions.map((p) => [p.number, p.start, p.size])).toEqual([
      [1, 2048, 10000],
      [2, 20480, 100000],
      [5, 22528, 5000],
      [6, 28672, 8048],
      [7, 38912, 7000],
    ]);
    expectSfdiskVerifies(image, layout);
  });

  it('writes byte for byte what sfdisk writes for the same layout (MBR and every EBR)', async () => {
    const sfdiskImage = newImage(131072);
    const script = [
      'label: dos',
      'label-id: 0x69f9d782',
      `${sfdiskImage}1: start=2048,size=10000,type=83,bootable`,
      `${sfdiskImage}2: start=20480,size=100000,type=5`,
      `${sfdiskImage}5: size=5000,type=83`,
      `${sfdiskImage}6: size=6000,type=c`,
      `${sfdiskImage}7: size=7000,type=82`,
      '',
    ].join('\n');
    runToolOk('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', sfdiskImage], { input: script });

    const ours = newImage(131072);
    const layout = build(
      131072,
      [
        'start=2048,size=10000,type=83,bootable',
        'extended,start=20480,size=100000',
        'logical,size=5000',
        'logical,size=6000,type=c',
        'logical,size=7000,type=82',
      ],
      // sfdisk uses 255 heads × 63 sectors for the CHS fields of an image file.
      { diskSignature: 0x69f9d782, geometry: { heads: 255, sectorsPerTrack: 63 } },
    );
    await withImage(ours, true, (device) => writeMbr(device, layout));
    for (const lba of [0, 20480, 28672, 36864]) {
      expect(hex(readSectorOfFile(ours, lba)), `sector ${lba}`).toBe(hex(readSectorOfFile(sfdiskImage, lba)));
    }
  });

  it('writes 1023/254/63 (FE FF FF) beyond cylinder 1023 exactly as sfdisk does on a 10 GiB image', async () => {
    const sectors = 10 * 2 ** 21;
    const sfdiskImage = newImage(sectors);
    runToolOk('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', sfdiskImage], {
      input: 'label: dos\nlabel-id: 0x11223344\nstart=2048,size=16777216,type=83\nstart=18874368,type=c\n',
    });
    const ours = newImage(sectors);
    const layout = build(sectors, ['start=2048,size=16777216', 'start=18874368,type=c'], { diskSignature: 0x11223344 });
    expect(layout.geometry).toEqual({ heads: 255, sectorsPerTrack: 63 });
    await withImage(ours, true, (device) => writeMbr(device, layout));
    expect(hex(readSectorOfFile(ours, 0))).toBe(hex(readSectorOfFile(sfdiskImage, 0)));
    expect(hex(readSectorOfFile(ours, 0).subarray(0x1ce, 0x1de))).toBe('00 fe ff ff 0c fe ff ff 00 00 20 01 00 00 20 00');
  });

  it('reads what sfdisk wrote (an extended partition with three logicals), and rewrites it unchanged', async () => {
    const image = newImage(204800);
    const script = [
      'label: dos',
      `${image}1: start=63,size=20000,type=6,bootable`,
      `${image}3: start=40960,size=120000,type=f`,
      `${image}5: size=10000,type=83`,
      `${image}6: size=20000,type=82`,
      `${image}7: size=30000,type=b`,
      `${image}4: start=163840,type=a5`,
      '',
    ].join('\n');
    runToolOk('sfdisk', ['-q', '--no-reread', '--no-tell-kernel', image], { input: script });
    const expected = sfdiskJson(image);
    expect(expected.partitions.map((p) => p.number)).toEqual([1, 3, 4, 5, 6, 7]);

    const read = await withImage(image, false, (device) => readMbr(device));
    expect(read.warnings).toEqual([]);
    expect(read.problems).toEqual([]);
    expect(formatDiskSignature(read.layout.diskSignature)).toBe(expected.id);
    expect(asSfdisk(read.layout)).toEqual(expected.partitions);
    expect(read.layout.partitions.find((p) => p.number === 3)?.kind).toBe('extended');
    expect(read.layout.geometry).toEqual({ heads: 255, sectorsPerTrack: 63 });

    const before = readFileSync(image);
    await withImage(image, true, (device) => writeMbr(device, read.layout));
    expect(createHash('sha256').update(readFileSync(image)).digest('hex')).toBe(createHash('sha256').update(before).digest('hex'));
  });

  it('writes nothing to the image file when the layout is invalid', async () => {
    const image = newImage(20000);
    await withImage(image, true, (device) =>
      writeMbr(device, build(20000, ['size=5000', 'extended', 'logical,size=1000'], { diskSignature: 7 })),
    );
    const before = createHash('sha256').update(readFileSync(image)).digest('hex');
    const device = await FileBlockDevice.open(image, { writable: true });
    try {
      const valid = (await readMbr(device)).layout;
      const overlapping: MbrLayout = {
        ...valid,
        partitions: [
          ...valid.partitions,
          { number: 4, kind: 'primary', startSector: 4000, sectorCount: 3000, type: 0x83, bootable: false },
        ],
      };
      const error = await loopbackErrorOfAsync(() => writeMbr(device, overlapping));
      expect(error.code).toBe('VALIDATION');
      expect(error.message).toBe('Partition 4 (sectors 4000–6999) overlaps partition 1 (sectors 2048–7047)');
    } finally {
      await device.close();
    }
    expect(createHash('sha256').update(readFileSync(image)).digest('hex')).toBe(before);
  });

  it('random valid layouts pass sfdisk -V and read the same in sfdisk --json (property)', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryMbrLayout({ maxDiskSectors: 2 ** 32 + 2 ** 21 }), async ({ layout }) => {
        const image = newImage(layout.diskSectors);
        await withImage(image, true, (device) => writeMbr(device, layout));
        expectSfdiskVerifies(image, layout);
        const read = sfdiskJson(image);
        expect(read.id).toBe(formatDiskSignature(layout.diskSignature));
        expect(read.partitions).toEqual(asSfdisk(layout));
      }),
      { numRuns: 25 },
    );
  });
});
