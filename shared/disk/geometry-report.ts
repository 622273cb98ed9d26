/**
 * The geometry wizard: every number the OSDev "Loopback Device" article works out by hand for a
 * hard-disk image, as one plain JSON-able object, for
 *   loopstudio geometry (--size SIZE | --cylinders N) [--heads 16] [--sectors 63]
 * and the app's "New image" page. For 1000 cylinders × 16 heads × 63 sectors it gives
 * 516096 bytes per cylinder, 516096000 bytes, 1008000 sectors, one partition from sector 63 to
 * 1007999 (1007937 sectors) at byte offset 32256 (`losetup -o32256`), 503968 1 KiB blocks
 * for `mke2fs -b1024` ("503968+" in fdisk's listing).
 */
import { LoopbackError } from '../errors';
import {
  ATA_MAX_HEADS,
  bochsHardDiskLine,
  bytesPerCylinder,
  checkGeometry,
  checkTrackGeometry,
  chsWall,
  cylindersForSize,
  guessBiosGeometry,
  partitionBlocks,
  partitionOffsetBytes,
  qemuHardDiskArgs,
  sectorsPerCylinder,
  totalSectors,
  type BiosGeometryGuess,
  type BlockCount,
  type Chs,
  type ChsWallReport,
  type CylindersForSize,
  type DiskGeometry,
  type QemuDriveArgs,
} from './geometry';
import { chsForEntry, MBR_MAX_LBA } from './mbr-sector';
import { MBR_TYPE_LINUX } from './partition-types';
import { formatBytes, SECTOR_BYTES } from './sizes';

export interface GeometryWizardInput {
  /** `--size`, in bytes (parse it with sizes.ts). Give this or `cylinders`. */
  sizeBytes?: number;
  /** `--cylinders`. */
  cylinders?: number;
  /** Default 16, as in the article. */
  heads?: number;
  /** Default 63. */
  sectorsPerTrack?: number;
  /** With `sizeBytes`: round the cylinder count up (default: the image is at least that big) or down. */
  rounding?: 'up' | 'down';
  /** First sector of the partition; default one track (63), where DOS-era fdisk put it. */
  partitionStartSector?: number;
  /** File name used in the Bochs and QEMU lines; default "c.img". */
  imagePath?: string;
}

export interface GeometryReport {
  geometry: DiskGeometry;
  sectorBytes: number;
  /** heads × sectors per track × 512: the `bs=` of `dd bs=516096c count=CYLINDERS`. */
  bytesPerCylinder: number;
  totalSectors: number;
  sizeBytes: number;
  sizeText: { binary: string; decimal: string };
  /** How the cylinder count was chosen from `--size`; null with `--cylinders`. */
  cylinderChoice: (CylindersForSize & { chosen: 'up' | 'down' }) | null;
  /** `dd if=/dev/zero of=IMG bs=<blockSizeBytes>c count=<count>`. */
  dd: { blockSizeBytes: number; count: number };
  /** The article's single primary partition (type 0x83, bootable) from the start sector to the end. */
  partition: {
    number: number;
    type: number;
    bootable: boolean;
    startSector: number;
    endSector: number;
    sectorCount: number;
    sizeBytes: number;
    /** startSector × 512: the value of `losetup -o`. */
    offsetBytes: number;
    /** `mke2fs -b1024 DEV <blocks>` / `mkdosfs -F32 DEV <blocks>`. */
    blocks1KiB: BlockCount;
    /** The CHS the partition entry stores (1023/254/63 beyond cylinder 1023). */
    firstChs: Chs;
    lastChs: Chs;
  };
  chs: ChsWallReport;
  /** What QEMU (+ SeaBIOS) will tell a boot sector about this disk, blank and once partitioned. */
  bios: {
    blankImage: BiosGeometryGuess;
    withPartitionTable: BiosGeometryGuess;
    /** True when INT 13h reports the heads and sectors our CHS fields use. */
    chsMatchesBios: boolean;
  };
  /** `ata0-master: type=disk, path="c.img", mode=flat, cylinders=1000, heads=16, spt=63`. */
  bochs: string;
  qemu: QemuDriveArgs;
  notes: string[];
}

function invalid(message: string, details: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

export function geometryReport(input: GeometryWizardInput): GeometryReport {
  const heads = input.heads ?? 16;
  const sectorsPerTrack = input.sectorsPerTrack ?? 63;
  checkTrackGeometry({ heads, sectorsPerTrack });
  if ((input.sizeBytes === undefined) === (input.cylinders === undefined)) {
    throw invalid('Give either a size or a number of cylinders (not both)', { sizeBytes: input.sizeBytes, cylinders: input.cylinders });
  }
  const notes: string[] = [];
  let cylinderChoice: GeometryReport['cylinderChoice'] = null;
  let cylinders: number;
  if (input.sizeBytes !== undefined) {
    const choice = cylindersForSize(input.sizeBytes, { heads, sectorsPerTrack });
    const chosen = input.rounding ?? 'up';
    cylinders = chosen === 'up' ? choice.roundedUp.cylinders : choice.roundedDown.cylinders;
    if (cylinders < 1) {
      throw invalid(`${input.sizeBytes} bytes is less than one cylinder (${choice.bytesPerCylinder} bytes); round up instead`, {
        sizeBytes: input.sizeBytes,
        bytesPerCylinder: choice.bytesPerCylinder,
      });
    }
    cylinderChoice = { ...choice, chosen };
    if (!choice.exact) {
      notes.push(
        `${input.sizeBytes} bytes is ${choice.exactCylinders.toFixed(2)} cylinders; rounded ${chosen} to ${cylinders} (${cylinders * choice.bytesPerCylinder} bytes).`,
      );
    }
  } else {
    cylinders = input.cylinders ?? 0;
  }
  const geometry: DiskGeometry = { cylinders, heads, sectorsPerTrack };
  checkGeometry(geometry);
  const sectors = totalSectors(geometry);
  const sizeBytes = sectors * SECTOR_BYTES;

  const startSector = input.partitionStartSector ?? sectorsPerTrack;
  if (!Number.isSafeInteger(startSector) || startSector < 1 || startSector >= sectors) {
    throw invalid(`The partition start ${startSector} must be a sector from 1 to ${sectors - 1}`, { startSector, totalSectors: sectors });
  }
  let endSector = sectors - 1;
  if (endSector > MBR_MAX_LBA) {
    endSector = MBR_MAX_LBA;
    notes.push(
      `The disk is larger than MBR can address (2^32 sectors, 2 TiB); the partition ends at sector ${MBR_MAX_LBA}. Use GPT for the rest.`,
    );
  }
  const sectorCount = endSector - startSector + 1;
  const chs = chsWall(sizeBytes);
  if (chs.passes !== 'none') notes.push(chs.explanation);

  const tableGeometry = { heads, sectorsPerTrack };
  const blankImage = guessBiosGeometry(sectors);
  const withPartitionTable = guessBiosGeometry(sectors, tableGeometry);
  const chsMatchesBios = withPartitionTable.logical.heads === heads && withPartitionTable.logical.sectorsPerTrack === sectorsPerTrack;
  if (!chsMatchesBios) {
    notes.push(
      `QEMU's BIOS will report ${withPartitionTable.logical.heads} heads × ${withPartitionTable.logical.sectorsPerTrack} sectors for this disk, not ${heads} × ${sectorsPerTrack}: boot code that uses CHS instead of LBA will read the wrong sectors.`,
    );
  }

  const imagePath = input.imagePath ?? 'c.img';
  let bochsGeometry = geometry;
  if (heads > ATA_MAX_HEADS) {
    bochsGeometry = { cylinders: Math.floor(sectors / (ATA_MAX_HEADS * 63)), heads: ATA_MAX_HEADS, sectorsPerTrack: 63 };
    notes.push(
      `Bochs emulates an ATA disk with at most ${ATA_MAX_HEADS} heads, so its line uses ${bochsGeometry.cylinders}/${ATA_MAX_HEADS}/63` +
        (totalSectors(bochsGeometry) === sectors ? '.' : `, which covers ${totalSectors(bochsGeometry)} of the ${sectors} sectors.`),
    );
  }

  return {
    geometry,
    sectorBytes: SECTOR_BYTES,
    bytesPerCylinder: bytesPerCylinder(geometry),
    totalSectors: sectors,
    sizeBytes,
    sizeText: { binary: formatBytes(sizeBytes), decimal: formatBytes(sizeBytes, { style: 'decimal' }) },
    cylinderChoice,
    dd: { blockSizeBytes: sectorsPerCylinder(geometry) * SECTOR_BYTES, count: cylinders },
    partition: {
      number: 1,
      type: MBR_TYPE_LINUX,
      bootable: true,
      startSector,
      endSector,
      sectorCount,
      sizeBytes: sectorCount * SECTOR_BYTES,
      offsetBytes: partitionOffsetBytes(startSector),
      blocks1KiB: partitionBlocks(sectorCount),
      firstChs: chsForEntry(startSector, tableGeometry),
      lastChs: chsForEntry(endSector, tableGeometry),
    },
    chs,
    bios: { blankImage, withPartitionTable, chsMatchesBios },
    bochs: bochsHardDiskLine(imagePath, bochsGeometry),
    qemu: qemuHardDiskArgs(imagePath),
    notes,
  };
}
