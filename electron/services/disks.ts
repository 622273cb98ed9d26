/**
 * Disk-level services over image files: describe an image (table, partitions, geometry) and
 * partition it. The work is in shared/disk; this opens the file and closes it again.
 */
import { SubBlockDevice } from '../../shared/disk/block-device';
import type { ImageInfo } from '../../shared/api/contract';
import { describeDisk } from '../../shared/disk/disk-info';
import { editPartitions, type PartitionEditPlan, type PartitionEditResult } from '../../shared/disk/partition-edits';
import { withImage } from './file-block-device';
import { usageOf } from './volumes';


export async function imageInfo(path: string): Promise<ImageInfo> {
  return withImage(path, false, async (device) => {
    const disk = await describeDisk(device);
    const partitions: ImageInfo['partitions'] = [];
    for (const p of disk.partitions) {
      const filesystem = p.kind === 'extended' || p.sizeBytes + p.offsetBytes > device.sizeBytes ? null : await usageOf(new SubBlockDevice(device, p.offsetBytes, p.sizeBytes));
      partitions.push({ ...p, filesystem });
    }
    const filesystem = disk.table === 'none' ? await usageOf(device) : null;
    return { path, ...disk, partitions, filesystem };
  });
}

export async function partitionImage(path: string, plan: PartitionEditPlan): Promise<PartitionEditResult & { path: string }> {
  return withImage(path, true, async (device) => ({ path, ...(await editPartitions(device, plan)) }));
}
