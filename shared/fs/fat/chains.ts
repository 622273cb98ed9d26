/**
 * The volume's cluster chains on its device: the FAT (fat-table.ts, held in memory) read from the
 * disk and its changed sectors written back to every FAT copy, then the FAT32 FSInfo hints; where
 * a cluster's bytes lie in the data area; reading a chain's bytes; allocating, extending and
 * freeing chains; and the free-space check that sends a transaction to write out first (see
 * volume.ts: clusters freed since the last write-out are not reused before it).
 */
import type { BlockDevice } from '../../disk/block-device';
import { formatBytes } from '../../disk/sizes';
import { LoopbackError } from '../../errors';
import { BOOT_SECTOR_BYTES, type FatBootSector } from './boot-sector';
import { FatTable, type ClusterRun } from './fat-table';
import { encodeFsInfo, parseFsInfo } from './fsinfo';
import { FIRST_DATA_CLUSTER, type FatLayout } from './layout';

/** Thrown inside a transaction that needs clusters freed since the last write-out. */
export class NeedsWriteOut extends Error {}

/** FAT32: the FSInfo sector (LBA within the volume) and its values as they are on disk. */
interface FsInfoOnDisk {
  sector: number;
  free: number;
  next: number;
}

export class ClusterChains {
  private constructor(
    private readonly device: BlockDevice,
    private readonly layout: FatLayout,
    private readonly fat: FatTable,
    /** FAT32 with a valid FSInfo sector; else null. */
    private fsInfo: FsInfoOnDisk | null,
  ) {}

  /** Reads the FAT (the copy BPB_ExtFlags says to read) and, on FAT32, the FSInfo sector. */
  static async read(device: BlockDevice, bootSector: FatBootSector, layout: FatLayout): Promise<ClusterChains> {
    const fatBytes = layout.fatSectors * layout.bytesPerSector;
    const fatOffset = (layout.firstFatSector + layout.readFat * layout.fatSectors) * layout.bytesPerSector;
    const fat = new FatTable(layout.type, await device.read(fatOffset, fatBytes), layout.clusterCount, layout.bytesPerSector);
    let fsInfo: FsInfoOnDisk | null = null;
    const fsInfoSector = bootSector.fat32?.BPB_FSInfo ?? 0;
    if (layout.type === 'fat32' && fsInfoSector > 0 && fsInfoSector < layout.reservedSectors) {
      try {
        const parsed = parseFsInfo(await device.read(fsInfoSector * layout.bytesPerSector, BOOT_SECTOR_BYTES));
        fsInfo = { sector: fsInfoSector, free: parsed.FSI_Free_Count, next: parsed.FSI_Nxt_Free };
      } catch (error) {
        // A damaged FSInfo is only a hint we cannot keep up to date; the volume is still usable.
        if (!(error instanceof LoopbackError && error.code === 'VALIDATION')) throw error;
      }
    }
    return new ClusterChains(device, layout, fat, fsInfo);
  }

  /** Free clusters, including those freed since the last write-out (what df reports). */
  get freeClusters(): number {
    return this.fat.freeClusters;
  }

  /** Where cluster `cluster` starts on the device (FAT spec: the data area begins with cluster 2). */
  offsetOf(cluster: number): number {
    const { firstDataSector, sectorsPerCluster, bytesPerSector } = this.layout;
    return (firstDataSector + (cluster - FIRST_DATA_CLUSTER) * sectorsPerCluster) * bytesPerSector;
  }

  /**
   * The chain from `first`, as runs of consecutive clusters; throws CORRUPT on a broken chain,
   * naming `path` (the file or folder it belongs to) when given.
   */
  runs(first: number, path?: string): ClusterRun[] {
    try {
      return this.fat.chainRuns(first);
    } catch (error) {
      if (path === undefined || !(error instanceof LoopbackError) || error.code !== 'CORRUPT') throw error;
      throw new LoopbackError('CORRUPT', `"${path}": ${error.message}`, { ...error.details, path });
    }
  }

  /** A new chain of `count` clusters (contiguous where possible); the caller has called requireSpace. */
  allocate(count: number): ClusterRun[] {
    return this.fat.allocate(count);
  }

  /** Appends `count` new clusters to the chain that ends at `lastCluster`. */
  extend(lastCluster: number, count: number): ClusterRun[] {
    return this.fat.extend(lastCluster, count);
  }

  /** Frees the chain from `first` (0: no chain); its clusters wait for the next write-out to be reused. */
  free(first: number): void {
    this.fat.freeChain(first);
  }

  /**
   * Throws VALIDATION unless `clusters` are free; `what` says what they are for ("a new folder").
   * When they are free but some only since the last write-out, throws NeedsWriteOut instead.
   */
  requireSpace(path: string, clusters: number, what: string | (() => string)): void {
    if (clusters <= this.fat.allocatableClusters) return;
    const free = this.fat.freeClusters;
    if (clusters <= free) throw new NeedsWriteOut();
    const { clusterBytes } = this.layout;
    throw new LoopbackError(
      'VALIDATION',
      `Not enough free space for "${path}" (${typeof what === 'string' ? what : what()}): it needs ${clusters} clusters of ${formatBytes(clusterBytes)} (${formatBytes(clusters * clusterBytes)}) but only ${formatBytes(free * clusterBytes)} (${free * clusterBytes} bytes) is free`,
      { path, neededBytes: clusters * clusterBytes, freeBytes: free * clusterBytes },
    );
  }

  /** The first `size` bytes held by `runs`, in chain order (one device read when the first run holds them all). */
  async read(runs: readonly ClusterRun[], size: number): Promise<Uint8Array> {
    if (size === 0) return new Uint8Array(0);
    const { clusterBytes } = this.layout;
    const first = runs[0];
    if (first && first.length * clusterBytes >= size) return this.device.read(this.offsetOf(first.start), size);
    const data = new Uint8Array(size);
    let done = 0;
    for (const run of runs) {
      const length = Math.min(run.length * clusterBytes, size - done);
      data.set(await this.device.read(this.offsetOf(run.start), length), done);
      done += length;
      if (done === size) break;
    }
    return data;
  }

  // --- Transactions (see FatTable) ---

  begin(): void {
    this.fat.begin();
  }

  commit(): void {
    this.fat.commit();
  }

  rollback(): void {
    this.fat.rollback();
  }

  // --- Write-out ---

  /** Writes the changed FAT sectors to every active FAT copy; on failure they stay marked, for a retry. */
  async writeFat(): Promise<void> {
    const { bytesPerSector, fatSectors, firstFatSector } = this.layout;
    const fatDirty = this.fat.takeDirtySectors();
    try {
      for (const run of sectorRuns(fatDirty)) {
        const bytes = this.fat.bytes.subarray(run.start * bytesPerSector, (run.start + run.length) * bytesPerSector);
        for (const copy of this.layout.activeFats) {
          await this.device.write((firstFatSector + copy * fatSectors + run.start) * bytesPerSector, bytes);
        }
      }
    } catch (error) {
      this.fat.markDirty(fatDirty);
      throw error;
    }
  }

  /** Once the FAT on disk no longer gives freed clusters to their old files: they may be reused. */
  releaseFreed(): void {
    this.fat.releaseQuarantine();
  }

  /** FAT32: writes FSI_Free_Count and FSI_Nxt_Free when they differ from what the disk holds. */
  async writeFsInfo(): Promise<void> {
    if (!this.fsInfo) return;
    const free = this.fat.freeClusters;
    const next = this.fat.nextFreeHint;
    if (this.fsInfo.free === free && this.fsInfo.next === next) return;
    await this.device.write(this.fsInfo.sector * this.layout.bytesPerSector, encodeFsInfo({ FSI_Free_Count: free, FSI_Nxt_Free: next }));
    this.fsInfo = { sector: this.fsInfo.sector, free, next };
  }
}

/** Sorted sector numbers grouped into runs of consecutive sectors. */
function sectorRuns(sectors: readonly number[]): ClusterRun[] {
  const runs: ClusterRun[] = [];
  for (const sector of sectors) {
    const last = runs[runs.length - 1];
    if (last && last.start + last.length === sector) last.length++;
    else runs.push({ start: sector, length: 1 });
  }
  return runs;
}
