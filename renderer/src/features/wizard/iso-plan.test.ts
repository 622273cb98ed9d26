/**
 * The wizard's ISO recipe: every choice gives a recipe the schema accepts (what `recipe.build`
 * then builds), the problems are the schema's, and the recipe goes beside the image.
 */
import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../../../shared/recipe/schema';
import { INITIAL_KERNEL_ENTRY } from '../bootloader/kernel-entry';
import { INITIAL_ISO, isoAllowOutside, isoProblems, isoRecipe, isoRecipePath, ISO_BOOT_CHOICES, type IsoForm } from './iso-plan';

const form = (over: Partial<IsoForm> = {}): IsoForm => ({
  ...INITIAL_ISO,
  ...INITIAL_KERNEL_ENTRY,
  isoImage: true,
  path: '/home/me/os/myos.iso',
  kernelFile: '/home/me/os/build/kernel.elf',
  ...over,
});

describe('the wizard’s ISO recipe', () => {
  it('every boot choice, hybrid or not, dated or not, is a valid recipe', () => {
    for (const { id } of ISO_BOOT_CHOICES) {
      for (const isoHybrid of [true, false]) {
        for (const isoFixedDate of [true, false]) {
          const recipe = isoRecipe(
            form({ isoBoot: id, isoHybrid, isoFixedDate, isoVolumeId: 'MYOS', isoBootImage: '/home/me/os/boot.bin' }),
            '2024-05-06',
          );
          expect(() => parseRecipe(recipe), `${id} hybrid=${isoHybrid}`).not.toThrow();
        }
      }
    }
    expect(isoRecipe(form(), '2024-05-06')).toMatchObject({
      image: { iso: { date: '2024-05-06', hybrid: true } },
      files: [{ from: '/home/me/os/build/kernel.elf', to: '/boot/kernel.elf' }],
      bootloader: { grub2: { firmware: 'both' }, menu: { entries: [{ kernel: '/boot/kernel.elf', type: 'multiboot' }] } },
    });
    expect(isoRecipe(form({ isoBoot: 'grub2-uefi' })).image.iso).not.toHaveProperty('hybrid');
  });

  it('names each problem at its field: the label, the kernel GRUB boots, your boot image', () => {
    expect(isoProblems(form({ isoVolumeId: 'x'.repeat(33) })).isoVolumeId).toMatch(/at most 32/);
    expect(isoProblems(form({ isoVolumeId: 'Ünï' })).isoVolumeId).toMatch(/printable ASCII/);
    expect(isoProblems(form({ kernelFile: '' })).kernelFile).toMatch(/An ISO is made from files/);
    expect(isoProblems(form({ kernelPath: 'boot/k' })).kernelPath).toMatch(/starting with \//);
    expect(isoProblems(form({ isoBoot: 'boot-image' })).isoBootImage).toMatch(/Name the boot image file/);
    expect(isoProblems(form({ isoBoot: 'none', kernelFile: '' }))).toEqual({});
  });

  it('puts the recipe beside the image and allows the folders of the files picked', () => {
    expect(isoRecipePath('/home/me/os/myos.iso')).toBe('/home/me/os/myos.json');
    expect(isoRecipePath('/home/me/os/cd')).toBe('/home/me/os/cd.json');
    expect(isoRecipePath('')).toBeNull();
    expect(isoAllowOutside(form())).toEqual(['/home/me/os/build']);
    expect(isoAllowOutside(form({ isoBoot: 'boot-image', isoBootImage: '/srv/boot.bin' }))).toEqual(['/srv']);
  });
});
