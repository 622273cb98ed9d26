/**
 * Disk geometry: floppy formats, cylinders/heads/sectors of hard-disk images, the CHS limits of
 * the PC BIOS, and the numbers the OSDev "Loopback Device" article works out by hand (bytes per
 * cylinder, total sectors, partition byte offset for `losetup -o`, 1 KiB block counts for
 * `mke2fs`). Everything here is arithmetic on numbers; nothing reads a disk.
 *
 * Conventions: cylinders and heads count from 0, sectors within a track from 1 (INT 13h and the
 * MBR's CHS fields number them that way); an LBA counts 512-byte sectors from 0.
 */
import { LoopbackError } from '../errors';
import { SECTOR_BYTES } from './sizes';

export interface DiskGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** The part of a geometry that LBA↔CHS conversion needs (the cylinder count only bounds it). */
export type TrackGeometry = Pick<DiskGeometry, 'heads' | 'sectorsPerTrack'>;

/** One CHS address. `sector` is 1-based. */
export interface Chs {
  cylinder: number;
  head: number;
  sector: number;
}

// --- CHS limits (INT 13h AH=02h/08h register layout; ATA-1 task file) ---

/** INT 13h passes the cylinder in 10 bits (CH + 2 bits of CL): cylinders 0..1023. */
export const CHS_MAX_CYLINDERS = 1024;
/** INT 13h passes the head in DH (8 bits); 255 heads, because DOS fails with 256. */
export const CHS_MAX_HEADS = 255;
/** INT 13h passes the sector in 6 bits of CL, counted from 1: sectors 1..63. */
export const CHS_MAX_SECTORS_PER_TRACK = 63;
/** The ATA task file has a 4-bit head number: 16 heads for an untranslated IDE disk. */
export const ATA_MAX_HEADS = 16;
/** ATA IDENTIFY reports at most 16383 cylinders (with 16 heads, 63 sectors: the 8.4 GB limit). */
export const ATA_MAX_CYLINDERS = 16383;

/** The geometry of the article: 16 heads, 63 sectors per track, 516096 bytes per cylinder. */
export const ARTICLE_TRACK_GEOMETRY: TrackGeometry = { heads: 16, sectorsPerTrack: 63 };
/** The geometry fdisk/sfdisk use for image files and most BIOSes translate large disks to. */
export const LARGE_DISK_TRACK_GEOMETRY: TrackGeometry = { heads: 255, sectorsPerTrack: 63 };

/** 1024 × 16 × 63 × 512 = 528 482 304 bytes (504 MiB): the limit of untranslated CHS. */
export const CHS_WALL_504MIB_BYTES = CHS_MAX_CYLINDERS * ATA_MAX_HEADS * CHS_MAX_SECTORS_PER_TRACK * SECTOR_BYTES;
/** 1024 × 255 × 63 × 512 = 8 422 686 720 bytes (~7.84 GiB, "8 GB"): the limit of any CHS. */
export const CHS_WALL_8GIB_BYTES = CHS_MAX_CYLINDERS * CHS_MAX_HEADS * CHS_MAX_SECTORS_PER_TRACK * SECTOR_BYTES;

function invalid(message: string, details: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

function requireInteger(value: number, name: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be a whole number from ${min} to ${max}, not ${value}`, { [name]: value });
  }
}

/** Checks heads (1..255) and sectors per track (1..63), the ranges the MBR's CHS fields can hold. */
export function checkTrackGeometry(geometry: TrackGeometry): void {
  requireInteger(geometry.heads, 'heads', 1, CHS_MAX_HEADS);
  requireInteger(geometry.sectorsPerTrack, 'sectorsPerTrack', 1, CHS_MAX_SECTORS_PER_TRACK);
}

export function checkGeometry(geometry: DiskGeometry): void {
  checkTrackGeometry(geometry);
  requireInteger(geometry.cylinders, 'cylinders', 1, Number.MAX_SAFE_INTEGER);
}

export function sectorsPerCylinder(geometry: TrackGeometry): number {
  return geometry.heads * geometry.sectorsPerTrack;
}

/** 16 × 63 × 512 = 516096 for the article's geometry. */
export function bytesPerCylinder(geometry: TrackGeometry, sectorBytes = SECTOR_BYTES): number {
  return sectorsPerCylinder(geometry) * sectorBytes;
}

/** C × H × S: 1000 × 16 × 63 = 1008000. */
export function totalSectors(geometry: DiskGeometry): number {
  return geometry.cylinders * sectorsPerCylinder(geometry);
}

export function geometrySizeBytes(geometry: DiskGeometry, sectorBytes = SECTOR_BYTES): number {
  return totalSectors(geometry) * sectorBytes;
}

export interface CylinderCount {
  cylinders: number;
  totalSectors: number;
  sizeBytes: number;
}

export interface CylindersForSize {
  wantedBytes: number;
  bytesPerCylinder: number;
  /** wantedBytes / bytesPerCylinder, unrounded (the article's "approximation"). */
  exactCylinders: number;
  /** The largest whole-cylinder image not above wantedBytes (0 cylinders when below one). */
  roundedDown: CylinderCount;
  /** The smallest whole-cylinder image not below wantedBytes. */
  roundedUp: CylinderCount;
  /** True when wantedBytes is a whole number of cylinders (both roundings agree). */
  exact: boolean;
}

/** How many cylinders make an image of `wantedBytes`: both roundings with their exact sizes. */
export function cylindersForSize(wantedBytes: number, geometry: TrackGeometry = ARTICLE_TRACK_GEOMETRY): CylindersForSize {
  checkTrackGeometry(geometry);
  requireInteger(wantedBytes, 'wantedBytes', 1, Number.MAX_SAFE_INTEGER);
  const cylinderBytes = bytesPerCylinder(geometry);
  const count = (cylinders: number): CylinderCount => ({
    cylinders,
    totalSectors: cylinders * sectorsPerCylinder(geometry),
    sizeBytes: cylinders * cylinderBytes,
  });
  const down = Math.floor(wantedBytes / cylinderBytes);
  const up = Math.ceil(wantedBytes / cylinderBytes);
  return {
    wantedBytes,
    bytesPerCylinder: cylinderBytes,
    exactCylinders: wantedBytes / cylinderBytes,
    roundedDown: count(down),
    roundedUp: count(up),
    exact: down === up,
  };
}

/**
 * LBA → CHS: cylinder = LBA ÷ (H×S), head = (LBA ÷ S) mod H, sector = (LBA mod S) + 1.
 * The cylinder is not capped here; see `mbr.ts` for the 1023/254/63 marker the MBR stores.
 */
export function lbaToChs(lba: number, geometry: TrackGeometry): Chs {
  checkTrackGeometry(geometry);
  requireInteger(lba, 'lba', 0, Number.MAX_SAFE_INTEGER);
  const { heads, sectorsPerTrack } = geometry;
  return {
    cylinder: Math.floor(lba / (heads * sectorsPerTrack)),
    head: Math.floor(lba / sectorsPerTrack) % heads,
    sector: (lba % sectorsPerTrack) + 1,
  };
}

/** CHS → LBA: (C × H + H') × S + (S' − 1). Refuses heads and sectors outside the geometry. */
export function chsToLba(chs: Chs, geometry: TrackGeometry): number {
  checkTrackGeometry(geometry);
  requireInteger(chs.cylinder, 'cylinder', 0, Number.MAX_SAFE_INTEGER);
  requireInteger(chs.head, 'head', 0, geometry.heads - 1);
  requireInteger(chs.sector, 'sector', 1, geometry.sectorsPerTrack);
  return (chs.cylinder * geometry.heads + chs.head) * geometry.sectorsPerTrack + (chs.sector - 1);
}

// --- CHS walls ---

export type ChsWall = 'none' | '504MiB' | '8GiB';

export interface ChsWallReport {
  sizeBytes: number;
  /** The highest wall the size passes: 'none' (fits 16-head CHS), '504MiB' or '8GiB'. */
  passes: ChsWall;
  /** The track geometry CHS fields should use for this size. */
  recommended: TrackGeometry;
  /** Whole cylinders of the recommended geometry, capped at 1024 (what CHS can address). */
  chsCylinders: number;
  /** Bytes reachable through CHS with the recommended geometry (at most 1024 cylinders' worth). */
  chsAddressableBytes: number;
  /** True when part of the disk lies beyond cylinder 1023: reachable only through LBA (INT 13h extensions). */
  lbaOnlyBeyondChs: boolean;
  explanation: string;
}

/**
 * Which CHS limit a disk size passes, and the geometry to use: 16/63 up to 504 MiB, 255/63
 * with at most 1024 cylinders up to ~8 GiB, and beyond that the same capped geometry with the
 * rest of the disk reachable by LBA only.
 */
export function chsWall(sizeBytes: number): ChsWallReport {
  requireInteger(sizeBytes, 'sizeBytes', 0, Number.MAX_SAFE_INTEGER);
  const sectors = Math.floor(sizeBytes / SECTOR_BYTES);
  const report = (passes: ChsWall, recommended: TrackGeometry, explanation: string): ChsWallReport => {
    const reachableSectors = CHS_MAX_CYLINDERS * sectorsPerCylinder(recommended);
    return {
      sizeBytes,
      passes,
      recommended,
      chsCylinders: Math.min(CHS_MAX_CYLINDERS, Math.floor(sectors / sectorsPerCylinder(recommended))),
      chsAddressableBytes: Math.min(sectors, reachableSectors) * SECTOR_BYTES,
      lbaOnlyBeyondChs: sectors > reachableSectors,
      explanation,
    };
  };
  if (sizeBytes <= CHS_WALL_504MIB_BYTES) {
    return report(
      'none',
      ARTICLE_TRACK_GEOMETRY,
      'Fits under the 504 MiB limit (1024 cylinders × 16 heads × 63 sectors): plain CHS with 16 heads works everywhere.',
    );
  }
  if (sizeBytes <= CHS_WALL_8GIB_BYTES) {
    return report(
      '504MiB',
      LARGE_DISK_TRACK_GEOMETRY,
      'Passes the 504 MiB limit of 16-head CHS: use a translated geometry of 255 heads × 63 sectors (at most 1024 cylinders, ~8 GiB).',
    );
  }
  return report(
    '8GiB',
    LARGE_DISK_TRACK_GEOMETRY,
    'Passes the ~8 GiB limit of CHS (1024 × 255 × 63 sectors): CHS fields beyond it hold 1023/254/63 and the rest is reachable by LBA only (INT 13h extensions).',
  );
}

/**
 * The track geometry our MBR writer uses for a new table on a disk of `totalSectors`: the
 * article's 16/63 while that reaches the whole disk under cylinder 1024, else 255/63 (what
 * fdisk and sfdisk use for image files, so our CHS bytes match theirs).
 */
export function defaultTrackGeometry(totalSectorCount: number): TrackGeometry {
  return totalSectorCount * SECTOR_BYTES <= CHS_WALL_504MIB_BYTES ? ARTICLE_TRACK_GEOMETRY : LARGE_DISK_TRACK_GEOMETRY;
}

// --- What QEMU and its BIOS (SeaBIOS) will report ---

export type BiosTranslation = 'none' | 'large' | 'lba';

export interface BiosGeometryGuess {
  /** Where QEMU took the geometry from: the image size, or the CHS of a partition table's ends. */
  source: 'size' | 'partition-table';
  /** The geometry QEMU's IDE disk reports to the BIOS (ATA IDENTIFY). */
  physical: DiskGeometry;
  /** The translation QEMU asks the BIOS to apply (passed in CMOS). */
  translation: BiosTranslation;
  /** The geometry INT 13h AH=08h returns to a boot sector: what CHS values must agree with. */
  logical: DiskGeometry;
}

/**
 * The geometry QEMU (hw/block/hd-geometry.c, hd_geometry_guess) gives an IDE disk image and the
 * one SeaBIOS (src/block.c, setup_translation) then reports through INT 13h.
 *
 * `tableHint` is the heads/sectors QEMU reads from an existing MBR (see `qemuGeometryHint` in
 * mbr.ts): with 16 heads or fewer QEMU uses it as the physical geometry; with more it assumes a
 * BIOS translation was in use and picks LARGE or LBA translation.
 */
export function guessBiosGeometry(totalSectorCount: number, tableHint?: TrackGeometry | null): BiosGeometryGuess {
  requireInteger(totalSectorCount, 'totalSectors', 0, Number.MAX_SAFE_INTEGER);
  const fromSize = (): DiskGeometry => ({
    // guess_chs_for_size: 16 heads, 63 sectors, cylinders clamped to 2..16383
    cylinders: Math.min(ATA_MAX_CYLINDERS, Math.max(2, Math.floor(totalSectorCount / (16 * 63)))),
    heads: 16,
    sectorsPerTrack: 63,
  });
  let physical: DiskGeometry;
  let translation: BiosTranslation;
  let source: BiosGeometryGuess['source'];
  if (!tableHint) {
    physical = fromSize();
    source = 'size';
    // hd_bios_chs_auto_trans
    translation = physical.cylinders <= 1024 && physical.heads <= 16 && physical.sectorsPerTrack <= 63 ? 'none' : 'lba';
  } else if (tableHint.heads > 16) {
    physical = fromSize();
    source = 'partition-table';
    translation = physical.cylinders * physical.heads <= 131072 ? 'large' : 'lba';
  } else {
    physical = {
      cylinders: Math.floor(totalSectorCount / sectorsPerCylinder(tableHint)),
      heads: tableHint.heads,
      sectorsPerTrack: tableHint.sectorsPerTrack,
    };
    source = 'partition-table';
    translation = 'none';
  }
  return { source, physical, translation, logical: seabiosLogicalGeometry(physical, translation, totalSectorCount) };
}

/** SeaBIOS setup_translation: the INT 13h geometry for a physical geometry and translation. */
function seabiosLogicalGeometry(physical: DiskGeometry, translation: BiosTranslation, sectors: number): DiskGeometry {
  let { cylinders, heads, sectorsPerTrack } = physical;
  if (translation === 'lba') {
    sectorsPerTrack = 63;
    if (sectors > 63 * 255 * 1024) {
      heads = 255;
      cylinders = 1024;
    } else {
      const tracks = Math.floor(sectors / 63);
      const wanted = Math.floor(tracks / 1024);
      heads = wanted > 128 ? 255 : wanted > 64 ? 128 : wanted > 32 ? 64 : wanted > 16 ? 32 : 16;
      cylinders = Math.floor(tracks / heads);
    }
  } else if (translation === 'large') {
    while (cylinders > 1024) {
      cylinders = Math.floor(cylinders / 2);
      heads *= 2;
      if (heads > 127) break;
    }
  }
  return { cylinders: Math.min(cylinders, CHS_MAX_CYLINDERS), heads, sectorsPerTrack };
}

// --- Partition arithmetic of the article ---

/** Where a partition starts in the image file: 63 × 512 = 32256, the `losetup -o` value. */
export function partitionOffsetBytes(startSector: number, sectorBytes = SECTOR_BYTES): number {
  requireInteger(startSector, 'startSector', 0, Number.MAX_SAFE_INTEGER);
  return startSector * sectorBytes;
}

export interface BlockCount {
  blockBytes: number;
  /** Whole blocks: floor(sectors × 512 ÷ blockBytes), the count `mke2fs -b1024 DEV #blocks` takes. */
  blocks: number;
  /** Bytes left over after the last whole block (fdisk marks a nonzero remainder with "+"). */
  remainderBytes: number;
  /** As fdisk prints it: "503968+" when there is a remainder. */
  fdiskText: string;
}

/** A partition's size in blocks (1 KiB by default): 1007937 sectors → 503968 blocks, "503968+". */
export function partitionBlocks(sectorCount: number, blockBytes = 1024, sectorBytes = SECTOR_BYTES): BlockCount {
  requireInteger(sectorCount, 'sectorCount', 0, Number.MAX_SAFE_INTEGER);
  requireInteger(blockBytes, 'blockBytes', 1, Number.MAX_SAFE_INTEGER);
  const bytes = sectorCount * sectorBytes;
  const blocks = Math.floor(bytes / blockBytes);
  const remainderBytes = bytes - blocks * blockBytes;
  return { blockBytes, blocks, remainderBytes, fdiskText: `${blocks}${remainderBytes > 0 ? '+' : ''}` };
}

// --- Emulator configuration lines ---

/** QEMU option values separate sub-options with commas; a comma in a file name is doubled. */
function qemuOptionValue(text: string): string {
  return text.replaceAll(',', ',,');
}

export interface QemuDriveArgs {
  /** The modern form, as an argument array: ['-drive', 'file=c.img,format=raw,if=ide']. */
  drive: string[];
  /** The legacy short form: ['-hda', 'c.img'] or ['-fda', 'floppy.img'] (QEMU warns it guesses raw). */
  legacy: string[];
}

export function qemuHardDiskArgs(imagePath: string): QemuDriveArgs {
  return { drive: ['-drive', `file=${qemuOptionValue(imagePath)},format=raw,if=ide`], legacy: ['-hda', imagePath] };
}

export function qemuFloppyArgs(imagePath: string): QemuDriveArgs {
  return { drive: ['-drive', `file=${qemuOptionValue(imagePath)},format=raw,if=floppy`], legacy: ['-fda', imagePath] };
}

function bochsPath(imagePath: string): string {
  if (/["\r\n]/.test(imagePath)) {
    throw invalid(`Bochs configuration cannot name a file containing a double quote or a line break: ${JSON.stringify(imagePath)}`, {
      imagePath,
    });
  }
  return `"${imagePath}"`;
}

/**
 * The bochsrc line for a flat hard-disk image. Bochs emulates an ATA disk, whose geometry has at
 * most 16 heads, so pass the physical geometry (see `guessBiosGeometry(...).physical` for disks
 * over 504 MiB); Bochs wants cylinders × heads × spt × 512 to equal the image size.
 */
export function bochsHardDiskLine(imagePath: string, geometry: DiskGeometry, channel = 'ata0-master'): string {
  checkGeometry(geometry);
  return `${channel}: type=disk, path=${bochsPath(imagePath)}, mode=flat, cylinders=${geometry.cylinders}, heads=${geometry.heads}, spt=${geometry.sectorsPerTrack}`;
}

// --- Floppy formats ---

export type FloppyPresetName = '360K' | '720K' | '1.2M' | '1.44M' | '2.88M';

export interface FloppyPreset {
  name: FloppyPresetName;
  description: string;
  geometry: DiskGeometry;
  totalSectors: number;
  sizeBytes: number;
  /** BPB media descriptor byte (Microsoft FAT spec, BPB_Media). */
  mediaDescriptor: number;
  /** BPB_RootEntCnt: 32-byte entries in the fixed root directory. */
  rootDirEntries: number;
  /** BPB_SecPerClus as mkfs.fat (dosfstools) chooses for this format. */
  sectorsPerCluster: number;
  /** Bochs' floppy type keyword (`floppya: 1_44="a.img", status=inserted`). */
  bochsType: string;
}

function floppy(
  name: FloppyPresetName,
  description: string,
  cylinders: number,
  sectorsPerTrack: number,
  mediaDescriptor: number,
  rootDirEntries: number,
  sectorsPerCluster: number,
  bochsType: string,
): FloppyPreset {
  const geometry = { cylinders, heads: 2, sectorsPerTrack };
  return {
    name,
    description,
    geometry,
    totalSectors: totalSectors(geometry),
    sizeBytes: geometrySizeBytes(geometry),
    mediaDescriptor,
    rootDirEntries,
    sectorsPerCluster,
    bochsType,
  };
}

/**
 * The PC floppy formats. Media bytes, root entries and cluster sizes are the DOS values, which
 * mkfs.fat (dosfstools 4.2) also uses — measured with `mkfs.fat -C IMG 360|720|1200|1440|2880` —
 * except one: for 2.88M, DOS uses 240 root entries and mkfs.fat 224. We keep DOS's 240.
 */
export const FLOPPY_PRESETS: Readonly<Record<FloppyPresetName, FloppyPreset>> = {
  '360K': floppy('360K', '5.25" double density, 40 × 2 × 9', 40, 9, 0xfd, 112, 2, '360k'),
  '720K': floppy('720K', '3.5" double density, 80 × 2 × 9', 80, 9, 0xf9, 112, 2, '720k'),
  '1.2M': floppy('1.2M', '5.25" high density, 80 × 2 × 15', 80, 15, 0xf9, 224, 1, '1_2'),
  '1.44M': floppy('1.44M', '3.5" high density, 80 × 2 × 18', 80, 18, 0xf0, 224, 1, '1_44'),
  '2.88M': floppy('2.88M', '3.5" extra density, 80 × 2 × 36', 80, 36, 0xf0, 240, 2, '2_88'),
};

export const FLOPPY_PRESET_NAMES = Object.keys(FLOPPY_PRESETS) as FloppyPresetName[];

/** Finds a floppy format by name (`1.44M`, `1.44MB`, `1440K`, `1440`) or returns undefined. */
export function findFloppyPreset(text: string): FloppyPreset | undefined {
  const key = text.trim().toUpperCase().replace(/I?B$/, '');
  for (const preset of Object.values(FLOPPY_PRESETS)) {
    const kib = preset.sizeBytes / 1024;
    if (key === preset.name || key === `${kib}K` || key === String(kib)) return preset;
  }
  return undefined;
}

/** Like findFloppyPreset, but throws INVALID_INPUT listing the formats. */
export function floppyPreset(text: string): FloppyPreset {
  const preset = findFloppyPreset(text);
  if (!preset) {
    throw invalid(`"${text}" is not a floppy format: use one of ${FLOPPY_PRESET_NAMES.join(', ')}`, { value: text });
  }
  return preset;
}

/** The floppy format whose image is exactly `sizeBytes`, if any (to recognise an existing image). */
export function floppyPresetForSize(sizeBytes: number): FloppyPreset | undefined {
  return Object.values(FLOPPY_PRESETS).find((preset) => preset.sizeBytes === sizeBytes);
}

export function bochsFloppyLine(imagePath: string, preset: FloppyPreset, drive = 'floppya'): string {
  return `${drive}: ${preset.bochsType}=${bochsPath(imagePath)}, status=inserted`;
}
