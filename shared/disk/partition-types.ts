/**
 * MBR partition type ids (the "system id" byte at offset 4 of a partition entry). The ids are
 * a convention, not a standard; the names follow util-linux's table (`sfdisk --list-types`)
 * and Andries Brouwer's "List of partition identifiers for PCs".
 */
import { LoopbackError } from '../errors';

export interface MbrPartitionType {
  id: number;
  name: string;
  /** Words accepted by `parseMbrType` besides the hex id (lower case). */
  aliases: readonly string[];
}

export const MBR_TYPE_EMPTY = 0x00;
export const MBR_TYPE_FAT12 = 0x01;
export const MBR_TYPE_FAT16_SMALL = 0x04;
export const MBR_TYPE_EXTENDED = 0x05;
export const MBR_TYPE_FAT16 = 0x06;
export const MBR_TYPE_NTFS_EXFAT = 0x07;
export const MBR_TYPE_FAT32_CHS = 0x0b;
export const MBR_TYPE_FAT32_LBA = 0x0c;
export const MBR_TYPE_FAT16_LBA = 0x0e;
export const MBR_TYPE_EXTENDED_LBA = 0x0f;
export const MBR_TYPE_LINUX_SWAP = 0x82;
export const MBR_TYPE_LINUX = 0x83;
export const MBR_TYPE_LINUX_EXTENDED = 0x85;
export const MBR_TYPE_LINUX_LVM = 0x8e;
export const MBR_TYPE_FREEBSD = 0xa5;
export const MBR_TYPE_OPENBSD = 0xa6;
export const MBR_TYPE_NETBSD = 0xa9;
export const MBR_TYPE_GPT_PROTECTIVE = 0xee;
export const MBR_TYPE_EFI_SYSTEM = 0xef;
export const MBR_TYPE_LINUX_RAID = 0xfd;

export const MBR_PARTITION_TYPES: readonly MbrPartitionType[] = [
  { id: MBR_TYPE_EMPTY, name: 'Empty', aliases: ['empty'] },
  { id: MBR_TYPE_FAT12, name: 'FAT12', aliases: ['fat12'] },
  { id: MBR_TYPE_FAT16_SMALL, name: 'FAT16 <32M', aliases: ['fat16-small'] },
  { id: MBR_TYPE_EXTENDED, name: 'Extended', aliases: ['extended'] },
  { id: MBR_TYPE_FAT16, name: 'FAT16', aliases: ['fat16'] },
  { id: MBR_TYPE_NTFS_EXFAT, name: 'HPFS/NTFS/exFAT', aliases: ['ntfs', 'exfat', 'hpfs'] },
  { id: MBR_TYPE_FAT32_CHS, name: 'W95 FAT32', aliases: ['fat32-chs'] },
  { id: MBR_TYPE_FAT32_LBA, name: 'W95 FAT32 (LBA)', aliases: ['fat32', 'fat32-lba', 'vfat'] },
  { id: MBR_TYPE_FAT16_LBA, name: 'W95 FAT16 (LBA)', aliases: ['fat16-lba'] },
  { id: MBR_TYPE_EXTENDED_LBA, name: "W95 Ext'd (LBA)", aliases: ['extended-lba'] },
  { id: MBR_TYPE_LINUX_SWAP, name: 'Linux swap / Solaris', aliases: ['swap', 'linux-swap'] },
  { id: MBR_TYPE_LINUX, name: 'Linux', aliases: ['linux', 'ext2', 'ext3', 'ext4'] },
  { id: MBR_TYPE_LINUX_EXTENDED, name: 'Linux extended', aliases: ['linux-extended'] },
  { id: MBR_TYPE_LINUX_LVM, name: 'Linux LVM', aliases: ['lvm'] },
  { id: MBR_TYPE_FREEBSD, name: 'FreeBSD', aliases: ['freebsd'] },
  { id: MBR_TYPE_OPENBSD, name: 'OpenBSD', aliases: ['openbsd'] },
  { id: MBR_TYPE_NETBSD, name: 'NetBSD', aliases: ['netbsd'] },
  { id: MBR_TYPE_GPT_PROTECTIVE, name: 'GPT protective', aliases: ['gpt', 'protective'] },
  { id: MBR_TYPE_EFI_SYSTEM, name: 'EFI (FAT-12/16/32)', aliases: ['efi', 'esp', 'uefi'] },
  { id: MBR_TYPE_LINUX_RAID, name: 'Linux raid autodetect', aliases: ['raid'] },
];

const BY_ID = new Map(MBR_PARTITION_TYPES.map((type) => [type.id, type]));
const BY_ALIAS = new Map(MBR_PARTITION_TYPES.flatMap((type) => type.aliases.map((alias) => [alias, type] as const)));

/** "Linux" for 0x83; "Unknown (0x42)" for an id not in the table. */
export function mbrTypeName(id: number): string {
  return BY_ID.get(id)?.name ?? `Unknown (${formatMbrType(id)})`;
}

/** "0x83", "0x0c": how we print a type id. */
export function formatMbrType(id: number): string {
  return `0x${id.toString(16).padStart(2, '0')}`;
}

/**
 * The types that make a primary entry an extended partition holding an EBR chain. Linux
 * (block/partitions/msdos.c, is_extended_partition) treats exactly these three as extended.
 */
export function isExtendedType(id: number): boolean {
  return id === MBR_TYPE_EXTENDED || id === MBR_TYPE_EXTENDED_LBA || id === MBR_TYPE_LINUX_EXTENDED;
}

/**
 * Parses a type as people write it: hex with or without 0x (`83`, `0x83`, `0c`, `C`), or a name
 * (`linux`, `fat32`, `fat16`, `fat12`, `efi`, `extended`, `swap` …, case-insensitive).
 * Bare digits are hex, as in fdisk and sfdisk (`83` is Linux, not 83 decimal).
 */
export function parseMbrType(text: string): number {
  const key = text.trim().toLowerCase();
  const alias = BY_ALIAS.get(key);
  if (alias) return alias.id;
  const hex = /^(?:0x)?([0-9a-f]{1,2})$/.exec(key);
  if (hex?.[1] !== undefined) return parseInt(hex[1], 16);
  const names = MBR_PARTITION_TYPES.flatMap((type) => type.aliases.slice(0, 1)).join(', ');
  throw new LoopbackError(
    'INVALID_INPUT',
    `"${text}" is not an MBR partition type: give a hex id from 00 to ff (83, 0x0c) or a name (${names})`,
    { value: text },
  );
}
