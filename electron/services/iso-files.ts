/**
 * ISO 9660 images as a volume (issue 16): `info`, `ls`, `get` and the app's file browser read an
 * ISO — ours, grub-mkrescue's, a distribution's — through the same FileSystem interface as FAT and
 * ext2, over shared/fs/iso9660's reader (names from Rock Ridge, else Joliet, else ISO 9660).
 *
 * An ISO image is recognised by its volume descriptor at byte 32768 *before* its MBR: a hybrid
 * image (grub-mkrescue's, ours) also has a partition table whose partition 1 starts at sector 1
 * and covers the ISO filesystem, which would otherwise make it look like a partitioned disk.
 *
 * Read only: every write is refused (isoReadOnlyError), here and, for every other writer, when the
 * image is opened for writing (file-block-device.ts).
 */
import type { IsoImageInfo } from '../../shared/api/iso';
import type { BlockDevice } from '../../shared/disk/block-device';
import { LoopbackError } from '../../shared/errors';
import { detectIso9660, ISO9660_DETECT_OFFSET_BYTES, openIso9660, type Iso9660Volume } from '../../shared/fs/iso9660/read';
import type { DirEntry, FileChunk, FileExtent, FileSystem, VolumeUsage } from '../../shared/fs/types';
import { READ_CHUNK_BYTES } from '../../shared/fs/types';
import { isoReadOnlyError } from './file-block-device';

const BLOCK_BYTES = 2048;
/** ECMA-119 8.4.26–27: the volume creation and modification dates ("YYYYMMDDHHMMSScc" and a zone byte) in the PVD. */
const PVD_CREATION_DATE = 813;
const PVD_MODIFICATION_DATE = 830;

/** True when `device` holds an ISO 9660 volume at its start. */
export async function isIsoDevice(device: BlockDevice): Promise<boolean> {
  if (device.sizeBytes < ISO9660_DETECT_OFFSET_BYTES + BLOCK_BYTES) return false;
  return detectIso9660(await device.read(ISO9660_DETECT_OFFSET_BYTES, BLOCK_BYTES));
}

/**
 * What GRUB (`search --fs-uuid`) and blkid call the volume: the PVD's modification date as
 * written, "2024-01-02-03-04-05-00" (the creation date when that is unset); null without either.
 */
export async function isoVolumeUuid(device: BlockDevice): Promise<string | null> {
  const pvd = await device.read(ISO9660_DETECT_OFFSET_BYTES, BLOCK_BYTES);
  for (const at of [PVD_MODIFICATION_DATE, PVD_CREATION_DATE]) {
    const digits = new TextDecoder('latin1').decode(pvd.subarray(at, at + 16));
    if (/^\d{16}$/.test(digits) && !/^0+$/.test(digits)) {
      return [
        digits.slice(0, 4),
        digits.slice(4, 6),
        digits.slice(6, 8),
        digits.slice(8, 10),
        digits.slice(10, 12),
        digits.slice(12, 14),
        digits.slice(14, 16),
      ].join('-');
    }
  }
  return null;
}

/** An ISO image as a read-only FileSystem. */
export class IsoFileSystem implements FileSystem {
  readonly type = 'iso9660' as const;

  private constructor(
    private readonly iso: Iso9660Volume,
    private readonly device: BlockDevice,
    /** The image path, for the refusals. */
    private readonly image: string,
  ) {}

  static async open(device: BlockDevice, image: string): Promise<IsoFileSystem> {
    return new IsoFileSystem(await openIso9660(device), device, image);
  }

  async usage(): Promise<VolumeUsage> {
    const sizeBytes = this.iso.primary.volumeSpaceSize * this.iso.primary.logicalBlockSize;
    return {
      type: 'iso9660',
      label: this.iso.primary.volumeIdentifier.trim() || null,
      id: await isoVolumeUuid(this.device),
      sizeBytes,
      usedBytes: sizeBytes,
      freeBytes: 0,
      blockBytes: this.iso.primary.logicalBlockSize,
    };
  }

  list(path: string): Promise<DirEntry[]> {
    return this.iso.list(path);
  }

  stat(path: string): Promise<DirEntry> {
    return this.iso.stat(path);
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.iso.readFile(path);
  }

  /** A file in pieces of at most READ_CHUNK_BYTES: `get` copies a file of any size without holding it. */
  async readChunks(path: string, onChunk: (chunk: FileChunk) => Promise<void>): Promise<number> {
    const entry = await this.iso.stat(path);
    if (entry.type !== 'file') throw new LoopbackError('INVALID_INPUT', `${path} is a ${entry.type}, not a file`, { path });
    for (let offset = 0; offset < entry.sizeBytes; offset += READ_CHUNK_BYTES) {
      const data = await this.iso.read(path, offset, Math.min(READ_CHUNK_BYTES, entry.sizeBytes - offset));
      await onChunk({ offsetBytes: offset, lengthBytes: data.length, data });
    }
    return entry.sizeBytes;
  }

  extents(path: string): Promise<FileExtent[]> {
    return this.iso.extents(path);
  }

  async writeFile(): Promise<void> {
    throw isoReadOnlyError(this.image);
  }

  async mkdir(): Promise<void> {
    throw isoReadOnlyError(this.image);
  }

  async remove(): Promise<void> {
    throw isoReadOnlyError(this.image);
  }

  async rename(): Promise<void> {
    throw isoReadOnlyError(this.image);
  }

  async flush(): Promise<void> {}

  /** What `info` shows for the image. */
  async info(): Promise<IsoImageInfo> {
    return { ...(await this.iso.info()), uuid: await isoVolumeUuid(this.device) };
  }
}

/**
 * `image.info`'s ISO part: `{iso}` for an ISO image, `{filesystemError}` when its descriptors say
 * ISO but it cannot be read (info shows what it can), nothing for any other image.
 */
export async function isoInfoField(
  device: BlockDevice,
  image: string,
): Promise<{ iso?: IsoImageInfo; filesystemError?: { code: LoopbackError['code']; message: string } }> {
  if (!(await isIsoDevice(device))) return {};
  try {
    return { iso: await (await IsoFileSystem.open(device, image)).info() };
  } catch (error) {
    const code = error instanceof LoopbackError ? error.code : 'INTERNAL';
    return { filesystemError: { code, message: `the ISO 9660 volume cannot be read: ${(error as Error).message}` } };
  }
}
