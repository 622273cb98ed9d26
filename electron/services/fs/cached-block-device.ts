/**
 * A write-back cache in front of a BlockDevice, for libext2fs: it reads and writes one block per
 * call (a data block, then the indirect block that maps it, again and again), and each call to an
 * image file costs a thread-pool round trip. Here those calls hit memory; dirty blocks go out in
 * long sorted runs when the cache fills up and on flush().
 *
 * Only for a device nobody else touches while the cache lives (a mounted filesystem's).
 */
import { checkRange, type BlockDevice } from '../../../shared/disk/block-device';

/** Dirty and clean data kept before everything is written out and dropped. */
const DEFAULT_LIMIT_BYTES = 32 * 1024 * 1024;
/** Largest single write when dirty runs go out. */
const MAX_RUN_BYTES = 4 * 1024 * 1024;

interface Entry {
  data: Uint8Array;
  dirty: boolean;
}

export class CachedBlockDevice implements BlockDevice {
  private readonly entries = new Map<number, Entry>();

  /** `unitBytes`: the caching granularity, the filesystem's block size; other accesses work too. */
  constructor(
    private readonly device: BlockDevice,
    private readonly unitBytes: number,
    private readonly limitBytes = DEFAULT_LIMIT_BYTES,
  ) {}

  get sizeBytes(): number {
    return this.device.sizeBytes;
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    checkRange(this, offsetBytes, lengthBytes, 'read');
    // The common case, one whole cached unit, without the general machinery.
    const hit = this.wholeUnit(offsetBytes, lengthBytes) ? this.entries.get(offsetBytes / this.unitBytes) : undefined;
    if (hit) return new Uint8Array(hit.data);
    const out = new Uint8Array(lengthBytes);
    await this.forEachUnit(offsetBytes, lengthBytes, (entry, unitStart, from, to) => {
      out.set(entry.data.subarray(from, to), unitStart + from - offsetBytes);
    });
    await this.trim();
    return out;
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkRange(this, offsetBytes, data.length, 'write');
    if (this.wholeUnit(offsetBytes, data.length)) {
      // Always a copy, since callers reuse their buffers (new Uint8Array, not .slice: on a
      // Buffer that is a view); into the cached unit when there is one (inode tables, indirect
      // blocks and bitmaps are rewritten again and again).
      const entry = this.entries.get(offsetBytes / this.unitBytes);
      if (entry) {
        entry.data.set(data);
        entry.dirty = true;
        return;
      }
      this.entries.set(offsetBytes / this.unitBytes, { data: new Uint8Array(data), dirty: true });
      await this.trim();
      return;
    }
    await this.forEachUnit(
      offsetBytes,
      data.length,
      (entry, unitStart, from, to) => {
        entry.data.set(data.subarray(unitStart + from - offsetBytes, unitStart + to - offsetBytes), from);
        entry.dirty = true;
      },
      true,
    );
    await this.trim();
  }

  async flush(): Promise<void> {
    await this.writeDirty();
    await this.device.flush();
  }

  private wholeUnit(offsetBytes: number, lengthBytes: number): boolean {
    return lengthBytes === this.unitBytes && offsetBytes % this.unitBytes === 0;
  }

  /** Bytes of unit `index` that lie on the device (the last unit may be short). */
  private unitLength(index: number): number {
    return Math.min(this.unitBytes, this.sizeBytes - index * this.unitBytes);
  }

  /**
   * Calls `visit` for each unit overlapping [offset, offset + length) with the part [from, to)
   * of the unit that overlaps. Missing units are read from the device in runs, except those a
   * write covers entirely (`forWrite`), which start as zeros.
   */
  private async forEachUnit(
    offsetBytes: number,
    lengthBytes: number,
    visit: (entry: Entry, unitStart: number, from: number, to: number) => void,
    forWrite = false,
  ): Promise<void> {
    if (lengthBytes === 0) return;
    const first = Math.floor(offsetBytes / this.unitBytes);
    const last = Math.floor((offsetBytes + lengthBytes - 1) / this.unitBytes);
    const covered = (index: number) => {
      const start = index * this.unitBytes;
      return forWrite && offsetBytes <= start && start + this.unitLength(index) <= offsetBytes + lengthBytes;
    };
    // Load what is missing, in contiguous runs.
    for (let index = first; index <= last; ) {
      if (this.entries.has(index) || covered(index)) {
        index++;
        continue;
      }
      let end = index;
      while (end + 1 <= last && !this.entries.has(end + 1) && !covered(end + 1)) end++;
      const start = index * this.unitBytes;
      const bytes = await this.device.read(start, Math.min((end + 1) * this.unitBytes, this.sizeBytes) - start);
      for (let i = index; i <= end; i++) {
        const at = (i - index) * this.unitBytes;
        this.entries.set(i, { data: new Uint8Array(bytes.subarray(at, at + this.unitLength(i))), dirty: false });
      }
      index = end + 1;
    }
    for (let index = first; index <= last; index++) {
      let entry = this.entries.get(index);
      if (!entry) {
        entry = { data: new Uint8Array(this.unitLength(index)), dirty: false };
        this.entries.set(index, entry);
      }
      const unitStart = index * this.unitBytes;
      const from = Math.max(offsetBytes, unitStart) - unitStart;
      const to = Math.min(offsetBytes + lengthBytes, unitStart + entry.data.length) - unitStart;
      visit(entry, unitStart, from, to);
    }
  }

  /** Writes every dirty unit, coalescing neighbours into long writes. */
  private async writeDirty(): Promise<void> {
    const dirty = [...this.entries].filter(([, entry]) => entry.dirty).map(([index]) => index).sort((a, b) => a - b);
    const maxUnits = Math.max(1, Math.floor(MAX_RUN_BYTES / this.unitBytes));
    for (let i = 0; i < dirty.length; ) {
      let j = i;
      while (j + 1 < dirty.length && dirty[j + 1] === dirty[j]! + 1 && j + 1 - i < maxUnits) j++;
      const run = dirty.slice(i, j + 1).map((index) => this.entries.get(index)!);
      const bytes = new Uint8Array(run.reduce((sum, entry) => sum + entry.data.length, 0));
      let at = 0;
      for (const entry of run) {
        bytes.set(entry.data, at);
        at += entry.data.length;
        entry.dirty = false;
      }
      await this.device.write(dirty[i]! * this.unitBytes, bytes);
      i = j + 1;
    }
  }

  /** Keeps memory bounded: past the limit, write everything out and start afresh. */
  private async trim(): Promise<void> {
    if (this.entries.size * this.unitBytes <= this.limitBytes) return;
    await this.writeDirty();
    this.entries.clear();
  }
}
