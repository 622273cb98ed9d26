/**
 * The File Allocation Table, held in memory (one copy: at most a few MiB) with the sectors that
 * changed remembered, so only those are written back — to every FAT copy, identically.
 *
 * Entry formats (Microsoft FAT spec v1.03, section "FAT Data Structure"): FAT12 packs two 12-bit
 * entries into 3 bytes (an entry may straddle two sectors: both are marked dirty), FAT16 entries
 * are 16 bits, FAT32 entries 32 bits of which only the low 28 are the cluster number — the high
 * 4 are reserved and kept as found when an entry is changed.
 *
 * Changes can be grouped in a transaction (`begin` … `commit`/`rollback`): a failed or cancelled
 * operation puts every entry back.
 *
 * Clusters freed since the FAT was last written out are "quarantined": they count as free, but
 * are not handed out again until `releaseQuarantine()` (after the write-out). Until then the
 * FAT on disk still gives them to their old files, so new data must not land in them.
 */
import { LoopbackError } from '../../errors';
import { FIRST_DATA_CLUSTER, type FatType } from './layout';

/** A run of consecutive clusters. */
export interface ClusterRun {
  start: number;
  length: number;
}

/** Every cluster of `runs`, in order. */
export function clustersOf(runs: readonly ClusterRun[]): number[] {
  const clusters: number[] = [];
  for (const run of runs) for (let c = run.start; c < run.start + run.length; c++) clusters.push(c);
  return clusters;
}

/** FAT spec: values from these up mean end of chain (EOC). */
const EOC_MIN: Record<FatType, number> = { fat12: 0xff8, fat16: 0xfff8, fat32: 0x0ffffff8 };
/** FAT spec: the EOC value to write ("set to the maximum value": all ones). */
const EOC_MARK: Record<FatType, number> = { fat12: 0xfff, fat16: 0xffff, fat32: 0x0fffffff };
/** FAT spec: the bad-cluster mark. */
const BAD_CLUSTER: Record<FatType, number> = { fat12: 0xff7, fat16: 0xfff7, fat32: 0x0ffffff7 };
/** FAT32: the low 28 bits are the entry; the high 4 are reserved (FAT spec). */
const FAT32_MASK = 0x0fffffff;

export class FatTable {
  private readonly view: DataView;
  /** Highest valid data cluster number. */
  readonly maxCluster: number;
  private free = 0;
  /** Where the next allocation starts looking (FSI_Nxt_Free's role). */
  private hint = FIRST_DATA_CLUSTER;
  /** 1 for each sector (of one FAT copy) changed since the last takeDirtySectors(), listed in `dirtyList`. */
  private readonly dirtyFlags: Uint8Array;
  private dirtyList: number[] = [];
  private undo: Map<number, number> | null = null;
  /**
   * Runs allocated since begin(). Their clusters were free (0) before, so rollback() zeroes them
   * instead of keeping each cluster's old value in `undo` (allocation is the hot path: a cluster
   * per 4 KiB written).
   */
  private undoAllocated: ClusterRun[] = [];
  private undoFree = 0;
  private undoHint = 0;
  /** 1 for each cluster freed since the last write-out (see the file comment). */
  private readonly quarantine: Uint8Array;
  private quarantined = 0;
  private undoQuarantine: number[] = [];

  constructor(
    readonly type: FatType,
    /** One FAT copy, as read from the disk (modified in place). */
    readonly bytes: Uint8Array,
    readonly clusterCount: number,
    readonly bytesPerSector: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxCluster = clusterCount + FIRST_DATA_CLUSTER - 1;
    this.quarantine = new Uint8Array(this.maxCluster + 1);
    this.dirtyFlags = new Uint8Array(Math.ceil(bytes.length / bytesPerSector));
    const needed = this.entryOffset(this.maxCluster) + (type === 'fat32' ? 4 : 2);
    if (needed > bytes.length) {
      throw new LoopbackError('VALIDATION', `The FAT (${bytes.length} bytes) is too small for ${clusterCount} clusters`, {
        fatBytes: bytes.length,
        clusterCount,
      });
    }
    this.free = this.countFree();
  }

  /** Free entries from cluster 2 on, counted once when the FAT is read. */
  private countFree(): number {
    let free = 0;
    if (this.type === 'fat32' && this.bytes.byteOffset % 4 === 0) {
      // The common big case, without get()'s switch per entry: a whole FAT32 of a 32 GiB volume
      // has a million entries, and this runs on every open.
      const entries = new Uint32Array(this.bytes.buffer, this.bytes.byteOffset, this.maxCluster + 1);
      const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
      if (little) {
        for (let c = FIRST_DATA_CLUSTER; c <= this.maxCluster; c++) if (((entries[c] ?? 0) & FAT32_MASK) === 0) free++;
        return free;
      }
    }
    for (let c = FIRST_DATA_CLUSTER; c <= this.maxCluster; c++) if (this.get(c) === 0) free++;
    return free;
  }

  get eocMark(): number {
    return EOC_MARK[this.type];
  }

  /** Free clusters, including those freed since the last write-out (what df reports). */
  get freeClusters(): number {
    return this.free;
  }

  /** Free clusters that can be allocated now (not quarantined). */
  get allocatableClusters(): number {
    return this.free - this.quarantined;
  }

  /** The next cluster that is probably free (for FSI_Nxt_Free). */
  get nextFreeHint(): number {
    return this.hint;
  }

  isEndOfChain(value: number): boolean {
    return value >= EOC_MIN[this.type];
  }

  isBad(value: number): boolean {
    return value === BAD_CLUSTER[this.type];
  }

  private entryOffset(cluster: number): number {
    switch (this.type) {
      case 'fat12':
        return cluster + (cluster >> 1);
      case 'fat16':
        return cluster * 2;
      case 'fat32':
        return cluster * 4;
    }
  }

  get(cluster: number): number {
    const offset = this.entryOffset(cluster);
    switch (this.type) {
      case 'fat12': {
        const pair = this.view.getUint16(offset, true);
        return cluster & 1 ? pair >> 4 : pair & 0x0fff;
      }
      case 'fat16':
        return this.view.getUint16(offset, true);
      case 'fat32':
        return this.view.getUint32(offset, true) & FAT32_MASK;
    }
  }

  set(cluster: number, value: number): void {
    if (this.undo && !this.undo.has(cluster)) this.undo.set(cluster, this.get(cluster));
    this.store(cluster, value);
  }

  /** Sets an entry without an undo record. */
  private store(cluster: number, value: number): void {
    const offset = this.entryOffset(cluster);
    let width = 2;
    switch (this.type) {
      case 'fat12': {
        const pair = this.view.getUint16(offset, true);
        const next = cluster & 1 ? (pair & 0x000f) | ((value & 0x0fff) << 4) : (pair & 0xf000) | (value & 0x0fff);
        this.view.setUint16(offset, next, true);
        break;
      }
      case 'fat16':
        this.view.setUint16(offset, value & 0xffff, true);
        break;
      case 'fat32': {
        const reserved = this.view.getUint32(offset, true) & ~FAT32_MASK;
        this.view.setUint32(offset, (reserved | (value & FAT32_MASK)) >>> 0, true);
        width = 4;
        break;
      }
    }
    this.markSector(Math.floor(offset / this.bytesPerSector));
    this.markSector(Math.floor((offset + width - 1) / this.bytesPerSector));
  }

  private markSector(sector: number): void {
    if (this.dirtyFlags[sector]) return;
    this.dirtyFlags[sector] = 1;
    this.dirtyList.push(sector);
  }

  /** The clusters of the chain starting at `first`, as runs; throws CORRUPT on a broken chain. */
  chainRuns(first: number): ClusterRun[] {
    const runs: ClusterRun[] = [];
    let cluster = first;
    let count = 0;
    while (true) {
      if (cluster < FIRST_DATA_CLUSTER || cluster > this.maxCluster) {
        throw new LoopbackError(
          'CORRUPT',
          `Broken cluster chain from cluster ${first}: it points to ${cluster}, outside 2..${this.maxCluster} (run fsck.fat)`,
          {
            first,
            cluster,
          },
        );
      }
      if (++count > this.clusterCount) {
        throw new LoopbackError('CORRUPT', `The cluster chain from cluster ${first} loops (run fsck.fat)`, { first });
      }
      const last = runs[runs.length - 1];
      if (last && last.start + last.length === cluster) last.length++;
      else runs.push({ start: cluster, length: 1 });
      const next = this.get(cluster);
      if (this.isEndOfChain(next)) return runs;
      if (next === 0 || this.isBad(next)) {
        throw new LoopbackError(
          'CORRUPT',
          `The cluster chain from cluster ${first} runs into a ${next === 0 ? 'free' : 'bad'} cluster at ${cluster} (run fsck.fat)`,
          {
            first,
            cluster,
          },
        );
      }
      cluster = next;
    }
  }

  /**
   * Allocates `count` clusters as one chain (ending in EOC), preferring a single contiguous run
   * from the hint onwards, else the first free runs found. The caller has checked the free count.
   */
  allocate(count: number): ClusterRun[] {
    if (count === 0) return [];
    if (count > this.allocatableClusters) {
      throw new LoopbackError('VALIDATION', `Cannot allocate ${count} clusters: ${this.allocatableClusters} are free`, {
        count,
        free: this.allocatableClusters,
      });
    }
    const runs = this.findContiguous(count) ?? this.findScattered(count);
    // Every cluster handed out is free now, and free clusters are never in quarantine: each was
    // 0 when the transaction began, which is what rollback() puts back (see undoAllocated).
    if (this.undo) for (const run of runs) this.undoAllocated.push({ ...run });
    let previous = 0;
    for (const run of runs) {
      for (let c = run.start; c < run.start + run.length; c++) {
        if (previous) this.store(previous, c);
        previous = c;
      }
    }
    this.store(previous, this.eocMark);
    this.free -= count;
    const last = runs[runs.length - 1];
    this.hint = last && last.start + last.length <= this.maxCluster ? last.start + last.length : FIRST_DATA_CLUSTER;
    return runs;
  }

  /** Appends `count` new clusters to the chain that ends at `lastCluster`. */
  extend(lastCluster: number, count: number): ClusterRun[] {
    const runs = this.allocate(count);
    const first = runs[0];
    if (first) this.set(lastCluster, first.start);
    return runs;
  }

  /** Marks every cluster of the chain from `first` free (and quarantined until the next write-out). */
  freeChain(first: number): void {
    if (first === 0) return;
    for (const run of this.chainRuns(first)) {
      for (let c = run.start; c < run.start + run.length; c++) {
        this.set(c, 0);
        this.quarantine[c] = 1;
        if (this.undo) this.undoQuarantine.push(c);
      }
      this.free += run.length;
      this.quarantined += run.length;
    }
  }

  /** After the FAT has been written out: freed clusters may be allocated again. */
  releaseQuarantine(): void {
    if (this.quarantined === 0) return;
    this.quarantine.fill(0);
    this.quarantined = 0;
  }

  /**
   * Free clusters in allocation order (from the hint to the end, then from cluster 2), grouped
   * into runs. With `contiguous`, returns the first run of `count` clusters or null; otherwise the
   * first runs that add up to `count`. Stops scanning as soon as it has what it needs.
   */
  private findFree(count: number, contiguous: boolean): ClusterRun[] | null {
    const runs: ClusterRun[] = [];
    let found = 0;
    const ranges: Array<[number, number]> = [[this.hint, this.maxCluster]];
    if (this.hint > FIRST_DATA_CLUSTER) ranges.push([FIRST_DATA_CLUSTER, this.hint - 1]);
    for (const [from, to] of ranges) {
      let start = -1;
      for (let c = from; c <= to; c++) {
        if (this.get(c) !== 0 || this.quarantine[c] === 1) {
          start = -1;
          continue;
        }
        if (start < 0) start = c;
        const length = c - start + 1;
        if (contiguous) {
          if (length === count) return [{ start, length }];
          continue;
        }
        const last = runs[runs.length - 1];
        if (last && last.start === start) last.length = length;
        else runs.push({ start, length: 1 });
        if (++found === count) return runs;
      }
    }
    return contiguous ? null : runs;
  }

  private findContiguous(count: number): ClusterRun[] | null {
    return this.findFree(count, true);
  }

  private findScattered(count: number): ClusterRun[] {
    return this.findFree(count, false) ?? [];
  }

  /** Starts a transaction: later changes can be undone with rollback(). */
  begin(): void {
    this.undo = new Map();
    this.undoAllocated = [];
    this.undoFree = this.free;
    this.undoHint = this.hint;
    this.undoQuarantine = [];
  }

  /** Keeps the changes since begin() (they still have to be written: see takeDirtySectors). */
  commit(): void {
    this.undo = null;
    this.undoAllocated = [];
  }

  /** Undoes every change since begin(). */
  rollback(): void {
    const undo = this.undo;
    this.undo = null;
    if (!undo) return;
    for (const [cluster, value] of undo) this.store(cluster, value);
    // After the entries above: a cluster allocated and then changed again goes back to free.
    for (const run of this.undoAllocated) for (let c = run.start; c < run.start + run.length; c++) this.store(c, 0);
    this.undoAllocated = [];
    for (const cluster of this.undoQuarantine) this.quarantine[cluster] = 0;
    this.quarantined -= this.undoQuarantine.length;
    this.undoQuarantine = [];
    this.free = this.undoFree;
    this.hint = this.undoHint;
  }

  /** Marks sectors (within one FAT copy) as changed again, after a failed write-out. */
  markDirty(sectors: readonly number[]): void {
    for (const sector of sectors) this.markSector(sector);
  }

  /** The changed sector numbers (within one FAT copy), sorted, and forgets them. */
  takeDirtySectors(): number[] {
    const sectors = this.dirtyList.sort((a, b) => a - b);
    for (const sector of sectors) this.dirtyFlags[sector] = 0;
    this.dirtyList = [];
    return sectors;
  }
}
