import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from './block-device';
import { writeMbr, type MbrLayout, type MbrPartition } from './mbr';
import { expectLoopbackError, loopbackErrorOfAsync } from './test-support';
import { describeRange, mbrLayoutProblems, rangeProblems, throwIfProblems, validateMbrLayout, type ValidationProblem } from './validate';

function layoutWith(diskSectors: number, partitions: MbrPartition[]): MbrLayout {
  return { diskSectors, geometry: { heads: 255, sectorsPerTrack: 63 }, diskSignature: 0xdeadbeef, partitions };
}

function primary(number: number, startSector: number, sectorCount: number, type = 0x83): MbrPartition {
  return { number, kind: 'primary', startSector, sectorCount, type, bootable: false };
}

function extended(number: number, startSector: number, sectorCount: number): MbrPartition {
  return { number, kind: 'extended', startSector, sectorCount, type: 0x05, bootable: false };
}

function logical(number: number, ebrSector: number, startSector: number, sectorCount: number): MbrPartition {
  return { number, kind: 'logical', startSector, sectorCount, type: 0x83, bootable: false, ebrSector };
}

function messages(problems: ValidationProblem[]): string[] {
  return problems.map((p) => p.message);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('rangeProblems (generic, for MBR and GPT)', () => {
  it('names both partitions and their sectors in an overlap', () => {
    const problems = rangeProblems(
      [
        { index: 1, startSector: 63, sectorCount: 3000 - 63 + 1 },
        { index: 2, startSector: 2048, sectorCount: 2048 },
      ],
      { firstUsableSector: 1, lastUsableSector: 9999 },
    );
    expect(problems).toEqual([
      {
        code: 'OVERLAP',
        message: 'Partition 2 (sectors 2048–4095) overlaps partition 1 (sectors 63–3000)',
        details: {
          range: { index: 2, startSector: 2048, endSector: 4095, sectorCount: 2048 },
          overlapping: { index: 1, startSector: 63, endSector: 3000, sectorCount: 2938 },
        },
      },
    ]);
  });

  it('reports ranges outside a GPT-style usable area, with what lives before it', () => {
    const problems = rangeProblems(
      [
        { index: 1, startSector: 2, sectorCount: 100 },
        { index: 3, startSector: 2048, sectorCount: 10000 },
      ],
      { firstUsableSector: 34, lastUsableSector: 8158, reservedBefore: 'LBA 0–33 hold the protective MBR, the GPT header and its entries' },
    );
    expect(messages(problems)).toEqual([
      'Partition 1 (sectors 2–101) starts before sector 34, the first usable sector of the disk: LBA 0–33 hold the protective MBR, the GPT header and its entries',
      'Partition 3 (sectors 2048–12047) ends beyond sector 8158, the last usable sector of the disk',
    ]);
  });

  it('reports zero and malformed sizes', () => {
    expect(
      messages(rangeProblems([{ index: 4, startSector: 100, sectorCount: 0 }], { firstUsableSector: 1, lastUsableSector: 999 })),
    ).toEqual(['Partition 4 (starting at sector 100) has a size of 0 sectors']);
    expect(
      messages(rangeProblems([{ index: 2, startSector: -5, sectorCount: 1.5 }], { firstUsableSector: 1, lastUsableSector: 999 })),
    ).toEqual(['Partition 2 has start -5 and size 1.5: both must be whole numbers of sectors, not negative']);
  });

  it('describes one-sector ranges as a sector', () => {
    expect(describeRange({ index: 6, startSector: 30720, sectorCount: 1, label: 'the EBR of partition 6' })).toBe(
      'the EBR of partition 6 (sector 30720)',
    );
  });

  it('throws one VALIDATION error carrying every problem', () => {
    const problems = rangeProblems(
      [
        { index: 1, startSector: 0, sectorCount: 10 },
        { index: 2, startSector: 5, sectorCount: 10 },
      ],
      { firstUsableSector: 1, lastUsableSector: 99, reservedBefore: 'sector 0 holds the MBR' },
    );
    const error = expectLoopbackError(
      () => throwIfProblems(problems),
      'VALIDATION',
      '2 problems: Partition 1 (sectors 0–9) starts before sector 1, the first usable sector of the disk: sector 0 holds the MBR; Partition 2 (sectors 5–14) overlaps partition 1 (sectors 0–9)',
    );
    expect((error.details?.problems as unknown[]).length).toBe(2);
    expect(() => throwIfProblems([])).not.toThrow();
  });
});

describe('MBR layout rules', () => {
  const DISK = 100_000;

  it('accepts the article layout', () => {
    expect(mbrLayoutProblems(layoutWith(1008000, [{ ...primary(1, 63, 1007937), bootable: true }]))).toEqual([]);
  });

  it.each<[string, MbrLayout, string[]]>([
    [
      'overlapping primaries',
      layoutWith(DISK, [primary(1, 63, 3000 - 63 + 1), primary(2, 2048, 2048)]),
      ['Partition 2 (sectors 2048–4095) overlaps partition 1 (sectors 63–3000)'],
    ],
    [
      'a partition past the end of the disk',
      layoutWith(DISK, [primary(1, 2048, DISK)]),
      ['Partition 1 (sectors 2048–102047) ends beyond sector 99999, the last usable sector of the disk'],
    ],
    [
      'a partition over sector 0',
      layoutWith(DISK, [primary(1, 0, 100)]),
      ['Partition 1 (sectors 0–99) starts before sector 1, the first usable sector of the disk: sector 0 holds the MBR'],
    ],
    ['a zero-size partition', layoutWith(DISK, [primary(3, 2048, 0)]), ['Partition 3 (starting at sector 2048) has a size of 0 sectors']],
    [
      'five primary partitions',
      layoutWith(DISK, [primary(1, 100, 10), primary(2, 200, 10), primary(3, 300, 10), primary(4, 400, 10), primary(5, 500, 10)]),
      [
        'The MBR has 4 slots for primary and extended partitions; this layout has 5 (partitions 1, 2, 3, 4, 5). Use an extended partition with logical partitions for more',
        'Partition 5 is primary, but primary and extended partitions are numbered 1–4',
      ],
    ],
    ['two partitions in one slot', layoutWith(DISK, [primary(2, 100, 10), primary(2, 200, 10)]), ['Two partitions use number 2']],
    [
      'two extended partitions',
      layoutWith(DISK, [extended(1, 2048, 10000), extended(2, 20000, 10000)]),
      ['An MBR may hold one extended partition; this layout has 2 (partition 1 (sectors 2048–12047), partition 2 (sectors 20000–29999))'],
    ],
    [
      'a partition starting beyond 2 TiB',
      layoutWith(2 ** 33, [primary(1, 2 ** 32, 2048)]),
      [
        "Partition 1 (sectors 4294967296–4294969343) reaches past sector 4294967295, the 2 TiB limit of MBR's 32-bit sector numbers; use GPT for this",
      ],
    ],
    [
      'a partition ending beyond 2 TiB',
      layoutWith(2 ** 33, [primary(1, 2048, 2 ** 32 - 2048 + 1)]),
      [
        "Partition 1 (sectors 2048–4294967296) reaches past sector 4294967295, the 2 TiB limit of MBR's 32-bit sector numbers; use GPT for this",
      ],
    ],
    [
      'an empty type',
      layoutWith(DISK, [primary(1, 2048, 100, 0x00)]),
      ['Partition 1 has type 0: a type is a byte from 0x01 to 0xff (0x00 marks an empty slot)'],
    ],
    [
      'a GPT protective type in an MBR layout',
      layoutWith(DISK, [primary(1, 1, DISK - 1, 0xee)]),
      ["Partition 1 has type 0xee, which marks a GPT disk's protective MBR; create a GPT instead"],
    ],
    [
      'a primary with an extended type',
      layoutWith(DISK, [primary(1, 2048, 100, 0x0f)]),
      ["Partition 1 is primary but has the extended type 0x0f (W95 Ext'd (LBA))"],
    ],
    [
      'an extended partition with a Linux type',
      layoutWith(DISK, [{ ...extended(1, 2048, 100), type: 0x83 }]),
      ['Extended partition 1 has type 0x83 (Linux); an extended partition needs 0x05, 0x0f or 0x85'],
    ],
    [
      'logical partitions without an extended one',
      layoutWith(DISK, [primary(1, 2048, 100), logical(5, 4096, 6144, 100)]),
      ['Logical partitions 5 need an extended partition to hold them, and this layout has none'],
    ],
    [
      'a logical partition outside the extended one',
      layoutWith(DISK, [extended(2, 20480, 10000), logical(5, 20480, 22528, 10000)]),
      ['Logical partition 5 (sectors 22528–32527) lies outside extended partition 2 (sectors 20480–30479)'],
    ],
    [
      'overlapping logical partitions',
      layoutWith(DISK, [extended(2, 20480, 50000), logical(5, 20480, 22528, 5000), logical(6, 27000, 27500, 1000)]),
      [
        'The EBR of partition 6 (sector 27000) overlaps partition 5 (sectors 22528–27527)',
        'Partition 6 (sectors 27500–28499) overlaps partition 5 (sectors 22528–27527)',
      ],
    ],
    [
      'an EBR after its partition',
      layoutWith(DISK, [extended(2, 20480, 50000), logical(5, 20480, 22528, 5000), logical(6, 40000, 30720, 1000)]),
      ["The EBR of partition 6 (sector 40000) must come before the partition's first sector 30720"],
    ],
    [
      'an EBR outside the extended partition',
      layoutWith(DISK, [extended(2, 20480, 50000), logical(5, 20480, 22528, 5000), logical(6, 90000, 30720, 1000)]),
      ['The EBR of partition 6 (sector 90000) lies outside extended partition 2 (sectors 20480–70479)'],
    ],
    [
      "a second logical partition's EBR on the extended partition's first sector",
      layoutWith(DISK, [extended(2, 20480, 50000), logical(5, 22000, 22528, 5000), logical(6, 20480, 30720, 1000)]),
      [
        "The EBR of partition 6 is at sector 20480, the start of extended partition 2, which only the first logical partition's EBR may use",
      ],
    ],
    [
      "a logical partition over the extended partition's first EBR",
      layoutWith(DISK, [extended(2, 20480, 50000), logical(5, 22000, 20480, 1000)]),
      [
        "The EBR of partition 5 (sector 22000) must come before the partition's first sector 20480",
        'Partition 5 (sectors 20480–21479) overlaps the first EBR of extended partition 2 (sector 20480)',
      ],
    ],
    [
      'logical partitions numbered out of chain order',
      layoutWith(DISK, [extended(2, 20480, 50000), logical(6, 20480, 22528, 5000)]),
      ['Logical partition 6 is number 5 in the EBR chain; logical partitions are numbered 5, 6, … in chain order'],
    ],
    [
      'a bad geometry and signature',
      { ...layoutWith(DISK, []), geometry: { heads: 0, sectorsPerTrack: 63 }, diskSignature: -1 },
      ['Bad CHS geometry: heads must be a whole number from 1 to 255, not 0', 'The disk signature -1 is not a 32-bit number'],
    ],
    [
      'boot code of the wrong length',
      { ...layoutWith(DISK, []), bootCode: new Uint8Array(446) },
      ['The boot code is 446 bytes; the MBR holds exactly 440'],
    ],
  ])('refuses %s', (_name, layout, expected) => {
    expect(messages(mbrLayoutProblems(layout))).toEqual(expected);
    expect(() => validateMbrLayout(layout)).toThrow(expected.length === 1 ? expected[0] : `${expected.length} problems`);
  });
});

describe('writeMbr validates first and writes nothing when invalid', () => {
  it('leaves every byte of the device as it was', async () => {
    const device = new MemoryBlockDevice(64 * 512 * 2);
    device.bytes.forEach((_, i) => (device.bytes[i] = (i * 7) & 0xff));
    const before = sha256(device.bytes);
    const invalid = layoutWith(128, [primary(1, 63, 3000 - 63 + 1), primary(2, 2048, 2048)]);
    const error = await loopbackErrorOfAsync(() => writeMbr(device, invalid));
    expect(error.code).toBe('VALIDATION');
    // Against the device's real size (128 sectors), not the layout's.
    expect(error.message).toBe(
      '3 problems: Partition 1 (sectors 63–3000) ends beyond sector 127, the last usable sector of the disk; Partition 2 (sectors 2048–4095) ends beyond sector 127, the last usable sector of the disk; Partition 2 (sectors 2048–4095) overlaps partition 1 (sectors 63–3000)',
    );
    expect(sha256(device.bytes)).toBe(before);
  });

  it('checks the layout against the device size, not the size the layout claims', async () => {
    const device = new MemoryBlockDevice(1000 * 512);
    const before = sha256(device.bytes);
    const claimsBigger = layoutWith(1_000_000, [primary(1, 2048, 4096)]);
    const error = await loopbackErrorOfAsync(() => writeMbr(device, claimsBigger));
    expect(error.message).toBe('Partition 1 (sectors 2048–6143) ends beyond sector 999, the last usable sector of the disk');
    expect(sha256(device.bytes)).toBe(before);
  });
});
