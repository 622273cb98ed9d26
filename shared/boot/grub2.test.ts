/**
 * GRUB 2's pieces patched for an image file: boot.img and core.img checked against the offsets of
 * GRUB 2.06's boot.h (by hand, and in the host's real files with ndisasm), where core.img may go
 * on each kind of disk, and the module closure from moddep.lst.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTool, runToolOk, tempDir } from '../../tests/support/host';
import type { DiskInfo, PartitionInfo } from '../disk/disk-info';
import {
  BIOS_BOOT_GUID,
  BOOT_IMG,
  bootImgCoreSector,
  checkCoreFits,
  coreModules,
  embeddingArea,
  grub2Device,
  moduleClosure,
  patchBootImg,
  patchCoreImg,
  readCoreBlockList,
} from './grub2';

const GRUB_DIR = '/usr/lib/grub/i386-pc';
const haveGrub = existsSync(join(GRUB_DIR, 'boot.img')) && hasTool('grub-mkimage');

function fakeBootImg(): Uint8Array {
  const s = new Uint8Array(512);
  s[0] = 0xeb;
  s[1] = 0x63;
  s.set([1, 0, 0, 0, 0, 0, 0, 0], BOOT_IMG.KERNEL_SECTOR);
  s[BOOT_IMG.BOOT_DRIVE] = 0xff;
  s.set([0xeb, 0x05], BOOT_IMG.DRIVE_CHECK);
  s[510] = 0x55;
  s[511] = 0xaa;
  return s;
}

/** A core.img of `sectors` sectors whose block list is what grub-mkimage leaves: start 2, count − 1, segment 0x820. */
function fakeCore(sectors: number): Uint8Array {
  const s = new Uint8Array(sectors * 512 - 100);
  s.set([2, 0, 0, 0, 0, 0, 0, 0, sectors - 1, 0, 0x20, 0x08], 0x1f4);
  return s;
}

function partition(index: number, startSector: number, sectorCount: number, type = '83'): PartitionInfo {
  return {
    index,
    startSector,
    endSector: startSector + sectorCount - 1,
    sectorCount,
    offsetBytes: startSector * 512,
    sizeBytes: sectorCount * 512,
    blocks1KiB: sectorCount / 2,
    type,
    typeName: '',
    bootable: false,
  };
}

function disk(table: DiskInfo['table'], partitions: PartitionInfo[], floppy: DiskInfo['floppy'] = null): DiskInfo {
  return {
    sizeBytes: 64 << 20,
    totalSectors: 131072,
    geometry: { cylinders: 8, heads: 255, sectorsPerTrack: 63, sectorSize: 512 },
    geometrySource: 'size',
    floppy,
    table,
    diskId: null,
    partitions,
    warnings: [],
  };
}

describe('boot.img in the MBR', () => {
  it('keeps the old sector’s BPB area, disk signature and table; points at core.img; checks the drive on a hard disk', () => {
    const old = new Uint8Array(512).map((_, i) => (i * 13) & 0xff);
    const out = patchBootImg(fakeBootImg(), old, 2048);
    expect([...out.subarray(0x03, 0x5a)]).toEqual([...old.subarray(0x03, 0x5a)]);
    expect([...out.subarray(0x1b8, 0x1fe)]).toEqual([...old.subarray(0x1b8, 0x1fe)]);
    expect([...out.subarray(0x5c, 0x64)]).toEqual([0x00, 0x08, 0, 0, 0, 0, 0, 0]);
    expect(bootImgCoreSector(out)).toBe(2048);
    expect(out[0x64]).toBe(0xff);
    expect([...out.subarray(0x66, 0x68)]).toEqual([0x90, 0x90]);
    expect([...out.subarray(510, 512)]).toEqual([0x55, 0xaa]);
  });

  it('refuses something else', () => {
    expect(() => patchBootImg(new Uint8Array(512), new Uint8Array(512), 1)).toThrow(/not GRUB 2's i386-pc boot image/);
  });
});

describe('core.img’s block list', () => {
  it('moves with core.img: the rest of it follows its first sector', () => {
    const out = patchCoreImg(fakeCore(54), 34);
    expect(out.length).toBe(54 * 512);
    expect(readCoreBlockList(out)).toEqual({ startSector: 35, sectorCount: 53, segment: 0x820 });
    expect([...out.subarray(0x1f4, 0x200)]).toEqual([35, 0, 0, 0, 0, 0, 0, 0, 53, 0, 0x20, 0x08]);
    expect(readCoreBlockList(patchCoreImg(fakeCore(54), 1)).startSector).toBe(2);
  });

  it('refuses an image whose list is not grub-mkimage’s', () => {
    const wrong = fakeCore(54);
    wrong[0x1fc] = 7;
    expect(() => patchCoreImg(wrong, 1)).toThrow(/not an i386-pc core image/);
  });
});

describe('where core.img goes', () => {
  it('after the MBR, up to the first partition (sector 63 leaves 62 sectors)', () => {
    expect(embeddingArea(disk('mbr', [partition(1, 63, 1000)]))).toMatchObject({ kind: 'mbr-gap', firstSector: 1, sectorCount: 62 });
    expect(embeddingArea(disk('mbr', [partition(2, 4096, 100), partition(1, 2048, 100)]))).toMatchObject({
      firstSector: 1,
      sectorCount: 2047,
    });
  });

  it('into the BIOS boot partition of a GPT disk, and nowhere without one', () => {
    const gpt = disk('gpt', [partition(1, 34, 2014, BIOS_BOOT_GUID), partition(2, 2048, 1000, 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7')]);
    expect(embeddingArea(gpt)).toMatchObject({ kind: 'bios-boot-partition', firstSector: 34, sectorCount: 2014 });
    expect(() => embeddingArea(disk('gpt', [partition(1, 2048, 1000, 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7')]))).toThrow(
      /no BIOS boot partition/,
    );
  });

  it('nowhere on a floppy: GRUB legacy is the answer there', () => {
    expect(() => embeddingArea(disk('none', [], '1.44M'))).toThrow(/1.44M floppy.*GRUB legacy/);
  });

  it('says how big core.img is against the gap, and what to do', () => {
    const area = embeddingArea(disk('mbr', [partition(1, 63, 1000)]));
    expect(() => checkCoreFits(area, 62 * 512, 'hint')).not.toThrow();
    expect(() => checkCoreFits(area, 62 * 512 + 1, 'Start at 2048.')).toThrow(
      /\(63 sectors\) but the gap between the MBR and partition 1 \(sectors 1–62\) holds 62 sectors.*Start at 2048/,
    );
  });
});

describe('modules', () => {
  it('core.img gets the BIOS disk, the table and the filesystem; names follow GRUB', () => {
    expect(coreModules('mbr', 'fat')).toEqual(['biosdisk', 'part_msdos', 'fat']);
    expect(coreModules('gpt', 'ext2', ['fat', 'multiboot'])).toEqual(['biosdisk', 'part_gpt', 'ext2', 'fat', 'multiboot']);
    expect(grub2Device('mbr', 1)).toBe('(hd0,msdos1)');
    expect(grub2Device('gpt', 2)).toBe('(hd0,gpt2)');
  });

  it('closes over moddep.lst', () => {
    const moddep = 'normal: boot terminal\nterminal:\nboot:\nmultiboot: relocator boot\nrelocator: mmap\nmmap:\nfat: fshelp\n';
    expect(moduleClosure(moddep, ['multiboot'])).toEqual(['boot', 'mmap', 'multiboot', 'relocator']);
  });
});

describe.skipIf(!haveGrub)(`the host's GRUB 2 (${GRUB_DIR})`, () => {
  it('boot.img has the fields at the offsets we patch, and the jmp at 0x66 is the drive check (ndisasm)', () => {
    const bootImg = new Uint8Array(readFileSync(join(GRUB_DIR, 'boot.img')));
    expect(bootImgCoreSector(bootImg)).toBe(1);
    expect(bootImg[0x64]).toBe(0xff);
    if (!hasTool('ndisasm')) return;
    const { dir, cleanup } = tempDir('bootimg-');
    try {
      const disasm = (bytes: Uint8Array) => {
        writeFileSync(join(dir, 'b.bin'), bytes);
        return runToolOk('ndisasm', ['-b16', '-e', String(0x66), join(dir, 'b.bin')])
          .stdout.split('\n')
          .slice(0, 3)
          .map((l) => l.slice(28).trim());
      };
      expect(disasm(bootImg)[0]).toBe('jmp short 0x7');
      expect(disasm(patchBootImg(bootImg, new Uint8Array(512), 1)).slice(0, 3)).toEqual(['nop', 'nop', 'test dl,0x80']);
    } finally {
      cleanup();
    }
  });

  it('grub-mkimage’s core.img has the block list patchCoreImg expects', () => {
    const { dir, cleanup } = tempDir('core-');
    try {
      const out = join(dir, 'core.img');
      runToolOk('grub-mkimage', [
        '-d',
        GRUB_DIR,
        '-O',
        'i386-pc',
        '-p',
        '(hd0,msdos1)/boot/grub',
        '-o',
        out,
        'biosdisk',
        'part_msdos',
        'fat',
      ]);
      const core = new Uint8Array(readFileSync(out));
      expect(readCoreBlockList(core)).toEqual({ startSector: 2, sectorCount: Math.ceil(core.length / 512) - 1, segment: 0x820 });
      // Small enough for the 31 KiB gap before a partition at sector 63
      // (docs/ARCHITECTURE.md, "Two engines").
      expect(core.length).toBeLessThanOrEqual(62 * 512);
    } finally {
      cleanup();
    }
  });
});
