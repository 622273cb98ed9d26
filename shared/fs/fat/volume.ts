/**
 * A FAT12/16/32 volume on a BlockDevice, behind the FileSystem interface of shared/fs/types.ts.
 *
 * How it stays fast: the FAT lives in memory and only its changed sectors are written, to every
 * FAT copy; directories are read once and cached; files are allocated as contiguous runs where
 * possible and written with one device.write per run (split only every WRITE_CHUNK_BYTES, to
 * report progress and notice cancellation).
 *
 * How it stays consistent: operations run one at a time, and each is a transaction in memory
 * (a failed or cancelled one is undone: FAT entries and directory slots go back as they were).
 * File data is written at once, but only into clusters that are free on disk. The FAT and
 * directory sectors that changed are written out by flush() (FAT copies first, then
 * directories, then the FAT32 FSInfo) — so until flush() the disk keeps the volume as it was at
 * the last flush, complete and consistent. For that, clusters freed since then are not reused
 * before the next write-out; if an operation needs them, the changes so far are written out
 * first (without the device flush) and the operation goes on.
 *
 * Call flush() when done: changes that were never flushed are not on the disk.
 *
 * The volume assumes it is the only writer of the device while open.
 */
import type { BlockDevice } from '../../disk/block-device';
import { formatBytes } from '../../disk/sizes';
import { LoopbackError } from '../../errors';
import type { DirEntry, FileExtent, FileSystem, FsUsage, ProgressOptions, WriteOptions } from '../types';
import {
  BOOT_SECTOR_BYTES,
  EXTENDED_BOOT_SIGNATURE,
  formatVolumeId,
  hasBootJump,
  NO_NAME_LABEL,
  parseBootSector,
  type FatBootSector,
} from './boot-sector';
import { ATTR_ARCHIVE, ATTR_DIRECTORY, SHORT_NAME_BYTES, type ShortEntry } from './dir-entry';
import { FatDirectory, isDirectoryNode, MAX_DIRECTORY_SLOTS, type FatNode, type NamePlan } from './directory';
import { toDosTimestamp, fromDosTimestamp } from './dos-time';
import { FatTable, type ClusterRun } from './fat-table';
import { encodeFsInfo, parseFsInfo } from './fsinfo';
import { DIR_ENTRY_BYTES, FIRST_DATA_CLUSTER, fatTypeName, layoutFromBootSector, type FatLayout, type FatType } from './layout';
import { decodeLabel, validateLongName } from './names';
import { joinPath, splitPath } from './paths';

/** FAT spec, DIR_FileSize: 32 bits, so a file is at most 4 GiB − 1 byte. */
export const MAX_FILE_BYTES = 0xffffffff;
/** Large runs are written in pieces of this size, to report progress and check for cancellation. */
export const WRITE_CHUNK_BYTES = 32 * 1024 * 1024;

/** BS_BootSig 0x28: an older extended BPB with BS_VolID but no label or type string. */
const OLD_EXTENDED_BOOT_SIGNATURE = 0x28;

export interface FatWriteOptions extends WriteOptions, ProgressOptions {}

function cancelled(what: string): LoopbackError {
  return new LoopbackError('CANCELLED', `${what} was cancelled`, {});
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelled(what);
}

function timestamps(ms: number): Pick<ShortEntry, 'crtTimeTenth' | 'crtTime' | 'crtDate' | 'lstAccDate' | 'wrtTime' | 'wrtDate'> {
  const t = toDosTimestamp(ms);
  return { crtTimeTenth: t.tenths, crtTime: t.time, crtDate: t.date, lstAccDate: t.date, wrtTime: t.time, wrtDate: t.date };
}

export class FatVolume implements FileSystem {
  readonly type: FatType;
  private readonly directories = new Map<number, FatDirectory>();
  /** Directories changed by the running operation (their undo records are open). */
  private readonly changed = new Set<FatDirectory>();
  /** Directories the running operation created (dropped from the cache if it fails). */
  private readonly created: FatDirectory[] = [];
  /** Directories the running operation deleted (dropped from the cache when it succeeds). */
  private readonly deleted: FatDirectory[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  /** FAT32: the FSInfo sector (LBA within the volume) when it is valid; else null. */
  private readonly fsInfoSector: number | null;
  /** FSInfo values as they are on disk now. */
  private fsInfoOnDisk: { free: number; next: number } | null;

  private constructor(
    private readonly device: BlockDevice,
    readonly bootSector: FatBootSector,
    readonly layout: FatLayout,
    private readonly fat: FatTable,
    fsInfo: { sector: number; free: number; next: number } | null,
  ) {
    this.type = layout.type;
    this.fsInfoSector = fsInfo ? fsInfo.sector : null;
    this.fsInfoOnDisk = fsInfo ? { free: fsInfo.free, next: fsInfo.next } : null;
  }

  /** Opens the FAT volume on `device`; throws VALIDATION when there is none. */
  static async open(device: BlockDevice): Promise<FatVolume> {
    if (device.sizeBytes < BOOT_SECTOR_BYTES) {
      throw new LoopbackError('VALIDATION', `Not a FAT volume: the device has only ${device.sizeBytes} bytes`, { sizeBytes: device.sizeBytes });
    }
    const bootSector = parseBootSector(await device.read(0, BOOT_SECTOR_BYTES));
    if (!hasBootJump(bootSector)) {
      throw new LoopbackError('VALIDATION', 'Not a FAT volume: the boot sector does not start with a jump instruction (0xEB or 0xE9)', {
        firstByte: bootSector.BS_jmpBoot[0],
      });
    }
    const layout = layoutFromBootSector(bootSector);
    const volumeBytes = layout.totalSectors * layout.bytesPerSector;
    if (volumeBytes > device.sizeBytes) {
      throw new LoopbackError(
        'VALIDATION',
        `The FAT volume says it is ${formatBytes(volumeBytes)} (${layout.totalSectors} sectors) but the device has only ${formatBytes(device.sizeBytes)}: the image may be truncated`,
        { volumeBytes, deviceBytes: device.sizeBytes },
      );
    }
    const fatBytes = layout.fatSectors * layout.bytesPerSector;
    const fatOffset = (layout.firstFatSector + layout.readFat * layout.fatSectors) * layout.bytesPerSector;
    const fat = new FatTable(layout.type, await device.read(fatOffset, fatBytes), layout.clusterCount, layout.bytesPerSector);
    let fsInfo: { sector: number; free: number; next: number } | null = null;
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
    return new FatVolume(device, bootSector, layout, fat, fsInfo);
  }

  // --- FileSystem ---

  usage(): Promise<FsUsage> {
    return this.exclusive(async () => {
      const root = await this.rootDirectory();
      const { clusterBytes, clusterCount } = this.layout;
      const sizeBytes = clusterCount * clusterBytes;
      const freeBytes = this.fat.freeClusters * clusterBytes;
      return {
        type: this.type,
        label: this.labelOf(root),
        id: this.hasVolumeId() ? formatVolumeId(this.bootSector.BS_VolID) : null,
        sizeBytes,
        usedBytes: sizeBytes - freeBytes,
        freeBytes,
        blockBytes: clusterBytes,
      };
    });
  }

  list(path: string): Promise<DirEntry[]> {
    return this.exclusive(async () => {
      const dir = await this.directoryAt(splitPath(path), path);
      return dir.nodes().map((node) => this.dirEntryOf(node));
    });
  }

  stat(path: string): Promise<DirEntry> {
    return this.exclusive(async () => {
      const parts = splitPath(path);
      const last = parts.pop();
      if (last === undefined) return { name: '/', type: 'directory', sizeBytes: 0, modifiedMs: null, mode: null };
      const parent = await this.directoryAt(parts, path);
      return this.dirEntryOf(this.nodeIn(parent, last, path));
    });
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.exclusive(async () => {
      const { size, runs } = await this.fileRuns(path);
      if (size === 0) return new Uint8Array(0);
      const first = runs[0];
      if (first && first.length * this.layout.clusterBytes >= size) return this.device.read(this.clusterOffset(first.start), size);
      const data = new Uint8Array(size);
      let done = 0;
      for (const run of runs) {
        const length = Math.min(run.length * this.layout.clusterBytes, size - done);
        data.set(await this.device.read(this.clusterOffset(run.start), length), done);
        done += length;
        if (done === size) break;
      }
      return data;
    });
  }

  /** The file's cluster runs, from the FAT in memory (the one flush() writes out). */
  extents(path: string): Promise<FileExtent[]> {
    return this.exclusive(async () => {
      const { size, runs } = await this.fileRuns(path);
      const extents: FileExtent[] = [];
      let done = 0;
      for (const run of runs) {
        if (done === size) break;
        const lengthBytes = Math.min(run.length * this.layout.clusterBytes, size - done);
        extents.push({ fileOffsetBytes: done, deviceOffsetBytes: this.clusterOffset(run.start), lengthBytes });
        done += lengthBytes;
      }
      return extents;
    });
  }

  /**
   * Creates or replaces a file. Checks the free space first (throwing VALIDATION with the file's
   * name, its size and the free bytes); a replaced file keeps its old clusters until the new
   * data is written, so it needs room for both at once. `signal` may cancel until the entry is
   * updated (checked between data chunks and once more at the end): the file is then left as it
   * was (absent, or its old contents) and CANCELLED is thrown.
   */
  writeFile(path: string, data: Uint8Array, options: FatWriteOptions = {}): Promise<void> {
    return this.transaction(async () => {
      const { parent, name } = await this.parentOf(path, 'write');
      const existing = parent.find(name);
      if (existing && isDirectoryNode(existing)) {
        throw new LoopbackError('ALREADY_EXISTS', `"${path}" is a folder: cannot write a file over it`, { path });
      }
      if (data.length > MAX_FILE_BYTES) {
        throw new LoopbackError('VALIDATION', `"${path}" is ${formatBytes(data.length)}: FAT files can be at most 4 GiB − 1 byte`, {
          path,
          sizeBytes: data.length,
        });
      }
      const plan = existing ? null : this.planNew(parent, name);
      const clusters = Math.ceil(data.length / this.layout.clusterBytes);
      const growth = plan ? this.growthClusters(parent, plan, path) : 0;
      this.requireSpace(path, clusters + growth, () => `a file of ${formatBytes(data.length)}, ${data.length} bytes`);
      throwIfAborted(options.signal, `Writing "${path}"`);
      const runs = this.fat.allocate(clusters);
      await this.writeData(runs, data, path, options);
      const ms = options.modifiedMs ?? Date.now();
      const firstCluster = runs[0]?.start ?? 0;
      if (existing) {
        const t = toDosTimestamp(ms);
        const old = existing.entry.firstCluster;
        parent.update(existing, {
          ...existing.entry,
          attr: existing.entry.attr | ATTR_ARCHIVE,
          firstCluster,
          fileSize: data.length,
          wrtTime: t.time,
          wrtDate: t.date,
          lstAccDate: t.date,
        });
        this.fat.freeChain(old);
      } else if (plan) {
        this.addEntry(parent, plan, { ...this.newEntry(ATTR_ARCHIVE, ms), firstCluster, fileSize: data.length }, growth);
      }
      // The last point where a cancel still leaves the file as it was (the transaction undoes it all).
      throwIfAborted(options.signal, `Writing "${path}"`);
    });
  }

  mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    return this.transaction(async () => {
      const parts = splitPath(path);
      if (parts.length === 0) {
        if (options.parents) return;
        throw new LoopbackError('ALREADY_EXISTS', 'The root folder "/" always exists', { path });
      }
      let dir = await this.rootDirectory();
      for (let i = 0; i < parts.length; i++) {
        const name = parts[i] ?? '';
        const here = joinPath(parts.slice(0, i + 1));
        const last = i === parts.length - 1;
        const node = dir.find(name);
        if (node) {
          if (!isDirectoryNode(node)) throw new LoopbackError('ALREADY_EXISTS', `"${here}" is a file, not a folder`, { path: here });
          if (last && !options.parents) throw new LoopbackError('ALREADY_EXISTS', `"${here}" already exists`, { path: here });
          dir = await this.childDirectory(node, here);
          continue;
        }
        if (!last && !options.parents) {
          throw new LoopbackError('NOT_FOUND', `Cannot create "${path}": "${here}" does not exist (create the parents too with the "parents" option)`, {
            path,
            missing: here,
          });
        }
        dir = this.createDirectory(dir, name, here);
      }
    });
  }

  remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    return this.transaction(async () => {
      const { parent, name } = await this.parentOf(path, 'remove');
      const node = this.nodeIn(parent, name, path);
      if (isDirectoryNode(node)) {
        const dir = await this.childDirectory(node, path);
        const children = dir.nodes();
        if (children.length > 0 && !options.recursive) {
          throw new LoopbackError(
            'VALIDATION',
            `The folder "${path}" is not empty (${children.length} ${children.length === 1 ? 'entry' : 'entries'}): remove its contents first, or remove it recursively`,
            { path, entries: children.length },
          );
        }
        await this.freeTree(dir, path, 0);
        this.deleted.push(dir);
      }
      this.fat.freeChain(node.entry.firstCluster);
      parent.remove(node);
    });
  }

  /**
   * Renames or moves a file or folder. The target must not exist (ALREADY_EXISTS) unless it is
   * the same entry under another case ("readme.txt" → "README.TXT"). A folder cannot move into
   * itself or below itself.
   */
  rename(from: string, to: string): Promise<void> {
    return this.transaction(async () => {
      const source = await this.parentOf(from, 'rename');
      const node = this.nodeIn(source.parent, source.name, from);
      const toParts = splitPath(to);
      const newName = toParts.pop();
      if (newName === undefined) throw new LoopbackError('INVALID_INPUT', `Cannot rename "${from}" to the root folder "/"`, { from, to });
      const targetPath = await this.directoryPathAt(toParts, to);
      const target = targetPath[targetPath.length - 1] as FatDirectory;
      if (isDirectoryNode(node) && targetPath.some((dir) => dir.firstCluster === node.entry.firstCluster)) {
        throw new LoopbackError('INVALID_INPUT', `Cannot move the folder "${from}" into itself ("${to}")`, { from, to });
      }
      const existing = target.find(newName);
      if (existing && existing !== node) throw new LoopbackError('ALREADY_EXISTS', `Cannot rename "${from}" to "${to}": "${to}" already exists`, { from, to });
      if (existing === node && node.name === newName) return;
      validateLongName(newName);
      const entry = node.entry;
      if (target === source.parent) {
        // Free the old slots first, so the entry's own short name does not count as taken.
        source.parent.remove(node);
        const plan = target.planName(newName);
        const growth = this.growthClusters(target, plan, to);
        this.requireSpace(to, growth, 'its new name needs a bigger folder');
        this.addEntry(target, plan, entry, growth);
        return;
      }
      const plan = target.planName(newName);
      const growth = this.growthClusters(target, plan, to);
      this.requireSpace(to, growth, 'its new name needs a bigger folder');
      this.addEntry(target, plan, entry, growth);
      source.parent.remove(node);
      if (isDirectoryNode(node)) {
        const moved = await this.childDirectory(node, from);
        moved.setParent(target.isRoot ? 0 : target.firstCluster);
      }
    });
  }

  /** Writes out every change (FATs, directories, FAT32 FSInfo) and flushes the device. */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      await this.writeOut();
      await this.device.flush();
    });
  }

  // --- Serialisation and transactions ---

  /** Runs `work` after every earlier call has finished (operations never interleave). */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs a changing operation as a transaction: on error everything it changed in memory is put
   * back. When it needs clusters that were freed since the last write-out, it is undone, the
   * changes so far are written out, and it runs once more.
   */
  private transaction(work: () => Promise<void>): Promise<void> {
    return this.exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        this.fat.begin();
        try {
          await work();
        } catch (error) {
          this.fat.rollback();
          for (const dir of this.changed) dir.rollbackChanges();
          for (const dir of this.created) this.forget(dir);
          this.endTransaction();
          if (error instanceof NeedsWriteOut && attempt === 0) {
            await this.writeOut();
            continue;
          }
          throw error;
        }
        this.fat.commit();
        for (const dir of this.changed) dir.commitChanges();
        for (const dir of this.deleted) this.forget(dir);
        this.endTransaction();
        return;
      }
    });
  }

  private endTransaction(): void {
    this.changed.clear();
    this.created.length = 0;
    this.deleted.length = 0;
  }

  /**
   * Writes the changed FAT sectors (to every FAT copy), directory sectors and FSInfo. If a write
   * fails (a full host disk …), what was not written stays marked, for the next flush() to retry.
   */
  private async writeOut(): Promise<void> {
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
    for (const dir of this.directories.values()) {
      if (!dir.hasChanges) continue;
      const ranges = dir.takeDirtyRanges();
      try {
        for (const range of ranges) {
          const bytes = dir.bytes.subarray(range.offset, range.offset + range.length);
          for (const piece of this.deviceRanges(dir, range.offset, bytes.length)) {
            await this.device.write(piece.deviceOffset, bytes.subarray(piece.offset - range.offset, piece.offset - range.offset + piece.length));
          }
        }
      } catch (error) {
        dir.markRangesDirty(ranges);
        throw error;
      }
    }
    // The FAT on disk no longer gives freed clusters to their old files: they may be reused.
    this.fat.releaseQuarantine();
    if (this.fsInfoSector !== null && this.fsInfoOnDisk) {
      const free = this.fat.freeClusters;
      const next = this.fat.nextFreeHint;
      if (this.fsInfoOnDisk.free !== free || this.fsInfoOnDisk.next !== next) await this.writeFsInfo(free, next);
    }
  }

  private async writeFsInfo(free: number, next: number): Promise<void> {
    if (this.fsInfoSector === null) return;
    await this.device.write(this.fsInfoSector * this.layout.bytesPerSector, encodeFsInfo({ FSI_Free_Count: free, FSI_Nxt_Free: next }));
    this.fsInfoOnDisk = { free, next };
  }

  /** Where the directory bytes [offset, offset + length) are on the device, merged where contiguous. */
  private deviceRanges(dir: FatDirectory, offset: number, length: number): Array<{ offset: number; deviceOffset: number; length: number }> {
    if (dir.location.kind === 'fixed') return [{ offset, deviceOffset: dir.location.offsetBytes + offset, length }];
    const { clusterBytes } = this.layout;
    const pieces: Array<{ offset: number; deviceOffset: number; length: number }> = [];
    for (let at = offset; at < offset + length; ) {
      const index = Math.floor(at / clusterBytes);
      const within = at % clusterBytes;
      const piece = Math.min(clusterBytes - within, offset + length - at);
      const cluster = dir.location.clusters[index];
      if (cluster === undefined) throw new LoopbackError('INTERNAL', `directory offset ${at} is beyond its clusters`, {});
      const deviceOffset = this.clusterOffset(cluster) + within;
      const last = pieces[pieces.length - 1];
      if (last && last.deviceOffset + last.length === deviceOffset) last.length += piece;
      else pieces.push({ offset: at, deviceOffset, length: piece });
      at += piece;
    }
    return pieces;
  }

  // --- Directories ---

  private clusterOffset(cluster: number): number {
    const { firstDataSector, sectorsPerCluster, bytesPerSector } = this.layout;
    return (firstDataSector + (cluster - FIRST_DATA_CLUSTER) * sectorsPerCluster) * bytesPerSector;
  }

  private readonly markChanged = (dir: FatDirectory): void => {
    this.changed.add(dir);
  };

  /** Cache key of a directory: its first cluster; the FAT12/16 fixed root is 0. */
  private keyOf(dir: FatDirectory): number {
    return dir.firstCluster;
  }

  private forget(dir: FatDirectory): void {
    if (this.directories.get(this.keyOf(dir)) === dir) this.directories.delete(this.keyOf(dir));
  }

  private async rootDirectory(): Promise<FatDirectory> {
    const { layout } = this;
    if (layout.type === 'fat32') return this.loadChainDirectory(layout.rootCluster, true, '/');
    const cached = this.directories.get(0);
    if (cached) return cached;
    const offsetBytes = layout.firstRootDirSector * layout.bytesPerSector;
    const bytes = await this.device.read(offsetBytes, layout.rootEntryCount * DIR_ENTRY_BYTES);
    const dir = new FatDirectory(bytes, { kind: 'fixed', offsetBytes }, true, layout.bytesPerSector, this.markChanged);
    this.directories.set(0, dir);
    return dir;
  }

  private async loadChainDirectory(firstCluster: number, isRoot: boolean, path: string): Promise<FatDirectory> {
    const cached = this.directories.get(firstCluster);
    if (cached) return cached;
    const runs = this.fat.chainRuns(firstCluster);
    const clusters: number[] = [];
    for (const run of runs) for (let c = run.start; c < run.start + run.length; c++) clusters.push(c);
    const size = clusters.length * this.layout.clusterBytes;
    if (size > MAX_DIRECTORY_SLOTS * DIR_ENTRY_BYTES) {
      throw new LoopbackError('IO', `The folder "${path}" is ${formatBytes(size)}, more than a FAT directory can be (2 MiB): the volume is damaged (run fsck.fat)`, {
        path,
      });
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const run of runs) {
      const length = run.length * this.layout.clusterBytes;
      bytes.set(await this.device.read(this.clusterOffset(run.start), length), at);
      at += length;
    }
    const dir = new FatDirectory(bytes, { kind: 'chain', clusters }, isRoot, this.layout.bytesPerSector, this.markChanged);
    this.directories.set(firstCluster, dir);
    return dir;
  }

  private async childDirectory(node: FatNode, path: string): Promise<FatDirectory> {
    const cluster = node.entry.firstCluster;
    if (cluster < FIRST_DATA_CLUSTER) {
      throw new LoopbackError('IO', `The folder "${path}" has no clusters (first cluster ${cluster}): the volume is damaged (run fsck.fat)`, { path });
    }
    if (this.type === 'fat32' && cluster === this.layout.rootCluster) return this.rootDirectory();
    return this.loadChainDirectory(cluster, false, path);
  }

  /** The directories from the root down to `parts` (all must be folders). */
  private async directoryPathAt(parts: readonly string[], path: string): Promise<FatDirectory[]> {
    const chain = [await this.rootDirectory()];
    let here = '';
    for (let i = 0; i < parts.length; i++) {
      here += `/${parts[i] ?? ''}`; // joinPath(parts.slice(0, i + 1)), built as we go
      const node = this.nodeIn(chain[chain.length - 1] as FatDirectory, parts[i] ?? '', path, here);
      if (!isDirectoryNode(node)) {
        throw new LoopbackError('NOT_FOUND', `"${path}": "${here}" is a file, not a folder`, { path, file: here });
      }
      chain.push(await this.childDirectory(node, here));
    }
    return chain;
  }

  private async directoryAt(parts: readonly string[], path: string): Promise<FatDirectory> {
    const chain = await this.directoryPathAt(parts, path);
    return chain[chain.length - 1] as FatDirectory;
  }

  /** The folder holding `path`'s last component, and that component; refuses the root. */
  private async parentOf(path: string, action: string): Promise<{ parent: FatDirectory; name: string }> {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new LoopbackError('INVALID_INPUT', `Cannot ${action} the root folder "/"`, { path });
    return { parent: await this.directoryAt(parts, path), name };
  }

  /** A file's size and cluster runs; refuses folders and chains too short for the size. */
  private async fileRuns(path: string): Promise<{ size: number; runs: ClusterRun[] }> {
    const parts = splitPath(path);
    const last = parts.pop();
    if (last === undefined) throw this.isAFolder(path);
    const node = this.nodeIn(await this.directoryAt(parts, path), last, path);
    if (isDirectoryNode(node)) throw this.isAFolder(path);
    const size = node.entry.fileSize;
    if (size === 0) return { size, runs: [] };
    const runs = this.fat.chainRuns(node.entry.firstCluster);
    const chainBytes = runs.reduce((sum, run) => sum + run.length, 0) * this.layout.clusterBytes;
    if (chainBytes < size) {
      throw new LoopbackError('IO', `"${path}" is ${size} bytes but its cluster chain holds only ${chainBytes} (run fsck.fat)`, { path, size, chainBytes });
    }
    return { size, runs };
  }

  private nodeIn(dir: FatDirectory, name: string, path: string, here = path): FatNode {
    const node = dir.find(name);
    if (!node) {
      throw new LoopbackError('NOT_FOUND', here === path ? `"${path}" does not exist` : `"${path}" does not exist: there is no "${here}"`, {
        path,
        missing: here,
      });
    }
    return node;
  }

  private isAFolder(path: string): LoopbackError {
    return new LoopbackError('INVALID_INPUT', `"${path}" is a folder, not a file`, { path });
  }

  private planNew(parent: FatDirectory, name: string): NamePlan {
    validateLongName(name);
    return parent.planName(name);
  }

  /**
   * Clusters a directory must grow by to take `plan`'s slots: 0 when it has room. The fixed root
   * of FAT12/16 cannot grow: a clear error instead.
   */
  private growthClusters(dir: FatDirectory, plan: NamePlan, path: string): number {
    if (dir.findFreeSlots(plan.slots) >= 0) return 0;
    if (dir.location.kind === 'fixed') {
      throw new LoopbackError(
        'VALIDATION',
        `Cannot create "${path}": the root folder of this ${fatTypeName(this.type)} volume is full (it has a fixed ${dir.slotCount} entries, and long names take several). Put files in a subfolder, or use short 8.3 names`,
        { path, rootEntries: dir.slotCount, slotsNeeded: plan.slots },
      );
    }
    const clusters = Math.ceil((plan.slots * DIR_ENTRY_BYTES) / this.layout.clusterBytes);
    if (dir.slotCount + (clusters * this.layout.clusterBytes) / DIR_ENTRY_BYTES > MAX_DIRECTORY_SLOTS) {
      throw new LoopbackError('VALIDATION', `Cannot create "${path}": its folder already has the most entries a FAT folder can have (65536 slots)`, {
        path,
      });
    }
    return clusters;
  }

  /** Throws VALIDATION unless `clusters` are free; `what` says what they are for ("2 MiB (2097152 bytes)"). */
  private requireSpace(path: string, clusters: number, what: string | (() => string)): void {
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

  private newEntry(attr: number, ms: number): ShortEntry {
    return { name: new Uint8Array(11), attr, ntRes: 0, ...timestamps(ms), firstCluster: 0, fileSize: 0 };
  }

  /** Places an entry, growing the directory by `growth` clusters first when needed. */
  private addEntry(dir: FatDirectory, plan: NamePlan, entry: ShortEntry, growth: number): FatNode {
    if (growth > 0 && dir.location.kind === 'chain') {
      const chain = dir.location.clusters;
      const runs = this.fat.extend(chain[chain.length - 1] ?? 0, growth);
      const added: number[] = [];
      for (const run of runs) for (let c = run.start; c < run.start + run.length; c++) added.push(c);
      dir.grow(added, this.layout.clusterBytes);
    }
    const slot = dir.findFreeSlots(plan.slots);
    if (slot < 0) throw new LoopbackError('INTERNAL', `no free slots after growing the folder`, {});
    return dir.place(slot, plan, entry);
  }

  private createDirectory(parent: FatDirectory, name: string, path: string): FatDirectory {
    const plan = this.planNew(parent, name);
    const growth = this.growthClusters(parent, plan, path);
    this.requireSpace(path, 1 + growth, 'a new folder');
    const [run] = this.fat.allocate(1);
    if (!run) throw new LoopbackError('INTERNAL', 'allocation of one cluster returned nothing', {});
    const ms = Date.now();
    const parentCluster = parent.isRoot ? 0 : parent.firstCluster;
    const child = FatDirectory.createEmpty(this.layout.clusterBytes, run.start, parentCluster, timestamps(ms), this.layout.bytesPerSector, this.markChanged);
    this.directories.set(run.start, child);
    this.created.push(child);
    this.addEntry(parent, plan, { ...this.newEntry(ATTR_DIRECTORY, ms), firstCluster: run.start }, growth);
    return child;
  }

  /** Frees the clusters of everything below `dir` (not `dir`'s own chain). */
  private async freeTree(dir: FatDirectory, path: string, depth: number): Promise<void> {
    if (depth > 256) throw new LoopbackError('IO', `"${path}" is nested more than 256 folders deep: the volume may be damaged (run fsck.fat)`, { path });
    for (const node of dir.nodes()) {
      const childPath = `${path}/${node.name}`;
      if (isDirectoryNode(node)) {
        const child = await this.childDirectory(node, childPath);
        await this.freeTree(child, childPath, depth + 1);
        this.deleted.push(child);
      }
      this.fat.freeChain(node.entry.firstCluster);
    }
  }

  private async writeData(runs: ClusterRun[], data: Uint8Array, path: string, options: ProgressOptions): Promise<void> {
    const what = `Writing "${path}"`;
    let done = 0;
    for (const run of runs) {
      const end = Math.min(done + run.length * this.layout.clusterBytes, data.length);
      let offset = this.clusterOffset(run.start);
      while (done < end) {
        throwIfAborted(options.signal, what);
        const piece = Math.min(WRITE_CHUNK_BYTES, end - done);
        await this.device.write(offset, data.subarray(done, done + piece));
        done += piece;
        offset += piece;
        options.onProgress?.({ phase: 'write', bytesDone: done, bytesTotal: data.length });
      }
    }
  }

  private dirEntryOf(node: FatNode): DirEntry {
    const { entry } = node;
    return {
      name: node.name,
      type: isDirectoryNode(node) ? 'directory' : 'file',
      sizeBytes: isDirectoryNode(node) ? 0 : entry.fileSize,
      modifiedMs: fromDosTimestamp(entry.wrtDate, entry.wrtTime),
      mode: null,
    };
  }

  private hasVolumeId(): boolean {
    const sig = this.bootSector.BS_BootSig;
    return sig === EXTENDED_BOOT_SIGNATURE || sig === OLD_EXTENDED_BOOT_SIGNATURE;
  }

  private labelOf(root: FatDirectory): string | null {
    if (root.labelSlot >= 0) {
      const offset = root.labelSlot * DIR_ENTRY_BYTES;
      return decodeLabel(root.bytes.subarray(offset, offset + SHORT_NAME_BYTES));
    }
    if (this.bootSector.BS_BootSig !== EXTENDED_BOOT_SIGNATURE) return null;
    const label = this.bootSector.BS_VolLab.replace(/ +$/, '');
    return label === '' || label === NO_NAME_LABEL ? null : label;
  }
}

/** Thrown inside a transaction that needs clusters freed since the last write-out. */
class NeedsWriteOut extends Error {}

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

/** Opens the FAT volume on a device (a partition window or a whole floppy image). */
export function openFat(device: BlockDevice): Promise<FatVolume> {
  return FatVolume.open(device);
}
