import type { ImageInfo, VolumeError } from '../../../shared/api/contract';
import type { IsoImageInfo } from '../../../shared/api/iso';
import type { DiskInfo, PartitionInfo } from '../../../shared/disk/disk-info';
import type { FsUsage } from '../../../shared/fs/types';
import { formatBytes } from '../../../shared/disk/sizes';
import { LoopbackError } from '../../../shared/errors';
import { output, table, type Command } from '../command';

/** The human form of `info`, also printed by `partition` after it writes. */
function fsText(fs: FsUsage | null | undefined, error?: VolumeError): string {
  if (error) return 'damaged (see below)';
  if (fs === undefined) return '';
  if (fs === null) return '-';
  return `${fs.type}${fs.label ? ` "${fs.label}"` : ''} ${formatBytes(fs.usedBytes)} used, ${formatBytes(fs.freeBytes)} free`;
}

type Described = Omit<DiskInfo, 'partitions'> & {
  partitions: (PartitionInfo & { filesystem?: FsUsage | null; error?: VolumeError })[];
  filesystem?: FsUsage | null;
  filesystemError?: VolumeError;
};

export function describeInfo(info: Described): string {
  const g = info.geometry;
  const source = {
    floppy: `${info.floppy} floppy`,
    'partition-table': 'from the partition table',
    size: 'guessed from the size, as QEMU does',
  }[info.geometrySource];
  const lines = [
    `  size      ${info.sizeBytes} bytes (${formatBytes(info.sizeBytes)}), ${info.totalSectors} sectors`,
    `  geometry  ${g.cylinders}/${g.heads}/${g.sectorsPerTrack} (C/H/S, ${source})`,
    `  table     ${info.table === 'none' ? 'none' : info.table.toUpperCase()}${info.diskId ? ` (disk id ${info.diskId})` : ''}`,
  ];
  if (info.partitions.length) {
    const rows = info.partitions.map((p) => [
      String(p.index),
      p.bootable ? '*' : '',
      String(p.startSector),
      String(p.endSector),
      String(p.sectorCount),
      String(p.offsetBytes),
      formatBytes(p.sizeBytes),
      info.table === 'mbr' ? p.type : (p.sgdiskCode ?? p.type),
      `${p.typeName}${p.name ? ` "${p.name}"` : ''}`,
      fsText(p.filesystem, p.error),
    ]);
    lines.push(
      '',
      table([
        ['  #', 'BOOT', 'START', 'END', 'SECTORS', 'OFFSET', 'SIZE', 'TYPE', 'NAME', 'FILESYSTEM'],
        ...rows.map((r) => [`  ${r[0]}`, ...r.slice(1)]),
      ]),
    );
  }
  if (info.filesystem) lines.push(`  filesystem ${fsText(info.filesystem)}`);
  // What is wrong with a volume that cannot be read: the rest of the disk is shown all the same.
  for (const p of info.partitions)
    if (p.error) lines.push(`  partition ${p.index}: the filesystem cannot be read (${p.error.code}): ${p.error.message}`);
  if (info.filesystemError) lines.push(`  filesystem cannot be read (${info.filesystemError.code}): ${info.filesystemError.message}`);
  for (const warning of info.warnings) if (!(info.filesystem && info.table === 'none')) lines.push(`  note: ${warning}`);
  return `${lines.join('\n')}\n`;
}

/** The ISO part of `info` (issue 16): the volume, its names, its El Torito entries and its hybrid MBR. */
export function describeIso(iso: IsoImageInfo): string {
  const dated = iso.modificationMs ?? iso.creationMs;
  const names =
    iso.names === 'rock-ridge'
      ? `Rock Ridge${iso.jolietLevel ? ', Joliet' : ''}`
      : iso.names === 'joliet'
        ? 'Joliet (no Rock Ridge)'
        : 'plain ISO 9660 names only';
  const lines = [
    `  ISO 9660  "${iso.volumeIdentifier}"${iso.uuid ? ` (UUID ${iso.uuid})` : ''}, ${formatBytes(iso.sizeBytes)}${dated !== null ? `, dated ${new Date(dated).toISOString()}` : ''}`,
    `  names     ${names}`,
  ];
  const entries = iso.bootCatalog?.entries ?? [];
  if (iso.bootCatalog) lines.push(`  boot      El Torito catalog at block ${iso.bootCatalog.block}${entries.length ? '' : ', no entries'}`);
  for (const e of entries) {
    const platform = e.platform === 'bios' ? 'BIOS' : e.platform === 'efi' ? 'UEFI' : e.platform;
    lines.push(
      `            ${platform}${e.bootable ? '' : ' (not bootable)'}, ${e.media}, ${e.sectorCount} sectors from block ${e.loadRba}: ${e.path ?? 'outside the tree (an appended partition)'}`,
    );
  }
  if (!iso.bootCatalog) lines.push('  boot      none (no El Torito boot record)');
  if (iso.mbrPartitions) {
    const parts = iso.mbrPartitions.map(
      (p) =>
        `${p.number}: type ${p.type.toString(16).padStart(2, '0')}${p.bootable ? ' (active)' : ''}, sectors ${p.startSector}–${p.startSector + p.sectorCount - 1}`,
    );
    lines.push(`  hybrid    an MBR for booting as a disk (USB stick, qemu -hda): ${parts.join('; ')}`);
  }
  lines.push('  read only: ls and get read its files (no -p), qemu boots it as a CD; build it again to change it');
  return `${lines.join('\n')}\n`;
}

export const info: Command = {
  name: 'info',
  summary: 'Describe an image: size, geometry, partition table and partitions (offsets for losetup -o)',
  usage: 'loopstudio info IMAGE [--json]',
  options: {},
  async run(ctx) {
    const [path, ...extra] = ctx.positionals;
    if (!path || extra.length) throw new LoopbackError('INVALID_INPUT', `name one image file (usage: ${info.usage})`);
    const { imageInfo } = await import('../../services/disks');
    const result: ImageInfo = await imageInfo(path);
    output(ctx, result, () => `${path}\n${result.iso ? describeIso(result.iso) : ''}${describeInfo(result)}`);
    return 0;
  },
};
