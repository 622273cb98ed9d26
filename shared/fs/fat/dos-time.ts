/**
 * DOS dates and times as directory entries store them (Microsoft FAT spec v1.03, section
 * "Date and Time Formats"), in local time as DOS, Windows, Linux and mtools do.
 *
 * Date: bits 0-4 day of month (1-31), bits 5-8 month (1-12), bits 9-15 years since 1980.
 * Time: bits 0-4 seconds ÷ 2 (0-29), bits 5-10 minutes, bits 11-15 hours.
 * The creation time also has a "tenth" byte: units of 10 ms, 0-199, adding up to 1.99 s.
 */

export const DOS_EPOCH_YEAR = 1980;
/** Seven bits of years: 1980 + 127. */
export const DOS_LAST_YEAR = 2107;

export interface DosTimestamp {
  date: number;
  time: number;
  /** DIR_CrtTimeTenth: 10-millisecond units beyond `time`'s even second (0-199). */
  tenths: number;
}

let range: [number, number] | undefined;

/** Encodes a moment (ms since the epoch), clamped to the DOS range 1980-01-01 .. 2107-12-31 23:59:58. */
export function toDosTimestamp(ms: number): DosTimestamp {
  // The range's ends in local time, worked out once (every file written asks).
  const [first, last] = (range ??= [
    new Date(DOS_EPOCH_YEAR, 0, 1, 0, 0, 0, 0).getTime(),
    new Date(DOS_LAST_YEAR, 11, 31, 23, 59, 59, 990).getTime(),
  ]);
  const d = new Date(!(ms >= first) ? first : ms > last ? last : ms); // !(>=) also catches NaN
  const date = ((d.getFullYear() - DOS_EPOCH_YEAR) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1);
  const tenths = Math.floor(((d.getSeconds() & 1) * 1000 + d.getMilliseconds()) / 10);
  return { date, time, tenths };
}

/** Decodes a date and time to ms since the epoch, or null for a zero (never set) or impossible date. */
export function fromDosTimestamp(date: number, time: number, tenths = 0): number | null {
  if (date === 0) return null;
  const day = date & 0x1f;
  const month = (date >> 5) & 0x0f;
  const year = DOS_EPOCH_YEAR + (date >> 9);
  const hours = time >> 11;
  const minutes = (time >> 5) & 0x3f;
  const seconds = (time & 0x1f) * 2;
  if (day < 1 || month < 1 || month > 12 || hours > 23 || minutes > 59 || seconds > 59) return null;
  const extraMs = Math.min(tenths, 199) * 10;
  return new Date(year, month - 1, day, hours, minutes, seconds, extraMs).getTime();
}
