import { LoopbackError } from '../../shared/errors';
import type { VolumeRef } from '../services/volumes';
import type { CommandContext } from './command';

/** `-p N` / `--partition N`, shared by every command that works on a volume. */
export const partitionOption = { partition: { type: 'string', short: 'p' } } as const;

export function volumeRef(ctx: CommandContext, image: string | undefined, usage: string): VolumeRef {
  if (!image) throw new LoopbackError('INVALID_INPUT', `name the image file (usage: ${usage})`);
  const text = ctx.values.partition as string | undefined;
  if (text === undefined) return { image };
  if (!/^[1-9]\d{0,2}$/.test(text))
    throw new LoopbackError('INVALID_INPUT', `-p takes a partition number (1, 2, … 5 for the first logical), not "${text}"`);
  return { image, partition: Number(text) };
}
