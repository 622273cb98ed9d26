/**
 * GRUB 2's room for core.img, as a partition editor should explain it while a layout is being
 * drawn: the same area `embeddingArea` (grub2.ts) finds for the install, sized against the
 * smallest core.img there is. The install itself checks the real core.img (`checkCoreFits`).
 */
import type { DiskInfo } from '../disk/disk-info';
import { MODERN_ALIGNMENT_SECTORS } from '../disk/partition-spec';
import { formatBytes } from '../disk/sizes';
import { BIOS_BOOT_GUID, embeddingArea, SECTOR_BYTES } from './grub2';

/**
 * The smallest core.img GRUB 2 makes for a partitioned BIOS disk: `grub-mkimage -O i386-pc` with
 * only biosdisk, part_msdos and ext2 is 27 022 bytes, with fat 27 398 bytes (measured with
 * Debian's grub-pc-bin 2.06). Every module built in adds to it; multiboot pulls in ~100 KiB.
 */
export const GRUB2_SMALLEST_CORE_BYTES = 27 * 1024;

export interface EmbeddingNote {
  /** 'warning': core.img may not fit; 'info': worth knowing, and fine for other boot loaders. */
  severity: 'warning' | 'info';
  /** A few words to lead with: "GRUB 2 may not fit". */
  title: string;
  message: string;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * What to say about GRUB 2's room on a layout, or null when there is nothing to say:
 * - an MBR disk whose first partition starts before sector 2048 (the classic sector-63 layout
 *   leaves 31 KiB): core.img may not fit, or cannot when the gap is below the smallest core.img;
 * - a GPT disk without a BIOS boot partition (information: UEFI and other loaders need none),
 *   or with one too small for core.img.
 */
export function embeddingNote(disk: DiskInfo): EmbeddingNote | null {
  if (disk.table === 'none' || disk.partitions.length === 0) return null;
  if (disk.table === 'gpt' && !disk.partitions.some((p) => p.type.toUpperCase() === BIOS_BOOT_GUID)) {
    return {
      severity: 'info',
      title: 'For GRUB 2 on a BIOS',
      message:
        'This GPT has no BIOS boot partition, which is where GRUB 2 puts its core.img (1 MiB, type BIOS boot, is usual). UEFI boot and a boot sector of your own need none.',
    };
  }
  const area = embeddingArea(disk);
  const holds = `${capitalize(area.description)} holds ${formatBytes(area.sectorCount * SECTOR_BYTES)}`;
  const smallest = formatBytes(GRUB2_SMALLEST_CORE_BYTES);
  if (area.sectorCount * SECTOR_BYTES < GRUB2_SMALLEST_CORE_BYTES) {
    const fix =
      area.kind === 'mbr-gap' ? `for GRUB 2, start the first partition at sector ${MODERN_ALIGNMENT_SECTORS} (1 MiB)` : 'make it 1 MiB';
    return {
      severity: 'warning',
      title: 'GRUB 2 does not fit',
      message: `${holds}: too small for GRUB 2's core.img, which is ${smallest} at its smallest. GRUB legacy and a boot sector of your own do not use it; ${fix}.`,
    };
  }
  if (area.kind === 'mbr-gap' && area.firstSector + area.sectorCount < MODERN_ALIGNMENT_SECTORS) {
    return {
      severity: 'warning',
      title: 'GRUB 2 may not fit',
      message: `${holds}. GRUB 2's core.img goes there: ${smallest} at its smallest (ext2 or FAT alone), more with each module built in. Starting the first partition at sector ${MODERN_ALIGNMENT_SECTORS} leaves 1 MiB. GRUB legacy and a boot sector of your own do not use the gap.`,
    };
  }
  return null;
}
