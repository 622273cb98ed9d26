import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice, type BlockDevice } from '../../../shared/disk/block-device';
import { CachedBlockDevice } from './cached-block-device';

/** Counts the calls that reach the device below the cache. */
class CountingDevice extends MemoryBlockDevice {
  reads = 0;
  writes = 0;
  override async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    this.reads++;
    return super.read(offsetBytes, lengthBytes);
  }
  override async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    this.writes++;
    return super.write(offsetBytes, data);
  }
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

/** Offsets and lengths around unit boundaries, where the cache's cases meet, and anywhere. */
const access = (size: number) => {
  const offset = fc.oneof(
    fc.nat(size - 1),
    fc.nat(Math.floor(size / 1024) - 1).chain((k) => fc.constantFrom(k * 1024, k * 1024 + 1, k * 1024 + 1023)),
    fc.nat(Math.floor(size / 4096) - 1).map((k) => k * 4096),
  );
  const length = fc.oneof(fc.nat(3000), fc.constantFrom(1, 1023, 1024, 1025, 2048, 4096, 4097, 8192));
  return fc.oneof(
    fc.record({ kind: fc.constant('read' as const), offset, length }),
    fc.record({ kind: fc.constant('write' as const), offset, length, fill: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('flush' as const) }),
  );
};

describe('CachedBlockDevice', () => {
  it('reads and writes like the device itself, whatever the alignment, across evictions (property)', async () => {
    // A size that is not a multiple of the unit, so the last unit is short.
    const size = 64 * 1024 + 700;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1024, 4096), fc.array(access(size), { maxLength: 60 }), async (unit, accesses) => {
        const initial = Uint8Array.from({ length: size }, (_, i) => i % 253);
        const mirror: BlockDevice = new MemoryBlockDevice(initial.slice());
        const below = new MemoryBlockDevice(initial.slice());
        const cache = new CachedBlockDevice(below, unit, 16 * 1024);
        for (const a of accesses) {
          if (a.kind === 'flush') {
            await cache.flush();
            continue;
          }
          const length = Math.min(a.length, size - a.offset);
          if (a.kind === 'read') {
            expect(same(await cache.read(a.offset, length), await mirror.read(a.offset, length))).toBe(true);
          } else {
            const data = new Uint8Array(length).fill(a.fill);
            await cache.write(a.offset, data);
            await mirror.write(a.offset, data);
            data.fill(0); // the caller reusing its buffer must not change what was written
          }
        }
        await cache.flush();
        expect(same(below.bytes, await mirror.read(0, size))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('turns block-by-block writes into a few long ones, and nothing reaches the device before flush', async () => {
    const below = new CountingDevice(1024 * 1024);
    const cache = new CachedBlockDevice(below, 1024);
    for (let block = 0; block < 512; block++) await cache.write(block * 1024, new Uint8Array(1024).fill(block & 0xff));
    for (let block = 0; block < 512; block++) await cache.read(block * 1024, 1024);
    expect(below.writes).toBe(0);
    expect(below.reads).toBe(0);
    await cache.flush();
    expect(below.writes).toBe(1);
    expect(below.bytes[511 * 1024]).toBe(511 & 0xff);
  });

  it('refuses accesses outside the device, like any BlockDevice', async () => {
    const cache = new CachedBlockDevice(new MemoryBlockDevice(4096), 1024);
    await expect(cache.read(4000, 200)).rejects.toThrow(/outside the device/);
    await expect(cache.write(-1, new Uint8Array(1))).rejects.toThrow(/outside the device/);
  });
});
