/**
 * BlockDevices that keep written sectors in memory, for dry runs:
 * - OverlayBlockDevice reads through to a base device and catches every write in a sector map
 *   that later reads see — the partition editor's preview of an image, which is never written;
 * - SparseMemoryBlockDevice is the same over nothing (unwritten sectors read as zeros): a dry run
 *   of partitioning a 64 GiB image costs a few KiB. Recipes and the wizard plan on one.
 */
import { checkRange, type BlockDevice } from './block-device';
import { SECTOR_BYTES } from './sizes';

export class OverlayBlockDevice implements BlockDevice {
  private readonly sectors = new Map<number, Uint8Array>();

  /** `base` null: a device of `sizeBytes` zeros. */
  constructor(
    private readonly base: BlockDevice | null,
    readonly sizeBytes: number = base?.sizeBytes ?? 0,
  ) {}

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    checkRange(this, offsetBytes, lengthBytes, 'read');
    const out = this.base ? await this.base.read(offsetBytes, lengthBytes) : new Uint8Array(lengthBytes);
    if (this.sectors.size === 0) return out;
    this.eachSector(offsetBytes, lengthBytes, (sector, within, at, piece) => {
      const stored = this.sectors.get(sector);
      if (stored) out.set(stored.subarray(within, within + piece), at - offsetBytes);
    });
    return out;
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkRange(this, offsetBytes, data.length, 'write');
    const pending: [number, number, number, number][] = [];
    this.eachSector(offsetBytes, data.length, (sector, within, at, piece) => pending.push([sector, within, at, piece]));
    for (const [sector, within, at, piece] of pending) {
      let stored = this.sectors.get(sector);
      if (!stored) {
        // A partial write keeps the rest of the sector as it reads now.
        const start = sector * SECTOR_BYTES;
        stored = new Uint8Array(SECTOR_BYTES);
        stored.set(await this.read(start, Math.min(SECTOR_BYTES, this.sizeBytes - start)));
        this.sectors.set(sector, stored);
      }
      stored.set(data.subarray(at - offsetBytes, at - offsetBytes + piece), within);
    }
  }

  async flush(): Promise<void> {}

  /** How many sectors have been written (what a real run would have written). */
  get sectorsWritten(): number {
    return this.sectors.size;
  }

  private eachSector(
    offsetBytes: number,
    lengthBytes: number,
    visit: (sector: number, within: number, at: number, piece: number) => void,
  ): void {
    for (let at = offsetBytes; at < offsetBytes + lengthBytes;) {
      const sector = Math.floor(at / SECTOR_BYTES);
      const within = at % SECTOR_BYTES;
      const piece = Math.min(SECTOR_BYTES - within, offsetBytes + lengthBytes - at);
      visit(sector, within, at, piece);
      at += piece;
    }
  }
}

export class SparseMemoryBlockDevice extends OverlayBlockDevice {
  constructor(sizeBytes: number) {
    super(null, sizeBytes);
  }
}
