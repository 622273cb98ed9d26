/**
 * The new-image wizard's third kind (issue 16): a bootable ISO image — the OSDev Bare Bones'
 * `grub-mkrescue -o myos.iso isodir`, made by Loopback Studio itself. An ISO is built from a
 * recipe: the wizard writes one (`"image": {"iso": …}`) beside the image and asks `recipe.build`
 * for it, so the app, the recipe and `loopstudio build` make the same bytes. The fields are
 * checked here as the recipe schema checks them (without zod, which stays out of the window's
 * first chunk), each problem at its field; the build checks everything again.
 */
import type { Recipe } from '../../../../shared/recipe/schema';
import { kernelEntryProblems, menuOf, type KernelEntry } from '../bootloader/kernel-entry';
import type { FieldErrors } from '../common/useForm';

/** How the ISO boots: GRUB 2 (grub-mkrescue's BIOS and UEFI images, one grub.cfg), an El Torito image of your own, or not at all. */
export type IsoBoot = 'grub2-both' | 'grub2-bios' | 'grub2-uefi' | 'boot-image' | 'none';

/** The wizard's ISO fields (beside the disk ones, which an ISO does not use). */
export interface IsoFields {
  /** The third kind of image: a bootable ISO (CD/USB). */
  isoImage: boolean;
  /** The ISO 9660 volume identifier; empty: ISOIMAGE, as xorriso. */
  isoVolumeId: string;
  isoBoot: IsoBoot;
  /** GRUB's hybrid MBR: boots from a USB stick, or `qemu -hda`, too. */
  isoHybrid: boolean;
  /** Date the volume and its files (today, in the recipe): every build gives the same bytes. */
  isoFixedDate: boolean;
  /** Your own no-emulation boot image: the host file. */
  isoBootImage: string;
}

export const INITIAL_ISO: IsoFields = {
  isoImage: false,
  isoVolumeId: '',
  isoBoot: 'grub2-both',
  isoHybrid: true,
  isoFixedDate: true,
  isoBootImage: '',
};

export type IsoForm = IsoFields & KernelEntry & { path: string };

export const ISO_BOOT_CHOICES: ReadonlyArray<{ id: IsoBoot; label: string; hint: string }> = [
  { id: 'grub2-both', label: 'GRUB 2 for BIOS and UEFI', hint: 'as grub-mkrescue: an El Torito image for each firmware, one grub.cfg' },
  { id: 'grub2-bios', label: 'GRUB 2 for BIOS', hint: "GRUB's El Torito image (i386-pc-eltorito) and its modules" },
  { id: 'grub2-uefi', label: 'GRUB 2 for UEFI', hint: 'BOOTX64.EFI in an EFI system partition image' },
  {
    id: 'boot-image',
    label: 'Your own boot image',
    hint: 'an El Torito “no emulation” image: the BIOS loads it to 0000:7C00 and starts it',
  },
  { id: 'none', label: 'None', hint: 'a data CD, not bootable' },
];

export const isGrub = (boot: IsoBoot): boot is 'grub2-both' | 'grub2-bios' | 'grub2-uefi' => boot.startsWith('grub2');
/** The hybrid MBR is GRUB's boot_hybrid.img: it starts GRUB for BIOS. */
export const hybridPossible = (boot: IsoBoot) => boot === 'grub2-both' || boot === 'grub2-bios';

/** Where the recipe of `isoPath` goes: beside it, myos.iso → myos.json. */
export function isoRecipePath(isoPath: string): string | null {
  const path = isoPath.trim();
  if (!path || path.endsWith('/')) return null;
  return /\.iso$/i.test(path) ? path.replace(/\.iso$/i, '.json') : `${path}.json`;
}

/** The day, as the recipe pins it ("2024-05-06"). */
export function today(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** The ISO fields' problems, each at its field, in the recipe schema's words. */
export function isoProblems(form: IsoForm): FieldErrors<IsoFields & KernelEntry> {
  const problems: FieldErrors<IsoFields & KernelEntry> = {};
  const volumeId = form.isoVolumeId.trim();
  // shared/recipe/schema.ts's isoImageSchema.volumeId, in its words.
  if (volumeId.length > 32) problems.isoVolumeId = `The volume label has ${volumeId.length} characters: at most 32.`;
  else if (volumeId && !/^[\x20-\x7e]+$/.test(volumeId))
    problems.isoVolumeId = 'The volume label takes printable ASCII only (letters, digits, space, punctuation).';
  if (isGrub(form.isoBoot)) {
    if (!form.kernelFile.trim()) problems.kernelFile = 'An ISO is made from files: name the kernel to put on it (GRUB’s menu boots it).';
    Object.assign(problems, kernelEntryProblems(form, 'grub2'));
  }
  if (form.isoBoot === 'boot-image' && !form.isoBootImage.trim())
    problems.isoBootImage = 'Name the boot image file: the program the BIOS starts from the CD.';
  return problems;
}

/** The recipe the wizard saves beside the ISO and builds. */
export function isoRecipe(form: IsoForm, date = today()): Recipe {
  const volumeId = form.isoVolumeId.trim();
  const grub = isGrub(form.isoBoot);
  const kernelFile = form.kernelFile.trim();
  const bootImage = form.isoBootImage.trim();
  const recipe: Recipe = {
    description: `Made by Loopback Studio's new-image wizard${form.path.trim() ? ` as ${form.path.trim().split('/').pop()}` : ''}: a bootable ISO image.`,
    image: {
      iso: {
        ...(volumeId ? { volumeId } : {}),
        ...(form.isoFixedDate ? { date } : {}),
        ...(hybridPossible(form.isoBoot) ? { hybrid: form.isoHybrid } : {}),
      },
    },
    ...(grub && kernelFile ? { files: [{ from: kernelFile, to: form.kernelPath.trim() }] } : {}),
  };
  if (grub) {
    const firmware = form.isoBoot === 'grub2-both' ? 'both' : form.isoBoot === 'grub2-bios' ? 'bios' : 'uefi';
    recipe.bootloader = { grub2: { firmware }, ...(kernelFile ? { menu: menuOf(form, volumeId || 'My OS') } : {}) };
  } else if (form.isoBoot === 'boot-image' && bootImage) {
    recipe.bootloader = { bootImage: { file: bootImage } };
  }
  return recipe;
}

/** The host folders the recipe reads from besides its own: the files the person picked in the wizard (their consent, as `--allow-outside`). */
export function isoAllowOutside(form: IsoForm): string[] {
  const files = [isGrub(form.isoBoot) ? form.kernelFile.trim() : '', form.isoBoot === 'boot-image' ? form.isoBootImage.trim() : ''].filter(
    Boolean,
  );
  return [...new Set(files.map((f) => f.slice(0, f.lastIndexOf('/')) || '/'))];
}

/** What Create will do, for the summary. */
export function isoSummaryLines(form: IsoForm): string[] {
  const name = form.path.trim() || '(no file chosen yet)';
  const recipe = isoRecipePath(form.path);
  const lines = [`Save the recipe as ${recipe ?? '(beside the image)'}: an ISO image is built from it, here and by \`loopstudio build\`.`];
  lines.push(
    `Build ${name}: ISO 9660 with Rock Ridge and Joliet, labelled “${form.isoVolumeId.trim() || 'ISOIMAGE'}”${form.isoFixedDate ? `, dated ${today()} (the same bytes every build)` : ''}.`,
  );
  if (isGrub(form.isoBoot)) {
    const firmware = form.isoBoot === 'grub2-both' ? 'BIOS and UEFI' : form.isoBoot === 'grub2-bios' ? 'BIOS' : 'UEFI';
    lines.push(
      `Copy ${form.kernelFile.trim() || 'the kernel'} to ${form.kernelPath.trim()} and write /boot/grub/grub.cfg to boot it (${form.kernelType}${form.cmdline.trim() ? ` ${form.cmdline.trim()}` : ''}${form.serial ? ', on the serial console too' : ''}).`,
      `Boot with GRUB 2 for ${firmware}${hybridPossible(form.isoBoot) && form.isoHybrid ? ', hybrid: from a CD or a USB stick' : ': from a CD'}.`,
    );
  } else if (form.isoBoot === 'boot-image') {
    lines.push(`Boot ${form.isoBootImage.trim() || 'your boot image'} (El Torito, no emulation, 4 sectors loaded at 0000:7C00).`);
  } else {
    lines.push('Not bootable: a data CD.');
  }
  lines.push('Open it: the image view browses it read-only.');
  return lines;
}

/** The same from a terminal (the wizard's "Show commands"). */
export function isoCommands(form: IsoForm): string[] {
  const recipe = isoRecipePath(form.path)?.split('/').pop() ?? 'myos.json';
  const image = form.path.trim().split('/').pop() || 'myos.iso';
  const allow = isoAllowOutside(form)
    .map((dir) => ` --allow-outside ${dir}`)
    .join('');
  return [
    `loopstudio build ${recipe} -o ${image}${allow}`,
    `loopstudio build ${recipe} --print-commands   # the same with grub-mkimage, mtools and xorriso`,
    `loopstudio qemu ${image}${form.isoBoot === 'grub2-uefi' ? ' --uefi' : ''}   # boots it as a CD${hybridPossible(form.isoBoot) && form.isoHybrid ? '; --disk as a USB stick' : ''}`,
  ];
}
