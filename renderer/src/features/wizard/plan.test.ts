import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../../../shared/recipe/schema';
import {
  checkFilesystem,
  checkKernelPath,
  checkPartition,
  checkShape,
  INITIAL_FORM,
  loaderChoices,
  recipeFromWizard,
  recipePathFor,
  suggestedLoader,
  summaryLines,
  volumeOf,
  type LoaderChoice,
  type WizardForm,
} from './plan';

const disk = (patch: Partial<WizardForm>): WizardForm => ({ ...INITIAL_FORM, kind: 'disk', fs: 'ext2', ...patch });

describe('the new-image wizard’s checks', () => {
  it('makes a 1.44M floppy of 80 × 2 × 18 sectors', () => {
    const check = checkShape(INITIAL_FORM);
    expect(check.create).toEqual({ floppy: '1.44M' });
    expect(check.shape).toMatchObject({
      sizeBytes: 1_474_560,
      totalSectors: 2880,
      geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 18 },
    });
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

  it('refuses a C/H/S with more than 63 sectors per track, at that field, in words', () => {
    const check = checkShape(disk({ by: 'chs', cylinders: '100', heads: '16', sectorsPerTrack: '64' }));
    expect(check.errors).toEqual({ sectorsPerTrack: 'Sectors per track: a whole number from 1 to 63, such as 63, not “64”.' });
  });

  it('says every C/H/S problem at once, each at its own field', () => {
    const check = checkShape(disk({ by: 'chs', cylinders: 'x', heads: '300', sectorsPerTrack: '0' }));
    expect(check.shape).toBeNull();
    expect(Object.keys(check.errors).sort()).toEqual(['cylinders', 'heads', 'sectorsPerTrack']);
    expect(check.errors.heads).toBe('Heads: a whole number from 1 to 255, such as 16 (the article) or 255, not “300”.');
    expect(Object.values(check.errors).join(' ')).not.toMatch(/sectorsPerTrack|must be/);
    // Each fine alone, too few sectors together: more cylinders is the fix.
    expect(checkShape(disk({ by: 'chs', cylinders: '1', heads: '1', sectorsPerTrack: '1' })).errors).toEqual({
      cylinders: expect.stringMatching(/too small/),
    });
    // By size: a bad size and a bad head count, both.
    expect(Object.keys(checkShape(disk({ size: 'lots', heads: '0' })).errors).sort()).toEqual(['heads', 'size']);
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
    expect(summaryLines({ ...form, bootloader: 'grub2', kernelFile: '/home/me/kernel.elf' }, shape, placed.partition)).toEqual([
      // Amounts grouped (thin spaces), sector numbers plain, as everywhere in the app.
      'Create /tmp/os/disk.img: 64.48 MiB, 131/16/63 C/H/S, 132\u202f048 sectors, sparse.',
      'Write an MBR with partition 1 from sector 2048 to 132047 (63.48 MiB, byte offset 1\u202f048\u202f576), type 83, bootable.',
      'Format partition 1 as ext2.',
      'Install GRUB 2, copy /home/me/kernel.elf to /boot/kernel.elf and write a menu that boots it (multiboot, on the serial console too).',
      'Save the recipe as /tmp/os/disk.json: `loopstudio build disk.json` makes this image again.',
    ]);
    expect(summaryLines({ ...form, bootloader: 'none', saveRecipe: false }, shape, placed.partition)).toHaveLength(3);
  });

  it('offers the boot loaders the layout allows, saying why not', async () => {
    const floppy = { ...INITIAL_FORM, fs: 'fat12' as const };
    const byId = (choices: LoaderChoice[]) => Object.fromEntries(choices.map((c) => [c.id, c.unavailable]));
    const floppyChoices = loaderChoices(floppy, null);
    expect(byId(floppyChoices)).toMatchObject({
      none: null,
      'grub-legacy': null,
      grub2: expect.stringMatching(/needs a partitioned disk/),
    });
    expect(suggestedLoader(floppyChoices, 'floppy')).toBe('grub-legacy');

    const at63 = disk({ size: '64M', alignmentSectors: 63 });
    const placed63 = await checkPartition(at63, checkShape(at63).shape!);
    const choices63 = loaderChoices(at63, placed63.disk);
    expect(byId(choices63).grub2).toBeNull();
    expect(suggestedLoader(choices63, 'disk')).toBe('grub2');

    // A partition at sector 8 leaves 3.5 KiB: GRUB 2 cannot fit, GRUB legacy can.
    const tight = disk({ size: '64M', partitionStart: '8' });
    const placedTight = await checkPartition(tight, checkShape(tight).shape!);
    expect(placedTight.error).toBeNull();
    expect(byId(loaderChoices(tight, placedTight.disk)).grub2).toMatch(
      /sectors 1–7\) holds 3.5 KiB, less than GRUB 2's smallest core\.img/,
    );

    const gpt = disk({ size: '64M', table: 'gpt' });
    const placedGpt = await checkPartition(gpt, checkShape(gpt).shape!);
    expect(byId(loaderChoices(gpt, placedGpt.disk))).toMatchObject({
      grub2: expect.stringMatching(/BIOS boot partition/),
      'grub-legacy': expect.stringMatching(/GPT/),
    });
    expect(byId(loaderChoices({ ...floppy, fs: 'none' }, null))['grub-legacy']).toMatch(/Needs a filesystem/);
  });

  it('checks the kernel path only when a kernel is copied in', () => {
    const form = { ...INITIAL_FORM, kernelFile: '/k.elf' };
    expect(checkKernelPath(form)).toBeNull();
    expect(checkKernelPath({ ...form, kernelPath: 'boot/k' })).toMatch(/starting with \//);
    expect(checkKernelPath({ ...form, kernelPath: '/boot/' })).toMatch(/not a folder/);
    expect(checkKernelPath({ ...form, kernelType: 'multiboot2' })).toMatch(/GRUB legacy cannot boot multiboot2/);
    expect(checkKernelPath({ ...form, kernelFile: '', kernelPath: 'x' })).toBeNull();
    expect(checkKernelPath({ ...form, bootloader: 'none', kernelPath: 'x' })).toBeNull();
  });

  it('writes a recipe the recipe schema accepts, with the partition where the wizard placed it', async () => {
    expect(recipePathFor('/tmp/os/disk.img')).toBe('/tmp/os/disk.json');
    expect(recipePathFor('/tmp/os/disk.raw')).toBe('/tmp/os/disk.raw.json');
    expect(recipePathFor('')).toBeNull();
    const form = disk({
      size: '64M',
      alignmentSectors: 63,
      bootloader: 'grub2',
      kernelFile: '/tmp/os/kernel.elf',
      label: 'MYOS',
      path: '/tmp/os/disk.img',
    });
    const placed = await checkPartition(form, checkShape(form).shape!);
    const recipe = parseRecipe(recipeFromWizard(form, placed.partition));
    expect(recipe).toMatchObject({
      image: { chs: '131/16/63' },
      table: 'mbr',
      partitions: [{ start: 63, size: 132_048 - 63, bootable: true, filesystem: { type: 'ext2', label: 'MYOS' } }],
      files: [{ from: '/tmp/os/kernel.elf', to: '/boot/kernel.elf' }],
      bootloader: { grub2: {}, menu: { serial: true, entries: [{ title: 'MYOS', kernel: '/boot/kernel.elf', type: 'multiboot' }] } },
    });
    expect(recipe.partitions![0]!.type).toBeUndefined();
    const floppy = parseRecipe(recipeFromWizard({ ...INITIAL_FORM, bootloader: 'none' }, null));
    expect(floppy).toEqual(expect.objectContaining({ image: { floppy: '1.44M' }, filesystem: { type: 'fat12' } }));
    expect(floppy.bootloader).toBeUndefined();
    expect(floppy.files).toBeUndefined();
  });
});
