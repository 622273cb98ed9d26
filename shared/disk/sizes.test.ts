import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { missingTools, runToolOk } from '../../tests/support/host';
import { formatBytes, parseSectorCount, parseSectorOffset, parseSize } from './sizes';
import { loopbackErrorOf } from './test-support';

describe('parseSize', () => {
  it.each([
    ['64M', 64 * 2 ** 20],
    ['64MiB', 64 * 2 ** 20],
    ['64m', 64 * 2 ** 20],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['1.5G', 1.5 * 2 ** 30],
    ['512K', 512 * 1024],
    ['512KiB', 512 * 1024],
    ['100MB', 100_000_000],
    ['1KB', 1000],
    ['2TB', 2e12],
    ['1T', 2 ** 40],
    ['1048576', 1_048_576],
    ['512B', 512],
    ['2048s', 1_048_576],
    ['0.5K', 512],
    ['.5K', 512],
    [' 64 M ', 64 * 2 ** 20],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it('keeps decimal fractions exact (no float rounding): 1.25MB is 1250000 bytes', () => {
    expect(parseSize('1.25MB')).toBe(1_250_000);
    expect(parseSize('0.1GB')).toBe(100_000_000);
  });

  it.each([
    ['', /"" is not a size: it is empty/],
    ['-5M', /"-5M" is not a size: a size cannot be negative/],
    ['abc', /"abc" is not a size: expected a number/],
    ['64X', /unknown unit "X"/],
    ['64MX', /unknown unit "MX"/],
    ['1.3K', /"1.3K" is not a size: it is not a whole number of bytes/],
    ['99999999999T', /larger than 9007199254740991 bytes/],
    ['1e6', /"1e6" is not a size: expected a number followed by an optional unit/],
  ])('refuses %j with a message naming the text', (text, message) => {
    const error = loopbackErrorOf(() => parseSize(text));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(message);
    expect(error.details).toEqual({ value: text });
  });

  it.skipIf(missingTools('numfmt'))('agrees with coreutils numfmt: K/M/G binary (--from=iec), KB/MB/GB decimal (--from=si)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 20 }), fc.constantFrom('K', 'M', 'G'), (n, unit) => {
        const iec = Number(runToolOk('numfmt', ['--from=iec', `${n}${unit}`]).stdout.trim());
        const si = Number(runToolOk('numfmt', ['--from=si', `${n}${unit}`]).stdout.trim());
        expect(parseSize(`${n}${unit}`)).toBe(iec);
        expect(parseSize(`${n}${unit}iB`)).toBe(iec);
        expect(parseSize(`${n}${unit}B`)).toBe(si);
      }),
      { numRuns: 20 },
    );
  });
});

describe('parseSectorCount and parseSectorOffset', () => {
  it('reads plain numbers as sectors (as sfdisk scripts do)', () => {
    expect(parseSectorCount('2048')).toBe(2048);
    expect(parseSectorOffset('63')).toBe(63);
  });

  it('rounds a size with a unit up to whole sectors', () => {
    expect(parseSectorCount('1MiB')).toBe(2048);
    expect(parseSectorCount('100MB')).toBe(195313); // 100000000 / 512 = 195312.5
    expect(parseSectorCount('2048s')).toBe(2048);
  });

  it('refuses an offset that is not on a sector boundary', () => {
    expect(parseSectorOffset('1MiB')).toBe(2048);
    const error = loopbackErrorOf(() => parseSectorOffset('1000B'));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe('"1000B" (1000 bytes) is not on a 512-byte sector boundary');
  });
});

describe('formatBytes', () => {
  it.each([
    [0, {}, '0 bytes'],
    [1, {}, '1 byte'],
    [512, {}, '512 bytes'],
    [1024, {}, '1 KiB'],
    [1536, {}, '1.5 KiB'],
    [516_096_000, {}, '492.19 MiB'],
    [516_096_000, { style: 'decimal' as const }, '516.1 MB'],
    [2 ** 40, {}, '1 TiB'],
    [1_474_560, {}, '1.41 MiB'],
  ])('%d → %s', (bytes, options, text) => {
    expect(formatBytes(bytes, options)).toBe(text);
  });

  it('refuses negative and non-finite numbers', () => {
    expect(loopbackErrorOf(() => formatBytes(-1)).message).toBe('cannot format -1 as a size in bytes');
    expect(loopbackErrorOf(() => formatBytes(Number.NaN)).code).toBe('INVALID_INPUT');
  });
});
