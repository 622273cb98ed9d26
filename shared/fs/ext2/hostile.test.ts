/**
 * The ext2 reader on damaged and crafted volumes (issue 13): images made by mke2fs and debugfs,
 * patched byte by byte where debugfs cannot (a name_len of 0), shown damaged (or not) by e2fsck,
 * and read by ours. Every refusal is CORRUPT and names the path; every walk ends.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { findExt2Record, makeExt2Image, patchImage } from '../../../tests/support/hostile-images';
import { MemoryBlockDevice } from '../../disk/block-device';
import type { FileChunk } from '../types';
import { e2fsckProblems, failure } from './test-support';
import { openExt2 } from './volume';

const skip = missingTools('mke2fs', 'debugfs', 'e2fsck', 'truncate');
const tmp = tempDir('ext2-hostile-');
afterAll(() => tmp.cleanup());

async function open(image: string) {
  return openExt2(new MemoryBlockDevice(new Uint8Array(readFileSync(image))));
}

/** e2fsck -fn's complaints about `image` (none for a clean one). */
function e2fsck(image: string): string {
  return e2fsckProblems(runTool('e2fsck', ['-fn', image]).stdout).join('\n');
}

function debugfs(image: string, command: string): void {
  runToolOk('debugfs', ['-w', '-R', command, image]);
}

describe.skipIf(skip)('ext2: damaged and crafted volumes', () => {
  it('an entry with name_len 0 is CORRUPT naming the folder (it used to make get walk into the same folder forever)', async () => {
    const image = makeExt2Image(tmp.dir, { size: '4M', commands: ['mkdir dir', 'mkdir dir/zzzzsub'], files: { '/dir/zzzzsub/f': 'x' } });
    patchImage(image, (bytes) => {
      bytes[findExt2Record(bytes, 'zzzzsub') + 6] = 0;
    });
    expect(e2fsck(image)).toContain("Entry '' in /dir (12) has a zero-length name.");
    const fs = await open(image);
    const error = await failure(fs.list('/dir'));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toBe(
      '/dir: directory block 0 has a damaged record at byte 24 (an entry with an empty name): run e2fsck on the image',
    );
    expect(error.details).toMatchObject({ path: '/dir' });
    // The rest of the volume still reads.
    expect((await fs.list('/')).map((e) => e.name).sort()).toEqual(['dir', 'lost+found']);
  });

  it('a hard link to a folder above it is a directory cycle: CORRUPT naming both paths', async () => {
    const image = makeExt2Image(tmp.dir, {
      size: '4M',
      commands: ['mkdir tree', 'mkdir tree/sub', 'link tree tree/sub/loop'],
      files: { '/tree/sub/f': 'x' },
    });
    expect(e2fsck(image)).toContain("Entry 'loop' in /tree/sub (13) is a link to directory /tree (12).");
    const fs = await open(image);
    expect((await fs.list('/tree/sub/loop')).map((e) => e.name)).toEqual(['sub']); // one step is not a loop yet
    const error = await failure(fs.list('/tree/sub/loop/sub'));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toBe(
      '/tree/sub/loop is the folder /tree again: a folder that contains itself (a directory cycle); run e2fsck on the image',
    );
    expect((await failure(fs.readFile('/tree/sub/loop/sub/f'))).code).toBe('CORRUPT');
    // A symlink back up is not damage: followed as usual.
    const linked = makeExt2Image(tmp.dir, {
      size: '4M',
      commands: ['mkdir a', 'mkdir a/b', 'symlink a/b/up ../../a', 'symlink a/b/again /a/b'],
      files: { '/a/b/f': 'y' },
    });
    expect(e2fsck(linked)).toBe('');
    const fs2 = await open(linked);
    expect(new TextDecoder().decode(await fs2.readFile('/a/b/up/b/up/b/f'))).toBe('y');
    expect(new TextDecoder().decode(await fs2.readFile('/a/b/again/again/f'))).toBe('y');
  });

  it('a file of 4 GiB and more (i_size_high 1) reads in pieces, holes as holes; readFile refuses it as too large', async () => {
    const image = makeExt2Image(tmp.dir, { size: '4M', files: { '/big': 'hello' } });
    debugfs(image, 'sif big size 0x100000005');
    expect(e2fsck(image)).toBe(''); // a sparse file of 4 GiB + 5 bytes is valid ext2
    const fs = await open(image);
    expect((await fs.stat('/big')).sizeBytes).toBe(2 ** 32 + 5);
    const chunks: Array<Omit<FileChunk, 'data'> & { text: string | null }> = [];
    const size = await fs.readChunks('/big', async (chunk) => {
      chunks.push({
        offsetBytes: chunk.offsetBytes,
        lengthBytes: chunk.lengthBytes,
        text: chunk.data ? new TextDecoder().decode(chunk.data.subarray(0, 5)) : null,
      });
    });
    expect(size).toBe(2 ** 32 + 5);
    expect(chunks).toEqual([
      { offsetBytes: 0, lengthBytes: 1024, text: 'hello' },
      { offsetBytes: 1024, lengthBytes: 2 ** 32 + 5 - 1024, text: null },
    ]);
    const error = await failure(fs.readFile('/big'));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/^\/big is 4294967301 bytes, too large to read into memory at once/);
  });

  it('a size the block map cannot hold (i_size_high 0xffffffff) is CORRUPT, as e2fsck says', async () => {
    const image = makeExt2Image(tmp.dir, { size: '4M', files: { '/huge': 'hello' } });
    debugfs(image, 'sif huge size 0xffffffff00000005');
    expect(e2fsck(image)).toMatch(/Inode 12, i_size is 18446744069414584325, should be 1024/);
    const fs = await open(image);
    for (const read of [() => fs.readFile('/huge'), () => fs.readChunks('/huge', async () => {})]) {
      const error = await failure(read());
      expect(error.code).toBe('CORRUPT');
      expect(error.message).toMatch(/^\/huge claims \d+ bytes, more than a file of this ext2 \(1024-byte blocks\) can hold/);
    }
  });

  it('a block map that names the same blocks over and over is CORRUPT once it names more than the volume has', async () => {
    const image = makeExt2Image(tmp.dir, { size: '4M', files: { '/filler': 'f', '/bomb': 'b' } });
    const block = Number(/(\d+)\s*$/.exec(runToolOk('debugfs', ['-R', 'bmap filler 0', image]).stdout)![1]);
    // The filler's block, starting with 65 copies of its own number, as the bomb's double
    // indirect block: every pointer below it leads back to it, 65 × 65 data blocks > 4096.
    patchImage(image, (bytes) => {
      bytes.fill(0, block * 1024, (block + 1) * 1024);
      for (let i = 0; i < 65; i++) bytes.writeUInt32LE(block, block * 1024 + 4 * i);
    });
    debugfs(image, `sif bomb block[DIND] ${block}`);
    debugfs(image, 'sif bomb size 0x10000000');
    expect(e2fsck(image)).toContain('Multiply-claimed block(s) in inode');
    const fs = await open(image);
    const error = await failure(fs.readChunks('/bomb', async () => {}));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toBe('/bomb: its block map names more blocks than the filesystem has (4096): run e2fsck on the image');
  });

  it('a root inode that is not a folder: mkdir --parents is CORRUPT, not a bug', async () => {
    const image = makeExt2Image(tmp.dir, { size: '4M', commands: ['mkdir a'] });
    debugfs(image, 'sif <2> mode 0100644');
    expect(e2fsck(image)).toMatch(/Root inode is not a directory/);
    const fs = await open(image);
    const error = await failure(fs.mkdir('/a/b/c', { parents: true }));
    expect(error.code).toBe('CORRUPT');
    expect(error.message).toBe('/ should be a folder but its inode (2) is not one: run e2fsck on the image');
  });
});
