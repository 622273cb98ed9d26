/**
 * What the partition editor says about GRUB 2's room for core.img, and the size it measures the
 * room against, checked with the host's own grub-mkimage where it is installed.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasTool, runToolOk, tempDir } from '../../tests/support/host';
import type { DiskInfo, PartitionInfo } from '../disk/disk-info';
import { BIOS_BOOT_GUID } from './grub2';
import { embeddingNote, GRUB2_SMALLEST_CORE_BYTES } from './grub2-room';

const GRUB_DIR = '/usr/lib/grub/i386-pc';
const haveGrub = existsSync(join(GRUB_DIR, 'kernel.img')) && hasTool('grub-mkimage');
const LINUX_GUID = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';

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

function disk(table: DiskInfo['table'], partitions: PartitionInfo[]): DiskInfo {
  return {
    sizeBytes: 64 << 20,
    totalSectors: 131072,
    geometry: { cylinders: 8, heads: 255, sectorsPerTrack: 63, sectorSize: 512 },
    geometrySource: 'size',
    floppy: null,
    table,
    diskId: null,
    partitions,
    warnings: [],
  };
}

describe('GRUB 2’s room, as the partition editor explains it', () => {
  it('warns that core.img may not fit the 31 KiB before a partition at sector 63', () => {
    const note = embeddingNote(disk('mbr', [partition(1, 63, 100_000)]));
    expect(note).toMatchObject({ severity: 'warning', title: 'GRUB 2 may not fit' });
    expect(note?.message).toMatch(
      /^The gap between the MBR and partition 1 \(sectors 1–62\) holds 31 KiB\. GRUB 2's core\.img goes there: 27 KiB at its smallest.*sector 2048 leaves 1 MiB\. GRUB legacy/,
    );
  });

  it('says the gap is too small below the smallest core.img', () => {
    expect(embeddingNote(disk('mbr', [partition(1, 32, 1000)]))?.message).toMatch(/holds 15\.5 KiB: too small for GRUB 2's core\.img/);
  });

  it('has nothing to say about a first partition at 2048, or an empty table', () => {
    expect(embeddingNote(disk('mbr', [partition(2, 4096, 100), partition(1, 2048, 100)]))).toBeNull();
    expect(embeddingNote(disk('mbr', []))).toBeNull();
    expect(embeddingNote(disk('none', []))).toBeNull();
  });

  it('on a GPT, only informs that GRUB 2 for BIOS needs a BIOS boot partition', () => {
    expect(embeddingNote(disk('gpt', [partition(1, 2048, 1000, LINUX_GUID)]))).toEqual({
      severity: 'info',
      title: 'For GRUB 2 on a BIOS',
      message: expect.stringMatching(/^This GPT has no BIOS boot partition/),
    });
    expect(embeddingNote(disk('gpt', [partition(1, 34, 2014, BIOS_BOOT_GUID), partition(2, 2048, 1000, LINUX_GUID)]))).toBeNull();
    expect(embeddingNote(disk('gpt', [partition(1, 34, 40, BIOS_BOOT_GUID)]))).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(/BIOS boot partition 1 .* holds 20 KiB: too small.*make it 1 MiB/),
    });
  });

  it.skipIf(!haveGrub)('measures against a core.img no bigger than grub-mkimage’s smallest', () => {
    const { dir, cleanup } = tempDir('core-');
    try {
      for (const fs of ['ext2', 'fat']) {
        const out = join(dir, `core-${fs}.img`);
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
          fs,
        ]);
        const bytes = statSync(out).size;
        expect(bytes).toBeLessThanOrEqual(GRUB2_SMALLEST_CORE_BYTES);
        expect(bytes).toBeGreaterThan(GRUB2_SMALLEST_CORE_BYTES - 2048);
      }
    } finally {
      cleanup();
    }
  });
});
