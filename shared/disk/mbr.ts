/**
 * The MBR partition table as a whole: a layout (primary, extended and logical partitions in
 * absolute sectors) read from and written to a BlockDevice. The byte format is in
 * mbr-sector.ts (the MBR sector) and ebr.ts (the chain of logical partitions).
 *
 * Numbering as Linux does it: primary and extended partitions keep their slot number 1–4 (a
 * table may use slot 2 and leave slot 1 empty); logical partitions are 5, 6, … in chain order.
 */
import type { BlockDevice } from './block-device';
import { encodeEbrChain, readEbrChain, type ChsSample, type SectorWrite } from './ebr';
import { defaultTrackGeometry, type TrackGeometry } from './geometry';
import {
  chsForEntry,
  emptyMbrSector,
  encodeMbrSector,
  isEntryUsed,
  MBR_BOOT_SIGNATURE,
  MBR_STATUS_ACTIVE,
  MBR_STATUS_INACTIVE,
  type MbrSector,
  parseMbrSector,
  randomDiskSignature,
} from './mbr-sector';
import { isExtendedType } from './partition-types';
import { SECTOR_BYTES } from './sizes';
import { mbrLayoutProblems, validateMbrLayout, type ValidationProblem } from './validate';
import { LoopbackError } from '../errors';

export type MbrPartitionKind = 'primary' | 'extended' | 'logical';

export interface MbrPartition {
  /** 1–4 for primary and extended partitions (their slot), 5… for logical ones. */
  number: number;
  kind: MbrPartitionKind;
  /** First sector, absolute (from the start of the disk). */
  startSector: number;
  sectorCount: number;
  /** Type id, see partition-types.ts. */
  type: number;
  bootable: boolean;
  /** Logical partitions only: the absolute sector of the EBR that describes this partition. */
  ebrSector?: number;
}

export interface MbrLayout {
  /** Size of the disk in 512-byte sectors. */
  diskSectors: number;
  /** Heads and sectors per track used for the CHS fields. */
  geometry: TrackGeometry;
  /** Bytes 440..443 (sfdisk's "label-id"). */
  diskSignature: number;
  /** Bytes 0..439. Undefined when writing: keep what the disk has. */
  bootCode?: Uint8Array;
  /** Bytes 444..445. Undefined when writing: keep what the disk has. */
  reserved?: number;
  /** Primary and extended partitions (any order), then logical ones in chain order. */
  partitions: MbrPartition[];
}

export interface CreateMbrLayoutOptions {
  geometry?: TrackGeometry;
  /** Default: a random nonzero signature from Web Crypto. */
  diskSignature?: number;
  bootCode?: Uint8Array;
}

/** A blank table for a disk of `diskSectors` sectors, with a fresh random disk signature. */
export function createMbrLayout(diskSectors: number, options: CreateMbrLayoutOptions = {}): MbrLayout {
  const layout: MbrLayout = {
    diskSectors,
    geometry: options.geometry ?? defaultTrackGeometry(diskSectors),
    diskSignature: options.diskSignature ?? randomDiskSignature(),
    partitions: [],
  };
  if (options.bootCode) layout.bootCode = options.bootCode;
  return layout;
}

export function partitionEndSector(partition: Pick<MbrPartition, 'startSector' | 'sectorCount'>): number {
  return partition.startSector + partition.sectorCount - 1;
}

export function extendedPartition(layout: MbrLayout): MbrPartition | undefined {
  return layout.partitions.find((p) => p.kind === 'extended');
}

export function logicalPartitions(layout: MbrLayout): MbrPartition[] {
  return layout.partitions.filter((p) => p.kind === 'logical');
}

// --- Encoding ---

function sortedForWriting(layout: MbrLayout): MbrPartition[] {
  const primaries = layout.partitions.filter((p) => p.kind !== 'logical').sort((a, b) => a.number - b.number);
  return [...primaries, ...logicalPartitions(layout)];
}

/**
 * The sectors to write for `layout`: the EBRs first, the MBR (sector 0) last, so the table
 * only points at the chain once the chain is on disk. `currentSector0` is what the disk holds
 * now: its boot code and reserved word are kept unless the layout sets them. Validates first.
 */
export function encodeMbrLayout(layout: MbrLayout, currentSector0?: Uint8Array, diskSectors = layout.diskSectors): SectorWrite[] {
  validateMbrLayout(layout, diskSectors);
  const current = currentSector0 && currentSector0.length >= SECTOR_BYTES ? parseMbrSector(currentSector0) : undefined;
  const mbr: MbrSector = emptyMbrSector(layout.diskSignature);
  mbr.bootCode = (layout.bootCode ?? current?.bootCode ?? mbr.bootCode).slice();
  mbr.reserved = layout.reserved ?? current?.reserved ?? 0;
  const { geometry } = layout;
  for (const p of sortedForWriting(layout)) {
    if (p.kind === 'logical') continue;
    mbr.entries[p.number - 1] = {
      status: p.bootable ? MBR_STATUS_ACTIVE : MBR_STATUS_INACTIVE,
      firstChs: chsForEntry(p.startSector, geometry),
      type: p.type,
      lastChs: chsForEntry(partitionEndSector(p), geometry),
      startLBA: p.startSector,
      sectorCount: p.sectorCount,
    };
  }
  const writes: SectorWrite[] = [];
  const extended = extendedPartition(layout);
  if (extended) {
    const logicals = logicalPartitions(layout).map((p) => ({
      ebrSector: p.ebrSector ?? extended.startSector,
      startSector: p.startSector,
      sectorCount: p.sectorCount,
      type: p.type,
      bootable: p.bootable,
    }));
    writes.push(...encodeEbrChain(extended, logicals, geometry));
  }
  writes.push({ lba: 0, bytes: encodeMbrSector(mbr) });
  return writes;
}

/**
 * Writes `layout` to `device`. Validates against the device's real size first and writes
 * nothing when the layout is invalid (LoopbackError 'VALIDATION'). Keeps the disk's boot code
 * (bytes 0..439) and reserved word unless the layout sets them.
 */
export async function writeMbr(device: BlockDevice, layout: MbrLayout): Promise<void> {
  const deviceSectors = Math.floor(device.sizeBytes / SECTOR_BYTES);
  validateMbrLayout(layout, deviceSectors);
  const current = await device.read(0, SECTOR_BYTES);
  const writes = encodeMbrLayout(layout, current, deviceSectors);
  for (const write of writes) await device.write(write.lba * SECTOR_BYTES, write.bytes);
  await device.flush();
}

// --- Decoding ---

export interface MbrRead {
  layout: MbrLayout;
  /** Where `layout.geometry` came from: the table's own CHS fields, or our default for the size. */
  geometrySource: 'chs-fields' | 'default';
  /** Oddities of the on-disk table that did not stop us reading it. */
  warnings: string[];
  /** What `writeMbr` would refuse in this layout as read (overlaps, partitions past the end …). */
  problems: ValidationProblem[];
}

function sameChs(a: { cylinder: number; head: number; sector: number }, b: { cylinder: number; head: number; sector: number }): boolean {
  return a.cylinder === b.cylinder && a.head === b.head && a.sector === b.sector;
}

function* candidateGeometries(preferred: TrackGeometry[]): Generator<TrackGeometry> {
  yield* preferred;
  for (let sectorsPerTrack = 63; sectorsPerTrack >= 1; sectorsPerTrack--) {
    for (let heads = 255; heads >= 1; heads--) yield { heads, sectorsPerTrack };
  }
}

/**
 * The heads/sectors-per-track with which every stored CHS value is exactly what we would write
 * for its LBA, so rewriting the table keeps the CHS bytes other tools wrote. Prefers our
 * default for the size, then 255/63 and 16/63; null when no geometry explains them all.
 * Blank fields (sector 0) are ignored.
 */
export function recoverTrackGeometry(allSamples: readonly ChsSample[], diskSectors: number): TrackGeometry | null {
  // Sector 0 does not exist in CHS (sectors count from 1): such fields were left blank by a
  // tool that only cares about LBA, and say nothing about the geometry.
  const samples = allSamples.filter((sample) => sample.chs.sector !== 0);
  const preferred = [defaultTrackGeometry(diskSectors), { heads: 255, sectorsPerTrack: 63 }, { heads: 16, sectorsPerTrack: 63 }];
  for (const geometry of candidateGeometries(preferred)) {
    if (samples.every((sample) => sameChs(chsForEntry(sample.lba, geometry), sample.chs))) return geometry;
  }
  return null;
}

/**
 * The heads and sectors QEMU derives from an MBR (hw/block/hd-geometry.c, guess_disk_lchs): the
 * end CHS of the first used entry whose end head is not 0, assuming it ends on a cylinder
 * boundary. Feed it to `guessBiosGeometry` to know what the BIOS will report for this disk.
 */
export function qemuGeometryHint(sector: MbrSector, diskSectors: number): TrackGeometry | null {
  if (sector.bootSignature !== MBR_BOOT_SIGNATURE) return null;
  for (const entry of sector.entries) {
    if (entry.sectorCount === 0 || entry.lastChs.head === 0) continue;
    const heads = entry.lastChs.head + 1;
    const sectorsPerTrack = entry.lastChs.sector;
    if (sectorsPerTrack === 0) continue;
    const cylinders = Math.floor(diskSectors / (heads * sectorsPerTrack));
    if (cylinders < 1 || cylinders > 16383) continue;
    return { heads, sectorsPerTrack };
  }
  return null;
}

/**
 * Reads the MBR and its EBR chain from `device`. Throws LoopbackError 'NOT_FOUND' when sector 0
 * has no 0x55AA signature; anything else odd becomes a warning or a problem in the result.
 * (`readPartitionTable` in partition-table.ts first tells MBR, GPT and no table apart.)
 */
export async function readMbr(device: BlockDevice): Promise<MbrRead> {
  const diskSectors = Math.floor(device.sizeBytes / SECTOR_BYTES);
  if (diskSectors < 1) {
    throw new LoopbackError('NOT_FOUND', `The device is ${device.sizeBytes} bytes, too small to hold an MBR (512 bytes)`, {
      sizeBytes: device.sizeBytes,
    });
  }
  const sector0 = await device.read(0, SECTOR_BYTES);
  const mbr = parseMbrSector(sector0);
  if (mbr.bootSignature !== MBR_BOOT_SIGNATURE) {
    throw new LoopbackError('NOT_FOUND', 'No MBR partition table: sector 0 does not end with the 0x55AA boot signature', {
      bootSignature: mbr.bootSignature,
    });
  }
  const warnings: string[] = [];
  const partitions: MbrPartition[] = [];
  const chsSamples: ChsSample[] = [];
  let extended: MbrPartition | undefined;
  mbr.entries.forEach((entry, i) => {
    if (!isEntryUsed(entry)) {
      if (entry.type !== 0 || entry.startLBA !== 0)
        warnings.push(`Slot ${i + 1} has type 0x${entry.type.toString(16)} but a size of 0 sectors; it is treated as empty.`);
      return;
    }
    if (entry.status !== MBR_STATUS_ACTIVE && entry.status !== MBR_STATUS_INACTIVE) {
      warnings.push(`Partition ${i + 1} has status byte 0x${entry.status.toString(16)} (neither 0x80 nor 0x00).`);
    }
    chsSamples.push({ lba: entry.startLBA, chs: entry.firstChs }, { lba: entry.startLBA + entry.sectorCount - 1, chs: entry.lastChs });
    const partition: MbrPartition = {
      number: i + 1,
      kind: isExtendedType(entry.type) ? 'extended' : 'primary',
      startSector: entry.startLBA,
      sectorCount: entry.sectorCount,
      type: entry.type,
      bootable: entry.status === MBR_STATUS_ACTIVE,
    };
    partitions.push(partition);
    if (partition.kind === 'extended') {
      if (extended) warnings.push(`Partition ${partition.number} is a second extended partition; its logical partitions were not read.`);
      else extended = partition;
    }
  });
  if (extended) {
    const chain = await readEbrChain(device, extended);
    warnings.push(...chain.warnings);
    chsSamples.push(...chain.chsSamples);
    chain.logicals.forEach((logical, i) => {
      partitions.push({
        number: 5 + i,
        kind: 'logical',
        startSector: logical.startSector,
        sectorCount: logical.sectorCount,
        type: logical.type,
        bootable: logical.status === MBR_STATUS_ACTIVE,
        ebrSector: logical.ebrSector,
      });
    });
  }
  const recovered = recoverTrackGeometry(chsSamples, diskSectors);
  if (!recovered) {
    warnings.push('The CHS fields do not match any disk geometry; rewriting the table will recompute them.');
  }
  const layout: MbrLayout = {
    diskSectors,
    geometry: recovered ?? defaultTrackGeometry(diskSectors),
    diskSignature: mbr.diskSignature,
    bootCode: mbr.bootCode,
    reserved: mbr.reserved,
    partitions,
  };
  return {
    layout,
    geometrySource: recovered && chsSamples.some((sample) => sample.chs.sector !== 0) ? 'chs-fields' : 'default',
    warnings,
    problems: mbrLayoutProblems(layout),
  };
}
