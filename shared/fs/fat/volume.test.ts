import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { MemoryBlockDevice, SubBlockDevice, type BlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import { formatFat, openFat, type FatFormatOptions, type FatVolume } from './index';
import {
  describeTree,
  extractWithMtools,
  fsck,
  mtoolsImage,
  mtoolsTree,
  patternBytes,
  readWithOurs,
  UTF8_ENV,
  type Tree,
} from './test-support';

const skip = missingTools('mkfs.fat', 'fsck.fat', 'mdir', 'mcopy', 'mmd', 'sfdisk', 'truncate');
const tmp = tempDir('fat-volume-');
afterAll(() => tmp.cleanup());
let counter = 0;

function sparseImage(size: string | number): string {
  const image = join(tmp.dir, `img-${++counter}.img`);
  runToolOk('truncate', ['-s', String(size), image]);
  return image;
}

async function openImage(image: string): Promise<{ device: FileBlockDevice; volume: FatVolume }> {
  const device = await FileBlockDevice.open(image, { writable: true });
  return { device, volume: await openFat(device) };
}

async function formattedImage(size: string | number, options: FatFormatOptions = {}) {
  const image = sparseImage(size);
  const device = await FileBlockDevice.open(image, { writable: true });
  await formatFat(device, options);
  return { image, device, volume: await openFat(device) };
}

function sha256(image: string): string {
  return createHash('sha256').update(readFileSync(image)).digest('hex');
}

function expectFsckClean(image: string): void {
  const report = fsck(runTool, image);
  expect(report.problems, report.output).toEqual([]);
  expect(report.status, report.output).toBe(0);
}

function extract(image: string, offsetBytes = 0) {
  return extractWithMtools(runTool, fs, join(tmp.dir, `extract-${++counter}`), image, offsetBytes);
}

/** Builds a tree with every kind of name and size, renames and removes some of it. */
async function buildTree(volume: FatVolume, clusterBytes: number): Promise<Tree> {
  const expected: Tree = new Map();
  const write = async (path: string, data: Uint8Array) => {
    await volume.writeFile(path, data);
    expected.set(path, data);
  };
  const mkdir = async (path: string) => {
    await volume.mkdir(path, { parents: true });
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) expected.set(`/${parts.slice(0, i).join('/')}`, null);
  };
  await write('/README.TXT', patternBytes(100, 1));
  await write('/readme.md', patternBytes(200, 2));
  await write('/Grüße ünïcødé.txt', patternBytes(3000, 3));
  await write('/empty.bin', new Uint8Array(0));
  await write('/exactly one cluster', patternBytes(clusterBytes, 4));
  await mkdir('/big');
  await write('/big/multi cluster file.bin', patternBytes(37 * clusterBytes + 123, 5));
  await mkdir('/deep/a/b/c/d/e/f/g/h');
  await write('/deep/a/b/c/d/e/f/g/h/leaf.txt', patternBytes(10, 6));
  await mkdir('/big/many');
  // Enough long names to make the folder grow by several clusters.
  for (let i = 0; i < 60; i++) await write(`/big/many/a rather long file name ${i}.data`, patternBytes(i * 97, 100 + i));
  // Replace a file with a bigger one.
  await write('/readme.md', patternBytes(5 * clusterBytes, 7));
  // Rename within a folder (also a case-only rename), across folders, and move a folder.
  await volume.rename('/README.TXT', '/ReadMe.TXT');
  expected.set('/ReadMe.TXT', expected.get('/README.TXT') ?? null);
  expected.delete('/README.TXT');
  await volume.rename('/big/many/a rather long file name 7.data', '/deep/a/moved here.data');
  expected.set('/deep/a/moved here.data', expected.get('/big/many/a rather long file name 7.data') ?? null);
  expected.delete('/big/many/a rather long file name 7.data');
  await volume.rename('/deep/a/b/c', '/big/c moved');
  for (const [path, data] of [...expected]) {
    if (path.startsWith('/deep/a/b/c')) {
      expected.delete(path);
      expected.set(path.replace('/deep/a/b/c', '/big/c moved'), data);
    }
  }
  // Removes: a file, an empty folder, a tree.
  await volume.remove('/big/many/a rather long file name 5.data');
  expected.delete('/big/many/a rather long file name 5.data');
  await volume.mkdir('/empty folder');
  await volume.mkdir('/to remove/x/y', { parents: true });
  await volume.writeFile('/to remove/x/y/z.bin', patternBytes(4 * clusterBytes, 8));
  await volume.remove('/empty folder');
  await volume.remove('/to remove', { recursive: true });
  await volume.flush();
  return expected;
}

describe.skipIf(skip)('FatVolume writes, fsck.fat and mtools read', () => {
  const volumes: Array<{ title: string; size: string | number; options: FatFormatOptions; type: string }> = [
    { title: 'FAT12 1.44M floppy (512-byte clusters, FAT12 entries across sector boundaries)', size: 1474560, options: {}, type: 'fat12' },
    { title: 'FAT12 8 MiB (2 KiB clusters)', size: '8M', options: {}, type: 'fat12' },
    { title: 'FAT16 64 MiB', size: '64M', options: {}, type: 'fat16' },
    { title: 'FAT32 40 MiB with 512-byte clusters', size: '40M', options: { type: 'fat32' }, type: 'fat32' },
    { title: 'FAT32 600 MiB with 4 KiB clusters', size: '600M', options: {}, type: 'fat32' },
  ];
  for (const v of volumes) {
    it(`${v.title}: a tree with long, Unicode and 8.3 names, renames and removes is fsck-clean and byte-exact in mtools`, async () => {
      const { image, device, volume } = await formattedImage(v.size, { ...v.options, label: 'TREE' });
      expect(volume.type).toBe(v.type);
      const expected = await buildTree(volume, volume.layout.clusterBytes);
      await device.close();
      expectFsckClean(image);
      const listed = mtoolsTree(runTool, image).map((p) => p.replace(/\/$/, ''));
      expect(listed).toEqual([...expected.keys()].sort());
      expect(describeTree(extract(image).tree)).toEqual(describeTree(expected));
      // And our own reader, opened fresh, agrees.
      const reopened = await openImage(image);
      expect(describeTree(await readWithOurs(reopened.volume))).toEqual(describeTree(expected));
      await reopened.device.close();
    });
  }

  it('FAT12: entries that straddle FAT sectors (cluster 341 sits in bytes 511-512) are written right in both FATs', async () => {
    const { image, device, volume } = await formattedImage(1474560);
    // 700 one-sector clusters from cluster 2 on: covers 341 and 682 (bytes 1022-1023 … 1023-1024).
    const data = patternBytes(700 * 512 - 17, 11);
    await volume.writeFile('/first.bin', patternBytes(300 * 512, 12));
    await volume.writeFile('/spans.bin', data);
    await volume.flush();
    await device.close();
    const fat = readFileSync(image).subarray(512, 512 + 9 * 512);
    // Cluster 341 is odd: its 12 bits are the high 12 of the u16 at byte 511 (FAT spec) — it links to 342.
    expect(fat.readUInt16LE(511) >> 4).toBe(342);
    expectFsckClean(image);
    const tree = extract(image).tree;
    expect(describeTree(tree)).toEqual(
      describeTree(
        new Map([
          ['/spans.bin', data],
          ['/first.bin', patternBytes(300 * 512, 12)],
        ]),
      ),
    );
  });

  it('keeps both FATs identical, and mtools reports the same free space as usage()', async () => {
    const { image, device, volume } = await formattedImage('8M');
    await buildTree(volume, volume.layout.clusterBytes);
    const usage = await volume.usage();
    await device.close();
    const bytes = readFileSync(image);
    const { firstFatSector, fatSectors, bytesPerSector } = volume.layout;
    const fat1 = bytes.subarray(firstFatSector * bytesPerSector, (firstFatSector + fatSectors) * bytesPerSector);
    const fat2 = bytes.subarray((firstFatSector + fatSectors) * bytesPerSector, (firstFatSector + 2 * fatSectors) * bytesPerSector);
    expect(Buffer.compare(fat1, fat2)).toBe(0);
    const free = /([\d ]+) bytes free/.exec(runToolOk('mdir', ['-i', image, '::/']).stdout);
    expect(Number(free?.[1]?.replace(/ /g, ''))).toBe(usage.freeBytes);
    expect(usage.usedBytes + usage.freeBytes).toBe(usage.sizeBytes);
    expect(usage).toMatchObject({ type: 'fat12', label: null, blockBytes: 2048 });
  });

  it('records the modification time (2-second resolution, local time) as mtools reads it', async () => {
    const { image, device, volume } = await formattedImage('8M');
    const when = new Date(2021, 2, 4, 5, 6, 7, 500).getTime(); // an odd second: stored as 05:06:06
    await volume.writeFile('/dated.txt', patternBytes(10, 1), { modifiedMs: when });
    const stat = await volume.stat('/dated.txt');
    expect(stat.modifiedMs).toBe(new Date(2021, 2, 4, 5, 6, 6).getTime());
    await volume.flush();
    await device.close();
    expect(runToolOk('mdir', ['-i', image, '::/']).stdout).toMatch(/DATED\s+TXT\s+10 2021-03-04\s+5:06/i);
    expect(extract(image).mtimes.get('/dated.txt')).toBe(new Date(2021, 2, 4, 5, 6, 6).getTime());
    // The raw entry, decoded by hand from the spec's bit layout: creation (with 10 ms units),
    // last access and last write all hold the given moment. The root of this FAT12 starts at
    // sector 1 + 2 × FAT size; the entry is the first one (no label, 8.3 name with case flags).
    const bytes = readFileSync(image);
    const rootOffset = (1 + 2 * bytes.readUInt16LE(22)) * 512;
    const entry = bytes.subarray(rootOffset, rootOffset + 32);
    expect(entry.subarray(0, 11).toString('latin1')).toBe('DATED   TXT');
    const date = ((2021 - 1980) << 9) | (3 << 5) | 4;
    const time = (5 << 11) | (6 << 5) | (6 >> 1);
    expect({
      tenth: entry[13],
      crtTime: entry.readUInt16LE(14),
      crtDate: entry.readUInt16LE(16),
      accDate: entry.readUInt16LE(18),
      wrtTime: entry.readUInt16LE(22),
      wrtDate: entry.readUInt16LE(24),
    }).toEqual({
      tenth: 150, // 1.5 s beyond the even second 05:06:06
      crtTime: time,
      crtDate: date,
      accDate: date,
      wrtTime: time,
      wrtDate: date,
    });
  });

  it('FAT32: the root directory grows past its first cluster (cluster 2 then links on)', async () => {
    const { image, device, volume } = await formattedImage('40M', { type: 'fat32' });
    const names = Array.from({ length: 100 }, (_, i) => `/root file with a long name ${i}.txt`);
    for (const [i, name] of names.entries()) await volume.writeFile(name, patternBytes(i, i));
    await volume.flush();
    await device.close();
    const bytes = readFileSync(image);
    const fatOffset = 32 * 512;
    expect(bytes.readUInt32LE(fatOffset + 2 * 4) & 0x0fffffff).toBeLessThan(0x0ffffff8); // cluster 2 is not the end of the chain
    expectFsckClean(image);
    expect(mtoolsTree(runTool, image)).toEqual(names.slice().sort());
  });

  it('until flush() the disk keeps the last flushed volume (consistent); flush() writes FATs, folders and FSInfo', async () => {
    const { image, device, volume } = await formattedImage('40M', { type: 'fat32' });
    await volume.mkdir('/dir');
    await volume.writeFile('/dir/a.bin', patternBytes(100000, 1));
    await volume.flush();
    // Replace, remove and add without flushing: the disk must still show the flushed state.
    await volume.writeFile('/dir/a.bin', patternBytes(200000, 2));
    await volume.writeFile('/new.bin', patternBytes(300000, 3));
    await volume.remove('/dir', { recursive: true });
    expectFsckClean(image);
    expect(describeTree(extract(image).tree)).toEqual(
      describeTree(
        new Map([
          ['/dir', null],
          ['/dir/a.bin', patternBytes(100000, 1)],
        ]),
      ),
    );
    await volume.flush();
    expectFsckClean(image);
    expect(describeTree(extract(image).tree)).toEqual(describeTree(new Map([['/new.bin', patternBytes(300000, 3)]])));
    const usage = await volume.usage();
    await device.close();
    expect(readFileSync(image).readUInt32LE(512 + 488)).toBe(usage.freeBytes / 512); // FSI_Free_Count
  });

  it('reuses freed clusters only after writing the FAT out, doing so itself when the space is needed', async () => {
    const { image, device, volume } = await formattedImage(1474560);
    const big = 1200 * 1024; // most of the floppy: a second copy only fits once the first is freed
    await volume.writeFile('/one.bin', patternBytes(big, 1));
    await volume.flush();
    await volume.remove('/one.bin');
    await volume.writeFile('/two.bin', patternBytes(big, 2));
    // That write needed one.bin's clusters: the removal was written out first (no flush()), so the
    // disk now shows an empty volume — two.bin is not written out yet.
    expectFsckClean(image);
    expect(mtoolsTree(runTool, image)).toEqual([]);
    // A replacement needs room for the old and the new copy at once: refused, nothing changes.
    await expect(volume.writeFile('/two.bin', patternBytes(big, 3))).rejects.toMatchObject({ code: 'VALIDATION' });
    await volume.flush();
    await device.close();
    expectFsckClean(image);
    expect(describeTree(extract(image).tree)).toEqual(describeTree(new Map([['/two.bin', patternBytes(big, 2)]])));
  });
});

/** A host folder with long, Unicode and 8.3 names, empty files and a multi-cluster file. */
function hostTree(): { dir: string; tree: Tree } {
  const dir = join(tmp.dir, `host-${++counter}`);
  const files: Record<string, Uint8Array> = {
    'KERNEL.BIN': patternBytes(70000, 1),
    'boot/grub/grub.cfg': new TextEncoder().encode('set timeout=0\nmenuentry "os" { multiboot /kernel.bin }\n'),
    'boot/grub/i386-pc/normal.mod': patternBytes(30000, 2),
    'docs/A long file name with spaces.txt': patternBytes(5000, 3),
    'docs/Grüße ünïcødé.txt': patternBytes(1234, 4),
    'docs/empty': new Uint8Array(0),
    'docs/deeper/still/deeper.txt': patternBytes(77, 5),
  };
  const tree: Tree = new Map();
  for (const [path, data] of Object.entries(files)) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) tree.set(`/${parts.slice(0, i).join('/')}`, null);
    mkdirSync(join(dir, ...parts.slice(0, -1)), { recursive: true });
    writeFileSync(join(dir, path), data);
    utimesSync(join(dir, path), new Date(2020, 0, 2, 3, 4, 6), new Date(2020, 0, 2, 3, 4, 6));
    tree.set(`/${path}`, data);
  }
  mkdirSync(join(dir, 'empty dir'));
  tree.set('/empty dir', null);
  return { dir, tree };
}

/** Copies a host folder's contents into the volume root with mcopy -s. */
function mcopyTree(image: string, dir: string, offsetBytes = 0): void {
  const target = mtoolsImage(image, offsetBytes);
  const entries = readdirSync(dir).map((name) => join(dir, name));
  runToolOk('mcopy', ['-s', '-m', '-i', target, ...entries, '::/'], { env: UTF8_ENV });
}

describe.skipIf(skip)('FatVolume reads volumes made by mkfs.fat and filled by mtools', () => {
  for (const fatBits of ['12', '16', '32']) {
    it(`mkfs.fat -F ${fatBits} + mcopy -s: our reader sees the same tree, names and bytes; our changes stay fsck-clean`, async () => {
      const image = sparseImage(fatBits === '12' ? '8M' : '64M');
      runToolOk('mkfs.fat', ['-F', fatBits, '-n', 'MKFS', image]);
      const { dir, tree } = hostTree();
      mcopyTree(image, dir);
      runToolOk('mmd', ['-i', image, '::/made by mmd']);
      tree.set('/made by mmd', null);
      const { device, volume } = await openImage(image);
      expect(volume.type).toBe(`fat${fatBits}`);
      expect(describeTree(await readWithOurs(volume))).toEqual(describeTree(tree));
      expect((await volume.stat('/KERNEL.BIN')).modifiedMs).toBe(new Date(2020, 0, 2, 3, 4, 6).getTime());
      expect((await volume.usage()).label).toBe('MKFS');
      // Now change it with ours and let the tools judge.
      await volume.writeFile('/boot/grub/grub.cfg', patternBytes(9000, 9));
      tree.set('/boot/grub/grub.cfg', patternBytes(9000, 9));
      await volume.rename('/docs/Grüße ünïcødé.txt', '/made by mmd/Grüße.txt');
      tree.set('/made by mmd/Grüße.txt', tree.get('/docs/Grüße ünïcødé.txt') ?? null);
      tree.delete('/docs/Grüße ünïcødé.txt');
      await volume.remove('/docs/deeper', { recursive: true });
      tree.delete('/docs/deeper');
      tree.delete('/docs/deeper/still');
      tree.delete('/docs/deeper/still/deeper.txt');
      await volume.flush();
      await device.close();
      expectFsckClean(image);
      expect(describeTree(extract(image).tree)).toEqual(describeTree(tree));
    });
  }

  it('a partition made by mkfs.fat --offset 2048 in an sfdisk table, filled by mcopy -i IMG@@1M', async () => {
    const image = sparseImage('48M');
    const sectors = 46 * 2048;
    runToolOk('sfdisk', ['-q', image], { input: `start=2048, size=${sectors}, type=e\n` });
    runToolOk('mkfs.fat', ['-F', '16', '--offset', '2048', image, String(sectors / 2)]);
    const { dir, tree } = hostTree();
    mcopyTree(image, dir, 1024 * 1024);
    const disk = await FileBlockDevice.open(image, { writable: true });
    const volume = await openFat(new SubBlockDevice(disk, 1024 * 1024, sectors * 512));
    expect(describeTree(await readWithOurs(volume))).toEqual(describeTree(tree));
    await volume.writeFile('/added by us.txt', patternBytes(5000, 1));
    tree.set('/added by us.txt', patternBytes(5000, 1));
    await volume.flush();
    await disk.close();
    expect(describeTree(extract(image, 1024 * 1024).tree)).toEqual(describeTree(tree));
    const copy = join(tmp.dir, 'offset-partition.img');
    writeFileSync(copy, readFileSync(image).subarray(1024 * 1024, 1024 * 1024 + sectors * 512));
    expectFsckClean(copy);
  });
});

describe.skipIf(skip)('FatVolume refuses bad requests and leaves the image unchanged', () => {
  /** Runs `action` on a fresh volume; expects `code` and the phrases, and no byte of the image changed. */
  async function expectRefusal(
    setup: (volume: FatVolume) => Promise<void>,
    action: (volume: FatVolume) => Promise<unknown>,
    code: string,
    ...phrases: RegExp[]
  ): Promise<string> {
    return expectRefusalThen(setup, action, (v) => v.writeFile('/after.txt', patternBytes(10, 1)), code, ...phrases);
  }

  async function expectRefusalThen(
    setup: (volume: FatVolume) => Promise<void>,
    action: (volume: FatVolume) => Promise<unknown>,
    after: (volume: FatVolume) => Promise<void>,
    code: string,
    ...phrases: RegExp[]
  ): Promise<string> {
    const { image, device, volume } = await formattedImage(1474560);
    await setup(volume);
    await volume.flush();
    const before = sha256(image);
    const error = await action(volume).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoopbackError);
    const { message } = error as LoopbackError;
    expect((error as LoopbackError).code, message).toBe(code);
    for (const phrase of phrases) expect(message).toMatch(phrase);
    expect(sha256(image)).toBe(before);
    // The volume still works after the refusal, and is consistent.
    await after(volume);
    await volume.flush();
    await device.close();
    expectFsckClean(image);
    return message;
  }
  const none = async () => {};

  it('illegal names: each refused with INVALID_INPUT naming the name', async () => {
    for (const name of [
      'a*b.txt',
      'what?',
      'x:y',
      'pipe|',
      'less<',
      'quote"',
      'back\\slash',
      'ctrl\u0001char',
      'trailing.',
      'trailing ',
      'x'.repeat(256),
    ]) {
      const message = await expectRefusal(
        none,
        (v) => v.writeFile(`/${name}`, new Uint8Array(1)),
        'INVALID_INPUT',
        /not a valid FAT file name/,
      );
      expect(message).toContain(JSON.stringify(name));
    }
    console.info(await expectRefusal(none, (v) => v.mkdir('/bad:dir'), 'INVALID_INPUT', /"bad:dir"/));
  });

  it('a file bigger than the free space: names the file, its size and the free bytes', async () => {
    const message = await expectRefusal(
      none,
      (v) => v.writeFile('/too big.bin', new Uint8Array(2 * 1024 * 1024)),
      'VALIDATION',
      /"\/too big\.bin"/,
      /2 MiB/,
      /free/,
    );
    expect(message).toContain('(1457664 bytes) is free');
    console.info(message);
  });

  it('paths that do not exist: NOT_FOUND naming them', async () => {
    await expectRefusal(
      none,
      (v) => v.writeFile('/no such folder/x.txt', new Uint8Array(1)),
      'NOT_FOUND',
      /"\/no such folder\/x\.txt" does not exist: there is no "\/no such folder"/,
    );
    await expectRefusal(none, (v) => v.readFile('/missing.txt'), 'NOT_FOUND', /"\/missing\.txt" does not exist/);
    await expectRefusal(none, (v) => v.remove('/missing.txt'), 'NOT_FOUND', /missing/);
    await expectRefusal(none, (v) => v.rename('/missing.txt', '/other.txt'), 'NOT_FOUND', /missing/);
    await expectRefusal(none, (v) => v.mkdir('/a/b/c'), 'NOT_FOUND', /"\/a" does not exist/, /parents/);
    await expectRefusal(none, (v) => v.list('/nowhere'), 'NOT_FOUND', /nowhere/);
  });

  it('the fixed root directory of FAT12 full: a clear error, nothing written', async () => {
    // 224 root entries on a 1.44M floppy; 8.3 upper-case names take one slot each.
    const fill = async (v: FatVolume) => {
      for (let i = 0; i < 224; i++) await v.writeFile(`/F${String(i).padStart(3, '0')}.TXT`, new Uint8Array(0));
    };
    const freeOne = async (v: FatVolume) => {
      await v.remove('/F000.TXT');
      await v.writeFile('/AFTER.TXT', patternBytes(10, 1));
    };
    const message = await expectRefusalThen(
      fill,
      (v) => v.writeFile('/ONE MORE.TXT', new Uint8Array(1)),
      freeOne,
      'VALIDATION',
      /root folder of this FAT12 volume is full/,
      /224 entries/,
      /subfolder/,
    );
    console.info(message);
    // With a few slots left, a long name that needs more of them is refused the same way.
    const almost = async (v: FatVolume) => {
      for (let i = 0; i < 222; i++) await v.writeFile(`/F${String(i).padStart(3, '0')}.TXT`, new Uint8Array(0));
    };
    await expectRefusal(almost, (v) => v.writeFile('/a long name that needs four slots.txt', new Uint8Array(1)), 'VALIDATION', /is full/);
  });

  it('removing a folder that is not empty without recursive', async () => {
    const setup = async (v: FatVolume) => {
      await v.mkdir('/full/inner', { parents: true });
      await v.writeFile('/full/file.txt', patternBytes(10, 1));
    };
    console.info(await expectRefusal(setup, (v) => v.remove('/full'), 'VALIDATION', /"\/full" is not empty \(2 entries\)/, /recursive/));
  });

  it('other refusals: rename onto an existing name, a folder into itself, writing over a folder', async () => {
    const setup = async (v: FatVolume) => {
      await v.mkdir('/dir/sub', { parents: true });
      await v.writeFile('/a.txt', patternBytes(10, 1));
      await v.writeFile('/b.txt', patternBytes(10, 2));
    };
    await expectRefusal(setup, (v) => v.rename('/a.txt', '/B.TXT'), 'ALREADY_EXISTS', /already exists/);
    await expectRefusal(setup, (v) => v.rename('/dir', '/dir/sub/dir'), 'INVALID_INPUT', /into itself/);
    await expectRefusal(setup, (v) => v.writeFile('/dir', new Uint8Array(1)), 'ALREADY_EXISTS', /is a folder/);
    await expectRefusal(setup, (v) => v.mkdir('/a.txt'), 'ALREADY_EXISTS', /is a file/);
    await expectRefusal(setup, (v) => v.readFile('/dir'), 'INVALID_INPUT', /is a folder, not a file/);
    await expectRefusal(setup, (v) => v.remove('/'), 'INVALID_INPUT', /root folder/);
  });
});

describe.skipIf(skip)('FatVolume cancellation', () => {
  /** Big enough for two write chunks (32 MiB each) on a FAT32 volume. */
  const size = 40 * 1024 * 1024;

  it('a write aborted midway: CANCELLED, the file absent, free space unchanged, fsck-clean', async () => {
    const { image, device, volume } = await formattedImage('96M', { type: 'fat32' });
    await volume.writeFile('/keep.txt', patternBytes(100, 1));
    const freeBefore = (await volume.usage()).freeBytes;
    const controller = new AbortController();
    const error = await volume
      .writeFile('/big.bin', new Uint8Array(size), { signal: controller.signal, onProgress: () => controller.abort() })
      .catch((e: unknown) => e);
    expect((error as LoopbackError).code).toBe('CANCELLED');
    expect((await volume.usage()).freeBytes).toBe(freeBefore);
    await expect(volume.stat('/big.bin')).rejects.toThrow(/does not exist/);
    await volume.flush();
    await device.close();
    expectFsckClean(image);
    expect(mtoolsTree(runTool, image)).toEqual(['/keep.txt']);
  });

  it('a replacement aborted midway keeps the old contents', async () => {
    const { image, device, volume } = await formattedImage('96M', { type: 'fat32' });
    const old = patternBytes(5000, 3);
    await volume.writeFile('/file.bin', old);
    const controller = new AbortController();
    const error = await volume
      .writeFile('/file.bin', patternBytes(size, 4), { signal: controller.signal, onProgress: () => controller.abort() })
      .catch((e: unknown) => e);
    expect((error as LoopbackError).code).toBe('CANCELLED');
    await volume.flush();
    await device.close();
    expectFsckClean(image);
    expect(describeTree(extract(image).tree)).toEqual(describeTree(new Map([['/file.bin', old]])));
  });

  it('an already aborted signal: CANCELLED before anything is written', async () => {
    const { image, device, volume } = await formattedImage('8M');
    await volume.flush();
    const before = sha256(image);
    const controller = new AbortController();
    controller.abort();
    await expect(volume.writeFile('/x.bin', patternBytes(100, 1), { signal: controller.signal })).rejects.toMatchObject({
      code: 'CANCELLED',
    });
    expect(sha256(image)).toBe(before);
    await device.close();
  });
});

describe.skipIf(skip)('FatVolume when the device refuses writes (a full host disk)', () => {
  /** A FileBlockDevice whose writes fail while `failing` is set, like ENOSPC on the host. */
  async function flakyImage(size: string) {
    const image = sparseImage(size);
    const real = await FileBlockDevice.open(image, { writable: true });
    await formatFat(real, { type: 'fat32' });
    const state = { failing: false };
    const device: BlockDevice = {
      sizeBytes: real.sizeBytes,
      read: (offset, length) => real.read(offset, length),
      write: (offset, data) =>
        state.failing ? Promise.reject(new LoopbackError('IO', 'No space left on device')) : real.write(offset, data),
      flush: () => real.flush(),
    };
    return { image, real, state, volume: await openFat(device) };
  }

  it('a failed data write fails writeFile and changes nothing; a failed flush() can be retried', async () => {
    const { image, real, state, volume } = await flakyImage('40M');
    await volume.writeFile('/kept.bin', patternBytes(5000, 1));
    state.failing = true;
    await expect(volume.writeFile('/lost.bin', patternBytes(5000, 2))).rejects.toThrow(/No space left/);
    await expect(volume.stat('/lost.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(volume.flush()).rejects.toThrow(/No space left/);
    state.failing = false;
    await volume.flush();
    await real.close();
    expectFsckClean(image);
    expect(describeTree(extract(image).tree)).toEqual(describeTree(new Map([['/kept.bin', patternBytes(5000, 1)]])));
  });
});

describe('FatVolume on a plain in-memory device', () => {
  it('serialises concurrent calls: many writes started at once all land', async () => {
    const device: BlockDevice = new MemoryBlockDevice(4 * 1024 * 1024);
    await formatFat(device);
    const volume = await openFat(device);
    await Promise.all(Array.from({ length: 50 }, (_, i) => volume.writeFile(`/file ${i}.txt`, patternBytes(i * 10, i))));
    const names = (await volume.list('/')).map((e) => e.name).sort();
    expect(names).toEqual(Array.from({ length: 50 }, (_, i) => `file ${i}.txt`).sort());
    for (let i = 0; i < 50; i++) expect(await volume.readFile(`/file ${i}.txt`)).toEqual(patternBytes(i * 10, i));
  });
});
