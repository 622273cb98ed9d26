/**
 * freeBlocksAfterFormat: what a recipe counts on before it formats — checked against the free
 * blocks dumpe2fs reads from volumes our formatter and mke2fs made.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { missingTools, runToolOk, tempDir } from '../../../tests/support/host';
import { formatExt2 } from './format';
import { freeBlocksAfterFormat, planExt2Layout } from './layout';
import { parseDumpe2fs } from './test-support';

const tmp = tempDir('ext2-free-');
afterAll(() => tmp.cleanup());

describe.skipIf(missingTools('dumpe2fs', 'mke2fs', 'truncate'))('free blocks after formatting', () => {
  it.each([
    [1_474_560, 1024],
    [32 * 1024 * 1024, 1024],
    [200 * 1024 * 1024, 4096],
  ] as const)('%i bytes, %i-byte blocks: as dumpe2fs reads it from our format and from mke2fs', async (size, blockBytes) => {
    const layout = planExt2Layout(size, { blockBytes });
    const ours = join(tmp.dir, `ours-${size}.img`);
    runToolOk('truncate', ['-s', String(size), ours]);
    const device = await FileBlockDevice.open(ours, { writable: true });
    try {
      await formatExt2(device, { blockBytes });
    } finally {
      await device.close();
    }
    const free = (image: string) => Number(parseDumpe2fs(runToolOk('dumpe2fs', ['-h', image]).stdout)['Free blocks']);
    expect(freeBlocksAfterFormat(layout)).toBe(free(ours));
    const theirs = join(tmp.dir, `mke2fs-${size}.img`);
    runToolOk('truncate', ['-s', String(size), theirs]);
    runToolOk('mke2fs', [
      '-q',
      '-F',
      '-t',
      'ext2',
      '-O',
      '^resize_inode,^dir_index,^ext_attr,^large_file',
      '-I',
      '128',
      '-b',
      String(blockBytes),
      theirs,
    ]);
    expect(freeBlocksAfterFormat(layout)).toBe(free(theirs));
  });
});
