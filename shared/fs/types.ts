/**
 * One interface for every filesystem we read and write inside an image file (FAT12/16/32 and
 * ext2), over a BlockDevice window (a partition, or a whole floppy). The CLI's ls/put/get/mkdir/rm,
 * the app's file browser and recipes all use it, so they do not care which filesystem it is.
 *
 * Paths are absolute POSIX paths inside the filesystem: "/", "/boot/grub/grub.cfg".
 */
import type { BlockDevice } from '../disk/block-device';

export const FS_TYPES = ['fat12', 'fat16', 'fat32', 'ext2'] as const;
/** The filesystems Loopback Studio formats and writes. */
export type FsType = (typeof FS_TYPES)[number];
/** What a volume may hold: those, or an ISO 9660 image (read only: info, ls, get). */
export type VolumeFsType = FsType | 'iso9660';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface DirEntry {
  name: string;
  type: EntryType;
  sizeBytes: number;
  /** Last modification, milliseconds since the epoch (null where the filesystem keeps none). */
  modifiedMs: number | null;
  /** POSIX permission bits (ext2); null on FAT. */
  mode: number | null;
  /** Symlink target (ext2). */
  target?: string;
}

/** What `df -Th` shows for a volume. */
export interface FsUsage {
  type: FsType;
  label: string | null;
  /** Volume serial (FAT, as "ABCD-1234") or UUID (ext2). */
  id: string | null;
  sizeBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** Allocation unit: the cluster size (FAT) or block size (ext2). */
  blockBytes: number;
}

/** FileSystem.usage(): FsUsage, or an ISO 9660 image's (read only: full, nothing free, 2 KiB blocks). */
export interface VolumeUsage extends Omit<FsUsage, 'type'> {
  type: VolumeFsType;
}

/** Progress of a long operation, and the way to stop it between consistent steps. */
export interface ProgressOptions {
  onProgress?: (progress: { phase: string; bytesDone: number; bytesTotal: number; itemsDone?: number; itemsTotal?: number }) => void;
  /** When aborted, the operation stops at the next consistent point and throws CANCELLED. */
  signal?: AbortSignal;
}

/**
 * Where one piece of a file's data lies in the volume: what a boot loader's block list is made
 * of (GRUB legacy's `setup` writes stage2's sectors into stage2 itself). Metadata such as ext2's
 * indirect blocks is never part of an extent.
 */
export interface FileExtent {
  /** Where this piece starts in the file. */
  fileOffsetBytes: number;
  /** Where it starts in the volume: a byte offset of the filesystem's BlockDevice window. */
  deviceOffsetBytes: number;
  lengthBytes: number;
}

/** One piece of a file, as FileSystem.readChunks hands them out: in file order, back to back. */
export interface FileChunk {
  /** Where the piece starts in the file. */
  offsetBytes: number;
  lengthBytes: number;
  /** The bytes (valid until the callback's promise settles), or null: a hole that reads as zeros. */
  data: Uint8Array | null;
}

/** Pieces of at most this size: a file of any size is read without holding it in memory. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;

export interface WriteOptions {
  /** Modification time to record (defaults to now). */
  modifiedMs?: number;
  /** POSIX mode bits (ext2 only; ignored on FAT). */
  mode?: number;
  /**
   * Replacing a file that needs as many clusters as it has: write over its own clusters instead
   * of new ones (FAT; ext2 reuses a replaced file's blocks anyway). No allocation and no FAT
   * change, and the file stays where it was — but a write cut short leaves it part old, part new,
   * where the default leaves it whole and old. For writers that detect an interrupted write some
   * other way (rebuild.ts: the image's times against its build state).
   */
  inPlace?: boolean;
}

export interface FileSystem {
  readonly type: VolumeFsType;
  usage(): Promise<VolumeUsage>;
  /** Entries of a directory, without "." and "..". */
  list(path: string): Promise<DirEntry[]>;
  /** The entry at `path`; throws NOT_FOUND naming the path when there is none. */
  stat(path: string): Promise<DirEntry>;
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Reads a file piece by piece (at most READ_CHUNK_BYTES each; a hole of a sparse file as one
   * piece without data), awaiting `onChunk` for each, and resolves to the file's size. How a file
   * of any size is copied out (4 GiB and more on ext2) — readFile holds it all in memory.
   * `onChunk` must not call back into this filesystem (its calls run one at a time). Absent where
   * a filesystem only offers readFile.
   */
  readChunks?(path: string, onChunk: (chunk: FileChunk) => Promise<void>): Promise<number>;
  /** Creates or replaces a file. The parent folder must exist. Checks free space before writing. */
  writeFile(path: string, data: Uint8Array, options?: WriteOptions): Promise<void>;
  mkdir(path: string, options?: { parents?: boolean }): Promise<void>;
  /** Removes a file, an empty folder, or with `recursive` a whole tree. */
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /**
   * The file's data on the volume, in file order; the lengths add up to the file's size (a hole
   * of a sparse file has no extent). What changed since the last flush() may not be on the
   * device yet in the filesystem's own metadata: flush before anything else reads the volume.
   */
  extents(path: string): Promise<FileExtent[]>;
  /** Writes out anything cached (FSInfo, bitmaps, superblock) and flushes the device. */
  flush(): Promise<void>;
  /**
   * Writes the metadata out as flush() does, but without waiting for the device (no fsync, and
   * ext2 leaves its backup superblocks to flush()): afterwards the image holds a consistent
   * volume with everything done so far, so a process killed later leaves it clean. A long copy
   * calls it after each file, so an interrupted copy keeps every file it finished. Absent where
   * every call is already durable on its own (a mounted folder: the kernel's driver).
   */
  checkpoint?(): Promise<void>;
}

/** A filesystem that also has POSIX features (ext2). */
export interface PosixFileSystem extends FileSystem {
  symlink(target: string, path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
}

/** Opens a filesystem found on a device (after detection), or formats one. */
export type FileSystemOpener = (device: BlockDevice) => Promise<FileSystem>;
