/**
 * The protective MBR in LBA 0 of a GPT disk (UEFI spec 2.10, section 5.2.3, tables "Protective MBR" and "Protective MBR Partition Record"):
 * one partition record of type 0xEE starting at LBA 1 and covering the rest of the disk (capped
 * at 0xFFFFFFFF sectors), so MBR-only tools see the disk as in use.
 *
 * Bytes 0–439 (boot code, e.g. GRUB's boot.img) and 440–443 (the disk signature) belong to the
 * user and are kept as they are when we write.
 */
import { SECTOR_SIZE_BYTES } from './layout';

export const MBR_BOOT_CODE_SIZE_BYTES = 440;
export const MBR_DISK_SIGNATURE_OFFSET = 440;
/** Two bytes after the disk signature, "Unknown: set to zero" in the Protective MBR table. */
export const MBR_UNKNOWN_OFFSET = 444;
export const MBR_PARTITION_RECORD_OFFSET = 446;
export const MBR_PARTITION_RECORD_SIZE_BYTES = 16;
export const MBR_PARTITION_RECORD_COUNT = 4;
export const MBR_BOOT_SIGNATURE_OFFSET = 510;
export const MBR_BOOT_SIGNATURE = [0x55, 0xaa] as const;

/** Offsets inside one 16-byte partition record (the Protective MBR Partition Record table). */
export const MBR_RECORD = {
  bootIndicator: 0,
  startingCHS: 1,
  osType: 4,
  endingCHS: 5,
  startingLBA: 8,
  sizeInLBA: 12,
} as const;

export const GPT_PROTECTIVE_OS_TYPE = 0xee;
/** UEFI 5.2.3: StartingCHS "set to 0x000200", i.e. head 0, sector 2, cylinder 0 (= LBA 1). */
const PROTECTIVE_STARTING_CHS = [0x00, 0x02, 0x00] as const;
/** The translation BIOSes use for large disks; CHS beyond it is stored as 0xFFFFFF. */
const CHS_HEADS = 255;
const CHS_SECTORS_PER_TRACK = 63;
const CHS_MAX_CYLINDERS = 1024;

/** head, sector|cylinder-high-bits, cylinder-low-bits; 0xFFFFFF when the LBA is beyond CHS. */
function chsBytes(lba: number): [number, number, number] {
  const cylinder = Math.floor(lba / (CHS_HEADS * CHS_SECTORS_PER_TRACK));
  if (cylinder >= CHS_MAX_CYLINDERS) return [0xff, 0xff, 0xff];
  const head = Math.floor(lba / CHS_SECTORS_PER_TRACK) % CHS_HEADS;
  const sector = (lba % CHS_SECTORS_PER_TRACK) + 1;
  return [head, sector | ((cylinder >> 2) & 0xc0), cylinder & 0xff];
}

/**
 * Sector 0 for a GPT disk of `diskSectors`: the boot code and disk signature of `existingSector0`
 * (if given), a single 0xEE record from LBA 1 to the end of the disk, and the 0x55AA signature.
 */
export function encodeProtectiveMbr(diskSectors: number, existingSector0?: Uint8Array): Uint8Array {
  const sector = new Uint8Array(SECTOR_SIZE_BYTES);
  if (existingSector0) sector.set(existingSector0.subarray(0, MBR_UNKNOWN_OFFSET));
  const record = MBR_PARTITION_RECORD_OFFSET;
  const view = new DataView(sector.buffer);
  sector[record + MBR_RECORD.bootIndicator] = 0x00;
  sector.set(PROTECTIVE_STARTING_CHS, record + MBR_RECORD.startingCHS);
  sector[record + MBR_RECORD.osType] = GPT_PROTECTIVE_OS_TYPE;
  sector.set(chsBytes(diskSectors - 1), record + MBR_RECORD.endingCHS);
  view.setUint32(record + MBR_RECORD.startingLBA, 1, true);
  view.setUint32(record + MBR_RECORD.sizeInLBA, Math.min(diskSectors - 1, 0xffffffff), true);
  sector.set(MBR_BOOT_SIGNATURE, MBR_BOOT_SIGNATURE_OFFSET);
  return sector;
}

export interface MbrRecordSummary {
  osType: number;
  startingLBA: number;
  sizeInLBA: number;
}

/**
 * What sector 0 holds, for readGpt's warnings: whether it has the boot signature, and its
 * non-empty partition records.
 */
export function summarizeMbr(sector0: Uint8Array): { hasBootSignature: boolean; records: MbrRecordSummary[] } {
  const view = new DataView(sector0.buffer, sector0.byteOffset, sector0.byteLength);
  const hasBootSignature =
    sector0[MBR_BOOT_SIGNATURE_OFFSET] === MBR_BOOT_SIGNATURE[0] && sector0[MBR_BOOT_SIGNATURE_OFFSET + 1] === MBR_BOOT_SIGNATURE[1];
  const records: MbrRecordSummary[] = [];
  for (let i = 0; i < MBR_PARTITION_RECORD_COUNT; i++) {
    const at = MBR_PARTITION_RECORD_OFFSET + i * MBR_PARTITION_RECORD_SIZE_BYTES;
    const osType = sector0[at + MBR_RECORD.osType]!;
    if (osType === 0) continue;
    records.push({
      osType,
      startingLBA: view.getUint32(at + MBR_RECORD.startingLBA, true),
      sizeInLBA: view.getUint32(at + MBR_RECORD.sizeInLBA, true),
    });
  }
  return { hasBootSignature, records };
}

/** Warnings about sector 0 of a disk whose GPT we read (empty when it is a proper protective MBR). */
export function protectiveMbrWarnings(sector0: Uint8Array, diskSectors: number): string[] {
  const { hasBootSignature, records } = summarizeMbr(sector0);
  if (!hasBootSignature) {
    return ['Sector 0 has no MBR boot signature (0x55AA), so it is not a protective MBR; writing the table will add one.'];
  }
  const protective = records.filter((r) => r.osType === GPT_PROTECTIVE_OS_TYPE);
  const others = records.filter((r) => r.osType !== GPT_PROTECTIVE_OS_TYPE);
  if (protective.length === 0) {
    return [
      'The MBR in sector 0 has no protective 0xEE record, so MBR-only tools may treat the disk as free; writing the table will replace it with a protective MBR.',
    ];
  }
  if (others.length > 0) {
    const types = others.map((r) => `0x${r.osType.toString(16).padStart(2, '0')}`).join(', ');
    return [
      `Sector 0 holds a hybrid MBR (records of type ${types} besides 0xEE); writing the table will replace it with a plain protective MBR.`,
    ];
  }
  const expectedSize = Math.min(diskSectors - 1, 0xffffffff);
  const record = protective[0]!;
  if (protective.length === 1 && record.startingLBA === 1 && record.sizeInLBA === expectedSize) return [];
  return [
    `The protective MBR record covers sectors ${record.startingLBA} + ${record.sizeInLBA}, not 1 + ${expectedSize}; writing the table will correct it.`,
  ];
}
