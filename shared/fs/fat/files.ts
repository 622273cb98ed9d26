/**
 * Files on the volume: reading one and saying where its bytes lie (for boot loaders), writing
 * one whole — its data first, into clusters that are free on disk, in chunks that report progress
 * and may be cancelled, then its entry — and renaming or moving a file or folder.
 */
import type { BlockDevice } from '../../disk/block-device';
import { formatBytes } from '../../disk/sizes';
import { LoopbackError } from '../../errors';
import { READ_CHUNK_BYTES, type FileChunk, type FileExtent, type ProgressOptions, type WriteOptions } from '../types';
import type { ClusterChains } from './chains';
import { ATTR_ARCHIVE } from './dir-entry';
import { newEntry, type FatDirectories } from './directories';
import { isDirectoryNode, type FatDirectory, type FatNode } from './directory';
import { toDosTimestamp } from './dos-time';
import type { ClusterRun } from './fat-table';
import type { FatLayout } from './layout';
import { validateLongName } from './names';
import { splitPath } from './paths';

/** FAT spec, DIR_FileSize: 32 bits, so a file is at most 4 GiB − 1 byte. */
export const MAX_FILE_BYTES = 0xffffffff;
/** Large runs are written in pieces of this size, to report progress and check for cancellation. */
export const WRITE_CHUNK_BYTES = 32 * 1024 * 1024;

export interface FatWriteOptions extends WriteOptions, ProgressOptions {}

function cancelled(what: string): LoopbackError {
  return new LoopbackError('CANCELLED', `${what} was cancelled`, {});
}

function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelled(what);
}

export class FatFiles {
  constructor(
    private readonly device: BlockDevice,
    private readonly layout: FatLayout,
    private readonly chains: ClusterChains,
    private readonly directories: FatDirectories,
  ) {}

  async read(path: string): Promise<Uint8Array> {
    const { size, runs } = await this.fileRuns(path);
    return this.chains.read(runs, size);
  }

  /** See FileSystem.readChunks: the chain's runs read in pieces of at most READ_CHUNK_BYTES. */
  async readChunks(path: string, onChunk: (chunk: FileChunk) => Promise<void>): Promise<number> {
    const { size, runs } = await this.fileRuns(path);
    let done = 0;
    for (const run of runs) {
      const end = Math.min(done + run.length * this.layout.clusterBytes, size);
      for (let offset = this.chains.offsetOf(run.start); done < end;) {
        const length = Math.min(READ_CHUNK_BYTES, end - done);
        await onChunk({ offsetBytes: done, lengthBytes: length, data: await this.device.read(offset, length) });
        done += length;
        offset += length;
      }
      if (done === size) break;
    }
    return size;
  }

  /** The file's cluster runs as extents, from the FAT in memory (the one flush() writes out). */
  async extents(path: string): Promise<FileExtent[]> {
    const { size, runs } = await this.fileRuns(path);
    const extents: FileExtent[] = [];
    let done = 0;
    for (const run of runs) {
      if (done === size) break;
      const lengthBytes = Math.min(run.length * this.layout.clusterBytes, size - done);
      extents.push({ fileOffsetBytes: done, deviceOffsetBytes: this.chains.offsetOf(run.start), lengthBytes });
      done += lengthBytes;
    }
    return extents;
  }

  /** Creates or replaces a file (see FatVolume.writeFile). */
  async write(path: string, data: Uint8Array, options: FatWriteOptions): Promise<void> {
    const { directories } = this;
    const { parent, name } = await directories.parentOf(path, 'write');
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
    const clusters = Math.ceil(data.length / this.layout.clusterBytes);
    if (existing && options.inPlace && clusters > 0 && (await this.overwrite(path, existing, parent, data, clusters, options))) return;
    const plan = existing ? null : directories.planNew(parent, name);
    const growth = plan ? directories.growthClusters(parent, plan, path) : 0;
    this.chains.requireSpace(path, clusters + growth, () => `a file of ${formatBytes(data.length)}, ${data.length} bytes`);
    throwIfAborted(options.signal, `Writing "${path}"`);
    const runs = this.chains.allocate(clusters);
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
      this.chains.free(old);
    } else if (plan) {
      directories.addEntry(parent, plan, { ...newEntry(ATTR_ARCHIVE, ms), firstCluster, fileSize: data.length }, growth);
    }
    // The last point where a cancel still leaves the file as it was (the transaction undoes it all).
    throwIfAborted(options.signal, `Writing "${path}"`);
  }

  /**
   * WriteOptions.inPlace: `data` over the file's own chain when it has exactly `clusters`
   * clusters, then its entry (size, time). False, having written nothing, when it has another
   * number of clusters.
   */
  private async overwrite(
    path: string,
    existing: FatNode,
    parent: FatDirectory,
    data: Uint8Array,
    clusters: number,
    options: FatWriteOptions,
  ): Promise<boolean> {
    if (existing.entry.firstCluster === 0) return false;
    const runs = this.chains.runs(existing.entry.firstCluster, path);
    if (runs.reduce((sum, run) => sum + run.length, 0) !== clusters) return false;
    throwIfAborted(options.signal, `Writing "${path}"`);
    await this.writeData(runs, data, path, options);
    const t = toDosTimestamp(options.modifiedMs ?? Date.now());
    parent.update(existing, {
      ...existing.entry,
      attr: existing.entry.attr | ATTR_ARCHIVE,
      fileSize: data.length,
      wrtTime: t.time,
      wrtDate: t.date,
      lstAccDate: t.date,
    });
    return true;
  }

  /** Renames or moves a file or folder (see FatVolume.rename). */
  async rename(from: string, to: string): Promise<void> {
    const { directories } = this;
    const source = await directories.parentOf(from, 'rename');
    const node = directories.nodeIn(source.parent, source.name, from);
    const toParts = splitPath(to);
    const newName = toParts.pop();
    if (newName === undefined) throw new LoopbackError('INVALID_INPUT', `Cannot rename "${from}" to the root folder "/"`, { from, to });
    const targetPath = await directories.pathAt(toParts, to);
    const target = targetPath[targetPath.length - 1] as FatDirectory;
    if (isDirectoryNode(node) && targetPath.some((dir) => dir.firstCluster === node.entry.firstCluster)) {
      throw new LoopbackError('INVALID_INPUT', `Cannot move the folder "${from}" into itself ("${to}")`, { from, to });
    }
    const existing = target.find(newName);
    if (existing && existing !== node)
      throw new LoopbackError('ALREADY_EXISTS', `Cannot rename "${from}" to "${to}": "${to}" already exists`, { from, to });
    if (existing === node && node.name === newName) return;
    validateLongName(newName);
    const entry = node.entry;
    if (target === source.parent) {
      // Free the old slots first, so the entry's own short name does not count as taken.
      source.parent.remove(node);
      const plan = target.planName(newName);
      const growth = directories.growthClusters(target, plan, to);
      this.chains.requireSpace(to, growth, 'its new name needs a bigger folder');
      directories.addEntry(target, plan, entry, growth);
      return;
    }
    const plan = target.planName(newName);
    const growth = directories.growthClusters(target, plan, to);
    this.chains.requireSpace(to, growth, 'its new name needs a bigger folder');
    directories.addEntry(target, plan, entry, growth);
    source.parent.remove(node);
    if (isDirectoryNode(node)) {
      const moved = await directories.child(node, from);
      moved.setParent(target.isRoot ? 0 : target.firstCluster);
    }
  }

  /** A file's size and cluster runs; refuses folders and chains too short for the size. */
  private async fileRuns(path: string): Promise<{ size: number; runs: ClusterRun[] }> {
    const parts = splitPath(path);
    const last = parts.pop();
    if (last === undefined) throw isAFolder(path);
    const node = this.directories.nodeIn(await this.directories.at(parts, path), last, path);
    if (isDirectoryNode(node)) throw isAFolder(path);
    const size = node.entry.fileSize;
    if (size === 0) return { size, runs: [] };
    const runs = this.chains.runs(node.entry.firstCluster, path);
    const chainBytes = runs.reduce((sum, run) => sum + run.length, 0) * this.layout.clusterBytes;
    if (chainBytes < size) {
      throw new LoopbackError('CORRUPT', `"${path}" is ${size} bytes but its cluster chain holds only ${chainBytes} (run fsck.fat)`, {
        path,
        size,
        chainBytes,
      });
    }
    return { size, runs };
  }

  private async writeData(runs: ClusterRun[], data: Uint8Array, path: string, options: ProgressOptions): Promise<void> {
    const what = `Writing "${path}"`;
    let done = 0;
    for (const run of runs) {
      const end = Math.min(done + run.length * this.layout.clusterBytes, data.length);
      let offset = this.chains.offsetOf(run.start);
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
}

function isAFolder(path: string): LoopbackError {
  return new LoopbackError('INVALID_INPUT', `"${path}" is a folder, not a file`, { path });
}
