/**
 * GRUB legacy (0.97) installed the way its shell's `root (fd0)` + `setup (fd0)` does it, without
 * the shell (a 32-bit program that many systems can no longer run): pure patching of stage1 and
 * of stage2's first two sectors.
 *
 * Sources, GRUB 0.97: stage1/stage1.h (the STAGE1_* offsets), stage2/shared.h (STAGE2_*,
 * BOOTSEC_*), stage2/start.S (the block list at the end of stage2's first sector, 8-byte entries
 * read from _start + 0x200 - BOOTSEC_LISTSIZE downwards) and stage2/builtins.c `install_func`,
 * which `setup` runs as `install /boot/grub/stage1 (fd0) /boot/grub/stage2 p /boot/grub/menu.lst`:
 * - stage1 keeps the old sector's BPB (BOOTSEC_BPB_OFFSET 3, 0x3B bytes) and, on a hard disk, the
 *   disk signature and partition table (STAGE1_WINDOWS_NT_MAGIC 0x1B8 … STAGE1_PARTEND 0x1FE);
 *   it learns stage2's first sector (LBA), address 0x8000 and segment 0x800, the boot drive
 *   (0xFF: the drive the BIOS booted from) and "force LBA" off; on a hard disk the jump over the
 *   boot-drive check becomes two NOPs (STAGE1_BOOT_DRIVE_CHECK).
 * - stage2's first sector (start.S) gets the block list of the rest of stage2: each entry a
 *   4-byte start sector (LBA from the start of the drive), a 2-byte sector count and a 2-byte
 *   load segment, the first at 0x1F8, the next 8 bytes below, until an entry with count 0; the
 *   segments start at 0x820 (0x8200, right after the first sector at 0x8000) and grow by 0x20
 *   per sector. Entries must stay clear of start.S's code: the 4 bytes below the last entry are
 *   the terminator's count and segment and must be zero (install_func's ERR_WONT_FIT test).
 * - stage2's second sector (asm.S) gets install_partition (the `p` option: the partition stage2
 *   is on, 0xFFFFFF for a whole floppy) and the config file name after the version string.
 *
 * Measured against Debian's grub-legacy 0.97-80 stage files (/usr/lib/grub/x86_64-pc): stage1's
 * fields at 0x3E are `03 02 ff 00 00 80 01 00 00 00 00 08`, and stage2's default list entry at
 * 0x1F8 is `02 00 00 00 e9 00 20 08` (start 2, 233 sectors, segment 0x820).
 */
import { LoopbackError } from '../errors';
import type { FileExtent } from '../fs/types';

export const SECTOR_BYTES = 512;

/** stage1.h: COMPAT_VERSION_MAJOR 3, COMPAT_VERSION_MINOR 2, stored as the bytes 03 02. */
export const COMPAT_VERSION_MAJOR = 3;
export const COMPAT_VERSION_MINOR = 2;
export const BOOTSEC_SIGNATURE = 0xaa55;

/** Byte offsets in stage1 (stage1.h) and in any boot sector (shared.h BOOTSEC_*). */
export const STAGE1 = {
  BPB_OFFSET: 0x03, // BOOTSEC_BPB_OFFSET
  BPB_END: 0x3e, // BOOTSEC_BPB_OFFSET + BOOTSEC_BPB_LENGTH (0x3B); also STAGE1_BPBEND
  VER_MAJ_OFFS: 0x3e, // 2 bytes: major, minor
  BOOT_DRIVE: 0x40, // 1 byte: BIOS drive to load stage2 from; 0xFF = the boot drive
  FORCE_LBA: 0x41, // 1 byte
  STAGE2_ADDRESS: 0x42, // 2 bytes: where stage2 starts (0x8000)
  STAGE2_SECTOR: 0x44, // 4 bytes: LBA of stage2's first sector
  STAGE2_SEGMENT: 0x48, // 2 bytes: segment its first sector is loaded to (0x800)
  BOOT_DRIVE_CHECK: 0x4b, // 2 bytes: `jmp` over the hard-disk drive check; 0x9090 enables it
  WINDOWS_NT_MAGIC: 0x1b8, // disk signature; the MBR part kept runs from here to PARTEND
  PARTSTART: 0x1be,
  PARTEND: 0x1fe,
  SIGNATURE: 0x1fe,
} as const;

/** Byte offsets in the stage2 file: its first sector is start.S, the second asm.S's header. */
export const STAGE2 = {
  /** _start + 0x200 - BOOTSEC_LISTSIZE: the first (highest) block-list entry. */
  FIRST_LIST_ENTRY: 0x1f8,
  LIST_ENTRY_BYTES: 8, // BOOTSEC_LISTSIZE
  /** shared.h offsets are from the second sector (loaded at 0x8200). */
  SECOND_SECTOR: 0x200,
  VER_MAJ_OFFS: 0x200 + 0x6,
  INSTALLPART: 0x200 + 0x8, // 4 bytes
  SAVED_ENTRYNO: 0x200 + 0xc,
  STAGE2_ID: 0x200 + 0x10, // 0 for a real stage2 (STAGE2_ID_STAGE2), else a stage1.5
  FORCE_LBA: 0x200 + 0x11,
  VER_STR_OFFS: 0x200 + 0x12, // version string, then the config file name
  /** asm.S: `. = EXT_C(main) + 0x70` — the code resumes there, so the names must end before it. */
  CONFIG_FILE_END: 0x200 + 0x70,
} as const;

/** Where stage1 loads stage2's first sector, and the segment the rest starts at (0x8200). */
export const STAGE2_ADDRESS = 0x8000;
export const STAGE2_SEGMENT = 0x800;
export const FIRST_LIST_SEGMENT = 0x820;
/** stage1 boot drive 0xFF: load from the drive the BIOS booted (setup without the `d` option). */
export const BOOT_DRIVE_FROM_BIOS = 0xff;
/** install_partition of a whole disk (no partition): every byte 0xFF (shared.h, current_partition). */
export const WHOLE_DISK_PARTITION = 0xffffff;
/** The name `setup` gives stage2 (`/boot/grub/menu.lst`, asm.S's default config_file). */
export const DEFAULT_CONFIG_FILE = '/boot/grub/menu.lst';

export interface BlockListEntry {
  /** LBA from the start of the drive. */
  startSector: number;
  sectorCount: number;
  /** Real-mode segment the sectors are loaded to. */
  segment: number;
}

function refuse(message: string, details: Record<string, unknown> = {}): LoopbackError {
  return new LoopbackError('VALIDATION', message, details);
}

const u16 = (bytes: Uint8Array, offset: number) => bytes[offset]! | (bytes[offset + 1]! << 8);
const u32 = (bytes: Uint8Array, offset: number) => (u16(bytes, offset) + u16(bytes, offset + 2) * 0x10000) >>> 0;
function put16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
}
function put32(bytes: Uint8Array, offset: number, value: number): void {
  put16(bytes, offset, value & 0xffff);
  put16(bytes, offset + 2, Math.floor(value / 0x10000) & 0xffff);
}

/** Throws unless `bytes` is a GRUB legacy stage1 (version 3.2, 512 bytes, 55 AA). */
export function checkStage1(bytes: Uint8Array, name = 'stage1'): void {
  if (bytes.length !== SECTOR_BYTES)
    throw refuse(`${name} is ${bytes.length} bytes; GRUB legacy's stage1 is exactly 512`, { sizeBytes: bytes.length });
  const major = bytes[STAGE1.VER_MAJ_OFFS];
  const minor = bytes[STAGE1.VER_MAJ_OFFS + 1];
  if (major !== COMPAT_VERSION_MAJOR || minor !== COMPAT_VERSION_MINOR || u16(bytes, STAGE1.SIGNATURE) !== BOOTSEC_SIGNATURE) {
    throw refuse(
      `${name} is not a GRUB legacy 0.9x stage1 (it has version ${major}.${minor}, signature ${u16(bytes, STAGE1.SIGNATURE).toString(16)}; expected 3.2 and aa55)`,
    );
  }
}

/** Throws unless `bytes` is a GRUB legacy stage2 (not a stage1.5): version 3.2 in its second sector, id 0. */
export function checkStage2(bytes: Uint8Array, name = 'stage2'): void {
  if (bytes.length <= STAGE2.CONFIG_FILE_END)
    throw refuse(`${name} is only ${bytes.length} bytes: too short for GRUB legacy's stage2`, { sizeBytes: bytes.length });
  const major = bytes[STAGE2.VER_MAJ_OFFS];
  const minor = bytes[STAGE2.VER_MAJ_OFFS + 1];
  if (major !== COMPAT_VERSION_MAJOR || minor !== COMPAT_VERSION_MINOR) {
    throw refuse(`${name} is not a GRUB legacy 0.9x stage2 (version ${major}.${minor} at byte ${STAGE2.VER_MAJ_OFFS}; expected 3.2)`);
  }
  if (bytes[STAGE2.STAGE2_ID] !== 0) {
    throw refuse(`${name} is a stage1.5 (id ${bytes[STAGE2.STAGE2_ID]}), not stage2: give the stage2 file`);
  }
}

/**
 * GRUB's partition number of a partition, as install_partition stores it: the DOS partition
 * (0-based: `(hd0,0)` is partition 1, logical partitions count from 4) in bits 16–23, 0xFF for
 * the unused BSD sub-partition levels below. null (a whole floppy): 0xFFFFFF.
 */
export function installPartitionOf(partitionNumber: number | null): number {
  if (partitionNumber === null) return WHOLE_DISK_PARTITION;
  return (((partitionNumber - 1) & 0xff) << 16) | 0xffff;
}

/** GRUB legacy's device name: `(fd0)`, `(hd0,0)`. */
export function grubLegacyDevice(hardDisk: boolean, partitionNumber: number | null): string {
  if (!hardDisk) return '(fd0)';
  return partitionNumber === null ? '(hd0)' : `(hd0,${partitionNumber - 1})`;
}

/**
 * The LBA of each 512-byte sector of a file, from its extents on a volume that starts at
 * `volumeStartSector` of the drive. Every sector must be mapped (no holes) and aligned, as GRUB
 * needs (ERR_UNALIGNED otherwise).
 */
export function fileSectors(extents: readonly FileExtent[], sizeBytes: number, volumeStartSector: number, name: string): number[] {
  const sectors: number[] = [];
  let expected = 0;
  for (const extent of extents) {
    if (extent.fileOffsetBytes !== expected)
      throw refuse(`${name} has a hole at byte ${expected}: GRUB can only load a file whose every block is on disk`, { name });
    if (extent.deviceOffsetBytes % SECTOR_BYTES !== 0) throw refuse(`${name}'s data is not sector-aligned on the volume`, { name });
    const count = Math.ceil(extent.lengthBytes / SECTOR_BYTES);
    for (let i = 0; i < count; i++) sectors.push(volumeStartSector + extent.deviceOffsetBytes / SECTOR_BYTES + i);
    expected += extent.lengthBytes;
  }
  if (expected !== sizeBytes) throw refuse(`${name}'s extents cover ${expected} of its ${sizeBytes} bytes`, { name });
  return sectors;
}

/**
 * The block list that loads `sectors` (stage2 without its first sector), as install_func's
 * disk-read hook builds it: consecutive sectors share an entry; the load address starts at
 * 0x8200 and grows by 512 per sector.
 */
export function buildBlockList(sectors: readonly number[]): BlockListEntry[] {
  const entries: BlockListEntry[] = [];
  let segment = FIRST_LIST_SEGMENT;
  for (const sector of sectors) {
    const last = entries[entries.length - 1];
    if (last && last.startSector + last.sectorCount === sector && last.sectorCount < 0xffff) last.sectorCount++;
    else entries.push({ startSector: sector, sectorCount: 1, segment });
    segment += SECTOR_BYTES >> 4;
  }
  return entries;
}

/** The list entries stage2's first sector has room for: each needs the 4 bytes below it free (the terminator). */
export function blockListCapacity(firstSector: Uint8Array): number {
  const cleared = clearBlockList(firstSector);
  let lastCode = -1;
  for (let i = 0; i < STAGE2.FIRST_LIST_ENTRY; i++) if (cleared[i] !== 0) lastCode = i;
  // Entry k starts at FIRST_LIST_ENTRY - 8k; its terminator's count and segment are the 4 bytes below it.
  return Math.max(0, Math.floor((STAGE2.FIRST_LIST_ENTRY - 4 - (lastCode + 1)) / STAGE2.LIST_ENTRY_BYTES) + 1);
}

/** install_func's clean-up: entries are zeroed from the top while their count and segment are set. */
function clearBlockList(firstSector: Uint8Array): Uint8Array {
  const sector = firstSector.slice(0, SECTOR_BYTES);
  for (let at = STAGE2.FIRST_LIST_ENTRY; at >= 0 && u32(sector, at + 4) !== 0; at -= STAGE2.LIST_ENTRY_BYTES) sector.fill(0, at, at + 8);
  return sector;
}

export interface Stage2Patch {
  entries: readonly BlockListEntry[];
  /** install_partition: installPartitionOf(…). */
  installPartition: number;
  /** Default /boot/grub/menu.lst. */
  configFile?: string;
}

/**
 * Stage2's first two sectors (1024 bytes) with the block list, the install partition and the
 * config file name written in. Throws VALIDATION when the list does not fit or the name is too long.
 */
export function patchStage2(firstTwoSectors: Uint8Array, patch: Stage2Patch): Uint8Array {
  checkStage2(firstTwoSectors);
  const out = firstTwoSectors.slice(0, 2 * SECTOR_BYTES);
  const capacity = blockListCapacity(out);
  if (patch.entries.length > capacity) {
    throw refuse(
      `stage2 lies in ${patch.entries.length} pieces on the volume, but its first sector has room for the block list of ${capacity}: copy it again (it is written in one piece where the free space allows) or defragment the volume`,
      { pieces: patch.entries.length, capacity },
    );
  }
  out.set(clearBlockList(out), 0);
  patch.entries.forEach((entry, k) => {
    const at = STAGE2.FIRST_LIST_ENTRY - k * STAGE2.LIST_ENTRY_BYTES;
    if (entry.startSector > 0xffffffff || entry.sectorCount < 1 || entry.sectorCount > 0xffff)
      throw refuse(`block list entry ${k} is out of range`, { ...entry });
    put32(out, at, entry.startSector);
    put16(out, at + 4, entry.sectorCount);
    put16(out, at + 6, entry.segment);
  });
  put32(out, STAGE2.INSTALLPART, patch.installPartition);
  out[STAGE2.FORCE_LBA] = 0;
  // The config file name follows the NUL-terminated version string.
  const versionEnd = out.indexOf(0, STAGE2.VER_STR_OFFS);
  const name = new TextEncoder().encode(patch.configFile ?? DEFAULT_CONFIG_FILE);
  const nameAt = versionEnd + 1;
  if (versionEnd < 0 || nameAt + name.length + 1 > STAGE2.CONFIG_FILE_END || name.includes(0)) {
    throw refuse(
      `the config file name "${patch.configFile}" does not fit in stage2 (at most ${STAGE2.CONFIG_FILE_END - nameAt - 1} bytes)`,
    );
  }
  out.fill(0, nameAt, STAGE2.CONFIG_FILE_END);
  out.set(name, nameAt);
  return out;
}

export interface Stage1Patch {
  /** The drive's sector 0 as it is now (its BPB, and on a hard disk its table, are kept). */
  oldSector: Uint8Array;
  /** A hard disk (stage1 is the MBR) or a floppy (stage1 is the volume's boot sector). */
  hardDisk: boolean;
  /** LBA of stage2's first sector. */
  stage2Sector: number;
}

/** Stage1 as `setup` writes it to sector 0. */
export function patchStage1(stage1: Uint8Array, patch: Stage1Patch): Uint8Array {
  checkStage1(stage1);
  const out = stage1.slice();
  out.set(patch.oldSector.subarray(STAGE1.BPB_OFFSET, STAGE1.BPB_END), STAGE1.BPB_OFFSET);
  if (patch.hardDisk) {
    out.set(patch.oldSector.subarray(STAGE1.WINDOWS_NT_MAGIC, STAGE1.PARTEND), STAGE1.WINDOWS_NT_MAGIC);
    // For BIOSes that pass a bogus drive number: treat anything without bit 7 as 0x80.
    out[STAGE1.BOOT_DRIVE_CHECK] = 0x90;
    out[STAGE1.BOOT_DRIVE_CHECK + 1] = 0x90;
  } else if (out[STAGE1.PARTSTART] === 0x80 || out[STAGE1.PARTSTART] === 0) {
    // install_func: on a floppy, stage1 needs the floppy probe code that sits where a table would be.
    throw refuse('this stage1 has no floppy probe code (its bytes at 0x1BE look like a partition table): it cannot boot a floppy');
  }
  out[STAGE1.BOOT_DRIVE] = BOOT_DRIVE_FROM_BIOS;
  out[STAGE1.FORCE_LBA] = 0;
  put16(out, STAGE1.STAGE2_ADDRESS, STAGE2_ADDRESS);
  put32(out, STAGE1.STAGE2_SECTOR, patch.stage2Sector);
  put16(out, STAGE1.STAGE2_SEGMENT, STAGE2_SEGMENT);
  return out;
}

/** The fields a patched stage1 carries, read back (for reports and tests). */
export function readStage1(sector: Uint8Array): { bootDrive: number; stage2Sector: number; stage2Address: number; stage2Segment: number } {
  return {
    bootDrive: sector[STAGE1.BOOT_DRIVE]!,
    stage2Sector: u32(sector, STAGE1.STAGE2_SECTOR),
    stage2Address: u16(sector, STAGE1.STAGE2_ADDRESS),
    stage2Segment: u16(sector, STAGE1.STAGE2_SEGMENT),
  };
}

/** The block list and install fields of a (patched) stage2, read back. */
export function readStage2(firstTwoSectors: Uint8Array): { entries: BlockListEntry[]; installPartition: number; configFile: string } {
  const entries: BlockListEntry[] = [];
  for (let at = STAGE2.FIRST_LIST_ENTRY; at >= 0 && u16(firstTwoSectors, at + 4) !== 0; at -= STAGE2.LIST_ENTRY_BYTES) {
    entries.push({
      startSector: u32(firstTwoSectors, at),
      sectorCount: u16(firstTwoSectors, at + 4),
      segment: u16(firstTwoSectors, at + 6),
    });
  }
  const versionEnd = firstTwoSectors.indexOf(0, STAGE2.VER_STR_OFFS);
  const nameEnd = firstTwoSectors.indexOf(0, versionEnd + 1);
  return {
    entries,
    installPartition: u32(firstTwoSectors, STAGE2.INSTALLPART),
    configFile: new TextDecoder().decode(firstTwoSectors.subarray(versionEnd + 1, nameEnd)),
  };
}
