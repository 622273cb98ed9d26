/**
 * ISO images we write, checked by programs that share no code with ours: genisoimage's isoinfo
 * (`-d` the volume, `-l` / `-R -l` / `-J -l` the three trees), xorriso's osirrox (extracts the
 * tree: names, bytes by sha256, symbolic links, modes, times) and GRUB's own iso9660 driver
 * through grub-fstest. Our reader (read.ts) must agree with them too.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { hasTool, missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { MemoryBlockDevice } from '../../disk/block-device';
import { LoopbackError } from '../../errors';
import { openIso9660, planIso, writeIso, type IsoEntry, type IsoFileSource, type IsoOptions, type IsoPlan } from './index';
import { diffModels, modelOfEntries, modelOfFolder, patternBytes, sha256 } from './test-support';

const skip = missingTools('isoinfo', 'osirrox', 'xorriso');
const tmp = tempDir('iso-write-');
afterAll(() => {
  runTool('chmod', ['-R', 'u+rwx', tmp.dir]);
  tmp.cleanup();
});
let counter = 0;

const DATE = Date.UTC(2024, 0, 2, 3, 4, 5);
const UTF8 = { LC_ALL: 'C.UTF-8' };
const text = (s: string) => new TextEncoder().encode(s);

async function buildIso(entries: IsoEntry[], options: Partial<IsoOptions> = {}): Promise<{ image: string; plan: IsoPlan }> {
  const plan = planIso(entries, { dateMs: DATE, ...options });
  const image = join(tmp.dir, `image-${++counter}.iso`);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, plan.sizeBytes);
  const device = await FileBlockDevice.open(image, { writable: true });
  try {
    await writeIso(plan, device);
    await device.flush();
  } finally {
    await device.close();
  }
  return { image, plan };
}

/** `osirrox -extract / DIR` into a fresh folder. */
function extract(image: string): string {
  const dir = join(tmp.dir, `extract-${++counter}`);
  runToolOk('osirrox', ['-indev', image, '-extract', '/', dir], { env: UTF8 });
  return dir;
}

interface ListedEntry {
  mode: string;
  sizeBytes: number;
  block: number;
  name: string;
  target?: string;
}

/** `isoinfo [-R|-J] -l`: folder path → its entries (without "." and ".."). */
function isoinfoListing(image: string, tree: '-R' | '-J' | null): Map<string, ListedEntry[]> {
  const args = [...(tree ? [tree] : []), '-l', '-i', image];
  const out = runToolOk('isoinfo', args, { env: UTF8 }).stdout;
  const listing = new Map<string, ListedEntry[]>();
  let current: ListedEntry[] = [];
  for (const line of out.split('\n')) {
    const header = /^Directory listing of (.*)$/.exec(line);
    if (header) {
      current = [];
      listing.set(header[1]!.replace(/(.)\/$/, '$1'), current);
      continue;
    }
    const m = /^([-dl][-rwxsStT]{9})\s+\d+\s+\d+\s+\d+\s+(\d+)\s+\w{3}\s+\d+\s+\d{4}\s+\[\s*(\d+)\s+\d+\]\s\s(.*?) ?$/.exec(line);
    if (!m) continue;
    let name = m[4]!;
    if (name === '.' || name === '..') continue;
    let target: string | undefined;
    if (m[1]!.startsWith('l')) [name, target] = name.split(' -> ') as [string, string];
    current.push({ mode: m[1]!, sizeBytes: Number(m[2]), block: Number(m[3]), name, ...(target !== undefined ? { target } : {}) });
  }
  return listing;
}

/** The block of each folder's "." record as `isoinfo [-J] -l` shows it, by upper-cased path. */
function dotBlocks(image: string, joliet: boolean): Map<string, number> {
  const out = runToolOk('isoinfo', [...(joliet ? ['-J'] : []), '-l', '-i', image]).stdout;
  const blocks = new Map<string, number>();
  let current = '/';
  for (const line of out.split('\n')) {
    const header = /^Directory listing of (.*)$/.exec(line);
    if (header) current = header[1]!.replace(/(.)\/$/, '$1').toUpperCase();
    const dot = /\[\s*(\d+)\s+02\]\s\s\. ?$/.exec(line);
    if (dot) blocks.set(current, Number(dot[1]));
  }
  return blocks;
}

/** `isoinfo [-J] -p`: the path table as isoinfo reads it, with each folder's full path worked out from its parent. */
function isoinfoPathTable(
  image: string,
  joliet: boolean,
): { number: number; parent: number; block: number; name: string; path: string; level: number }[] {
  const out = runToolOk('isoinfo', [...(joliet ? ['-J'] : []), '-p', '-i', image]).stdout;
  const rows: { number: number; parent: number; block: number; name: string; path: string; level: number }[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+):\s+(\d+)\s+([0-9a-f]+)\s(.*?)\s?$/.exec(line);
    if (!m) continue;
    const number = Number(m[1]);
    const parent = Number(m[2]);
    const name = m[4]!;
    const up = rows[parent - 1];
    const path = number === 1 ? '/' : `${up!.path === '/' ? '' : up!.path}/${name}`;
    rows.push({ number, parent, block: parseInt(m[3]!, 16), name, path, level: number === 1 ? 1 : up!.level + 1 });
  }
  return rows;
}

/** The tree most tests use: long, mixed-case, Unicode names, names that collide in ISO 9660, symlinks, modes, empty files. */
function sampleEntries(): IsoEntry[] {
  return [
    { type: 'directory', path: '/boot', mode: 0o755 },
    { type: 'file', path: '/boot/grub/grub.cfg', content: text('set timeout=0\nmenuentry "My OS" { multiboot /boot/myos.kernel }\n') },
    {
      type: 'file',
      path: '/boot/myos.kernel',
      content: patternBytes(3 * 1024 * 1024 + 17, 1),
      mode: 0o755,
      modifiedMs: Date.UTC(2023, 5, 1, 12, 0, 0),
    },
    { type: 'file', path: '/README.txt', content: text('upper') },
    { type: 'file', path: '/readme.TXT', content: text('lower') },
    { type: 'file', path: '/ReadMe.txt', content: text('mixed') },
    { type: 'file', path: '/Grüße aus Köln — ünïcødé.md', content: text('unicode') },
    {
      type: 'file',
      path: `/${'A very long file name, longer than Joliet allows, kept whole by Rock Ridge'.repeat(2)}.txt`,
      content: patternBytes(4097, 2),
    },
    { type: 'file', path: '/empty', content: new Uint8Array(0) },
    { type: 'file', path: '/secret.key', content: text('k'), mode: 0o600 },
    { type: 'symlink', path: '/vmlinuz', target: 'boot/myos.kernel' },
    { type: 'symlink', path: '/boot/grub/up', target: '../..' },
    { type: 'symlink', path: '/abs', target: '/boot/grub/grub.cfg' },
    { type: 'directory', path: '/empty dir' },
    { type: 'file', path: '/a/b/c/d/e/f/g/h/i/j/deep.txt', content: text('ten levels down') },
  ];
}

describe.skipIf(skip)('ISO images checked by isoinfo, osirrox and GRUB', () => {
  it('isoinfo -d sees the volume, Rock Ridge and Joliet', async () => {
    const { image, plan } = await buildIso(sampleEntries(), { volumeIdentifier: 'MYOS_1_0', publisherIdentifier: 'ME' });
    const out = runToolOk('isoinfo', ['-d', '-i', image]).stdout;
    expect(out).toContain('Volume id: MYOS_1_0');
    expect(out).toContain('Publisher id: ME');
    expect(out).toContain('Logical block size is: 2048');
    expect(out).toContain(`Volume size is: ${plan.volumeSpaceSize}`);
    expect(out).toContain('Rock Ridge signatures version 1 found');
    expect(out).toContain('Joliet with UCS level 3 found');
    expect(fs.statSync(image).size).toBe(plan.sizeBytes);
  });

  it('isoinfo -R -l lists every name, mode, size and link target', async () => {
    const entries = sampleEntries();
    const { image } = await buildIso(entries);
    const listing = isoinfoListing(image, '-R');
    expect(
      listing
        .get('/')!
        .map((e) => e.name)
        .sort(),
    ).toEqual(
      [
        'README.txt',
        'ReadMe.txt',
        'readme.TXT',
        'Grüße aus Köln — ünïcødé.md',
        entries[7]!.path.slice(1),
        'empty',
        'secret.key',
        'vmlinuz',
        'abs',
        'boot',
        'empty dir',
        'a',
      ].sort(),
    );
    const root = new Map(listing.get('/')!.map((e) => [e.name, e]));
    expect(root.get('secret.key')!.mode).toBe('-rw-------');
    expect(root.get('vmlinuz')).toMatchObject({ mode: 'lrwxrwxrwx', target: 'boot/myos.kernel' });
    expect(root.get('abs')!.target).toBe('/boot/grub/grub.cfg');
    expect(root.get('empty dir')!.mode).toBe('drwxr-xr-x');
    const boot = new Map(listing.get('/boot')!.map((e) => [e.name, e]));
    expect(boot.get('myos.kernel')).toMatchObject({ mode: '-rwxr-xr-x', sizeBytes: 3 * 1024 * 1024 + 17 });
    expect(listing.get('/boot/grub')!.find((e) => e.name === 'up')!.target).toBe('../..');
    expect(listing.get('/a/b/c/d/e/f/g/h/i/j')!.map((e) => e.name)).toEqual(['deep.txt']);
  });

  it('isoinfo -l shows mkisofs-style unique ISO 9660 names, and the plan says which it changed', async () => {
    const { image, plan } = await buildIso(sampleEntries());
    const names = isoinfoListing(image, null)
      .get('/')!
      .map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining(['README.TXT;1', 'READM000.TXT;1', 'READM001.TXT;1', 'EMPTY.;1', 'VMLINUZ.;1', 'BOOT', 'EMPTY_DI', 'A']),
    );
    for (const name of names) expect(name).toMatch(/^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{0,3};1)?$/);
    expect(plan.nameChanges.filter((c) => c.tree === 'iso9660').map((c) => `${c.path} ${c.used}`)).toEqual([
      '/ReadMe.txt READM000.TXT;1',
      '/readme.TXT READM001.TXT;1',
    ]);
  });

  it('isoinfo -J -l shows the Joliet names: case kept, long names cut to 64', async () => {
    const entries = sampleEntries();
    const { image, plan } = await buildIso(entries);
    // isoinfo prints Joliet names in ISO 8859-1 (it has no UTF-8): only ASCII names are compared here.
    const names = isoinfoListing(image, '-J')
      .get('/')!
      .map((e) => e.name);
    const long = entries[7]!.path.slice(1);
    // Files carry the version ";1" when it fits in the 64 characters, as xorriso writes them.
    expect(names).toEqual(
      expect.arrayContaining(['README.txt;1', 'ReadMe.txt;1', 'readme.TXT;1', 'empty;1', 'boot', 'empty dir', long.slice(0, 64)]),
    );
    // Joliet has no symbolic links.
    expect(names).not.toContain('vmlinuz');
    expect(plan.nameChanges).toContainEqual({ path: `/${long}`, tree: 'joliet', used: long.slice(0, 64), sharedWith: null });
  });

  it('osirrox reading only the Joliet tree extracts Unicode names and the same bytes', async () => {
    const entries = sampleEntries();
    const { image } = await buildIso(entries);
    const dir = join(tmp.dir, `joliet-${++counter}`);
    runToolOk('osirrox', ['-read_fs', 'norock', '-indev', image, '-extract', '/', dir], { env: UTF8 });
    const long = entries[7]!.path.slice(1);
    const expected = await modelOfEntries(
      entries.filter((e) => e.type !== 'symlink').map((e) => (e.path === `/${long}` ? { ...e, path: `/${long.slice(0, 64)}` } : e)),
    );
    expect(diffModels(expected, await modelOfFolder(fs, dir))).toEqual([]);
  });

  it('isoinfo -p: both path tables list every folder at its directory, in ECMA-119 6.9.1 order', async () => {
    const entries: IsoEntry[] = [
      ...sampleEntries(),
      ...Array.from({ length: 120 }, (_, i): IsoEntry => ({ type: 'directory', path: `/dirs/Sub ${i % 7}/leaf-${i}` })),
    ];
    const { image } = await buildIso(entries);
    for (const joliet of [false, true]) {
      const table = isoinfoPathTable(image, joliet);
      const listing = isoinfoListing(image, joliet ? '-J' : null);
      // Every folder isoinfo -l walked to is in the table, at the block of its "." record.
      expect(table.map((r) => r.path.toUpperCase()).sort()).toEqual([...listing.keys()].map((p) => p.toUpperCase()).sort());
      expect(table.length).toBe(1 + 2 + 1 + 10 + 1 + 7 + 120); // /, boot and grub, empty dir, a…j, dirs, Sub 0–6, the leaves
      const blocks = dotBlocks(image, joliet);
      for (const row of table) expect(row.block).toBe(blocks.get(row.path.toUpperCase()));
      // By level, then parent number, then name.
      for (let i = 1; i < table.length; i++) {
        const [a, b] = [table[i - 1]!, table[i]!];
        expect(a.level < b.level || (a.level === b.level && (a.parent < b.parent || (a.parent === b.parent && a.name < b.name)))).toBe(
          true,
        );
      }
    }
  });

  it('osirrox extracts the same tree: names, bytes (sha256), symbolic links, modes and times', async () => {
    const entries = sampleEntries();
    const { image } = await buildIso(entries);
    const dir = extract(image);
    expect(diffModels(await modelOfEntries(entries, true), await modelOfFolder(fs, dir, true))).toEqual([]);
    expect(fs.statSync(join(dir, 'boot/myos.kernel')).mtimeMs).toBe(Date.UTC(2023, 5, 1, 12, 0, 0));
    expect(fs.statSync(join(dir, 'README.txt')).mtimeMs).toBe(DATE);
  });

  it('our reader sees the same tree, through Rock Ridge, through Joliet and through plain ISO 9660', async () => {
    const entries = sampleEntries();
    const { image } = await buildIso(entries);
    const device = await FileBlockDevice.open(image, { writable: false });
    try {
      const iso = await openIso9660(device);
      const model = new Map<string, unknown>();
      for (const { path, entry } of await iso.walk()) {
        if (entry.type === 'file')
          model.set(path, { type: 'file', sha256: await sha256(await iso.readFile(path)), sizeBytes: entry.sizeBytes, mode: entry.mode });
        else if (entry.type === 'symlink') model.set(path, { type: 'symlink', target: entry.target });
        else model.set(path, { type: 'directory', mode: entry.mode });
      }
      expect(diffModels(await modelOfEntries(entries, true), model as never)).toEqual([]);
      expect((await iso.stat('/boot/myos.kernel')).modifiedMs).toBe(Date.UTC(2023, 5, 1, 12, 0, 0));
      const info = await iso.info();
      expect(info).toMatchObject({
        volumeIdentifier: 'ISOIMAGE',
        rockRidge: true,
        jolietLevel: 3,
        names: 'rock-ridge',
        bootCatalog: null,
        mbrPartitions: null,
      });

      const joliet = await openIso9660(device, { names: 'joliet' });
      expect((await joliet.list('/')).map((e) => e.name)).toContain('Grüße aus Köln — ünïcødé.md');
      expect(await joliet.readFile('/boot/grub/grub.cfg')).toEqual(entries[1]!.type === 'file' && entries[1]!.content);
      const plain = await openIso9660(device, { names: 'iso9660' });
      expect((await plain.list('/')).map((e) => e.name)).toEqual(expect.arrayContaining(['README.TXT', 'READM000.TXT', 'EMPTY', 'BOOT']));
      expect(await plain.readFile('/boot/grub/grub.cfg')).toEqual((entries[1] as { content: Uint8Array }).content);
    } finally {
      await device.close();
    }
  });

  it.skipIf(!hasTool('grub-fstest'))("GRUB's iso9660 driver (grub-fstest) reads the names and the files", async () => {
    const entries = sampleEntries();
    const { image } = await buildIso(entries);
    const ls = runToolOk('grub-fstest', [image, 'ls', '/'], { env: UTF8 }).stdout;
    for (const name of ['README.txt', 'ReadMe.txt', 'readme.TXT', 'boot/', 'empty dir/', 'vmlinuz']) expect(ls).toContain(name);
    const cfg = runToolOk('grub-fstest', [image, 'cat', '/boot/grub/grub.cfg']).stdout;
    expect(cfg).toBe(new TextDecoder().decode((entries[1] as { content: Uint8Array }).content));
    const kernel = join(tmp.dir, 'kernel-from-grub');
    runToolOk('grub-fstest', [image, 'cp', '/boot/myos.kernel', kernel]);
    expect(await sha256(fs.readFileSync(kernel))).toBe(await sha256((entries[2] as { content: Uint8Array }).content));
  });

  it('level 2 names, and an image without Rock Ridge and Joliet', async () => {
    const entries: IsoEntry[] = [
      { type: 'file', path: '/Kernel-1.0.bin', content: text('k') },
      { type: 'file', path: '/a file with a long name.text', content: text('x') },
    ];
    const level2 = await buildIso(entries, { level: 2 });
    expect(
      isoinfoListing(level2.image, null)
        .get('/')!
        .map((e) => e.name)
        .sort(),
    ).toEqual(['A_FILE_WITH_A_LONG_NAME.TEXT;1', 'KERNEL_1_0.BIN;1']);
    const plain = await buildIso(entries, { rockRidge: false, joliet: false });
    const d = runToolOk('isoinfo', ['-d', '-i', plain.image]).stdout;
    expect(d).toContain('NO Rock Ridge present');
    expect(d).toContain('NO Joliet present');
    const dir = extract(plain.image);
    expect(fs.readdirSync(dir).sort()).toEqual(['A_FILE_W.TEX', 'KERNEL_1.BIN']);
  });

  it('Rock Ridge continuation areas: 255-byte names, 1023-byte link targets, records over many blocks', async () => {
    const name255 = 'n'.repeat(200) + 'ü'.repeat(27) + 'x';
    const target = `/${Array.from({ length: 80 }, (_, i) => `d-${i}-padding`).join('/')}`.slice(0, 1022) + 'z';
    const entries: IsoEntry[] = [
      { type: 'file', path: `/${name255}`, content: text('255') },
      { type: 'symlink', path: '/far', target },
      { type: 'directory', path: `/${'d'.repeat(255)}` },
      ...Array.from({ length: 40 }, (_, i): IsoEntry => ({
        type: 'file',
        path: `/${'long name number '.repeat(12)}${i}`,
        content: text(String(i)),
      })),
    ];
    expect(new TextEncoder().encode(target).length).toBe(1023);
    expect(new TextEncoder().encode(name255).length).toBe(255);
    const { image, plan } = await buildIso(entries);
    expect(plan.internal.continuationBlocks).toBeGreaterThan(1);
    const dir = extract(image);
    expect(diffModels(await modelOfEntries(entries), await modelOfFolder(fs, dir))).toEqual([]);
    const listing = isoinfoListing(image, '-R');
    expect(listing.get('/')!.find((e) => e.name === 'far')!.target).toBe(target);
    expect(listing.get('/')!.map((e) => e.name)).toContain(name255);
  });

  it('a folder of 3000 files and 300 folders (directories over many blocks, big path tables)', async () => {
    const entries: IsoEntry[] = [
      ...Array.from({ length: 3000 }, (_, i): IsoEntry => ({ type: 'file', path: `/many/file-${i}.dat`, content: patternBytes(i % 5, i) })),
      ...Array.from({ length: 300 }, (_, i): IsoEntry => ({ type: 'directory', path: `/dirs/sub ${i}/inner` })),
    ];
    const { image } = await buildIso(entries);
    const dir = extract(image);
    expect(diffModels(await modelOfEntries(entries), await modelOfFolder(fs, dir))).toEqual([]);
    expect(isoinfoListing(image, '-J').get('/many')!.length).toBe(3000);
    const device = await FileBlockDevice.open(image, { writable: false });
    try {
      expect((await (await openIso9660(device)).list('/many')).length).toBe(3000);
    } finally {
      await device.close();
    }
  });
});

describe('deterministic output', () => {
  it('the same entries in any order, written over any old bytes, give the same image', async () => {
    const entries = sampleEntries();
    const first = planIso(entries, { dateMs: DATE });
    const a = new MemoryBlockDevice(first.sizeBytes);
    await writeIso(first, a);
    const shuffled = [...entries].reverse();
    shuffled.push(shuffled.shift()!);
    const second = planIso(shuffled, { dateMs: DATE });
    const b = new MemoryBlockDevice(new Uint8Array(second.sizeBytes).fill(0xff));
    await writeIso(second, b);
    expect(await sha256(b.bytes)).toBe(await sha256(a.bytes));
    const later = planIso(entries, { dateMs: DATE + 1000 });
    const c = new MemoryBlockDevice(later.sizeBytes);
    await writeIso(later, c);
    expect(await sha256(c.bytes)).not.toBe(await sha256(a.bytes));
  });
});

describe('big files stream from their source', () => {
  it('reads at most 1 MiB at a time, reports progress, and the data arrives whole', async () => {
    const size = 40 * 1024 * 1024 + 5;
    let largestRead = 0;
    // One buffer for every read, as the services' reader reuses one: the writer must be done with it.
    const shared = new Uint8Array(1024 * 1024);
    const source: IsoFileSource = {
      sizeBytes: size,
      read: async (offset, length) => {
        largestRead = Math.max(largestRead, length);
        const out = shared.subarray(0, length);
        for (let i = 0; i < length; i++) out[i] = ((offset + i) * 31) & 0xff;
        return out;
      },
    };
    const plan = planIso([{ type: 'file', path: '/big.bin', content: source }], { dateMs: DATE });
    const device = new MemoryBlockDevice(plan.sizeBytes);
    const progress: number[] = [];
    await writeIso(plan, device, { onProgress: (p) => progress.push(p.bytesDone) });
    expect(largestRead).toBeLessThanOrEqual(1024 * 1024);
    expect(progress.at(-1)).toBe(size);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    const iso = await openIso9660(device);
    const back = await iso.read('/big.bin', size - 10, 100);
    expect([...back]).toEqual(Array.from({ length: 10 }, (_, i) => ((size - 10 + i) * 31) & 0xff));
    const whole = await iso.readFile('/big.bin');
    expect(whole.every((byte, i) => byte === ((i * 31) & 0xff))).toBe(true);
  });

  it('a source that gives fewer bytes than it said fails the write naming the file', async () => {
    const plan = planIso([{ type: 'file', path: '/shrunk', content: { sizeBytes: 5000, read: async () => new Uint8Array(10) } }], {
      dateMs: DATE,
    });
    await expect(writeIso(plan, new MemoryBlockDevice(plan.sizeBytes))).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringContaining('/shrunk'),
    });
  });

  it('stops between files when cancelled', async () => {
    const entries: IsoEntry[] = Array.from({ length: 5 }, (_, i) => ({ type: 'file', path: `/f${i}`, content: patternBytes(3000, i) }));
    const plan = planIso(entries, { dateMs: DATE });
    const controller = new AbortController();
    const done: number[] = [];
    const writing = writeIso(plan, new MemoryBlockDevice(plan.sizeBytes), {
      signal: controller.signal,
      onProgress: (p) => {
        done.push(p.itemsDone ?? 0);
        if ((p.itemsDone ?? 0) >= 2) controller.abort();
      },
    });
    await expect(writing).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(Math.max(...done)).toBe(2);
  });
});

describe('bad input is refused before anything is written, with the field named', () => {
  const neverRead: IsoFileSource = {
    sizeBytes: 0,
    read: async () => {
      throw new Error('read during planning');
    },
  };

  function refusal(
    entries: IsoEntry[],
    options: Partial<IsoOptions> = {},
  ): { message: string; problems: { field: string; message: string }[] } {
    try {
      planIso(entries, { dateMs: DATE, ...options });
    } catch (error) {
      expect(error).toBeInstanceOf(LoopbackError);
      expect((error as LoopbackError).code).toBe('VALIDATION');
      return { message: (error as LoopbackError).message, problems: (error as LoopbackError).details!.problems as never };
    }
    throw new Error('planIso accepted it');
  }

  it('a file over 4 GiB − 1 byte, naming the file', () => {
    const { message, problems } = refusal([
      { type: 'file', path: '/ok', content: text('ok') },
      { type: 'file', path: '/disk.img', content: { ...neverRead, sizeBytes: 4 * 1024 ** 3 } },
    ]);
    expect(problems).toEqual([expect.objectContaining({ field: 'entries[1].content' })]);
    expect(message).toMatch(/^\/disk\.img is 4\.00 GiB \(4294967296 bytes\): an ISO 9660 file holds at most 4 GiB − 1 byte/);
    // 4 GiB − 1 byte itself is fine (planning reads nothing).
    expect(
      planIso([{ type: 'file', path: '/max.img', content: { ...neverRead, sizeBytes: 0xffffffff } }], { dateMs: DATE }).sizeBytes,
    ).toBeGreaterThan(0xffffffff);
  });

  it("two names that map to one ISO 9660 name, with nameCollisions: 'refuse', naming both", () => {
    const { problems } = refusal(
      [
        { type: 'file', path: '/docs/Notes.txt', content: text('1') },
        { type: 'file', path: '/docs/notes.TXT', content: text('2') },
      ],
      { nameCollisions: 'refuse' },
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe('entries[1].path');
    expect(problems[0]!.message).toContain('/docs/Notes.txt and /docs/notes.TXT both map to the ISO 9660 name "NOTES.TXT;1"');
  });

  it('every problem at once: a duplicate, a file under a file, a bad link, a bad date, a bad mode, a long Joliet name', () => {
    const { problems } = refusal(
      [
        { type: 'file', path: '/a', content: text('1') },
        { type: 'file', path: '/a', content: text('2') },
        { type: 'file', path: '/a/b', content: text('3') },
        { type: 'symlink', path: '/l', target: 'x//y' },
        { type: 'file', path: '/old', content: text('4'), modifiedMs: Date.UTC(1850, 0, 1) },
        { type: 'file', path: '/m', content: text('5'), mode: 0o40755 },
        { type: 'file', path: `/${'j'.repeat(70)}`, content: text('6') },
        { type: 'file', path: 'relative', content: text('7') },
      ],
      { jolietLongNames: 'refuse' },
    );
    expect(problems.map((p) => p.field).sort()).toEqual([
      'entries[1].path',
      'entries[2].path',
      'entries[3].target',
      'entries[4].modifiedMs',
      'entries[5].mode',
      'entries[6].path',
      'entries[7].path',
    ]);
    const { problems: joliet } = refusal([{ type: 'file', path: `/${'j'.repeat(70)}`, content: text('6') }], { jolietLongNames: 'refuse' });
    expect(joliet[0]).toMatchObject({ field: 'entries[0].path', message: expect.stringContaining('70 UTF-16 characters') });
  });

  it('a link target xorriso could not read back (1024 bytes), and a path longer than 4095 bytes', () => {
    const { problems } = refusal([
      { type: 'symlink', path: '/l', target: 'x'.repeat(1024) },
      { type: 'file', path: `/${Array.from({ length: 20 }, () => 'p'.repeat(250)).join('/')}`, content: text('deep') },
    ]);
    expect(problems.map((p) => p.field)).toEqual(['entries[0].target', 'entries[1].path']);
    expect(problems[0]!.message).toContain('over 1023 bytes');
    expect(problems[1]!.message).toContain('more than the 4095');
  });

  it('boot images that are not in the tree, and options out of range', () => {
    const boot = refusal([{ type: 'file', path: '/k', content: text('k') }], {
      volumeIdentifier: 'x'.repeat(33),
      boot: {
        bios: { path: '/boot/grub/i386-pc/eltorito.img', loadSectors: 0 },
        efi: { path: '/k' },
        hybridMbr: { bootCode: new Uint8Array(10) },
      },
    }).problems;
    expect(boot.map((p) => p.field).sort()).toEqual([
      'boot.bios.loadSectors',
      'boot.bios.path',
      'boot.efi',
      'boot.hybridMbr.bootCode',
      'options.volumeIdentifier',
    ]);
    expect(refusal([], { dateMs: Number.NaN }).problems.map((p) => p.field)).toEqual(['options.dateMs']);
    expect(boot.find((p) => p.field === 'boot.bios.path')!.message).toContain('/boot/grub/i386-pc/eltorito.img is not in the image');
  });

  it('nothing is written when planning fails: writeIso only ever runs on a plan', async () => {
    let writes = 0;
    const sink = { write: async () => void writes++ };
    expect(() => planIso([{ type: 'file', path: '/x', content: { ...neverRead, sizeBytes: 2 ** 33 } }], { dateMs: DATE })).toThrow(
      LoopbackError,
    );
    expect(writes).toBe(0);
    const plan = planIso([{ type: 'file', path: '/x', content: text('x') }], { dateMs: DATE });
    await writeIso(plan, sink);
    expect(writes).toBeGreaterThan(0);
  });
});
