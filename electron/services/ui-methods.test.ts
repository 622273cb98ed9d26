/**
 * The methods the app's image view, file browser and partition editor call (image.format, fs.*,
 * image.partition with dryRun), through `dispatch` as both transports call them, and checked with
 * the host's own tools: mtools for what is in the FAT, sfdisk for the table, fsck.fat for the
 * filesystem, a hash of the image for "nothing was written".
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobProgress, MethodName, MethodResult } from '../../shared/api/contract';
import { MemoryBlockDevice } from '../../shared/disk/block-device';
import { missingTools, runTool, runToolOk, tempDir } from '../../tests/support/host';
import { createServices, dispatch } from '.';
import { OverlayBlockDevice } from '../../shared/disk/sparse-device';

const events: JobProgress[] = [];
const services = createServices({ shell: 'cli', emit: (event, payload) => event === 'jobProgress' && events.push(payload as JobProgress) });

async function call<K extends MethodName>(name: K, input: unknown): Promise<MethodResult<K>> {
  const result = await dispatch(services.handlers, name, input);
  if (!result.ok) throw Object.assign(new Error(result.error.message), { code: result.error.code });
  return result.value as MethodResult<K>;
}

async function refused(name: MethodName, input: unknown): Promise<{ code: string; message: string }> {
  const result = await dispatch(services.handlers, name, input);
  if (result.ok) throw new Error(`${name} was expected to fail`);
  return result.error;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  events.length = 0;
});
afterEach(() => cleanup());

describe('OverlayBlockDevice (the partition editor’s dry run)', () => {
  it('lets later reads see the writes while the device underneath stays as it was', async () => {
    const base = new MemoryBlockDevice(4096);
    base.bytes.fill(7);
    const cow = new OverlayBlockDevice(base);
    await cow.write(510, new Uint8Array([1, 2, 3, 4]));
    expect([...(await cow.read(508, 8))]).toEqual([7, 7, 1, 2, 3, 4, 7, 7]);
    expect(base.bytes.every((b) => b === 7)).toBe(true);
    expect(cow.sectorsWritten).toBe(2);
  });
});

describe.skipIf(missingTools('mdir', 'mcopy', 'fsck.fat'))('a floppy through the file methods (checked with mtools)', () => {
  async function floppy(): Promise<string> {
    const path = join(dir, 'floppy.img');
    await call('image.create', { path, floppy: '1.44M' });
    await call('image.format', { path, fs: 'fat12', label: 'TESTDISK' });
    return path;
  }

  it('formats as a job with progress, and fsck.fat finds a clean FAT12', async () => {
    const path = await floppy();
    const job = events.filter((e) => e.title === 'Format floppy.img as FAT12');
    expect(job.at(-1)?.state).toBe('done');
    expect(runToolOk('fsck.fat', ['-n', path]).stdout).toMatch(/floppy\.img: \d+ files?/);
  });

  it('copies uploaded bytes in, with their folder, and mcopy reads the same bytes back', async () => {
    const path = await floppy();
    const text = 'hello from a dropped file\n';
    const result = await call('fs.upload', {
      path,
      dest: '/',
      files: [
        { name: 'HELLO.TXT', base64: Buffer.from(text).toString('base64'), modifiedMs: Date.UTC(2024, 0, 2, 3, 4, 6) },
        { name: 'src/main.c', base64: Buffer.from('int main(void){}\n').toString('base64') },
      ],
    });
    expect(result).toMatchObject({ files: 2, folders: 1, bytes: text.length + 17 });
    expect(runToolOk('mdir', ['-i', path, '::/']).stdout).toMatch(/HELLO\s+TXT\s+26 2024-01-02/);
    expect(runToolOk('mcopy', ['-i', path, '::/HELLO.TXT', '-']).stdout).toBe(text);
    expect(runToolOk('mcopy', ['-i', path, '::/SRC/MAIN.C', '-']).stdout).toBe('int main(void){}\n');
    const copy = events.filter((e) => e.title === 'Copy into floppy.img');
    expect(copy.at(-1)).toMatchObject({ state: 'done', itemsDone: 2, itemsTotal: 2 });
    runToolOk('fsck.fat', ['-n', path]);
  });

  it('refuses a file larger than the free space and leaves the image byte for byte as it was', async () => {
    const path = await floppy();
    const before = sha256(path);
    const error = await refused('fs.upload', {
      path,
      dest: '/',
      files: [{ name: 'BIG.BIN', base64: Buffer.alloc(2 * 1024 * 1024).toString('base64') }],
    });
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/^Not enough space in .*floppy\.img: the copy needs at least 2 MiB and .* is free; nothing was copied$/);
    expect(sha256(path)).toBe(before);
  });

  it('refuses upload names that climb out of the drop', async () => {
    const path = await floppy();
    const error = await refused('fs.upload', { path, dest: '/', files: [{ name: '../escape', base64: '' }] });
    expect(error.code).toBe('INVALID_INPUT');
  });

  it('makes, lists, renames, extracts and deletes, as mdir sees it', async () => {
    const path = await floppy();
    const host = join(dir, 'notes.txt');
    writeFileSync(host, 'notes\n');
    await call('fs.mkdir', { path, dir: '/BOOT/GRUB', parents: true });
    await call('fs.put', { path, sources: [host], dest: '/BOOT' });
    await call('fs.rename', { path, from: '/BOOT/notes.txt', to: '/BOOT/readme.txt' });
    const listing = await call('fs.list', { path, dir: '/BOOT' });
    expect(listing.entries.map((e) => [e.name, e.type]).sort()).toEqual([
      ['GRUB', 'directory'],
      ['readme.txt', 'file'],
    ]);
    expect(runToolOk('mdir', ['-i', path, '-b', '::/BOOT']).stdout.split('\n').filter(Boolean).sort()).toEqual([
      '::/BOOT/GRUB/',
      '::/BOOT/readme.txt',
    ]);

    await call('fs.get', { path, source: '/BOOT/readme.txt', out: dir });
    expect(readFileSync(join(dir, 'readme.txt'), 'utf8')).toBe('notes\n');

    await call('fs.remove', { path, target: '/BOOT', recursive: true });
    expect(runTool('mdir', ['-i', path, '::/BOOT']).status).not.toBe(0);
    runToolOk('fsck.fat', ['-n', path]);
  });
});

describe.skipIf(missingTools('sfdisk'))('image.partition with dryRun (checked with sfdisk)', () => {
  it('answers the disk as it would be, and writes nothing', async () => {
    const path = join(dir, 'disk.img');
    await call('image.create', { path, size: '32M' });
    await call('image.partition', { path, table: 'mbr', steps: [{ op: 'add', spec: 'start=2048,size=20480,type=83' }] });
    const before = sha256(path);
    const preview = await call('image.partition', {
      path,
      dryRun: true,
      steps: [
        { op: 'delete', number: '1' },
        { op: 'add', spec: 'number=1,start=2048,size=40960,type=0c,bootable' },
        { op: 'add', spec: 'start=43008,size=8192,type=83' },
      ],
    });
    expect(preview.after.partitions.map((p) => [p.index, p.startSector, p.sectorCount, p.type, p.bootable])).toEqual([
      [1, 2048, 40960, '0c', true],
      [2, 43008, 8192, '83', false],
    ]);
    expect(sha256(path)).toBe(before);
    const table = JSON.parse(runToolOk('sfdisk', ['--json', path]).stdout) as {
      partitiontable: { partitions: Array<{ start: number; size: number }> };
    };
    expect(table.partitiontable.partitions.map((p) => [p.start, p.size])).toEqual([[2048, 20480]]);
  });

  it('refuses overlapping partitions in a dry run with a message naming them', async () => {
    const path = join(dir, 'disk.img');
    await call('image.create', { path, size: '32M' });
    await call('image.partition', { path, table: 'mbr', steps: [{ op: 'add', spec: 'start=2048,size=20480' }] });
    const error = await refused('image.partition', { path, dryRun: true, steps: [{ op: 'add', spec: 'start=10000,size=2048' }] });
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/overlap/i);
    expect(error.message).toMatch(/partition 1/);
  });
});
