/**
 * What a new image looks like before any byte is written: its size from `--size`, `--chs` or
 * `--floppy`, and the geometry it will carry. Shared by the CLI's `create`, the new-image wizard
 * and recipes, so all three refuse the same bad input with the same words.
 */
import { LoopbackError } from '../errors';
import { checkGeometry, floppyPreset, geometrySizeBytes, guessBiosGeometry, type DiskGeometry, type FloppyPresetName } from './geometry';
import { SECTOR_BYTES, formatBytes, parseSize } from './sizes';

export type ImageShapeRequest = { size: string | number } | { chs: DiskGeometry | string } | { floppy: string };

export interface ImageShape {
  sizeBytes: number;
  totalSectors: number;
  geometry: DiskGeometry;
  /** Set for floppy presets: the image is a floppy (no partition table, `if=floppy` in QEMU). */
  floppy: FloppyPresetName | null;
  /** Where the geometry came from: the preset, the C/H/S given, or QEMU's guess for the size. */
  geometrySource: 'floppy' | 'chs' | 'size';
}

/** The smallest image we make: one MBR plus one track. Anything less cannot hold a partition. */
export const MIN_IMAGE_SECTORS = 64;
/** 2 TiB × 1024: far above what anyone boots, below where Number arithmetic gets inexact. */
export const MAX_IMAGE_BYTES = 2 ** 51;

function invalid(message: string, details: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

/** Parses `1000/16/63` (cylinders/heads/sectors per track). */
export function parseChs(text: string): DiskGeometry {
  const match = /^\s*(\d+)\s*[/x×,]\s*(\d+)\s*[/x×,]\s*(\d+)\s*$/.exec(text);
  if (!match) {
    throw invalid(`"${text}" is not a C/H/S geometry: write cylinders/heads/sectors, e.g. 1000/16/63`, { value: text });
  }
  const geometry = { cylinders: Number(match[1]), heads: Number(match[2]), sectorsPerTrack: Number(match[3]) };
  checkGeometry(geometry);
  return geometry;
}

function checkSize(sizeBytes: number, what: string): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
    throw invalid(`${what}: the size must be a positive whole number of bytes`, { sizeBytes });
  }
  if (sizeBytes % SECTOR_BYTES !== 0) {
    const up = Math.ceil(sizeBytes / SECTOR_BYTES) * SECTOR_BYTES;
    throw invalid(
      `${what}: ${sizeBytes} bytes is not a whole number of ${SECTOR_BYTES}-byte sectors; use ${up} (${up / SECTOR_BYTES} sectors)`,
      { sizeBytes, suggestedBytes: up },
    );
  }
  if (sizeBytes < MIN_IMAGE_SECTORS * SECTOR_BYTES) {
    throw invalid(
      `${what}: ${formatBytes(sizeBytes)} is too small for a disk image; the smallest is ${MIN_IMAGE_SECTORS * SECTOR_BYTES} bytes (${MIN_IMAGE_SECTORS} sectors)`,
      { sizeBytes, minimumBytes: MIN_IMAGE_SECTORS * SECTOR_BYTES },
    );
  }
  if (sizeBytes > MAX_IMAGE_BYTES) {
    throw invalid(`${what}: ${formatBytes(sizeBytes)} is larger than the ${formatBytes(MAX_IMAGE_BYTES)} Loopback Studio handles`, {
      sizeBytes,
    });
  }
}

export function resolveImageShape(request: ImageShapeRequest): ImageShape {
  if ('floppy' in request) {
    const preset = floppyPreset(request.floppy);
    return {
      sizeBytes: preset.sizeBytes,
      totalSectors: preset.totalSectors,
      geometry: preset.geometry,
      floppy: preset.name,
      geometrySource: 'floppy',
    };
  }
  if ('chs' in request) {
    const geometry = typeof request.chs === 'string' ? parseChs(request.chs) : request.chs;
    checkGeometry(geometry);
    const sizeBytes = geometrySizeBytes(geometry);
    checkSize(sizeBytes, `C/H/S ${geometry.cylinders}/${geometry.heads}/${geometry.sectorsPerTrack}`);
    return { sizeBytes, totalSectors: sizeBytes / SECTOR_BYTES, geometry, floppy: null, geometrySource: 'chs' };
  }
  const sizeBytes = typeof request.size === 'number' ? request.size : parseSize(request.size);
  checkSize(sizeBytes, `size ${request.size}`);
  const totalSectors = sizeBytes / SECTOR_BYTES;
  return { sizeBytes, totalSectors, geometry: guessBiosGeometry(totalSectors).physical, floppy: null, geometrySource: 'size' };
}
