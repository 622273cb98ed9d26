/**
 * Files through a mount (issue 17), without root: a plain temporary folder stands in for the
 * mount (volume-mount.ts's finder is replaced), so the code path FAT takes through a mounted
 * volume — which this kernel cannot mount — runs here: the same put/get/ls/mkdir/rm/rename as the
 * CLI and the app call, with FAT's names refused as today, progress, cancel between files, "not
 * enough space" from statfs, a read-only mount, and paths that try to leave the mount (symbolic
 * links, "..") refused or taken as links. The ext2 flavour (modes, links) runs here too; the real
 * mounts are in files-through-mount.test.ts (as root).
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../tests/support/host';
import type { FsType } from '../../shared/fs/types';
import { getFiles, listFiles, makeFolder, putFiles, removePath, renamePath } from './files';
import { uploadFiles } from './uploads';
import { findVolumeMount } from './volume-mount';

vi.mock('./volume-mount', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./volume-mount')>()),
  findVolumeMount: vi.fn(),
}));

const finder = vi.mocked(findVolumeMount);
const tmp = tempDir('mounted-files-');
afterAll(() => tmp.cleanup());
let counter = 0;
let mnt: string;
let host: string;
const ref = { image: '/nonexistent/disk.img', partition: 1 };

function standIn(type: FsType, readOnly = false): void {
  finder.mockResolvedValue({ via: { mountDir: mnt, device: '/dev/loop7', readOnly }, type });
}

async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await work.then(
    () => null,
    (e: { code: string; message: string }) => e,
  );
  expect(error, 'expected a refusal').not.toBeNull();
  return error!;
}

/** Everything under `dir`, relative path → contents ("<dir>" for folders, "-> target" for links). */
function tree(dir: string, base = dir, out: Record<string, string> = {}): Record<string, string> {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const key = path.slice(base.length + 1);
    const stats = lstatSync(path);
    if (stats.isSymbolicLink()) out[key] = `-> ${readlinkSync(path)}`;
    else if (stats.isDirectory()) {
      out[key] = '<dir>';
      tree(path, base, out);
    } else out[key] = readFileSync(path, 'latin1');
  }
  return out;
}

beforeEach(() => {
  const root = join(tmp.dir, `case-${++counter}`);
  mnt = join(root, 'mnt');
  host = join(root, 'host');
  mkdirSync(mnt, { recursive: true });
  mkdirSync(join(host, 'src', 'sub'), { recursive: true });
  writeFileSync(join(host, 'src', 'a.txt'), 'alpha\n');
  writeFileSync(join(host, 'src', 'sub', 'b.bin'), Buffer.alloc(5000, 7));
  writeFileSync(join(host, 'outside-secret.txt'), 'not yours\n');
});
afterEach(() => {
  finder.mockReset();
  vi.restoreAllMocks();
});

describe('FAT through a mount (a temp folder stands in)', () => {
  it('put copies a tree into the mount with progress and says it went through it; ls, get, mkdir, rename and rm act there too', async () => {
    standIn('fat32');
    const progress: number[] = [];
    const put = await putFiles(ref, [join(host, 'src')], '/', { onProgress: (p) => progress.push(p.itemsDone ?? 0) });
    expect(put).toMatchObject({ files: 2, folders: 2, bytes: 5006, via: { mountDir: mnt, device: '/dev/loop7', readOnly: false } });
    expect(progress.at(-1)).toBe(2);
    expect(tree(mnt)).toEqual({ src: '<dir>', 'src/a.txt': 'alpha\n', 'src/sub': '<dir>', 'src/sub/b.bin': '\x07'.repeat(5000) });
    // Times as the host files had them; no mode bits on FAT.
    expect(Math.abs(statSync(join(mnt, 'src/a.txt')).mtimeMs - statSync(join(host, 'src/a.txt')).mtimeMs)).toBeLessThan(1000);

    const listing = await listFiles(ref, '/src');
    expect(listing.via?.mountDir).toBe(mnt);
    expect(listing.entries.map((e) => [e.name, e.type, e.sizeBytes, e.mode])).toEqual([
      ['a.txt', 'file', 6, null],
      ['sub', 'directory', expect.any(Number), null],
    ]);

    expect(await makeFolder(ref, '/made/deeper', true)).toEqual({ path: '/made/deeper', via: expect.objectContaining({ mountDir: mnt }) });
    expect(statSync(join(mnt, 'made/deeper')).isDirectory()).toBe(true);
    expect((await refusal(makeFolder(ref, '/made', false))).code).toBe('ALREADY_EXISTS');

    expect(await renamePath(ref, '/src/a.txt', '/made/renamed.txt')).toMatchObject({
      from: '/src/a.txt',
      to: '/made/renamed.txt',
      via: { mountDir: mnt },
    });
    expect(readFileSync(join(mnt, 'made/renamed.txt'), 'utf8')).toBe('alpha\n');
    // Like the rootless engine: a rename never overwrites, and a folder cannot go into itself.
    writeFileSync(join(mnt, 'made/taken.txt'), 'x');
    expect((await refusal(renamePath(ref, '/made/renamed.txt', '/made/taken.txt'))).code).toBe('ALREADY_EXISTS');
    expect((await refusal(renamePath(ref, '/made', '/made/deeper/made'))).message).toMatch(/into itself/);

    const got = await getFiles(ref, '/src', join(host, 'out'));
    expect(got).toMatchObject({ files: 1, bytes: 5000, via: { mountDir: mnt } });
    expect(readFileSync(join(host, 'out/sub/b.bin')).equals(Buffer.alloc(5000, 7))).toBe(true);

    const notEmpty = await refusal(removePath(ref, '/src', false));
    expect(notEmpty).toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/\/src is not empty .*recursively/) });
    expect(await removePath(ref, '/src', true)).toMatchObject({ path: '/src', via: { mountDir: mnt } });
    expect(await removePath(ref, '/made/taken.txt', false)).toMatchObject({ path: '/made/taken.txt' });
    expect(tree(mnt)).toEqual({ made: '<dir>', 'made/deeper': '<dir>', 'made/renamed.txt': 'alpha\n' });
  });

  it('FAT names are refused as today, before anything is written', async () => {
    standIn('fat16');
    writeFileSync(join(host, 'src', 'what?.txt'), 'q');
    expect((await refusal(putFiles(ref, [join(host, 'src')], '/'))).code).toBe('INVALID_INPUT');
    expect(readdirSync(mnt)).toEqual([]);
    expect((await refusal(makeFolder(ref, '/bad:name', false))).code).toBe('INVALID_INPUT');
    mkdirSync(join(mnt, 'ok'));
    expect((await refusal(renamePath(ref, '/ok', '/trailing.'))).code).toBe('INVALID_INPUT');
    expect(readdirSync(mnt)).toEqual(['ok']);
  });

  it('a host symlink is followed into FAT, which stores no links', async () => {
    standIn('fat32');
    symlinkSync('a.txt', join(host, 'src', 'link.txt'));
    await putFiles(ref, [join(host, 'src')], '/');
    expect(lstatSync(join(mnt, 'src/link.txt')).isFile()).toBe(true);
    expect(readFileSync(join(mnt, 'src/link.txt'), 'utf8')).toBe('alpha\n');
  });

  it('"not enough space" comes from statfs and nothing is copied', async () => {
    standIn('fat32');
    const real = fsp.statfs.bind(fsp);
    vi.spyOn(fsp, 'statfs').mockImplementation(
      async (path: Parameters<typeof fsp.statfs>[0]) => ({ ...(await real(path)), bsize: 4096, blocks: 100, bfree: 1, bavail: 1 }) as never,
    );
    const error = await refusal(putFiles(ref, [join(host, 'src')], '/'));
    expect(error).toMatchObject({
      code: 'VALIDATION',
      message: expect.stringMatching(
        /^Not enough space in partition 1 of .*disk\.img: the copy needs at least .* and 4 KiB is free; nothing was copied$/,
      ),
    });
    expect(readdirSync(mnt)).toEqual([]);
  });

  it('a cancelled copy stops between files: each file whole or absent, no temporary file left', async () => {
    standIn('fat32');
    for (let i = 0; i < 30; i++) writeFileSync(join(host, 'src', `f${String(i).padStart(2, '0')}.bin`), Buffer.alloc(20_000, i));
    const controller = new AbortController();
    let seen = 0;
    const error = await refusal(
      putFiles(ref, [join(host, 'src')], '/', {
        signal: controller.signal,
        onProgress: (p) => {
          seen = p.itemsDone ?? 0;
          if (seen === 5) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('CANCELLED');
    const copied = Object.entries(tree(mnt)).filter(([, v]) => v !== '<dir>');
    expect(copied.length).toBeGreaterThanOrEqual(5);
    expect(copied.length).toBeLessThan(32);
    for (const [path, content] of copied) {
      expect(path).not.toMatch(/loopstudio-.*\.part/);
      expect(Buffer.from(content, 'latin1').equals(readFileSync(join(host, path)))).toBe(true);
    }
  });

  it('a read-only mount is read through and refuses every write with the mount named', async () => {
    writeFileSync(join(mnt, 'kept.txt'), 'kept\n');
    standIn('fat32', true);
    expect((await listFiles(ref, '/')).entries.map((e) => e.name)).toEqual(['kept.txt']);
    expect(await getFiles(ref, '/kept.txt', join(host, 'kept.txt'))).toMatchObject({ files: 1, via: { readOnly: true } });
    for (const write of [
      () => putFiles(ref, [join(host, 'src')], '/'),
      () => makeFolder(ref, '/x', false),
      () => removePath(ref, '/kept.txt', false),
      () => renamePath(ref, '/kept.txt', '/y'),
    ]) {
      expect(await refusal(write())).toMatchObject({ code: 'IN_USE', message: expect.stringContaining(`is mounted read-only at ${mnt}`) });
    }
    expect(readdirSync(mnt)).toEqual(['kept.txt']);
  });

  it('a drop from a browser (fs.upload) goes through the mount too', async () => {
    standIn('fat32');
    const result = await uploadFiles(ref, '/', [
      { name: 'one.txt', data: Buffer.from('1') },
      { name: 'docs/two.txt', data: Buffer.from('22') },
    ]);
    expect(result).toMatchObject({ files: 2, folders: 1, via: { mountDir: mnt } });
    expect(tree(mnt)).toEqual({ docs: '<dir>', 'docs/two.txt': '22', 'one.txt': '1' });
  });
});

describe('paths stay inside the mount', () => {
  beforeEach(() => {
    mkdirSync(join(mnt, 'real'));
    writeFileSync(join(mnt, 'real', 'inside.txt'), 'inside\n');
    // Links an untrusted filesystem may hold: out of the mount, absolute and relative.
    symlinkSync(host, join(mnt, 'out-abs'));
    symlinkSync('../host', join(mnt, 'out-rel'));
    symlinkSync(join(host, 'outside-secret.txt'), join(mnt, 'secret-link'));
  });

  it.each(['fat32', 'ext2'] as const)('%s: links are listed as links and never followed, for reading or writing', async (type) => {
    standIn(type);
    const before = tree(host);
    const listing = await listFiles(ref, '/');
    expect(listing.entries.filter((e) => e.type === 'symlink').map((e) => [e.name, e.target])).toEqual([
      ['out-abs', host],
      ['out-rel', '../host'],
      ['secret-link', join(host, 'outside-secret.txt')],
    ]);
    expect((await listFiles(ref, '/secret-link')).entries).toEqual([expect.objectContaining({ name: 'secret-link', type: 'symlink' })]);
    const through = [
      () => listFiles(ref, '/out-abs/src'),
      () => listFiles(ref, '/out-rel/src'),
      () => getFiles(ref, '/out-abs/outside-secret.txt', join(tmp.dir, `leak-${counter}`)),
      () => putFiles(ref, [join(host, 'src', 'a.txt')], '/out-abs/planted.txt'),
      () => putFiles(ref, [join(host, 'src', 'a.txt')], '/out-rel/planted.txt'),
      () => makeFolder(ref, '/out-abs/planted', false),
      () => makeFolder(ref, '/out-rel/x/y', true),
      () => renamePath(ref, '/real/inside.txt', '/out-abs/moved.txt'),
      () => removePath(ref, '/out-abs/outside-secret.txt', false),
    ];
    for (const attempt of through) {
      const error = await refusal(attempt());
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toMatch(/^\/out-(abs|rel) is a symbolic link: through a mount, Loopback Studio does not follow links/);
    }
    // Writing a file over a link, or into "the folder" a link names, is refused: the link's target is untouched.
    expect((await refusal(putFiles(ref, [join(host, 'src', 'a.txt')], '/secret-link'))).code).toBe('ALREADY_EXISTS');
    expect((await refusal(putFiles(ref, [join(host, 'src', 'a.txt')], '/out-abs/'))).message).toBe(
      '/out-abs exists and is a symbolic link, not a file; remove it first',
    );
    expect(tree(host)).toEqual(before);
  });

  it('a link is copied out as a link (ext2), and rm removes the link, not what it points to', async () => {
    standIn('ext2');
    const out = join(tmp.dir, `out-${counter}`);
    await getFiles(ref, '/', out);
    expect(readlinkSync(join(out, 'secret-link'))).toBe(join(host, 'outside-secret.txt'));
    expect(readFileSync(join(out, 'real/inside.txt'), 'utf8')).toBe('inside\n');
    await removePath(ref, '/out-abs', true);
    await removePath(ref, '/secret-link', false);
    expect(readdirSync(mnt).sort()).toEqual(['out-rel', 'real']);
    expect(readFileSync(join(host, 'outside-secret.txt'), 'utf8')).toBe('not yours\n');
    expect(readdirSync(join(host, 'src')).sort()).toEqual(['a.txt', 'sub']);
  });

  it('".." cannot climb out: it is resolved inside the volume first', async () => {
    standIn('ext2');
    expect((await listFiles(ref, '/../../..')).entries.map((e) => e.name)).toContain('real');
    expect((await refusal(listFiles(ref, '/../host'))).code).toBe('NOT_FOUND');
    await putFiles(ref, [join(host, 'src', 'a.txt')], '/../../a.txt');
    expect(readFileSync(join(mnt, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(readdirSync(join(mnt, '..')).sort()).toEqual(['host', 'mnt']);
  });
});

describe('ext2 through a mount (a temp folder stands in)', () => {
  it('keeps modes and symbolic links, and replaces a file whole', async () => {
    standIn('ext2');
    const { chmodSync } = await import('node:fs');
    chmodSync(join(host, 'src', 'a.txt'), 0o751);
    chmodSync(join(host, 'src', 'sub'), 0o700);
    symlinkSync('sub/b.bin', join(host, 'src', 'link'));
    await putFiles(ref, [join(host, 'src')], '/');
    expect(statSync(join(mnt, 'src/a.txt')).mode & 0o7777).toBe(0o751);
    expect(statSync(join(mnt, 'src/sub')).mode & 0o7777).toBe(0o700);
    expect(readlinkSync(join(mnt, 'src/link'))).toBe('sub/b.bin');
    const listing = await listFiles(ref, '/src');
    expect(listing.entries.find((e) => e.name === 'a.txt')?.mode).toBe(0o751);
    expect(listing.entries.find((e) => e.name === 'link')).toMatchObject({ type: 'symlink', target: 'sub/b.bin' });

    writeFileSync(join(host, 'new-a.txt'), 'replaced\n');
    await putFiles(ref, [join(host, 'new-a.txt')], '/src/a.txt');
    expect(readFileSync(join(mnt, 'src/a.txt'), 'utf8')).toBe('replaced\n');
    expect(readdirSync(join(mnt, 'src')).sort()).toEqual(['a.txt', 'link', 'sub']);
    // A folder is not replaced by a file.
    mkdirSync(join(host, 'x'));
    writeFileSync(join(host, 'x', 'sub'), 'a file named like the folder');
    expect(await refusal(putFiles(ref, [join(host, 'x', 'sub')], '/src'))).toMatchObject({
      code: 'ALREADY_EXISTS',
      message: '/src/sub exists and is a folder, not a file; remove it first',
    });
    expect(statSync(join(mnt, 'src/sub')).isDirectory()).toBe(true);
  });

  it('a name longer than ext2 allows is refused', async () => {
    standIn('ext2');
    expect((await refusal(makeFolder(ref, `/${'é'.repeat(200)}`, false))).message).toMatch(/400 bytes; ext2 names are at most 255 bytes/);
  });
});
