/**
 * Extended boot records: the linked list that holds logical partitions inside an extended
 * partition. Each EBR is a sector with the MBR's layout (mbr-sector.ts) whose entries mean:
 *   entry 1: the logical partition, start relative to *this EBR's* sector;
 *   entry 2: the link to the next EBR, start relative to the *extended partition's* first
 *            sector, size from that EBR to the end of its logical partition; type 0x05;
 *   entries 3 and 4: unused.
 * The first EBR sits at the extended partition's first sector. The chain ends at an EBR
 * without a link. Linux numbers the logical partitions 5, 6, … in chain order.
 */
import type { BlockDevice } from './block-device';
import type { Chs, TrackGeometry } from './geometry';
import {
  chsForEntry,
  emptyEntry,
  emptyMbrSector,
  encodeMbrSector,
  isEntryUsed,
  MBR_BOOT_SIGNATURE,
  MBR_STATUS_ACTIVE,
  MBR_STATUS_INACTIVE,
  type MbrPartitionEntry,
  parseMbrSector,
} from './mbr-sector';
import { isExtendedType, MBR_TYPE_EXTENDED } from './partition-types';
import { SECTOR_BYTES } from './sizes';

/**
 * At most this many EBRs are followed. Linux stops at DISK_MAX_PARTS (256) partitions in all;
 * a chain this long is a loop or garbage.
 */
export const MAX_EBR_CHAIN_LENGTH = 256 - 4;

/** A logical partition as the chain describes it, in absolute sectors. */
export interface LogicalRecord {
  ebrSector: number;
  startSector: number;
  sectorCount: number;
  type: number;
  /** The entry's status byte (0x80 bootable, 0x00 not). */
  status: number;
}

/** A CHS value as stored, with the absolute LBA it describes (to recover the geometry used). */
export interface ChsSample {
  lba: number;
  chs: Chs;
}

export interface EbrChain {
  logicals: LogicalRecord[];
  /** The CHS fields of every used entry in the chain, for `recoverTrackGeometry` in mbr.ts. */
  chsSamples: ChsSample[];
  /** Every EBR sector visited, in chain order (the first is the extended partition's start). */
  ebrSectors: number[];
  /** Things a person should know about a chain we could still read (loops, bad links …). */
  warnings: string[];
}

export interface ExtendedArea {
  startSector: number;
  sectorCount: number;
}

/**
 * Follows the EBR chain of the extended partition `extended` on `device`. Never throws for bad
 * on-disk data: it stops where the chain stops making sense and says why in `warnings`.
 */
export async function readEbrChain(device: BlockDevice, extended: ExtendedArea): Promise<EbrChain> {
  const deviceSectors = Math.floor(device.sizeBytes / SECTOR_BYTES);
  const logicals: LogicalRecord[] = [];
  const ebrSectors: number[] = [];
  const warnings: string[] = [];
  const chsSamples: ChsSample[] = [];
  const visited = new Set<number>();
  let ebrSector = extended.startSector;
  for (;;) {
    if (visited.has(ebrSector)) {
      warnings.push(`The EBR chain loops back to sector ${ebrSector}; logical partitions after that were ignored.`);
      break;
    }
    if (ebrSector >= deviceSectors) {
      warnings.push(
        `An EBR link points to sector ${ebrSector}, beyond the end of the disk (${deviceSectors} sectors); the chain ends there.`,
      );
      break;
    }
    if (visited.size >= MAX_EBR_CHAIN_LENGTH) {
      warnings.push(`The EBR chain is longer than ${MAX_EBR_CHAIN_LENGTH} records; the rest was ignored.`);
      break;
    }
    visited.add(ebrSector);
    const sector = parseMbrSector(await device.read(ebrSector * SECTOR_BYTES, SECTOR_BYTES));
    if (sector.bootSignature !== MBR_BOOT_SIGNATURE) {
      warnings.push(`The EBR at sector ${ebrSector} has no 0x55AA signature; the chain ends there.`);
      break;
    }
    ebrSectors.push(ebrSector);
    const used = sector.entries.filter(isEntryUsed);
    const data = used.filter((entry) => !isExtendedType(entry.type));
    const links = used.filter((entry) => isExtendedType(entry.type));
    for (const entry of used) {
      const start = (isExtendedType(entry.type) ? extended.startSector : ebrSector) + entry.startLBA;
      chsSamples.push({ lba: start, chs: entry.firstChs }, { lba: start + entry.sectorCount - 1, chs: entry.lastChs });
    }
    const first = data[0];
    if (first) {
      if (first.status !== MBR_STATUS_ACTIVE && first.status !== MBR_STATUS_INACTIVE) {
        warnings.push(`The EBR at sector ${ebrSector} has status byte 0x${first.status.toString(16)} (neither 0x80 nor 0x00).`);
      }
      logicals.push({
        ebrSector,
        startSector: ebrSector + first.startLBA,
        sectorCount: first.sectorCount,
        type: first.type,
        status: first.status,
      });
    }
    if (data.length > 1) {
      warnings.push(`The EBR at sector ${ebrSector} describes ${data.length} partitions; only the first was read.`);
    }
    if (links.length > 1) {
      warnings.push(`The EBR at sector ${ebrSector} has ${links.length} links; only the first was followed.`);
    }
    const link = links[0];
    if (!link) break;
    ebrSector = extended.startSector + link.startLBA;
  }
  return { logicals, chsSamples, ebrSectors, warnings };
}

/** What to write for one logical partition: absolute sectors, as in MbrLayout. */
export interface LogicalToWrite {
  ebrSector: number;
  startSector: number;
  sectorCount: number;
  type: number;
  bootable: boolean;
}

export interface SectorWrite {
  lba: number;
  bytes: Uint8Array;
}

function entryFor(
  startSector: number,
  sectorCount: number,
  relativeTo: number,
  type: number,
  status: number,
  geometry: TrackGeometry,
): MbrPartitionEntry {
  return {
    status,
    firstChs: chsForEntry(startSector, geometry),
    type,
    lastChs: chsForEntry(startSector + sectorCount - 1, geometry),
    startLBA: startSector - relativeTo,
    sectorCount,
  };
}

/**
 * The EBR sectors for `logicals` (chain order) inside `extended`. When the first logical's EBR
 * is not at the extended partition's start (its first logical was deleted), the start gets an
 * EBR with no partition that links to it; an extended partition with no logicals gets one empty
 * EBR. CHS fields are absolute, computed with `geometry`. The caller validates first.
 */
export function encodeEbrChain(extended: ExtendedArea, logicals: readonly LogicalToWrite[], geometry: TrackGeometry): SectorWrite[] {
  type Record = { ebrSector: number; logical: LogicalToWrite | null };
  const records: Record[] = logicals.map((logical) => ({ ebrSector: logical.ebrSector, logical }));
  if (records[0]?.ebrSector !== extended.startSector) {
    records.unshift({ ebrSector: extended.startSector, logical: null });
  }
  return records.map((record, i) => {
    const sector = emptyMbrSector(0);
    const { logical } = record;
    if (logical) {
      const status = logical.bootable ? MBR_STATUS_ACTIVE : MBR_STATUS_INACTIVE;
      sector.entries[0] = entryFor(logical.startSector, logical.sectorCount, record.ebrSector, logical.type, status, geometry);
    }
    const next = records[i + 1]?.logical;
    if (next) {
      const linkSectors = next.startSector + next.sectorCount - next.ebrSector;
      sector.entries[1] = entryFor(next.ebrSector, linkSectors, extended.startSector, MBR_TYPE_EXTENDED, MBR_STATUS_INACTIVE, geometry);
    } else {
      sector.entries[1] = emptyEntry();
    }
    return { lba: record.ebrSector, bytes: encodeMbrSector(sector) };
  });
}
