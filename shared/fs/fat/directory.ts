/**
 * One directory in memory: its raw 32-byte slots (the FAT12/16 fixed root region, or the
 * clusters of a cluster chain), the entries read from them (long name + short entry), and the
 * sectors changed since they were last written. Lookups are by name, case-insensitively
 * (FAT spec v1.03: names are compared without regard to case), through either the long or the
 * short name.
 *
 * Slot rules (FAT spec, "FAT Directory Structure"): DIR_Name[0] = 0xE5 marks a free slot,
 * 0x00 a free slot after which all are free ("end of directory").
 *
 * Changes are kept (sectors to write) until the volume writes them out, and can be undone: the
 * first change after `commitChanges()` starts an undo record (old slot bytes, size, hints),
 * which `rollbackChanges()` puts back.
 */
import { LoopbackError } from '../../errors';
import {
  ATTR_DIRECTORY,
  ATTR_VOLUME_ID,
  DIR_END,
  DIR_FREE,
  DIR_NAME,
  DIR_ATTR,
  dotName,
  encodeShortEntry,
  isLongNameEntry,
  parseShortEntry,
  type ShortEntry,
} from './dir-entry';
import { DIR_ENTRY_BYTES } from './layout';
import { encodeLfnEntries, LfnCollector, lfnChecksum, lfnEntryCount } from './lfn';
import { displayShortName, foldCase, planShortName, shortNameKey, type ShortNamePlan } from './names';

/** FAT spec: a directory may not grow beyond 65 536 entries (2 MiB). */
export const MAX_DIRECTORY_SLOTS = 65536;

export type DirLocation = { kind: 'fixed'; offsetBytes: number } | { kind: 'chain'; clusters: number[] };

/** An entry of a directory: a file or a subfolder (never ".", ".." or the volume label). */
export interface FatNode {
  /** The long name, or the short name (with the NT lower-case flags applied) when there is none. */
  name: string;
  hasLongName: boolean;
  /** Slot of the first long-name entry, or of the short entry when there is no long name. */
  firstSlot: number;
  /** Slot of the short entry. */
  slot: number;
  entry: ShortEntry;
}

export function isDirectoryNode(node: FatNode): boolean {
  return (node.entry.attr & ATTR_DIRECTORY) !== 0;
}

/** What adding an entry needs: its short name plan, and how many slots (long-name ones + 1). */
export interface NamePlan extends ShortNamePlan {
  longName: string;
  slots: number;
}

interface DirectoryUndo {
  length: number;
  clusterCount: number;
  /** Slot index → its 32 bytes before the first change. */
  slots: Map<number, Uint8Array>;
  /** Sectors that became dirty since (to forget again). */
  newlyDirty: number[];
  /** Tail hints changed since, with their old values. */
  tailHints: Map<string, number | undefined>;
}

export class FatDirectory {
  private readonly bySlot = new Map<number, FatNode>();
  private readonly byLongName = new Map<string, FatNode>();
  private readonly byShortName = new Map<string, FatNode>();
  /** Every short name in use (including ".", ".." and the label), with how often it occurs. */
  private readonly shortNameUse = new Map<string, number>();
  /** First slot at or after which everything is free. */
  private endSlot: number;
  /** Free (0xE5) slots before endSlot. */
  private holes = 0;
  /** Per basis name, the numeric tail to try first (last used + 1). */
  private readonly tailHints = new Map<string, number>();
  private readonly dirtySectors = new Set<number>();
  private undo: DirectoryUndo | null = null;
  /** Slot of the volume-label entry (root directory only), or -1. */
  labelSlot = -1;
  /**
   * What is wrong with the slots, when an entry cannot be read as a name (a blank short name
   * without a long one): the directory is damaged, and FatDirectories refuses it (CORRUPT).
   */
  problem: string | null = null;

  constructor(
    /** The directory's bytes (all of its slots). */
    public bytes: Uint8Array,
    readonly location: DirLocation,
    /** True for the root directory (which has no "." and ".." and may hold the volume label). */
    readonly isRoot: boolean,
    private readonly sectorBytes: number,
    /** Called at the first change since the last commitChanges()/rollbackChanges(). */
    private readonly onChange: (dir: FatDirectory) => void,
  ) {
    this.endSlot = this.slotCount;
    this.parse();
  }

  /** A new, empty subdirectory of one cluster: "." (itself) and ".." (its parent, 0 = root). */
  static createEmpty(
    clusterBytes: number,
    cluster: number,
    parentCluster: number,
    times: Pick<ShortEntry, 'crtTimeTenth' | 'crtTime' | 'crtDate' | 'lstAccDate' | 'wrtTime' | 'wrtDate'>,
    sectorBytes: number,
    onChange: (dir: FatDirectory) => void,
  ): FatDirectory {
    const bytes = new Uint8Array(clusterBytes);
    // FAT spec, "FAT Directory Structure": every subdirectory starts with "." and "..", both
    // with ATTR_DIRECTORY; ".." holds 0 when the parent is the root (also on FAT32).
    encodeShortEntry({ name: dotName('.'), attr: ATTR_DIRECTORY, ntRes: 0, ...times, firstCluster: cluster, fileSize: 0 }, bytes, 0);
    encodeShortEntry(
      { name: dotName('..'), attr: ATTR_DIRECTORY, ntRes: 0, ...times, firstCluster: parentCluster, fileSize: 0 },
      bytes,
      DIR_ENTRY_BYTES,
    );
    const dir = new FatDirectory(bytes, { kind: 'chain', clusters: [cluster] }, false, sectorBytes, onChange);
    dir.markDirty(0, bytes.length);
    return dir;
  }

  get slotCount(): number {
    return this.bytes.length / DIR_ENTRY_BYTES;
  }

  /** The first cluster (0 for the FAT12/16 fixed root). */
  get firstCluster(): number {
    return this.location.kind === 'chain' ? (this.location.clusters[0] ?? 0) : 0;
  }

  private parse(): void {
    this.bySlot.clear();
    this.byLongName.clear();
    this.byShortName.clear();
    this.shortNameUse.clear();
    this.endSlot = this.slotCount;
    this.holes = 0;
    this.labelSlot = -1;
    this.problem = null;
    const collector = new LfnCollector();
    for (let slot = 0; slot < this.slotCount; slot++) {
      const offset = slot * DIR_ENTRY_BYTES;
      const first = this.bytes[offset + DIR_NAME];
      if (first === DIR_END) {
        this.endSlot = slot;
        break;
      }
      if (first === DIR_FREE) {
        this.holes++;
        collector.reset();
        continue;
      }
      const attr = this.bytes[offset + DIR_ATTR] ?? 0;
      if (isLongNameEntry(attr)) {
        collector.add(this.bytes, offset, slot);
        continue;
      }
      const entry = parseShortEntry(this.bytes, offset);
      const long = collector.take(entry.name);
      // The volume label's entry is not a file name: a folder "boot" on a volume labelled BOOT
      // is BOOT, not BOOT~1 (Linux's fat_get_short_entry and mtools skip label entries too).
      if (!(attr & ATTR_VOLUME_ID)) this.useShortName(shortNameKey(entry.name), 1);
      if (attr & ATTR_VOLUME_ID) {
        if (this.isRoot && this.labelSlot < 0) this.labelSlot = slot;
        continue;
      }
      if (entry.name[0] === 0x2e) continue; // "." and ".."
      const name = long ? long.name : displayShortName(entry.name, entry.ntRes);
      if (name === '') {
        // A blank DIR_Name (fsck.fat: "Bad short file name"): nothing could ever address it.
        this.problem ??= `the entry in slot ${slot} has a blank name`;
        continue;
      }
      this.register({
        name,
        hasLongName: long !== null,
        firstSlot: long ? long.startSlot : slot,
        slot,
        entry,
      });
    }
  }

  private useShortName(key: string, delta: number): void {
    const count = (this.shortNameUse.get(key) ?? 0) + delta;
    if (count > 0) this.shortNameUse.set(key, count);
    else this.shortNameUse.delete(key);
  }

  private register(node: FatNode): void {
    this.bySlot.set(node.slot, node);
    const shortKey = foldCase(displayShortName(node.entry.name, 0));
    if (!this.byShortName.has(shortKey)) this.byShortName.set(shortKey, node);
    if (node.hasLongName) {
      const longKey = foldCase(node.name);
      if (!this.byLongName.has(longKey)) this.byLongName.set(longKey, node);
    }
  }

  private unregister(node: FatNode): void {
    this.bySlot.delete(node.slot);
    const shortKey = foldCase(displayShortName(node.entry.name, 0));
    if (this.byShortName.get(shortKey) === node) this.byShortName.delete(shortKey);
    const longKey = foldCase(node.name);
    if (this.byLongName.get(longKey) === node) this.byLongName.delete(longKey);
  }

  /** The entry called `name` (by its long or its short name, ignoring case), if any. */
  find(name: string): FatNode | undefined {
    const key = foldCase(name);
    return this.byLongName.get(key) ?? this.byShortName.get(key);
  }

  /** Files and subfolders, in the order they are stored. */
  nodes(): FatNode[] {
    return [...this.bySlot.values()].sort((a, b) => a.slot - b.slot);
  }

  /** How `longName` would be stored here: short name, case flags, slots needed. */
  planName(longName: string): NamePlan {
    const plan = planShortName(longName, this.shortNameUse, (basis) => this.tailHints.get(basis) ?? 1);
    const { shortName, needsLongName, ntRes, basis, tail } = plan;
    return { shortName, needsLongName, ntRes, basis, tail, longName, slots: needsLongName ? lfnEntryCount(longName) + 1 : 1 };
  }

  /** The first of `count` consecutive free slots, or -1 when the directory must grow first. */
  findFreeSlots(count: number): number {
    if (this.holes === 0) return this.endSlot + count <= this.slotCount ? this.endSlot : -1;
    let run = 0;
    for (let slot = 0; slot < this.slotCount; slot++) {
      const free = slot >= this.endSlot || this.bytes[slot * DIR_ENTRY_BYTES] === DIR_FREE;
      run = free ? run + 1 : 0;
      if (run === count) return slot - count + 1;
    }
    return -1;
  }

  /**
   * Appends zeroed clusters (already linked into the chain by the caller). All their sectors are
   * marked for writing, since a directory's unused slots must read as zero on disk.
   */
  grow(newClusters: number[], clusterBytes: number): void {
    if (this.location.kind !== 'chain') throw new Error('a fixed root directory cannot grow');
    this.beforeChange(0, 0);
    const grown = new Uint8Array(this.bytes.length + newClusters.length * clusterBytes);
    grown.set(this.bytes);
    const oldLength = this.bytes.length;
    this.bytes = grown;
    this.location.clusters.push(...newClusters);
    this.markDirty(oldLength, grown.length - oldLength);
  }

  /** Writes a new entry (long-name entries + short entry) at `slot` (from findFreeSlots). */
  place(slot: number, plan: NamePlan, entry: ShortEntry): FatNode {
    const count = plan.slots;
    if (slot < 0 || slot + count > this.slotCount) throw new Error(`no room for ${count} slots at ${slot}`);
    this.beforeChange(slot * DIR_ENTRY_BYTES, (count + 1) * DIR_ENTRY_BYTES);
    for (let s = slot; s < slot + count; s++) {
      if (s < this.endSlot && this.bytes[s * DIR_ENTRY_BYTES] === DIR_FREE) this.holes--;
    }
    const fullEntry: ShortEntry = { ...entry, name: plan.shortName, ntRes: plan.ntRes };
    const at = slot * DIR_ENTRY_BYTES;
    if (plan.needsLongName) this.bytes.set(encodeLfnEntries(plan.longName, lfnChecksum(plan.shortName)), at);
    const shortSlot = slot + count - 1;
    encodeShortEntry(fullEntry, this.bytes, shortSlot * DIR_ENTRY_BYTES);
    this.markDirty(at, count * DIR_ENTRY_BYTES);
    if (slot + count > this.endSlot) {
      this.endSlot = slot + count;
      // Whatever lies beyond the old end counted as free; the slot after the new end must say so.
      if (this.endSlot < this.slotCount && this.bytes[this.endSlot * DIR_ENTRY_BYTES] !== DIR_END) {
        this.bytes[this.endSlot * DIR_ENTRY_BYTES] = DIR_END;
        this.markDirty(this.endSlot * DIR_ENTRY_BYTES, 1);
      }
    }
    this.useShortName(shortNameKey(plan.shortName), 1);
    if (plan.tail > 0) {
      if (this.undo && !this.undo.tailHints.has(plan.basis)) this.undo.tailHints.set(plan.basis, this.tailHints.get(plan.basis));
      this.tailHints.set(plan.basis, plan.tail + 1);
    }
    const node: FatNode = {
      name: plan.needsLongName ? plan.longName : displayShortName(plan.shortName, plan.ntRes),
      hasLongName: plan.needsLongName,
      firstSlot: slot,
      slot: shortSlot,
      entry: fullEntry,
    };
    this.register(node);
    return node;
  }

  /** Frees the slots of `node` (its long-name entries and its short entry). */
  remove(node: FatNode): void {
    this.beforeChange(node.firstSlot * DIR_ENTRY_BYTES, (node.slot - node.firstSlot + 1) * DIR_ENTRY_BYTES);
    for (let s = node.firstSlot; s <= node.slot; s++) {
      this.bytes[s * DIR_ENTRY_BYTES] = DIR_FREE;
      if (s < this.endSlot) this.holes++;
    }
    this.markDirty(node.firstSlot * DIR_ENTRY_BYTES, (node.slot - node.firstSlot + 1) * DIR_ENTRY_BYTES);
    this.useShortName(shortNameKey(node.entry.name), -1);
    this.unregister(node);
  }

  /** Rewrites the short entry of `node` (size, first cluster, times …); the name stays. */
  update(node: FatNode, entry: ShortEntry): void {
    this.beforeChange(node.slot * DIR_ENTRY_BYTES, DIR_ENTRY_BYTES);
    node.entry = { ...entry, name: node.entry.name, ntRes: node.entry.ntRes };
    encodeShortEntry(node.entry, this.bytes, node.slot * DIR_ENTRY_BYTES);
    this.markDirty(node.slot * DIR_ENTRY_BYTES, DIR_ENTRY_BYTES);
  }

  /** Points ".." (slot 1 of a subdirectory) at a new parent: its first cluster, 0 for the root. */
  setParent(parentCluster: number): void {
    const offset = DIR_ENTRY_BYTES;
    const dotDot = parseShortEntry(this.bytes, offset);
    if (this.isRoot || dotDot.name[0] !== 0x2e || dotDot.name[1] !== 0x2e) {
      throw new LoopbackError('CORRUPT', 'This folder has no ".." entry in its second slot (run fsck.fat)', {});
    }
    this.beforeChange(offset, DIR_ENTRY_BYTES);
    encodeShortEntry({ ...dotDot, firstCluster: parentCluster }, this.bytes, offset);
    this.markDirty(offset, DIR_ENTRY_BYTES);
  }

  /** Starts an undo record at the first change, and saves the slots in [offset, offset + length) once. */
  private beforeChange(offset: number, length: number): void {
    if (!this.undo) {
      this.undo = {
        length: this.bytes.length,
        clusterCount: this.location.kind === 'chain' ? this.location.clusters.length : 0,
        slots: new Map(),
        newlyDirty: [],
        tailHints: new Map(),
      };
      this.onChange(this);
    }
    const end = Math.min(offset + length, this.undo.length);
    for (let slot = Math.floor(offset / DIR_ENTRY_BYTES); slot * DIR_ENTRY_BYTES < end; slot++) {
      if (!this.undo.slots.has(slot)) this.undo.slots.set(slot, this.bytes.slice(slot * DIR_ENTRY_BYTES, (slot + 1) * DIR_ENTRY_BYTES));
    }
  }

  /** Keeps the changes made since the undo record started. */
  commitChanges(): void {
    this.undo = null;
  }

  /** Puts back the directory as it was before the first change since the last commit. */
  rollbackChanges(): void {
    const undo = this.undo;
    this.undo = null;
    if (!undo) return;
    const bytes = this.bytes.slice(0, undo.length);
    for (const [slot, old] of undo.slots) bytes.set(old, slot * DIR_ENTRY_BYTES);
    this.bytes = bytes;
    if (this.location.kind === 'chain') this.location.clusters.length = undo.clusterCount;
    for (const sector of undo.newlyDirty) this.dirtySectors.delete(sector);
    for (const [basis, old] of undo.tailHints) {
      if (old === undefined) this.tailHints.delete(basis);
      else this.tailHints.set(basis, old);
    }
    this.parse();
  }

  private markDirty(offset: number, length: number): void {
    const first = Math.floor(offset / this.sectorBytes);
    const last = Math.floor((offset + length - 1) / this.sectorBytes);
    for (let s = first; s <= last; s++) {
      if (this.dirtySectors.has(s)) continue;
      this.dirtySectors.add(s);
      this.undo?.newlyDirty.push(s);
    }
  }

  /** True when some sectors still have to be written out. */
  get hasChanges(): boolean {
    return this.dirtySectors.size > 0;
  }

  /** Marks ranges from takeDirtyRanges() as changed again, after a failed write-out. */
  markRangesDirty(ranges: ReadonlyArray<{ offset: number; length: number }>): void {
    for (const range of ranges) this.markDirty(range.offset, range.length);
  }

  /** Changed byte ranges (whole sectors, within the directory), merged, and forgets them. */
  takeDirtyRanges(): Array<{ offset: number; length: number }> {
    const ranges: Array<{ offset: number; length: number }> = [];
    for (const sector of [...this.dirtySectors].sort((a, b) => a - b)) {
      const offset = sector * this.sectorBytes;
      const last = ranges[ranges.length - 1];
      if (last && last.offset + last.length === offset) last.length += this.sectorBytes;
      else ranges.push({ offset, length: this.sectorBytes });
    }
    this.dirtySectors.clear();
    return ranges;
  }
}
