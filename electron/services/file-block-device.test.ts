/**
 * FileBlockDevice's background syncs: started after enough bytes, never overlapping, waited for
 * by flush() and close(), and invisible in what ends up in the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/support/host';
import { FileBlockDevice } from './file-block-device';

const tmp = tempDir('file-device-');
afterAll(() => tmp.cleanup());
let counter = 0;

function image(sizeBytes: number): string {
  const path = join(tmp.dir, `img-${++counter}.img`);
  writeFileSync(path, Buffer.alloc(sizeBytes));
  return path;
}

function piece(index: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (index * 131 + i) & 0xff);
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('FileBlockDevice background syncs', () => {
  it('start every writebackBytes while writes go on; flush() waits for them; the bytes land as written', async () => {
    const path = image(4 * 1024 * 1024);
    const device = await FileBlockDevice.open(path, { writable: true, writebackBytes: 256 * 1024 });
    const expected = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < 64; i++) {
      const data = piece(i, 64 * 1024);
      await device.write(i * 64 * 1024, data);
      expected.set(data, i * 64 * 1024);
      if (i % 4 === 3) await turn(); // let finished syncs report, as files.ts's copy loop does
    }
    expect(device.backgroundSyncs).toBeGreaterThan(1);
    await device.flush();
    await device.flush(); // nothing new: no second sync needed, and no error
    await device.close();
    expect(readFileSync(path).equals(expected)).toBe(true);
  });

  it('close() right after a write that started a sync waits for it (no EBADF, nothing lost)', async () => {
    const path = image(1024 * 1024);
    const device = await FileBlockDevice.open(path, { writable: true, writebackBytes: 1024 });
    await device.write(0, piece(7, 4096));
    expect(device.backgroundSyncs).toBe(1);
    await device.close();
    expect(
      readFileSync(path)
        .subarray(0, 4096)
        .equals(Buffer.from(piece(7, 4096))),
    ).toBe(true);
  });

  it('writebackBytes 0: no background syncs at all', async () => {
    const path = image(1024 * 1024);
    const device = await FileBlockDevice.open(path, { writable: true, writebackBytes: 0 });
    for (let i = 0; i < 16; i++) await device.write(i * 65536, piece(i, 65536));
    expect(device.backgroundSyncs).toBe(0);
    await device.flush();
    await device.close();
  });
});
