/**
 * The boot menu's one entry, as the new-image wizard and the Install bootloader dialog ask for it:
 * a title, the kernel's path in the image, its kind and command line, the host file copied there,
 * and whether the menu is on the serial console too. Checked here, each problem at its field.
 */
import { KERNEL_TYPES, type KernelType } from '../../../../shared/boot/menu';
import type { RecipeMenu } from '../../../../shared/recipe/schema';
import type { FieldErrors } from '../common/useForm';

export interface KernelEntry {
  /** The menu entry's title; empty: the caller's default (the volume label, "My OS"). */
  kernelTitle: string;
  /** The kernel's path inside the image (the menu entry boots it). */
  kernelPath: string;
  kernelType: KernelType;
  cmdline: string;
  /** A host file copied to kernelPath first; empty: the kernel is (or will be) there already. */
  kernelFile: string;
  /** The boot menu on COM1 too. */
  serial: boolean;
}

export const INITIAL_KERNEL_ENTRY: KernelEntry = {
  kernelTitle: '',
  kernelPath: '/boot/kernel.elf',
  kernelType: 'multiboot',
  cmdline: '',
  kernelFile: '',
  serial: true,
};

export type MenuLoader = 'grub2' | 'grub-legacy';

/** The kinds of kernel a loader boots: GRUB legacy knows no multiboot2. */
export function kernelTypesFor(loader: MenuLoader): KernelType[] {
  return KERNEL_TYPES.filter((t) => loader === 'grub2' || t !== 'multiboot2');
}

/** Each field's problem, all at once. */
export function kernelEntryProblems(entry: KernelEntry, loader: MenuLoader): FieldErrors<KernelEntry> {
  const problems: FieldErrors<KernelEntry> = {};
  const path = entry.kernelPath.trim();
  if (path === '') problems.kernelPath = 'Type the kernel’s path in the image, such as /boot/kernel.elf.';
  else if (!path.startsWith('/')) problems.kernelPath = 'A path inside the image, starting with /, such as /boot/kernel.elf.';
  else if (path.endsWith('/')) problems.kernelPath = 'The kernel’s file name, not a folder: /boot/kernel.elf.';
  if (loader === 'grub-legacy' && entry.kernelType === 'multiboot2')
    problems.kernelType = 'GRUB legacy cannot boot multiboot2 kernels: choose multiboot, or GRUB 2.';
  if (/[\r\n]/.test(entry.kernelTitle)) problems.kernelTitle = 'A title is one line.';
  if (/[\r\n]/.test(entry.cmdline)) problems.cmdline = 'A command line is one line.';
  return problems;
}

/** The one-entry menu the entry stands for. */
export function menuOf(entry: KernelEntry, fallbackTitle: string, timeout = 3): RecipeMenu {
  return {
    timeout,
    default: 0,
    serial: entry.serial,
    entries: [
      {
        title: entry.kernelTitle.trim() || fallbackTitle,
        kernel: entry.kernelPath.trim(),
        type: entry.kernelType,
        ...(entry.cmdline.trim() ? { cmdline: entry.cmdline.trim() } : {}),
      },
    ],
  };
}
