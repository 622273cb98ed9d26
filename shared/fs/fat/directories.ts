/**
 * The volume's folders: each read once and cached (directory.ts holds one in memory with its
 * entries and long names), found by path, listed, created and removed, new entries placed (a
 * full folder's chain grown first), and the changed directory sectors written out. Within a
 * transaction (volume.ts) it remembers which folders changed, were created or were deleted, to
 * keep or undo them together.
 */
import type { BlockDevice } from '../../disk/block-device';
import { formatBytes } from '../../disk/sizes';
import { LoopbackError } from '../../errors';
import type { DirEntry } from '../types';
import type { ClusterChains } from './chains';
import { ATTR_DIRECTORY, type ShortEntry } from './dir-entry';
import { FatDirectory, isDirectoryNode, MAX_DIRECTORY_SLOTS, type FatNode, type NamePlan } from './directory';
import { fromDosTimestamp, toDosTimestamp } from './dos-time';
import { clustersOf } from './fat-table';
import { DIR_ENTRY_BYTES, FIRST_DATA_CLUSTER, fatTypeName, type FatLayout } from './layout';
import { validateLongName } from './names';
import { joinPath, splitPath } from './paths';

function timestamps(ms: number): Pick<ShortEntry, 'crtTimeTenth' | 'crtTime' | 'crtDate' | 'lstAccDate' | 'wrtTime' | 'wrtDate'> {
  const t = toDosTimestamp(ms);
  return { crtTimeTenth: t.tenths, crtTime: t.time, crtDate: t.date, lstAccDate: t.date, wrtTime: t.time, wrtDate: t.date };
}

/** A short entry with attribute `attr`, created and written at `ms`, without name or clusters yet. */
export function newEntry(attr: number, ms: number): ShortEntry {
  return { name: new Uint8Array(11), attr, ntRes: 0, ...timestamps(ms), firstCluster: 0, fileSize: 0 };
}

export class FatDirectories {
  /** Cache by first cluster; the FAT12/16 fixed root is 0. */
  private readonly cache = new Map<number, FatDirectory>();
  /** Directories changed by the running operation (their undo records are open). */
  private readonly changed = new Set<FatDirectory>();
  /** Directories the running operation created (dropped from the cache if it fails). */
  private readonly created: FatDirectory[] = [];
  /** Directories the running operation deleted (dropped from the cache when it succeeds). */
  private readonly deleted: FatDirectory[] = [];

  constructor(
    private readonly device: BlockDevice,
    private readonly layout: FatLayout,
    private readonly chains: ClusterChains,
  ) {}

  private readonly markChanged = (dir: FatDirectory): void => {
    this.changed.add(dir);
  };

  private forget(dir: FatDirectory): void {
    if (this.cache.get(dir.firstCluster) === dir) this.cache.delete(dir.firstCluster);
  }

  // --- Lookup ---

  async root(): Promise<FatDirectory> {
    const { layout } = this;
    if (layout.type === 'fat32') return this.loadChain(layout.rootCluster, true, '/');
    const cached = this.cache.get(0);
    if (cached) return cached;
    const offsetBytes = layout.firstRootDirSector * layout.bytesPerSector;
    const bytes = await this.device.read(offsetBytes, layout.rootEntryCount * DIR_ENTRY_BYTES);
    const dir = new FatDirectory(bytes, { kind: 'fixed', offsetBytes }, true, layout.bytesPerSector, this.markChanged);
    checkDirectory(dir, '/');
    this.cache.set(0, dir);
    return dir;
  }

  private async loadChain(firstCluster: number, isRoot: boolean, path: string): Promise<FatDirectory> {
    const cached = this.cache.get(firstCluster);
    if (cached) return cached;
    const runs = this.chains.runs(firstCluster, path);
    const clusters = clustersOf(runs);
    const size = clusters.length * this.layout.clusterBytes;
    if (size > MAX_DIRECTORY_SLOTS * DIR_ENTRY_BYTES) {
      throw new LoopbackError(
        'CORRUPT',
        `The folder "${path}" is ${formatBytes(size)}, more than a FAT directory can be (2 MiB): the volume is damaged (run fsck.fat)`,
        {
          path,
        },
      );
    }
    const bytes = await this.chains.read(runs, size);
    const dir = new FatDirectory(bytes, { kind: 'chain', clusters }, isRoot, this.layout.bytesPerSector, this.markChanged);
    checkDirectory(dir, path);
    this.cache.set(firstCluster, dir);
    return dir;
  }

  /** The folder an entry of a parent folder names. */
  async child(node: FatNode, path: string): Promise<FatDirectory> {
    const cluster = node.entry.firstCluster;
    if (cluster < FIRST_DATA_CLUSTER) {
      throw new LoopbackError(
        'CORRUPT',
        `The folder "${path}" has no clusters (first cluster ${cluster}): the volume is damaged (run fsck.fat)`,
        { path },
      );
    }
    if (this.layout.type === 'fat32' && cluster === this.layout.rootCluster) return this.root();
    return this.loadChain(cluster, false, path);
  }

  /**
   * The directories from the root down to `parts` (all must be folders). A folder met twice on
   * the way is a directory cycle — an entry pointing back at a folder above it, which only a
   * damaged or crafted volume has — and is refused (CORRUPT) naming both paths: a walk down the
   * tree (get, rm -r) ends there instead of running forever.
   */
  async pathAt(parts: readonly string[], path: string): Promise<FatDirectory[]> {
    const chain = [await this.root()];
    const paths = ['/'];
    let here = '';
    for (let i = 0; i < parts.length; i++) {
      here += `/${parts[i] ?? ''}`; // joinPath(parts.slice(0, i + 1)), built as we go
      const node = this.nodeIn(chain[chain.length - 1] as FatDirectory, parts[i] ?? '', path, here);
      if (!isDirectoryNode(node)) {
        throw new LoopbackError('NOT_FOUND', `"${path}": "${here}" is a file, not a folder`, { path, file: here });
      }
      const dir = await this.child(node, here);
      const seen = chain.indexOf(dir);
      if (seen >= 0) throw directoryCycle(here, paths[seen] ?? '/');
      chain.push(dir);
      paths.push(here);
    }
    return chain;
  }

  async at(parts: readonly string[], path: string): Promise<FatDirectory> {
    const chain = await this.pathAt(parts, path);
    return chain[chain.length - 1] as FatDirectory;
  }

  /** The folder holding `path`'s last component, and that component; refuses the root. */
  async parentOf(path: string, action: string): Promise<{ parent: FatDirectory; name: string }> {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new LoopbackError('INVALID_INPUT', `Cannot ${action} the root folder "/"`, { path });
    return { parent: await this.at(parts, path), name };
  }

  /** The entry `name` of `dir`; NOT_FOUND naming `path` (and `here`, the missing part) when absent. */
  nodeIn(dir: FatDirectory, name: string, path: string, here = path): FatNode {
    const node = dir.find(name);
    if (!node) {
      throw new LoopbackError('NOT_FOUND', here === path ? `"${path}" does not exist` : `"${path}" does not exist: there is no "${here}"`, {
        path,
        missing: here,
      });
    }
    return node;
  }

  // --- Listing ---

  async list(path: string): Promise<DirEntry[]> {
    const dir = await this.at(splitPath(path), path);
    return dir.nodes().map((node) => dirEntryOf(node));
  }

  async stat(path: string): Promise<DirEntry> {
    const parts = splitPath(path);
    const last = parts.pop();
    if (last === undefined) return { name: '/', type: 'directory', sizeBytes: 0, modifiedMs: null, mode: null };
    const parent = await this.at(parts, path);
    return dirEntryOf(this.nodeIn(parent, last, path));
  }

  // --- Adding entries ---

  /** How a new entry `name` would be stored in `parent`; INVALID_INPUT for an illegal name. */
  planNew(parent: FatDirectory, name: string): NamePlan {
    validateLongName(name);
    return parent.planName(name);
  }

  /**
   * Clusters a directory must grow by to take `plan`'s slots: 0 when it has room. The fixed root
   * of FAT12/16 cannot grow: a clear error instead.
   */
  growthClusters(dir: FatDirectory, plan: NamePlan, path: string): number {
    if (dir.findFreeSlots(plan.slots) >= 0) return 0;
    if (dir.location.kind === 'fixed') {
      throw new LoopbackError(
        'VALIDATION',
        `Cannot create "${path}": the root folder of this ${fatTypeName(this.layout.type)} volume is full (it has a fixed ${dir.slotCount} entries, and long names take several). Put files in a subfolder, or use short 8.3 names`,
        { path, rootEntries: dir.slotCount, slotsNeeded: plan.slots },
      );
    }
    const clusters = Math.ceil((plan.slots * DIR_ENTRY_BYTES) / this.layout.clusterBytes);
    if (dir.slotCount + (clusters * this.layout.clusterBytes) / DIR_ENTRY_BYTES > MAX_DIRECTORY_SLOTS) {
      throw new LoopbackError(
        'VALIDATION',
        `Cannot create "${path}": its folder already has the most entries a FAT folder can have (65536 slots)`,
        {
          path,
        },
      );
    }
    return clusters;
  }

  /** Places an entry, growing the directory by `growth` clusters first when needed. */
  addEntry(dir: FatDirectory, plan: NamePlan, entry: ShortEntry, growth: number): FatNode {
    if (growth > 0 && dir.location.kind === 'chain') {
      const chain = dir.location.clusters;
      dir.grow(clustersOf(this.chains.extend(chain[chain.length - 1] ?? 0, growth)), this.layout.clusterBytes);
    }
    const slot = dir.findFreeSlots(plan.slots);
    if (slot < 0) throw new LoopbackError('INTERNAL', `no free slots after growing the folder`, {});
    return dir.place(slot, plan, entry);
  }

  // --- Creating and removing ---

  /** `modifiedMs`: the new folders' dates (default now); a fixed date makes the same volume twice alike (an ISO's EFI image). */
  async mkdir(path: string, options: { parents?: boolean; modifiedMs?: number }): Promise<void> {
    const parts = splitPath(path);
    if (parts.length === 0) {
      if (options.parents) return;
      throw new LoopbackError('ALREADY_EXISTS', 'The root folder "/" always exists', { path });
    }
    let dir = await this.root();
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i] ?? '';
      const here = joinPath(parts.slice(0, i + 1));
      const last = i === parts.length - 1;
      const node = dir.find(name);
      if (node) {
        if (!isDirectoryNode(node)) throw new LoopbackError('ALREADY_EXISTS', `"${here}" is a file, not a folder`, { path: here });
        if (last && !options.parents) throw new LoopbackError('ALREADY_EXISTS', `"${here}" already exists`, { path: here });
        dir = await this.child(node, here);
        continue;
      }
      if (!last && !options.parents) {
        throw new LoopbackError(
          'NOT_FOUND',
          `Cannot create "${path}": "${here}" does not exist (create the parents too with the "parents" option)`,
          {
            path,
            missing: here,
          },
        );
      }
      dir = this.create(dir, name, here, options.modifiedMs);
    }
  }

  private create(parent: FatDirectory, name: string, path: string, modifiedMs?: number): FatDirectory {
    const plan = this.planNew(parent, name);
    const growth = this.growthClusters(parent, plan, path);
    this.chains.requireSpace(path, 1 + growth, 'a new folder');
    const [run] = this.chains.allocate(1);
    if (!run) throw new LoopbackError('INTERNAL', 'allocation of one cluster returned nothing', {});
    const ms = modifiedMs ?? Date.now();
    const parentCluster = parent.isRoot ? 0 : parent.firstCluster;
    const child = FatDirectory.createEmpty(
      this.layout.clusterBytes,
      run.start,
      parentCluster,
      timestamps(ms),
      this.layout.bytesPerSector,
      this.markChanged,
    );
    this.cache.set(run.start, child);
    this.created.push(child);
    this.addEntry(parent, plan, { ...newEntry(ATTR_DIRECTORY, ms), firstCluster: run.start }, growth);
    return child;
  }

  /** Removes a file, or a folder (with what it holds only when `recursive`), freeing their clusters. */
  async remove(path: string, options: { recursive?: boolean }): Promise<void> {
    const { parent, name } = await this.parentOf(path, 'remove');
    const node = this.nodeIn(parent, name, path);
    if (isDirectoryNode(node)) {
      const dir = await this.child(node, path);
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
    this.chains.free(node.entry.firstCluster);
    parent.remove(node);
  }

  /** Frees the clusters of everything below `dir` (not `dir`'s own chain); `above` are the folders on the way to it. */
  private async freeTree(
    dir: FatDirectory,
    path: string,
    depth: number,
    above: ReadonlyMap<FatDirectory, string> = new Map(),
  ): Promise<void> {
    if (depth > 256)
      throw new LoopbackError('CORRUPT', `"${path}" is nested more than 256 folders deep: the volume may be damaged (run fsck.fat)`, {
        path,
      });
    const ancestors = new Map(above).set(dir, path);
    for (const node of dir.nodes()) {
      const childPath = `${path}/${node.name}`;
      if (isDirectoryNode(node)) {
        const child = await this.child(node, childPath);
        const seen = ancestors.get(child);
        if (seen !== undefined) throw directoryCycle(childPath, seen);
        await this.freeTree(child, childPath, depth + 1, ancestors);
        this.deleted.push(child);
      }
      this.chains.free(node.entry.firstCluster);
    }
  }

  // --- Transactions and write-out ---

  /** Keeps what the operation changed in the folders. */
  commit(): void {
    for (const dir of this.changed) dir.commitChanges();
    for (const dir of this.deleted) this.forget(dir);
    this.endTransaction();
  }

  /** Puts the changed folders back as they were, and forgets the ones the operation created. */
  rollback(): void {
    for (const dir of this.changed) dir.rollbackChanges();
    for (const dir of this.created) this.forget(dir);
    this.endTransaction();
  }

  private endTransaction(): void {
    this.changed.clear();
    this.created.length = 0;
    this.deleted.length = 0;
  }

  /** Writes the changed directory sectors; on failure what was not written stays marked, for a retry. */
  async writeOut(): Promise<void> {
    for (const dir of this.cache.values()) {
      if (!dir.hasChanges) continue;
      const ranges = dir.takeDirtyRanges();
      try {
        for (const range of ranges) {
          const bytes = dir.bytes.subarray(range.offset, range.offset + range.length);
          for (const piece of this.deviceRanges(dir, range.offset, bytes.length)) {
            await this.device.write(
              piece.deviceOffset,
              bytes.subarray(piece.offset - range.offset, piece.offset - range.offset + piece.length),
            );
          }
        }
      } catch (error) {
        dir.markRangesDirty(ranges);
        throw error;
      }
    }
  }

  /** Where the directory bytes [offset, offset + length) are on the device, merged where contiguous. */
  private deviceRanges(dir: FatDirectory, offset: number, length: number): Array<{ offset: number; deviceOffset: number; length: number }> {
    if (dir.location.kind === 'fixed') return [{ offset, deviceOffset: dir.location.offsetBytes + offset, length }];
    const { clusterBytes } = this.layout;
    const pieces: Array<{ offset: number; deviceOffset: number; length: number }> = [];
    for (let at = offset; at < offset + length;) {
      const index = Math.floor(at / clusterBytes);
      const within = at % clusterBytes;
      const piece = Math.min(clusterBytes - within, offset + length - at);
      const cluster = dir.location.clusters[index];
      if (cluster === undefined) throw new LoopbackError('INTERNAL', `directory offset ${at} is beyond its clusters`, {});
      const deviceOffset = this.chains.offsetOf(cluster) + within;
      const last = pieces[pieces.length - 1];
      if (last && last.deviceOffset + last.length === deviceOffset) last.length += piece;
      else pieces.push({ offset: at, deviceOffset, length: piece });
      at += piece;
    }
    return pieces;
  }
}

/** Refuses a directory whose slots cannot all be read (FatDirectory.problem). */
function checkDirectory(dir: FatDirectory, path: string): void {
  if (dir.problem !== null) {
    throw new LoopbackError('CORRUPT', `The folder "${path}" is damaged: ${dir.problem} (run fsck.fat)`, { path });
  }
}

function directoryCycle(path: string, ancestor: string): LoopbackError {
  return new LoopbackError(
    'CORRUPT',
    `"${path}" is the folder "${ancestor}" again: a folder that contains itself (a directory cycle); the volume is damaged (run fsck.fat)`,
    { path, ancestor },
  );
}

function dirEntryOf(node: FatNode): DirEntry {
  const { entry } = node;
  return {
    name: node.name,
    type: isDirectoryNode(node) ? 'directory' : 'file',
    sizeBytes: isDirectoryNode(node) ? 0 : entry.fileSize,
    modifiedMs: fromDosTimestamp(entry.wrtDate, entry.wrtTime),
    mode: null,
  };
}
