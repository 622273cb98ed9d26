/**
 * The CLI's progress line: drawn on stderr when it is a terminal and --json is off, silent
 * otherwise (scripts and CI logs stay clean). Ctrl+C asks the work to stop at its next
 * consistent point instead of killing the process mid-write.
 */
import { formatBytes } from '../../shared/disk/sizes';
import type { ProgressOptions } from '../../shared/fs/types';
import type { CommandContext } from './command';

export function progressFor(
  ctx: CommandContext,
  title: string,
): Required<Pick<ProgressOptions, 'signal'>> & ProgressOptions & { done(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    ctx.io.stderr('\nStopping at the next consistent point… (Ctrl+C again to force)\n');
  };
  process.on('SIGINT', onSigint);
  const draw = ctx.io.isTty && !ctx.json;
  let last = 0;
  let drawn = false;
  return {
    signal: controller.signal,
    onProgress: (p) => {
      if (!draw) return;
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      // Bytes when the work counts bytes, else items (files copied, steps of a build).
      const fraction =
        p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : p.itemsTotal ? Math.min(1, (p.itemsDone ?? 0) / p.itemsTotal) : 0;
      const width = 24;
      const bar = '█'.repeat(Math.round(fraction * width)).padEnd(width, '░');
      const bytes = p.bytesTotal > 0 ? ` ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}` : '';
      const items = p.itemsTotal !== undefined ? ` ${p.itemsDone ?? 0}/${p.itemsTotal}` : '';
      ctx.io.stderr(`\r${title}: ${p.phase} ${bar}${bytes}${items}   `);
      drawn = true;
    },
    done: () => {
      process.off('SIGINT', onSigint);
      if (drawn) ctx.io.stderr('\r\x1b[K');
    },
  };
}
