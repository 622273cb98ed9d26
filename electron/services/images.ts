/**
 * Image files: create them sparse (a 4 GiB image costs no disk space and no time: the file is
 * extended with ftruncate, never filled with zeros), refusing to overwrite unless asked.
 */
import { constants, promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { resolveImageShape, type ImageShape, type ImageShapeRequest } from '../../shared/disk/image-shape';
import { LoopbackError } from '../../shared/errors';
import { requireImageNotHeld } from './write-guard';
import { requireRegularFile } from './file-block-device';

export interface CreateImageRequest {
  path: string;
  shape: ImageShapeRequest;
  /** Replace an existing image file (never anything but a regular file). */
  force?: boolean;
}

export interface CreatedImage extends ImageShape {
  path: string;
  /** Bytes the file occupies on disk right after creation (0 for a sparse file). */
  allocatedBytes: number;
}

export async function createImage(request: CreateImageRequest): Promise<CreatedImage> {
  const path = resolve(request.path);
  // Everything is checked before the file is touched.
  const shape = resolveImageShape(request.shape);
  const existing = await fs.lstat(path).catch(() => null);
  if (existing) {
    if (!request.force) {
      throw new LoopbackError('ALREADY_EXISTS', `${path} already exists; pass --force to replace it (its contents will be lost)`, { path });
    }
    const stats = await requireRegularFile(path);
    // Truncating a file that a loop device or a mount holds would pull it out from under them.
    await requireImageNotHeld(path, stats.size, 'replace it');
  }
  // O_EXCL when not forcing: a file that appears between the check and the open is not overwritten.
  const flags = constants.O_WRONLY | constants.O_CREAT | (request.force ? constants.O_TRUNC : constants.O_EXCL) | (constants.O_NOCTTY ?? 0);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, flags, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new LoopbackError('ALREADY_EXISTS', `${path} already exists; pass --force to replace it`, { path });
    throw new LoopbackError('IO', `cannot create ${path}: ${(error as Error).message}`, { path });
  }
  try {
    await handle.truncate(shape.sizeBytes);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(path, { force: true });
    throw new LoopbackError('IO', `cannot make ${path} ${shape.sizeBytes} bytes long: ${(error as Error).message}`, { path });
  }
  const stats = await handle.stat();
  await handle.close();
  return { ...shape, path, allocatedBytes: stats.blocks * 512 };
}
