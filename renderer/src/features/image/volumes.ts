/** The volumes of an image a person can work on: each partition that can hold a filesystem, or the whole image. */
import type { ImageInfo } from '../../../../shared/api/contract';
import type { FsUsage } from '../../../../shared/fs/types';
import { formatBytes } from '../common/format';

export interface Volume {
  /** null: the whole image. */
  partition: number | null;
  /** "Partition 1" or "Whole disk". */
  name: string;
  typeName: string | null;
  bootable: boolean;
  startSector: number;
  sizeBytes: number;
  filesystem: FsUsage | null;
}

export function volumesOf(info: ImageInfo): Volume[] {
  if (info.table === 'none') {
    return [
      {
        partition: null,
        name: info.floppy ? 'Whole floppy' : 'Whole disk',
        typeName: null,
        bootable: false,
        startSector: 0,
        sizeBytes: info.sizeBytes,
        filesystem: info.filesystem,
      },
    ];
  }
  return info.partitions
    .filter((p) => p.kind !== 'extended')
    .map((p) => ({
      partition: p.index,
      name: `Partition ${p.index}`,
      typeName: p.typeName,
      bootable: p.bootable,
      startSector: p.startSector,
      sizeBytes: p.sizeBytes,
      filesystem: p.filesystem,
    }));
}

/** "Partition 1 (FAT12, 10 MiB)". */
export function volumeLabel(volume: Volume): string {
  return `${volume.name} (${volume.filesystem ? `${volume.filesystem.type.toUpperCase()}, ` : ''}${formatBytes(volume.sizeBytes)})`;
}
