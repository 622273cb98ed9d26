import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bochsFloppyLine,
  bochsHardDiskLine,
  bytesPerCylinder,
  chsToLba,
  chsWall,
  CHS_WALL_504MIB_BYTES,
  CHS_WALL_8GIB_BYTES,
  cylindersForSize,
  defaultTrackGeometry,
  findFloppyPreset,
  FLOPPY_PRESETS,
  floppyPreset,
  floppyPresetForSize,
  geometrySizeBytes,
  guessBiosGeometry,
  lbaToChs,
  partitionBlocks,
  partitionOffsetBytes,
  qemuFloppyArgs,
  qemuHardDiskArgs,
  totalSectors,
} from './geometry';
import { loopbackErrorOf } from './test-support';
import { geometryReport } from './geometry-report';

const ARTICLE = { cylinders: 1000, heads: 16, sectorsPerTrack: 63 };

describe('the article example: 1000 cylinders × 16 heads × 63 sectors', () => {
  it('has 516096 bytes per cylinder, 1008000 sectors, 516096000 bytes', () => {
    expect(bytesPerCylinder(ARTICLE)).toBe(516096);
    expect(totalSectors(ARTICLE)).toBe(1008000);
    expect(geometrySizeBytes(ARTICLE)).toBe(516096000);
  });

  it('puts partition 1 (sectors 63–1007999) at byte 32256 with 503968 1 KiB blocks, "503968+" in fdisk', () => {
    const sectorCount = 1007999 - 63 + 1;
    expect(sectorCount).toBe(1007937);
    expect(partitionOffsetBytes(63)).toBe(32256);
    expect(partitionBlocks(sectorCount)).toEqual({ blockBytes: 1024, blocks: 503968, remainderBytes: 512, fdiskText: '503968+' });
  });

  it('chooses about 1000 cylinders for "a 500Mb disk" (500 × 1000 × 1024 bytes): 992 rounded down, 993 up', () => {
    const choice = cylindersForSize(500 * 1000 * 1024);
    expect(choice.exactCylinders).toBeCloseTo(992.06, 2);
    expect(choice.roundedDown).toEqual({ cylinders: 992, totalSectors: 992 * 1008, sizeBytes: 992 * 516096 });
    expect(choice.roundedUp).toEqual({ cylinders: 993, totalSectors: 993 * 1008, sizeBytes: 993 * 516096 });
    expect(choice.exact).toBe(false);
    expect(cylindersForSize(516096000).exact).toBe(true);
  });

  it('produces the whole wizard report for --cylinders 1000', () => {
    const report = geometryReport({ cylinders: 1000 });
    expect(report).toMatchObject({
      geometry: ARTICLE,
      sectorBytes: 512,
      bytesPerCylinder: 516096,
      totalSectors: 1008000,
      sizeBytes: 516096000,
      sizeText: { binary: '492.19 MiB', decimal: '516.1 MB' },
      cylinderChoice: null,
      dd: { blockSizeBytes: 516096, count: 1000 },
      partition: {
        number: 1,
        type: 0x83,
        bootable: true,
        startSector: 63,
        endSector: 1007999,
        sectorCount: 1007937,
        offsetBytes: 32256,
        blocks1KiB: { blocks: 503968, fdiskText: '503968+' },
        firstChs: { cylinder: 0, head: 1, sector: 1 },
        lastChs: { cylinder: 999, head: 15, sector: 63 },
      },
      chs: { passes: 'none' },
      bios: { chsMatchesBios: true, withPartitionTable: { translation: 'none', logical: ARTICLE } },
      bochs: 'ata0-master: type=disk, path="c.img", mode=flat, cylinders=1000, heads=16, spt=63',
      qemu: { drive: ['-drive', 'file=c.img,format=raw,if=ide'], legacy: ['-hda', 'c.img'] },
      notes: [],
    });
    // Plain data: survives JSON unchanged (the CLI prints it with --json).
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('reports from --size: rounds up by default and says so', () => {
    const report = geometryReport({ sizeBytes: 500 * 1000 * 1024, imagePath: 'my disk,1.img' });
    expect(report.geometry.cylinders).toBe(993);
    expect(report.cylinderChoice?.chosen).toBe('up');
    expect(report.notes[0]).toBe('512000000 bytes is 992.06 cylinders; rounded up to 993 (512483328 bytes).');
    expect(report.qemu.drive).toEqual(['-drive', 'file=my disk,,1.img,format=raw,if=ide']);
    expect(geometryReport({ sizeBytes: 500 * 1000 * 1024, rounding: 'down' }).geometry.cylinders).toBe(992);
  });

  it('warns when the BIOS will not report the geometry the table uses (255 heads on a 1 GiB disk)', () => {
    const report = geometryReport({ sizeBytes: 2 ** 30, heads: 255 });
    expect(report.chs.passes).toBe('504MiB');
    expect(report.bios.chsMatchesBios).toBe(false);
    expect(report.notes).toContain(
      "QEMU's BIOS will report 64 heads × 63 sectors for this disk, not 255 × 63: boot code that uses CHS instead of LBA will read the wrong sectors.",
    );
    // Bochs' ATA disk has at most 16 heads.
    expect(report.bochs).toBe('ata0-master: type=disk, path="c.img", mode=flat, cylinders=2087, heads=16, spt=63');
  });

  it.each([
    [{}, 'Give either a size or a number of cylinders (not both)'],
    [{ sizeBytes: 1, cylinders: 1 }, 'Give either a size or a number of cylinders (not both)'],
    [{ cylinders: 0 }, 'cylinders must be a whole number from 1 to 9007199254740991, not 0'],
    [{ cylinders: 10, heads: 256 }, 'heads must be a whole number from 1 to 255, not 256'],
    [{ cylinders: 10, sectorsPerTrack: 64 }, 'sectorsPerTrack must be a whole number from 1 to 63, not 64'],
    [{ sizeBytes: 1000, rounding: 'down' as const }, '1000 bytes is less than one cylinder (516096 bytes); round up instead'],
    [{ cylinders: 1, partitionStartSector: 1008 }, 'The partition start 1008 must be a sector from 1 to 1007'],
  ])('refuses %j', (input, message) => {
    const error = loopbackErrorOf(() => geometryReport(input));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe(message);
  });
});

describe('LBA ↔ CHS', () => {
  it('converts the article partition bounds', () => {
    expect(lbaToChs(63, { heads: 16, sectorsPerTrack: 63 })).toEqual({ cylinder: 0, head: 1, sector: 1 });
    expect(lbaToChs(1007999, { heads: 16, sectorsPerTrack: 63 })).toEqual({ cylinder: 999, head: 15, sector: 63 });
    expect(chsToLba({ cylinder: 999, head: 15, sector: 63 }, { heads: 16, sectorsPerTrack: 63 })).toBe(1007999);
    // sfdisk's bytes for sector 2048 on a 255/63 image: head 0x20, sector 0x21, cylinder 0.
    expect(lbaToChs(2048, { heads: 255, sectorsPerTrack: 63 })).toEqual({ cylinder: 0, head: 32, sector: 33 });
  });

  it('round-trips any LBA for any geometry (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 1, max: 63 }),
        (lba, heads, sectorsPerTrack) => {
          const chs = lbaToChs(lba, { heads, sectorsPerTrack });
          expect(chs.head).toBeLessThan(heads);
          expect(chs.sector).toBeGreaterThanOrEqual(1);
          expect(chs.sector).toBeLessThanOrEqual(sectorsPerTrack);
          expect(chsToLba(chs, { heads, sectorsPerTrack })).toBe(lba);
        },
      ),
    );
  });

  it('refuses CHS values outside the geometry', () => {
    expect(loopbackErrorOf(() => chsToLba({ cylinder: 0, head: 16, sector: 1 }, { heads: 16, sectorsPerTrack: 63 })).message).toBe(
      'head must be a whole number from 0 to 15, not 16',
    );
    expect(loopbackErrorOf(() => chsToLba({ cylinder: 0, head: 0, sector: 0 }, { heads: 16, sectorsPerTrack: 63 })).message).toBe(
      'sector must be a whole number from 1 to 63, not 0',
    );
    expect(loopbackErrorOf(() => lbaToChs(-1, { heads: 16, sectorsPerTrack: 63 })).code).toBe('INVALID_INPUT');
  });
});

describe('CHS walls', () => {
  it('puts the walls at 1024×16×63 and 1024×255×63 sectors', () => {
    expect(CHS_WALL_504MIB_BYTES).toBe(528_482_304);
    expect(CHS_WALL_504MIB_BYTES / 2 ** 20).toBe(504);
    expect(CHS_WALL_8GIB_BYTES).toBe(8_422_686_720);
  });

  it('reports which wall a size passes and the geometry to use', () => {
    expect(chsWall(516096000)).toMatchObject({
      passes: 'none',
      recommended: { heads: 16, sectorsPerTrack: 63 },
      chsCylinders: 1000,
      lbaOnlyBeyondChs: false,
    });
    expect(chsWall(CHS_WALL_504MIB_BYTES)).toMatchObject({ passes: 'none', chsCylinders: 1024 });
    expect(chsWall(CHS_WALL_504MIB_BYTES + 512)).toMatchObject({
      passes: '504MiB',
      recommended: { heads: 255, sectorsPerTrack: 63 },
      chsCylinders: 64,
      chsAddressableBytes: CHS_WALL_504MIB_BYTES + 512,
      lbaOnlyBeyondChs: false,
    });
    expect(chsWall(CHS_WALL_8GIB_BYTES)).toMatchObject({ passes: '504MiB', chsCylinders: 1024, lbaOnlyBeyondChs: false });
    expect(chsWall(CHS_WALL_8GIB_BYTES + 512)).toMatchObject({
      passes: '8GiB',
      chsCylinders: 1024,
      chsAddressableBytes: CHS_WALL_8GIB_BYTES,
      lbaOnlyBeyondChs: true,
    });
    expect(chsWall(2 ** 40).passes).toBe('8GiB');
  });

  it('uses 16/63 for new tables up to 504 MiB and 255/63 (as sfdisk does) above', () => {
    expect(defaultTrackGeometry(1008000)).toEqual({ heads: 16, sectorsPerTrack: 63 });
    expect(defaultTrackGeometry(1024 * 16 * 63)).toEqual({ heads: 16, sectorsPerTrack: 63 });
    expect(defaultTrackGeometry(1024 * 16 * 63 + 1)).toEqual({ heads: 255, sectorsPerTrack: 63 });
  });
});

describe('guessBiosGeometry (QEMU hd_geometry_guess + SeaBIOS setup_translation)', () => {
  // The same cases are booted in QEMU in geometry.qemu.test.ts.
  it.each([
    [
      'a blank 504 MiB-or-less image',
      1008000,
      null,
      { cylinders: 1000, heads: 16, sectorsPerTrack: 63 },
      'none',
      { cylinders: 1000, heads: 16, sectorsPerTrack: 63 },
    ],
    [
      'a blank 1 GiB image',
      2 ** 21,
      null,
      { cylinders: 2080, heads: 16, sectorsPerTrack: 63 },
      'lba',
      { cylinders: 1024, heads: 32, sectorsPerTrack: 63 },
    ],
    [
      '1 GiB with a 255-head table',
      2 ** 21,
      { heads: 255, sectorsPerTrack: 63 },
      { cylinders: 2080, heads: 16, sectorsPerTrack: 63 },
      'large',
      { cylinders: 520, heads: 64, sectorsPerTrack: 63 },
    ],
    [
      '1 GiB with a 16-head table',
      2 ** 21,
      { heads: 16, sectorsPerTrack: 63 },
      { cylinders: 2080, heads: 16, sectorsPerTrack: 63 },
      'none',
      { cylinders: 1024, heads: 16, sectorsPerTrack: 63 },
    ],
    [
      '10 GiB with a 255-head table',
      10 * 2 ** 21,
      { heads: 255, sectorsPerTrack: 63 },
      { cylinders: 16383, heads: 16, sectorsPerTrack: 63 },
      'lba',
      { cylinders: 1024, heads: 255, sectorsPerTrack: 63 },
    ],
    ['a tiny image', 100, null, { cylinders: 2, heads: 16, sectorsPerTrack: 63 }, 'none', { cylinders: 2, heads: 16, sectorsPerTrack: 63 }],
  ])('%s', (_name, sectors, hint, physical, translation, logical) => {
    const guess = guessBiosGeometry(sectors, hint);
    expect(guess).toEqual({ source: hint ? 'partition-table' : 'size', physical, translation, logical });
  });
});

describe('floppy presets', () => {
  it.each([
    ['360K', 40, 9, 368640, 0xfd, 112, 2],
    ['720K', 80, 9, 737280, 0xf9, 112, 2],
    ['1.2M', 80, 15, 1228800, 0xf9, 224, 1],
    ['1.44M', 80, 18, 1474560, 0xf0, 224, 1],
    ['2.88M', 80, 36, 2949120, 0xf0, 240, 2],
  ] as const)('%s: %d cylinders × 2 heads × %d sectors', (name, cylinders, spt, bytes, media, rootEntries, spc) => {
    const preset = FLOPPY_PRESETS[name];
    expect(preset.geometry).toEqual({ cylinders, heads: 2, sectorsPerTrack: spt });
    expect(preset.sizeBytes).toBe(bytes);
    expect(preset.totalSectors).toBe(bytes / 512);
    expect(preset.mediaDescriptor).toBe(media);
    expect(preset.rootDirEntries).toBe(rootEntries);
    expect(preset.sectorsPerCluster).toBe(spc);
    expect(floppyPresetForSize(bytes)).toBe(preset);
  });

  it('finds presets by the names people use', () => {
    expect(findFloppyPreset('1.44M')?.name).toBe('1.44M');
    expect(findFloppyPreset('1.44mb')?.name).toBe('1.44M');
    expect(findFloppyPreset('1440K')?.name).toBe('1.44M');
    expect(findFloppyPreset('1440')?.name).toBe('1.44M');
    expect(findFloppyPreset('1200KiB')?.name).toBe('1.2M');
    expect(findFloppyPreset('2880k')?.name).toBe('2.88M');
    expect(findFloppyPreset('1.7M')).toBeUndefined();
    expect(loopbackErrorOf(() => floppyPreset('1.7M')).message).toBe(
      '"1.7M" is not a floppy format: use one of 360K, 720K, 1.2M, 1.44M, 2.88M',
    );
  });

  it('gives the emulator lines', () => {
    expect(bochsFloppyLine('floppy.img', FLOPPY_PRESETS['1.44M'])).toBe('floppya: 1_44="floppy.img", status=inserted');
    expect(qemuFloppyArgs('floppy.img')).toEqual({
      drive: ['-drive', 'file=floppy.img,format=raw,if=floppy'],
      legacy: ['-fda', 'floppy.img'],
    });
    expect(qemuHardDiskArgs('c.img').legacy).toEqual(['-hda', 'c.img']);
    expect(bochsHardDiskLine('c.img', ARTICLE)).toBe('ata0-master: type=disk, path="c.img", mode=flat, cylinders=1000, heads=16, spt=63');
    expect(loopbackErrorOf(() => bochsHardDiskLine('a"b.img', ARTICLE)).message).toBe(
      'Bochs configuration cannot name a file containing a double quote or a line break: "a\\"b.img"',
    );
  });
});
