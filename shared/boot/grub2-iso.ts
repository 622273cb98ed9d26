/**
 * GRUB 2 on an ISO image, as grub-mkrescue has xorriso do it, in pure patching:
 *
 * - `--grub2-boot-info` (xorrisofs(1)): bytes 2548–2555 of the El Torito BIOS boot image
 *   (GRUB's i386-pc-eltorito core image: cdboot.img, 2048 bytes, then core.img whose first
 *   sector is diskboot.img) get the image's own 512-byte sector address + 5, as a 64-bit
 *   little-endian number. 2548 = 2048 + 0x1F4 is diskboot's first block-list entry: started from
 *   a hard disk, diskboot loads the rest of core.img from there (the sector after itself).
 * - `--grub2-mbr boot_hybrid.img` with `--protective-msdos-label` and `-append_partition 2 0xef
 *   efi.img` (the MBR layout the libisofs author recommends for GRUB ISOs that also boot from a
 *   USB stick): the System Area's first sector is boot_hybrid.img's code (432 bytes) with, at
 *   0x1B0, the boot image's 512-byte sector address + 4 (64-bit little-endian) — the first
 *   sector of core.img, which boot_hybrid loads like boot.img loads core.img from a disk — and a
 *   partition table: entry 1, bootable, type 0xCD, from sector 1 to the end of the ISO 9660
 *   filesystem; entry 2, type 0xEF, the appended EFI system partition (a FAT image) after it.
 *   CHS values use 64 heads × 32 sectors, xorriso's default, and past cylinder 1023 that
 *   geometry's last address, 1023/63/32 (xorriso keeps the geometry; it does not switch to the
 *   1023/254/63 of 255-head tables). The disk signature stays 0, as xorriso leaves it.
 *
 * Measured with xorriso 1.5.4 on Debian's grub-pc-bin 2.06 (grub2-iso.test.ts holds two of its
 * sectors; shared/fs/iso9660/boot.test.ts compares ours with xorriso's for xorriso's own
 * layout): boot_hybrid.img has `01 00 … 00` at 0x1B0 and zeros from 0x1B8 to the 55 AA.
 */
import { lbaToChs, type Chs, type TrackGeometry } from '../disk/geometry';
import { emptyEntry, emptyMbrSector, encodeMbrSector, MBR_STATUS_ACTIVE, MBR_STATUS_INACTIVE, type MbrSector } from '../disk/mbr-sector';
import { MBR_TYPE_EFI_SYSTEM } from '../disk/partition-types';
import { LoopbackError } from '../errors';

export const SECTOR_BYTES = 512;
/** 2K blocks of an ISO image are four 512-byte sectors. */
export const SECTORS_PER_ISO_BLOCK = 4;

/** Where `--grub2-boot-info` patches the boot image: 2048 + GRUB_BOOT_MACHINE_LIST_SIZE's first entry (0x1F4). */
export const GRUB2_BOOT_INFO_OFFSET = 2548;
/** What is added to the boot image's sector address there: diskboot's next sector is 5 after the image's start. */
export const GRUB2_BOOT_INFO_ADDEND = 5;

/** boot_hybrid.img's code ends where xorriso writes the core's address. */
export const HYBRID_MBR_CODE_BYTES = 432;
/** `--grub2-mbr`: the 64-bit sector address of core.img's first sector goes at 0x1B0. */
export const HYBRID_MBR_CORE_SECTOR_OFFSET = 0x1b0;
/** What is added to the boot image's sector address there: core.img starts after cdboot.img's 2048 bytes. */
export const HYBRID_MBR_CORE_ADDEND = 4;

/** `--protective-msdos-label`'s type for the ISO partition. */
export const MBR_TYPE_ISO9660_HYBRID = 0xcd;
/** xorriso's default CHS geometry for ISO partition tables (-partition_hd_cyl 64, -partition_sec_hd 32). */
export const ISO_MBR_GEOMETRY: TrackGeometry = { heads: 64, sectorsPerTrack: 32 };

/** The CHS an entry holds for `lba` in xorriso's 64 × 32 geometry, clamped to its last address. */
export function isoMbrChs(lba: number): Chs {
  const chs = lbaToChs(lba, ISO_MBR_GEOMETRY);
  return chs.cylinder > 1023 ? { cylinder: 1023, head: ISO_MBR_GEOMETRY.heads - 1, sector: ISO_MBR_GEOMETRY.sectorsPerTrack } : chs;
}

function putU64LE(bytes: Uint8Array, offset: number, value: number): void {
  let rest = value;
  for (let i = 0; i < 8; i++) {
    bytes[offset + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

/** `--grub2-boot-info`: patches GRUB's El Torito image (in place) for block `bootImageBlock` (2 KiB). */
export function patchGrub2BootInfo(image: Uint8Array, bootImageBlock: number): void {
  if (image.length < GRUB2_BOOT_INFO_OFFSET + 8) {
    throw new LoopbackError(
      'VALIDATION',
      `GRUB's boot info goes at byte ${GRUB2_BOOT_INFO_OFFSET} of the boot image, but the image is only ${image.length} bytes: it is no GRUB i386-pc-eltorito image`,
      { sizeBytes: image.length },
    );
  }
  putU64LE(image, GRUB2_BOOT_INFO_OFFSET, bootImageBlock * SECTORS_PER_ISO_BLOCK + GRUB2_BOOT_INFO_ADDEND);
}

export interface HybridMbrLayout {
  /** At least the first 432 bytes of GRUB's boot_hybrid.img (the whole 512-byte file is fine). */
  bootCode: Uint8Array;
  /** The 2 KiB block of the El Torito BIOS boot image (GRUB's eltorito.img). */
  bootImageBlock: number;
  /** Where the ISO 9660 filesystem ends, in 512-byte sectors (partition 1 is sectors 1 … this − 1). */
  isoEndSector: number;
  /** The appended EFI system partition, in 512-byte sectors, if any. */
  esp?: { startSector: number; sectorCount: number };
}

/** The fields of the hybrid MBR sector, for callers that want to show or check them. */
export function hybridMbrSector(layout: HybridMbrLayout): MbrSector {
  if (layout.bootCode.length < HYBRID_MBR_CODE_BYTES) {
    throw new LoopbackError(
      'VALIDATION',
      `the hybrid MBR code must be at least the first ${HYBRID_MBR_CODE_BYTES} bytes of GRUB's boot_hybrid.img; got ${layout.bootCode.length} bytes`,
      { sizeBytes: layout.bootCode.length },
    );
  }
  if (!Number.isSafeInteger(layout.isoEndSector) || layout.isoEndSector < 2) {
    throw new LoopbackError('INTERNAL', `the ISO partition must end after sector 1 (got ${layout.isoEndSector})`);
  }
  const lastSector = layout.esp ? layout.esp.startSector + layout.esp.sectorCount - 1 : layout.isoEndSector - 1;
  if (lastSector > 0xffffffff) {
    throw new LoopbackError('VALIDATION', 'the image is larger than an MBR partition table can describe (2 TiB)', { lastSector });
  }
  const sector = emptyMbrSector(0);
  sector.bootCode.set(layout.bootCode.subarray(0, HYBRID_MBR_CODE_BYTES));
  putU64LE(sector.bootCode, HYBRID_MBR_CORE_SECTOR_OFFSET, layout.bootImageBlock * SECTORS_PER_ISO_BLOCK + HYBRID_MBR_CORE_ADDEND);
  const entry = (status: number, type: number, startSector: number, sectorCount: number) => ({
    ...emptyEntry(),
    status,
    type,
    firstChs: isoMbrChs(startSector),
    lastChs: isoMbrChs(startSector + sectorCount - 1),
    startLBA: startSector,
    sectorCount,
  });
  sector.entries[0] = entry(MBR_STATUS_ACTIVE, MBR_TYPE_ISO9660_HYBRID, 1, layout.isoEndSector - 1);
  if (layout.esp) sector.entries[1] = entry(MBR_STATUS_INACTIVE, MBR_TYPE_EFI_SYSTEM, layout.esp.startSector, layout.esp.sectorCount);
  return sector;
}

/** The 512 bytes of the hybrid MBR (sector 0 of the image). */
export function encodeHybridMbr(layout: HybridMbrLayout): Uint8Array {
  return encodeMbrSector(hybridMbrSector(layout));
}
