import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32';

describe('crc32', () => {
  it('gives the CRC-32/ISO-HDLC check value for "123456789"', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('gives 0 for no bytes', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('agrees with zlib on any bytes, and continues across chunks', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), (bytes, cut) => {
        const split = bytes.length === 0 ? 0 : cut % bytes.length;
        expect(crc32(bytes)).toBe(zlibCrc32(bytes));
        expect(crc32(bytes.subarray(split), crc32(bytes.subarray(0, split)))).toBe(zlibCrc32(bytes));
      }),
    );
  });

  it('agrees with zlib on a 16 KiB entry array read through an unaligned view', () => {
    const backing = new Uint8Array(16384 + 3).map((_, i) => (i * 131 + 7) & 0xff);
    const view = backing.subarray(3);
    expect(crc32(view)).toBe(zlibCrc32(view));
  });
});
