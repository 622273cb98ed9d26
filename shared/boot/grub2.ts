/**
 * GRUB 2 for BIOS (i386-pc) put into an image file without grub-install: pure patching of
 * boot.img (the MBR code) and of core.img's first sector, and the checks that decide where
 * core.img can go.
 *
 * Sources, GRUB 2.06: include/grub/i386/pc/boot.h (the GRUB_BOOT_MACHINE_* offsets),
 * grub-core/boot/i386/pc/boot.S and diskboot.S, and util/setup.c (what grub-bios-setup writes):
 * - boot.img keeps the old sector's BPB region (0x03 … 0x5A) and, unless it is a floppy, the disk
 *   signature and partition table (0x1B8 … 0x1FE); it learns core.img's first sector (8 bytes at
 *   0x5C) and the boot drive 0xFF ("the drive the BIOS booted"); on a hard disk the jump over the
 *   boot-drive check at 0x66 becomes two NOPs (write_rootdev and the "buggy BIOSes" workaround).
 * - core.img's first sector (diskboot.img) ends in a block list of 12-byte entries — an 8-byte
 *   start LBA, a 2-byte count, a 2-byte segment — from 0x1F4 downwards. grub-mkimage leaves one
 *   entry: start 2, count = core's sectors − 1, segment 0x820; that is right as it stands for
 *   core.img at LBA 1. Anywhere else (a GPT BIOS boot partition) the start moves with it.
 *
 * Measured on Debian's grub-pc-bin 2.06: boot.img has `01 00 00 00 00 00 00 00` at 0x5C, `ff` at
 * 0x64 and `eb 05` at 0x66; a core.img from grub-mkimage has `02 00…00 35 00 20 08` at 0x1F4.
 */
import type { DiskInfo, PartitionInfo } from '../disk/disk-info';
import { resolvePartitionType } from '../disk/gpt/types';
import { MBR_TYPE_EFI_SYSTEM } from '../disk/partition-types';
import { formatBytes } from '../disk/sizes';
import { LoopbackError } from '../errors';

export const SECTOR_BYTES = 512;
/** The MBR's code area: everything before the disk signature. */
export const MBR_CODE_BYTES = 440;

export const BOOT_IMG = {
  BPB_START: 0x03,
  BPB_END: 0x5a,
  KERNEL_SECTOR: 0x5c, // 8 bytes: LBA of core.img's first sector
  BOOT_DRIVE: 0x64, // 1 byte: 0xFF = the drive the BIOS booted from
  DRIVE_CHECK: 0x66, // 2 bytes: `jmp` over the hard-disk drive check
  WINDOWS_NT_MAGIC: 0x1b8,
  PART_END: 0x1fe,
  SIGNATURE: 0x1fe,
} as const;

export const CORE_IMG = {
  /** GRUB_BOOT_MACHINE_LIST_SIZE: 12 bytes, the first entry at 0x200 − 12. */
  FIRST_LIST_ENTRY: 0x1f4,
  /** 0x800 + 0x20: the sectors after the first load at 0x8200. */
  FIRST_SEGMENT: 0x820,
} as const;

/** The GPT type of a BIOS boot partition (GRUB's "Hah!IdontNeedEFI"). */
export const BIOS_BOOT_GUID = '21686148-6449-6E6F-744E-656564454649';

function refuse(message: string, details: Record<string, unknown> = {}): LoopbackError {
  return new LoopbackError('VALIDATION', message, details);
}

const u16 = (bytes: Uint8Array, offset: number) => bytes[offset]! | (bytes[offset + 1]! << 8);
function putU64(bytes: Uint8Array, offset: number, value: number): void {
  let rest = value;
  for (let i = 0; i < 8; i++) {
    bytes[offset + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}
function readU64(bytes: Uint8Array, offset: number): number {
  let value = 0;
  for (let i = 7; i >= 0; i--) value = value * 256 + bytes[offset + i]!;
  return value;
}

/** Throws unless `bytes` looks like GRUB 2's i386-pc boot.img. */
export function checkBootImg(bytes: Uint8Array): void {
  if (bytes.length !== SECTOR_BYTES || u16(bytes, BOOT_IMG.SIGNATURE) !== 0xaa55 || bytes[BOOT_IMG.BOOT_DRIVE] !== 0xff) {
    throw refuse(`boot.img is not GRUB 2's i386-pc boot image (512 bytes ending 55 AA, 0xFF at byte 0x64)`);
  }
}

/** boot.img as grub-bios-setup writes it to sector 0 of a hard disk. */
export function patchBootImg(bootImg: Uint8Array, oldSector: Uint8Array, coreSector: number): Uint8Array {
  checkBootImg(bootImg);
  const out = bootImg.slice();
  out.set(oldSector.subarray(BOOT_IMG.BPB_START, BOOT_IMG.BPB_END), BOOT_IMG.BPB_START);
  out.set(oldSector.subarray(BOOT_IMG.WINDOWS_NT_MAGIC, BOOT_IMG.PART_END), BOOT_IMG.WINDOWS_NT_MAGIC);
  out[BOOT_IMG.DRIVE_CHECK] = 0x90;
  out[BOOT_IMG.DRIVE_CHECK + 1] = 0x90;
  out[BOOT_IMG.BOOT_DRIVE] = 0xff;
  putU64(out, BOOT_IMG.KERNEL_SECTOR, coreSector);
  return out;
}

/** The LBA boot.img loads core.img from. */
export function bootImgCoreSector(sector: Uint8Array): number {
  return readU64(sector, BOOT_IMG.KERNEL_SECTOR);
}

export interface CoreBlockList {
  startSector: number;
  sectorCount: number;
  segment: number;
}

export function readCoreBlockList(core: Uint8Array): CoreBlockList {
  const at = CORE_IMG.FIRST_LIST_ENTRY;
  return { startSector: readU64(core, at), sectorCount: u16(core, at + 8), segment: u16(core, at + 10) };
}

/**
 * core.img with its block list pointing at `firstSector + 1`, where the rest of it goes when its
 * first sector is written at `firstSector`. Checks it is what grub-mkimage makes.
 */
export function patchCoreImg(core: Uint8Array, firstSector: number): Uint8Array {
  const sectors = Math.ceil(core.length / SECTOR_BYTES);
  const list = readCoreBlockList(core);
  if (core.length < 2 * SECTOR_BYTES || list.segment !== CORE_IMG.FIRST_SEGMENT || list.sectorCount !== sectors - 1) {
    throw refuse(
      `core.img is not an i386-pc core image from grub-mkimage (its block list says ${list.sectorCount} sectors at segment 0x${list.segment.toString(16)})`,
    );
  }
  const out = new Uint8Array(sectors * SECTOR_BYTES);
  out.set(core);
  putU64(out, CORE_IMG.FIRST_LIST_ENTRY, firstSector + 1);
  return out;
}

/** Where core.img can live: sectors [firstSector, firstSector + sectorCount). */
export interface EmbeddingArea {
  kind: 'mbr-gap' | 'bios-boot-partition';
  firstSector: number;
  sectorCount: number;
  /** For the report: "the gap between the MBR and partition 1 (sectors 1–62)". */
  description: string;
}

/**
 * The place for core.img on this disk, or VALIDATION saying why there is none: a floppy or a
 * disk without a table (no room after sector 0 that a filesystem does not own), an MBR disk
 * whose first partition starts at sector 1, a GPT disk without a BIOS boot partition.
 */
export function embeddingArea(disk: DiskInfo): EmbeddingArea {
  if (disk.table === 'none') {
    throw refuse(
      `GRUB 2 needs a partitioned disk: ${disk.floppy ? `this is a ${disk.floppy} floppy` : 'this image has no partition table'}, and its filesystem owns sector 1 onwards where core.img would go. Use GRUB legacy (--grub-legacy) for a floppy, or partition the disk (MBR, first partition at sector 63 or 2048)`,
    );
  }
  if (disk.table === 'gpt') {
    const bios = disk.partitions.find((p) => p.type.toUpperCase() === BIOS_BOOT_GUID);
    if (!bios) {
      throw refuse(
        "This GPT disk has no BIOS boot partition, so GRUB 2 has nowhere to put core.img (the sectors after a GPT header hold the partition entries). Add one: loopstudio partition IMAGE --add 'size=1MiB,type=bios'",
      );
    }
    return {
      kind: 'bios-boot-partition',
      firstSector: bios.startSector,
      sectorCount: bios.sectorCount,
      description: `BIOS boot partition ${bios.index} (sectors ${bios.startSector}–${bios.endSector})`,
    };
  }
  const first = Math.min(disk.totalSectors, ...disk.partitions.map((p: PartitionInfo) => p.startSector));
  const firstPartition = disk.partitions.find((p) => p.startSector === first);
  return {
    kind: 'mbr-gap',
    firstSector: 1,
    sectorCount: Math.max(0, first - 1),
    description: firstPartition
      ? `the gap between the MBR and partition ${firstPartition.index} (sectors 1–${first - 1})`
      : `the sectors after the MBR`,
  };
}

/** Throws VALIDATION unless core.img (of `coreBytes`) fits the area. */
export function checkCoreFits(area: EmbeddingArea, coreBytes: number, hint: string): void {
  const needed = Math.ceil(coreBytes / SECTOR_BYTES);
  if (needed <= area.sectorCount) return;
  throw refuse(
    `core.img is ${formatBytes(coreBytes)} (${needed} sectors) but ${area.description} holds ${area.sectorCount} sectors (${formatBytes(area.sectorCount * SECTOR_BYTES)}). ${hint}`,
    { coreBytes, coreSectors: needed, areaSectors: area.sectorCount },
  );
}

/** GRUB 2's name of a partition on the first BIOS disk: `(hd0,msdos1)`, `(hd0,gpt2)`. */
export function grub2Device(table: 'mbr' | 'gpt', partitionNumber: number): string {
  return `(hd0,${table === 'mbr' ? 'msdos' : 'gpt'}${partitionNumber})`;
}

/** The modules core.img needs to find /boot/grub: the BIOS disk driver, the table, the filesystem. */
export function coreModules(table: 'mbr' | 'gpt', fs: 'fat' | 'ext2', extra: readonly string[] = []): string[] {
  return [...new Set(['biosdisk', table === 'mbr' ? 'part_msdos' : 'part_gpt', fs, ...extra])];
}

/**
 * The transitive dependencies of `modules` in a moddep.lst ("name: dep dep …" per line), the
 * modules themselves included, sorted.
 */
export function moduleClosure(moddep: string, modules: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of moddep.split('\n')) {
    const match = /^([\w.-]+):\s*(.*)$/.exec(line.trim());
    if (match) deps.set(match[1]!, match[2]!.split(/\s+/).filter(Boolean));
  }
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of deps.get(name) ?? []) visit(dep);
  };
  modules.forEach(visit);
  return [...seen].sort();
}

// --- GRUB 2 for UEFI (x86_64-efi) ---
//
// UEFI firmware has no gap to fill: it reads FAT itself and, on a disk it has no boot entry for
// (every image we make), starts \EFI\BOOT\BOOTX64.EFI from it — the "removable media path" of the
// UEFI specification (3.5.1.1). So GRUB 2 for UEFI is one file: grub-mkimage -O x86_64-efi with
// the modules GRUB needs built in, and the prefix "/boot/grub" without a device, which GRUB
// resolves against the partition it was loaded from. The x86_64-efi modules are 19 MiB, so none
// are copied: what a generated grub.cfg uses is built in. For "both", the BIOS install and the
// UEFI file share /boot/grub/grub.cfg on one FAT volume.
//
// Measured here (OVMF 2022.11, QEMU TCG, GRUB 2.06): the multiboot test kernel's line appears on
// COM1 about 6 s after start.

/** Which firmware the GRUB 2 install boots with. */
export const GRUB2_FIRMWARES = ['bios', 'uefi', 'both'] as const;
export type Grub2Firmware = (typeof GRUB2_FIRMWARES)[number];

export const usesBios = (firmware: Grub2Firmware) => firmware !== 'uefi';
export const usesUefi = (firmware: Grub2Firmware) => firmware !== 'bios';

/** Where x86_64 UEFI firmware looks for a loader on a disk without boot entries. */
export const EFI_BOOT_DIR = '/EFI/BOOT';
export const EFI_BOOT_FILE = `${EFI_BOOT_DIR}/BOOTX64.EFI`;
/** The prefix built into BOOTX64.EFI: /boot/grub on the partition GRUB was loaded from. */
export const EFI_PREFIX = '/boot/grub';
/** The GPT type of an EFI System partition. */
const EFI_SYSTEM_GUID: string = resolvePartitionType('esp').toUpperCase();

/**
 * The modules built into BOOTX64.EFI: both tables, the filesystem, the normal mode and every
 * command a generated grub.cfg uses (the kernel loaders, serial), and the video drivers a
 * multiboot kernel needs under UEFI (there is no text mode for GRUB to leave it in).
 */
export function efiModules(fs: 'fat' | 'ext2', extra: readonly string[] = []): string[] {
  return [
    ...new Set([
      'part_gpt',
      'part_msdos',
      fs,
      'normal',
      'configfile',
      'echo',
      'test',
      'boot',
      'ls',
      'cat',
      'search',
      'serial',
      'terminal',
      'multiboot',
      'multiboot2',
      'linux',
      'efi_gop',
      'all_video',
      ...extra,
    ]),
  ];
}

/**
 * Checks that UEFI firmware can start GRUB from this volume: it must be FAT (the only filesystem
 * UEFI reads). Returns warnings for a partition whose type is not "EFI System" (OVMF boots it
 * anyway; some firmware looks only at EFI System partitions).
 */
export function checkEfiVolume(table: DiskInfo['table'], partition: PartitionInfo | null, fsType: string): string[] {
  if (!fsType.startsWith('fat')) {
    throw refuse(
      `UEFI firmware reads only FAT, and ${partition ? `partition ${partition.index}` : 'this volume'} is ${fsType}: put GRUB for UEFI on a FAT partition (an EFI System partition: loopstudio partition IMAGE --add 'size=64MiB,type=esp', then format it fat32)`,
    );
  }
  if (!partition) return [];
  const esp = table === 'gpt' ? partition.type.toUpperCase() === EFI_SYSTEM_GUID : parseInt(partition.type, 16) === MBR_TYPE_EFI_SYSTEM;
  return esp
    ? []
    : [
        `partition ${partition.index} is type ${partition.typeName || partition.type}, not "EFI System": OVMF boots it, but some firmware only looks at EFI System partitions (set the type to esp)`,
      ];
}
