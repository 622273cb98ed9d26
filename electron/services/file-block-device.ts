/**
 * The BlockDevice of shared/disk over an image file. Only regular files are ever opened: a path
 * naming a block device, a FIFO or a folder is refused here, whatever the caller asked for.
 */
import { closeSync, constants, fdatasync, fstatSync, fsyncSync, openSync, promises as fs, readSync, writeSync, type Stats } from 'node:fs';
import { checkRange, type BlockDevice } from '../../shared/disk/block-device';
import { LoopbackError } from '../../shared/errors';
import { detectIso9660, ISO9660_DETECT_OFFSET_BYTES } from '../../shared/fs/iso9660/read';
import { WriteGuard, type ByteRange } from './write-guard';

const ISO_BLOCK_BYTES = 2048;

/** Describes what a non-regular path is, for the refusal message. */
function kindOf(stats: Stats): string {
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a pipe';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Throws unless `path` is a regular file (after following links); returns its stats. */
export async function requireRegularFile(path: string): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await fs.stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LoopbackError('NOT_FOUND', `${path}: no such image file`, { path });
    throw new LoopbackError('IO', `${path}: ${(error as Error).message}`, { path });
  }
  if (!stats.isFile()) {
    throw new LoopbackError(
      'INVALID_INPUT',
      `${path} is ${kindOf(stats)}, not an image file: Loopback Studio only works on image files here`,
      { path },
    );
  }
  return stats;
}

/** Whether the open file holds an ISO 9660 volume (a volume descriptor at byte 32768, before any MBR is looked at). */
export function isIsoImage(fd: number, sizeBytes: number): boolean {
  if (sizeBytes < ISO9660_DETECT_OFFSET_BYTES + ISO_BLOCK_BYTES) return false;
  const block = new Uint8Array(ISO_BLOCK_BYTES);
  return readSync(fd, block, 0, ISO_BLOCK_BYTES, ISO9660_DETECT_OFFSET_BYTES) === ISO_BLOCK_BYTES && detectIso9660(block);
}

/** Whether the file at `path` is an ISO 9660 image (false when it cannot be read). */
export async function isIsoFile(path: string, sizeBytes: number): Promise<boolean> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOCTTY ?? 0));
  } catch {
    return false;
  }
  try {
    return isIsoImage(fd, sizeBytes);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** The refusal every writer gives an ISO image: it is read, never changed (issue 16). */
export function isoReadOnlyError(path: string): LoopbackError {
  return new LoopbackError(
    'VALIDATION',
    `${path} is an ISO 9660 image: Loopback Studio reads it (info, ls, get, qemu) but does not change it — an ISO's files lie back to back, with no room to grow. ` +
      'Change its recipe and build it again (loopstudio build), or copy its files out (loopstudio get IMAGE / DIR) and build a new image from them. Nothing was written',
    { path, iso9660: true },
  );
}

/** Writers open images through FileBlockDevice: an ISO image is refused here, before the first byte. */
function requireNotIso(fd: number, path: string, sizeBytes: number): void {
  if (isIsoImage(fd, sizeBytes)) throw isoReadOnlyError(path);
}

/**
 * After this many bytes written since the last sync, an fdatasync starts in the background (on
 * libuv's thread pool) while the caller goes on writing: the disk works during a long copy
 * instead of all at the final flush(). It only moves work earlier — flush() still waits for it
 * and then syncs everything — so nothing about durability or ordering changes.
 */
export const WRITEBACK_BYTES = 16 * 1024 * 1024;

export class FileBlockDevice implements BlockDevice {
  /** Bytes written since the last sync started. */
  private unsyncedBytes = 0;
  /**
   * False once flush() has synced and nothing was written since: a second flush in a row (the
   * filesystem's, then withImage's) need not sync again. True at first, so the first flush()
   * always syncs, whoever wrote before.
   */
  private dirty = true;
  /** The background fdatasync in flight, if any. */
  private writeback: Promise<void> | null = null;
  /** What a background fdatasync failed with, reported by the next flush(). */
  private writebackError: Error | null = null;
  /** Background syncs started so far (for tests and diagnostics). */
  backgroundSyncs = 0;

  private constructor(
    /** A plain descriptor: reads and writes are synchronous (see `read`). */
    private readonly fd: number,
    readonly path: string,
    readonly sizeBytes: number,
    /** See WRITEBACK_BYTES; 0 turns background syncs off. */
    private readonly writebackBytes: number,
    /** Who holds the image (loop devices, mounts), when opened for writing: see write-guard.ts. */
    private readonly guard: WriteGuard | null,
  ) {}

  static async open(path: string, options: { writable: boolean; writebackBytes?: number }): Promise<FileBlockDevice> {
    await requireRegularFile(path);
    // O_NOFOLLOW is not used: a link to a regular image file is fine, and the check above
    // already refused links to devices. O_NOCTTY keeps a terminal from ever becoming ours.
    const flags = (options.writable ? constants.O_RDWR : constants.O_RDONLY) | (constants.O_NOCTTY ?? 0);
    let fd: number;
    try {
      fd = openSync(path, flags);
    } catch (error) {
      throw new LoopbackError('IO', `${path}: ${(error as Error).message}`, { path });
    }
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      closeSync(fd);
      throw new LoopbackError('INVALID_INPUT', `${path} changed into ${kindOf(stats)} while opening it`, { path });
    }
    let guard: WriteGuard | null = null;
    if (options.writable) {
      try {
        requireNotIso(fd, path, stats.size);
        guard = await WriteGuard.forImage(path, stats.size);
      } catch (error) {
        closeSync(fd);
        throw error;
      }
    }
    return new FileBlockDevice(fd, path, stats.size, options.writebackBytes ?? WRITEBACK_BYTES, guard);
  }

  /**
   * The bytes a writer is about to write, declared before its first write: refused now (nothing
   * written) when a loop device or a mount holds any of them. See write-guard.ts.
   */
  declareWrites(ranges: readonly ByteRange[], action: string): void {
    this.guard?.declare(ranges, action);
  }

  /**
   * Synchronous underneath: an image file's reads and writes mostly hit the page cache, and
   * fs.promises adds a thread-pool round trip to each call (about twice writeSync's cost in a
   * micro-benchmark), which adds up over the many small writes of a tree of files. Long jobs
   * yield to the event loop between files (see files.ts), not per write.
   */
  async read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    checkRange(this, offsetBytes, lengthBytes, `read of ${this.path}`);
    const buffer = new Uint8Array(lengthBytes);
    let done = 0;
    while (done < lengthBytes) {
      const bytesRead = this.io(() => readSync(this.fd, buffer, done, lengthBytes - done, offsetBytes + done));
      if (bytesRead === 0) break; // a sparse tail reads as zeros already
      done += bytesRead;
    }
    return buffer;
  }

  async write(offsetBytes: number, data: Uint8Array): Promise<void> {
    checkRange(this, offsetBytes, data.length, `write to ${this.path}`);
    this.guard?.checkWrite(offsetBytes, data.length);
    let done = 0;
    while (done < data.length) done += this.io(() => writeSync(this.fd, data, done, data.length - done, offsetBytes + done));
    this.dirty = true;
    this.unsyncedBytes += data.length;
    if (this.writebackBytes > 0 && this.unsyncedBytes >= this.writebackBytes && !this.writeback) this.startWriteback();
  }

  /** Waits for a background sync, then fsyncs: a no-op when nothing was written since the last flush(). */
  async flush(): Promise<void> {
    await this.writeback;
    const failed = this.writebackError;
    this.writebackError = null;
    if (failed) throw new LoopbackError('IO', `${this.path}: ${failed.message}`, { path: this.path });
    if (!this.dirty) return;
    this.io(() => fsyncSync(this.fd));
    this.dirty = false;
    this.unsyncedBytes = 0;
  }

  async close(): Promise<void> {
    // Never close the descriptor under a sync that is still using it.
    await this.writeback;
    closeSync(this.fd);
  }

  private startWriteback(): void {
    this.unsyncedBytes = 0;
    this.backgroundSyncs++;
    this.writeback = new Promise((resolve) => {
      fdatasync(this.fd, (error) => {
        if (error && !this.writebackError) this.writebackError = error;
        this.writeback = null;
        resolve();
      });
    });
  }

  private io<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw new LoopbackError('IO', `${this.path}: ${(error as Error).message}`, { path: this.path });
    }
  }
}

/** Opens an image, runs `work` on it, flushes (when writable) and closes it, even on errors. */
export async function withImage<T>(path: string, writable: boolean, work: (device: FileBlockDevice) => Promise<T>): Promise<T> {
  const device = await FileBlockDevice.open(path, { writable });
  try {
    const result = await work(device);
    if (writable) await device.flush();
    return result;
  } finally {
    await device.close();
  }
}
