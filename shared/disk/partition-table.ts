/**
 * What partition table a disk image has — none, MBR or GPT — and its contents.
 *
 * Sector 0 decides, as Linux does (block/partitions/msdos.c and efi.c):
 * - no 0x55AA signature: no table (a blank image, or a raw boot sector without one);
 * - an entry of type 0xEE: a GPT behind a protective MBR, read by `readGpt` (gpt/);
 * - a status byte other than 0x00/0x80, or no entries and a FAT boot sector: no table — that
 *   is a filesystem's boot sector (a formatted floppy), not an MBR;
 * - otherwise an MBR.
 */
import type { BlockDevice } from './block-device';
import { LoopbackError } from '../errors';
import { readGpt, type GptTable } from './gpt/index';
import { readMbr, type MbrRead } from './mbr';
import { isEntryUsed, MBR_BOOT_SIGNATURE, MBR_STATUS_ACTIVE, MBR_STATUS_INACTIVE, parseMbrSector } from './mbr-sector';
import { MBR_TYPE_GPT_PROTECTIVE } from './partition-types';
import { SECTOR_BYTES } from './sizes';

export type PartitionTableRead =
  | { table: 'none'; reason: string }
  | ({ table: 'mbr' } & MbrRead)
  | {
      table: 'gpt';
      /** The GPT, or null when its headers are unreadable (see `gptError`). */
      gpt: GptTable | null;
      gptError?: string;
      /** Sector 0 read as an MBR: the protective (or hybrid) MBR. */
      protectiveMbr: MbrRead;
    };

// BIOS parameter block fields (Microsoft FAT spec, section 3.1), used only to recognise one.
const BPB_JUMP_OFFSET = 0;
const BPB_BYTES_PER_SECTOR_OFFSET = 11;
const BPB_SECTORS_PER_CLUSTER_OFFSET = 13;
const BPB_RESERVED_SECTORS_OFFSET = 14;
const BPB_NUMBER_OF_FATS_OFFSET = 16;
const BPB_MEDIA_OFFSET = 21;

/**
 * True when sector 0 looks like a FAT boot sector: a jump instruction (EB xx 90 or E9),
 * bytes per sector 512–4096, a power-of-two cluster size, reserved sectors, 1 or 2 FATs and a
 * valid media byte (0xF0 or 0xF8–0xFF, as Linux's fat_valid_media checks).
 */
export function looksLikeFatBootSector(sector: Uint8Array): boolean {
  if (sector.length < SECTOR_BYTES) return false;
  const view = new DataView(sector.buffer, sector.byteOffset, sector.byteLength);
  const jump = sector[BPB_JUMP_OFFSET];
  const jumpOk = (jump === 0xeb && sector[2] === 0x90) || jump === 0xe9;
  const bytesPerSector = view.getUint16(BPB_BYTES_PER_SECTOR_OFFSET, true);
  const sectorsPerCluster = sector[BPB_SECTORS_PER_CLUSTER_OFFSET] ?? 0;
  const reserved = view.getUint16(BPB_RESERVED_SECTORS_OFFSET, true);
  const fats = sector[BPB_NUMBER_OF_FATS_OFFSET] ?? 0;
  const media = sector[BPB_MEDIA_OFFSET] ?? 0;
  return (
    jumpOk &&
    [512, 1024, 2048, 4096].includes(bytesPerSector) &&
    sectorsPerCluster > 0 &&
    (sectorsPerCluster & (sectorsPerCluster - 1)) === 0 &&
    reserved > 0 &&
    (fats === 1 || fats === 2) &&
    (media === 0xf0 || media >= 0xf8)
  );
}

/** Tells no table, MBR and GPT apart and reads whichever is there. Only LoopbackErrors escape. */
export async function readPartitionTable(device: BlockDevice): Promise<PartitionTableRead> {
  if (device.sizeBytes < SECTOR_BYTES) {
    return { table: 'none', reason: `The image is ${device.sizeBytes} bytes, smaller than one 512-byte sector.` };
  }
  const sector0 = await device.read(0, SECTOR_BYTES);
  const mbr = parseMbrSector(sector0);
  if (mbr.bootSignature !== MBR_BOOT_SIGNATURE) {
    return { table: 'none', reason: 'Sector 0 does not end with the 0x55AA boot signature: there is no partition table.' };
  }
  const used = mbr.entries.map((entry, i) => ({ entry, number: i + 1 })).filter(({ entry }) => isEntryUsed(entry));
  if (used.some(({ entry }) => entry.type === MBR_TYPE_GPT_PROTECTIVE)) {
    const asMbr = await readMbr(device);
    // The 0xEE entry is what a protective MBR is for, not a problem with it.
    const protectiveMbr = { ...asMbr, problems: asMbr.problems.filter((p) => p.details.type !== MBR_TYPE_GPT_PROTECTIVE) };
    try {
      return { table: 'gpt', gpt: await readGpt(device), protectiveMbr };
    } catch (error) {
      if (!(error instanceof LoopbackError)) throw error;
      return { table: 'gpt', gpt: null, gptError: error.message, protectiveMbr };
    }
  }
  const badStatus = mbr.entries.findIndex((entry) => entry.status !== MBR_STATUS_ACTIVE && entry.status !== MBR_STATUS_INACTIVE);
  const fat = looksLikeFatBootSector(sector0);
  if (badStatus >= 0 || (fat && used.length === 0)) {
    return {
      table: 'none',
      reason: fat
        ? 'Sector 0 is a FAT boot sector (a filesystem on the whole disk, as on a floppy), not a partition table.'
        : `Sector 0 has the 0x55AA signature, but entry ${badStatus + 1} has status byte 0x${(mbr.entries[badStatus]?.status ?? 0).toString(16)} (only 0x00 and 0x80 are valid), so it is not a partition table.`,
    };
  }
  return { table: 'mbr', ...(await readMbr(device)) };
}
