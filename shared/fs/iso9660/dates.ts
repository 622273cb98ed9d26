/**
 * The two date formats of ECMA-119, always written in UTC (offset 0) so the same moment gives the
 * same bytes wherever the image is built.
 *
 * - 9.1.5 "Recording Date and Time" (7 bytes), used by directory records and by Rock Ridge's TF
 *   entry in its short form: years since 1900, month, day, hour, minute, second, and the offset
 *   from GMT in 15-minute intervals (signed). Years 1900–2155.
 * - 8.4.26.1 (17 bytes), used by volume descriptors: "YYYYMMDDHHMMSScc" as digits (cc: hundredths
 *   of a second) and the offset byte. All digits zero and offset 0 mean "not specified".
 */
import { LoopbackError } from '../../errors';

export const DIRECTORY_DATE_BYTES = 7;
export const VOLUME_DATE_BYTES = 17;

/** The range a 7-byte date can hold (one byte of years since 1900). */
export const FIRST_DIRECTORY_DATE_MS = Date.UTC(1900, 0, 1, 0, 0, 0);
export const LAST_DIRECTORY_DATE_MS = Date.UTC(2155, 11, 31, 23, 59, 59);

// 9.1.5, byte offsets.
const DR_YEARS_SINCE_1900 = 0;
const DR_MONTH = 1;
const DR_DAY = 2;
const DR_HOUR = 3;
const DR_MINUTE = 4;
const DR_SECOND = 5;
const DR_GMT_OFFSET = 6;

// 8.4.26.1, byte offsets.
const VD_DIGITS = 0; // 16 ASCII digits
const VD_DIGIT_COUNT = 16;
const VD_GMT_OFFSET = 16;

/** An ISO 8601 date for messages, or the raw number when it is no date at all. */
export function describeMs(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** True when `ms` fits a 7-byte date (whole seconds are kept, milliseconds dropped). */
export function fitsDirectoryDate(ms: number): boolean {
  return Number.isFinite(ms) && ms >= FIRST_DIRECTORY_DATE_MS && ms <= LAST_DIRECTORY_DATE_MS + 999;
}

/** 9.1.5: the 7 bytes for `ms` (UTC). Throws outside 1900–2155; validate first with fitsDirectoryDate. */
export function encodeDirectoryDate(ms: number, bytes: Uint8Array = new Uint8Array(DIRECTORY_DATE_BYTES), offset = 0): Uint8Array {
  if (!fitsDirectoryDate(ms)) {
    throw new LoopbackError(
      'VALIDATION',
      `the date ${describeMs(ms)} is outside the years 1900–2155 an ISO 9660 directory record can hold`,
      { ms },
    );
  }
  const d = new Date(ms);
  bytes[offset + DR_YEARS_SINCE_1900] = d.getUTCFullYear() - 1900;
  bytes[offset + DR_MONTH] = d.getUTCMonth() + 1;
  bytes[offset + DR_DAY] = d.getUTCDate();
  bytes[offset + DR_HOUR] = d.getUTCHours();
  bytes[offset + DR_MINUTE] = d.getUTCMinutes();
  bytes[offset + DR_SECOND] = d.getUTCSeconds();
  bytes[offset + DR_GMT_OFFSET] = 0;
  return bytes;
}

/** 9.1.5 → ms since the epoch; null when all bytes are zero (not recorded) or the date is impossible. */
export function parseDirectoryDate(bytes: Uint8Array, offset = 0): number | null {
  const month = bytes[offset + DR_MONTH] ?? 0;
  const day = bytes[offset + DR_DAY] ?? 0;
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  const offsetQuarters = ((bytes[offset + DR_GMT_OFFSET] ?? 0) << 24) >> 24; // signed
  const utc = Date.UTC(
    1900 + (bytes[offset + DR_YEARS_SINCE_1900] ?? 0),
    month - 1,
    day,
    bytes[offset + DR_HOUR] ?? 0,
    bytes[offset + DR_MINUTE] ?? 0,
    bytes[offset + DR_SECOND] ?? 0,
  );
  // The fields are local time at the given offset: subtract it to get UTC.
  return utc - offsetQuarters * 15 * 60 * 1000;
}

/** 8.4.26.1: the 17 bytes for `ms` (UTC), or the "not specified" form for null. */
export function encodeVolumeDate(ms: number | null, bytes: Uint8Array = new Uint8Array(VOLUME_DATE_BYTES), offset = 0): Uint8Array {
  let digits = '0'.repeat(VD_DIGIT_COUNT);
  if (ms !== null) {
    const d = new Date(ms);
    const year = d.getUTCFullYear();
    if (!Number.isFinite(ms) || year < 1 || year > 9999) {
      throw new LoopbackError('VALIDATION', `the volume date ${describeMs(ms)} is outside the years 1–9999 a volume descriptor can hold`, {
        ms,
      });
    }
    const two = (n: number) => String(n).padStart(2, '0');
    digits =
      String(year).padStart(4, '0') +
      two(d.getUTCMonth() + 1) +
      two(d.getUTCDate()) +
      two(d.getUTCHours()) +
      two(d.getUTCMinutes()) +
      two(d.getUTCSeconds()) +
      two(Math.floor(d.getUTCMilliseconds() / 10));
  }
  for (let i = 0; i < VD_DIGIT_COUNT; i++) bytes[offset + VD_DIGITS + i] = digits.charCodeAt(i);
  bytes[offset + VD_GMT_OFFSET] = 0;
  return bytes;
}

/** 8.4.26.1 → ms since the epoch; null for "not specified" (all zeros, digits or bytes) or garbage. */
export function parseVolumeDate(bytes: Uint8Array, offset = 0): number | null {
  let digits = '';
  for (let i = 0; i < VD_DIGIT_COUNT; i++) digits += String.fromCharCode(bytes[offset + VD_DIGITS + i] ?? 0);
  if (!/^\d{16}$/.test(digits) || /^0+$/.test(digits)) return null;
  const n = (from: number, length: number) => Number(digits.slice(from, from + length));
  const year = n(0, 4);
  const month = n(4, 2);
  const day = n(6, 2);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > 31) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(n(8, 2), n(10, 2), n(12, 2), n(14, 2) * 10);
  const offsetQuarters = ((bytes[offset + VD_GMT_OFFSET] ?? 0) << 24) >> 24;
  return date.getTime() - offsetQuarters * 15 * 60 * 1000;
}
