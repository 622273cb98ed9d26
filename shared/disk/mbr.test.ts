import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingTools, runToolOk, tempDir } from '../../tests/support/host';
import { LoopbackError } from '../errors';
import { MemoryBlockDevice, type BlockDevice } from './block-device';
import { newGpt, addPartition as addGptPartition, writeGpt } from './gpt/index';
import { SparseMemoryDevice } from './gpt/test-support';
import { createMbrLayout, encodeMbrLayout, readMbr, recoverTrackGeometry, writeMbr, type MbrPartition } from './mbr';
import { addPartition } from './mbr-edit';
import { emptyMbrSector, encodeMbrSector, MBR_STATUS_ACTIVE, type MbrPartitionEntry } from './mbr-sector';
import { parsePartitionSpec } from './partition-spec';
import { readPartitionTable } from './partition-table';
import { arbitraryMbrLayout, hex, loopbackErrorOfAsync } from './test-support';

function byNumber(partitions: readonly MbrPartition[]): MbrPartition[] {
  return [...partitions].sort((a, b) => a.number - b.number);
}

async function writeAll(device: BlockDevice, writes: { lba: number; bytes: Uint8Array }[]): Promise<void> {
  for (const w of writes) await device.write(w.lba * 512, w.bytes);
}

function entry(startLBA: number, sectorCount: number, type: number, status = 0): MbrPartitionEntry {
  return {
    status,
    firstChs: { cylinder: 0, head: 0, sector: 0 },
    type,
    lastChs: { cylinder: 0, head: 0, sector: 0 },
    startLBA,
    sectorCount,
  };
}

function sector(entries: MbrPartitionEntry[], bootSignature = 0xaa55): Uint8Array {
  const s = emptyMbrSector(0x01020304);
  entries.forEach((e, i) => (s.entries[i] = e));
  s.bootSignature = bootSignature;
  return encodeMbrSector(s);
}

describe('writeMbr and readMbr', () => {
  it("write the article's table and read it back: partition 1, sectors 63–1007999, bootable, Linux", async () => {
    const device = new MemoryBlockDevice(1008000 * 512);
    const layout = addPartition(
      createMbrLayout(1008000, { diskSignature: 0xcafe0001 }),
      parsePartitionSpec('start=63,size=rest,type=83,bootable'),
    ).layout;
    await writeMbr(device, layout);
    // The entry, byte by byte: active, CHS 0/1/1, type 83, CHS 999/15/63, LBA 63, 1007937 sectors.
    expect(hex(device.bytes.subarray(0x1be, 0x1ce))).toBe('80 01 01 00 83 0f ff e7 3f 00 00 00 41 61 0f 00');
    expect(hex(device.bytes.subarray(440, 444))).toBe('01 00 fe ca');
    expect(hex(device.bytes.subarray(510, 512))).toBe('55 aa');
    const read = await readMbr(device);
    expect(read.layout.partitions).toEqual([
      { number: 1, kind: 'primary', startSector: 63, sectorCount: 1007937, type: 0x83, bootable: true },
    ]);
    expect(read.layout.geometry).toEqual({ heads: 16, sectorsPerTrack: 63 });
    expect(read.geometrySource).toBe('chs-fields');
    expect(read.warnings).toEqual([]);
    expect(read.problems).toEqual([]);
  });

  it('keeps the boot code and reserved bytes on the disk unless the layout replaces them', async () => {
    const device = new MemoryBlockDevice(2048 * 512);
    for (let i = 0; i < 446; i++) device.bytes[i] = (i * 13 + 1) & 0xff;
    const codeBefore = hex(device.bytes.subarray(0, 440));
    const reservedBefore = hex(device.bytes.subarray(444, 446));
    const layout = createMbrLayout(2048, { diskSignature: 0xa1b2c3d4 });
    await writeMbr(device, layout);
    expect(hex(device.bytes.subarray(0, 440))).toBe(codeBefore);
    expect(hex(device.bytes.subarray(444, 446))).toBe(reservedBefore);
    expect(hex(device.bytes.subarray(440, 444))).toBe('d4 c3 b2 a1');

    const bootCode = new Uint8Array(440).fill(0x90);
    await writeMbr(device, { ...layout, bootCode, reserved: 0 });
    expect(hex(device.bytes.subarray(0, 440))).toBe(hex(bootCode));
    expect(hex(device.bytes.subarray(444, 446))).toBe('00 00');
  });

  it('gives every new table a random disk signature', () => {
    const signatures = new Set(Array.from({ length: 20 }, () => createMbrLayout(2048).diskSignature));
    expect(signatures.size).toBe(20);
  });

  it('writes an extended partition with no logical partitions as one empty EBR', async () => {
    const device = new MemoryBlockDevice(10000 * 512);
    device.bytes.fill(0xee, 4096 * 512, 4097 * 512);
    const layout = addPartition(createMbrLayout(10000), parsePartitionSpec('extended,start=4096')).layout;
    await writeMbr(device, layout);
    const ebr = device.bytes.subarray(4096 * 512, 4097 * 512);
    expect(hex(ebr.subarray(0, 510))).toBe(hex(new Uint8Array(510)));
    expect(hex(ebr.subarray(510))).toBe('55 aa');
    expect((await readMbr(device)).layout.partitions.map((p) => p.kind)).toEqual(['extended']);
  });

  it('encode → read → encode is byte-exact for random valid layouts (property)', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryMbrLayout(), async ({ layout }) => {
        const device = new SparseMemoryDevice(layout.diskSectors * 512);
        const writes = encodeMbrLayout(layout);
        await writeAll(device, writes);
        const read = await readMbr(device);
        expect(read.warnings).toEqual([]);
        expect(read.problems).toEqual([]);
        expect(byNumber(read.layout.partitions)).toEqual(byNumber(layout.partitions));
        expect(read.layout.diskSignature).toBe(layout.diskSignature);
        const again = encodeMbrLayout(read.layout);
        expect(again.map((w) => `${w.lba}: ${hex(w.bytes)}`)).toEqual(writes.map((w) => `${w.lba}: ${hex(w.bytes)}`));
      }),
      { numRuns: 60 },
    );
  });

  it('recovers the geometry that explains every stored CHS value', () => {
    const samples = [1008000 - 1, 63].map((lba) => ({
      lba,
      chs: { cylinder: Math.floor(lba / (16 * 63)), head: Math.floor(lba / 63) % 16, sector: (lba % 63) + 1 },
    }));
    expect(recoverTrackGeometry(samples, 1008000)).toEqual({ heads: 16, sectorsPerTrack: 63 });
    expect(recoverTrackGeometry([{ lba: 100, chs: { cylinder: 200, head: 0, sector: 1 } }], 1008000)).toBeNull();
    // Blank CHS fields (sector 0) say nothing: the default for the size is used.
    expect(recoverTrackGeometry([{ lba: 100, chs: { cylinder: 0, head: 0, sector: 0 } }], 1008000)).toEqual({
      heads: 16,
      sectorsPerTrack: 63,
    });
  });
});

describe('reading odd EBR chains (never throws; warns)', () => {
  async function chainDevice(sectors: Record<number, Uint8Array>, diskSectors = 200): Promise<MemoryBlockDevice> {
    const device = new MemoryBlockDevice(diskSectors * 512);
    for (const [lba, bytes] of Object.entries(sectors)) await device.write(Number(lba) * 512, bytes);
    return device;
  }

  it('stops at a loop', async () => {
    const device = await chainDevice({
      0: sector([entry(100, 90, 0x05)]),
      100: sector([entry(1, 10, 0x83), entry(20, 11, 0x05)]),
      120: sector([entry(1, 10, 0x83), entry(0, 11, 0x05)]),
    });
    const read = await readMbr(device);
    expect(read.layout.partitions.map((p) => `${p.number}:${p.startSector}+${p.sectorCount}@${p.ebrSector ?? '-'}`)).toEqual([
      '1:100+90@-',
      '5:101+10@100',
      '6:121+10@120',
    ]);
    expect(read.warnings).toEqual(['The EBR chain loops back to sector 100; logical partitions after that were ignored.']);
  });

  it('stops at a link beyond the disk, and at an EBR without 0x55AA', async () => {
    const beyond = await readMbr(
      await chainDevice({ 0: sector([entry(100, 90, 0x05)]), 100: sector([entry(1, 10, 0x83), entry(5000, 11, 0x05)]) }),
    );
    expect(beyond.warnings).toEqual(['An EBR link points to sector 5100, beyond the end of the disk (200 sectors); the chain ends there.']);
    expect(beyond.layout.partitions).toHaveLength(2);
    const unsigned = await readMbr(await chainDevice({ 0: sector([entry(100, 90, 0x05)]), 100: sector([entry(1, 10, 0x83)], 0) }));
    expect(unsigned.warnings).toEqual(['The EBR at sector 100 has no 0x55AA signature; the chain ends there.']);
  });

  it('reads the first of several partitions in one EBR and reports what writeMbr would refuse', async () => {
    const read = await readMbr(
      await chainDevice({
        0: sector([entry(100, 90, 0x05), entry(50, 100, 0x83, 0x7f)]),
        100: sector([entry(1, 10, 0x83), entry(12, 5, 0x0c)]),
      }),
    );
    expect(read.warnings).toEqual([
      'Partition 2 has status byte 0x7f (neither 0x80 nor 0x00).',
      'The EBR at sector 100 describes 2 partitions; only the first was read.',
    ]);
    expect(read.problems.map((p) => p.message)).toEqual(['Partition 2 (sectors 50–149) overlaps partition 1 (sectors 100–189)']);
  });

  it('throws NOT_FOUND without a boot signature', async () => {
    const error = await loopbackErrorOfAsync(() => readMbr(new MemoryBlockDevice(4096)));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe('No MBR partition table: sector 0 does not end with the 0x55AA boot signature');
  });
});

describe('readPartitionTable', () => {
  it('finds no table on a blank image or one smaller than a sector', async () => {
    expect(await readPartitionTable(new MemoryBlockDevice(100))).toEqual({
      table: 'none',
      reason: 'The image is 100 bytes, smaller than one 512-byte sector.',
    });
    expect(await readPartitionTable(new MemoryBlockDevice(4096))).toEqual({
      table: 'none',
      reason: 'Sector 0 does not end with the 0x55AA boot signature: there is no partition table.',
    });
  });

  it('refuses a sector 0 whose status bytes are not 0x00/0x80, as Linux does', async () => {
    const device = new MemoryBlockDevice(4096);
    await device.write(0, sector([entry(1, 5, 0x83, 0x12)]));
    expect(await readPartitionTable(device)).toEqual({
      table: 'none',
      reason:
        'Sector 0 has the 0x55AA signature, but entry 1 has status byte 0x12 (only 0x00 and 0x80 are valid), so it is not a partition table.',
    });
  });

  it('reads an MBR with its logical partitions', async () => {
    const device = new MemoryBlockDevice(131072 * 512);
    let layout = createMbrLayout(131072);
    for (const spec of ['size=10000,bootable', 'extended,size=50000', 'logical,size=5000', 'logical,size=rest,type=82']) {
      layout = addPartition(layout, parsePartitionSpec(spec)).layout;
    }
    await writeMbr(device, layout);
    const read = await readPartitionTable(device);
    expect(read.table).toBe('mbr');
    if (read.table !== 'mbr') return;
    expect(read.layout.partitions.map((p) => p.number)).toEqual([1, 2, 5, 6]);
    expect(read.layout.partitions).toEqual(layout.partitions);
  });

  it('hands a disk with a 0xEE entry to the GPT reader', async () => {
    const device = new SparseMemoryDevice(65536 * 512);
    await writeGpt(device, addGptPartition(newGpt(65536), { type: 'linux', name: 'root' }));
    const read = await readPartitionTable(device);
    expect(read.table).toBe('gpt');
    if (read.table !== 'gpt') return;
    expect(read.gpt?.partitions.map((p) => p.name)).toEqual(['root']);
    expect(read.protectiveMbr.layout.partitions.map((p) => p.type)).toEqual([0xee]);
    expect(read.protectiveMbr.problems).toEqual([]);
  });

  it('reports a 0xEE entry without a readable GPT instead of throwing', async () => {
    const device = new MemoryBlockDevice(1000 * 512);
    await device.write(0, sector([entry(1, 999, 0xee)]));
    const read = await readPartitionTable(device);
    expect(read).toMatchObject({ table: 'gpt', gpt: null });
    if (read.table === 'gpt') expect(read.gptError).toMatch(/no GPT/);
  });

  it.skipIf(missingTools('mkfs.fat'))('sees a FAT floppy (mkfs.fat) as a filesystem, not a partition table', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const image = join(dir, 'floppy.img');
      runToolOk('mkfs.fat', ['-C', image, '1440']);
      const read = await readPartitionTable(new MemoryBlockDevice(new Uint8Array(readFileSync(image))));
      expect(read).toEqual({
        table: 'none',
        reason: 'Sector 0 is a FAT boot sector (a filesystem on the whole disk, as on a floppy), not a partition table.',
      });
    } finally {
      cleanup();
    }
  });

  it('never throws anything but LoopbackError on random sector 0 and EBR bytes (property)', async () => {
    const disk = 64;
    const arbitraryEntry = fc.record({
      status: fc.constantFrom(0, 0x80, 0x80, 0, 0x13),
      type: fc.constantFrom(0x05, 0x0f, 0x85, 0x83, 0xee, 0x00),
      startLBA: fc.oneof(fc.integer({ min: 0, max: disk + 8 }), fc.integer({ min: 0, max: 0xffffffff })),
      sectorCount: fc.oneof(fc.integer({ min: 0, max: disk }), fc.integer({ min: 0, max: 0xffffffff })),
    });
    const arbitrarySector = fc.record({
      noise: fc.uint8Array({ minLength: 512, maxLength: 512 }),
      entries: fc.array(arbitraryEntry, { maxLength: 4 }),
      signed: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        arbitrarySector,
        fc.array(fc.tuple(fc.integer({ min: 1, max: disk - 1 }), arbitrarySector), { maxLength: 12 }),
        async (first, others) => {
          const device = new MemoryBlockDevice(disk * 512);
          for (const [lba, s] of [[0, first] as const, ...others]) {
            const bytes = s.noise.slice();
            s.entries.forEach((e, i) => {
              const at = 446 + i * 16;
              bytes[at] = e.status;
              bytes[at + 4] = e.type;
              new DataView(bytes.buffer).setUint32(at + 8, e.startLBA, true);
              new DataView(bytes.buffer).setUint32(at + 12, e.sectorCount, true);
            });
            if (s.signed) bytes.set([0x55, 0xaa], 510);
            await device.write(lba * 512, bytes);
          }
          try {
            const read = await readPartitionTable(device);
            expect(['none', 'mbr', 'gpt']).toContain(read.table);
          } catch (error) {
            expect(error).toBeInstanceOf(LoopbackError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('MBR status byte', () => {
  it('reads a bootable logical partition from its EBR status', async () => {
    const device = new MemoryBlockDevice(200 * 512);
    await device.write(0, sector([entry(100, 90, 0x05)]));
    await device.write(100 * 512, sector([entry(1, 10, 0x83, MBR_STATUS_ACTIVE)]));
    const read = await readMbr(device);
    expect(read.layout.partitions[1]).toEqual({
      number: 5,
      kind: 'logical',
      startSector: 101,
      sectorCount: 10,
      type: 0x83,
      bootable: true,
      ebrSector: 100,
    });
  });
});
