/**
 * Sizes as people type them (CLI flags, UI fields) and as we print them back.
 *
 * Units, decided once for the whole app:
 * - `K`, `M`, `G`, `T` and `KiB`, `MiB`, `GiB`, `TiB` are binary: powers of 1024. This is what
 *   dd, sfdisk, losetup and qemu-img mean by `64M`, and what a hobby OS developer expects.
 * - `KB`, `MB`, `GB`, `TB` are decimal: powers of 1000, as disk makers print them (the article's
 *   "disk manufacturers and programmers don't agree on how many bytes are in a megabyte").
 * - a plain number is bytes; `s` after a number is 512-byte sectors (`2048s`), as in parted.
 * - a trailing `B` alone means bytes (`512B`). Units are case-insensitive (`64m` = `64M`).
 * - fractions are allowed when they come out to whole bytes (`1.5GiB`, `0.5K`).
 */
import { LoopbackError } from '../errors';

/** Bytes per sector for everything this app builds (512-byte sectors, as BIOS disks use). */
export const SECTOR_BYTES = 512;

const BINARY_UNITS: Record<string, number> = {
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};
const DECIMAL_UNITS: Record<string, number> = {
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
};

const SIZE_TEXT = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i;

/** How many bytes one `unit` (as typed after the number) stands for, or undefined if unknown. */
function unitBytes(unit: string): number | undefined {
  const u = unit.toLowerCase();
  if (u === '' || u === 'b') return 1;
  if (u === 's') return SECTOR_BYTES;
  const prefix = u.charAt(0);
  const rest = u.slice(1);
  if (rest === '' || rest === 'ib') return BINARY_UNITS[prefix];
  if (rest === 'b') return DECIMAL_UNITS[prefix];
  return undefined;
}

function invalidSize(text: string, why: string): LoopbackError {
  return new LoopbackError(
    'INVALID_INPUT',
    `"${text}" is not a size: ${why}. Examples: 64M, 64MiB, 1.5GiB, 100MB (decimal), 1048576 (bytes), 2048s (sectors)`,
    { value: text },
  );
}

/**
 * Parses a size into bytes. `64M` and `64MiB` are 67108864; `100MB` is 100000000; `2048s` is
 * 1048576; `1048576` is 1048576. Throws LoopbackError INVALID_INPUT naming the text.
 */
export function parseSize(text: string): number {
  const trimmed = text.trim();
  const match = SIZE_TEXT.exec(trimmed);
  if (!match) {
    if (trimmed === '') throw invalidSize(text, 'it is empty');
    if (trimmed.startsWith('-')) throw invalidSize(text, 'a size cannot be negative');
    throw invalidSize(text, 'expected a number followed by an optional unit');
  }
  const numberText = match[1] ?? '';
  const unit = match[2] ?? '';
  const multiplier = unitBytes(unit);
  if (multiplier === undefined) {
    throw invalidSize(text, `unknown unit "${unit}" (use B, s, K/KiB/KB, M/MiB/MB, G/GiB/GB or T/TiB/TB)`);
  }
  const bytes = exactProduct(numberText, multiplier);
  if (bytes === undefined) {
    throw invalidSize(text, 'it is not a whole number of bytes');
  }
  if (!Number.isSafeInteger(bytes)) {
    throw invalidSize(text, `it is larger than ${Number.MAX_SAFE_INTEGER} bytes`);
  }
  return bytes;
}

/**
 * `numberText × multiplier` computed exactly with bigint (so 1.1G is not off by a float
 * rounding error), or undefined when the product has a fractional byte.
 */
function exactProduct(numberText: string, multiplier: number): number | undefined {
  const [whole = '', fraction = ''] = numberText.split('.');
  const scale = 10n ** BigInt(fraction.length);
  const numerator = BigInt((whole || '0') + fraction) * BigInt(multiplier);
  if (numerator % scale !== 0n) return undefined;
  const product = numerator / scale;
  return product > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER + 1 : Number(product);
}

/**
 * Parses a size and converts it to whole sectors. A plain number means *sectors* here (as in an
 * sfdisk script); with a unit it is bytes rounded up to the next whole sector, so `100MB` gives a
 * partition of at least 100 000 000 bytes.
 */
export function parseSectorCount(text: string, sectorBytes = SECTOR_BYTES): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const sectors = Number(trimmed);
    if (!Number.isSafeInteger(sectors)) throw invalidSize(text, 'the number is too large');
    return sectors;
  }
  return Math.ceil(parseSize(trimmed) / sectorBytes);
}

/**
 * Parses a position (a partition start) in sectors. A plain number is sectors; with a unit the
 * byte offset must fall on a sector boundary (`1MiB` is sector 2048; `1000B` is refused).
 */
export function parseSectorOffset(text: string, sectorBytes = SECTOR_BYTES): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return parseSectorCount(trimmed, sectorBytes);
  const bytes = parseSize(trimmed);
  if (bytes % sectorBytes !== 0) {
    throw new LoopbackError('INVALID_INPUT', `"${text}" (${bytes} bytes) is not on a ${sectorBytes}-byte sector boundary`, {
      value: text,
      bytes,
      sectorBytes,
    });
  }
  return bytes / sectorBytes;
}

export interface FormatBytesOptions {
  /** `binary` (default): KiB/MiB/GiB, powers of 1024. `decimal`: kB/MB/GB, powers of 1000, as fdisk prints. */
  style?: 'binary' | 'decimal';
  /** Digits after the point for inexact values (default 2; trailing zeros dropped). */
  fractionDigits?: number;
}

const BINARY_NAMES = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;
const DECIMAL_NAMES = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/**
 * A size for people: `formatBytes(516096000)` is "492.19 MiB", with `{style: 'decimal'}`
 * "516.1 MB". Exact values print without a fraction ("1 MiB", "512 bytes").
 */
export function formatBytes(bytes: number, options: FormatBytesOptions = {}): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new LoopbackError('INVALID_INPUT', `cannot format ${bytes} as a size in bytes`, { value: bytes });
  }
  const decimal = options.style === 'decimal';
  const base = decimal ? 1000 : 1024;
  const names = decimal ? DECIMAL_NAMES : BINARY_NAMES;
  const digits = options.fractionDigits ?? 2;
  let unitIndex = 0;
  let value = bytes;
  while (value >= base && unitIndex < names.length - 1) {
    value /= base;
    unitIndex += 1;
  }
  const name = names[unitIndex] ?? 'bytes';
  if (unitIndex === 0) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const text = Number.isInteger(value) ? String(value) : value.toFixed(digits).replace(/\.?0+$/, '');
  return `${text} ${name}`;
}
