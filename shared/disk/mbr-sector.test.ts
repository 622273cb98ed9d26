import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chsForEntry,
  decodeChs,
  emptyMbrSector,
  encodeChs,
  encodeMbrSector,
  formatDiskSignature,
  parseMbrSector,
  randomDiskSignature,
} from './mbr-sector';
import { expectLoopbackError, hex } from './test-support';

describe('CHS bytes', () => {
  it('packs cylinder bits 8–9 into the top of the sector byte', () => {
    const bytes = new Uint8Array(3);
    encodeChs({ cylinder: 1023, head: 254, sector: 63 }, bytes, 0);
    expect(hex(bytes)).toBe('fe ff ff');
    encodeChs({ cylinder: 0x2a5, head: 7, sector: 9 }, bytes, 0);
    expect(hex(bytes)).toBe('07 89 a5');
    expect(decodeChs(bytes, 0)).toEqual({ cylinder: 0x2a5, head: 7, sector: 9 });
  });

  it('matches the entry sfdisk wrote for sectors 2048–12047 on a 255/63 image (20 21 00 … bf 0f 00)', () => {
    const bytes = new Uint8Array(6);
    encodeChs(chsForEntry(2048, { heads: 255, sectorsPerTrack: 63 }), bytes, 0);
    encodeChs(chsForEntry(12047, { heads: 255, sectorsPerTrack: 63 }), bytes, 3);
    expect(hex(bytes)).toBe('20 21 00 bf 0f 00');
  });

  it('stores 1023/254/63 (FE FF FF) beyond cylinder 1023, whatever the geometry', () => {
    expect(chsForEntry(1024 * 255 * 63, { heads: 255, sectorsPerTrack: 63 })).toEqual({ cylinder: 1023, head: 254, sector: 63 });
    expect(chsForEntry(1024 * 255 * 63 - 1, { heads: 255, sectorsPerTrack: 63 })).toEqual({ cylinder: 1023, head: 254, sector: 63 });
    expect(chsForEntry(1024 * 16 * 63, { heads: 16, sectorsPerTrack: 63 })).toEqual({ cylinder: 1023, head: 254, sector: 63 });
    expect(chsForEntry(1024 * 16 * 63 - 1, { heads: 16, sectorsPerTrack: 63 })).toEqual({ cylinder: 1023, head: 15, sector: 63 });
  });

  it('decode ∘ encode is the identity on all 2^24 byte triples (sampled)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3, maxLength: 3 }), (bytes) => {
        const again = new Uint8Array(3);
        encodeChs(decodeChs(bytes, 0), again, 0);
        expect(again).toEqual(bytes);
      }),
    );
  });

  it('refuses CHS values that do not fit', () => {
    expectLoopbackError(
      () => encodeChs({ cylinder: 1024, head: 0, sector: 1 }, new Uint8Array(3), 0),
      'INVALID_INPUT',
      'CHS 1024/0/1 does not fit an MBR entry (cylinder 0–1023, head 0–255, sector 0–63)',
    );
  });
});

describe('the MBR sector', () => {
  it('names every field at its offset', () => {
    const sector = emptyMbrSector(0x69f9d782);
    sector.bootCode[0] = 0xeb;
    sector.reserved = 0x5a5a;
    sector.entries[1] = {
      status: 0x80,
      firstChs: { cylinder: 0, head: 32, sector: 33 },
      type: 0x83,
      lastChs: { cylinder: 0, head: 191, sector: 15 },
      startLBA: 2048,
      sectorCount: 10000,
    };
    const bytes = encodeMbrSector(sector);
    expect(bytes.length).toBe(512);
    expect(bytes[0]).toBe(0xeb);
    expect(hex(bytes.subarray(440, 446))).toBe('82 d7 f9 69 5a 5a');
    expect(hex(bytes.subarray(0x1be, 0x1ce))).toBe('00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
    expect(hex(bytes.subarray(0x1ce, 0x1de))).toBe('80 20 21 00 83 bf 0f 00 00 08 00 00 10 27 00 00');
    expect(hex(bytes.subarray(510))).toBe('55 aa');
    expect(parseMbrSector(bytes)).toEqual(sector);
    expect(formatDiskSignature(sector.diskSignature)).toBe('0x69f9d782');
  });

  it('parse then encode gives back any 512 bytes exactly (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), (bytes) => {
        expect(hex(encodeMbrSector(parseMbrSector(bytes)))).toBe(hex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a short sector and bad field values with LoopbackError', () => {
    expectLoopbackError(() => parseMbrSector(new Uint8Array(100)), 'INVALID_INPUT', 'an MBR sector is 512 bytes, got 100');
    const sector = emptyMbrSector(0);
    sector.entries[0]!.startLBA = 2 ** 32;
    expectLoopbackError(() => encodeMbrSector(sector), 'INVALID_INPUT', 'startLBA 4294967296 does not fit in 32 bits');
    const short = emptyMbrSector(0);
    short.bootCode = new Uint8Array(446);
    expectLoopbackError(() => encodeMbrSector(short), 'INVALID_INPUT', 'MBR boot code must be 440 bytes, got 446');
  });

  it('makes random nonzero disk signatures', () => {
    const signatures = new Set(Array.from({ length: 50 }, () => randomDiskSignature()));
    expect(signatures.size).toBeGreaterThan(45);
    for (const s of signatures) {
      expect(Number.isInteger(s) && s > 0 && s <= 0xffffffff).toBe(true);
    }
  });
});
