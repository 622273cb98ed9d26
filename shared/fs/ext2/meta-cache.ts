/**
 * The metadata blocks of an open ext2 volume, in memory: inode-table blocks, bitmaps, directory
 * blocks, indirect blocks and slow-symlink blocks. File data never comes here (it goes straight
 * to the device in long writes); metadata is read once, changed in memory, and written back by
 * writeDirty() in sorted runs of adjacent blocks — the few large writes that make a tree copy fast.
 *
 * Entries are stable objects: code that holds one (an inode being edited) sets `dirty` on it.
 * Clean entries may be dropped between operations (trim); dirty and pinned ones stay.
 */
import type { BlockDevice } from '../../disk/block-device';

export interface CacheEntry {
  /** The block's bytes (blockBytes long). */
  readonly data: Uint8Array;
  /** Changed in memory since it was read or last written. */
  dirty: boolean;
  /** Never dropped by trim() (the bitmaps: the allocator keeps references to them). */
  pinned: boolean;
}

/** Largest single write when dirty runs go out. */
const MAX_RUN_BYTES = 8 * 1024 * 1024;

export class MetaCache {
  private readonly entries = new Map<number, CacheEntry>();

  constructor(
    private readonly device: BlockDevice,
    readonly blockBytes: number,
  ) {}

  get sizeBytes(): number {
    return this.entries.size * this.blockBytes;
  }

  dirtyBytes(): number {
    let dirty = 0;
    for (const entry of this.entries.values()) if (entry.dirty) dirty++;
    return dirty * this.blockBytes;
  }

  peek(block: number): CacheEntry | undefined {
    return this.entries.get(block);
  }

  /** The cached block, read from the device when missing. */
  async get(block: number): Promise<CacheEntry> {
    const hit = this.entries.get(block);
    if (hit) return hit;
    const data = await this.device.read(block * this.blockBytes, this.blockBytes);
    // A second reader may have raced us in between (operations are serialised, but be safe).
    const again = this.entries.get(block);
    if (again) return again;
    const entry: CacheEntry = { data, dirty: false, pinned: false };
    this.entries.set(block, entry);
    return entry;
  }

  /** The block's bytes without keeping them: from the cache if there, else straight from the device. */
  async read(block: number): Promise<Uint8Array> {
    const hit = this.entries.get(block);
    return hit ? hit.data : this.device.read(block * this.blockBytes, this.blockBytes);
  }

  /** Loads the missing ones of `blocks`, reading adjacent blocks in one device read. */
  async load(blocks: readonly number[]): Promise<void> {
    const missing = [...new Set(blocks.filter((b) => b !== 0 && !this.entries.has(b)))].sort((a, b) => a - b);
    for (let i = 0; i < missing.length;) {
      let j = i;
      while (j + 1 < missing.length && missing[j + 1] === missing[j]! + 1 && (j + 2 - i) * this.blockBytes <= MAX_RUN_BYTES) j++;
      const first = missing[i]!;
      const bytes = await this.device.read(first * this.blockBytes, (j - i + 1) * this.blockBytes);
      for (let k = i; k <= j; k++) {
        const at = (k - i) * this.blockBytes;
        this.entries.set(missing[k]!, { data: bytes.slice(at, at + this.blockBytes), dirty: false, pinned: false });
      }
      i = j + 1;
    }
  }

  /** A new block of zeros (a block just allocated: what the device holds there does not matter). */
  create(block: number): CacheEntry {
    const entry: CacheEntry = { data: new Uint8Array(this.blockBytes), dirty: true, pinned: false };
    this.entries.set(block, entry);
    return entry;
  }

  /** Forgets a block (freed: its contents are of no interest any more, dirty or not). */
  drop(block: number): void {
    const entry = this.entries.get(block);
    if (entry && !entry.pinned) this.entries.delete(block);
  }

  /**
   * Writes every dirty block, adjacent ones together. A block is marked clean only once its
   * write succeeded, so a failed write-out can be retried.
   */
  async writeDirty(): Promise<number> {
    const dirty = [...this.entries]
      .filter(([, entry]) => entry.dirty)
      .map(([block]) => block)
      .sort((a, b) => a - b);
    const maxBlocks = Math.max(1, Math.floor(MAX_RUN_BYTES / this.blockBytes));
    let writes = 0;
    for (let i = 0; i < dirty.length;) {
      let j = i;
      while (j + 1 < dirty.length && dirty[j + 1] === dirty[j]! + 1 && j + 1 - i < maxBlocks) j++;
      const run = dirty.slice(i, j + 1).map((block) => this.entries.get(block)!);
      let bytes: Uint8Array;
      if (run.length === 1) {
        bytes = run[0]!.data;
      } else {
        bytes = new Uint8Array(run.length * this.blockBytes);
        run.forEach((entry, k) => bytes.set(entry.data, k * this.blockBytes));
      }
      await this.device.write(dirty[i]! * this.blockBytes, bytes);
      for (const entry of run) entry.dirty = false;
      writes++;
      i = j + 1;
    }
    return writes;
  }

  /** Drops every clean, unpinned block (to bound memory between operations). */
  trim(): void {
    for (const [block, entry] of this.entries) {
      if (!entry.dirty && !entry.pinned) this.entries.delete(block);
    }
  }
}
