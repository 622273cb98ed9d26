/**
 * Arguments every backend's mkfs builds the same way (Linux and the BSDs run the same mke2fs, and
 * mkfs.fat and newfs_msdos both count clusters in sectors).
 */
import type { MkfsSpec } from './types';

/**
 * mke2fs's size argument: a count of `-b` blocks (mke2fs(8): "interpreted as the number of
 * blocksize blocks" once -b is given), from the 1 KiB blocks the step names.
 */
export function mke2fsBlocks(spec: MkfsSpec): string[] {
  if (spec.blocks1KiB === undefined) return [];
  return [String(Math.floor((spec.blocks1KiB * 1024) / (spec.blockBytes ?? 1024)))];
}

/** FAT's sectors per cluster (`mkfs.fat -s`, `newfs_msdos -c`) for a cluster size in bytes. */
export function sectorsPerCluster(clusterBytes: number): string {
  return String(clusterBytes / 512);
}
