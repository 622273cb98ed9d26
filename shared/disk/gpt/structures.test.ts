// The on-disk structures, field by field against the offsets of UEFI spec 2.10 section 5.3
// (read back with DataView here, not with our parsers), and CRCs checked with zlib.
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LoopbackError } from '../../errors';
import {
  GPT_ATTRIBUTE_BITS,
  hasAttribute,
  NO_ATTRIBUTES,
  withAttribute,
  attributesFromBigInt,
  attributesToBigInt,
  formatAttributes,
} from './attributes';
import { encodeGptEntry, encodeGptEntryArray, parseGptEntry, parseGptEntryArray, type IndexedGptEntry } from './entries';
import { encodeGptHeader, parseGptHeader, type GptHeaderFields } from './header';
import { encodeProtectiveMbr, protectiveMbrWarnings } from './protective-mbr';

const DISK_GUID = '0F0E0D0C-0B0A-0908-0706-050403020100';
const FIELDS: GptHeaderFields = {
  myLBA: 1,
  alternateLBA: 16383,
  firstUsableLBA: 34,
  lastUsableLBA: 16350,
  diskGuid: DISK_GUID,
  partitionEntryLBA: 2,
  numberOfPartitionEntries: 128,
  sizeOfPartitionEntry: 128,
  partitionEntryArrayCRC32: 0x12345678,
};

describe('GPT header (UEFI 5.3.2)', () => {
  it('puts every field at its spec offset, little-endian, with a zlib-checkable CRC', () => {
    const sector = encodeGptHeader(FIELDS);
    const view = new DataView(sector.buffer);
    expect(sector.length).toBe(512);
    expect(String.fromCharCode(...sector.subarray(0, 8))).toBe('EFI PART');
    expect(view.getUint32(8, true)).toBe(0x00010000);
    expect(view.getUint32(12, true)).toBe(92);
    expect(view.getUint32(20, true)).toBe(0);
    expect(view.getBigUint64(24, true)).toBe(1n);
    expect(view.getBigUint64(32, true)).toBe(16383n);
    expect(view.getBigUint64(40, true)).toBe(34n);
    expect(view.getBigUint64(48, true)).toBe(16350n);
    // Mixed-endian GUID: 0F0E0D0C → 0C 0D 0E 0F, 0B0A → 0A 0B, 0908 → 08 09, rest as written.
    expect([...sector.subarray(56, 72)]).toEqual([0x0c, 0x0d, 0x0e, 0x0f, 0x0a, 0x0b, 0x08, 0x09, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(view.getBigUint64(72, true)).toBe(2n);
    expect(view.getUint32(80, true)).toBe(128);
    expect(view.getUint32(84, true)).toBe(128);
    expect(view.getUint32(88, true)).toBe(0x12345678);
    expect(sector.subarray(92).every((b) => b === 0)).toBe(true);
    const zeroed = sector.slice(0, 92);
    new DataView(zeroed.buffer).setUint32(16, 0, true);
    expect(view.getUint32(16, true)).toBe(zlibCrc32(zeroed));
  });

  it('parses what it encodes', () => {
    const header = parseGptHeader(encodeGptHeader(FIELDS));
    expect(header).toMatchObject({ ...FIELDS, revision: 0x00010000, headerSizeBytes: 92 });
  });

  const corrupt = (change: (sector: Uint8Array, view: DataView) => void, fixCrc: boolean): Uint8Array => {
    const sector = encodeGptHeader(FIELDS);
    const view = new DataView(sector.buffer);
    change(sector, view);
    if (fixCrc) {
      view.setUint32(16, 0, true);
      view.setUint32(16, zlibCrc32(sector.subarray(0, Math.min(view.getUint32(12, true), 512))), true);
    }
    return sector;
  };

  it.each([
    ['a wrong signature', (s: Uint8Array) => (s[0] = 0x46), true, /no "EFI PART" signature/],
    ['revision 2.0', (_: Uint8Array, v: DataView) => v.setUint32(8, 0x00020000, true), true, /unsupported GPT revision 0x00020000/],
    ['a header size below 92', (_: Uint8Array, v: DataView) => v.setUint32(12, 91, true), false, /header size 91 bytes/],
    ['a header size beyond the sector', (_: Uint8Array, v: DataView) => v.setUint32(12, 513, true), false, /header size 513 bytes/],
    ['one flipped bit', (s: Uint8Array) => (s[45] = s[45]! ^ 0x10), false, /header CRC32 is 0x[0-9a-f]{8} but the header's bytes give/],
    [
      'an entry size of 100 bytes',
      (_: Uint8Array, v: DataView) => v.setUint32(84, 100, true),
      true,
      /entry size 100 bytes is not 128 × 2\^n/,
    ],
    [
      'a LastUsableLBA beyond 2^53',
      (_: Uint8Array, v: DataView) => v.setBigUint64(48, 1n << 60n, true),
      true,
      /LastUsableLBA is 1152921504606846976, beyond/,
    ],
  ] as const)('refuses a header with %s', (_, change, fixCrc, message) => {
    const sector = corrupt(change, fixCrc);
    expect(() => parseGptHeader(sector)).toThrow(LoopbackError);
    expect(() => parseGptHeader(sector)).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(message) }),
    );
  });

  it('accepts a longer header whose CRC covers the longer size', () => {
    const sector = corrupt((_, v) => v.setUint32(12, 96, true), true);
    expect(parseGptHeader(sector).headerSizeBytes).toBe(96);
  });
});

const ENTRY: IndexedGptEntry = {
  index: 3,
  typeGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  uniqueGuid: '00112233-4455-6677-8899-AABBCCDDEEFF',
  startingLBA: 2048,
  endingLBA: 4095,
  attributes: withAttribute(NO_ATTRIBUTES, GPT_ATTRIBUTE_BITS.legacyBiosBootable, true),
  name: 'EFI é',
};

describe('GPT partition entry (UEFI 5.3.3)', () => {
  it('puts every field at its spec offset', () => {
    const bytes = new Uint8Array(128);
    encodeGptEntry(ENTRY, bytes, 0);
    const view = new DataView(bytes.buffer);
    expect([...bytes.subarray(0, 16)]).toEqual([
      0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
    ]);
    expect([...bytes.subarray(16, 24)]).toEqual([0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66]);
    expect(view.getBigUint64(32, true)).toBe(2048n);
    expect(view.getBigUint64(40, true)).toBe(4095n);
    expect(view.getBigUint64(48, true)).toBe(4n);
    expect(new TextDecoder('utf-16le').decode(bytes.subarray(56, 56 + 10))).toBe('EFI é');
    expect(bytes.subarray(66).every((b) => b === 0)).toBe(true);
  });

  it('stores a name of exactly 36 code units with no terminator, and reads it back', () => {
    const name = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const bytes = new Uint8Array(128);
    encodeGptEntry({ ...ENTRY, name }, bytes, 0);
    expect(parseGptEntry(bytes, 0)?.name).toBe(name);
  });

  it('keeps code units as they are, even an unpaired surrogate', () => {
    const name = 'boot \u{1F680} \uD800x';
    const bytes = new Uint8Array(128);
    encodeGptEntry({ ...ENTRY, name }, bytes, 0);
    expect(parseGptEntry(bytes, 0)?.name).toBe(name);
  });

  it('refuses a 37-code-unit name, counting an emoji as two', () => {
    const bytes = new Uint8Array(128);
    const name = `${'x'.repeat(35)}\u{1F680}`;
    expect(() => encodeGptEntry({ ...ENTRY, name }, bytes, 0)).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        message: expect.stringContaining('is 37 UTF-16 code units long; GPT stores at most 36'),
      }),
    );
    expect(bytes.every((b) => b === 0)).toBe(true);
  });

  it('reads an all-zero type GUID as an unused slot', () => {
    expect(parseGptEntry(new Uint8Array(128), 0)).toBeNull();
  });

  it('lays out an array by slot, pads it to whole sectors, and CRCs only the entries', () => {
    const { bytes, partitionEntryArrayCRC32 } = encodeGptEntryArray([ENTRY], 4, 128, 512);
    expect(bytes.length).toBe(512);
    expect(bytes.subarray(0, 256).every((b) => b === 0)).toBe(true);
    expect(bytes[256]).toBe(0x28);
    expect(partitionEntryArrayCRC32).toBe(zlibCrc32(bytes.subarray(0, 512)));
    const odd = encodeGptEntryArray([ENTRY], 3, 128, 512);
    expect(odd.partitionEntryArrayCRC32).toBe(zlibCrc32(odd.bytes.subarray(0, 384)));
    expect(parseGptEntryArray(bytes, 4, 128)).toEqual([ENTRY]);
  });

  it('supports 256-byte entries', () => {
    const { bytes } = encodeGptEntryArray([ENTRY], 4, 256, 512);
    expect(bytes[2 * 256]).toBe(0x28);
    expect(parseGptEntryArray(bytes, 4, 256)).toEqual([ENTRY]);
  });
});

describe('attributes', () => {
  it('maps bits to the two halves and to a 64-bit value', () => {
    const attrs = withAttribute(withAttribute(NO_ATTRIBUTES, 2, true), 63, true);
    expect(attrs).toEqual({ low32: 4, high32: 0x80000000 });
    expect(attributesToBigInt(attrs)).toBe(0x8000000000000004n);
    expect(attributesFromBigInt(0x8000000000000004n)).toEqual(attrs);
    expect(formatAttributes(attrs)).toBe('8000000000000004');
    expect(hasAttribute(attrs, 63)).toBe(true);
    expect(hasAttribute(withAttribute(attrs, 63, false), 63)).toBe(false);
    expect(() => hasAttribute(attrs, 64)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('protective MBR (UEFI 5.2.3)', () => {
  it('writes one 0xEE record from LBA 1 over the disk and keeps boot code and disk signature', () => {
    const existing = new Uint8Array(512).fill(0xaa);
    const sector = encodeProtectiveMbr(16384, existing);
    const view = new DataView(sector.buffer);
    expect(sector.subarray(0, 444).every((b) => b === 0xaa)).toBe(true);
    expect([...sector.subarray(444, 446)]).toEqual([0, 0]);
    expect([...sector.subarray(446, 454)]).toEqual([0x00, 0x00, 0x02, 0x00, 0xee, 0x05, 0x04, 0x01]);
    expect(view.getUint32(454, true)).toBe(1);
    expect(view.getUint32(458, true)).toBe(16383);
    expect(sector.subarray(462, 510).every((b) => b === 0)).toBe(true);
    expect([...sector.subarray(510)]).toEqual([0x55, 0xaa]);
    expect(protectiveMbrWarnings(sector, 16384)).toEqual([]);
  });

  it('caps the size at 0xFFFFFFFF sectors and the CHS at 0xFFFFFF beyond 2 TiB', () => {
    const sector = encodeProtectiveMbr(2 ** 33);
    expect(new DataView(sector.buffer).getUint32(458, true)).toBe(0xffffffff);
    expect([...sector.subarray(451, 454)]).toEqual([0xff, 0xff, 0xff]);
    expect(protectiveMbrWarnings(sector, 2 ** 33)).toEqual([]);
  });

  it('warns about a missing signature, a plain MBR and a hybrid MBR', () => {
    expect(protectiveMbrWarnings(new Uint8Array(512), 100)[0]).toMatch(/no MBR boot signature/);
    const plain = encodeProtectiveMbr(100);
    plain[450] = 0x83;
    expect(protectiveMbrWarnings(plain, 100)[0]).toMatch(/no protective 0xEE record/);
    const hybrid = encodeProtectiveMbr(100);
    hybrid[446 + 16 + 4] = 0x0c;
    expect(protectiveMbrWarnings(hybrid, 100)[0]).toMatch(/hybrid MBR \(records of type 0x0c besides 0xEE\)/);
    expect(protectiveMbrWarnings(encodeProtectiveMbr(100), 200)[0]).toMatch(/covers sectors 1 \+ 99, not 1 \+ 199/);
  });
});
