import { describe, expect, it } from 'vitest';
import { layoutAlignment, parseAlignment, parsePartitionNumber, parsePartitionSettings, parsePartitionSpec } from './partition-spec';
import { expectLoopbackError } from './test-support';

describe('parsePartitionSpec (--add)', () => {
  it("reads the article's partition: start=63,size=rest,type=83,bootable", () => {
    expect(parsePartitionSpec('start=63,size=rest,type=83,bootable')).toEqual({
      kind: 'primary',
      startSector: 63,
      size: 'rest',
      type: 0x83,
      bootable: true,
    });
  });

  it.each([
    ['size=100MiB,type=fat32', { kind: 'primary', size: { sectors: 204800 }, type: 0x0c, bootable: false }],
    ['size=+100M', { kind: 'primary', size: { sectors: 204800 }, type: 0x83, bootable: false }],
    ['size=100MB', { kind: 'primary', size: { sectors: 195313 }, type: 0x83, bootable: false }],
    ['size=2048', { kind: 'primary', size: { sectors: 2048 }, type: 0x83, bootable: false }],
    ['size=2048s', { kind: 'primary', size: { sectors: 2048 }, type: 0x83, bootable: false }],
    ['start=1MiB', { kind: 'primary', startSector: 2048, size: 'rest', type: 0x83, bootable: false }],
    ['extended', { kind: 'extended', size: 'rest', type: 0x05, bootable: false }],
    ['extended,type=0f,number=4', { kind: 'extended', number: 4, size: 'rest', type: 0x0f, bootable: false }],
    ['logical, size=20M, type=linux', { kind: 'logical', size: { sectors: 40960 }, type: 0x83, bootable: false }],
    ['number=3,bootable=off', { kind: 'primary', number: 3, size: 'rest', type: 0x83, bootable: false }],
    ['BOOTABLE=yes,Type=EFI', { kind: 'primary', size: 'rest', type: 0xef, bootable: true }],
  ])('%s', (text, spec) => {
    expect(parsePartitionSpec(text)).toEqual(spec);
  });

  it.each([
    ['', 'Nothing in the partition description ""'],
    [' , ', 'Nothing in the partition description " , "'],
    ['start=63,start=64', '"start" appears twice in the partition description "start=63,start=64"'],
    [
      'colour=blue',
      'Unknown item "colour=blue" in "colour=blue": use start=, size=, type=, number=, bootable, primary, extended or logical',
    ],
    ['size=', '"size=" in "size=" needs a value: size=…'],
    ['size=lots', /^In "size=lots", size: "lots" is not a size: expected a number/],
    ['size=0', 'In "size=0", size is 0: a partition needs at least one sector'],
    ['start=1000B', 'In "start=1000B", start: "1000B" (1000 bytes) is not on a 512-byte sector boundary'],
    ['type=zz', /^In "type=zz", type: "zz" is not an MBR partition type/],
    ['bootable=maybe', 'In "bootable=maybe", bootable: "maybe" is not a valid bootable setting: use on or off'],
    ['number=5', 'In "number=5", number=5: primary and extended partitions use slots 1–4'],
    ['logical,number=1', 'In "logical,number=1": logical partitions are numbered 5, 6, … in chain order; number= is for primary slots'],
    ['extended,logical', '"extended,logical" names two kinds of partition (extended and logical)'],
    ['logical=yes', '"logical=yes" in "logical=yes": logical takes no value'],
    ['extended,type=83', 'In "extended,type=83": an extended partition needs type 05, 0f or 85, not 83'],
    ['type=05', 'In "type=05": type 05 is an extended type; write "extended" to make an extended partition'],
  ])('refuses %j', (text, message) => {
    expectLoopbackError(() => parsePartitionSpec(text), 'INVALID_INPUT', message);
  });
});

describe('parsePartitionSettings (--set N)', () => {
  it.each([
    ['bootable=on', { bootable: true }],
    ['bootable=off', { bootable: false }],
    ['bootable', { bootable: true }],
    ['type=0c', { type: 0x0c }],
    ['bootable=off,type=linux', { bootable: false, type: 0x83 }],
    ['start=4096,size=20M', { startSector: 4096, sectorCount: 40960 }],
    ['size=+1000', { sectorCount: 1000 }],
  ])('%s', (text, settings) => {
    expect(parsePartitionSettings(text)).toEqual(settings);
  });

  it('refuses unknown settings and bad values', () => {
    expectLoopbackError(
      () => parsePartitionSettings('colour=red'),
      'INVALID_INPUT',
      'Unknown setting "colour=red" in "colour=red": use bootable=on|off, type=…, start= and size=',
    );
    expectLoopbackError(
      () => parsePartitionSettings('size=rest'),
      'INVALID_INPUT',
      'In "size=rest", size=rest is for --add: give the new size',
    );
    expectLoopbackError(
      () => parsePartitionSettings('size=0'),
      'INVALID_INPUT',
      'In "size=0", size is 0: a partition needs at least one sector',
    );
    expectLoopbackError(() => parsePartitionSettings('type='), 'INVALID_INPUT', '"type=" in "type=" needs a value: type=…');
    expectLoopbackError(() => parsePartitionSettings(''), 'INVALID_INPUT', 'Nothing in the partition settings ""');
  });
});

describe('partition numbers and alignment', () => {
  it('reads partition numbers', () => {
    expect(parsePartitionNumber('1')).toBe(1);
    expect(parsePartitionNumber(' 12 ')).toBe(12);
    for (const bad of ['0', '-1', 'one', '1.5', '']) {
      expectLoopbackError(
        () => parsePartitionNumber(bad),
        'INVALID_INPUT',
        `"${bad}" is not a partition number: use 1–4 for primary partitions, 5 and up for logical ones`,
      );
    }
  });

  it('reads alignments', () => {
    expect(parseAlignment('2048')).toBe(2048);
    expect(parseAlignment('63')).toBe(63);
    expect(parseAlignment('1MiB')).toBe(2048);
    expect(parseAlignment('legacy')).toBe(63);
    expect(parseAlignment('modern')).toBe(2048);
    expectLoopbackError(() => parseAlignment('0'), 'INVALID_INPUT', 'Alignment "0" must be at least one sector');
    expectLoopbackError(() => parseAlignment('100B'), 'INVALID_INPUT', '"100b" (100 bytes) is not on a 512-byte sector boundary');
  });

  it('keeps the alignment a layout follows: tracks for the sector-63 layout, 1 MiB otherwise', () => {
    expect(layoutAlignment([63, 1008 * 20 + 63])).toBe(63); // the classic layout, a logical one track after its EBR
    expect(layoutAlignment([2048, 22528])).toBe(2048);
    expect(layoutAlignment([2048 * 63])).toBe(2048); // on both grids: the modern one
    expect(layoutAlignment([63, 2047])).toBe(2048); // no grid at all
    expect(layoutAlignment([])).toBe(2048);
  });
});
