/**
 * GRUB legacy's `setup`, done by patching bytes: checked against a layout worked out by hand
 * from GRUB 0.97's stage1.h, shared.h and start.S, against Debian's real stage files where they
 * are installed, and with ndisasm reading the instructions the patch changes. (That the result
 * boots is proven by the boot tests: electron/cli/boot-*.test.ts.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTool, runToolOk, tempDir } from '../../tests/support/host';
import {
  blockListCapacity,
  buildBlockList,
  fileSectors,
  grubLegacyDevice,
  installPartitionOf,
  patchStage1,
  patchStage2,
  readStage1,
  readStage2,
  STAGE1,
  STAGE2,
} from './grub-legacy';

const DEBIAN_STAGES = '/usr/lib/grub/x86_64-pc';
const haveStages = existsSync(join(DEBIAN_STAGES, 'stage1')) && existsSync(join(DEBIAN_STAGES, 'stage2'));

/** A minimal stage1: version 3.2, signature, and (for floppies) probe code where a table would be. */
function fakeStage1(): Uint8Array {
  const s = new Uint8Array(512);
  s[0] = 0xeb;
  s[1] = 0x48;
  s[STAGE1.VER_MAJ_OFFS] = 3;
  s[STAGE1.VER_MAJ_OFFS + 1] = 2;
  s[STAGE1.BOOT_DRIVE_CHECK] = 0xeb; // jmp short
  s[STAGE1.BOOT_DRIVE_CHECK + 1] = 0x07;
  s.fill(0xcc, 0x4d, 0x1b8); // code
  s[STAGE1.PARTSTART] = 0x24; // floppy probe code, not a table
  s[510] = 0x55;
  s[511] = 0xaa;
  return s;
}

/** The first two sectors of a stage2: start.S code up to 0x137, the default list entry, asm.S's header. */
function fakeStage2(): Uint8Array {
  const s = new Uint8Array(1024);
  s.fill(0x90, 0, 0x137);
  s.set([0x02, 0, 0, 0, 0xe9, 0, 0x20, 0x08], 0x1f8);
  s.set([0xea, 0x70, 0x82, 0, 0], 0x200);
  s.set([3, 2], STAGE2.VER_MAJ_OFFS);
  s.set([0xff, 0xff, 0xff, 0], STAGE2.INSTALLPART);
  s.set(new TextEncoder().encode('0.97\0/boot/grub/menu.lst\0'), STAGE2.VER_STR_OFFS);
  return s;
}

describe('the stage2 block list', () => {
  it('merges consecutive sectors and loads from 0x820 upward, 0x20 per sector', () => {
    expect(buildBlockList([100, 101, 102, 200, 201, 50])).toEqual([
      { startSector: 100, sectorCount: 3, segment: 0x820 },
      { startSector: 200, sectorCount: 2, segment: 0x820 + 3 * 0x20 },
      { startSector: 50, sectorCount: 1, segment: 0x820 + 5 * 0x20 },
    ]);
  });

  it('maps a file’s extents to drive sectors, adding where the volume starts', () => {
    const extents = [
      { fileOffsetBytes: 0, deviceOffsetBytes: 1024, lengthBytes: 2048 },
      { fileOffsetBytes: 2048, deviceOffsetBytes: 8192, lengthBytes: 700 },
    ];
    expect(fileSectors(extents, 2748, 63, 'f')).toEqual([65, 66, 67, 68, 79, 80]);
    expect(() => fileSectors([{ fileOffsetBytes: 1024, deviceOffsetBytes: 0, lengthBytes: 10 }], 1034, 0, 'holey')).toThrow(
      /hole at byte 0/,
    );
    expect(() => fileSectors(extents, 5000, 0, 'short')).toThrow(/cover 2748 of its 5000/);
  });

  it('is written from 0x1F8 down, 8 bytes an entry, with a zero terminator below; the old default entry is cleared', () => {
    const entries = [
      { startSector: 0x12345678, sectorCount: 23, segment: 0x820 },
      { startSector: 114, sectorCount: 210, segment: 0xb00 },
    ];
    const out = patchStage2(fakeStage2(), { entries, installPartition: installPartitionOf(1) });
    // Hand-assembled: LE start, LE count, LE segment.
    expect([...out.subarray(0x1f8, 0x200)]).toEqual([0x78, 0x56, 0x34, 0x12, 23, 0, 0x20, 0x08]);
    expect([...out.subarray(0x1f0, 0x1f8)]).toEqual([114, 0, 0, 0, 210, 0, 0x00, 0x0b]);
    expect([...out.subarray(0x1e8, 0x1f0)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(out.subarray(0, 0x137).every((b) => b === 0x90)).toBe(true);
    expect(readStage2(out)).toEqual({ entries, installPartition: 0x00ffff, configFile: '/boot/grub/menu.lst' });
    // A shorter list over a longer one leaves nothing of the old one behind.
    const again = patchStage2(out, { entries: [entries[0]!], installPartition: installPartitionOf(null) });
    expect(readStage2(again).entries).toEqual([entries[0]]);
    expect(readStage2(again).installPartition).toBe(0xffffff);
  });

  it('has room for 24 entries below start.S’s code (which ends at 0x137), and refuses a 25th', () => {
    expect(blockListCapacity(fakeStage2())).toBe(24);
    const pieces = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ startSector: 1000 + 10 * i, sectorCount: 1, segment: 0x820 + 0x20 * i }));
    expect(() => patchStage2(fakeStage2(), { entries: pieces(24), installPartition: 0xffffff })).not.toThrow();
    expect(() => patchStage2(fakeStage2(), { entries: pieces(25), installPartition: 0xffffff })).toThrow(
      /25 pieces.*room for the block list of 24/,
    );
  });

  it('writes the config file name after the version string, and refuses one that runs into the code at 0x270', () => {
    const out = patchStage2(fakeStage2(), { entries: [], installPartition: 0xffffff, configFile: '/grub/menu.lst' });
    expect(readStage2(out).configFile).toBe('/grub/menu.lst');
    expect(new TextDecoder().decode(out.subarray(STAGE2.VER_STR_OFFS, STAGE2.VER_STR_OFFS + 4))).toBe('0.97');
    expect(() => patchStage2(fakeStage2(), { entries: [], installPartition: 0xffffff, configFile: `/${'x'.repeat(90)}` })).toThrow(
      /does not fit/,
    );
  });
});

describe('stage1 in sector 0', () => {
  const oldFloppy = new Uint8Array(512).map((_, i) => (i * 7) & 0xff);

  it('on a floppy keeps the BPB (bytes 3–61) and sets drive 0xFF, stage2 at 0000:8000 from its LBA', () => {
    const out = patchStage1(fakeStage1(), { oldSector: oldFloppy, hardDisk: false, stage2Sector: 37 });
    expect([...out.subarray(3, 62)]).toEqual([...oldFloppy.subarray(3, 62)]);
    expect([...out.subarray(0, 3)]).toEqual([0xeb, 0x48, 0]);
    expect(out[62]).toBe(3); // the version, not the old sector's byte
    // 0x40 drive, 0x41 force LBA, 0x42 address, 0x44 sector, 0x48 segment — stage1.h.
    expect([...out.subarray(0x40, 0x4a)]).toEqual([0xff, 0x00, 0x00, 0x80, 37, 0, 0, 0, 0x00, 0x08]);
    expect(readStage1(out)).toEqual({ bootDrive: 0xff, stage2Sector: 37, stage2Address: 0x8000, stage2Segment: 0x800 });
    expect([...out.subarray(STAGE1.BOOT_DRIVE_CHECK, STAGE1.BOOT_DRIVE_CHECK + 2)]).toEqual([0xeb, 0x07]);
    expect([...out.subarray(0x1be, 0x200)]).toEqual([...fakeStage1().subarray(0x1be, 0x200)]);
  });

  it('on a hard disk keeps the disk signature and partition table (0x1B8–0x1FD) and enables the drive check', () => {
    const mbr = new Uint8Array(512);
    mbr.set([0xde, 0xad, 0xbe, 0xef], 0x1b8);
    mbr.set([0x80, 1, 1, 0, 0x83, 0xfe, 0xff, 0xff, 63, 0, 0, 0, 0, 0x10, 0, 0], 0x1be);
    const out = patchStage1(fakeStage1(), { oldSector: mbr, hardDisk: true, stage2Sector: 0x01020304 });
    expect([...out.subarray(0x1b8, 0x1fe)]).toEqual([...mbr.subarray(0x1b8, 0x1fe)]);
    expect([...out.subarray(510, 512)]).toEqual([0x55, 0xaa]);
    expect([...out.subarray(STAGE1.BOOT_DRIVE_CHECK, STAGE1.BOOT_DRIVE_CHECK + 2)]).toEqual([0x90, 0x90]);
    expect(readStage1(out).stage2Sector).toBe(0x01020304);
  });

  it('refuses what is not a GRUB legacy stage1', () => {
    const grub2ish = fakeStage1();
    grub2ish[STAGE1.VER_MAJ_OFFS] = 4;
    expect(() => patchStage1(grub2ish, { oldSector: oldFloppy, hardDisk: false, stage2Sector: 1 })).toThrow(
      /not a GRUB legacy 0.9x stage1/,
    );
    expect(() => patchStage1(new Uint8Array(400), { oldSector: oldFloppy, hardDisk: false, stage2Sector: 1 })).toThrow(/exactly 512/);
  });
});

describe('GRUB legacy names', () => {
  it('numbers partitions from 0 in bits 16–23, 0xFF below; a floppy is 0xFFFFFF', () => {
    expect(installPartitionOf(null)).toBe(0xffffff);
    expect(installPartitionOf(1)).toBe(0x00ffff);
    expect(installPartitionOf(5)).toBe(0x04ffff);
    expect(grubLegacyDevice(false, null)).toBe('(fd0)');
    expect(grubLegacyDevice(true, 1)).toBe('(hd0,0)');
  });
});

describe.skipIf(!haveStages)(`Debian's grub-legacy stage files (${DEBIAN_STAGES})`, () => {
  const stage1 = new Uint8Array(readFileSync(join(DEBIAN_STAGES, 'stage1')));
  const stage2 = new Uint8Array(readFileSync(join(DEBIAN_STAGES, 'stage2')));

  it('have the layout the patching assumes: stage1 fields at 0x3E, stage2’s default list entry at 0x1F8', () => {
    expect([...stage1.subarray(0x3e, 0x4a)]).toEqual([3, 2, 0xff, 0, 0, 0x80, 1, 0, 0, 0, 0, 8]);
    const defaults = readStage2(stage2.subarray(0, 1024));
    expect(defaults.entries).toEqual([{ startSector: 2, sectorCount: Math.ceil(stage2.length / 512) - 1, segment: 0x820 }]);
    expect(defaults.installPartition).toBe(0xffffff);
    expect(defaults.configFile).toBe('/boot/grub/menu.lst');
    expect(blockListCapacity(stage2.subarray(0, 512))).toBe(24);
  });

  it.skipIf(!hasTool('ndisasm'))(
    'patch the hard-disk drive check the way ndisasm reads it: cli; jmp short → cli; nop; nop; test dl,0x80',
    () => {
      const { dir, cleanup } = tempDir('stage1-');
      try {
        const disasm = (bytes: Uint8Array) => {
          const file = join(dir, 'sector.bin');
          writeFileSync(file, bytes);
          return runToolOk('ndisasm', ['-b16', '-e', String(0x4a), file])
            .stdout.split('\n')
            .slice(0, 4)
            .map((line) => line.slice(28).trim());
        };
        expect(disasm(stage1)).toEqual(['cli', 'jmp short 0xa', 'test dl,0x80', 'jnz 0xa']);
        const patched = patchStage1(stage1, { oldSector: new Uint8Array(512), hardDisk: true, stage2Sector: 100 });
        expect(disasm(patched)).toEqual(['cli', 'nop', 'nop', 'test dl,0x80']);
      } finally {
        cleanup();
      }
    },
  );
});
