/**
 * Disk-level services over image files: describe an image (table, partitions, geometry) and
 * partition it. The work is in shared/disk; this opens the file and closes it again.
 */
import { SubBlockDevice, type BlockDevice } from '../../shared/disk/block-device';
import type { ImageInfo, VolumeError } from '../../shared/api/contract';
import { detectBootCode } from '../../shared/boot/detect';
import { describeDisk } from '../../shared/disk/disk-info';
import { editPartitions, type PartitionEditPlan, type PartitionEditResult } from '../../shared/disk/partition-edits';
import { serializeError } from '../../shared/errors';
import type { FsUsage } from '../../shared/fs/types';
import { withImage } from './file-block-device';
import { isoInfoField } from './iso-files';
import { usageOf } from './volumes';

/** A volume's usage, or why its filesystem cannot be read: one damaged volume does not hide the others. */
async function readUsage(device: BlockDevice): Promise<{ filesystem: FsUsage | null; error?: VolumeError }> {
  try {
    return { filesystem: await usageOf(device) };
  } catch (error) {
    const { code, message } = serializeError(error);
    return { filesystem: null, error: { code, message } };
  }
}

/**
 * The image's table, partitions and their filesystems. Only an unreadable table fails it; a
 * filesystem that cannot be read is reported on its volume (`error`, `filesystemError`).
 */
export async function imageInfo(path: string): Promise<ImageInfo> {
  return withImage(path, false, async (device) => {
    const disk = await describeDisk(device);
    const partitions: ImageInfo['partitions'] = [];
    for (const p of disk.partitions) {
      if (p.kind === 'extended' || p.sizeBytes + p.offsetBytes > device.sizeBytes) partitions.push({ ...p, filesystem: null });
      else partitions.push({ ...p, ...(await readUsage(new SubBlockDevice(device, p.offsetBytes, p.sizeBytes))) });
    }
    const boot = await detectBootCode(device, disk);
    // An ISO image (issue 16), hybrid or not: its volume and boot entries; its MBR, if any, is shown as read.
    const iso = await isoInfoField(device, path);
    if (disk.table !== 'none') return { path, ...disk, partitions, filesystem: null, boot, ...iso };
    const { filesystem, error } = await readUsage(device);
    return { path, ...disk, partitions, filesystem, ...(error ? { filesystemError: error } : {}), boot, ...iso };
  });
}

export async function partitionImage(path: string, plan: PartitionEditPlan): Promise<PartitionEditResult & { path: string }> {
  return withImage(path, true, async (device) => ({ path, ...(await editPartitions(device, plan)) }));
}
