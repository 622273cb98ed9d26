/**
 * The user's own boot sector (or a longer first stage) put into sector 0, keeping what the disk
 * already keeps there: a FAT volume's BPB (the jump at bytes 0–2 is the user's, the BPB after it
 * stays: bytes 3–61 on FAT12/16, 3–89 on FAT32, Microsoft FAT spec sections 3.1–3.3) and an MBR's
 * disk signature and partition table (bytes 440–509). The BIOS only runs a sector that ends in
 * 55 AA, so a sector without it is refused unless forced.
 */
import { LoopbackError } from '../errors';

export const SECTOR_BYTES = 512;
/** 0x55 0xAA at bytes 510–511: the BIOS boots only such a sector. */
export const BOOT_SIGNATURE_OFFSET = 510;
/** FAT spec: the BPB and extended BPB of FAT12/16 end at byte 61, FAT32's at byte 89. */
export const FAT1216_BPB_END = 62;
export const FAT32_BPB_END = 90;
export const BPB_START = 3;
/** MBR: disk signature (440–443), 2 reserved bytes, four partition entries (446–509). */
export const MBR_TABLE_START = 440;
export const MBR_TABLE_END = 510;

export interface BootSectorPlan {
  /** What sector 0 holds now. */
  oldSector: Uint8Array;
  /** Keep bytes 3 … bpbEnd − 1 of the old sector (a FAT volume's BPB), or null. */
  keepBpbEnd: number | null;
  /** Keep the MBR's disk signature and partition table. */
  keepTable: boolean;
  /** Accept a first sector without 55 AA. */
  force?: boolean;
}

export function hasBootSignature(sector: Uint8Array): boolean {
  return sector[BOOT_SIGNATURE_OFFSET] === 0x55 && sector[BOOT_SIGNATURE_OFFSET + 1] === 0xaa;
}

/**
 * Sector 0 as it will be written: the code's first 512 bytes with the kept bytes of the old
 * sector in place. Throws VALIDATION for code under 512 bytes or without the boot signature.
 */
export function mergeBootSector(code: Uint8Array, plan: BootSectorPlan): Uint8Array {
  if (code.length < SECTOR_BYTES) {
    throw new LoopbackError(
      'VALIDATION',
      `the boot sector is ${code.length} bytes; it must be at least one 512-byte sector (pad it: times 510-($-$$) db 0 / dw 0xAA55)`,
      { sizeBytes: code.length },
    );
  }
  const sector = code.slice(0, SECTOR_BYTES);
  if (!hasBootSignature(sector) && !plan.force) {
    throw new LoopbackError(
      'VALIDATION',
      `the boot sector does not end in 55 AA (bytes 510–511 are ${hex(sector[510]!)} ${hex(sector[511]!)}): the BIOS will not boot it. Add the signature, or force it`,
      { signature: [sector[510], sector[511]] },
    );
  }
  if (plan.keepBpbEnd !== null) sector.set(plan.oldSector.subarray(BPB_START, plan.keepBpbEnd), BPB_START);
  if (plan.keepTable) sector.set(plan.oldSector.subarray(MBR_TABLE_START, MBR_TABLE_END), MBR_TABLE_START);
  return sector;
}

/** Bytes of a kept region that the code does not leave free (its bytes there are not zero): a warning for the report. */
export function overlapsKeptBytes(code: Uint8Array, start: number, end: number): boolean {
  return code.subarray(start, end).some((byte) => byte !== 0);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0').toUpperCase();
}
