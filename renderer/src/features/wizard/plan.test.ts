import { describe, expect, it } from 'vitest';
import { checkFilesystem, checkPartition, checkShape, INITIAL_FORM, summaryLines, volumeOf, type WizardForm } from './plan';

const disk = (patch: Partial<WizardForm>): WizardForm => ({ ...INITIAL_FORM, kind: 'disk', fs: 'ext2', ...patch });

describe('the new-image wizard’s checks', () => {
  it('makes a 1.44M floppy of 80 × 2 × 18 sectors', () => {
    const check = checkShape(INITIAL_FORM);
    expect(check.create).toEqual({ floppy: '1.44M' });
    expect(check.shape).toMatchObject({ sizeBytes: 1_474_560, totalSectors: 2880, geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 18 } });
  });

  it('rounds a hard disk size up to whole 16 × 63 cylinders, as the article’s dd does', () => {
    const check = checkShape(disk({ size: '64M' }));
    // 64 MiB / (16 × 63 × 512 = 516 096 bytes per cylinder) = 130.03 cylinders: 131.
    expect(check.create).toEqual({ chs: '131/16/63' });
    expect(check.report?.bytesPerCylinder).toBe(516_096);
    expect(check.shape?.sizeBytes).toBe(131 * 516_096);
  });

  it('refuses a size too small for a disk image, with image.create’s words, at the size field', () => {
    const check = checkShape(disk({ size: '10K' }));
    expect(check.shape).toBeNull();
    expect(check.errors.size).toBe('Size 10K: 10 KiB is too small for a disk image; the smallest is 32768 bytes (64 sectors).');
  });

  it('refuses a C/H/S with more than 63 sectors per track', () => {
    const check = checkShape(disk({ by: 'chs', cylinders: '100', heads: '16', sectorsPerTrack: '64' }));
    expect(check.errors.chs).toMatch(/63/);
  });

  it('places the first partition as image.partition will, and refuses one past the end of the disk', async () => {
    const form = disk({ by: 'chs', cylinders: '1000', heads: '16', sectorsPerTrack: '63', alignmentSectors: 63 });
    const shape = checkShape(form).shape!;
    const placed = await checkPartition(form, shape);
    // The article's numbers: sector 63 to 1007999, byte offset 32256.
    expect(placed.partition).toMatchObject({ startSector: 63, endSector: 1_007_999, offsetBytes: 32_256, type: '83', bootable: true });
    const refused = await checkPartition({ ...form, partitionStart: '2000000' }, shape);
    expect(refused.partition).toBeNull();
    expect(refused.error).toMatch(/2000000/);
  });

  it('refuses a filesystem that cannot fill the volume, saying why', async () => {
    const form = disk({ size: '200M', fs: 'fat12' });
    const shape = checkShape(form).shape!;
    const placed = await checkPartition(form, shape);
    const plan = checkFilesystem(form, volumeOf(form, shape, placed.partition));
    expect(plan?.ok).toBe(false);
    expect(plan?.text).toMatch(/FAT12/);
    expect(checkFilesystem({ ...form, fs: 'fat16' }, volumeOf(form, shape, placed.partition))?.ok).toBe(true);
  });

  it('says what Create will do, in order', async () => {
    const form = disk({ size: '64M', path: '/tmp/os/disk.img' });
    const shape = checkShape(form).shape!;
    const placed = await checkPartition(form, shape);
    expect(summaryLines(form, shape, placed.partition)).toEqual([
      'Create /tmp/os/disk.img: 64.48 MiB, 131/16/63 C/H/S, 132048 sectors, sparse.',
      'Write an MBR with partition 1 from sector 2048 to 132047 (63.48 MiB, byte offset 1048576), type 83, bootable.',
      'Format partition 1 as ext2.',
    ]);
  });
});
