import { describe, expect, it } from 'vitest';
import { LoopbackError } from '../../errors';
import { groupHasSuperblock, planExt2Layout, type Ext2LayoutOptions } from './layout';

const KiB = 1024;
const MiB = 1024 * KiB;
const TiB = 1024 * 1024 * MiB;

function refusal(sizeBytes: number, options: Ext2LayoutOptions = {}): LoopbackError {
  try {
    planExt2Layout(sizeBytes, options);
  } catch (error) {
    expect(error).toBeInstanceOf(LoopbackError);
    return error as LoopbackError;
  }
  throw new Error(`planExt2Layout(${sizeBytes}) did not refuse`);
}

describe('planExt2Layout defaults follow mke2fs.conf size types', () => {
  it.each([
    // size, block bytes, bytes per inode (floppy < 3 MiB, small < 512 MiB, default above)
    [1_474_560, 1024, 8192],
    [64 * MiB, 1024, 4096],
    [511 * MiB, 1024, 4096],
    [512 * MiB, 4096, 16384],
    [1024 * MiB, 4096, 16384],
  ])('%i bytes: %i-byte blocks, one inode per %i bytes', (size, blockBytes, inodeRatio) => {
    const layout = planExt2Layout(size);
    expect(layout.blockBytes).toBe(blockBytes);
    expect(layout.inodeRatio).toBe(inodeRatio);
    expect(layout.inodeBytes).toBe(128);
    expect(layout.blocksPerGroup).toBe(8 * blockBytes);
  });

  it('uses the whole 4 KiB pages of the volume, as mke2fs does for a device', () => {
    expect(planExt2Layout(1_474_560 + 3 * KiB).blocksCount).toBe(1440);
  });
});

describe('groupHasSuperblock (sparse_super)', () => {
  it('is groups 0, 1 and the powers of 3, 5 and 7', () => {
    const groups = Array.from({ length: 400 }, (_, g) => g).filter(groupHasSuperblock);
    expect(groups).toEqual([0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343]);
  });
});

describe('planExt2Layout refusals name the size and the way out', () => {
  it('a volume below 60 KiB (1 KiB blocks)', () => {
    const error = refusal(40 * KiB);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('40960 bytes');
    expect(error.message).toContain('at least 61440 bytes (60 KiB)');
    expect(error.message).toContain('larger');
  });

  it('a volume too small for 4 KiB blocks suggests 1 KiB blocks', () => {
    const error = refusal(200 * KiB, { blockBytes: 4096 });
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('use 1024-byte blocks');
  });

  it('more than 2^32 blocks', () => {
    const error = refusal(5 * TiB, { blockBytes: 1024 });
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/too large .* 1024-byte blocks.*use 4096-byte blocks/);
    expect(refusal(17 * TiB).message).toContain('too large');
  });

  it('a descriptor table that would not fit in a group (2 TiB of 1 KiB blocks)', () => {
    const error = refusal(2 * TiB, { blockBytes: 1024 });
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('group descriptors would not fit');
  });

  it.each<[string, Ext2LayoutOptions, RegExp]>([
    ['block size 2048', { blockBytes: 2048 as 1024 }, /block size 2048 .* use 1024 or 4096/],
    ['inode size 512', { inodeBytes: 512 as 128 }, /inode size 512 .* use 128 or 256/],
    ['inode ratio 100', { inodeRatio: 100 }, /inode ratio 100 is out of range/],
    ['inode ratio below the block size', { blockBytes: 4096, inodeRatio: 2048 }, /inode ratio of at least 4096/],
    ['reserved 60 %', { reservedPercent: 60 }, /percentage 60 .* 0 to 50/],
  ])('%s', (_, options, message) => {
    const error = refusal(8 * MiB, options);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(message);
  });
});
