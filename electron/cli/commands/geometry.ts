import { geometryReport, type GeometryWizardInput } from '../../../shared/disk/geometry-report';
import { parseSize } from '../../../shared/disk/sizes';
import { LoopbackError } from '../../../shared/errors';
import { output, table, type Command } from '../command';

function wholeNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim())) throw new LoopbackError('INVALID_INPUT', `--${name} must be a whole number, not "${text}"`);
  return Number(text);
}

const chs = (c: { cylinder: number; head: number; sector: number }) => `${c.cylinder}/${c.head}/${c.sector}`;

export const geometry: Command = {
  name: 'geometry',
  summary: 'Work out a hard disk’s numbers: cylinders for a size, sectors, offsets for losetup -o, blocks for mke2fs',
  usage:
    'loopstudio geometry (--size SIZE | --cylinders N) [--heads 16] [--sectors 63] [--start 63] [--round up|down] [--image c.img] [--json]',
  options: {
    size: { type: 'string' },
    cylinders: { type: 'string' },
    heads: { type: 'string' },
    sectors: { type: 'string' },
    start: { type: 'string' },
    round: { type: 'string' },
    image: { type: 'string' },
  },
  async run(ctx) {
    const v = ctx.values as Record<string, string | undefined>;
    if ((v.size === undefined) === (v.cylinders === undefined)) {
      throw new LoopbackError('INVALID_INPUT', 'give exactly one of --size SIZE (e.g. 500M) or --cylinders N (e.g. 1000)');
    }
    if (v.round !== undefined && v.round !== 'up' && v.round !== 'down') {
      throw new LoopbackError('INVALID_INPUT', `--round is "up" or "down", not "${v.round}"`);
    }
    const input: GeometryWizardInput = {
      ...(v.size !== undefined ? { sizeBytes: parseSize(v.size) } : { cylinders: wholeNumber(v.cylinders, 'cylinders') }),
      heads: wholeNumber(v.heads, 'heads') ?? 16,
      sectorsPerTrack: wholeNumber(v.sectors, 'sectors') ?? 63,
      ...(v.start !== undefined ? { partitionStartSector: wholeNumber(v.start, 'start') } : {}),
      ...(v.round !== undefined ? { rounding: v.round as 'up' | 'down' } : {}),
      imagePath: v.image ?? 'c.img',
    };
    const report = geometryReport(input);
    output(ctx, report, () => {
      const g = report.geometry;
      const p = report.partition;
      const choice = report.cylinderChoice;
      const rows: string[][] = [
        ['geometry', `${g.cylinders} cylinders × ${g.heads} heads × ${g.sectorsPerTrack} sectors/track × ${report.sectorBytes} bytes`],
        ['bytes per cylinder', `${report.bytesPerCylinder}`],
        ['image size', `${report.sizeBytes} bytes (${report.sizeText.binary}, ${report.sizeText.decimal})`],
        ['total sectors', `${report.totalSectors}`],
      ];
      if (choice) {
        rows.push([
          'cylinders for the size',
          `${choice.exactCylinders.toFixed(2)} → down: ${choice.roundedDown.cylinders} (${choice.roundedDown.sizeBytes} bytes), up: ${choice.roundedUp.cylinders} (${choice.roundedUp.sizeBytes} bytes); using ${choice.chosen}`,
        ]);
      }
      rows.push(
        ['create', `dd if=/dev/zero of=${input.imagePath} bs=${report.dd.blockSizeBytes}c count=${report.dd.count}`],
        ['partition 1', `sectors ${p.startSector}–${p.endSector} (${p.sectorCount} sectors), type 0x${p.type.toString(16)}, bootable`],
        ['  CHS', `${chs(p.firstChs)} – ${chs(p.lastChs)}`],
        ['  byte offset', `${p.offsetBytes}   (losetup -o${p.offsetBytes})`],
        ['  1 KiB blocks', `${p.blocks1KiB.blocks}   (mke2fs -b1024 DEV ${p.blocks1KiB.blocks})`],
        ['CHS limits', report.chs.explanation],
        ['Bochs', report.bochs],
        ['QEMU', report.qemu.drive.join(' ')],
      );
      return `${table(rows)}\n${report.notes.map((note) => `note: ${note}\n`).join('')}`;
    });
    return 0;
  },
};
