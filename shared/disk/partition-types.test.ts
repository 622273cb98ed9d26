import { describe, expect, it } from 'vitest';
import { missingTools, runToolOk } from '../../tests/support/host';
import { formatMbrType, isExtendedType, MBR_PARTITION_TYPES, mbrTypeName, parseMbrType } from './partition-types';
import { expectLoopbackError } from './test-support';

describe('MBR partition types', () => {
  it.each([
    [0x00, 'Empty'],
    [0x01, 'FAT12'],
    [0x04, 'FAT16 <32M'],
    [0x05, 'Extended'],
    [0x06, 'FAT16'],
    [0x07, 'HPFS/NTFS/exFAT'],
    [0x0b, 'W95 FAT32'],
    [0x0c, 'W95 FAT32 (LBA)'],
    [0x0e, 'W95 FAT16 (LBA)'],
    [0x0f, "W95 Ext'd (LBA)"],
    [0x82, 'Linux swap / Solaris'],
    [0x83, 'Linux'],
    [0x85, 'Linux extended'],
    [0xa5, 'FreeBSD'],
    [0xa6, 'OpenBSD'],
    [0xee, 'GPT protective'],
    [0xef, 'EFI (FAT-12/16/32)'],
    [0x42, 'Unknown (0x42)'],
  ])('type %i is named %s', (id, name) => {
    expect(mbrTypeName(id)).toBe(name);
  });

  it.skipIf(missingTools('sfdisk'))('uses util-linux\'s names (sfdisk --list-types), except 0xEE, which we call "GPT protective"', () => {
    const listed = new Map<number, string>();
    for (const line of runToolOk('sfdisk', ['--label', 'dos', '--list-types']).stdout.split('\n')) {
      const match = /^\s*([0-9a-f]{1,2})\s{2}(.+)$/.exec(line);
      if (match) listed.set(parseInt(match[1]!, 16), match[2]!.trim());
    }
    expect(listed.size).toBeGreaterThan(50);
    for (const type of MBR_PARTITION_TYPES) {
      expect(listed.get(type.id), formatMbrType(type.id)).toBe(type.id === 0xee ? 'GPT' : type.name);
    }
  });

  it.each([
    ['83', 0x83],
    ['0x83', 0x83],
    ['0X83', 0x83],
    ['0c', 0x0c],
    ['c', 0x0c],
    ['b', 0x0b],
    ['EF', 0xef],
    ['linux', 0x83],
    ['Linux', 0x83],
    ['fat32', 0x0c],
    ['fat16', 0x06],
    ['fat12', 0x01],
    ['efi', 0xef],
    ['extended', 0x05],
    ['swap', 0x82],
    [' ntfs ', 0x07],
  ])('parses %j as type %i', (text, id) => {
    expect(parseMbrType(text)).toBe(id);
  });

  it('refuses what is neither hex nor a name, naming the text', () => {
    expectLoopbackError(
      () => parseMbrType('fat64'),
      'INVALID_INPUT',
      /^"fat64" is not an MBR partition type: give a hex id from 00 to ff \(83, 0x0c\) or a name \(empty, fat12, /,
    );
    expectLoopbackError(() => parseMbrType('0x100'), 'INVALID_INPUT', /^"0x100" is not an MBR partition type/);
    expectLoopbackError(() => parseMbrType(''), 'INVALID_INPUT', /^"" is not an MBR partition type/);
  });

  it('knows the three extended types Linux follows', () => {
    expect([0x05, 0x0f, 0x85].every(isExtendedType)).toBe(true);
    expect([0x00, 0x83, 0x0c, 0xee].some(isExtendedType)).toBe(false);
  });
});
