import { describe, expect, it } from 'vitest';
import { GPT_PARTITION_TYPES, partitionTypeName, resolvePartitionType, sgdiskTypeCode, UNKNOWN_TYPE_NAME } from './types';

const EFI = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const BIOS = '21686148-6449-6E6F-744E-656564454649';
const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const MSDATA = 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7';
const SWAP = '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F';

describe('partition types', () => {
  it.each([
    ['efi', EFI],
    ['ef00', EFI],
    ['EF00', EFI],
    ['bios', BIOS],
    ['ef02', BIOS],
    ['linux', LINUX],
    ['8300', LINUX],
    ['msdata', MSDATA],
    ['0700', MSDATA],
    ['fat32', MSDATA],
    ['fat16', MSDATA],
    ['fat12', MSDATA],
    ['swap', SWAP],
    ['8200', SWAP],
    [' Linux ', LINUX],
    ['0fc63daf-8483-4772-8e79-3d69d8477de4', LINUX],
    // A type we have no name for is still accepted as a GUID.
    ['12345678-9abc-def0-1234-56789abcdef0', '12345678-9ABC-DEF0-1234-56789ABCDEF0'],
  ])('resolves %j to %s', (text, guid) => {
    expect(resolvePartitionType(text)).toBe(guid);
  });

  it('names known types and says so for unknown ones', () => {
    expect(partitionTypeName(EFI)).toBe('EFI System');
    expect(partitionTypeName(BIOS)).toBe('BIOS boot');
    expect(partitionTypeName(LINUX.toLowerCase())).toBe('Linux filesystem');
    expect(partitionTypeName('12345678-9ABC-DEF0-1234-56789ABCDEF0')).toBe(UNKNOWN_TYPE_NAME);
    expect(sgdiskTypeCode(MSDATA)).toBe('0700');
  });

  it('refuses unknown aliases and codes, listing what it knows', () => {
    expect(() => resolvePartitionType('ext9')).toThrow(
      expect.objectContaining({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/"ext9" is not a partition type\. Known types: efi \(ef00, EFI System\)/),
      }),
    );
    expect(() => resolvePartitionType('a505')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('sgdisk type code a505 is not one') }),
    );
  });

  it('has no alias or code that means two types', () => {
    const keys = GPT_PARTITION_TYPES.flatMap((t) => [t.sgdiskCode, ...t.aliases]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(GPT_PARTITION_TYPES.map((t) => t.guid)).size).toBe(GPT_PARTITION_TYPES.length);
  });
});
