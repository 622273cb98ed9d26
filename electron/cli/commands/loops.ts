/**
 * The loop engine on the command line: attach, detach, mount, umount, loops, cleanup. Each runs
 * its steps as root in one batch (one password prompt, none when already root) and prints the
 * exact commands that ran, plus the shell lines that do the same by hand.
 */
import type { LoopActionResult, LoopEntry } from '../../../shared/api/loops';
import { LoopbackError } from '../../../shared/errors';
import { output, table, type Command, type CommandContext } from '../command';
import { partitionOption, volumeRef } from '../volume-options';

/** "Commands run as root" and "the same by hand", for people. */
export function describeAction(result: LoopActionResult): string {
  const lines: string[] = [];
  if (result.commands.length) {
    lines.push(
      `Commands run as root${result.elevation === 'sudo-prompt' ? ' (after your password)' : ''}:`,
      ...result.commands.map((c) => `  ${c}`),
    );
  }
  const eq = result.equivalent;
  if (eq) {
    lines.push('The same by hand, as root:', ...eq.lines.map((l) => `  ${l}`));
    if (eq.oneStep) lines.push('Or attach and mount in one step:', `  ${eq.oneStep}`);
    if (eq.fstab) lines.push('Or add to /etc/fstab, then `mount DIR` / `umount DIR`:', `  ${eq.fstab}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function where(entry: LoopEntry): string {
  return entry.partition !== null ? `partition ${entry.partition} of ${entry.image}` : entry.image;
}

function oneImage(ctx: CommandContext, usage: string, max = 1): string[] {
  if (ctx.positionals.length === 0 || ctx.positionals.length > max) throw new LoopbackError('INVALID_INPUT', `usage: ${usage}`);
  return ctx.positionals;
}

export const attach: Command = {
  name: 'attach',
  summary: 'Attach an image (or one partition, by offset) to a loop device, as root',
  usage: 'loopstudio attach IMAGE [-p N] [--partscan] [--read-only] [--json]',
  options: { ...partitionOption, partscan: { type: 'boolean' }, 'read-only': { type: 'boolean' } },
  async run(ctx) {
    const [image] = oneImage(ctx, attach.usage);
    const ref = volumeRef(ctx, image, attach.usage);
    const result = await (
      await ctx.services()
    ).loops.attach(ref.image, {
      ...(ref.partition !== undefined ? { partition: ref.partition } : {}),
      ...(ctx.values.partscan ? { partscan: true } : {}),
      ...(ctx.values['read-only'] ? { readOnly: true } : {}),
    });
    output(
      ctx,
      result,
      () =>
        `Attached ${where(result.entries[0]!)} as ${result.device}\n${describeAction(result)}When done: loopstudio detach ${result.device}\n`,
    );
    return 0;
  },
};

export const detach: Command = {
  name: 'detach',
  summary: 'Detach a loop device that Loopback Studio attached',
  usage: 'loopstudio detach DEVICE [--json]',
  options: {},
  async run(ctx) {
    const [device] = oneImage(ctx, detach.usage);
    const result = await (await ctx.services()).loops.detach(device!);
    output(ctx, result, () => `Detached ${device}\n${describeAction(result)}`);
    return 0;
  },
};

export const mount: Command = {
  name: 'mount',
  summary: 'Attach and mount an image or partition so your own tools (cp, an editor) can use it',
  usage: 'loopstudio mount IMAGE [-p N] [DIR] [--read-only] [--json]',
  options: { ...partitionOption, 'read-only': { type: 'boolean' } },
  async run(ctx) {
    const [image, dir] = oneImage(ctx, mount.usage, 2);
    const ref = volumeRef(ctx, image, mount.usage);
    const result = await (
      await ctx.services()
    ).loops.mount(ref.image, {
      ...(ref.partition !== undefined ? { partition: ref.partition } : {}),
      ...(dir !== undefined ? { dir } : {}),
      ...(ctx.values['read-only'] ? { readOnly: true } : {}),
    });
    const entry = result.entries[0]!;
    output(
      ctx,
      result,
      () =>
        `Mounted ${where(entry)} (${entry.family}) at ${result.mountDir}\n  through ${result.device}\n${describeAction(result)}When done: loopstudio umount ${result.mountDir}\n`,
    );
    return 0;
  },
};

export const umount: Command = {
  name: 'umount',
  summary: 'sync, unmount and detach what Loopback Studio mounted at DIR (or from IMAGE)',
  usage: 'loopstudio umount DIR|IMAGE [--json]',
  options: {},
  async run(ctx) {
    const [target] = oneImage(ctx, umount.usage);
    const result = await (await ctx.services()).loops.unmount(target!);
    output(
      ctx,
      result,
      () => `Unmounted ${result.entries.map((e) => `${e.mountDir} (${where(e)})`).join(', ')}\n${describeAction(result)}`,
    );
    return 0;
  },
};

export const loops: Command = {
  name: 'loops',
  summary: 'List the loop devices and mounts Loopback Studio made: leftovers, and what is kept for you, each with why',
  usage:
    'loopstudio loops [--json]\n\n' +
    'A mount or loop device made with `loopstudio mount` / `attach` is yours until `umount` / `detach`:\n' +
    'listed as kept, never cleaned up. A leftover is what a crashed or killed action left half-done, what\n' +
    'the app left when it died without releasing its own, or what belongs to an image that no longer\n' +
    'exists (deleted, or replaced by a new build): `loopstudio cleanup` releases those.',
  options: {},
  async run(ctx) {
    if (ctx.positionals.length) throw new LoopbackError('INVALID_INPUT', `usage: ${loops.usage.split('\n')[0]}`);
    const state = await (await ctx.services()).loops.list();
    output(ctx, state, () => {
      if (state.system === null) return 'This system has no loop engine (Linux, FreeBSD and OpenBSD have).\n';
      if (state.entries.length === 0) return 'Loopback Studio has no loop devices or mounts.\n';
      const rows = state.entries.map((e) => [
        e.device ?? '?',
        e.live.mounted ? (e.mountDir ?? '') : e.live.attached ? '(attached)' : `(${e.state})`,
        e.partition !== null ? String(e.partition) : '-',
        e.image,
        e.owner.pid ? `${e.owner.shell} ${e.owner.pid}` : '?',
        e.leftover ? 'leftover' : e.reason.startsWith('kept') ? 'kept' : 'in use',
      ]);
      const name = (e: LoopEntry) => (e.live.mounted && e.mountDir ? e.mountDir : (e.device ?? e.id));
      const leftovers = state.entries.filter((e) => e.leftover);
      const kept = state.entries.filter((e) => !e.leftover && e.reason.startsWith('kept'));
      return (
        `${table([['DEVICE', 'MOUNTED AT', 'PART', 'IMAGE', 'MADE BY', 'STATUS'], ...rows], '  ')}\n` +
        (kept.length ? `Kept for you (never cleaned up):\n${kept.map((e) => `  ${name(e)}: ${e.reason}`).join('\n')}\n` : '') +
        (leftovers.length
          ? `${leftovers.length} leftover(s): loopstudio cleanup releases them.\n${leftovers.map((e) => `  ${name(e)}: ${e.reason}`).join('\n')}\n`
          : '')
      );
    });
    return 0;
  },
};

export const cleanup: Command = {
  name: 'cleanup',
  summary: 'Release leftovers (see `loops`): unmount and detach what a crash left, never what you mounted on purpose',
  usage: 'loopstudio cleanup [--json]',
  options: {},
  async run(ctx) {
    if (ctx.positionals.length) throw new LoopbackError('INVALID_INPUT', `usage: ${cleanup.usage}`);
    const result = await (await ctx.services()).loops.cleanup();
    const left = result.notReleased ?? [];
    output(
      ctx,
      result,
      () =>
        (result.entries.length === 0 && left.length === 0
          ? 'Nothing to clean up.\n'
          : result.entries.length
            ? `Released ${result.entries.map((e) => `${e.mountDir ?? e.device ?? e.id} (${where(e)})`).join(', ')}\n${describeAction(result)}`
            : '') +
        left
          .map(
            (e) =>
              `Not released: ${e.mountDir ?? e.device ?? e.id}: ${e.reason}. The helper checks each device against its image, so release it by hand, as root:\n${e.byHand.map((l) => `  ${l}`).join('\n')}\n`,
          )
          .join(''),
    );
    return left.length ? 1 : 0;
  },
};
