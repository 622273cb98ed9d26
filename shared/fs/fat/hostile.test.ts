/**
 * The FAT reader on damaged and crafted volumes (issue 13): images made by mkfs.fat and mtools,
 * then patched byte by byte, shown damaged by fsck.fat or read by mdir, and read by ours. Every
 * refusal is CORRUPT, names the path, and changes nothing.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import {
  findShortEntry,
  firstCluster,
  makeFatImage,
  patchImage,
  patchLongName,
  setFirstCluster,
} from '../../../tests/support/hostile-images';
import { MemoryBlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import { fsck } from './test-support';
import { openFat } from './volume';

const skip = missingTools('mkfs.fat', 'fsck.fat', 'mmd', 'mcopy', 'mdir', 'truncate');
const tmp = tempDir('fat-hostile-');
afterAll(() => tmp.cleanup());

async function open(image: string) {
  const device = new MemoryBlockDevice(new Uint8Array(readFileSync(image)));
  return { device, fs: await openFat(device) };
}

async function refusal(promise: Promise<unknown>): Promise<LoopbackError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LoopbackError);
  return error as LoopbackError;
}

/** /tree/sub/loop made by mmd, then pointed at /tree's first cluster: a folder inside itself. */
function cycleImage(fat: 16 | 32): string {
  const image = makeFatImage(tmp.dir, {
    fat,
    size: fat === 16 ? '16M' : '40M',
    folders: ['/tree', '/tree/sub', '/tree/sub/loop'],
    files: { '/tree/sub/f.txt': 'data\n' },
  });
  patchImage(image, (bytes) =>
    setFirstCluster(bytes, findShortEntry(bytes, 'LOOP', 0x10), firstCluster(bytes, findShortEntry(bytes, 'TREE', 0x10))),
  );
  return image;
}

describe.skipIf(skip)('FAT: damaged and crafted volumes', () => {
  it.each([16, 32] as const)('FAT%i: a folder that contains its ancestor is CORRUPT, naming both paths', async (fat) => {
    const image = cycleImage(fat);
    // fsck.fat sees the same damage: the entry points back up the tree.
    expect(fsck(runTool, image).output).toMatch(/\/TREE\/SUB\/LOOP\s+Start does point to containing directory's parent/);
    const { fs } = await open(image);
    expect((await fs.list('/tree/sub')).map((e) => e.name).sort()).toEqual(['f.txt', 'loop']);
    const error = await refusal(fs.list('/tree/sub/loop'));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toBe(
      '"/tree/sub/loop" is the folder "/tree" again: a folder that contains itself (a directory cycle); the volume is damaged (run fsck.fat)',
    );
    expect(error.details).toMatchObject({ path: '/tree/sub/loop', ancestor: '/tree' });
    expect((await refusal(fs.readFile('/tree/sub/loop/sub/f.txt'))).code).toBe('CORRUPT');
  });

  it('rm -r of a tree that loops back is CORRUPT and frees nothing', async () => {
    const image = cycleImage(32);
    const { device, fs } = await open(image);
    const before = device.bytes.slice();
    const free = (await fs.usage()).freeBytes;
    const error = await refusal(fs.remove('/tree', { recursive: true }));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toContain('"/tree/sub/loop" is the folder "/tree" again');
    // Undone in memory (the transaction), and nothing written.
    expect(Buffer.compare(device.bytes, before)).toBe(0);
    expect((await fs.usage()).freeBytes).toBe(free);
    expect((await fs.list('/tree')).map((e) => e.name)).toEqual(['sub']);
  });

  it('a long name "../../x" is read as it is stored (the host side refuses it, not the reader)', async () => {
    const image = makeFatImage(tmp.dir, { fat: 12, size: '2M', folders: ['/sub'], files: { '/x': 'real\n', '/sub/abcdefghij': 'evil\n' } });
    patchImage(image, (bytes) => patchLongName(bytes, 'abcdefghij', '../../x'));
    expect(runToolOk('mdir', ['-i', image, '::/sub']).stdout).toContain(' ../../x');
    const { fs } = await open(image);
    expect((await fs.list('/sub')).map((e) => e.name)).toEqual(['../../x']);
  });

  it('an empty long name falls back to the short name (a name "" would be the folder itself)', async () => {
    const image = makeFatImage(tmp.dir, { fat: 12, size: '2M', folders: ['/dir'], files: { '/dir/abcdefghij': 'x\n' } });
    patchImage(image, (bytes) => patchLongName(bytes, 'abcdefghij', ''));
    const { fs } = await open(image);
    expect((await fs.list('/dir')).map((e) => e.name)).toEqual(['ABCDEF~1']);
    expect(new TextDecoder().decode(await fs.readFile('/dir/ABCDEF~1'))).toBe('x\n');
  });

  it('a blank short name without a long one is CORRUPT naming the folder (fsck.fat: "Bad short file name")', async () => {
    const image = makeFatImage(tmp.dir, {
      fat: 12,
      size: '2M',
      folders: ['/dir'],
      files: { '/dir/BLANK.TXT': 'x\n', '/dir/KEEP.TXT': 'y\n' },
    });
    patchImage(image, (bytes) => bytes.fill(0x20, findShortEntry(bytes, 'BLANK.TXT', 0x20), findShortEntry(bytes, 'BLANK.TXT', 0x20) + 11));
    expect(fsck(runTool, image).output).toContain('Bad short file name');
    const { fs } = await open(image);
    const error = await refusal(fs.list('/dir'));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toBe('The folder "/dir" is damaged: the entry in slot 2 has a blank name (run fsck.fat)');
  });

  it('a cluster chain that loops, or leaves the volume, is CORRUPT naming the file', async () => {
    const image = makeFatImage(tmp.dir, { fat: 16, size: '16M', files: { '/LOOP.BIN': 'x'.repeat(2000), '/AWAY.BIN': 'y'.repeat(700) } });
    patchImage(image, (bytes) => {
      const reserved = bytes.readUInt16LE(14);
      const fat = reserved * 512;
      const loop = firstCluster(bytes, findShortEntry(bytes, 'LOOP.BIN', 0x20));
      bytes.writeUInt16LE(loop, fat + 2 * (loop + 1)); // its second cluster points back at its first
      const away = firstCluster(bytes, findShortEntry(bytes, 'AWAY.BIN', 0x20));
      bytes.writeUInt16LE(0xfff0, fat + 2 * away); // past the last cluster, not an end mark
    });
    expect(fsck(runTool, image).problems.length).toBeGreaterThan(0);
    const { fs } = await open(image);
    const looping = await refusal(fs.readFile('/LOOP.BIN'));
    expect(looping.code).toBe('CORRUPT');
    expect(looping.message).toMatch(/^"\/LOOP.BIN": The cluster chain from cluster \d+ loops \(run fsck.fat\)$/);
    const away = await refusal(fs.readFile('/AWAY.BIN'));
    expect(away.code).toBe('CORRUPT');
    expect(away.message).toMatch(/^"\/AWAY.BIN": Broken cluster chain/);
  });
});
