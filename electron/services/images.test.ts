import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runToolOk, tempDir } from '../../tests/support/host';
import { FileBlockDevice, withImage } from './file-block-device';
import { createImage } from './images';

let cleanup: (() => void) | undefined;
function dir(): string {
  const t = tempDir();
  cleanup = t.cleanup;
  return t.dir;
}
afterEach(() => cleanup?.());

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('creating image files', () => {
  it('reproduces the article: 1000/16/63 is 516 096 000 bytes, 1 008 000 sectors', async () => {
    const path = join(dir(), 'c.img');
    const image = await createImage({ path, shape: { chs: '1000/16/63' } });
    expect(image).toMatchObject({
      sizeBytes: 516_096_000,
      totalSectors: 1_008_000,
      geometry: { cylinders: 1000, heads: 16, sectorsPerTrack: 63 },
    });
    expect(statSync(path).size).toBe(516_096_000);
    // The same number `dd bs=516096c count=1000` would produce, checked by the OS, not by us.
    expect(runToolOk('stat', ['-c', '%s', path]).stdout.trim()).toBe('516096000');
  });

  it('creates a 4 GiB image sparse: no blocks allocated, in milliseconds', async () => {
    const path = join(dir(), 'big.img');
    const started = performance.now();
    const image = await createImage({ path, shape: { size: '4GiB' } });
    const elapsedMs = performance.now() - started;
    expect(image.sizeBytes).toBe(4 * 2 ** 30);
    // Allocated blocks as the OS reports them (du), not our own figure.
    expect(Number(runToolOk('du', ['-B1', path]).stdout.split('\t')[0])).toBeLessThan(64 * 1024);
    expect(elapsedMs).toBeLessThan(5_000); // generous: zero-filling 4 GiB would take far longer
  });

  it.each([
    ['360K', 368_640, { cylinders: 40, heads: 2, sectorsPerTrack: 9 }],
    ['720K', 737_280, { cylinders: 80, heads: 2, sectorsPerTrack: 9 }],
    ['1.2M', 1_228_800, { cylinders: 80, heads: 2, sectorsPerTrack: 15 }],
    ['1.44M', 1_474_560, { cylinders: 80, heads: 2, sectorsPerTrack: 18 }],
    ['2.88M', 2_949_120, { cylinders: 80, heads: 2, sectorsPerTrack: 36 }],
  ])('makes a %s floppy with its real geometry', async (name, bytes, geometry) => {
    const path = join(dir(), 'f.img');
    const image = await createImage({ path, shape: { floppy: name } });
    expect(image).toMatchObject({ sizeBytes: bytes, geometry, floppy: name });
    expect(statSync(path).size).toBe(bytes);
  });

  it('refuses to overwrite an existing file unless forced, and leaves it unchanged', async () => {
    const path = join(dir(), 'keep.img');
    writeFileSync(path, 'precious bytes');
    const before = sha(path);
    await expect(createImage({ path, shape: { size: '1M' } })).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      message: `${path} already exists; pass --force to replace it (its contents will be lost)`,
    });
    expect(sha(path)).toBe(before);
    await createImage({ path, shape: { size: '1M' }, force: true });
    expect(statSync(path).size).toBe(2 ** 20);
  });

  it('never replaces a device, even when forced, nor a link to one', async () => {
    await expect(createImage({ path: '/dev/null', shape: { size: '1M' }, force: true })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: '/dev/null is a character device, not an image file: Loopback Studio only works on image files here',
    });
    const link = join(dir(), 'link.img');
    symlinkSync('/dev/zero', link);
    await expect(createImage({ path: link, shape: { size: '1M' }, force: true })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it.each([
    [{ size: '1000' }, 'size 1000: 1000 bytes is not a whole number of 512-byte sectors; use 1024 (2 sectors)'],
    [{ size: '16K' }, 'size 16K: 16 KiB is too small for a disk image; the smallest is 32768 bytes (64 sectors)'],
    [{ size: 'big' }, '"big" is not a size'],
    [{ chs: '1000/16' }, '"1000/16" is not a C/H/S geometry: write cylinders/heads/sectors, e.g. 1000/16/63'],
    [{ chs: '1000/256/63' }, 'heads must be a whole number from 1 to 255, not 256'],
    [{ chs: '1000/16/64' }, 'sectorsPerTrack must be a whole number from 1 to 63, not 64'],
    [{ floppy: '1.7M' }, '"1.7M" is not a floppy format: use one of 360K, 720K, 1.2M, 1.44M, 2.88M'],
  ])('refuses %j before creating anything', async (shape, message) => {
    const path = join(dir(), 'bad.img');
    const error = await createImage({ path, shape }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'INVALID_INPUT' });
    expect((error as Error).message).toContain(message);
    expect(existsSync(path)).toBe(false);
  });
});

describe('FileBlockDevice', () => {
  it('reads and writes at offsets, and refuses to go past the end', async () => {
    const path = join(dir(), 'd.img');
    await createImage({ path, shape: { size: '64K' } });
    await withImage(path, true, async (device) => {
      await device.write(32256, new Uint8Array([1, 2, 3]));
      expect([...(await device.read(32256, 4))]).toEqual([1, 2, 3, 0]);
      await expect(device.write(65535, new Uint8Array(2))).rejects.toMatchObject({ code: 'IO' });
      await expect(device.read(-1, 1)).rejects.toMatchObject({ code: 'IO' });
    });
    expect([...readFileSync(path).subarray(32256, 32256 + 3)]).toEqual([1, 2, 3]);
  });

  it('opens only regular files', async () => {
    await expect(FileBlockDevice.open('/dev/zero', { writable: false })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(FileBlockDevice.open('/nonexistent.img', { writable: false })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
