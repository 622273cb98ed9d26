/**
 * GPT partition type GUIDs (UEFI spec 2.10, section 5.3.3 for the UEFI-defined ones;
 * the others are the operating systems' own registrations, as listed by `sgdisk -L`).
 *
 * Each type has a display name, the 4-hex-digit code sgdisk uses for it, and short aliases that
 * the CLI and recipes accept (`type=linux`, `type=ef02`, or a full GUID).
 */
import { LoopbackError } from '../../errors';
import { isGuid, parseGuid, type Guid } from './guid';

export interface GptPartitionType {
  guid: Guid;
  /** What the UI shows. */
  name: string;
  /** sgdisk's code for the type (`sgdisk -t 1:ef00`), lower case. */
  sgdiskCode: string;
  /** Short names accepted besides the sgdisk code and the GUID, lower case. */
  aliases: readonly string[];
}

export const GPT_PARTITION_TYPES: readonly GptPartitionType[] = [
  { guid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', name: 'EFI System', sgdiskCode: 'ef00', aliases: ['efi', 'esp'] },
  { guid: '21686148-6449-6E6F-744E-656564454649', name: 'BIOS boot', sgdiskCode: 'ef02', aliases: ['bios', 'bios-boot'] },
  { guid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', name: 'Linux filesystem', sgdiskCode: '8300', aliases: ['linux'] },
  { guid: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F', name: 'Linux swap', sgdiskCode: '8200', aliases: ['swap', 'linux-swap'] },
  { guid: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', name: 'Linux x86-64 root (/)', sgdiskCode: '8304', aliases: ['linux-root-x86-64'] },
  { guid: '933AC7E1-2EB4-4F13-B844-0E14E2AEF915', name: 'Linux /home', sgdiskCode: '8302', aliases: ['linux-home'] },
  { guid: 'E6D6D379-F507-44C2-A23C-238F2A3DF928', name: 'Linux LVM', sgdiskCode: '8e00', aliases: ['lvm'] },
  { guid: 'A19D880F-05FC-4D3B-A006-743F0F84911E', name: 'Linux RAID', sgdiskCode: 'fd00', aliases: ['raid'] },
  // FAT volumes on GPT use Microsoft basic data, hence the fat* aliases.
  {
    guid: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
    name: 'Microsoft basic data',
    sgdiskCode: '0700',
    aliases: ['msdata', 'fat32', 'fat16', 'fat12'],
  },
  { guid: 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE', name: 'Microsoft reserved', sgdiskCode: '0c01', aliases: ['msreserved'] },
  { guid: '83BD6B9D-7F41-11DC-BE0B-001560B84F0F', name: 'FreeBSD boot', sgdiskCode: 'a501', aliases: ['freebsd-boot'] },
  { guid: '516E7CB5-6ECF-11D6-8FF8-00022D09712B', name: 'FreeBSD swap', sgdiskCode: 'a502', aliases: ['freebsd-swap'] },
  { guid: '516E7CB6-6ECF-11D6-8FF8-00022D09712B', name: 'FreeBSD UFS', sgdiskCode: 'a503', aliases: ['freebsd-ufs'] },
  { guid: '516E7CBA-6ECF-11D6-8FF8-00022D09712B', name: 'FreeBSD ZFS', sgdiskCode: 'a504', aliases: ['freebsd-zfs'] },
];

/** What `typeName` says for a type GUID that is not in the list above. */
export const UNKNOWN_TYPE_NAME = 'Unknown type';

const BY_GUID = new Map(GPT_PARTITION_TYPES.map((type) => [type.guid, type]));
const BY_ALIAS_OR_CODE = new Map(
  GPT_PARTITION_TYPES.flatMap((type) => [type.sgdiskCode, ...type.aliases].map((key) => [key, type] as const)),
);

export function partitionTypeByGuid(guid: Guid): GptPartitionType | undefined {
  return isGuid(guid) ? BY_GUID.get(parseGuid(guid)) : undefined;
}

/** The display name of a type GUID, or UNKNOWN_TYPE_NAME. */
export function partitionTypeName(guid: Guid): string {
  return partitionTypeByGuid(guid)?.name ?? UNKNOWN_TYPE_NAME;
}

/** sgdisk's code for a type GUID, if it is one we know. */
export function sgdiskTypeCode(guid: Guid): string | undefined {
  return partitionTypeByGuid(guid)?.sgdiskCode;
}

/**
 * The type GUID for what a person typed: an alias (`linux`, `efi`, `fat32` …), an sgdisk code
 * (`8300`, `EF02`) or a full GUID (any type GUID is accepted, known or not).
 */
export function resolvePartitionType(text: string): Guid {
  const key = text.trim().toLowerCase();
  const known = BY_ALIAS_OR_CODE.get(key);
  if (known) return known.guid;
  if (isGuid(key)) return parseGuid(key);
  const hint = /^[0-9a-f]{4}$/.test(key)
    ? `sgdisk type code ${key} is not one Loopback Studio knows; give the full type GUID instead`
    : `"${text}" is not a partition type`;
  throw new LoopbackError(
    'INVALID_INPUT',
    `${hint}. Known types: ${GPT_PARTITION_TYPES.map((t) => `${t.aliases[0]} (${t.sgdiskCode}, ${t.name})`).join(', ')}; or a type GUID`,
    { value: text },
  );
}
