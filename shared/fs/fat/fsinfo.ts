/**
 * The FAT32 FSInfo sector: hints for the free cluster count and where to look for a free
 * cluster. Microsoft FAT specification v1.03, section "FAT32 FSInfo Sector Structure and Backup
 * Boot Sector". Both values are hints: 0xFFFFFFFF means "unknown" and readers must check them.
 */
import { LoopbackError } from '../../errors';

export const FSI_LEADSIG = 0; // u32
export const FSI_RESERVED1 = 4; // 480 bytes
export const FSI_STRUCSIG = 484; // u32
export const FSI_FREE_COUNT = 488; // u32
export const FSI_NXT_FREE = 492; // u32
export const FSI_RESERVED2 = 496; // 12 bytes
export const FSI_TRAILSIG = 508; // u32

/** FAT spec: FSI_LeadSig = 0x41615252 ("RRaA"). */
export const FSI_LEAD_SIGNATURE = 0x41615252;
/** FAT spec: FSI_StrucSig = 0x61417272 ("rrAa"). */
export const FSI_STRUC_SIGNATURE = 0x61417272;
/** FAT spec: FSI_TrailSig = 0xAA550000. */
export const FSI_TRAIL_SIGNATURE = 0xaa550000;
/** FAT spec: "0xFFFFFFFF … the free count is unknown", and likewise for FSI_Nxt_Free. */
export const FSI_UNKNOWN = 0xffffffff;

export const FSINFO_BYTES = 512;

export interface FsInfo {
  FSI_Free_Count: number;
  FSI_Nxt_Free: number;
}

/** Reads an FSInfo sector; throws VALIDATION when one of its three signatures is wrong. */
export function parseFsInfo(bytes: Uint8Array): FsInfo {
  if (bytes.length < FSINFO_BYTES) {
    throw new LoopbackError('INVALID_INPUT', `An FSInfo sector is ${FSINFO_BYTES} bytes; got ${bytes.length}`, { length: bytes.length });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, FSINFO_BYTES);
  const lead = view.getUint32(FSI_LEADSIG, true);
  const struc = view.getUint32(FSI_STRUCSIG, true);
  const trail = view.getUint32(FSI_TRAILSIG, true);
  if (lead !== FSI_LEAD_SIGNATURE || struc !== FSI_STRUC_SIGNATURE || trail !== FSI_TRAIL_SIGNATURE) {
    throw new LoopbackError('VALIDATION', 'The FSInfo sector has wrong signatures (FSI_LeadSig, FSI_StrucSig or FSI_TrailSig)', {
      lead,
      struc,
      trail,
    });
  }
  return { FSI_Free_Count: view.getUint32(FSI_FREE_COUNT, true), FSI_Nxt_Free: view.getUint32(FSI_NXT_FREE, true) };
}

export function encodeFsInfo(info: FsInfo): Uint8Array {
  const bytes = new Uint8Array(FSINFO_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(FSI_LEADSIG, FSI_LEAD_SIGNATURE, true);
  view.setUint32(FSI_STRUCSIG, FSI_STRUC_SIGNATURE, true);
  view.setUint32(FSI_FREE_COUNT, info.FSI_Free_Count >>> 0, true);
  view.setUint32(FSI_NXT_FREE, info.FSI_Nxt_Free >>> 0, true);
  view.setUint32(FSI_TRAILSIG, FSI_TRAIL_SIGNATURE, true);
  return bytes;
}
