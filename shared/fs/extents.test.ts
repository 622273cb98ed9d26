/**
 * FileSystem.extents(): where a file's data is, as a boot loader's block list needs it. Checked
 * against the tools' own view of the same images — debugfs's block map (which labels indirect
 * blocks as such) for ext2, mshowfat's cluster chains plus fsck.fat's data-area offset for FAT —
 * and by reading the image file at the extents, which must give back the file's bytes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../electron/services/file-block-device';
import { missingTools, runToolOk, tempDir } from '../../tests/support/host';
import { ext2FileExtents } from './ext2/block-map';
import { openExt2 } from './ext2/volume';
import { openFat } from './fat/index';
import type { FileExtent } from './types';

const tmp = tempDir('extents-');
afterAll(() => tmp.cleanup());

/** The bytes of the image at the extents, in file order. */
function readAt(image: string, extents: readonly FileExtent[], baseBytes = 0): Buffer {
  const bytes = readFileSync(image);
  return Buffer.concat(
    extents.map((e) => bytes.subarray(baseBytes + e.deviceOffsetBytes, baseBytes + e.deviceOffsetBytes + e.lengthBytes)),
  );
}

/** debugfs `stat`'s BLOCKS section as [logical, physical] pairs of data blocks: (IND), (DIND), (TIND) left out. */
function debugfsDataBlocks(image: string, path: string): Array<[number, number]> {
  const out = runToolOk('debugfs', ['-R', `stat ${path}`, image]).stdout;
  const section = /BLOCKS:\n([\s\S]*?)\nTOTAL/.exec(out)?.[1] ?? '';
  const pairs: Array<[number, number]> = [];
  for (const match of section.matchAll(/\((\d+)(?:-(\d+))?\):(\d+)(?:-(\d+))?/g)) {
    const first = Number(match[1]);
    const last = Number(match[2] ?? match[1]);
    for (let l = first; l <= last; l++) pairs.push([l, Number(match[3]) + (l - first)]);
  }
  return pairs;
}

/** Our extents as [logical, physical] block pairs. */
function blockPairs(extents: readonly FileExtent[], blockBytes: number): Array<[number, number]> {
  return extents.flatMap((e) =>
    Array.from({ length: Math.ceil(e.lengthBytes / blockBytes) }, (_, i): [number, number] => [
      e.fileOffsetBytes / blockBytes + i,
      e.deviceOffsetBytes / blockBytes + i,
    ]),
  );
}

describe.skipIf(missingTools('mke2fs', 'debugfs', 'truncate'))('ext2 block maps', () => {
  it.each([1024, 4096])('match debugfs for files in direct, indirect and double-indirect blocks (%i-byte blocks)', async (blockBytes) => {
    const src = join(tmp.dir, `src-${blockBytes}`);
    mkdirSync(join(src, 'boot/grub'), { recursive: true });
    const files: Record<string, Buffer> = {
      '/small.txt': Buffer.from('eleven bytes'),
      '/boot/grub/stage2': randomBytes(119_556), // 117 blocks of 1 KiB: into the single indirect block
      '/boot/big.bin': randomBytes(blockBytes === 1024 ? 300_000 : 4_300_000), // into the double indirect block
    };
    for (const [path, data] of Object.entries(files)) writeFileSync(join(src, path), data);
    const image = join(tmp.dir, `ext2-${blockBytes}.img`);
    runToolOk('truncate', ['-s', '16M', image]);
    runToolOk('mke2fs', ['-q', '-t', 'ext2', '-b', String(blockBytes), '-d', src, image]);

    const device = await FileBlockDevice.open(image, { writable: false });
    try {
      for (const [path, data] of Object.entries(files)) {
        const extents = await ext2FileExtents(device, path);
        expect(blockPairs(extents, blockBytes)).toEqual(debugfsDataBlocks(image, path));
        expect(extents.reduce((sum, e) => sum + e.lengthBytes, 0)).toBe(data.length);
        expect(readAt(image, extents).equals(data)).toBe(true);
      }
      // The 300 KB file skips its indirect blocks: more than one extent although mke2fs wrote it in one go.
      expect((await ext2FileExtents(device, '/boot/big.bin')).length).toBeGreaterThan(1);
      await expect(ext2FileExtents(device, '/boot')).rejects.toThrow(/is a folder/);
      await expect(ext2FileExtents(device, '/boot/nothing')).rejects.toThrow(/no such file/);
    } finally {
      await device.close();
    }
  });

  it('what the volume just wrote: extents() from its block map in memory match debugfs and ext2FileExtents after close', async () => {
    const image = join(tmp.dir, 'written.img');
    runToolOk('truncate', ['-s', '4M', image]);
    runToolOk('mke2fs', ['-q', '-t', 'ext2', '-b', '1024', image]);
    const data = randomBytes(150_000);
    const device = await FileBlockDevice.open(image, { writable: true });
    try {
      const volume = await openExt2(device);
      await volume.mkdir('/boot');
      await volume.writeFile('/boot/kernel.elf', data);
      const extents = await volume.extents('/boot/kernel.elf');
      // The data is on the device at once; the block map only after flush/close.
      expect(readAt(image, extents).equals(data)).toBe(true);
      await volume.close();
      // Our indirect blocks go after the data, so the data is one extent (mke2fs interleaves them).
      expect(extents).toHaveLength(1);
      expect(blockPairs(extents, 1024)).toEqual(debugfsDataBlocks(image, '/boot/kernel.elf'));
      expect(await ext2FileExtents(device, '/boot/kernel.elf')).toEqual(extents);
      await expect(volume.extents('/boot/kernel.elf')).rejects.toThrow(/closed/);
    } finally {
      await device.close();
    }
  });
});

/** mshowfat's chain ("::/a <2-11><15-20>") as cluster numbers. */
function mshowfatClusters(image: string, path: string): number[] {
  const out = runToolOk('mshowfat', ['-i', image, `::${path}`]).stdout;
  return [...out.matchAll(/<(\d+)(?:-(\d+))?>/g)].flatMap((m) => {
    const first = Number(m[1]);
    return Array.from({ length: Number(m[2] ?? m[1]) - first + 1 }, (_, i) => first + i);
  });
}

describe.skipIf(missingTools('mkfs.fat', 'fsck.fat', 'mcopy', 'mshowfat', 'truncate'))('FAT cluster chains', () => {
  it.each([
    ['fat12', '1440K', []],
    ['fat32', '40M', ['-F', '32', '-s', '1']],
  ] as const)('match mshowfat and fsck.fat for a fragmented file (%s)', async (type, size, mkfsArgs) => {
    const image = join(tmp.dir, `${type}.img`);
    runToolOk('truncate', ['-s', size, image]);
    runToolOk('mkfs.fat', [...mkfsArgs, image]);
    const data = randomBytes(40_000);
    const device = await FileBlockDevice.open(image, { writable: true });
    try {
      const volume = await openFat(device);
      // Ten small files, one filling the rest; every other small one removed: only 10 KB holes are free.
      for (let i = 0; i < 10; i++) await volume.writeFile(`/f${i}.bin`, randomBytes(10_240));
      await volume.writeFile('/fill.bin', new Uint8Array((await volume.usage()).freeBytes));
      for (let i = 0; i < 10; i += 2) await volume.remove(`/f${i}.bin`);
      await volume.flush();
      await volume.writeFile('/big.bin', data);
      await volume.flush();
      const extents = await volume.extents('/big.bin');
      expect(extents.length).toBeGreaterThan(1);

      const fsck = runToolOk('fsck.fat', ['-n', '-v', image]).stdout;
      const dataStart = Number(/Data area starts at byte (\d+)/.exec(fsck)?.[1]);
      const clusterBytes = Number(/(\d+) bytes per cluster/.exec(fsck)?.[1]);
      const expected = mshowfatClusters(image, '/big.bin').map((c) => dataStart + (c - 2) * clusterBytes);
      const ours = extents.flatMap((e) =>
        Array.from({ length: Math.ceil(e.lengthBytes / clusterBytes) }, (_, i) => e.deviceOffsetBytes + i * clusterBytes),
      );
      expect(ours).toEqual(expected);
      expect(readAt(image, extents).equals(data)).toBe(true);
      expect(await volume.extents('/f1.bin')).toHaveLength(1);
      await expect(volume.extents('/')).rejects.toThrow(/folder/);
    } finally {
      await device.close();
    }
  });
});
