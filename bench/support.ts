/**
 * What the benchmarks share: the generated tree, the median, contenders taking turns, and the
 * fsync that ends a timed run.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Writes `files` files totalling about `totalMib` MiB under `root`, in folders of 100 (dir000 …),
 * all of one size and with the same bytes every time: a run here compares with a run elsewhere.
 * Returns the bytes written.
 */
export function makeTree(root: string, files: number, totalMib: number): number {
  const perFile = Math.floor((totalMib * 1024 * 1024) / files);
  const folders = Math.max(1, Math.round(files / 100));
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const folder = join(root, `dir${String(i % folders).padStart(3, '0')}`);
    mkdirSync(folder, { recursive: true });
    const data = Buffer.alloc(perFile);
    // Not zeros: a run of zeros could be skipped or compressed by someone, never by us.
    for (let j = 0; j + 4 <= perFile; j += 4) data.writeUInt32LE((i * 2654435761 + j) >>> 0, j);
    writeFileSync(join(folder, `file${i}.bin`), data);
    bytes += perFile;
  }
  return bytes;
}

/** fsync of one file, as `sync FILE` does: its data written back, whoever wrote it. */
export function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface Turn {
  /** Untimed, before each run: a fresh image, say. */
  prepare?: () => unknown;
  /** Timed. */
  work: () => unknown;
  /** Untimed, after each run: the result is right (fsck), so a fast wrong answer cannot win. */
  check?: () => unknown;
}

/**
 * Times each contender `runs` times, taking turns (a, b, c, a, b, c …) rather than all of a's
 * runs first: on a shared machine the load drifts, and taking turns spreads it over every
 * contender alike. Returns the samples (ms), one array per contender in their order.
 */
export async function takeTurns(contenders: readonly Turn[], runs: number): Promise<number[][]> {
  const samples = contenders.map((): number[] => []);
  for (let run = 0; run < runs; run++) {
    for (const [i, c] of contenders.entries()) {
      await c.prepare?.();
      const start = performance.now();
      await c.work();
      samples[i]!.push(performance.now() - start);
      await c.check?.();
    }
  }
  return samples;
}

/** The options the whole-process benches share: --files N --mib N --runs N --only A,B --json. */
export function benchArgs<Name extends string>(
  args: readonly string[],
): { json: boolean; files: number; mib: number; runs: number; only: Name[] | undefined } {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const number = (flag: string) => {
    const v = value(flag);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: a whole number above 0, not ${v}`);
    return n;
  };
  return {
    json: args.includes('--json'),
    files: number('--files') ?? 2000,
    mib: number('--mib') ?? 200,
    runs: number('--runs') ?? 5,
    only: value('--only')?.split(',') as Name[] | undefined,
  };
}
