/**
 * Folders with many entries whose long names share one basis name, so the short names count up
 * through every tail width (LONGNA~1 … ~9, LONGN~10 … ~99, LONG~100 … ~999, LON~1000 …), mixed
 * with plain and lower-case 8.3 names, then removals and re-use of the freed short names. The
 * directory's index (short names in use, a tail hint per basis) must give what mtools, which
 * scans the folder for each candidate, gives; and the volume must stay fsck.fat-clean.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { formatFat, openFat } from './index';
import { fsck, UTF8_ENV } from './test-support';

const skip = missingTools('mkfs.fat', 'fsck.fat', 'mdir', 'mcopy', 'mmd', 'mdel', 'truncate');
const tmp = tempDir('fat-large-dir-');
afterAll(() => tmp.cleanup());
const env = { ...UTF8_ENV, MTOOLS_SKIP_CHECK: '1' };

/** Names in insertion order: `colliding` long names on the basis "LONGNA", 8.3 ones in between. */
function names(colliding: number): string[] {
  const list: string[] = [];
  for (let i = 1; i <= colliding; i++) {
    list.push(`Long name number ${i}.txt`);
    if (i % 20 === 0) list.push(`PLAIN${i / 20}.BIN`, `lower${i / 20}.dat`);
  }
  return list;
}

/** `mdir` of one folder: "SHORT    EXT" → long name ("" when there is none), in directory order. */
function mdirListing(image: string, folder: string): Array<[string, string]> {
  const out = runToolOk('mdir', ['-i', image, `::${folder}`], { env }).stdout;
  const entries: Array<[string, string]> = [];
  for (const line of out.split('\n')) {
    const match = /^(.{12})\s+(?:\d+|<DIR>)\s+\d{4}-\d\d-\d\d\s+\d+:\d\d\s*(.*)$/.exec(line);
    if (!match || line.startsWith('.')) continue;
    entries.push([(match[1] ?? '').trimEnd(), (match[2] ?? '').trim()]);
  }
  return entries;
}

/** The name mdir shows for an entry: the long name, else "BASE.EXT" from the 8.3 column. */
function shown([short, long]: [string, string]): string {
  return long || short.replace(/^(\S+)\s+(\S+)$/, '$1.$2');
}

function expectFsckClean(image: string): void {
  const report = fsck(runTool, image);
  expect(report.problems, report.output).toEqual([]);
  expect(report.status, report.output).toBe(0);
}

/** A fresh 64 MiB FAT32 image, formatted by us, with `names` written into /many in order. */
async function ours(image: string, list: readonly string[]): Promise<void> {
  runToolOk('truncate', ['-s', '64M', image]);
  const device = await FileBlockDevice.open(image, { writable: true });
  await formatFat(device, { type: 'fat32' });
  const volume = await openFat(device);
  await volume.mkdir('/many');
  for (const [i, name] of list.entries()) await volume.writeFile(`/many/${name}`, new TextEncoder().encode(`${i}\n`));
  await volume.flush();
  await device.close();
}

/** Host files for `names` (contents as ours() writes them), in a fresh folder. */
function hostFiles(folder: string, list: readonly string[], first = 0): string[] {
  mkdirSync(folder, { recursive: true });
  return list.map((name, i) => {
    const path = join(folder, name);
    writeFileSync(path, `${first + i}\n`);
    return path;
  });
}

describe.skipIf(skip)('a FAT32 folder with many entries and colliding short names', () => {
  it('gets the same short names as mcopy (~1 … ~9, ~10 …), also after removals free some, and stays fsck-clean', async () => {
    // Past ~55 names on one basis mtools starts skipping tails (LONGN~57 before ~56): both are
    // valid FAT, but only up to there are the names the same.
    const list = names(50);
    const image = join(tmp.dir, 'ours.img');
    await ours(image, list);
    const theirs = join(tmp.dir, 'theirs.img');
    runToolOk('truncate', ['-s', '64M', theirs]);
    runToolOk('mkfs.fat', ['-F', '32', theirs]);
    runToolOk('mmd', ['-i', theirs, '::/many'], { env });
    runToolOk('mcopy', ['-i', theirs, ...hostFiles(join(tmp.dir, 'src'), list), '::/many/'], { env });

    expectFsckClean(image);
    expectFsckClean(theirs);
    const listed = mdirListing(image, '/many');
    expect(listed).toEqual(mdirListing(theirs, '/many'));
    const shortOf = new Map(listed.map((entry) => [shown(entry), entry[0]]));
    expect(shortOf.get('Long name number 1.txt')).toBe('LONGNA~1 TXT');
    expect(shortOf.get('Long name number 9.txt')).toBe('LONGNA~9 TXT');
    expect(shortOf.get('Long name number 10.txt')).toBe('LONGN~10 TXT');
    expect(shortOf.get('PLAIN1.BIN')).toBe('PLAIN1   BIN');

    // Removing some frees their tails (~5, ~30); new names take the lowest free ones, as mtools does.
    const device = await FileBlockDevice.open(image, { writable: true });
    const volume = await openFat(device);
    for (const i of [5, 30]) await volume.remove(`/many/Long name number ${i}.txt`);
    const added = ['Long name number new 1.txt', 'Long name number new 2.txt', 'Long name number new 3.txt'];
    for (const [i, name] of added.entries()) await volume.writeFile(`/many/${name}`, new TextEncoder().encode(`${list.length + i}\n`));
    await volume.flush();
    await device.close();
    for (const i of [5, 30]) runToolOk('mdel', ['-i', theirs, `::/many/Long name number ${i}.txt`], { env });
    runToolOk('mcopy', ['-i', theirs, ...hostFiles(join(tmp.dir, 'src2'), added, list.length), '::/many/'], { env });
    expectFsckClean(image);
    expect(mdirListing(image, '/many')).toEqual(mdirListing(theirs, '/many'));
  }, 60_000);

  it('thousands of entries (four-digit tails, a folder of many clusters): fsck-clean, and mdir lists what we list', async () => {
    const list = [...names(1100), ...Array.from({ length: 1500 }, (_, i) => `another file ${i}.data`)];
    const image = join(tmp.dir, 'thousands.img');
    await ours(image, list);
    expectFsckClean(image);
    const listed = mdirListing(image, '/many');
    expect(listed.map(shown).sort()).toEqual([...list].sort());
    expect(new Set(listed.map(([short]) => short)).size).toBe(list.length);
    const shortOf = new Map(listed.map((entry) => [shown(entry), entry[0]]));
    expect(shortOf.get('Long name number 100.txt')).toBe('LONG~100 TXT');
    expect(shortOf.get('Long name number 999.txt')).toBe('LONG~999 TXT');
    expect(shortOf.get('Long name number 1000.txt')).toBe('LON~1000 TXT');
    expect(shortOf.get('Long name number 1100.txt')).toBe('LON~1100 TXT');
    // The same, read back by our reader on a fresh open; and every file's contents through mtools.
    const device = await FileBlockDevice.open(image, { writable: false });
    const volume = await openFat(device);
    expect((await volume.list('/many')).map((e) => e.name)).toEqual(listed.map(shown));
    await device.close();
    const out = join(tmp.dir, 'out');
    runToolOk('mcopy', ['-s', '-n', '-i', image, '::/many', out], { env });
    for (const [i, name] of list.entries()) expect(readFileSync(join(out, name), 'utf8'), name).toBe(`${i}\n`);
  }, 60_000);
});
