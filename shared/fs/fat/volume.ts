/**
 * A FAT12/16/32 volume on a BlockDevice, behind the FileSystem interface of shared/fs/types.ts:
 * a façade that runs each call in turn, as a transaction, over three parts — the cluster chains
 * (chains.ts: the FAT, allocation, data-area offsets), the folders (directories.ts) and the files
 * (files.ts).
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
import type { DirEntry, FileChunk, FileExtent, FileSystem, FsUsage } from '../types';
import {
  BOOT_SECTOR_BYTES,
  EXTENDED_BOOT_SIGNATURE,
  formatVolumeId,
  hasBootJump,
  NO_NAME_LABEL,
  parseBootSector,
  type FatBootSector,
} from './boot-sector';
import { ClusterChains, NeedsWriteOut } from './chains';
import { SHORT_NAME_BYTES } from './dir-entry';
import { FatDirectories } from './directories';
import type { FatDirectory } from './directory';
import { FatFiles, type FatWriteOptions } from './files';
import { DIR_ENTRY_BYTES, layoutFromBootSector, type FatLayout, type FatType } from './layout';
import { decodeLabel } from './names';

export { MAX_FILE_BYTES, WRITE_CHUNK_BYTES, type FatWriteOptions } from './files';

/** BS_BootSig 0x28: an older extended BPB with BS_VolID but no label or type string. */
const OLD_EXTENDED_BOOT_SIGNATURE = 0x28;

export class FatVolume implements FileSystem {
  readonly type: FatType;
  private readonly directories: FatDirectories;
  private readonly files: FatFiles;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly device: BlockDevice,
    readonly bootSector: FatBootSector,
    readonly layout: FatLayout,
    private readonly chains: ClusterChains,
  ) {
    this.type = layout.type;
    this.directories = new FatDirectories(device, layout, chains);
    this.files = new FatFiles(device, layout, chains, this.directories);
  }

  /** Opens the FAT volume on `device`; throws VALIDATION when there is none. */
  static async open(device: BlockDevice): Promise<FatVolume> {
    if (device.sizeBytes < BOOT_SECTOR_BYTES) {
      throw new LoopbackError('VALIDATION', `Not a FAT volume: the device has only ${device.sizeBytes} bytes`, {
        sizeBytes: device.sizeBytes,
      });
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
    return new FatVolume(device, bootSector, layout, await ClusterChains.read(device, bootSector, layout));
  }

  // --- FileSystem ---

  usage(): Promise<FsUsage> {
    return this.exclusive(async () => {
      const root = await this.directories.root();
      const { clusterBytes, clusterCount } = this.layout;
      const sizeBytes = clusterCount * clusterBytes;
      const freeBytes = this.chains.freeClusters * clusterBytes;
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
    return this.exclusive(() => this.directories.list(path));
  }

  stat(path: string): Promise<DirEntry> {
    return this.exclusive(() => this.directories.stat(path));
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.exclusive(() => this.files.read(path));
  }

  /** See FileSystem.readChunks. */
  readChunks(path: string, onChunk: (chunk: FileChunk) => Promise<void>): Promise<number> {
    return this.exclusive(() => this.files.readChunks(path, onChunk));
  }

  /** The file's cluster runs, from the FAT in memory (the one flush() writes out). */
  extents(path: string): Promise<FileExtent[]> {
    return this.exclusive(() => this.files.extents(path));
  }

  /**
   * Creates or replaces a file. Checks the free space first (throwing VALIDATION with the file's
   * name, its size and the free bytes); a replaced file keeps its old clusters until the new
   * data is written, so it needs room for both at once. `signal` may cancel until the entry is
   * updated (checked between data chunks and once more at the end): the file is then left as it
   * was (absent, or its old contents) and CANCELLED is thrown.
   */
  writeFile(path: string, data: Uint8Array, options: FatWriteOptions = {}): Promise<void> {
    return this.transaction(() => this.files.write(path, data, options));
  }

  mkdir(path: string, options: { parents?: boolean; modifiedMs?: number } = {}): Promise<void> {
    return this.transaction(() => this.directories.mkdir(path, options));
  }

  remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    return this.transaction(() => this.directories.remove(path, options));
  }

  /**
   * Renames or moves a file or folder. The target must not exist (ALREADY_EXISTS) unless it is
   * the same entry under another case ("readme.txt" → "README.TXT"). A folder cannot move into
   * itself or below itself.
   */
  rename(from: string, to: string): Promise<void> {
    return this.transaction(() => this.files.rename(from, to));
  }

  /** Writes out every change (FATs, directories, FAT32 FSInfo) and flushes the device. */
  flush(): Promise<void> {
    return this.exclusive(async () => {
      await this.writeOut();
      await this.device.flush();
    });
  }

  /** See FileSystem.checkpoint: the FATs, folders and FSInfo written, the device not flushed. */
  checkpoint(): Promise<void> {
    return this.exclusive(() => this.writeOut());
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
        this.chains.begin();
        try {
          await work();
        } catch (error) {
          this.chains.rollback();
          this.directories.rollback();
          if (error instanceof NeedsWriteOut && attempt === 0) {
            await this.writeOut();
            continue;
          }
          throw error;
        }
        this.chains.commit();
        this.directories.commit();
        return;
      }
    });
  }

  /**
   * Writes the changed FAT sectors (to every FAT copy), directory sectors and FSInfo. If a write
   * fails (a full host disk …), what was not written stays marked, for the next flush() to retry.
   */
  private async writeOut(): Promise<void> {
    await this.chains.writeFat();
    await this.directories.writeOut();
    // The FAT on disk no longer gives freed clusters to their old files: they may be reused.
    this.chains.releaseFreed();
    await this.chains.writeFsInfo();
  }

  // --- Label and serial number ---

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

/** Opens the FAT volume on a device (a partition window or a whole floppy image). */
export function openFat(device: BlockDevice): Promise<FatVolume> {
  return FatVolume.open(device);
}
