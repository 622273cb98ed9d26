import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { hasTool, missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { MemoryBlockDevice, SubBlockDevice, type BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import { formatExt2, type Ext2FormatOptions, type Ext2FormatResult } from './format';
import { detectExt2, readExt2Usage } from './superblock';
import { e2fsckProblems, parseDumpe2fs } from './test-support';

const skip = missingTools('mke2fs', 'e2fsck', 'dumpe2fs', 'debugfs', 'truncate');
const tmp = tempDir('ext2-format-');
afterAll(() => tmp.cleanup());
let counter = 0;

const KiB = 1024;
const MiB = 1024 * KiB;
/** mke2fs options for the same plain ext2 as ours. */
const PLAIN_EXT2 = ['-q', '-t', 'ext2', '-O', '^resize_inode,^dir_index,^ext_attr,^large_file'];

function sparseImage(sizeBytes: number): string {
  const image = join(tmp.dir, `img-${++counter}.img`);
  runToolOk('truncate', ['-s', String(sizeBytes), image]);
  return image;
}

async function withDevice<T>(image: string, work: (device: FileBlockDevice) => Promise<T>): Promise<T> {
  const device = await FileBlockDevice.open(image, { writable: true });
  try {
    return await work(device);
  } finally {
    await device.close();
  }
}

const formatImage = (image: string, options: Ext2FormatOptions = {}) => withDevice(image, (device) => formatExt2(device, options));

function expectE2fsckClean(image: string): void {
  const run = runTool('e2fsck', ['-fn', image]);
  expect(e2fsckProblems(run.stdout), run.stdout).toEqual([]);
  expect(run.status, run.stdout + run.stderr).toBe(0);
}

function dumpe2fs(image: string, extra: string[] = []): Record<string, string> {
  return parseDumpe2fs(runToolOk('dumpe2fs', ['-h', ...extra, image]).stdout);
}

/** `dumpe2fs` (with groups) without what differs between two formats of the same geometry. */
function geometry(image: string): string {
  const volatile =
    /^(Filesystem (UUID|created|flags|volume name)|Directory Hash Seed|Default directory hash|Default mount options|Last .*|Lifetime writes)/;
  return runToolOk('dumpe2fs', [image])
    .stdout.split('\n')
    .filter((line) => !volatile.test(line))
    .join('\n');
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(skip)('formatExt2: what e2fsprogs sees', () => {
  const cases: Array<[string, number, Ext2FormatOptions]> = [
    ['1.44 MiB floppy', 1_474_560, {}],
    ['8 MiB, 1 KiB blocks', 8 * MiB, { blockBytes: 1024 }],
    ['8 MiB, 4 KiB blocks, 256-byte inodes', 8 * MiB, { blockBytes: 4096, inodeBytes: 256 }],
    ['64 MiB', 64 * MiB, {}],
    ['600 MiB sparse, 1 KiB blocks (75 groups)', 600 * MiB, { blockBytes: 1024 }],
    ['600 MiB sparse, 4 KiB blocks', 600 * MiB, {}],
  ];

  it.each(cases)('%s: e2fsck -fn is clean and dumpe2fs shows our fields', async (_, size, options) => {
    const image = sparseImage(size);
    const uuid = Uint8Array.from({ length: 16 }, (__, i) => 0x10 + i);
    const result = await formatImage(image, { ...options, label: 'OSDEV', uuid });
    expectE2fsckClean(image);
    const fields = dumpe2fs(image);
    expect(fields['Filesystem features']).toBe('filetype sparse_super');
    expect(fields['Filesystem revision #']).toBe('1 (dynamic)');
    expect(fields['Filesystem volume name']).toBe('OSDEV');
    expect(fields['Filesystem UUID']).toBe('10111213-1415-1617-1819-1a1b1c1d1e1f');
    expect(fields['Block size']).toBe(String(result.blockBytes));
    expect(fields['Inode size']).toBe(String(options.inodeBytes ?? 128));
    expect(fields['Block count']).toBe(String(result.blocksCount));
    expect(fields['Inode count']).toBe(String(result.inodesCount));
    expect(fields['Free blocks']).toBe(String(result.freeBlocks));
    expect(fields['Free inodes']).toBe(String(result.freeInodes));
    expect(fields['Reserved block count']).toBe(String(result.reservedBlocks));
    expect(fields['Filesystem state']).toBe('clean');
    expect(result.uuid).toBe(fields['Filesystem UUID']);

    // Every backup superblock is a readable copy of the primary.
    for (const block of result.backupSuperblocks) {
      const backup = dumpe2fs(image, ['-o', `superblock=${block}`, '-o', `blocksize=${result.blockBytes}`]);
      expect(backup['Filesystem UUID']).toBe(fields['Filesystem UUID']);
      expect(backup['Block count']).toBe(fields['Block count']);
    }
  });

  it.each(cases)('%s: the same geometry as mke2fs on the same volume', async (_, size, options) => {
    const ours = sparseImage(size);
    const theirs = sparseImage(size);
    await formatImage(ours, options);
    const mke2fsOptions = [...PLAIN_EXT2, '-I', String(options.inodeBytes ?? 128)];
    if (options.blockBytes) mke2fsOptions.push('-b', String(options.blockBytes));
    runToolOk('mke2fs', [...mke2fsOptions, theirs]);
    expect(geometry(ours)).toBe(geometry(theirs));
  });

  it('600 MiB stays sparse: only bitmaps, descriptors, superblocks and directories are written', async () => {
    const image = sparseImage(600 * MiB);
    await formatImage(image, { blockBytes: 1024 });
    // 75 groups × 2 bitmap blocks, 9 superblock + descriptor copies, root and lost+found: < 1 MiB
    // (the 19 MiB of inode tables read as zeros already and stay holes).
    expect(statSync(image).blocks * 512).toBeLessThan(1 * MiB);
  });

  it('formats over random bytes: the inode tables are zeroed for real', async () => {
    const image = sparseImage(1_474_560);
    writeFileSync(image, randomBytes(1_474_560));
    await formatImage(image);
    // e2fsck takes any inode with a link count as in use: stale bytes would fail pass 1 and 5.
    expectE2fsckClean(image);
  });

  it('root and lost+found are as mke2fs makes them', async () => {
    const image = sparseImage(8 * MiB);
    await formatImage(image, { nowMs: Date.UTC(2024, 0, 2, 3, 4, 5) });
    const root = runToolOk('debugfs', ['-R', 'stat /', image]).stdout;
    expect(root).toMatch(/Type: directory\s+Mode:\s+0755/);
    expect(root).toMatch(/Links: 3\s+Blockcount: 2/);
    expect(root).toContain('mtime: 0x65937d25');
    const lostFound = runToolOk('debugfs', ['-R', 'stat /lost+found', image]).stdout;
    expect(lostFound).toMatch(/Mode:\s+0700/);
    expect(lostFound).toMatch(/Size: 12288/);
    expect(runToolOk('debugfs', ['-R', 'ls /', image]).stdout).toMatch(/\.\s+.*\.\.\s+.*lost\+found/s);
    expect(dumpe2fs(image)['Filesystem created']).toBe('Tue Jan  2 03:04:05 2024');
  });

  it('keeps the boot sector (bytes 0–1023) and takes a UTF-8 label of 16 bytes', async () => {
    const image = sparseImage(8 * MiB);
    const bootSector = Uint8Array.from({ length: 1024 }, (_, i) => (i * 31 + 7) & 0xff);
    writeFileSync(image, bootSector, { flag: 'r+' });
    await formatImage(image, { label: 'Über-OS ✓ dsk' }); // 16 bytes in UTF-8
    expect(readFileSync(image).subarray(0, 1024).equals(Buffer.from(bootSector))).toBe(true);
    expect(dumpe2fs(image)['Filesystem volume name']).toBe('Über-OS ✓ dsk');
    expectE2fsckClean(image);
  });

  it('formats a partition of a larger image and touches nothing outside it', async () => {
    const image = sparseImage(16 * MiB);
    const outside = new Uint8Array(16 * MiB);
    for (let i = 0; i < outside.length; i++) outside[i] = (i % 251) + 1;
    writeFileSync(image, outside);
    const start = 1 * MiB;
    const size = 8 * MiB;
    await withDevice(image, (device) => formatExt2(new SubBlockDevice(device, start, size)));
    const after = readFileSync(image);
    expect(after.subarray(0, start).equals(Buffer.from(outside.subarray(0, start)))).toBe(true);
    expect(after.subarray(start + size).equals(Buffer.from(outside.subarray(start + size)))).toBe(true);
    const partition = join(tmp.dir, `part-${++counter}.img`);
    writeFileSync(partition, after.subarray(start, start + size));
    expectE2fsckClean(partition);
  });

  it('readExt2Usage and detectExt2 agree with dumpe2fs, on ours and on mke2fs’s', async () => {
    for (const make of ['ours', 'mke2fs'] as const) {
      const image = sparseImage(64 * MiB);
      if (make === 'ours') await formatImage(image, { label: 'usage' });
      else runToolOk('mke2fs', ['-q', '-t', 'ext2', '-L', 'usage', image]);
      const fields = dumpe2fs(image);
      const blockBytes = Number(fields['Block size']);
      const usage = await withDevice(image, readExt2Usage);
      expect(usage).toEqual({
        type: 'ext2',
        label: 'usage',
        id: fields['Filesystem UUID'],
        sizeBytes: Number(fields['Block count']) * blockBytes,
        usedBytes: (Number(fields['Block count']) - Number(fields['Free blocks'])) * blockBytes,
        freeBytes: Number(fields['Free blocks']) * blockBytes,
        blockBytes,
      });
      expect(detectExt2(readFileSync(image).subarray(1024, 2048))).toBe(true);
    }
    expect(detectExt2(new Uint8Array(1024))).toBe(false);
    const fat = sparseImage(8 * MiB);
    if (hasTool('mkfs.fat')) {
      runToolOk('mkfs.fat', [fat]);
      expect(detectExt2(readFileSync(fat).subarray(1024, 2048))).toBe(false);
    }
  });

  it.skipIf(!hasTool('grub-fstest'))('GRUB’s ext2 driver (grub-fstest ls /) lists the root, both block sizes', async () => {
    for (const blockBytes of [1024, 4096] as const) {
      const image = sparseImage(8 * MiB);
      await formatImage(image, { blockBytes });
      expect(runToolOk('grub-fstest', [image, 'ls', '/']).stdout).toContain('lost+found/');
    }
  });

  it('progress ends at its total, and the same options give the same bytes', async () => {
    const options = { uuid: new Uint8Array(16).fill(7), nowMs: 1_700_000_000_000, label: 'same' };
    const reports: Array<{ phase: string; bytesDone: number; bytesTotal: number }> = [];
    const a = new MemoryBlockDevice(4 * MiB);
    await formatExt2(a, { ...options, onProgress: (p) => reports.push(p) });
    const b = new MemoryBlockDevice(4 * MiB);
    await formatExt2(b, options);
    expect(sha256(a.bytes)).toBe(sha256(b.bytes));
    const last = reports.at(-1)!;
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(reports.every((p, i) => i === 0 || p.bytesDone >= reports[i - 1]!.bytesDone)).toBe(true);
    expect(new Set(reports.map((p) => p.phase)).size).toBeGreaterThanOrEqual(5);
  });
});

/** A device that records whether anything touched it. */
class WatchedDevice implements BlockDevice {
  writes = 0;
  constructor(readonly sizeBytes: number) {}
  async read(): Promise<Uint8Array> {
    throw new Error('no reads expected');
  }
  async write(): Promise<void> {
    this.writes++;
  }
  async flush(): Promise<void> {}
}

describe.skipIf(skip)('formatExt2: refusals leave the device untouched', () => {
  const refused = async (device: BlockDevice, options: Ext2FormatOptions = {}): Promise<LoopbackError> => {
    const error = await formatExt2(device, options).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LoopbackError);
    return error as LoopbackError;
  };

  it.each<[string, number, Ext2FormatOptions, string, RegExp]>([
    ['a 40 KiB volume', 40 * KiB, {}, 'VALIDATION', /40960 bytes .* too small .* at least 61440 bytes/],
    ['a 17-byte label', 8 * MiB, { label: 'seventeen-bytes!!' }, 'INVALID_INPUT', /17 bytes: ext2 allows at most 16 bytes/],
    ['a label with a newline', 8 * MiB, { label: 'a\nb' }, 'INVALID_INPUT', /control characters/],
    ['a 15-byte UUID', 8 * MiB, { uuid: new Uint8Array(15) }, 'INVALID_INPUT', /UUID is 16 bytes, got 15/],
    ['4 KiB blocks on 200 KiB', 200 * KiB, { blockBytes: 4096 }, 'VALIDATION', /use 1024-byte blocks/],
    ['an 8 TiB volume of 1 KiB blocks', 8 * 1024 * 1024 * MiB, { blockBytes: 1024 }, 'VALIDATION', /too large/],
  ])('%s', async (_, size, options, code, message) => {
    const device = new WatchedDevice(size);
    const error = await refused(device, options);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(device.writes).toBe(0);
  });

  it('an existing ext2 survives a refusal byte for byte', async () => {
    const image = sparseImage(8 * MiB);
    runToolOk('mke2fs', ['-q', '-t', 'ext2', image]);
    const before = sha256(readFileSync(image));
    const error = await withDevice(image, (device) => refused(device, { label: 'x'.repeat(20) }));
    expect(error.code).toBe('INVALID_INPUT');
    expect(sha256(readFileSync(image))).toBe(before);
    expectE2fsckClean(image);
  });
});

describe.skipIf(skip)('formatExt2: cancellation', () => {
  it('an already aborted signal: CANCELLED, nothing written', async () => {
    const image = sparseImage(8 * MiB);
    runToolOk('mke2fs', ['-q', '-t', 'ext2', image]);
    const before = sha256(readFileSync(image));
    const controller = new AbortController();
    controller.abort();
    const error = await formatImage(image, { signal: controller.signal }).catch((e: unknown) => e);
    expect((error as LoopbackError).code).toBe('CANCELLED');
    expect(sha256(readFileSync(image))).toBe(before);
  });

  it('aborted while zeroing inode tables: CANCELLED, and no ext2 superblock is left to find', async () => {
    const image = sparseImage(64 * MiB);
    runToolOk('mke2fs', ['-q', '-t', 'ext2', image]);
    const controller = new AbortController();
    let result: Ext2FormatResult | null = null;
    const error = await formatImage(image, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'zeroing inode tables') controller.abort();
      },
    }).then(
      (r) => {
        result = r;
      },
      (e: unknown) => e,
    );
    expect(result).toBeNull();
    expect((error as LoopbackError).code).toBe('CANCELLED');
    expect((error as LoopbackError).message).toContain('format it again');
    expect(detectExt2(readFileSync(image).subarray(1024, 2048))).toBe(false);
    expect(runTool('e2fsck', ['-fn', image]).status).not.toBe(0);
    if (hasTool('blkid')) expect(runTool('blkid', ['-p', image]).stdout).not.toContain('ext2');
  });
});
