/**
 * What the partition editor says about GRUB 2's room. Before GRUB 2 is installed: whether its
 * core.img may fit the layout (embeddingNote). Once it is — the image's boot code says where its
 * core.img is — that it fits, or that the staged layout would put a partition over it.
 */
import type { ImageInfo } from '../../../../shared/api/contract';
import type { DiskInfo } from '../../../../shared/disk/disk-info';
import { embeddingArea } from '../../../../shared/boot/grub2';
import { embeddingNote, type EmbeddingNote } from '../../../../shared/boot/grub2-room';
import { formatBytes } from '../common/format';

export function grubNote(info: Pick<ImageInfo, 'boot'>, disk: DiskInfo): EmbeddingNote | null {
  const core = info.boot?.kind === 'grub2' ? info.boot.core : undefined;
  if (!core || disk.table === 'none' || disk.partitions.length === 0) return embeddingNote(disk);
  const last = core.firstSector + core.sectorCount - 1;
  const over = disk.partitions.find((p) => p.kind !== 'extended' && p.startSector <= last && core.firstSector <= p.endSector);
  if (over) {
    return {
      severity: 'warning',
      title: 'GRUB 2 would stop booting',
      message: `Its core.img is in sectors ${core.firstSector}–${last}; partition ${over.index} would start at sector ${over.startSector}, over it. Keep the first partition after sector ${last}, or install GRUB 2 again afterwards.`,
    };
  }
  let where = `sectors ${core.firstSector}–${last}`;
  try {
    const area = embeddingArea(disk);
    where = `${where}, in ${area.description}, which holds ${formatBytes(area.sectorCount * 512)}`;
  } catch {
    // A layout GRUB 2 could not be installed on now; where core.img is still says enough.
  }
  return {
    severity: 'info',
    title: 'GRUB 2 is installed and fits',
    message: `Its core.img is ${formatBytes(core.sectorCount * 512)}, in ${where}.`,
  };
}
