import type { PartitionEditStep, TableKind } from '../../../shared/disk/partition-edits';
import { parseAlignment } from '../../../shared/disk/partition-spec';
import { LoopbackError } from '../../../shared/errors';
import { output, type Command, type CommandContext } from '../command';
import { describeInfo } from './info';

/** The edits in the order they were typed: `--set N SETTINGS` takes the word after N too. */
export function editSteps(ctx: CommandContext): { steps: PartitionEditStep[]; positionals: string[] } {
  const steps: PartitionEditStep[] = [];
  const positionals: string[] = [];
  const tokens = ctx.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option' || token.value === undefined) continue;
    if (token.name === 'add') steps.push({ op: 'add', spec: token.value });
    if (token.name === 'delete') steps.push({ op: 'delete', number: token.value });
    if (token.name === 'set') {
      const next = tokens[i + 1];
      if (next?.kind !== 'positional') {
        throw new LoopbackError(
          'INVALID_INPUT',
          `--set ${token.value} needs the settings after the number, e.g. --set ${token.value} bootable=on,type=0c`,
        );
      }
      steps.push({ op: 'set', number: token.value, settings: next.value });
      i++;
    }
  }
  return { steps, positionals };
}

export const partition: Command = {
  name: 'partition',
  summary: 'Create or edit the partition table (MBR or GPT): add, delete, move or resize, set type and bootable flag',
  usage:
    "loopstudio partition IMAGE [--table mbr|gpt] [--new] [--align 63|2048] [--add 'start=63,size=rest,type=83,bootable']… [--delete N]… [--set N bootable=on|off,type=0c,start=N,size=N]… [--json]",
  options: {
    table: { type: 'string' },
    new: { type: 'boolean' },
    align: { type: 'string' },
    add: { type: 'string', multiple: true },
    delete: { type: 'string', multiple: true },
    set: { type: 'string', multiple: true },
  },
  async run(ctx) {
    const { steps, positionals } = editSteps(ctx);
    const [path, ...extra] = positionals;
    if (!path || extra.length) throw new LoopbackError('INVALID_INPUT', `name one image file (usage: ${partition.usage})`);
    const table = ctx.values.table as string | undefined;
    if (table !== undefined && table !== 'mbr' && table !== 'gpt') {
      throw new LoopbackError('INVALID_INPUT', `--table is mbr or gpt, not "${table}"`);
    }
    const align = ctx.values.align as string | undefined;
    const { partitionImage } = await import('../../services/disks');
    const result = await partitionImage(path, {
      ...(table ? { table: table as TableKind } : {}),
      fresh: Boolean(ctx.values.new),
      ...(align !== undefined ? { alignmentSectors: parseAlignment(align) } : {}),
      steps,
    });
    output(ctx, result.after, () => `${steps.length ? 'Wrote' : 'Unchanged:'} ${path}\n${describeInfo(result.after)}`);
    return 0;
  },
};
