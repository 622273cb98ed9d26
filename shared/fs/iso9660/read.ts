/**
 * Reading an ISO image (ours or anyone's: mkisofs, xorriso, grub-mkrescue, Windows' own) over a
 * BlockDevice: what `info`, `ls` and `get` and the app's read-only browser need.
 *
 * Names come from the richest tree the image has: Rock Ridge (POSIX names, modes, times,
 * symbolic links; directories relocated by mkisofs's RR_MOVED are followed through CL and hidden
 * where RE marks them), else Joliet, else the plain ISO 9660 names without their ";1" version.
 * Files of several extents (interchange level 3, the multi-extent flag) read as one.
 */
import type { BlockDevice } from '../../disk/block-device';
import { isEntryUsed, MBR_BOOT_SIGNATURE, MBR_STATUS_ACTIVE, parseMbrSector } from '../../disk/mbr-sector';
import { LoopbackError } from '../../errors';
import type { DirEntry, EntryType, FileExtent } from '../types';
import { decodeDirectoryExtent, FILE_FLAGS, type DirectoryRecord } from './directory-record';
import { MEDIA_TYPE, PLATFORM_ID, parseBootCatalog, parseBootRecord, CATALOG_BYTES } from './el-torito';
import { jolietLevel } from './joliet';
import { asciiText, decodeUcs2 } from './numbers';
import {
  nameFromNm,
  parseCl,
  parsePx,
  parseTf,
  ROCK_RIDGE_IDENTIFIERS,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  targetFromSl,
} from './rock-ridge';
import { parseCe, parseEr, parseSp, parseSuspEntries, type SuspEntry } from './susp';
import {
  FIRST_VOLUME_DESCRIPTOR_BLOCK,
  LOGICAL_BLOCK_BYTES,
  parseVolumeDescriptor,
  VOLUME_DESCRIPTOR_BYTES,
  VOLUME_DESCRIPTOR_TYPE,
  volumeDescriptorType,
  type VolumeDescriptor,
} from './volume-descriptor';

/** How many descriptors we look at before giving up on a terminator. */
const MAX_VOLUME_DESCRIPTORS = 64;
/** A continuation chain longer than this is taken for a loop. */
const MAX_CONTINUATION_AREAS = 32;
/** A directory larger than this is taken for damage (it would hold some 500 000 entries). */
export const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;

export type IsoNames = 'rock-ridge' | 'joliet' | 'iso9660';

export interface IsoBootEntryInfo {
  platform: 'bios' | 'efi' | 'powerpc' | 'mac' | `0x${string}`;
  bootable: boolean;
  /** "no emulation", "floppy 1.44M" … */
  media: string;
  loadSegment: number;
  /** 512-byte sectors loaded. */
  sectorCount: number;
  loadRba: number;
  /** The file of the tree whose data starts at loadRba, or null (an appended partition). */
  path: string | null;
}

export interface IsoPartitionInfo {
  number: number;
  type: number;
  bootable: boolean;
  startSector: number;
  sectorCount: number;
}

export interface IsoVolumeInfo {
  volumeIdentifier: string;
  systemIdentifier: string;
  volumeSetIdentifier: string;
  publisherIdentifier: string;
  dataPreparerIdentifier: string;
  applicationIdentifier: string;
  /** The Joliet descriptor's volume identifier (which Windows shows), or null. */
  jolietVolumeIdentifier: string | null;
  volumeSpaceSize: number;
  logicalBlockSize: number;
  /** volumeSpaceSize × logicalBlockSize. */
  sizeBytes: number;
  creationMs: number | null;
  modificationMs: number | null;
  rockRidge: boolean;
  jolietLevel: 1 | 2 | 3 | null;
  /** Which tree the names come from. */
  names: IsoNames;
  bootCatalog: { block: number; entries: IsoBootEntryInfo[] } | null;
  /** A partition table in the System Area (hybrid images), or null. */
  mbrPartitions: IsoPartitionInfo[] | null;
}

interface ReadEntry extends DirEntry {
  /** Data extents in file order (one unless multi-extent); a directory's extent. */
  extents: { block: number; lengthBytes: number }[];
}

const MEDIA_NAMES: Record<number, string> = {
  [MEDIA_TYPE.NO_EMULATION]: 'no emulation',
  [MEDIA_TYPE.FLOPPY_1_2M]: 'floppy 1.2M',
  [MEDIA_TYPE.FLOPPY_1_44M]: 'floppy 1.44M',
  [MEDIA_TYPE.FLOPPY_2_88M]: 'floppy 2.88M',
  [MEDIA_TYPE.HARD_DISK]: 'hard disk',
};

function platformName(id: number): IsoBootEntryInfo['platform'] {
  if (id === PLATFORM_ID.X86) return 'bios';
  if (id === PLATFORM_ID.EFI) return 'efi';
  if (id === PLATFORM_ID.POWERPC) return 'powerpc';
  if (id === PLATFORM_ID.MAC) return 'mac';
  return `0x${id.toString(16).padStart(2, '0')}`;
}

function notFound(path: string): LoopbackError {
  return new LoopbackError('NOT_FOUND', `${path}: no such file or folder in the ISO image`, { path });
}

function splitPath(path: string): string[] {
  if (!path.startsWith('/')) throw new LoopbackError('INVALID_INPUT', `${path}: paths inside an image start with "/"`, { path });
  return path.split('/').filter((part) => part !== '' && part !== '.');
}

/** True when block 16 of a device (2048 bytes) is an ISO 9660 volume descriptor. */
export function detectIso9660(block16: Uint8Array): boolean {
  const type = volumeDescriptorType(block16);
  return (
    type !== null &&
    (type === VOLUME_DESCRIPTOR_TYPE.PRIMARY ||
      type === VOLUME_DESCRIPTOR_TYPE.BOOT_RECORD ||
      type === VOLUME_DESCRIPTOR_TYPE.SUPPLEMENTARY)
  );
}

/** The byte offset where ISO 9660 detection reads its 2048 bytes. */
export const ISO9660_DETECT_OFFSET_BYTES = FIRST_VOLUME_DESCRIPTOR_BLOCK * LOGICAL_BLOCK_BYTES;

export class Iso9660Volume {
  private readonly directories = new Map<number, ReadEntry[]>();
  private readonly blockBytes: number;

  private constructor(
    private readonly device: BlockDevice,
    readonly primary: VolumeDescriptor,
    readonly joliet: VolumeDescriptor | null,
    private readonly jolietUcsLevel: 1 | 2 | 3 | null,
    readonly bootCatalogBlock: number | null,
    /** SUSP's bytesSkipped, or null when the image has no Rock Ridge. */
    private readonly suspSkip: number | null,
    readonly names: IsoNames,
    /** The image has Rock Ridge (whichever tree the names come from). */
    readonly rockRidge: boolean,
  ) {
    this.blockBytes = primary.logicalBlockSize;
  }

  /**
   * Opens the image on `device`. `names` picks a tree (default: Rock Ridge, else Joliet, else
   * ISO 9660); asking for one the image lacks falls back the same way.
   */
  static async open(device: BlockDevice, options: { names?: IsoNames } = {}): Promise<Iso9660Volume> {
    let primary: VolumeDescriptor | null = null;
    let joliet: VolumeDescriptor | null = null;
    let level: 1 | 2 | 3 | null = null;
    let bootCatalogBlock: number | null = null;
    for (let i = 0; i < MAX_VOLUME_DESCRIPTORS; i++) {
      const offset = (FIRST_VOLUME_DESCRIPTOR_BLOCK + i) * LOGICAL_BLOCK_BYTES;
      if (offset + VOLUME_DESCRIPTOR_BYTES > device.sizeBytes) break;
      const block = await device.read(offset, VOLUME_DESCRIPTOR_BYTES);
      const type = volumeDescriptorType(block);
      if (type === null || type === VOLUME_DESCRIPTOR_TYPE.TERMINATOR) break;
      if (type === VOLUME_DESCRIPTOR_TYPE.PRIMARY && !primary) primary = parseVolumeDescriptor(block, 'ascii');
      else if (type === VOLUME_DESCRIPTOR_TYPE.SUPPLEMENTARY && !joliet) {
        const found = jolietLevel(parseVolumeDescriptor(block, 'ascii').escapeSequences);
        if (found !== null) {
          joliet = parseVolumeDescriptor(block, 'ucs2');
          level = found;
        }
      } else if (type === VOLUME_DESCRIPTOR_TYPE.BOOT_RECORD && bootCatalogBlock === null) bootCatalogBlock = parseBootRecord(block);
    }
    if (!primary)
      throw new LoopbackError('INVALID_INPUT', 'no ISO 9660 primary volume descriptor at block 16: this is not an ISO image', {});
    if (![512, 1024, 2048].includes(primary.logicalBlockSize)) {
      throw new LoopbackError('INVALID_INPUT', `unsupported ISO 9660 logical block size ${primary.logicalBlockSize}`, {
        logicalBlockSize: primary.logicalBlockSize,
      });
    }
    // Rock Ridge: an SP entry first in the root's "." record, and an RR extension (ER) or entries.
    const probe = new Iso9660Volume(device, primary, joliet, level, bootCatalogBlock, null, 'iso9660', false);
    const rootRecords = await probe.readRecords(
      primary.directoryRecordForRootDirectory.locationOfExtent,
      primary.directoryRecordForRootDirectory.dataLength,
    );
    let suspSkip: number | null = null;
    const self = rootRecords[0];
    if (self) {
      const first = parseSuspEntries(self.systemUse)[0];
      const sp = first ? parseSp(first) : null;
      if (sp) {
        const entries = await probe.suspEntries(self, sp.bytesSkipped);
        const er = entries.map(parseEr).find((e) => e && (ROCK_RIDGE_IDENTIFIERS as readonly string[]).includes(e.extensionIdentifier));
        if (er || entries.some((e) => e.signature === 'PX' || e.signature === 'RR')) suspSkip = sp.bytesSkipped;
      }
    }
    const wanted = options.names ?? 'rock-ridge';
    const names: IsoNames =
      wanted === 'rock-ridge' && suspSkip !== null
        ? 'rock-ridge'
        : wanted !== 'iso9660' && joliet
          ? 'joliet'
          : suspSkip !== null && wanted !== 'iso9660'
            ? 'rock-ridge'
            : 'iso9660';
    return new Iso9660Volume(
      device,
      primary,
      joliet,
      level,
      bootCatalogBlock,
      names === 'rock-ridge' ? suspSkip : null,
      names,
      suspSkip !== null,
    );
  }

  private async readRecords(block: number, lengthBytes: number): Promise<DirectoryRecord[]> {
    const offset = block * this.blockBytes;
    if (lengthBytes > MAX_DIRECTORY_BYTES) {
      throw new LoopbackError('IO', `an ISO 9660 directory at block ${block} claims ${lengthBytes} bytes: the image is damaged`, {
        block,
        lengthBytes,
      });
    }
    if (offset + lengthBytes > this.device.sizeBytes) {
      throw new LoopbackError('IO', `an ISO 9660 directory at block ${block} (${lengthBytes} bytes) lies beyond the end of the image`, {
        block,
        lengthBytes,
      });
    }
    return decodeDirectoryExtent(await this.device.read(offset, lengthBytes), this.blockBytes);
  }

  /** A record's SUSP entries, continuation areas followed. */
  private async suspEntries(record: DirectoryRecord, skip: number): Promise<SuspEntry[]> {
    const entries: SuspEntry[] = [];
    let area = record.systemUse.subarray(skip);
    for (let hops = 0; hops <= MAX_CONTINUATION_AREAS; hops++) {
      const found = parseSuspEntries(area);
      let next = null;
      for (const entry of found) {
        const ce = parseCe(entry);
        if (ce) next = ce;
        else entries.push(entry);
      }
      if (!next) break;
      const offset = next.blockLocationOfContinuationArea * this.blockBytes + next.offsetToStartOfContinuationArea;
      // A continuation area lies within one block (Linux refuses anything else too).
      if (
        next.lengthOfContinuationArea === 0 ||
        next.lengthOfContinuationArea > this.blockBytes ||
        offset + next.lengthOfContinuationArea > this.device.sizeBytes
      )
        break;
      area = await this.device.read(offset, next.lengthOfContinuationArea);
    }
    return entries;
  }

  private plainName(identifier: Uint8Array): string {
    const text = this.names === 'joliet' ? decodeUcs2(identifier) : asciiText(identifier);
    const semi = text.lastIndexOf(';');
    const body = semi >= 0 ? text.slice(0, semi) : text;
    return this.names === 'joliet' ? body : body.replace(/\.$/, '');
  }

  /** The entries of the directory whose extent is at `block` (cached). */
  private async directory(block: number, lengthBytes: number): Promise<ReadEntry[]> {
    const cached = this.directories.get(block);
    if (cached) return cached;
    const records = await this.readRecords(block, lengthBytes);
    const entries: ReadEntry[] = [];
    let pending: ReadEntry | null = null;
    for (const record of records) {
      const id = record.fileIdentifier;
      if (id.length === 1 && (id[0] === 0 || id[0] === 1)) continue;
      const isDir = (record.fileFlags & FILE_FLAGS.DIRECTORY) !== 0;
      if (pending) {
        // The later extents of a multi-extent file: same identifier, one after the other.
        pending.extents.push({ block: record.locationOfExtent + record.extendedAttributeRecordLength, lengthBytes: record.dataLength });
        pending.sizeBytes += record.dataLength;
        if (!(record.fileFlags & FILE_FLAGS.MULTI_EXTENT)) pending = null;
        continue;
      }
      const entry: ReadEntry = {
        name: this.plainName(id),
        type: isDir ? 'directory' : 'file',
        sizeBytes: isDir ? 0 : record.dataLength,
        modifiedMs: record.recordingDateAndTime,
        mode: null,
        extents: [{ block: record.locationOfExtent + record.extendedAttributeRecordLength, lengthBytes: record.dataLength }],
      };
      if (this.suspSkip !== null) {
        const susp = await this.suspEntries(record, this.suspSkip);
        if (susp.some((e) => e.signature === 'RE')) continue; // shown where its CL is
        const name = nameFromNm(susp);
        if (name !== null && name !== '.' && name !== '..') entry.name = name;
        const px = susp.map(parsePx).find((p) => p !== null);
        if (px) {
          entry.mode = px.posixFileMode & 0o7777;
          const type = px.posixFileMode & S_IFMT;
          entry.type = (
            type === S_IFDIR ? 'directory' : type === S_IFREG ? 'file' : type === S_IFLNK ? 'symlink' : isDir ? 'directory' : 'other'
          ) as EntryType;
        }
        const target = targetFromSl(susp);
        if (target !== null) {
          entry.type = 'symlink';
          entry.target = target;
          entry.sizeBytes = 0;
        }
        const tf = susp.map(parseTf).find((t) => t !== null);
        if (tf?.modify != null) entry.modifiedMs = tf.modify;
        const cl = susp.map(parseCl).find((c) => c !== null);
        if (cl != null) {
          // A relocated directory: its real extent is at CL; its size is in its own "." record.
          const first = await this.device.read(cl * this.blockBytes, this.blockBytes);
          const self = decodeDirectoryExtent(first, this.blockBytes)[0];
          entry.type = 'directory';
          entry.extents = [{ block: cl, lengthBytes: self?.dataLength ?? this.blockBytes }];
        }
      }
      if (entry.type === 'directory') entry.sizeBytes = 0;
      if (record.fileFlags & FILE_FLAGS.MULTI_EXTENT && !isDir) pending = entry;
      entries.push(entry);
    }
    this.directories.set(block, entries);
    return entries;
  }

  private rootExtent(): { block: number; lengthBytes: number } {
    const vd = this.names === 'joliet' && this.joliet ? this.joliet : this.primary;
    const root = vd.directoryRecordForRootDirectory;
    return { block: root.locationOfExtent + root.extendedAttributeRecordLength, lengthBytes: root.dataLength };
  }

  private async lookup(path: string): Promise<ReadEntry> {
    const parts = splitPath(path);
    let extent = this.rootExtent();
    let entry: ReadEntry = {
      name: '/',
      type: 'directory',
      sizeBytes: 0,
      modifiedMs: this.primary.directoryRecordForRootDirectory.recordingDateAndTime,
      mode: null,
      extents: [extent],
    };
    for (let i = 0; i < parts.length; i++) {
      if (entry.type !== 'directory')
        throw new LoopbackError('NOT_FOUND', `${path}: ${'/' + parts.slice(0, i).join('/')} is not a folder`, { path });
      const entries = await this.directory(extent.block, extent.lengthBytes);
      const part = parts[i]!;
      let found = entries.find((e) => e.name === part);
      if (!found && this.names !== 'rock-ridge') found = entries.find((e) => e.name.toLowerCase() === part.toLowerCase());
      if (!found) throw notFound(path);
      entry = found;
      extent = found.extents[0]!;
    }
    if (entry.type === 'directory' && parts.length === 0) {
      // The root's own attributes: Rock Ridge keeps them in its "." record.
      if (this.suspSkip !== null) {
        const self = (await this.readRecords(extent.block, extent.lengthBytes))[0];
        if (self) {
          const susp = await this.suspEntries(self, this.suspSkip);
          const px = susp.map(parsePx).find((p) => p !== null);
          if (px) entry.mode = px.posixFileMode & 0o7777;
          const tf = susp.map(parseTf).find((t) => t !== null);
          if (tf?.modify != null) entry.modifiedMs = tf.modify;
        }
      }
    }
    return entry;
  }

  private static publicEntry(entry: ReadEntry): DirEntry {
    const out: DirEntry = {
      name: entry.name,
      type: entry.type,
      sizeBytes: entry.sizeBytes,
      modifiedMs: entry.modifiedMs,
      mode: entry.mode,
    };
    if (entry.target !== undefined) out.target = entry.target;
    return out;
  }

  /** The entries of a folder, without "." and "..", in recorded order. */
  async list(path: string): Promise<DirEntry[]> {
    const entry = await this.lookup(path);
    if (entry.type !== 'directory') throw new LoopbackError('INVALID_INPUT', `${path} is a ${entry.type}, not a folder`, { path });
    const extent = entry.extents[0]!;
    return (await this.directory(extent.block, extent.lengthBytes)).map(Iso9660Volume.publicEntry);
  }

  /** The entry at `path` (a symbolic link itself, not what it points at). */
  async stat(path: string): Promise<DirEntry> {
    const entry = await this.lookup(path);
    return Iso9660Volume.publicEntry(entry);
  }

  private async fileEntry(path: string): Promise<ReadEntry> {
    const entry = await this.lookup(path);
    if (entry.type === 'symlink')
      throw new LoopbackError('INVALID_INPUT', `${path} is a symbolic link to ${entry.target ?? '?'}, not a file`, {
        path,
        target: entry.target,
      });
    if (entry.type !== 'file') throw new LoopbackError('INVALID_INPUT', `${path} is a ${entry.type}, not a file`, { path });
    return entry;
  }

  /** Where the file's data lies on the device, in file order. */
  async extents(path: string): Promise<FileExtent[]> {
    const entry = await this.fileEntry(path);
    const out: FileExtent[] = [];
    let fileOffsetBytes = 0;
    for (const extent of entry.extents) {
      if (extent.lengthBytes > 0)
        out.push({ fileOffsetBytes, deviceOffsetBytes: extent.block * this.blockBytes, lengthBytes: extent.lengthBytes });
      fileOffsetBytes += extent.lengthBytes;
    }
    return out;
  }

  /** `lengthBytes` of the file from `offsetBytes` (fewer at its end): how `get` streams a big file. */
  async read(path: string, offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    const extents = await this.extents(path);
    const size = extents.reduce((n, e) => Math.max(n, e.fileOffsetBytes + e.lengthBytes), 0);
    const end = Math.min(size, offsetBytes + lengthBytes);
    const out = new Uint8Array(Math.max(0, end - offsetBytes));
    for (const extent of extents) {
      const from = Math.max(offsetBytes, extent.fileOffsetBytes);
      const to = Math.min(end, extent.fileOffsetBytes + extent.lengthBytes);
      if (from >= to) continue;
      const deviceOffset = extent.deviceOffsetBytes + (from - extent.fileOffsetBytes);
      if (deviceOffset + (to - from) > this.device.sizeBytes) {
        throw new LoopbackError('IO', `${path}: its data lies beyond the end of the image (a truncated ISO?)`, { path });
      }
      out.set(await this.device.read(deviceOffset, to - from), from - offsetBytes);
    }
    return out;
  }

  async readFile(path: string): Promise<Uint8Array> {
    const entry = await this.fileEntry(path);
    return this.read(path, 0, entry.sizeBytes);
  }

  /** Every path below `path` (folders first, then their contents), for tests and `ls -R`. */
  async walk(path = '/'): Promise<{ path: string; entry: DirEntry }[]> {
    const out: { path: string; entry: DirEntry }[] = [];
    const start = await this.lookup(path);
    if (start.type !== 'directory') throw new LoopbackError('INVALID_INPUT', `${path} is a ${start.type}, not a folder`, { path });
    // A damaged (or hostile) image can point a folder at one of its ancestors.
    const seen = new Map<number, string>();
    const visit = async (dir: string, entry: ReadEntry) => {
      const extent = entry.extents[0]!;
      const earlier = seen.get(extent.block);
      if (earlier !== undefined) {
        throw new LoopbackError('IO', `${dir} is the same directory as ${earlier} (block ${extent.block}): the image is damaged`, {
          path: dir,
          block: extent.block,
        });
      }
      seen.set(extent.block, dir);
      for (const child of await this.directory(extent.block, extent.lengthBytes)) {
        const childPath = dir === '/' ? `/${child.name}` : `${dir}/${child.name}`;
        out.push({ path: childPath, entry: Iso9660Volume.publicEntry(child) });
        if (child.type === 'directory') await visit(childPath, child);
      }
    };
    await visit(path === '/' ? '/' : path.replace(/\/+$/, ''), start);
    return out;
  }

  /** What `info` shows: the descriptors, the extensions, the boot catalog and a hybrid MBR. */
  async info(): Promise<IsoVolumeInfo> {
    const p = this.primary;
    let bootCatalog: IsoVolumeInfo['bootCatalog'] = null;
    if (this.bootCatalogBlock !== null && (this.bootCatalogBlock + 1) * this.blockBytes <= this.device.sizeBytes) {
      const catalog = parseBootCatalog(await this.device.read(this.bootCatalogBlock * this.blockBytes, CATALOG_BYTES));
      const byBlock = new Map<number, string>();
      for (const { path, entry } of await this.walk()) {
        if (entry.type !== 'file') continue;
        const first = (await this.extents(path))[0];
        if (first && !byBlock.has(first.deviceOffsetBytes / this.blockBytes)) byBlock.set(first.deviceOffsetBytes / this.blockBytes, path);
      }
      bootCatalog = {
        block: this.bootCatalogBlock,
        entries: catalog.entries.map((e) => ({
          platform: platformName(e.platformId),
          bootable: e.bootIndicator === 0x88,
          media: MEDIA_NAMES[e.bootMediaType] ?? `type ${e.bootMediaType}`,
          loadSegment: e.loadSegment,
          sectorCount: e.sectorCount,
          loadRba: e.loadRba,
          path: byBlock.get(e.loadRba) ?? null,
        })),
      };
    }
    let mbrPartitions: IsoPartitionInfo[] | null = null;
    const sector0 = parseMbrSector(await this.device.read(0, 512));
    if (sector0.bootSignature === MBR_BOOT_SIGNATURE && sector0.entries.some(isEntryUsed)) {
      mbrPartitions = sector0.entries
        .map((e, i) => ({
          number: i + 1,
          type: e.type,
          bootable: e.status === MBR_STATUS_ACTIVE,
          startSector: e.startLBA,
          sectorCount: e.sectorCount,
          used: isEntryUsed(e),
        }))
        .filter((e) => e.used)
        .map(({ used: _used, ...rest }) => rest);
    }
    return {
      volumeIdentifier: p.volumeIdentifier,
      systemIdentifier: p.systemIdentifier,
      volumeSetIdentifier: p.volumeSetIdentifier,
      publisherIdentifier: p.publisherIdentifier,
      dataPreparerIdentifier: p.dataPreparerIdentifier,
      applicationIdentifier: p.applicationIdentifier,
      jolietVolumeIdentifier: this.joliet?.volumeIdentifier ?? null,
      volumeSpaceSize: p.volumeSpaceSize,
      logicalBlockSize: p.logicalBlockSize,
      sizeBytes: p.volumeSpaceSize * p.logicalBlockSize,
      creationMs: p.volumeCreationDateAndTime,
      modificationMs: p.volumeModificationDateAndTime,
      rockRidge: this.rockRidge,
      jolietLevel: this.jolietUcsLevel,
      names: this.names,
      bootCatalog,
      mbrPartitions,
    };
  }
}

/** Opens the ISO image on `device` (see Iso9660Volume.open). */
export function openIso9660(device: BlockDevice, options: { names?: IsoNames } = {}): Promise<Iso9660Volume> {
  return Iso9660Volume.open(device, options);
}
