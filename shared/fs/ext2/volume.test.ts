/**
 * The ext2 file layer (volume.ts) checked by e2fsprogs itself: after every kind of operation
 * `e2fsck -fn` must be clean, `debugfs` must dump exactly the bytes we wrote and show the modes,
 * times and symlinks we set, and what `mke2fs -d` and debugfs wrote must read back through ours.
 * Images come from our formatter (1 KiB and 4 KiB blocks), from `mke2fs -t ext2` with its
 * defaults (dir_index, ext_attr, resize_inode, 256-byte inodes) and from `mke2fs -r 0`.
 * Refusals must leave the image byte for byte as it was.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { hasTool, missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { MemoryBlockDevice, SubBlockDevice, type BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import { ext2FileExtents } from './block-map';
import { formatExt2, type Ext2FormatOptions } from './format';
import { blocksWithIndirect } from './inode';
import { e2fsckProblems, failure, parseDumpe2fs, pattern, sameBytes } from './test-support';
import { openExt2, type Ext2FileSystem } from './volume';

const skip = missingTools('mke2fs', 'e2fsck', 'dumpe2fs', 'debugfs', 'truncate');
const tmp = tempDir('ext2-volume-');
afterAll(() => tmp.cleanup());
let counter = 0;

const KiB = 1024;
const MiB = 1024 * KiB;

function sparseImage(sizeBytes: number): string {
  const image = join(tmp.dir, `img-${++counter}.img`);
  runToolOk('truncate', ['-s', String(sizeBytes), image]);
  return image;
}

function freshDir(): string {
  const dir = join(tmp.dir, `dir-${++counter}`);
  mkdirSync(dir);
  return dir;
}

async function formattedImage(sizeBytes: number, options: Ext2FormatOptions = {}): Promise<string> {
  const image = sparseImage(sizeBytes);
  const device = await FileBlockDevice.open(image, { writable: true });
  try {
    await formatExt2(device, options);
  } finally {
    await device.close();
  }
  return image;
}

function mke2fsImage(sizeBytes: number, args: string[] = [], dir?: string): string {
  const image = sparseImage(sizeBytes);
  runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', ...args, ...(dir ? ['-d', dir] : []), image]);
  return image;
}

/** The kinds of image every write test runs on. */
const IMAGE_KINDS = [
  ['our formatter, 1 KiB blocks', (size: number) => formattedImage(size, { blockBytes: 1024 })],
  ['our formatter, 4 KiB blocks, 256-byte inodes', (size: number) => formattedImage(size, { blockBytes: 4096, inodeBytes: 256 })],
  ['mke2fs -t ext2 (dir_index, ext_attr, resize_inode)', async (size: number) => mke2fsImage(size)],
  ['mke2fs -t ext2 -b 4096', async (size: number) => mke2fsImage(size, ['-b', '4096'])],
  ['mke2fs -r 0 (revision 0, no filetype)', async (size: number) => mke2fsImage(size, ['-r', '0'])],
] as const;

/** Opens the image (or a window of it), runs `work` on the ext2 in it, and closes both. */
async function withExt2<T>(
  image: string,
  work: (fs: Ext2FileSystem, device: BlockDevice) => Promise<T>,
  window?: { start: number; size: number },
): Promise<T> {
  const file = await FileBlockDevice.open(image, { writable: true });
  try {
    const device = window ? new SubBlockDevice(file, window.start, window.size) : file;
    const fs = await openExt2(device);
    try {
      return await work(fs, device);
    } finally {
      await fs.close();
    }
  } finally {
    await file.close();
  }
}

function expectE2fsckClean(image: string): void {
  const run = runTool('e2fsck', ['-fn', image]);
  expect(e2fsckProblems(run.stdout), run.stdout).toEqual([]);
  expect(run.status, run.stdout + run.stderr).toBe(0);
}

const dumpe2fs = (image: string) => parseDumpe2fs(runToolOk('dumpe2fs', ['-h', image]).stdout);
const debugfs = (image: string, request: string) => runToolOk('debugfs', ['-R', request, image]).stdout;
const hashOf = (image: string) => createHash('sha256').update(readFileSync(image)).digest('hex');

/** The whole tree as e2fsprogs reads it, copied out with `debugfs -R 'rdump / DIR'`. */
function rdump(image: string): string {
  const dir = freshDir();
  runToolOk('debugfs', ['-R', `rdump / ${dir}`, image]);
  return dir;
}

/** One file as e2fsprogs reads it (`debugfs -R 'dump PATH OUT'`). */
function dump(image: string, path: string): Buffer {
  const out = join(tmp.dir, `dump-${++counter}`);
  runToolOk('debugfs', ['-R', `dump "${path}" ${out}`, image]);
  return readFileSync(out);
}

/** debugfs stat's time line for `field` (mtime, ctime …) as [seconds, extra] in hex ("0x5f5e1000:1d4c0000"). */
function statTime(stat: string, field: string): { seconds: number; extra: number | null; text: string } {
  const match = new RegExp(`\\b${field}: 0x([0-9a-f]+)(?::([0-9a-f]+))? -- (.*)`).exec(stat);
  expect(match, stat).not.toBeNull();
  return { seconds: parseInt(match![1]!, 16), extra: match![2] === undefined ? null : parseInt(match![2], 16), text: match![3]! };
}

describe.skipIf(skip)('openExt2: our writes as e2fsprogs reads them', () => {
  it.each(IMAGE_KINDS)('%s: files, folders, symlinks, modes and times, byte-exact and e2fsck-clean', async (_, makeImage) => {
    const image = await makeImage(16 * MiB);
    const blockBytes = Number(dumpe2fs(image)['Block size']);
    const bigBytes = blockBytes === 1024 ? 300 * KiB + 123 : 4 * MiB + 100 * KiB; // into the double indirect block
    const files: Record<string, Uint8Array> = {
      '/boot/grub/grub.cfg': new TextEncoder().encode('set timeout=0\nmenuentry "os" { multiboot /boot/kernel.bin }\n'),
      '/boot/kernel.bin': pattern(bigBytes, 1),
      '/thirteen blocks.bin': pattern(13 * blockBytes, 2), // just past the direct blocks
      '/empty': new Uint8Array(0),
      '/dossier créé/日本語 ファイル.txt': pattern(5000, 3),
    };
    const mtime = Date.UTC(2020, 8, 13, 12, 26, 40, 123);
    await withExt2(image, async (fs) => {
      await fs.mkdir('/boot/grub', { parents: true });
      await fs.mkdir('/dossier créé', { mode: 0o750 });
      for (const [path, data] of Object.entries(files)) await fs.writeFile(path, data);
      await fs.writeFile('/boot/grub/grub.cfg', files['/boot/grub/grub.cfg']!, { mode: 0o600, modifiedMs: mtime });
      await fs.symlink('boot/kernel.bin', '/kernel');
      await fs.symlink(`/${'long/'.repeat(20)}target`, '/slow link');
      await fs.symlink('/', '/root link'); // a target ending in "/" is kept as it is
      await fs.chmod('/thirteen blocks.bin', 0o4755);
    });
    expectE2fsckClean(image);

    const out = rdump(image);
    for (const [path, data] of Object.entries(files)) expect(sameBytes(readFileSync(join(out, path)), data), path).toBe(true);
    for (const [path, data] of Object.entries(files)) expect(sameBytes(dump(image, path), data), path).toBe(true);
    expect(readlinkSync(join(out, 'kernel'))).toBe('boot/kernel.bin');
    expect(readlinkSync(join(out, 'slow link'))).toBe(`/${'long/'.repeat(20)}target`);
    expect(readlinkSync(join(out, 'root link'))).toBe('/');
    expect(lstatSync(join(out, 'boot/grub/grub.cfg')).mode & 0o7777).toBe(0o600);
    expect(lstatSync(join(out, 'empty')).mode & 0o7777).toBe(0o644);
    expect(lstatSync(join(out, 'dossier créé')).mode & 0o7777).toBe(0o750);
    expect(lstatSync(join(out, 'boot')).mode & 0o7777).toBe(0o755);
    expect(debugfs(image, 'stat "/thirteen blocks.bin"')).toMatch(/Type: regular\s+Mode:\s+04755/);

    // The time we gave, to the second (and to the nanosecond in 256-byte inodes).
    const stat = debugfs(image, 'stat /boot/grub/grub.cfg');
    expect(stat).toMatch(/Type: regular\s+Mode:\s+0600/);
    const time = statTime(stat, 'mtime');
    expect(time.seconds).toBe(Math.floor(mtime / 1000));
    if (time.extra !== null) expect(time.extra).toBe(123_000_000 * 4);
    expect(time.text).toContain('2020');

    // i_blocks counts data and indirect blocks, as blocksWithIndirect predicts.
    for (const path of ['/boot/kernel.bin', '/thirteen blocks.bin']) {
      const expected = (blocksWithIndirect(Math.ceil(files[path]!.length / blockBytes), blockBytes) * blockBytes) / 512;
      expect(debugfs(image, `stat "${path}"`), path).toContain(`Blockcount: ${expected}`);
    }
    const listing = debugfs(image, 'ls -l /boot');
    expect(listing).toMatch(/40755 .*grub/);
    expect(listing).toMatch(/100644 .* kernel\.bin/);
    expect(debugfs(image, 'stat /kernel')).toContain('Fast link dest: "boot/kernel.bin"');
    expect(debugfs(image, 'stat "/slow link"')).toMatch(/Blockcount: \d+/);
    // GRUB's own ext2 driver reads the kernel byte for byte, through the symlink too.
    if (hasTool('grub-fstest')) {
      runToolOk('grub-fstest', [image, 'cmp', '/boot/kernel.bin', join(out, 'boot/kernel.bin')]);
      runToolOk('grub-fstest', [image, 'cmp', '/kernel', join(out, 'boot/kernel.bin')]);
    }

    // Then remove, replace and move things, and check again.
    await withExt2(image, async (fs) => {
      expect((await fs.stat('/boot/grub/grub.cfg')).modifiedMs).toBe(time.extra !== null ? mtime : Math.floor(mtime / 1000) * 1000);
      await fs.writeFile('/boot/kernel.bin', pattern(20 * KiB, 4)); // shrinks out of the indirect blocks
      await fs.rename('/boot/grub', '/dossier créé/grub'); // a folder to another parent: ".." and link counts
      await fs.rename('/thirteen blocks.bin', '/boot/13.bin');
      await fs.remove('/slow link');
      await fs.remove('/empty');
    });
    expectE2fsckClean(image);
    expect(sameBytes(dump(image, '/boot/kernel.bin'), pattern(20 * KiB, 4))).toBe(true);
    expect(sameBytes(dump(image, '/dossier créé/grub/grub.cfg'), files['/boot/grub/grub.cfg']!)).toBe(true);
    expect(sameBytes(dump(image, '/boot/13.bin'), files['/thirteen blocks.bin']!)).toBe(true);
    expect(debugfs(image, 'stat "/dossier créé"')).toMatch(/Links: 3/);
    expect(debugfs(image, 'stat /boot')).toMatch(/Links: 2/);
  });

  it('times: milliseconds, after 2038 and before 1970 in 256-byte inodes; seconds, clamped, in 128-byte ones', async () => {
    const times = { '/ms': Date.UTC(2024, 0, 2, 3, 4, 5, 678), '/y2100': Date.UTC(2100, 0, 1), '/y1938': Date.UTC(1938, 5, 1) };
    for (const inodeBytes of [128, 256] as const) {
      const image = await formattedImage(4 * MiB, { inodeBytes });
      const stats = await withExt2(image, async (fs) => {
        for (const [path, ms] of Object.entries(times)) await fs.writeFile(path, new Uint8Array(1), { modifiedMs: ms });
        return Promise.all(Object.keys(times).map((path) => fs.stat(path)));
      });
      expectE2fsckClean(image);
      if (inodeBytes === 256) {
        expect(stats.map((s) => s.modifiedMs)).toEqual(Object.values(times));
        expect(statTime(debugfs(image, 'stat /y2100'), 'mtime').text).toContain('2100');
        expect(statTime(debugfs(image, 'stat /y1938'), 'mtime').text).toContain('1938');
      } else {
        expect(stats[0]!.modifiedMs).toBe(Math.floor(times['/ms'] / 1000) * 1000);
        expect(stats[1]!.modifiedMs).toBe((2 ** 31 - 1) * 1000); // the last second a 32-bit time holds
        expect(stats[2]!.modifiedMs).toBe(times['/y1938']);
      }
    }
  });

  it('usage() matches dumpe2fs after close, and flush() leaves a clean image while still open', async () => {
    const image = await formattedImage(8 * MiB, { label: 'tracked' });
    const usage = await withExt2(image, async (fs) => {
      await fs.mkdir('/a/b/c', { parents: true });
      await fs.writeFile('/a/b/c/big', pattern(280 * KiB, 4));
      await fs.writeFile('/a/small', pattern(10, 5));
      await fs.writeFile('/a/small', pattern(40 * KiB, 6)); // replaced
      await fs.symlink('x'.repeat(300), '/a/b/slow');
      await fs.flush();
      expectE2fsckClean(image);
      await fs.remove('/a/b', { recursive: true });
      await fs.rename('/a/small', '/moved');
      return fs.usage();
    });
    expectE2fsckClean(image);
    const fields = dumpe2fs(image);
    expect(usage.freeBytes).toBe(Number(fields['Free blocks']) * 1024);
    expect(usage.usedBytes + usage.freeBytes).toBe(8 * MiB);
    expect(usage).toMatchObject({ type: 'ext2', label: 'tracked', id: fields['Filesystem UUID'], blockBytes: 1024 });
  });

  it('fills the volume to its last block, then refuses one more byte without changing the image', async () => {
    const image = await formattedImage(256 * KiB);
    const fill = await withExt2(image, async (fs) => {
      const freeBlocks = (await fs.usage()).freeBytes / 1024;
      // The largest file whose blocks (with indirect ones) fit exactly.
      let dataBlocks = freeBlocks;
      while (blocksWithIndirect(dataBlocks, 1024) > freeBlocks) dataBlocks--;
      const data = pattern(dataBlocks * 1024 - 100, 7);
      await fs.writeFile('/fill', data);
      expect(sameBytes(await fs.readFile('/fill'), data)).toBe(true);
      return { data, free: (await fs.usage()).freeBytes };
    });
    expectE2fsckClean(image);
    expect(Number(dumpe2fs(image)['Free blocks']) * 1024).toBe(fill.free);
    const before = hashOf(image);
    const error = await withExt2(image, async (fs) => {
      if (fill.free === 0) return failure(fs.writeFile('/one more', new Uint8Array(1)));
      return failure(fs.writeFile('/one more', new Uint8Array(fill.free + 1)));
    });
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/^\/one more: a file of \d+ bytes needs \d+ blocks of 1024 bytes .* but only \d+ bytes are free/);
    expect(hashOf(image)).toBe(before);
    expect(sameBytes(dump(image, '/fill'), fill.data)).toBe(true);
  });

  it('a file into the triple indirect block (1 KiB blocks: past 64 MiB + 268 KiB), then shrunk and removed', async () => {
    const image = await formattedImage(80 * MiB, { blockBytes: 1024 });
    const size = 64 * MiB + 300 * KiB + 5;
    const data = pattern(size, 8);
    await withExt2(image, async (fs, device) => {
      await fs.writeFile('/huge.bin', data);
      const extents = await fs.extents('/huge.bin');
      expect(extents.reduce((sum, e) => sum + e.lengthBytes, 0)).toBe(size);
      // The data is where the extents say (it goes to the device at once; the map on flush).
      const back = new Uint8Array(size);
      for (const e of extents) back.set(await device.read(e.deviceOffsetBytes, e.lengthBytes), e.fileOffsetBytes);
      expect(sameBytes(back, data)).toBe(true);
      await fs.flush();
      expect(await ext2FileExtents(device, '/huge.bin')).toEqual(extents);
    });
    expectE2fsckClean(image);
    expect(debugfs(image, 'stat /huge.bin')).toContain(`Blockcount: ${(blocksWithIndirect(Math.ceil(size / 1024), 1024) * 1024) / 512}`);
    expect(debugfs(image, 'stat /huge.bin')).toContain('(TIND)');
    expect(sameBytes(dump(image, '/huge.bin'), data)).toBe(true);
    const freeBefore = Number(dumpe2fs(image)['Free blocks']);
    await withExt2(image, async (fs) => {
      await fs.writeFile('/huge.bin', data.subarray(0, 1000));
      await fs.flush();
      expectE2fsckClean(image);
      await fs.remove('/huge.bin');
    });
    expectE2fsckClean(image);
    expect(Number(dumpe2fs(image)['Free blocks'])).toBe(freeBefore + blocksWithIndirect(Math.ceil(size / 1024), 1024));
  });

  it('a file over 2 GiB: i_size_high and the large_file feature (on a sparse in-memory device)', async () => {
    /** Keeps only the 64 KiB pages that hold something other than zeros. */
    class SparseDevice implements BlockDevice {
      readonly pages = new Map<number, Uint8Array>();
      private readonly zeros = Buffer.alloc(64 * KiB);
      constructor(readonly sizeBytes: number) {}
      async read(offset: number, length: number): Promise<Uint8Array> {
        const out = new Uint8Array(length);
        for (let at = offset; at < offset + length;) {
          const page = Math.floor(at / (64 * KiB));
          const within = at % (64 * KiB);
          const n = Math.min(64 * KiB - within, offset + length - at);
          const bytes = this.pages.get(page);
          if (bytes) out.set(bytes.subarray(within, within + n), at - offset);
          at += n;
        }
        return out;
      }
      async write(offset: number, data: Uint8Array): Promise<void> {
        for (let at = offset; at < offset + data.length;) {
          const page = Math.floor(at / (64 * KiB));
          const within = at % (64 * KiB);
          const n = Math.min(64 * KiB - within, offset + data.length - at);
          const piece = data.subarray(at - offset, at - offset + n);
          let bytes = this.pages.get(page);
          if (!bytes && !Buffer.from(piece.buffer, piece.byteOffset, piece.length).equals(this.zeros.subarray(0, n))) {
            bytes = new Uint8Array(64 * KiB);
            this.pages.set(page, bytes);
          }
          bytes?.set(piece, within);
          at += n;
        }
      }
      async flush(): Promise<void> {}
    }
    const device = new SparseDevice(2560 * MiB);
    await formatExt2(device, { blockBytes: 4096 });
    const size = 2 * 1024 * MiB + 4096 * 3 + 10;
    const data = new Uint8Array(size); // zeros, never touched: no memory until written to
    data.set(pattern(10, 8), size - 10);
    const fs = await openExt2(device);
    await fs.writeFile('/big.bin', data);
    expect((await fs.stat('/big.bin')).sizeBytes).toBe(size);
    await fs.close();
    const image = sparseImage(device.sizeBytes);
    const file = await FileBlockDevice.open(image, { writable: true });
    try {
      for (const [page, bytes] of device.pages) await file.write(page * 64 * KiB, bytes);
    } finally {
      await file.close();
    }
    expectE2fsckClean(image);
    expect(dumpe2fs(image)['Filesystem features']).toContain('large_file');
    expect(debugfs(image, 'stat /big.bin')).toContain(`Size: ${size}`);
  });

  it('a large file is one extent on a fresh volume; a folder grows past its direct blocks', async () => {
    const image = await formattedImage(32 * MiB, { blockBytes: 4096 });
    const names = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(3, '0')} ${'n'.repeat(190)}`);
    await withExt2(image, async (fs) => {
      await fs.writeFile('/kernel.elf', pattern(10 * MiB, 9));
      expect(await fs.extents('/kernel.elf')).toHaveLength(1);
      await fs.mkdir('/many');
      for (const name of names) await fs.writeFile(`/many/${name}`, pattern(10, names.indexOf(name)));
    });
    expectE2fsckClean(image);
    const small = await formattedImage(4 * MiB, { blockBytes: 1024 });
    await withExt2(small, async (fs) => {
      await fs.mkdir('/many');
      for (const name of names) await fs.writeFile(`/many/${name}`, pattern(10, names.indexOf(name)));
      await fs.flush();
      // 100 entries of 200 bytes in 1 KiB blocks: past the 12 direct blocks of the folder.
      expect(Number(/Size: (\d+)/.exec(debugfs(small, 'stat /many'))![1])).toBeGreaterThan(12 * 1024);
      expectE2fsckClean(small);
      expect((await fs.list('/many')).map((e) => e.name).sort()).toEqual([...names].sort());
      for (const name of names.slice(0, 60)) await fs.remove(`/many/${name}`);
    });
    expectE2fsckClean(small);
    const listed = readdirSync(join(rdump(small), 'many')).sort();
    expect(listed).toEqual(names.slice(60).sort());
  });

  it('symlinks in paths are followed (relative, absolute, chains); loops end as not found', async () => {
    const image = await formattedImage(4 * MiB);
    await withExt2(image, async (fs) => {
      await fs.mkdir('/boot/grub', { parents: true });
      await fs.writeFile('/boot/grub/grub.cfg', pattern(100, 10));
      await fs.symlink('boot', '/b');
      await fs.symlink('/b/grub', '/g');
      await fs.symlink('../g/grub.cfg', '/boot/cfg');
      await fs.symlink('loop2', '/loop1');
      await fs.symlink('loop1', '/loop2');
      expect(sameBytes(await fs.readFile('/b/grub/grub.cfg'), pattern(100, 10))).toBe(true);
      expect(sameBytes(await fs.readFile('/boot/cfg'), pattern(100, 10))).toBe(true);
      expect((await fs.list('/g')).map((e) => e.name)).toEqual(['grub.cfg']);
      expect(await fs.stat('/boot/cfg')).toMatchObject({ type: 'symlink', target: '../g/grub.cfg' });
      await fs.writeFile('/g/new', pattern(10, 11));
      await fs.chmod('/boot/cfg', 0o600); // the target's mode
      expect((await fs.stat('/boot/grub/grub.cfg')).mode).toBe(0o600);
      expect((await failure(fs.readFile('/loop1'))).code).toBe('NOT_FOUND');
      // A folder moved into itself through a symlink is refused too.
      expect((await failure(fs.rename('/boot', '/g/inside'))).message).toContain('into itself');
    });
    expectE2fsckClean(image);
    expect(sameBytes(dump(image, '/boot/grub/new'), pattern(10, 11))).toBe(true);
  });

  it('reuses blocks freed since the last flush only after writing the metadata out: the disk always holds the last flushed state', async () => {
    const image = await formattedImage(2 * MiB, { blockBytes: 1024 });
    const a = pattern(1200 * KiB, 12);
    const b = pattern(1200 * KiB, 13);
    await withExt2(image, async (fs) => {
      await fs.writeFile('/a', a);
      await fs.flush();
      const aExtents = await fs.extents('/a');
      await fs.remove('/a');
      await fs.writeFile('/small', pattern(100 * KiB, 14));
      // Not flushed: a copy of the image now is the flushed state, clean, with /a intact.
      const copy = join(tmp.dir, `copy-${++counter}.img`);
      copyFileSync(image, copy);
      expectE2fsckClean(copy);
      expect(sameBytes(dump(copy, '/a'), a)).toBe(true);
      const overlap = (await fs.extents('/small')).some((s) =>
        aExtents.some(
          (e) => s.deviceOffsetBytes < e.deviceOffsetBytes + e.lengthBytes && e.deviceOffsetBytes < s.deviceOffsetBytes + s.lengthBytes,
        ),
      );
      expect(overlap).toBe(false);
      // /b needs /a's blocks: the metadata is written out first (so /a is gone on disk), then they are reused.
      await fs.writeFile('/b', b);
      copyFileSync(image, copy);
      expectE2fsckClean(copy);
      expect(debugfs(copy, 'ls /')).not.toMatch(/\ba\b/);
      expect(debugfs(copy, 'ls /')).toMatch(/\bsmall\b/);
    });
    expectE2fsckClean(image);
    expect(sameBytes(dump(image, '/b'), b)).toBe(true);
  });
  it('does not take blocks freed since the last flush while other free blocks will do', async () => {
    const image = await formattedImage(4 * MiB, { blockBytes: 1024 });
    const x = pattern(1000 * KiB, 15);
    const y = pattern(500 * KiB, 18);
    await withExt2(image, async (fs) => {
      // [x][h][fill][300 free], then h removed and flushed: 300 free blocks after x, 300 at the end.
      await fs.writeFile('/x', x);
      await fs.writeFile('/h', pattern(300 * KiB, 16));
      const free = (await fs.usage()).freeBytes / 1024 - 300;
      let fillBlocks = free;
      while (blocksWithIndirect(fillBlocks, 1024) > free) fillBlocks--;
      await fs.writeFile('/fill', pattern(fillBlocks * 1024, 17));
      await fs.flush();
      await fs.remove('/h');
      await fs.flush();
      // x's blocks are free now, in one run, but on disk x still owns them: y goes in two pieces elsewhere.
      await fs.remove('/x');
      await fs.writeFile('/y', y);
      expect((await fs.extents('/y')).length).toBeGreaterThan(1);
      const copy = join(tmp.dir, `copy-${++counter}.img`);
      copyFileSync(image, copy);
      expectE2fsckClean(copy);
      expect(sameBytes(dump(copy, '/x'), x)).toBe(true);
    });
    expectE2fsckClean(image);
    expect(sameBytes(dump(image, '/y'), y)).toBe(true);
  });
});

describe.skipIf(skip)('openExt2 reads and edits what mke2fs -d and debugfs write', () => {
  function hostTree(): string {
    const dir = freshDir();
    mkdirSync(join(dir, 'boot/grub'), { recursive: true });
    writeFileSync(join(dir, 'boot/grub/menu.lst'), 'title os\nkernel /boot/kernel\n');
    writeFileSync(join(dir, 'boot/kernel'), pattern(700 * KiB, 8));
    writeFileSync(join(dir, 'empty file'), '');
    writeFileSync(join(dir, 'ünïcødé.txt'), 'ü\n', { mode: 0o600 });
    symlinkSync('boot/kernel', join(dir, 'vmlinuz'));
    symlinkSync(`/${'x'.repeat(100)}`, join(dir, 'slow'));
    return dir;
  }

  async function expectSameTree(fs: Ext2FileSystem, dir: string, path = '/'): Promise<void> {
    const entries = await fs.list(path);
    const names = entries.map((e) => e.name).filter((n) => !(path === '/' && n === 'lost+found'));
    expect(names.sort()).toEqual(readdirSync(dir).sort());
    for (const entry of entries) {
      if (path === '/' && entry.name === 'lost+found') continue;
      const host = join(dir, entry.name);
      const child = path === '/' ? `/${entry.name}` : `${path}/${entry.name}`;
      const stats = lstatSync(host);
      expect(entry.mode, child).toBe(stats.mode & 0o7777);
      if (stats.isSymbolicLink()) {
        expect(entry).toMatchObject({ type: 'symlink', target: readlinkSync(host) });
      } else if (stats.isDirectory()) {
        expect(entry.type).toBe('directory');
        await expectSameTree(fs, host, child);
      } else {
        expect(entry).toMatchObject({ type: 'file', sizeBytes: stats.size });
        expect(entry.modifiedMs, child).toBe(Math.floor(stats.mtimeMs / 1000) * 1000);
        expect(sameBytes(await fs.readFile(child), readFileSync(host)), child).toBe(true);
      }
    }
  }

  it('a whole image (mke2fs defaults), with a sparse file and hard links; then edited', async () => {
    const dir = hostTree();
    const sparse = join(dir, 'sparse.bin');
    writeFileSync(sparse, pattern(5000, 1));
    writeFileSync(sparse, pattern(3000, 2), { flag: 'r+', encoding: null }); // overwrite the start
    runToolOk('truncate', ['-s', String(3 * MiB), sparse]); // a hole, then data at the end
    writeFileSync(sparse, pattern(100, 3), { flag: 'a' });
    linkSync(join(dir, 'boot/grub/menu.lst'), join(dir, 'hard link'));
    const image = mke2fsImage(16 * MiB, [], dir);
    await withExt2(image, (fs) => expectSameTree(fs, dir));
    // debugfs's own writer: a file it puts in, read back through ours.
    const host = join(freshDir(), 'written by debugfs');
    writeFileSync(host, pattern(300 * KiB + 7, 5));
    runToolOk('debugfs', ['-w', '-R', `write "${host}" /dbg.bin`, image]);
    await withExt2(image, async (fs) => expect(sameBytes(await fs.readFile('/dbg.bin'), pattern(300 * KiB + 7, 5))).toBe(true));
    rmSync(host);
    // Edit it: the hard link keeps the inode alive, the sparse file is replaced.
    await withExt2(image, async (fs) => {
      await fs.remove('/boot/grub/menu.lst');
      expect(new TextDecoder().decode(await fs.readFile('/hard link'))).toBe('title os\nkernel /boot/kernel\n');
      await fs.writeFile('/sparse.bin', pattern(10, 4));
      await fs.remove('/boot', { recursive: true });
      await fs.mkdir('/new/deeper', { parents: true });
      await fs.rename('/slow', '/new/deeper/slow');
    });
    expectE2fsckClean(image);
    expect(debugfs(image, 'stat "/hard link"')).toMatch(/Links: 1/);
    expect(readlinkSync(join(rdump(image), 'new/deeper/slow'))).toBe(`/${'x'.repeat(100)}`);
  });

  it('a sparse file over 4 GiB (i_size_high, large_file): its size and extents, then replaced', async () => {
    const dir = freshDir();
    const big = join(dir, 'big.bin');
    const size = 5 * 1024 * MiB + 100;
    runToolOk('truncate', ['-s', String(size - 100), big]);
    writeFileSync(big, pattern(100, 6), { flag: 'a' });
    const image = mke2fsImage(16 * MiB, ['-b', '4096'], dir);
    await withExt2(image, async (fs, device) => {
      expect(await fs.stat('/big.bin')).toMatchObject({ type: 'file', sizeBytes: size });
      const extents = await fs.extents('/big.bin');
      expect(extents.at(-1)).toMatchObject({
        fileOffsetBytes: size - 100 - ((size - 100) % 4096),
        lengthBytes: ((size - 100) % 4096) + 100,
      });
      const last = extents.at(-1)!;
      const tail = await device.read(last.deviceOffsetBytes, last.lengthBytes);
      expect(sameBytes(tail.subarray(tail.length - 100), pattern(100, 6))).toBe(true);
      await fs.writeFile('/big.bin', pattern(10, 7));
      expect((await fs.stat('/big.bin')).sizeBytes).toBe(10);
    });
    expectE2fsckClean(image);
    expect(sameBytes(dump(image, '/big.bin'), pattern(10, 7))).toBe(true);
  });

  it('a partition at an offset (mke2fs -E offset=…), then written by us without touching the rest', async () => {
    const dir = hostTree();
    const image = sparseImage(16 * MiB);
    const start = 63 * 512;
    const size = 8 * MiB;
    const outside = pattern(start, 9);
    writeFileSync(image, outside, { flag: 'r+' });
    runToolOk('mke2fs', ['-q', '-t', 'ext2', '-E', `offset=${start}`, '-d', dir, image, `${size / KiB}k`]);
    const window = { start, size };
    await withExt2(image, (fs) => expectSameTree(fs, dir), window);
    await withExt2(image, (fs) => fs.writeFile('/boot/added', pattern(50 * KiB, 10)), window);
    const bytes = readFileSync(image);
    expect(sameBytes(bytes.subarray(0, start), outside)).toBe(true);
    expect(bytes.subarray(start + size).every((b) => b === 0)).toBe(true);
    const partition = join(tmp.dir, `part-${++counter}.img`);
    writeFileSync(partition, bytes.subarray(start, start + size));
    expectE2fsckClean(partition);
    expect(sameBytes(readFileSync(join(rdump(partition), 'boot/added')), pattern(50 * KiB, 10))).toBe(true);
  });

  it('an htree-indexed folder (e2fsck -D): read as a linear one, edited, and its index flag cleared', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'big'));
    const names = Array.from({ length: 300 }, (_, i) => `entry number ${i} with a longish name`);
    for (const name of names) writeFileSync(join(dir, 'big', name), name);
    const image = mke2fsImage(16 * MiB, ['-b', '1024'], dir);
    runTool('e2fsck', ['-fyD', image]); // builds the htree index (exit status 1: "fixed")
    expect(debugfs(image, 'stat /big')).toMatch(/Flags: 0x1000/);
    const model = new Set(names);
    await withExt2(image, async (fs) => {
      expect((await fs.list('/big')).map((e) => e.name).sort()).toEqual([...names].sort());
      for (const name of names.slice(0, 100)) {
        await fs.remove(`/big/${name}`);
        model.delete(name);
      }
      for (let i = 0; i < 150; i++) {
        await fs.writeFile(`/big/added ${i}`, pattern(i, i));
        model.add(`added ${i}`);
      }
      await fs.rename(`/big/${names[150]}`, '/big/renamed');
      model.delete(names[150]!);
      model.add('renamed');
    });
    expectE2fsckClean(image);
    expect(debugfs(image, 'stat /big')).toMatch(/Flags: 0x0\b/);
    expect(readdirSync(join(rdump(image), 'big')).sort()).toEqual([...model].sort());
  });

  it('extended attribute blocks are kept, and freed with their inode', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'with-xattr'), 'data');
    writeFileSync(join(dir, 'other'), 'more');
    const image = mke2fsImage(8 * MiB, [], dir);
    runToolOk('debugfs', ['-w', '-R', `ea_set /with-xattr user.big ${'v'.repeat(300)}`, image]);
    runToolOk('debugfs', ['-w', '-R', `ea_set /other user.big ${'w'.repeat(300)}`, image]);
    expect(debugfs(image, 'stat /with-xattr')).toMatch(/File ACL: [1-9]/);
    await withExt2(image, async (fs) => {
      await fs.writeFile('/other', pattern(3000, 1)); // replaced: its attributes stay
      await fs.remove('/with-xattr');
    });
    expectE2fsckClean(image);
    expect(debugfs(image, 'ea_get /other user.big')).toContain('w'.repeat(300));
  });

  it('random trees (property)', async () => {
    const name = fc
      .oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), fc.constantFrom('read me.txt', ' lead', 'x'.repeat(255)))
      .filter((n) => !n.includes('/') && !n.includes('\0') && n !== '.' && n !== '..' && n !== 'lost+found' && Buffer.byteLength(n) <= 255);
    const tree = fc.uniqueArray(
      fc.record({
        dirs: fc.array(name, { maxLength: 3 }),
        name,
        kind: fc.constantFrom('file', 'file', 'symlink'),
        size: fc.nat(20_000),
        seed: fc.nat(),
      }),
      { minLength: 3, maxLength: 12, size: 'max', selector: (e) => [...e.dirs, e.name].join('/') },
    );
    await fc.assert(
      fc.asyncProperty(tree, async (entries) => {
        const dir = freshDir();
        for (const entry of entries) {
          const parent = join(dir, ...entry.dirs);
          try {
            mkdirSync(parent, { recursive: true });
            if (entry.kind === 'file') writeFileSync(join(parent, entry.name), pattern(entry.size, entry.seed));
            else symlinkSync(`../${entry.name}`, join(parent, entry.name));
          } catch {
            // A name already taken by a folder or file of another entry: skip this one.
          }
        }
        const image = mke2fsImage(4 * MiB, [], dir);
        await withExt2(image, (fs) => expectSameTree(fs, dir));
      }),
      { numRuns: 8 },
    );
  });
});

describe.skipIf(skip)('openExt2 features: what it refuses, and what it opens read-only', () => {
  it('ext4 (extent, 64bit, flex_bg …) is refused at open, naming the features', async () => {
    const image = sparseImage(16 * MiB);
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext4', image]);
    const device = await FileBlockDevice.open(image, { writable: false });
    try {
      const error = await failure(openExt2(device));
      expect(error.code).toBe('VALIDATION');
      expect(error.message).toMatch(/extent/);
      expect(error.message).toMatch(/64bit/);
    } finally {
      await device.close();
    }
  });

  it('a journal that needs recovery is refused; ext3 with a clean journal is written like ext2', async () => {
    const image = sparseImage(16 * MiB);
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext3', image]);
    await withExt2(image, async (fs) => {
      await fs.mkdir('/boot');
      await fs.writeFile('/boot/kernel', pattern(100 * KiB, 1));
    });
    expectE2fsckClean(image);
    expect(sameBytes(dump(image, '/boot/kernel'), pattern(100 * KiB, 1))).toBe(true);
    runToolOk('debugfs', ['-w', '-R', 'feature needs_recovery', image]);
    const before = hashOf(image);
    const device = await FileBlockDevice.open(image, { writable: true });
    try {
      const error = await failure(openExt2(device));
      expect(error.message).toContain('journal that needs recovery');
    } finally {
      await device.close();
    }
    expect(hashOf(image)).toBe(before);
  });

  it('an unknown read-only feature (uninit_bg) opens read-only: reads work, writes are refused', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'hello.txt'), 'hello');
    const image = mke2fsImage(8 * MiB, ['-O', 'uninit_bg'], dir);
    const before = hashOf(image);
    await withExt2(image, async (fs) => {
      expect(new TextDecoder().decode(await fs.readFile('/hello.txt'))).toBe('hello');
      const error = await failure(fs.writeFile('/new', new Uint8Array(1)));
      expect(error.code).toBe('VALIDATION');
      expect(error.message).toContain('uninit_bg');
      expect((await failure(fs.mkdir('/x'))).message).toContain('can only be read');
    });
    expect(hashOf(image)).toBe(before);
  });
});

describe.skipIf(skip)('openExt2 refusals say why and leave the image byte for byte as it was', () => {
  /** Runs `attempt` on a small populated image; checks the error and that not a byte changed. */
  async function refusedOn(
    attempt: (fs: Ext2FileSystem) => Promise<unknown>,
    makeImage = () => formattedImage(1 * MiB),
  ): Promise<LoopbackError> {
    const image = await makeImage();
    await withExt2(image, async (fs) => {
      await fs.mkdir('/dir/sub', { parents: true });
      await fs.writeFile('/dir/file', pattern(3000, 11));
    });
    const before = hashOf(image);
    const error = await withExt2(image, (fs) => failure(attempt(fs)));
    expect(hashOf(image)).toBe(before);
    expectE2fsckClean(image);
    return error;
  }

  it('a file larger than the free space: names the file, its size and the free bytes', async () => {
    const error = await refusedOn((fs) => fs.writeFile('/dir/huge.bin', new Uint8Array(2 * MiB)));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/^\/dir\/huge\.bin: a file of 2097152 bytes needs \d+ blocks .* but only \d+ bytes are free/);
    expect(error.details).toMatchObject({ path: '/dir/huge.bin' });
    // Replacing a file counts its own blocks as free, but not more.
    const replace = await refusedOn((fs) => fs.writeFile('/dir/file', new Uint8Array(2 * MiB)));
    expect(replace.message).toContain('/dir/file: a file of 2097152 bytes');
  });

  it('no free inodes left', async () => {
    const image = await formattedImage(1 * MiB, { inodeRatio: 65536 });
    const free = Number(dumpe2fs(image)['Free inodes']);
    await withExt2(image, async (fs) => {
      for (let i = 0; i < free; i++) await fs.writeFile(`/f${i}`, new Uint8Array(0));
    });
    const before = hashOf(image);
    const error = await withExt2(image, (fs) => failure(fs.writeFile('/one more', new Uint8Array(0))));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('/one more: no free inodes left');
    expect(hashOf(image)).toBe(before);
    expectE2fsckClean(image);
  });

  it('a missing parent folder', async () => {
    const error = await refusedOn((fs) => fs.writeFile('/nowhere/deeper/file', new Uint8Array(1)));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe('parent folder /nowhere/deeper does not exist');
    expect((await refusedOn((fs) => fs.mkdir('/nowhere/new'))).code).toBe('NOT_FOUND');
    expect((await refusedOn((fs) => fs.symlink('x', '/nowhere/link'))).code).toBe('NOT_FOUND');
    expect((await refusedOn((fs) => fs.rename('/dir/file', '/nowhere/file'))).message).toBe('parent folder /nowhere does not exist');
    expect((await refusedOn((fs) => fs.writeFile('/dir/file/x', new Uint8Array(1)))).message).toBe(
      'parent folder /dir/file is not a folder',
    );
  });

  it('removing a non-empty folder without recursive', async () => {
    const error = await refusedOn((fs) => fs.remove('/dir'));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('/dir is not empty (2 entries)');
  });

  it('names that exist already', async () => {
    expect((await refusedOn((fs) => fs.mkdir('/dir/sub'))).code).toBe('ALREADY_EXISTS');
    expect((await refusedOn((fs) => fs.mkdir('/dir/file/x', { parents: true }))).message).toBe('/dir/file exists and is not a folder');
    expect((await refusedOn((fs) => fs.writeFile('/dir/sub', new Uint8Array(1)))).message).toContain('/dir/sub exists and is a folder');
    expect((await refusedOn((fs) => fs.symlink('x', '/dir/file'))).code).toBe('ALREADY_EXISTS');
    expect((await refusedOn((fs) => fs.rename('/dir/file', '/dir/sub'))).message).toContain('rename does not overwrite');
  });

  it('impossible moves and bad paths, names and values', async () => {
    expect((await refusedOn((fs) => fs.rename('/dir', '/dir/sub/inside'))).message).toContain('into itself');
    expect((await refusedOn((fs) => fs.rename('/dir/none', '/x'))).code).toBe('NOT_FOUND');
    expect((await refusedOn((fs) => fs.remove('/'))).message).toContain('root folder');
    expect((await refusedOn((fs) => fs.remove('/dir/none'))).code).toBe('NOT_FOUND');
    expect((await refusedOn((fs) => fs.writeFile('/dir/../escape', new Uint8Array(1)))).code).toBe('INVALID_INPUT');
    expect((await refusedOn((fs) => fs.writeFile('relative', new Uint8Array(1)))).code).toBe('INVALID_INPUT');
    expect((await refusedOn((fs) => fs.writeFile('/dir/t', new Uint8Array(1), { modifiedMs: Number.NaN }))).code).toBe('INVALID_INPUT');
    expect((await refusedOn((fs) => fs.mkdir(`/${'n'.repeat(256)}`))).message).toContain('at most 255 bytes');
    expect((await refusedOn((fs) => fs.writeFile(`/${'é'.repeat(128)}`, new Uint8Array(1)))).message).toContain('is 256 bytes');
    expect((await refusedOn((fs) => fs.symlink('t'.repeat(1024), '/dir/long'))).message).toContain('at most 1023');
    expect((await refusedOn((fs) => fs.symlink('', '/dir/empty'))).code).toBe('INVALID_INPUT');
    expect((await refusedOn((fs) => fs.chmod('/dir/file', 0o10000))).code).toBe('INVALID_INPUT');
    expect((await refusedOn((fs) => fs.chmod('/dir/none', 0o644))).code).toBe('NOT_FOUND');
    expect((await refusedOn((fs) => fs.readFile('/dir/sub'))).message).toBe('/dir/sub is not a file');
    expect((await refusedOn((fs) => fs.list('/dir/file'))).message).toBe('/dir/file is not a folder');
    expect((await refusedOn((fs) => fs.stat('/dir/none'))).message).toBe('/dir/none: no such file or folder');
    expect((await refusedOn((fs) => fs.extents('/dir/sub'))).message).toContain('is a folder');
  });

  it('refusals on a mke2fs image too', async () => {
    const error = await refusedOn(
      (fs) => fs.writeFile('/dir/huge.bin', new Uint8Array(20 * MiB)),
      async () => mke2fsImage(4 * MiB),
    );
    expect(error.code).toBe('VALIDATION');
  });

  it('a device that fails while writing: LoopbackError IO naming the file, then closed', async () => {
    class FailingDevice extends MemoryBlockDevice {
      failing = false;
      override async write(offsetBytes: number, data: Uint8Array): Promise<void> {
        if (this.failing) throw new Error('disk on fire');
        return super.write(offsetBytes, data);
      }
    }
    const device = new FailingDevice(64 * MiB);
    await formatExt2(device, { blockBytes: 4096 });
    const fs = await openExt2(device);
    await fs.writeFile('/fine', pattern(100, 12));
    device.failing = true;
    const error = await failure(fs.writeFile('/big', new Uint8Array(3 * MiB)));
    expect(error.code).toBe('IO');
    expect(error.message).toMatch(/^writing \/big failed: .*disk on fire/);
    expect((await failure(fs.list('/'))).message).toContain('closed');

    const other = new FailingDevice(1 * MiB);
    await formatExt2(other);
    const fs2 = await openExt2(other);
    await fs2.mkdir('/x');
    other.failing = true;
    const flushError = await failure(fs2.flush());
    expect(flushError.code).toBe('IO');
    expect(flushError.message).toContain('disk on fire');
    // A later flush that works writes everything out.
    other.failing = false;
    await fs2.close();
    const again = await openExt2(other);
    expect((await again.list('/')).map((e) => e.name).sort()).toEqual(['lost+found', 'x']);
  });

  it('a volume without ext2, and a closed filesystem', async () => {
    const blank = new MemoryBlockDevice(1 * MiB);
    const error = await failure(openExt2(blank));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('no valid ext2 superblock');
    expect(blank.bytes.every((b) => b === 0)).toBe(true);

    const device = new MemoryBlockDevice(1 * MiB);
    await formatExt2(device);
    const fs = await openExt2(device);
    await fs.close();
    expect((await failure(fs.list('/'))).message).toContain('closed');
  });

  it('opening, reading and closing writes nothing', async () => {
    const image = mke2fsImage(
      4 * MiB,
      [],
      (() => {
        const dir = freshDir();
        writeFileSync(join(dir, 'a'), 'a');
        return dir;
      })(),
    );
    const before = hashOf(image);
    await withExt2(image, async (fs) => {
      await fs.list('/');
      await fs.readFile('/a');
      await fs.usage();
      await fs.flush();
    });
    expect(hashOf(image)).toBe(before);
  });
});
