/**
 * A dry run of partitioning: the same editPartitions the real edit uses, on the image read-only
 * with every write caught in memory. The partition editor stages changes with it (each one is
 * validated with all the others before it is accepted) and shows the disk as it would become;
 * the image file is never opened for writing.
 */
import { editPartitions, type PartitionEditPlan, type PartitionEditResult } from '../../shared/disk/partition-edits';
import { OverlayBlockDevice } from '../../shared/disk/sparse-device';
import { withImage } from './file-block-device';

/** What `partitionImage` would do, validated the same way, with the image left untouched. */
export async function previewPartitions(path: string, plan: PartitionEditPlan): Promise<PartitionEditResult & { path: string }> {
  return withImage(path, false, async (device) => ({ path, ...(await editPartitions(new OverlayBlockDevice(device), plan)) }));
}
