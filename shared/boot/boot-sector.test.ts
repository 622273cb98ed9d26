/** The user's boot sector over sector 0: what is kept, what is refused. */
import { describe, expect, it } from 'vitest';
import { hasBootSignature, mergeBootSector, overlapsKeptBytes, FAT1216_BPB_END, FAT32_BPB_END } from './boot-sector';

const code = new Uint8Array(512).fill(0xaa).map((b, i) => (i === 510 ? 0x55 : i === 511 ? 0xaa : b));
const old = new Uint8Array(512).map((_, i) => i & 0x7f);

describe('mergeBootSector', () => {
  it('keeps a FAT12/16 BPB (bytes 3–61) or a FAT32 one (3–89), and the code’s jump', () => {
    const fat16 = mergeBootSector(code, { oldSector: old, keepBpbEnd: FAT1216_BPB_END, keepTable: false });
    expect([...fat16.subarray(0, 3)]).toEqual([0xaa, 0xaa, 0xaa]);
    expect([...fat16.subarray(3, 62)]).toEqual([...old.subarray(3, 62)]);
    expect(fat16[62]).toBe(0xaa);
    const fat32 = mergeBootSector(code, { oldSector: old, keepBpbEnd: FAT32_BPB_END, keepTable: false });
    expect([...fat32.subarray(3, 90)]).toEqual([...old.subarray(3, 90)]);
    expect(fat32[90]).toBe(0xaa);
  });

  it('keeps an MBR’s disk signature and table (440–509) but takes the code’s 55 AA', () => {
    const mbr = mergeBootSector(code, { oldSector: old, keepBpbEnd: null, keepTable: true });
    expect([...mbr.subarray(440, 510)]).toEqual([...old.subarray(440, 510)]);
    expect([...mbr.subarray(0, 440)]).toEqual([...code.subarray(0, 440)]);
    expect(hasBootSignature(mbr)).toBe(true);
  });

  it('overwrites everything when told to keep nothing', () => {
    expect(mergeBootSector(code, { oldSector: old, keepBpbEnd: null, keepTable: false })).toEqual(code);
  });

  it('refuses a sector without 55 AA unless forced, and anything under 512 bytes', () => {
    const unsigned = code.slice();
    unsigned[511] = 0;
    expect(() => mergeBootSector(unsigned, { oldSector: old, keepBpbEnd: null, keepTable: false })).toThrow(
      /does not end in 55 AA \(bytes 510–511 are 55 00\)/,
    );
    expect(mergeBootSector(unsigned, { oldSector: old, keepBpbEnd: null, keepTable: false, force: true })[511]).toBe(0);
    expect(() => mergeBootSector(new Uint8Array(511), { oldSector: old, keepBpbEnd: null, keepTable: false })).toThrow(/511 bytes/);
  });

  it('notices code in the bytes it keeps', () => {
    expect(overlapsKeptBytes(code, 3, 62)).toBe(true);
    expect(overlapsKeptBytes(new Uint8Array(512), 3, 62)).toBe(false);
  });
});
