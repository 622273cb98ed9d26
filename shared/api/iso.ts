/**
 * ISO 9660 images in the API contract (issue 16): what `image.info` adds for an ISO image. The
 * fields are the reader's (shared/fs/iso9660/read.ts), plus the UUID GRUB and blkid give it.
 */
import type { IsoVolumeInfo } from '../fs/iso9660/read';

export type { IsoBootEntryInfo, IsoPartitionInfo } from '../fs/iso9660/read';

export interface IsoImageInfo extends IsoVolumeInfo {
  /** The volume's date as GRUB's `search --fs-uuid` and blkid name it ("2024-01-02-03-04-05-00"), or null. */
  uuid: string | null;
}
