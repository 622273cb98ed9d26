import { describe, expect, it } from 'vitest';
import {
  addPartition,
  deletePartition,
  freeRanges,
  hasAttribute,
  newGpt,
  resizePartition,
  setLegacyBiosBootable,
  setPartitionAttributes,
  setPartitionName,
  setPartitionType,
} from './index';

const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const BIOS = '21686148-6449-6E6F-744E-656564454649';
const EFI = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const MIB = 2048; // sectors

describe('newGpt', () => {
  it('lays out an empty table as UEFI 5.3.2 and sgdisk do', () => {
    const table = newGpt(16384);
    expect(table).toMatchObject({
      diskSectors: 16384,
      firstUsableLBA: 34,
      lastUsableLBA: 16350,
      partitionEntryLBA: 2,
      numberOfPartitionEntries: 128,
      sizeOfPartitionEntry: 128,
      partitions: [],
      warnings: [],
    });
    expect(table.diskGuid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4/);
    expect(newGpt(16384).diskGuid).not.toBe(table.diskGuid);
  });
});

describe('addPartition', () => {
  const empty = newGpt(64 * MIB);

  it("does what `--add 'start=2048,size=rest,type=linux,name=root'` asks", () => {
    const table = addPartition(empty, { startingLBA: 2048, sizeSectors: 'rest', type: 'linux', name: 'root' });
    expect(table.partitions).toEqual([
      {
        index: 1,
        typeGuid: LINUX,
        typeName: 'Linux filesystem',
        uniqueGuid: expect.any(String),
        startingLBA: 2048,
        endingLBA: 64 * MIB - 34,
        attributes: { low32: 0, high32: 0 },
        name: 'root',
      },
    ]);
  });

  it('defaults to the first free 1 MiB-aligned sector, the rest of the gap, type linux, the first free number', () => {
    const table = addPartition(empty);
    expect(table.partitions[0]).toMatchObject({ index: 1, startingLBA: 2048, endingLBA: 64 * MIB - 34, typeGuid: LINUX, name: '' });
  });

  it('packs sized partitions one after another on 1 MiB boundaries', () => {
    let table = addPartition(empty, { sizeSectors: 1000, type: 'bios' });
    table = addPartition(table, { sizeSectors: 100 * 1024, type: 'efi', name: 'ESP' });
    table = addPartition(table, { type: 'linux', name: 'root' });
    expect(table.partitions.map((p) => [p.index, p.startingLBA, p.endingLBA, p.typeGuid])).toEqual([
      [1, 2048, 3047, BIOS],
      [2, 4096, 4096 + 100 * 1024 - 1, EFI],
      [3, 4096 + 100 * 1024, 64 * MIB - 34, LINUX],
    ]);
    expect(new Set(table.partitions.map((p) => p.uniqueGuid)).size).toBe(3);
  });

  it('fills a gap left by a deleted partition, reusing its number, and skips gaps too small', () => {
    let table = addPartition(empty, { sizeSectors: MIB });
    table = addPartition(table, { sizeSectors: 4 * MIB });
    table = addPartition(table, { sizeSectors: MIB });
    table = deletePartition(table, 2);
    expect(freeRanges(table)).toEqual([
      { startingLBA: 34, endingLBA: 2047, sizeSectors: 2014 },
      { startingLBA: 4096, endingLBA: 6 * MIB - 1, sizeSectors: 4 * MIB },
      { startingLBA: 7 * MIB, endingLBA: 64 * MIB - 34, sizeSectors: 57 * MIB - 33 },
    ]);
    const big = addPartition(table, { sizeSectors: 5 * MIB });
    expect(big.partitions.find((p) => p.index === 2)).toMatchObject({ startingLBA: 7 * MIB, endingLBA: 12 * MIB - 1 });
    const fits = addPartition(table, { sizeSectors: 2 * MIB, index: 7 });
    expect(fits.partitions.find((p) => p.index === 7)).toMatchObject({ startingLBA: 2 * MIB, endingLBA: 4 * MIB - 1 });
  });

  it('accepts an explicit end sector, an sgdisk code, a GUID type, attributes and alignment 1', () => {
    const table = addPartition(empty, { endingLBA: 99, type: 'ef02', alignmentSectors: 1, attributes: { low32: 4, high32: 0 } });
    expect(table.partitions[0]).toMatchObject({ startingLBA: 34, endingLBA: 99, typeGuid: BIOS, typeName: 'BIOS boot' });
    const custom = addPartition(empty, { type: '12345678-1234-1234-1234-123456789abc' });
    expect(custom.partitions[0]).toMatchObject({ typeGuid: '12345678-1234-1234-1234-123456789ABC', typeName: 'Unknown type' });
  });

  it('leaves the table it was given alone', () => {
    const before = JSON.stringify(empty);
    addPartition(empty, { name: 'x' });
    expect(JSON.stringify(empty)).toBe(before);
  });

  it('refuses a start sector inside another partition, naming it', () => {
    const table = addPartition(empty, { startingLBA: 2048, sizeSectors: MIB });
    expect(() => addPartition(table, { startingLBA: 3000 })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        message: 'Cannot add partition 2 at sector 3000: sector 3000 is inside partition 1 (sectors 2048–4095)',
      }),
    );
    expect(() => addPartition(table, { startingLBA: 10 })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('sector 10 is outside the usable sectors 34–131038') }),
    );
  });

  it('refuses a size that runs into the next partition', () => {
    const table = addPartition(empty, { startingLBA: 8192, sizeSectors: MIB });
    expect(() => addPartition(table, { startingLBA: 2048, sizeSectors: 8 * MIB })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        message: expect.stringContaining('partition 2 (sectors 2048–18431) overlaps partition 1 (sectors 8192–10239)'),
      }),
    );
  });

  it('refuses a partition that does not fit anywhere aligned, and says where space is', () => {
    expect(() => addPartition(newGpt(200), {})).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        message: expect.stringContaining('no free space for a partition starting at a multiple of 2048 sectors (free sectors: 34–166)'),
      }),
    );
    expect(addPartition(newGpt(200), { alignmentSectors: 1 }).partitions[0]).toMatchObject({ startingLBA: 34, endingLBA: 166 });
  });

  it('refuses a name that is too long, a taken number and contradictory sizes', () => {
    expect(() => addPartition(empty, { name: 'x'.repeat(37) })).toThrow(
      expect.objectContaining({ code: 'VALIDATION', message: expect.stringContaining('GPT stores at most 36') }),
    );
    const one = addPartition(empty, { sizeSectors: MIB });
    expect(() => addPartition(one, { index: 1 })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('partition 1 (sectors 2048–4095) already exists') }),
    );
    expect(() => addPartition(empty, { sizeSectors: 10, endingLBA: 5000 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => addPartition(empty, { sizeSectors: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => addPartition(empty, { type: 'ntfs-please' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('changing a partition', () => {
  const table = addPartition(addPartition(newGpt(16 * MIB), { sizeSectors: MIB, type: 'bios' }), { name: 'root' });

  it('sets the type and its display name', () => {
    const changed = setPartitionType(table, 2, 'fat32');
    expect(changed.partitions[1]).toMatchObject({ typeGuid: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', typeName: 'Microsoft basic data' });
    expect(table.partitions[1]!.typeGuid).toBe(LINUX);
  });

  it('renames, refusing names over 36 code units', () => {
    expect(setPartitionName(table, 2, 'système').partitions[1]!.name).toBe('système');
    expect(() => setPartitionName(table, 2, '🚀'.repeat(19))).toThrow(
      expect.objectContaining({ code: 'VALIDATION', message: expect.stringContaining('Cannot name partition 2: partition 2: the name') }),
    );
  });

  it('sets and clears legacy BIOS bootable (bit 2) and other attributes', () => {
    const bootable = setLegacyBiosBootable(table, 2, true);
    expect(bootable.partitions[1]!.attributes).toEqual({ low32: 4, high32: 0 });
    expect(hasAttribute(setLegacyBiosBootable(bootable, 2, false).partitions[1]!.attributes, 2)).toBe(false);
    expect(setPartitionAttributes(table, 1, { low32: 1, high32: 0x10000000 }).partitions[0]!.attributes).toEqual({
      low32: 1,
      high32: 0x10000000,
    });
    expect(() => setPartitionAttributes(table, 1, { low32: -1, high32: 0 })).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
  });

  it('moves and resizes in place: the same entry, GUIDs, name and attributes', () => {
    const bootable = setLegacyBiosBootable(table, 2, true);
    const moved = resizePartition(bootable, 2, { startingLBA: 4 * MIB, sizeSectors: 2 * MIB });
    expect(moved.partitions[1]).toEqual({ ...bootable.partitions[1], startingLBA: 4 * MIB, endingLBA: 6 * MIB - 1 });
    expect(resizePartition(table, 2, { sizeSectors: MIB }).partitions[1]).toMatchObject({ startingLBA: 2 * MIB, endingLBA: 3 * MIB - 1 });
    expect(() => resizePartition(table, 2, { startingLBA: MIB + 10 })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        message: expect.stringContaining('Cannot move or resize partition 2: partition 1 (sectors 2048–4095) overlaps partition 2'),
      }),
    );
    expect(() => resizePartition(table, 2, { sizeSectors: 16 * MIB })).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    expect(() => resizePartition(table, 2, { sizeSectors: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('deletes by number, and says which numbers exist when asked for a missing one', () => {
    expect(deletePartition(table, 1).partitions.map((p) => p.index)).toEqual([2]);
    expect(() => deletePartition(table, 5)).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', message: 'there is no partition 5 (existing partitions: 1, 2)' }),
    );
    expect(() => setPartitionName(table, 9, 'x')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
