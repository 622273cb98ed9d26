import type { DiskInfo } from '../../../shared/disk/disk-info';
import { formatBytes } from '../../../shared/disk/sizes';
import { LoopbackError } from '../../../shared/errors';
import { imageInfo } from '../../services/disks';
import { output, table, type Command } from '../command';

/** The human form of `info`, also printed by `partition` after it writes. */
export function describeInfo(info: DiskInfo): string {
  const g = info.geometry;
  const source = { floppy: `${info.floppy} floppy`, 'partition-table': 'from the partition table', size: 'guessed from the size, as QEMU does' }[
    info.geometrySource
  ];
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
    ]);
    lines.push('', table([['  #', 'BOOT', 'START', 'END', 'SECTORS', 'OFFSET', 'SIZE', 'TYPE', 'NAME'], ...rows.map((r) => [`  ${r[0]}`, ...r.slice(1)])]));
  }
  for (const warning of info.warnings) lines.push(`  note: ${warning}`);
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
    const result = await imageInfo(path);
    output(ctx, result, () => `${path}\n${describeInfo(result)}`);
    return 0;
  },
};
