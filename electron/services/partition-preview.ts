/**
 * A dry run of partitioning: the same editPartitions the real edit uses, on the image read-only
 * with every write caught in memory. The partition editor stages changes with it (each one is
 * validated with all the others before it is accepted) and shows the disk as it would become;
 * the image file is never opened for writing.
 */
import { checkRange, type BlockDevice } from '../../shared/disk/block-device';
import { editPartitions, type PartitionEditPlan, type PartitionEditResult } from '../../shared/disk/partition-edits';
import { SECTOR_BYTES } from '../../shared/disk/sizes';
import { withImage } from './file-block-device';

/** Reads through to `base`; writes land in a sector map that later reads see. */
export class CopyOnWriteDevice implements BlockDevice {
  private readonly written = new Map<number, Uint8Array>();

  constructor(private readonly base: BlockDevice) {}

  get sizeBytes(): number {
    return this.base.sizeBytes;
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    checkRange(this, offsetBytes, lengthBytes, 'read');
    const out = await this.base.read(offsetBytes, lengthBytes);
    if (this.written.size === 0) return out;
    const first = Math.floor(offsetBytes / SECTOR_BYTES);
    const last = Math.floor((offsetBytes + lengthBytes - 1) / SECTOR_BYTES);
    for (let sector = first; sector <= last; sector += 1) {
      const stored = this.written.get(sector);
      if (!stored) continue;
      const sectorStart = sector * SECTOR_BYTES;
      const from = Math.max(offsetBytes, sectorStart);
      const to = Math.min(offsetBytes + lengthBytes, sectorStart + SECTOR_BYTES);
      out.set(stored.subarray(from - sectorStart, to - sectorStart), from - offsetBytes);
    }
    return out;
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkRange(this, offsetBytes, data.length, 'write');
    for (let at = offsetBytes; at < offsetBytes + data.length; ) {
      const sector = Math.floor(at / SECTOR_BYTES);
      const within = at % SECTOR_BYTES;
      const piece = Math.min(SECTOR_BYTES - within, offsetBytes + data.length - at);
      let stored = this.written.get(sector);
      if (!stored) {
        stored = await this.read(sector * SECTOR_BYTES, Math.min(SECTOR_BYTES, this.sizeBytes - sector * SECTOR_BYTES));
        this.written.set(sector, stored);
      }
      stored.set(data.subarray(at - offsetBytes, at - offsetBytes + piece), within);
      at += piece;
    }
  }

  async flush(): Promise<void> {}

  /** How many sectors the run would have written. */
  get sectorsWritten(): number {
    return this.written.size;
  }
}

/** What `partitionImage` would do, validated the same way, with the image left untouched. */
export async function previewPartitions(path: string, plan: PartitionEditPlan): Promise<PartitionEditResult & { path: string }> {
  return withImage(path, false, async (device) => ({ path, ...(await editPartitions(new CopyOnWriteDevice(device), plan)) }));
}
