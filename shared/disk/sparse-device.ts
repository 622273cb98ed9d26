/**
 * A BlockDevice of any size that keeps only the sectors written to it (the rest read as zeros):
 * a dry run of partitioning a 64 GiB image costs a few KiB. Recipes plan their partition tables
 * on one before anything touches the host's disk.
 */
import { checkRange, type BlockDevice } from './block-device';
import { SECTOR_BYTES } from './sizes';

export class SparseMemoryBlockDevice implements BlockDevice {
  private readonly sectors = new Map<number, Uint8Array>();

  constructor(readonly sizeBytes: number) {}

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    checkRange(this, offsetBytes, lengthBytes, 'read');
    const out = new Uint8Array(lengthBytes);
    for (let at = offsetBytes; at < offsetBytes + lengthBytes; ) {
      const sector = Math.floor(at / SECTOR_BYTES);
      const within = at % SECTOR_BYTES;
      const piece = Math.min(SECTOR_BYTES - within, offsetBytes + lengthBytes - at);
      const stored = this.sectors.get(sector);
      if (stored) out.set(stored.subarray(within, within + piece), at - offsetBytes);
      at += piece;
    }
    return out;
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkRange(this, offsetBytes, data.length, 'write');
    for (let at = offsetBytes; at < offsetBytes + data.length; ) {
      const sector = Math.floor(at / SECTOR_BYTES);
      const within = at % SECTOR_BYTES;
      const piece = Math.min(SECTOR_BYTES - within, offsetBytes + data.length - at);
      let stored = this.sectors.get(sector);
      if (!stored) this.sectors.set(sector, (stored = new Uint8Array(SECTOR_BYTES)));
      stored.set(data.subarray(at - offsetBytes, at - offsetBytes + piece), within);
      at += piece;
    }
  }

  async flush(): Promise<void> {}
}
