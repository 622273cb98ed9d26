import type { ImageShapeRequest } from '../../../shared/disk/image-shape';
import { formatBytes } from '../../../shared/disk/sizes';
import { LoopbackError } from '../../../shared/errors';
import { output, type Command, type CommandContext } from '../command';

/** Exactly one of --size, --chs, --floppy. */
export function shapeFromOptions(ctx: CommandContext): ImageShapeRequest {
  const given = (['size', 'chs', 'floppy'] as const).filter((name) => typeof ctx.values[name] === 'string');
  if (given.length !== 1) {
    throw new LoopbackError(
      'INVALID_INPUT',
      given.length === 0
        ? 'say how big the image is: --size SIZE (64M, 1.5GiB, 2048s), --chs C/H/S (1000/16/63) or --floppy 1.44M'
        : `give only one of --size, --chs, --floppy (got ${given.map((g) => `--${g}`).join(' and ')})`,
    );
  }
  const name = given[0]!;
  const value = ctx.values[name] as string;
  return name === 'size' ? { size: value } : name === 'chs' ? { chs: value } : { floppy: value };
}

export const create: Command = {
  name: 'create',
  summary: 'Create an empty (sparse) image file: a floppy preset, or a hard disk by size or C/H/S',
  usage: 'loopstudio create IMAGE (--size SIZE | --chs C/H/S | --floppy 360K|720K|1.2M|1.44M|2.88M) [--force] [--json]',
  options: {
    size: { type: 'string' },
    chs: { type: 'string' },
    floppy: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(ctx) {
    const [path, ...extra] = ctx.positionals;
    if (!path || extra.length) throw new LoopbackError('INVALID_INPUT', `name one image file to create (usage: ${create.usage})`);
    const { createImage } = await import('../../services/images');
    const image = await createImage({ path, shape: shapeFromOptions(ctx), force: Boolean(ctx.values.force) });
    output(ctx, image, () => {
      const g = image.geometry;
      const source = { floppy: `${image.floppy} floppy`, chs: 'as given', size: 'what QEMU will assume for this size' }[
        image.geometrySource
      ];
      // A floppy has no partition table: it is formatted whole.
      const next = image.floppy ? '' : `Next: loopstudio partition ${path} --table mbr --add 'start=63,size=rest,type=83,bootable'\n`;
      return (
        `Created ${image.path}\n` +
        `  size      ${image.sizeBytes} bytes (${formatBytes(image.sizeBytes)}), ${image.totalSectors} sectors of 512 bytes\n` +
        `  geometry  ${g.cylinders} cylinders × ${g.heads} heads × ${g.sectorsPerTrack} sectors/track (${source})\n` +
        `  on disk   ${formatBytes(image.allocatedBytes)} (sparse: blocks are allocated as they are written)\n` +
        next
      );
    });
    return 0;
  },
};
