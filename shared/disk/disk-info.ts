/**
 * One description of a disk image, whatever its table: what `loopstudio info --json` prints and
 * what the app's image view shows. Partition fields follow sfdisk's units (512-byte sectors,
 * MBR types as two hex digits, GPT types as upper-case GUIDs) so the two can be compared.
 */
import type { BlockDevice } from './block-device';
import { floppyPresetForSize, guessBiosGeometry, sectorsPerCylinder, type DiskGeometry, type FloppyPresetName } from './geometry';
import { GPT_ATTRIBUTE_BITS, hasAttribute, partitionTypeName, sgdiskTypeCode } from './gpt/index';
import { qemuGeometryHint } from './mbr';
import { formatDiskSignature, parseMbrSector } from './mbr-sector';
import { readPartitionTable, type PartitionTableRead } from './partition-table';
import { mbrTypeName } from './partition-types';
import { SECTOR_BYTES } from './sizes';

export interface PartitionInfo {
  /** The partition number: 1–4 primary, 5… logical (MBR); the entry number (GPT). */
  index: number;
  startSector: number;
  /** Inclusive. */
  endSector: number;
  sectorCount: number;
  /** startSector × 512: `losetup -o` and `mount -o offset=`. */
  offsetBytes: number;
  sizeBytes: number;
  /** Whole 1 KiB blocks: the #blocks of `mke2fs -b1024 DEV #blocks` (fdisk's "Blocks" column). */
  blocks1KiB: number;
  /** MBR: two hex digits ("83"), as sfdisk prints it. GPT: the type GUID. */
  type: string;
  typeName: string;
  /** MBR: the active flag. GPT: the "legacy BIOS bootable" attribute. */
  bootable: boolean;
  /** MBR only. */
  kind?: 'primary' | 'extended' | 'logical';
  /** MBR logical partitions: the sector of the EBR that describes it. */
  ebrSector?: number;
  /** GPT only. */
  name?: string;
  uniqueGuid?: string;
  sgdiskCode?: string;
}

export interface DiskInfo {
  sizeBytes: number;
  totalSectors: number;
  geometry: DiskGeometry & { sectorSize: number };
  /** Where the geometry comes from: a floppy format, the table's CHS fields, or QEMU's guess. */
  geometrySource: 'floppy' | 'partition-table' | 'size';
  floppy: FloppyPresetName | null;
  table: 'mbr' | 'gpt' | 'none';
  /** MBR disk signature as sfdisk's label-id ("0x1234abcd"), or the GPT disk GUID. */
  diskId: string | null;
  partitions: PartitionInfo[];
  /** What the readers noticed (no table and why, a damaged GPT header, odd CHS fields …). */
  warnings: string[];
}

function geometryOf(
  totalSectors: number,
  sizeBytes: number,
  read: PartitionTableRead,
  sector0: Uint8Array | null,
): Pick<DiskInfo, 'geometry' | 'geometrySource' | 'floppy'> {
  const floppy = read.table === 'none' ? floppyPresetForSize(sizeBytes) : undefined;
  if (floppy) return { geometry: { ...floppy.geometry, sectorSize: SECTOR_BYTES }, geometrySource: 'floppy', floppy: floppy.name };
  if (read.table === 'mbr' && read.geometrySource === 'chs-fields') {
    const track = read.layout.geometry;
    return {
      geometry: { cylinders: Math.floor(totalSectors / sectorsPerCylinder(track)), ...track, sectorSize: SECTOR_BYTES },
      geometrySource: 'partition-table',
      floppy: null,
    };
  }
  const hint = sector0 ? qemuGeometryHint(parseMbrSector(sector0), totalSectors) : null;
  return {
    geometry: { ...guessBiosGeometry(totalSectors, hint).physical, sectorSize: SECTOR_BYTES },
    geometrySource: 'size',
    floppy: null,
  };
}

function partition(
  index: number,
  startSector: number,
  sectorCount: number,
  extra: Omit<PartitionInfo, 'index' | 'startSector' | 'endSector' | 'sectorCount' | 'offsetBytes' | 'sizeBytes' | 'blocks1KiB'>,
): PartitionInfo {
  return {
    index,
    startSector,
    endSector: startSector + sectorCount - 1,
    sectorCount,
    offsetBytes: startSector * SECTOR_BYTES,
    sizeBytes: sectorCount * SECTOR_BYTES,
    blocks1KiB: Math.floor((sectorCount * SECTOR_BYTES) / 1024),
    ...extra,
  };
}

export async function describeDisk(device: BlockDevice): Promise<DiskInfo> {
  const totalSectors = Math.floor(device.sizeBytes / SECTOR_BYTES);
  const read = await readPartitionTable(device);
  const sector0 = device.sizeBytes >= SECTOR_BYTES ? await device.read(0, SECTOR_BYTES) : null;
  const base = { sizeBytes: device.sizeBytes, totalSectors, ...geometryOf(totalSectors, device.sizeBytes, read, sector0) };
  if (read.table === 'none') {
    return { ...base, table: 'none', diskId: null, partitions: [], warnings: [read.reason] };
  }
  if (read.table === 'mbr') {
    const partitions = [...read.layout.partitions]
      .sort((a, b) => a.number - b.number)
      .map((p) =>
        partition(p.number, p.startSector, p.sectorCount, {
          type: p.type.toString(16).padStart(2, '0'),
          typeName: mbrTypeName(p.type),
          bootable: p.bootable,
          kind: p.kind,
          ...(p.kind === 'logical' && p.ebrSector !== undefined ? { ebrSector: p.ebrSector } : {}),
        }),
      );
    const warnings = [...read.warnings, ...read.problems.map((problem) => problem.message)];
    return { ...base, table: 'mbr', diskId: formatDiskSignature(read.layout.diskSignature), partitions, warnings };
  }
  if (!read.gpt) {
    return { ...base, table: 'gpt', diskId: null, partitions: [], warnings: [read.gptError ?? 'The GPT could not be read.'] };
  }
  const partitions = read.gpt.partitions.map((p) =>
    partition(p.index, p.startingLBA, p.endingLBA - p.startingLBA + 1, {
      type: p.typeGuid,
      typeName: partitionTypeName(p.typeGuid),
      sgdiskCode: sgdiskTypeCode(p.typeGuid) ?? undefined,
      bootable: hasAttribute(p.attributes, GPT_ATTRIBUTE_BITS.legacyBiosBootable),
      name: p.name,
      uniqueGuid: p.uniqueGuid,
    }),
  );
  return { ...base, table: 'gpt', diskId: read.gpt.diskGuid, partitions, warnings: read.gpt.warnings };
}
