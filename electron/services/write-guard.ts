/**
 * Nothing writes underneath a mount (docs/SECURITY.md, rule 3; issue 17). Every rootless writer
 * opens the image through FileBlockDevice, which takes a WriteGuard: the devices that hold the
 * image (electron/platform/image-holders.ts) are read once at open, a writer declares the bytes it
 * is about to write before writing any (a volume's range, say), and every write is checked again
 * against them — so a writer that never declares is refused at its first write, before a byte has
 * changed. Writers that replace the whole file (create --force, build --force) call
 * requireImageNotHeld first.
 *
 * What blocks a write: a device attached read-write, or mounted at all, whose bytes overlap it.
 * A read-only attachment that is not mounted blocks nothing, and nothing blocks reading.
 */
import { promises as fs } from 'node:fs';
import { formatBytes } from '../../shared/disk/sizes';
import { LoopbackError } from '../../shared/errors';
import { imageHolders, type ImageHolder } from '../platform/image-holders';

export interface ByteRange {
  offsetBytes: number;
  sizeBytes: number;
}

function blocks(holder: ImageHolder): boolean {
  return !holder.readOnly || holder.mounts.length > 0;
}

function heldRange(holder: ImageHolder, fileBytes: number): ByteRange {
  return { offsetBytes: holder.offsetBytes, sizeBytes: holder.sizeBytes ?? Math.max(0, fileBytes - holder.offsetBytes) };
}

function overlaps(a: ByteRange, b: ByteRange): boolean {
  return a.offsetBytes < b.offsetBytes + b.sizeBytes && b.offsetBytes < a.offsetBytes + a.sizeBytes;
}

/** What holds the bytes, and how to let go of them, for a person. */
export function heldMessage(image: string, holder: ImageHolder, fileBytes: number, action: string): string {
  const range = heldRange(holder, fileBytes);
  const where =
    range.offsetBytes === 0 && range.sizeBytes >= fileBytes
      ? 'the whole image'
      : `bytes ${range.offsetBytes}–${range.offsetBytes + range.sizeBytes - 1} (${formatBytes(range.sizeBytes)} from offset ${range.offsetBytes})`;
  const mount = holder.mounts[0];
  if (mount) {
    return (
      `${image}: cannot ${action}: ${where} ${mount.readOnly ? 'are mounted read-only' : 'are mounted'} at ${mount.mountPoint} (through ${mount.source}), and writing underneath a mount corrupts the filesystem. ` +
      `Unmount it first: \`loopstudio umount ${mount.mountPoint}\` (or, if it was mounted by hand: \`sudo umount ${mount.mountPoint}\`, then \`sudo losetup -d ${holder.device}\`).`
    );
  }
  return (
    `${image}: cannot ${action}: ${where} ${holder.readOnly ? 'are' : 'are attached read-write'} as ${holder.device}, which would go on showing the old bytes. ` +
    `Detach it first: \`loopstudio detach ${holder.device}\` (or, if it was attached by hand: \`sudo losetup -d ${holder.device}\`).`
  );
}

export class WriteGuard {
  private declared: ByteRange[] | null = null;

  private constructor(
    readonly image: string,
    private readonly fileBytes: number,
    /** Only the holders that block writing. */
    private readonly holders: readonly ImageHolder[],
  ) {}

  /** Reads who holds the image now. Cheap when nothing does (the usual case). */
  static async forImage(image: string, fileBytes: number): Promise<WriteGuard> {
    return new WriteGuard(image, fileBytes, (await imageHolders(image)).filter(blocks));
  }

  /** A guard that sees no holder (a file we just created and nobody can have attached yet). */
  static none(image: string): WriteGuard {
    return new WriteGuard(image, 0, []);
  }

  get held(): boolean {
    return this.holders.length > 0;
  }

  /**
   * The writer says which bytes it is about to write; refused here, before any write, when a
   * holder overlaps them. `action` says what for ("format partition 1"), for the message.
   */
  declare(ranges: readonly ByteRange[], action: string): void {
    for (const holder of this.holders) {
      if (ranges.some((range) => overlaps(range, heldRange(holder, this.fileBytes)))) {
        throw new LoopbackError('IN_USE', heldMessage(this.image, holder, this.fileBytes, action), {
          image: this.image,
          device: holder.device,
          mountPoint: holder.mounts[0]?.mountPoint ?? null,
        });
      }
    }
    this.declared = [...(this.declared ?? []), ...ranges];
  }

  /** Every write: outside what was declared, a held byte is refused (a writer that never declared meets its first write here). */
  checkWrite(offsetBytes: number, lengthBytes: number): void {
    if (this.holders.length === 0) return;
    const write = { offsetBytes, sizeBytes: lengthBytes };
    const action = this.declared === null ? 'write to it' : `write bytes ${offsetBytes}–${offsetBytes + lengthBytes - 1}`;
    // Undeclared writers are treated as writing anywhere: refused while anything holds the image.
    const range = this.declared === null ? { offsetBytes: 0, sizeBytes: Number.MAX_SAFE_INTEGER } : write;
    for (const holder of this.holders) {
      if (overlaps(range, heldRange(holder, this.fileBytes))) {
        throw new LoopbackError('IN_USE', heldMessage(this.image, holder, this.fileBytes, action), {
          image: this.image,
          device: holder.device,
          mountPoint: holder.mounts[0]?.mountPoint ?? null,
        });
      }
    }
  }
}

/**
 * Puts a finished build (`temp`, beside it) in place of `image`: refused while anything holds the
 * image now — a mount made meanwhile would be left on the old, deleted file — and the new file is
 * removed when it cannot take the name. build, build --update and run all replace this way.
 */
export async function replaceImageWith(temp: string, image: string): Promise<void> {
  try {
    const existing = await fs.lstat(image).catch(() => null);
    if (existing) await requireImageNotHeld(image, existing.size, 'replace it with a new build');
    await fs.rename(temp, image);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** For writers that replace or truncate the whole file: refused while anything holds it. */
export async function requireImageNotHeld(image: string, fileBytes: number, action: string): Promise<void> {
  const guard = await WriteGuard.forImage(image, fileBytes);
  guard.declare([{ offsetBytes: 0, sizeBytes: Math.max(fileBytes, 1) }], action);
}
