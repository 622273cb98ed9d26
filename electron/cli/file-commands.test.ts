/**
 * format, put, get, ls, mkdir, rm and info's filesystem report, as a user runs them, checked
 * with fsck.fat, mtools, e2fsck and debugfs.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliOk as ok } from '../../tests/support/cli';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A small tree of host files: nested folders, an empty file, a multi-cluster file, a long name. */
function makeTree(root: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'boot/grub/menu.lst': Buffer.from('title test\nkernel /boot/kernel.bin\n'),
    'boot/kernel.bin': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 251)),
    'empty.txt': Buffer.alloc(0),
    'A long file name with spaces.txt': Buffer.from('long names survive\n'),
  };
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), data);
  }
  return files;
}

describe.skipIf(missingTools('fsck.fat', 'mcopy'))('FAT without root', () => {
  it('refuses two sources whose names differ only in case, naming both, and writes nothing', async () => {
    const img = join(dir, 'case.img');
    const src = join(dir, 'case-src');
    mkdirSync(join(src, 'a'), { recursive: true });
    mkdirSync(join(src, 'b'), { recursive: true });
    writeFileSync(join(src, 'a', 'README.TXT'), 'upper\n');
    writeFileSync(join(src, 'b', 'Readme.txt'), 'mixed\n');
    await ok('create', img, '--floppy', '1.44M');
    await ok('format', img, '--fs', 'fat12');
    const before = sha(img);
    const refused = await cli('put', img, join(src, 'a', 'README.TXT'), join(src, 'b', 'Readme.txt'), '/', '--json');
    expect(refused.code).toBe(1);
    expect(refused.json().error).toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(/\/README\.TXT and \/Readme\.txt would be the same name/),
    });
    expect(sha(img)).toBe(before);
    // On ext2, names keep their case: both are copied.
    const ext2 = join(dir, 'case-ext2.img');
    await ok('create', ext2, '--size', '4M');
    await ok('format', ext2, '--fs', 'ext2');
    expect((await ok('put', ext2, join(src, 'a', 'README.TXT'), join(src, 'b', 'Readme.txt'), '/', '--json')).json()).toMatchObject({
      files: 2,
    });
    expect(runToolOk('debugfs', ['-R', 'ls -l /', ext2]).stdout).toMatch(/README\.TXT[\s\S]*Readme\.txt|Readme\.txt[\s\S]*README\.TXT/);
  });

  it('formats a 1.44M floppy, copies a tree in, and fsck.fat and mtools agree', async () => {
    const img = join(dir, 'floppy.img');
    const src = join(dir, 'floppy-src');
    const files = makeTree(src);
    await ok('create', img, '--floppy', '1.44M');
    const formatted = (await ok('format', img, '--fs', 'fat12', '--label', 'MYOS', '--json')).json();
    expect(formatted.usage).toMatchObject({ type: 'fat12', label: 'MYOS' });
    await ok(
      'put',
      img,
      ...Object.keys(files)
        .filter((p) => !p.includes('/'))
        .map((p) => join(src, p)),
      join(src, 'boot'),
      '/',
    );

    expect(runTool('fsck.fat', ['-n', img]).status).toBe(0);
    for (const [path, data] of Object.entries(files)) {
      const viaMtools = join(dir, 'mt.out');
      runToolOk('mcopy', ['-o', '-n', '-i', img, `::/${path}`, viaMtools]);
      expect(readFileSync(viaMtools).equals(data)).toBe(true);
    }
    const info = (await ok('info', img, '--json')).json();
    expect(info.filesystem).toMatchObject({ type: 'fat12', label: 'MYOS' });
    expect(info.filesystem.usedBytes).toBeGreaterThan(70_000);
  });

  it('names a folder like the volume label with its own short name (BOOT, not BOOT~1)', async () => {
    const img = join(dir, 'label.img');
    await ok('create', img, '--floppy', '1.44M');
    await ok('format', img, '--fs', 'fat12', '--label', 'BOOT');
    await ok('mkdir', img, '/boot');
    // mdir -b prints the long names; the short name shows in the plain listing's first column.
    expect(runToolOk('mdir', ['-i', img, '::/']).stdout).toMatch(/^boot\s+<DIR>/m);
    expect(runTool('fsck.fat', ['-n', img]).status).toBe(0);
  });

  it('formats an MBR partition as FAT32: keeps the type the table has and warns when it does not say FAT32; --set-type sets it', async () => {
    const img = join(dir, 'fat32.img');
    const sfdiskType = () => JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable.partitions[0].type;
    await ok('create', img, '--size', '40M');
    await ok('partition', img, '--table', 'mbr', '--add', 'start=2048,size=rest,type=83');
    const kept = await ok('format', img, '-p', '1', '--fs', 'fat32');
    expect(kept.stdout).toContain(
      `  warning: partition 1 was formatted FAT32, but its type is Linux (83), which does not say FAT32. The type was kept (the table is yours); DOS, Windows and some firmware go by it. To change it: loopstudio partition ${img} --set 1 type=0b, or format with --set-type\n`,
    );
    expect(sfdiskType()).toBe('83');
    const result = (await ok('format', img, '-p', '1', '--fs', 'fat32', '--set-type', '--json')).json();
    expect(result).toMatchObject({ partitionType: { from: '83', to: '0b' }, warnings: [] });
    expect(sfdiskType()).toBe('b');
    // The volume at its offset, checked by mtools (which reads BPB_HiddSec and the geometry).
    expect(runToolOk('minfo', ['-i', `${img}@@${2048 * 512}`]).stdout).toMatch(/hidden sectors: 2048/);
    await ok('mkdir', img, '-p', '1', '/EFI/BOOT', '--parents');
    const listing = (await ok('ls', img, '-p', '1', '/EFI', '--json')).json();
    expect(listing.entries.map((e: { name: string }) => e.name)).toEqual(['BOOT']);
  });

  it('refuses a file bigger than the free space, and leaves the image unchanged', async () => {
    const img = join(dir, 'full.img');
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(2_000_000, 1));
    await ok('create', img, '--floppy', '1.44M');
    await ok('format', img, '--fs', 'fat12');
    const before = sha(img);
    const result = await cli('put', img, big, '/');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Not enough space .* 1\.\d+ MiB is free; nothing was copied/);
    expect(sha(img)).toBe(before);
  });

  it('refuses a name that is illegal on FAT before writing anything', async () => {
    const img = join(dir, 'names.img');
    const src = join(dir, 'names-src');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'ok.txt'), 'fine');
    writeFileSync(join(src, 'what?.txt'), 'not on FAT');
    await ok('create', img, '--floppy', '1.44M');
    await ok('format', img, '--fs', 'fat12');
    const before = sha(img);
    const result = await cli('put', img, src, '/');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('"what?.txt" is not a valid FAT file name');
    expect(sha(img)).toBe(before);
  });
});

describe.skipIf(missingTools('e2fsck', 'debugfs'))('ext2 without root', () => {
  it('formats the article’s partition as ext2, copies files in, and e2fsck and debugfs agree', async () => {
    const img = join(dir, 'c.img');
    const src = join(dir, 'ext2-src');
    const files = makeTree(src);
    await ok('create', img, '--chs', '100/16/63');
    await ok('partition', img, '--table', 'mbr', '--add', 'start=63,size=rest,type=83,bootable');
    await ok('format', img, '-p', '1', '--fs', 'ext2', '--block-size', '1024', '--label', 'root');
    await ok('put', img, '-p', '1', join(src, 'boot'), join(src, 'empty.txt'), '/');

    // e2fsck and debugfs need the partition as a file of its own: cut it out with dd.
    const part = join(dir, 'c.part');
    runToolOk('dd', [`if=${img}`, `of=${part}`, 'bs=512', 'skip=63', 'status=none']);
    expect(runTool('e2fsck', ['-fn', part]).status).toBe(0);
    expect(runToolOk('debugfs', ['-R', 'cat /boot/grub/menu.lst', part]).stdout).toBe(files['boot/grub/menu.lst']!.toString());
    const dumped = join(dir, 'kernel.out');
    runToolOk('debugfs', ['-R', `dump /boot/kernel.bin ${dumped}`, part]);
    expect(readFileSync(dumped).equals(files['boot/kernel.bin']!)).toBe(true);
    expect(runToolOk('dumpe2fs', ['-h', part]).stdout).toMatch(/Filesystem volume name:\s+root/);

    const info = (await ok('info', img, '--json')).json();
    expect(info.partitions[0].filesystem).toMatchObject({ type: 'ext2', label: 'root', blockBytes: 1024 });

    await ok('rm', img, '-p', '1', '/boot', '-r');
    expect(
      (await ok('ls', img, '-p', '1', '/', '--json'))
        .json()
        .entries.map((e: { name: string }) => e.name)
        .sort(),
    ).toEqual(['empty.txt', 'lost+found']);
  });
});

describe.skipIf(missingTools('sfdisk', 'fsck.fat'))('format and the partition type the user set', () => {
  it('keeps an explicit 0c on a 63 MiB FAT32 partition (it once became 0b), without a warning: 0c says FAT32', async () => {
    const img = join(dir, 'keep-0c.img');
    await ok('create', img, '--size', '64M');
    await ok('partition', img, '--table', 'mbr', '--add', 'start=2048,size=rest,type=0c');
    for (const args of [[], ['--set-type']]) {
      const result = (await ok('format', img, '-p', '1', '--fs', 'fat32', ...args, '--json')).json();
      expect(result).toMatchObject({ partitionType: null, warnings: [] });
      expect(JSON.parse(runToolOk('sfdisk', ['--json', img]).stdout).partitiontable.partitions[0].type).toBe('c');
    }
    // A FAT16 type on FAT32 is a mismatch: kept, with a warning naming the fix.
    await ok('partition', img, '--set', '1', 'type=06');
    expect((await ok('format', img, '-p', '1', '--fs', 'fat32', '--json')).json().warnings).toEqual([
      expect.stringContaining('its type is FAT16 (06), which does not say FAT32'),
    ]);
  });

  it('a recipe partition without a type gets the matching one; a typed one keeps its type', async () => {
    const recipeDir = join(dir, 'recipe-types');
    mkdirSync(recipeDir, { recursive: true });
    const recipe = join(recipeDir, 'r.json');
    writeFileSync(
      recipe,
      JSON.stringify({
        image: { size: '80M' },
        partitions: [
          { start: 2048, size: '38M', filesystem: { type: 'fat32' } },
          { size: 'rest', type: '83', filesystem: { type: 'fat16' } },
        ],
      }),
    );
    await ok('build', recipe, '-o', join(recipeDir, 'r.img'));
    const types = JSON.parse(runToolOk('sfdisk', ['--json', join(recipeDir, 'r.img')]).stdout).partitiontable.partitions.map(
      (p: { type: string }) => p.type,
    );
    expect(types).toEqual(['c', '83']);
  });
});

describe.skipIf(missingTools('mcopy', 'debugfs'))('put --parents, and get to stdout', () => {
  it('put into a folder that does not exist says so; --parents makes it, like mkdir -p; a refused copy makes nothing', async () => {
    const img = join(dir, 'parents.img');
    const initrd = join(dir, 'initrd.gz');
    writeFileSync(initrd, Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256)));
    await ok('create', img, '--size', '16M');
    await ok('partition', img, '--table', 'mbr', '--add', 'start=2048,size=rest,type=83');
    await ok('format', img, '-p', '1', '--fs', 'ext2');
    const before = sha(img);
    const refused = await cli('put', img, '-p', '1', initrd, '/boot/initrd.gz');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `/boot does not exist in partition 1 of ${img}: make it first (loopstudio mkdir --parents), or add --parents; nothing was copied`,
    );
    expect(sha(img)).toBe(before);
    const put = await ok('put', img, '-p', '1', '--parents', initrd, '/boot/grub/x/initrd.gz', '--json');
    expect(put.json()).toMatchObject({ files: 1, folders: 3 });
    expect(runToolOk('debugfs', ['-R', 'ls -p /boot/grub/x', img.concat(`?offset=${2048 * 512}`)]).stdout).toContain('initrd.gz');
    // DEST ending in /: a folder to make and copy into; an existing file on the way is refused.
    await ok('put', img, '-p', '1', '--parents', initrd, '/modules/');
    expect((await ok('ls', img, '-p', '1', '/modules', '--json')).json().entries.map((e: { name: string }) => e.name)).toEqual([
      'initrd.gz',
    ]);
    const onFile = await cli('put', img, '-p', '1', '--parents', initrd, '/boot/grub/x/initrd.gz/deeper/f');
    expect(onFile.stderr).toContain('/boot/grub/x/initrd.gz is a file in partition 1');
    // On FAT a name FAT cannot hold in the folders to make refuses the whole copy.
    const fat = join(dir, 'parents-fat.img');
    await ok('create', fat, '--floppy', '1.44M');
    await ok('format', fat, '--fs', 'fat12');
    const fatBefore = sha(fat);
    expect((await cli('put', fat, '--parents', initrd, '/bad?dir/initrd.gz')).code).toBe(2);
    expect(sha(fat)).toBe(fatBefore);
  });

  it("get IMAGE PATH - writes the file's bytes, and nothing else, to stdout; get's message goes to stderr", async () => {
    const img = join(dir, 'stdout.img');
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    writeFileSync(join(dir, 'data.bin'), data);
    await ok('create', img, '--floppy', '1.44M');
    await ok('format', img, '--fs', 'fat12');
    await ok('put', img, '--parents', join(dir, 'data.bin'), '/boot/grub/data.bin');
    const streamed = await ok('get', img, '/boot/grub/data.bin', '-');
    expect(streamed.stdoutBytes!.equals(data)).toBe(true);
    expect(streamed.stdout).toBe('');
    expect(streamed.stderr).toBe('');
    expect((await cli('get', img, '/boot', '-')).stderr).toContain(
      '/boot in ' + img + " is a folder: `-` writes one file's bytes to stdout",
    );
    expect((await cli('get', img, '/boot/grub/data.bin', '-', '--json')).code).toBe(2);
    const copied = await ok('get', img, '/boot/grub/data.bin', join(dir, 'copied.bin'));
    expect(copied.stdout).toBe('');
    expect(copied.stderr).toBe(`Copied 1 file(s), 68.36 KiB, to ${join(dir, 'copied.bin')}\n`);
    // The installed command, its stdout redirected to a file by a shell: /dev/stdout and - give the file exactly.
    const bin = join(__dirname, '../../bin/loopstudio.cjs');
    for (const out of ['/dev/stdout', '-']) {
      const target = join(dir, `redirected${out === '-' ? '-dash' : ''}.bin`);
      const run = runTool('sh', ['-c', 'node "$1" get "$2" /boot/grub/data.bin "$3" > "$4"', 'sh', bin, img, out, target]);
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(target).equals(data)).toBe(true);
      expect(run.stderr).toBe('');
    }
  });
});

describe('volume errors', () => {
  it('asks which partition on a partitioned image, and names what is there', async () => {
    const img = join(dir, 'which.img');
    await ok('create', img, '--size', '8M');
    await ok('partition', img, '--table', 'mbr', '--add', 'size=rest');
    const result = await cli('ls', img);
    expect(result.stderr).toContain('has MBR partitions; say which with -p N (1: Linux, 7 MiB)');
    expect((await cli('ls', img, '-p', '3')).stderr).toContain('has no partition 3');
    expect((await cli('ls', img, '-p', '1')).stderr).toContain('partition 1 of');
    expect((await cli('ls', img, '-p', '1')).stderr).toContain('has no filesystem Loopback Studio knows');
  });

  it('says which path does not exist', async () => {
    const img = join(dir, 'paths.img');
    await ok('create', img, '--floppy', '1.44M');
    await ok('format', img, '--fs', 'fat12');
    const result = await cli('get', img, '/nope/file.txt', join(dir, 'x'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('/nope');
  });
});
