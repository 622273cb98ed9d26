import { formatBytes } from '../../../shared/disk/sizes';
import { LoopbackError } from '../../../shared/errors';
import { printableName } from '../../../shared/fs/host-names';
import type { DirEntry } from '../../../shared/fs/types';
import { output, table, type Command } from '../command';
import { progressFor } from '../progress';
import { partitionOption, volumeRef } from '../volume-options';

function modeString(entry: DirEntry): string {
  const type = { directory: 'd', symlink: 'l', file: '-', other: '?' }[entry.type];
  if (entry.mode === null) return type;
  const bits = 'rwxrwxrwx';
  return type + [...bits].map((c, i) => ((entry.mode! >> (8 - i)) & 1 ? c : '-')).join('');
}

/** " through the mount at DIR" when a result went through the volume's mount (mounted-files.ts). */
function through(result: { via?: { mountDir: string } }): string {
  return result.via ? ` through the mount at ${result.via.mountDir}` : '';
}

/** A name from the image for a terminal: as it is, or quoted and escaped when it holds control characters. */
function shown(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(name) ? printableName(name) : name;
}

function when(ms: number | null): string {
  if (ms === null) return '';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

export const ls: Command = {
  name: 'ls',
  summary: 'List a folder inside an image (no root needed; through its mount when it is mounted)',
  usage: 'loopstudio ls IMAGE [-p N] [PATH] [--json]',
  options: { ...partitionOption },
  async run(ctx) {
    const [image, path = '/', ...extra] = ctx.positionals;
    if (extra.length) throw new LoopbackError('INVALID_INPUT', `ls takes one path (usage: ${ls.usage})`);
    const { listFiles } = await import('../../services/files');
    const result = await listFiles(volumeRef(ctx, image, ls.usage), path);
    output(ctx, result, () => {
      const note = result.via ? `(listed${through(result)})\n` : '';
      if (!result.entries.length) return `${result.path}: empty\n${note}`;
      const rows = result.entries.map((e) => [
        modeString(e),
        e.type === 'directory' ? '' : String(e.sizeBytes),
        when(e.modifiedMs),
        e.type === 'directory' ? `${shown(e.name)}/` : e.target !== undefined ? `${shown(e.name)} -> ${shown(e.target)}` : shown(e.name),
      ]);
      return `${table(rows)}\n${note}`;
    });
    return 0;
  },
};

export const put: Command = {
  name: 'put',
  summary: 'Copy files and folders into an image (recursive, like cp -r), no root needed',
  usage:
    'loopstudio put IMAGE [-p N] SRC… DEST [--parents] [--json]\n\n' +
    "--parents makes DEST's missing folders first, like mkdir -p (DEST itself too when it ends in / or takes\n" +
    'several sources): put disk.img -p 1 --parents initrd.gz /boot/initrd.gz on a fresh filesystem.',
  options: { ...partitionOption, parents: { type: 'boolean' } },
  async run(ctx) {
    const [image, ...rest] = ctx.positionals;
    const usage = put.usage.split('\n')[0]!;
    if (rest.length < 2) throw new LoopbackError('INVALID_INPUT', `name what to copy and where (usage: ${usage})`);
    const dest = rest.pop()!;
    const progress = progressFor(ctx, 'put');
    try {
      const { putFiles } = await import('../../services/files');
      const result = await putFiles(volumeRef(ctx, image, usage), rest, dest, {
        ...progress,
        ...(ctx.values.parents ? { parents: true } : {}),
      });
      output(
        ctx,
        result,
        () =>
          `Copied ${result.files} file(s), ${formatBytes(result.bytes)}, and ${result.folders} folder(s) into ${result.volume}:${dest}${through(result)}\n`,
      );
    } finally {
      progress.done();
    }
    return 0;
  },
};

export const get: Command = {
  name: 'get',
  summary: 'Copy a file or folder out of an image (existing files are replaced only with --force); `-` writes a file to stdout',
  usage:
    'loopstudio get IMAGE [-p N] PATH OUT|- [--force] [--json]\n\n' +
    "OUT - writes the one file PATH to stdout, byte for byte (like mcopy's -), and nothing else goes there.\n" +
    'What get says (what it copied, warnings, progress) always goes to stderr; with --json its result goes to stdout.',
  options: { ...partitionOption, force: { type: 'boolean' } },
  async run(ctx) {
    const [image, path, out, ...extra] = ctx.positionals;
    const usage = get.usage.split('\n')[0]!;
    if (!path || !out || extra.length)
      throw new LoopbackError('INVALID_INPUT', `name the path in the image and where to put it (usage: ${usage})`);
    const progress = progressFor(ctx, 'get');
    try {
      const { streamFile, streamTarget } = await import('../../services/files');
      // `-`, or OUT naming this process's stdout (/dev/stdout) or another device or pipe: the
      // file's bytes are written into it, never a file made (or replaced) there.
      const target = await streamTarget(out);
      if (target) {
        if (ctx.json && target.kind === 'stdout')
          throw new LoopbackError('INVALID_INPUT', '--json prints its result on stdout, where the file goes: leave out one of them');
        const write =
          target.kind === 'stdout'
            ? (ctx.io.stdoutBytes ?? (async (data: Uint8Array) => ctx.io.stdout(Buffer.from(data).toString('latin1'))))
            : target.write;
        try {
          const result = await streamFile(volumeRef(ctx, image, usage), path, write, progress);
          if (ctx.json) output(ctx, result, () => '');
        } catch (error) {
          // The reader stopped reading (`… - | head`): what a pipe's writer gets, as `cat` does.
          if ((error as NodeJS.ErrnoException).code === 'EPIPE') return 141;
          throw error;
        } finally {
          await target.close();
        }
        return 0;
      }
      const { getFiles } = await import('../../services/files');
      const result = await getFiles(volumeRef(ctx, image, usage), path, out, { ...progress, overwrite: Boolean(ctx.values.force) });
      progress.done();
      // Names come from the image: printed quoted and escaped, never raw to a terminal.
      if (!ctx.json)
        for (const s of result.skipped) ctx.io.stderr(`loopstudio get: warning: skipped ${printableName(s.path)}: ${s.reason}\n`);
      const skipped = result.skipped.length
        ? `; skipped ${result.skipped.length} entr${result.skipped.length === 1 ? 'y' : 'ies'} (see the warnings)`
        : '';
      // stdout is for data: OUT may be /dev/stdout or a pipe. The message goes to stderr.
      if (ctx.json) output(ctx, result, () => '');
      else ctx.io.stderr(`Copied ${result.files} file(s), ${formatBytes(result.bytes)}, to ${out}${through(result)}${skipped}\n`);
    } finally {
      progress.done();
    }
    return 0;
  },
};

export const mkdir: Command = {
  name: 'mkdir',
  summary: 'Make a folder inside an image',
  usage: 'loopstudio mkdir IMAGE [-p N] PATH [--parents] [--json]',
  options: { ...partitionOption, parents: { type: 'boolean' } },
  async run(ctx) {
    const [image, path, ...extra] = ctx.positionals;
    if (!path || extra.length) throw new LoopbackError('INVALID_INPUT', `name one folder to make (usage: ${mkdir.usage})`);
    const { makeFolder } = await import('../../services/files');
    const result = await makeFolder(volumeRef(ctx, image, mkdir.usage), path, Boolean(ctx.values.parents));
    output(ctx, { created: path, ...(result.via ? { via: result.via } : {}) }, () => `Made ${path}${through(result)}\n`);
    return 0;
  },
};

export const rm: Command = {
  name: 'rm',
  summary: 'Remove a file, or a folder with -r, inside an image',
  usage: 'loopstudio rm IMAGE [-p N] PATH [-r] [--json]',
  options: { ...partitionOption, recursive: { type: 'boolean', short: 'r' } },
  async run(ctx) {
    const [image, path, ...extra] = ctx.positionals;
    if (!path || extra.length) throw new LoopbackError('INVALID_INPUT', `name one path to remove (usage: ${rm.usage})`);
    const { removePath } = await import('../../services/files');
    const result = await removePath(volumeRef(ctx, image, rm.usage), path, Boolean(ctx.values.recursive));
    output(ctx, { removed: path, ...(result.via ? { via: result.via } : {}) }, () => `Removed ${path}${through(result)}\n`);
    return 0;
  },
};
