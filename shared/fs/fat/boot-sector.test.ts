import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { encodeBootSector, parseBootSector, type FatBootSector } from './boot-sector';
import { detectFat } from './index';
import { layoutFromBootSector } from './layout';

const skip = missingTools('mkfs.fat', 'fsck.fat', 'truncate');
const tmp = tempDir('fat-bpb-');
afterAll(() => tmp.cleanup());

/** A sparse image of `size` made by mkfs.fat with `args`; returns its first sector. */
function mkfsBootSector(name: string, size: string, args: string[]): { image: string; sector: Uint8Array } {
  const image = join(tmp.dir, name);
  runToolOk('truncate', ['-s', size, image]);
  runToolOk('mkfs.fat', [...args, image]);
  return { image, sector: new Uint8Array(readFileSync(image).subarray(0, 512)) };
}

/** A number fsck.fat -v prints before `label`, e.g. "   512 bytes per cluster". */
function fsckNumber(output: string, label: RegExp): number {
  const match = new RegExp(`(\\d+) ${label.source}`).exec(output);
  if (!match) throw new Error(`fsck.fat output has no ${label}:\n${output}`);
  return Number(match[1]);
}

describe.skipIf(skip)('FAT boot sector against mkfs.fat and fsck.fat', () => {
  const cases = [
    { name: 'f12.img', size: '8M', args: ['-F', '12'], type: 'fat12', bits: 12 },
    { name: 'f16.img', size: '64M', args: ['-F', '16'], type: 'fat16', bits: 16 },
    { name: 'f32.img', size: '64M', args: ['-F', '32'], type: 'fat32', bits: 32 },
    { name: 'f32big.img', size: '600M', args: ['-F', '32', '-S', '1024'], type: 'fat32', bits: 32 },
    { name: 'floppy.img', size: '1440K', args: [], type: 'fat12', bits: 12 },
  ] as const;

  for (const c of cases) {
    it(`reads the BPB of mkfs.fat ${c.args.join(' ')} (${c.size}) as fsck.fat -v reports it, and encodes it back byte for byte`, () => {
      const { image, sector } = mkfsBootSector(c.name, c.size, [...c.args]);
      const bs = parseBootSector(sector);
      const layout = layoutFromBootSector(bs);
      const report = runToolOk('fsck.fat', ['-n', '-v', image]).stdout;
      expect(layout.bytesPerSector).toBe(fsckNumber(report, /bytes per logical sector/));
      expect(layout.clusterBytes).toBe(fsckNumber(report, /bytes per cluster/));
      expect(layout.reservedSectors).toBe(fsckNumber(report, /reserved sectors?/));
      expect(layout.numFats).toBe(fsckNumber(report, /FATs,/));
      expect(report).toContain(`${c.bits} bit entries`);
      expect(layout.fatSectors * layout.bytesPerSector).toBe(fsckNumber(report, /bytes per FAT/));
      expect(layout.totalSectors).toBe(fsckNumber(report, /sectors total/));
      expect(layout.clusterCount).toBe(fsckNumber(report, /data clusters/));
      expect(bs.BPB_HiddSec).toBe(fsckNumber(report, /hidden sectors/));
      expect(bs.BPB_SecPerTrk).toBe(fsckNumber(report, /sectors\/track/));
      expect(report).toContain(`${bs.BPB_NumHeads} heads`);
      expect(report).toContain(`Media byte 0x${bs.BPB_Media.toString(16)}`);
      if (c.type !== 'fat32') expect(layout.rootEntryCount).toBe(fsckNumber(report, /root directory entries/));
      expect(layout.type).toBe(c.type);
      expect(detectFat(sector)).toBe(c.type);
      expect(encodeBootSector(bs)).toEqual(sector);
    });
  }

  it('reads a FAT32-form BPB that mkfs.fat made with too few clusters (-F 32 on 32 MiB) as FAT32, like dosfstools', () => {
    const { image, sector } = mkfsBootSector('f32small.img', '32M', ['-F', '32']);
    const report = runTool('fsck.fat', ['-n', '-v', image]).stdout;
    expect(report).toContain('32 bit entries');
    expect(layoutFromBootSector(parseBootSector(sector)).clusterCount).toBeLessThan(65525);
    expect(detectFat(sector)).toBe('fat32');
  });
});

/** A FAT12/16-form BPB whose data area holds exactly `clusters` clusters of one sector. */
function bpbWithClusters(clusters: number): Uint8Array {
  const bits = clusters <= 4084 ? 12 : 16;
  const fatSectors = Math.ceil(((clusters + 2) * bits) / 8 / 512);
  const rootSectors = 32; // 512 entries
  const total = 1 + 2 * fatSectors + rootSectors + clusters;
  const bs: FatBootSector = {
    BS_jmpBoot: Uint8Array.of(0xeb, 0x3c, 0x90),
    BS_OEMName: 'TEST    ',
    BPB_BytsPerSec: 512,
    BPB_SecPerClus: 1,
    BPB_RsvdSecCnt: 1,
    BPB_NumFATs: 2,
    BPB_RootEntCnt: 512,
    BPB_TotSec16: total < 0x10000 ? total : 0,
    BPB_Media: 0xf8,
    BPB_FATSz16: fatSectors,
    BPB_SecPerTrk: 63,
    BPB_NumHeads: 255,
    BPB_HiddSec: 0,
    BPB_TotSec32: total < 0x10000 ? 0 : total,
    fat32: null,
    BS_DrvNum: 0x80,
    BS_BootSig: 0x29,
    BS_VolID: 0x12345678,
    BS_VolLab: 'NO NAME    ',
    // Deliberately wrong: the type must come from the cluster count, not from this string.
    BS_FilSysType: 'FAT32   ',
    bootCode: new Uint8Array(0),
    signature: 0xaa55,
  };
  return encodeBootSector(bs);
}

describe('detectFat: the Microsoft FAT spec cluster-count rule', () => {
  it('FAT12 below 4085 clusters, FAT16 from 4085 to 65524, whatever BS_FilSysType says', () => {
    expect(detectFat(bpbWithClusters(1))).toBe('fat12');
    expect(detectFat(bpbWithClusters(4084))).toBe('fat12');
    expect(detectFat(bpbWithClusters(4085))).toBe('fat16');
    expect(detectFat(bpbWithClusters(65524))).toBe('fat16');
  });

  it('refuses a FAT12/16-form BPB with 65525 clusters (only FAT32 can have that many) and non-FAT sectors', () => {
    expect(detectFat(bpbWithClusters(65525))).toBeNull();
    expect(detectFat(new Uint8Array(512))).toBeNull();
    const noJump = bpbWithClusters(100);
    noJump[0] = 0;
    expect(detectFat(noJump)).toBeNull();
    const badSectorSize = bpbWithClusters(100);
    badSectorSize[11] = 0x01; // BPB_BytsPerSec 513
    expect(detectFat(badSectorSize)).toBeNull();
    expect(detectFat(new Uint8Array(100))).toBeNull();
  });
});

describe('boot sector encode/parse', () => {
  it('round-trips any field values (property)', () => {
    const u8 = fc.integer({ min: 0, max: 0xff });
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const text = (n: number) =>
      fc.string({ minLength: n, maxLength: n, unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-') });
    const fat32 = fc.record({
      BPB_FATSz32: u32,
      BPB_ExtFlags: u16,
      BPB_FSVer: u16,
      BPB_RootClus: u32,
      BPB_FSInfo: u16,
      BPB_BkBootSec: u16,
    });
    fc.assert(
      fc.property(
        fc.record({
          BS_jmpBoot: fc.uint8Array({ minLength: 3, maxLength: 3 }),
          BS_OEMName: text(8),
          BPB_BytsPerSec: u16,
          BPB_SecPerClus: u8,
          BPB_RsvdSecCnt: u16,
          BPB_NumFATs: u8,
          BPB_RootEntCnt: u16,
          BPB_TotSec16: u16,
          BPB_Media: u8,
          BPB_FATSz16: u16,
          BPB_SecPerTrk: u16,
          BPB_NumHeads: u16,
          BPB_HiddSec: u32,
          BPB_TotSec32: u32,
          fat32: fc.option(fat32, { nil: null }),
          BS_DrvNum: u8,
          BS_BootSig: u8,
          BS_VolID: u32,
          BS_VolLab: text(11),
          BS_FilSysType: text(8),
          bootCode: fc.uint8Array({ maxLength: 420 }),
        }),
        (fields) => {
          const bs: FatBootSector = { ...fields, BPB_FATSz16: fields.fat32 ? 0 : fields.BPB_FATSz16 || 1, signature: 0xaa55 };
          const parsed = parseBootSector(encodeBootSector(bs));
          const room = bs.fat32 ? 420 : 448;
          const code = new Uint8Array(room);
          code.set(bs.bootCode);
          expect(parsed).toEqual({ ...bs, bootCode: code });
        },
      ),
      { numRuns: 200 },
    );
  });
});
