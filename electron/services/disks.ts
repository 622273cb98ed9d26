/**
 * Disk-level services over image files: describe an image (table, partitions, geometry) and
 * partition it. The work is in shared/disk; this opens the file and closes it again.
 */
import { describeDisk, type DiskInfo } from '../../shared/disk/disk-info';
import { editPartitions, type PartitionEditPlan, type PartitionEditResult } from '../../shared/disk/partition-edits';
import { withImage } from './file-block-device';

export async function imageInfo(path: string): Promise<DiskInfo & { path: string }> {
  return withImage(path, false, async (device) => ({ path, ...(await describeDisk(device)) }));
}

export async function partitionImage(path: string, plan: PartitionEditPlan): Promise<PartitionEditResult & { path: string }> {
  return withImage(path, true, async (device) => ({ path, ...(await editPartitions(device, plan)) }));
}
