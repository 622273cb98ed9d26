/**
 * Round trips of every on-disk structure, and the byte values the standards fix. The whole
 * images are checked by other programs in write.test.ts; here each encoder meets its parser and
 * the examples of the specifications.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeDirectoryDate, encodeVolumeDate, parseDirectoryDate, parseVolumeDate } from './dates';
import { decodeDirectoryExtent, decodeDirectoryRecord, directoryRecordLength, encodeDirectoryRecord, FILE_FLAGS } from './directory-record';
import {
  bootInfoChecksum,
  encodeBootCatalog,
  encodeBootRecord,
  parseBootCatalog,
  parseBootRecord,
  patchBootInfoTable,
  PLATFORM_ID,
  validationChecksum,
} from './el-torito';
import { JOLIET_ESCAPE_SEQUENCES, jolietLevel } from './joliet';
import { encodeUcs2, getU32LE } from './numbers';
import { encodePathTable, parsePathTable } from './path-table';
import {
  encodeNm,
  encodePx,
  encodeSl,
  encodeTf,
  nameFromNm,
  parsePx,
  parseTf,
  RRIP_1991A,
  slTargetProblem,
  targetFromSl,
} from './rock-ridge';
import { encodeCe, encodeEr, encodeSp, parseCe, parseEr, parseSp, parseSuspEntries } from './susp';
import {
  encodeTerminator,
  encodeVolumeDescriptor,
  parseVolumeDescriptor,
  volumeDescriptorType,
  type VolumeDescriptor,
} from './volume-descriptor';

const date = Date.UTC(2024, 0, 2, 3, 4, 5);

describe('dates (ECMA-119 9.1.5, 8.4.26.1)', () => {
  it('writes the 7-byte form in UTC and reads it back to the second', () => {
    expect([...encodeDirectoryDate(date)]).toEqual([124, 1, 2, 3, 4, 5, 0]);
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2155, 11, 31, 23, 59, 59) }), (ms) => {
        expect(parseDirectoryDate(encodeDirectoryDate(ms))).toBe(ms - (((ms % 1000) + 1000) % 1000));
      }),
    );
  });

  it('applies the GMT offset when reading, and refuses years outside 1900–2155', () => {
    // 12:00 at +01:00 (4 quarters) is 11:00 UTC.
    expect(parseDirectoryDate(Uint8Array.of(124, 1, 2, 12, 0, 0, 4))).toBe(Date.UTC(2024, 0, 2, 11, 0, 0));
    expect(parseDirectoryDate(new Uint8Array(7))).toBeNull();
    expect(() => encodeDirectoryDate(Date.UTC(1899, 11, 31))).toThrow(/1900–2155/);
  });

  it('writes the 17-byte form as digits, and "not specified" as zeros', () => {
    expect(new TextDecoder().decode(encodeVolumeDate(date).subarray(0, 16))).toBe('2024010203040500');
    expect(parseVolumeDate(encodeVolumeDate(date + 120))).toBe(date + 120);
    const unset = encodeVolumeDate(null);
    expect(new TextDecoder().decode(unset.subarray(0, 16))).toBe('0000000000000000');
    expect(unset[16]).toBe(0);
    expect(parseVolumeDate(unset)).toBeNull();
  });
});

describe('directory records (9.1)', () => {
  it('encodes a record with padding, system use and even length, and decodes it', () => {
    const record = {
      extendedAttributeRecordLength: 0,
      locationOfExtent: 1234,
      dataLength: 5000,
      recordingDateAndTime: date,
      fileFlags: 0,
      fileUnitSize: 0,
      interleaveGapSize: 0,
      volumeSequenceNumber: 1,
      fileIdentifier: new TextEncoder().encode('KERNEL.;1'),
      systemUse: encodePx({ posixFileMode: 0o100644, posixFileLinks: 1, posixFileUserId: 0, posixFileGroupId: 0 }),
    };
    const bytes = encodeDirectoryRecord(record);
    expect(bytes.length).toBe(directoryRecordLength(9, 36));
    expect(bytes.length % 2).toBe(0);
    // Both-byte order: LSB half then MSB half.
    expect([...bytes.subarray(2, 10)]).toEqual([0xd2, 0x04, 0, 0, 0, 0, 0x04, 0xd2]);
    const back = decodeDirectoryRecord(bytes, 0);
    expect(back).toMatchObject({
      locationOfExtent: 1234,
      dataLength: 5000,
      recordingDateAndTime: date,
      lengthOfDirectoryRecord: bytes.length,
    });
    expect(new TextDecoder().decode(back.fileIdentifier)).toBe('KERNEL.;1');
    expect(parsePx(parseSuspEntries(back.systemUse)[0]!)).toMatchObject({ posixFileMode: 0o100644 });
  });

  it('reads records across blocks, skipping the zeros at the end of a block', () => {
    const make = (id: string) =>
      encodeDirectoryRecord({
        extendedAttributeRecordLength: 0,
        locationOfExtent: 20,
        dataLength: 0,
        recordingDateAndTime: date,
        fileFlags: FILE_FLAGS.DIRECTORY,
        fileUnitSize: 0,
        interleaveGapSize: 0,
        volumeSequenceNumber: 1,
        fileIdentifier: new TextEncoder().encode(id),
        systemUse: new Uint8Array(0),
      });
    const extent = new Uint8Array(4096);
    extent.set(make('A'), 0);
    extent.set(make('B'), 2048);
    expect(decodeDirectoryExtent(extent, 2048).map((r) => new TextDecoder().decode(r.fileIdentifier))).toEqual(['A', 'B']);
  });
});

describe('path tables (9.4)', () => {
  it('encodes L little-endian and M big-endian, odd identifiers padded', () => {
    const records = [
      { extendedAttributeRecordLength: 0, locationOfExtent: 20, parentDirectoryNumber: 1, directoryIdentifier: Uint8Array.of(0) },
      {
        extendedAttributeRecordLength: 0,
        locationOfExtent: 21,
        parentDirectoryNumber: 1,
        directoryIdentifier: new TextEncoder().encode('BOOT'),
      },
      {
        extendedAttributeRecordLength: 0,
        locationOfExtent: 22,
        parentDirectoryNumber: 2,
        directoryIdentifier: new TextEncoder().encode('GRB'),
      },
    ];
    const l = encodePathTable(records, 'L');
    const m = encodePathTable(records, 'M');
    expect(l.length).toBe(10 + 12 + 12);
    expect([...l.subarray(2, 8)]).toEqual([20, 0, 0, 0, 1, 0]);
    expect([...m.subarray(2, 8)]).toEqual([0, 0, 0, 20, 0, 1]);
    expect(parsePathTable(l, 'L')).toEqual(records);
    expect(parsePathTable(m, 'M')).toEqual(records);
  });
});

describe('volume descriptors (8.3–8.5)', () => {
  const vd: VolumeDescriptor = {
    volumeDescriptorType: 1,
    volumeFlags: 0,
    systemIdentifier: 'LINUX',
    volumeIdentifier: 'MYOS',
    volumeSpaceSize: 1644,
    escapeSequences: new Uint8Array(32),
    volumeSetSize: 1,
    volumeSequenceNumber: 1,
    logicalBlockSize: 2048,
    pathTableSize: 10,
    locationOfTypeLPathTable: 19,
    locationOfOptionalTypeLPathTable: 0,
    locationOfTypeMPathTable: 20,
    locationOfOptionalTypeMPathTable: 0,
    directoryRecordForRootDirectory: {
      lengthOfDirectoryRecord: 34,
      extendedAttributeRecordLength: 0,
      locationOfExtent: 21,
      dataLength: 2048,
      recordingDateAndTime: date,
      fileFlags: FILE_FLAGS.DIRECTORY,
      fileUnitSize: 0,
      interleaveGapSize: 0,
      volumeSequenceNumber: 1,
      fileIdentifier: Uint8Array.of(0),
      systemUse: new Uint8Array(0),
    },
    volumeSetIdentifier: '',
    publisherIdentifier: 'ME',
    dataPreparerIdentifier: '',
    applicationIdentifier: 'APP',
    copyrightFileIdentifier: '',
    abstractFileIdentifier: '',
    bibliographicFileIdentifier: '',
    volumeCreationDateAndTime: date,
    volumeModificationDateAndTime: date,
    volumeExpirationDateAndTime: null,
    volumeEffectiveDateAndTime: null,
    fileStructureVersion: 1,
    applicationUse: new Uint8Array(512),
  };

  it('round-trips the primary descriptor and puts fields where ECMA-119 says', () => {
    const block = encodeVolumeDescriptor(vd, 'ascii');
    expect(block.length).toBe(2048);
    expect(new TextDecoder().decode(block.subarray(0, 7))).toBe('\x01CD001\x01');
    expect(new TextDecoder().decode(block.subarray(40, 72))).toBe('MYOS'.padEnd(32, ' '));
    expect(getU32LE(block, 80)).toBe(1644);
    expect(block[881]).toBe(1);
    expect(parseVolumeDescriptor(block, 'ascii')).toEqual(vd);
  });

  it('writes Joliet text as UCS-2 with its escape sequence', () => {
    const joliet = { ...vd, volumeDescriptorType: 2 as const, volumeIdentifier: 'Mÿ OS', escapeSequences: JOLIET_ESCAPE_SEQUENCES };
    const block = encodeVolumeDescriptor(joliet, 'ucs2');
    expect([...block.subarray(88, 91)]).toEqual([0x25, 0x2f, 0x45]);
    expect([...block.subarray(40, 50)]).toEqual([...encodeUcs2('Mÿ OS')]);
    expect([...block.subarray(50, 52)]).toEqual([0x00, 0x20]);
    expect(jolietLevel(block.subarray(88, 120))).toBe(3);
    expect(parseVolumeDescriptor(block, 'ucs2').volumeIdentifier).toBe('Mÿ OS');
  });

  it('writes the terminator', () => {
    const block = encodeTerminator();
    expect(volumeDescriptorType(block)).toBe(255);
    expect(block[6]).toBe(1);
  });
});

describe('SUSP and Rock Ridge entries', () => {
  it('SP, CE and ER round-trip with the lengths SUSP fixes', () => {
    const sp = encodeSp(0);
    expect([...sp]).toEqual([0x53, 0x50, 7, 1, 0xbe, 0xef, 0]);
    const ce = encodeCe({ blockLocationOfContinuationArea: 40, offsetToStartOfContinuationArea: 100, lengthOfContinuationArea: 237 });
    expect(ce.length).toBe(28);
    const er = encodeEr(RRIP_1991A);
    // xorriso's ER for RRIP_1991A is 237 bytes (its CE says so).
    expect(er.length).toBe(237);
    const entries = parseSuspEntries(Uint8Array.from([...sp, ...ce, ...er]));
    expect(parseSp(entries[0]!)).toEqual({ bytesSkipped: 0 });
    expect(parseCe(entries[1]!)).toEqual({
      blockLocationOfContinuationArea: 40,
      offsetToStartOfContinuationArea: 100,
      lengthOfContinuationArea: 237,
    });
    expect(parseEr(entries[2]!)).toEqual(RRIP_1991A);
  });

  it('NM splits a 255-byte name over two entries and joins it back', () => {
    const name = 'ü'.repeat(127) + 'x';
    const entries = encodeNm(name);
    expect(entries.length).toBe(2);
    expect(entries.every((e) => e.length <= 255)).toBe(true);
    expect(entries[0]![4]).toBe(1); // CONTINUE
    expect(nameFromNm(parseSuspEntries(Uint8Array.from(entries.flatMap((e) => [...e]))))).toBe(name);
  });

  it('SL records roots, dots, long components and long targets, and reads them back', () => {
    for (const target of [
      '/',
      '/boot/vmlinuz',
      '../lib/./x',
      'a',
      '.',
      '..',
      `/${'n'.repeat(255)}/${'m'.repeat(200)}`,
      Array.from({ length: 40 }, (_, i) => `dir${i}`.repeat(5)).join('/'),
    ]) {
      const entries = encodeSl(target);
      expect(entries.every((e) => e.length <= 255)).toBe(true);
      expect(targetFromSl(parseSuspEntries(Uint8Array.from(entries.flatMap((e) => [...e]))))).toBe(target);
    }
    expect(slTargetProblem('a//b')).toMatch(/empty component/);
    expect(slTargetProblem('a/')).toMatch(/empty component/);
    expect(slTargetProblem('/')).toBeNull();
  });

  it('TF in the short form: modify, access, attributes (flags 0x0E, 26 bytes, as xorriso)', () => {
    const tf = encodeTf({ modify: date, access: date, attributes: date });
    expect(tf.length).toBe(26);
    expect(tf[4]).toBe(0x0e);
    expect(parseTf(parseSuspEntries(tf)[0]!)).toEqual({ modify: date, access: date, attributes: date });
  });

  it('PX is the 36-byte RRIP 1.10 form', () => {
    const px = encodePx({ posixFileMode: 0o40755, posixFileLinks: 3, posixFileUserId: 1000, posixFileGroupId: 100 });
    expect(px.length).toBe(36);
    expect(parsePx(parseSuspEntries(px)[0]!)).toEqual({
      posixFileMode: 0o40755,
      posixFileLinks: 3,
      posixFileUserId: 1000,
      posixFileGroupId: 100,
    });
  });
});

describe('El Torito', () => {
  it('the boot record names the catalog at byte 71', () => {
    const block = encodeBootRecord(34);
    expect(new TextDecoder().decode(block.subarray(7, 30))).toBe('EL TORITO SPECIFICATION');
    expect(getU32LE(block, 71)).toBe(34);
    expect(parseBootRecord(block)).toBe(34);
  });

  it('the catalog matches xorriso 1.5.4 for a BIOS + UEFI image (grub-mkrescue layout), byte for byte', () => {
    // xorriso -as mkisofs -b boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 … -e
    // --interval:appended_partition_2:all:: -no-emul-boot: its catalog block, measured.
    const expected = new Uint8Array(2048);
    expected.set([0x01, 0, 0, 0], 0);
    expected.set([0xaa, 0x55, 0x55, 0xaa], 0x1c);
    expected.set([0x88, 0, 0, 0, 0, 0, 0x04, 0, 0x23, 0, 0, 0], 0x20);
    expected.set([0x91, 0xef, 0x01, 0], 0x40);
    expected.set([0x88, 0, 0, 0, 0, 0, 0x80, 0x16, 0x36, 0, 0, 0], 0x60);
    const bytes = encodeBootCatalog({
      platformId: PLATFORM_ID.X86,
      idString: '',
      entries: [
        { platformId: PLATFORM_ID.X86, bootIndicator: 0x88, bootMediaType: 0, loadSegment: 0, systemType: 0, sectorCount: 4, loadRba: 35 },
        {
          platformId: PLATFORM_ID.EFI,
          bootIndicator: 0x88,
          bootMediaType: 0,
          loadSegment: 0,
          systemType: 0,
          sectorCount: 5760,
          loadRba: 54,
        },
      ],
    });
    expect([...bytes]).toEqual([...expected]);
    expect(validationChecksum(bytes.subarray(0, 32))).toBe(0x55aa);
    const back = parseBootCatalog(bytes);
    expect(back.entries.map((e) => [e.platformId, e.sectorCount, e.loadRba])).toEqual([
      [0, 4, 35],
      [0xef, 5760, 54],
    ]);
  });

  it('refuses a catalog whose checksum is wrong', () => {
    const bytes = encodeBootCatalog({
      platformId: 0,
      idString: 'X',
      entries: [{ platformId: 0, bootIndicator: 0x88, bootMediaType: 0, loadSegment: 0, systemType: 0, sectorCount: 4, loadRba: 30 }],
    });
    bytes[5] = bytes[5]! ^ 1;
    expect(() => parseBootCatalog(bytes)).toThrow(/validation entry/);
  });

  it('boot-info-table: PVD block, file block, length and the checksum of bytes 64…', () => {
    const image = Uint8Array.from({ length: 2050 }, (_, i) => (i * 7) & 0xff);
    const expectedSum = bootInfoChecksum(image.subarray(64));
    patchBootInfoTable(image, { primaryVolumeDescriptorBlock: 16, bootFileBlock: 35 });
    expect(getU32LE(image, 8)).toBe(16);
    expect(getU32LE(image, 12)).toBe(35);
    expect(getU32LE(image, 16)).toBe(2050);
    expect(getU32LE(image, 20)).toBe(expectedSum);
    expect([...image.subarray(24, 64)].every((b) => b === 0)).toBe(true);
    // A trailing partial word counts as if padded with zeros (2050 − 64 = 1986 bytes: two left over).
    let sum = 0;
    for (let i = 64; i + 4 <= 2048; i += 4) sum = (sum + getU32LE(image, i)) >>> 0;
    sum = (sum + (image[2048]! | (image[2049]! << 8))) >>> 0;
    expect(getU32LE(image, 20)).toBe(sum);
  });
});
