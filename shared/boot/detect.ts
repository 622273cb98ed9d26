/**
 * Which boot code an image's first sector holds — what a BIOS runs when it boots the image — for
 * `image.info` and the app's Overview: GRUB 2's boot.img (and where its core.img is), GRUB
 * legacy's stage1 (and stage2's sector), a formatter's "not a bootable disk" stub, someone's own
 * boot sector, or nothing bootable. Read-only, from the structures grub2.ts and grub-legacy.ts
 * write: boot.img's core.img LBA at 0x5C and core.img's block list at 0x1F4; stage1's version
 * 3.2 at 0x3E and stage2's LBA at 0x44.
 */
import type { BlockDevice } from '../disk/block-device';
import type { DiskInfo } from '../disk/disk-info';
import { bootImgCoreSector, CORE_IMG, readCoreBlockList } from './grub2';
import { COMPAT_VERSION_MAJOR, COMPAT_VERSION_MINOR, readStage1, STAGE1 } from './grub-legacy';

const SECTOR = 512;
/** Both GRUBs' first stage carry these strings for their error messages. */
const GRUB_MARK = 'GRUB \0Geom\0';
/** Stubs formatters put in a volume that has no boot loader (ours, mkfs.fat's, mke2fs leaves zeros). */
const NOT_BOOTABLE = /not a bootable disk|Non-system disk/i;

export interface BootCode {
  kind: 'grub2' | 'grub-legacy' | 'not-bootable-stub' | 'boot-sector' | 'none';
  /** In words, its name first: "GRUB 2: boot.img in the MBR, core.img in sectors 1–54 (27 KiB)", "none: …". */
  description: string;
  /** GRUB 2 (BIOS): where core.img is, as boot.img and core.img's block list say. */
  core?: { firstSector: number; sectorCount: number };
  /** GRUB legacy: the sector stage1 loads stage2's first sector from. */
  stage2Sector?: number;
}

function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function kib(sectors: number): string {
  const value = (sectors * SECTOR) / 1024;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} KiB`;
}

/** The boot code in sector 0 of the image; `disk` says whether that is an MBR (the table) or a floppy's boot sector. */
export async function detectBootCode(device: BlockDevice, disk: Pick<DiskInfo, 'table' | 'totalSectors'>): Promise<BootCode> {
  if (device.sizeBytes < SECTOR) return { kind: 'none', description: 'none: the image is smaller than one sector' };
  const sector0 = await device.read(0, SECTOR);
  const where = disk.table === 'none' ? 'sector 0' : 'the MBR';
  if (sector0[510] !== 0x55 || sector0[511] !== 0xaa)
    return { kind: 'none', description: `none: ${where} has no boot signature (55 AA), so a BIOS does not boot it` };
  const text = latin1(sector0);
  if (text.includes(GRUB_MARK)) {
    if (sector0[STAGE1.VER_MAJ_OFFS] === COMPAT_VERSION_MAJOR && sector0[STAGE1.VER_MAJ_OFFS + 1] === COMPAT_VERSION_MINOR) {
      const { stage2Sector } = readStage1(sector0);
      return {
        kind: 'grub-legacy',
        description: `GRUB legacy: stage1 in ${where}, loading stage2 from sector ${stage2Sector}`,
        stage2Sector,
      };
    }
    const firstSector = bootImgCoreSector(sector0);
    if (firstSector > 0 && firstSector < disk.totalSectors) {
      const list = readCoreBlockList(await device.read(firstSector * SECTOR, SECTOR));
      if (list.segment === CORE_IMG.FIRST_SEGMENT && list.startSector === firstSector + 1) {
        const sectorCount = list.sectorCount + 1;
        return {
          kind: 'grub2',
          description: `GRUB 2: boot.img in ${where}, core.img in sectors ${firstSector}–${firstSector + sectorCount - 1} (${kib(sectorCount)})`,
          core: { firstSector, sectorCount },
        };
      }
    }
    return { kind: 'grub2', description: `GRUB 2: boot.img in ${where}, but no core.img where it points (sector ${firstSector})` };
  }
  if (NOT_BOOTABLE.test(text)) return { kind: 'not-bootable-stub', description: 'none: the formatter’s “not a bootable disk” message' };
  const code = disk.table === 'none' ? sector0.subarray(0, 3) : sector0.subarray(0, 440);
  if (code.every((b) => b === 0)) return { kind: 'none', description: `none: no boot code in ${where}` };
  return { kind: 'boot-sector', description: `a boot sector of your own: boot code in ${where} that is not GRUB's` };
}
