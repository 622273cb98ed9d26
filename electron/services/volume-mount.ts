/**
 * Whether a volume is mounted, and where (issue 17): the image's holders (electron/platform/
 * image-holders.ts — loop devices of this very file, by device and inode: ours from `loopstudio
 * mount` and the app's Mount, or anyone's: `mount -o loop`, GNOME Disks) matched against the
 * volume's bytes. mounted-files.ts then works through the mount instead of the image.
 */
import { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import type { MountVia } from '../../shared/api/files';
import { LoopbackError } from '../../shared/errors';
import type { FsType } from '../../shared/fs/types';
import { imageHolders, type HolderMount, type ImageHolder } from '../platform/image-holders';
import { withImage } from './file-block-device';
import { describeVolume, detectFileSystem, findVolume, type VolumeRef } from './volumes';
import type { ByteRange } from './write-guard';

const SECTOR = 512;

/** A mount of the volume, as files.ts needs it. */
export interface VolumeMount {
  via: MountVia;
  /** The filesystem, as the image's own signature says (fat12/16/32, ext2). */
  type: FsType;
}

async function readSysNumber(path: string): Promise<number | null> {
  const text = await fs.readFile(path, 'utf8').catch(() => null);
  const value = text === null ? NaN : Number(text.trim());
  return Number.isFinite(value) ? value : null;
}

/** The image bytes a mount shows: the loop device's, or (a partition node such as /dev/loop0p1) the partition's, from sysfs. */
async function mountedRange(holder: ImageHolder, mount: HolderMount, fileBytes: number): Promise<ByteRange | null> {
  const held = { offsetBytes: holder.offsetBytes, sizeBytes: holder.sizeBytes ?? Math.max(0, fileBytes - holder.offsetBytes) };
  if (mount.source === holder.device) return held;
  if (process.platform !== 'linux') return null;
  const node = basename(mount.source);
  const start = await readSysNumber(`/sys/class/block/${node}/start`);
  const size = await readSysNumber(`/sys/class/block/${node}/size`);
  if (start === null || size === null) return null;
  return { offsetBytes: holder.offsetBytes + start * SECTOR, sizeBytes: size * SECTOR };
}

/**
 * The mount of the volume `ref` names, or null when it is not mounted (then the rootless engine
 * works on the image, and its write guard refuses whatever a loop device still holds). A mount
 * whose bytes start where the volume starts and reach at least to its end is the volume's
 * (`mount -o loop,offset=…` without a size limit shows the rest of the file; the filesystem there
 * is the volume's all the same). A read-write mount is preferred to a read-only one.
 */
export async function findVolumeMount(ref: VolumeRef): Promise<VolumeMount | null> {
  let holders: ImageHolder[];
  let fileBytes: number;
  try {
    holders = (await imageHolders(ref.image)).filter((h) => h.mounts.length > 0);
    if (holders.length === 0) return null;
    fileBytes = (await fs.stat(ref.image)).size;
  } catch {
    return null; // no such image and the like: the rootless engine says so in its words
  }
  let volume: ByteRange;
  let type: FsType | null;
  try {
    ({ volume, type } = await withImage(ref.image, false, async (image) => {
      const window = await findVolume(image, ref);
      return {
        volume: { offsetBytes: window.partition?.offsetBytes ?? 0, sizeBytes: window.device.sizeBytes },
        type: await detectFileSystem(window.device),
      };
    }));
  } catch {
    return null;
  }
  if (type === null) return null;
  const found: { holder: ImageHolder; mount: HolderMount }[] = [];
  for (const holder of holders) {
    for (const mount of holder.mounts) {
      const range = await mountedRange(holder, mount, fileBytes);
      if (range && range.offsetBytes === volume.offsetBytes && range.sizeBytes >= volume.sizeBytes) found.push({ holder, mount });
    }
  }
  const chosen = found.find((f) => !f.mount.readOnly) ?? found[0];
  if (!chosen) return null;
  return { via: { mountDir: chosen.mount.mountPoint, device: chosen.mount.source, readOnly: chosen.mount.readOnly }, type };
}

/** The refusal for a write to a volume mounted read-only. */
export function readOnlyMountError(ref: VolumeRef, via: MountVia): LoopbackError {
  return new LoopbackError(
    'IN_USE',
    `${describeVolume(ref)} is mounted read-only at ${via.mountDir} (through ${via.device}): files can be read through it, not changed. ` +
      `Unmount it (\`loopstudio umount ${via.mountDir}\`, or \`sudo umount ${via.mountDir}\` for a mount made by hand), then change files without a mount, or mount it read-write`,
    { image: ref.image, mountPoint: via.mountDir, device: via.device },
  );
}
