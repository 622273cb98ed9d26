/**
 * Whether a filesystem fits a volume, worked out in the window with the same planners the
 * formatters use (shared/fs): the form says "FAT12 cannot hold 500 MiB …" at the field, before
 * anything is sent, in the formatter's own words.
 */
import type { FsType } from '../../../../shared/fs/types';
import { planExt2Layout } from '../../../../shared/fs/ext2/layout';
import { planFatFormat } from '../../../../shared/fs/fat/format';
import { errorText } from '../common/errors';
import { formatBytes, formatCount } from '../common/format';

export interface FsChoice {
  fs: FsType;
  label: string;
  /** FAT only; undefined = the formatter's choice. */
  clusterBytes?: number;
  /** ext2 only. */
  blockBytes?: 1024 | 4096;
}

export interface FsPlan {
  ok: boolean;
  /** The refusal, or what the volume will be: "FAT12: 2 847 clusters of 512 bytes". */
  text: string;
}

export const FS_LABELS: Record<FsType, string> = { fat12: 'FAT12', fat16: 'FAT16', fat32: 'FAT32', ext2: 'ext2' };

/** The FAT type the formatter picks for this size (as mkfs.fat would). */
export function suggestedFat(sizeBytes: number, hiddenSectors = 0): FsType {
  try {
    return planFatFormat(sizeBytes, { hiddenSectors }).layout.type;
  } catch {
    return 'fat32';
  }
}

export function planFilesystem(sizeBytes: number, choice: FsChoice, hiddenSectors = 0): FsPlan {
  try {
    if (choice.fs === 'ext2') {
      const layout = planExt2Layout(sizeBytes, choice.blockBytes ? { blockBytes: choice.blockBytes } : {});
      if (choice.label.length > 16) return { ok: false, text: 'An ext2 label has at most 16 characters.' };
      return {
        ok: true,
        text: `ext2: ${formatCount(layout.blocksCount)} blocks of ${formatBytes(layout.blockBytes)}, ${formatCount(layout.inodesCount)} inodes, ${layout.groupCount} block group${layout.groupCount === 1 ? '' : 's'}`,
      };
    }
    const plan = planFatFormat(sizeBytes, {
      type: choice.fs,
      ...(choice.label.trim() ? { label: choice.label } : {}),
      ...(choice.clusterBytes ? { clusterBytes: choice.clusterBytes } : {}),
      hiddenSectors,
    });
    return {
      ok: true,
      text: `${FS_LABELS[plan.layout.type]}: ${formatCount(plan.layout.clusterCount)} clusters of ${formatBytes(plan.layout.clusterBytes)}`,
    };
  } catch (error) {
    return { ok: false, text: errorText(error) };
  }
}
