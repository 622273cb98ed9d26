import { formatBytes } from '../../../shared/disk/sizes';
import { LoopbackError } from '../../../shared/errors';
import { FS_TYPES, type FsType } from '../../../shared/fs/types';
import { output, type Command } from '../command';
import { progressFor } from '../progress';
import { partitionOption, volumeRef } from '../volume-options';

function positiveInteger(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new LoopbackError('INVALID_INPUT', `--${name} takes a number of bytes, not "${text}"`);
  return Number(text);
}

export const format: Command = {
  name: 'format',
  summary: 'Format a partition or a whole floppy as FAT12/16/32 or ext2, without root (or with the host mkfs: --engine loop)',
  usage:
    'loopstudio format IMAGE [-p N] --fs fat12|fat16|fat32|ext2 [--label L] [--cluster-size BYTES | --block-size 1024|4096] [--set-type] [--engine rootless|loop] [--json]\n\n' +
    '--label, --cluster-size (FAT) and --block-size (ext2) go to either engine: the loop engine passes them to the\n' +
    "host's mkfs.fat (-n, -s) or mke2fs (-L, -b); without --block-size it runs the article's mke2fs -b 1024.\n" +
    "The partition's type is yours: format keeps it, and warns when it does not say what the filesystem is\n" +
    '(83 for ext2; 01, 04/06/0e, 0b/0c for FAT12/16/32; GPT: Linux filesystem, Microsoft basic data, EFI System).\n' +
    '--set-type sets a matching type instead when the type does not match (0b or 0c for FAT32, by whether the\n' +
    'partition ends within CHS; a FAT32 partition already 0b or 0c keeps its type). An empty type is always set.\n' +
    'A recipe partition without a "type" gets a matching type; one with a type keeps it. The app sets a matching one.',
  options: {
    ...partitionOption,
    engine: { type: 'string' },
    fs: { type: 'string' },
    label: { type: 'string' },
    'cluster-size': { type: 'string' },
    'block-size': { type: 'string' },
    'set-type': { type: 'boolean' },
  },
  async run(ctx) {
    const [image, ...extra] = ctx.positionals;
    if (extra.length) throw new LoopbackError('INVALID_INPUT', `format takes one image (usage: ${format.usage.split('\n')[0]})`);
    const fs = ctx.values.fs as string | undefined;
    if (!fs || !(FS_TYPES as readonly string[]).includes(fs)) {
      throw new LoopbackError('INVALID_INPUT', `say which filesystem: --fs ${FS_TYPES.join('|')}${fs ? ` ("${fs}" is not one)` : ''}`);
    }
    const blockBytes = positiveInteger(ctx.values['block-size'] as string | undefined, 'block-size');
    if (blockBytes !== undefined && blockBytes !== 1024 && blockBytes !== 4096) {
      throw new LoopbackError('INVALID_INPUT', `--block-size is 1024 or 4096 for ext2, not ${blockBytes}`);
    }
    const clusterBytes = positiveInteger(ctx.values['cluster-size'] as string | undefined, 'cluster-size');
    const ref = volumeRef(ctx, image, format.usage.split('\n')[0]!);
    const engine = (ctx.values.engine as string | undefined) ?? 'rootless';
    if (engine !== 'rootless' && engine !== 'loop')
      throw new LoopbackError('INVALID_INPUT', `--engine is rootless or loop, not "${engine}"`);
    const policy = ctx.values['set-type'] ? 'match' : 'keep';
    const typeLines = (result: { partitionType: { from: string; to: string } | null; warnings: string[] }) =>
      (result.partitionType
        ? `  partition type ${result.partitionType.from} → ${result.partitionType.to}, to match the filesystem\n`
        : '') + result.warnings.map((w) => `  warning: ${w}\n`).join('');
    const { formatVolume, settlePartitionType } = await import('../../services/volumes');
    if (engine === 'loop') {
      // The host's mkfs on a loop device, as root (one prompt): the article's own way.
      const { loopFormat } = await import('../../services/loops');
      const result = await loopFormat(ref.image, ref.partition, fs as FsType, {
        ...(ctx.values.label !== undefined ? { label: ctx.values.label as string } : {}),
        ...(blockBytes !== undefined ? { blockBytes: blockBytes as 1024 | 4096 } : {}),
        ...(clusterBytes !== undefined ? { clusterBytes } : {}),
        loops: (await ctx.services()).loops,
      });
      const type = await settlePartitionType(ref, fs as FsType, policy);
      output(
        ctx,
        { ...result, ...type },
        () =>
          `Formatted ${result.volume} as ${fs.toUpperCase()} with the host's tools through a loop device.\nRan as root:\n${result.commands.map((c) => `  ${c}`).join('\n')}\n` +
          typeLines(type),
      );
      return 0;
    }
    const progress = progressFor(ctx, 'format');
    try {
      const result = await formatVolume(ref, {
        fs: fs as FsType,
        ...(ctx.values.label !== undefined ? { label: ctx.values.label as string } : {}),
        ...(clusterBytes !== undefined ? { clusterBytes } : {}),
        ...(blockBytes !== undefined ? { blockBytes: blockBytes as 1024 | 4096 } : {}),
        partitionType: policy,
        ...progress,
      });
      progress.done();
      output(ctx, result, () => {
        const u = result.usage;
        return (
          `Formatted ${result.volume} as ${u.type.toUpperCase()}${u.label ? ` "${u.label}"` : ''} (${u.id ?? 'no id'})\n` +
          `  size ${formatBytes(u.sizeBytes)}, free ${formatBytes(u.freeBytes)}, ${u.type === 'ext2' ? 'block' : 'cluster'} ${u.blockBytes} bytes\n` +
          typeLines(result)
        );
      });
    } finally {
      progress.done();
    }
    return 0;
  },
};
