/**
 * The whole pipeline, timed: for each recipe in examples/, `loopstudio build` and a boot in QEMU
 * until the program's line appears on the serial port — and the same for the image made by the
 * recipe's `--print-commands` script (truncate, sfdisk, mkfs.fat/mke2fs, mtools, grub-mkimage,
 * dd) — side by side, with the ratios.
 *
 *   npx tsx bench/pipeline.ts [--runs N] [--only NAME[,NAME…]] [--json]
 *
 * Both sides boot through the same `loopstudio qemu --expect`, so the boot columns compare the
 * images, not the launchers. Builds: ours runs in-process (what `loopstudio build` does after
 * Node has started); the script runs under bash, and for GRUB legacy it calls the loopstudio CLI
 * for `setup` (the 32-bit grub shell cannot run), which costs it a Node start.
 * The examples' kernel.elf and bootsector.bin are the test programs of tests/support/test-kernel.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../electron/cli/main';
import { BOOT_SECTOR_LINE, buildBootSector, buildTestKernel, KERNEL_LINE } from '../tests/support/test-kernel';
import { median } from './support';

const ROOT = join(__dirname, '..');
const EXAMPLES = join(ROOT, 'examples');
const LOOPSTUDIO = join(ROOT, 'bin', 'loopstudio.cjs');

export interface PipelineTiming {
  buildMs: number;
  bootMs: number;
  /** Whether the line appeared. */
  booted: boolean;
}

export interface PipelineResult {
  example: string;
  loopstudio: PipelineTiming;
  script: PipelineTiming;
}

async function loopstudio(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTty: false });
  return { code, stdout, stderr };
}

async function boot(image: string, text: string): Promise<{ ms: number; booted: boolean }> {
  const started = performance.now();
  const result = await loopstudio(['qemu', image, '--expect', text, '--timeout', '60', '--json']);
  const ms = performance.now() - started;
  const booted = result.code === 0 && Boolean(JSON.parse(result.stdout).expect?.matched);
  return { ms, booted };
}

/** Times every example (or those in `only`), `runs` times each; the medians are reported. */
export async function runPipelineBench(
  options: { only?: readonly string[]; runs?: number; onLine?: (line: string) => void } = {},
): Promise<PipelineResult[]> {
  const runs = options.runs ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'loopstudio-bench-'));
  try {
    buildTestKernel(dir);
    buildBootSector(dir);
    const names = readdirSync(EXAMPLES)
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.replace(/\.json$/, ''))
      .filter((n) => !options.only || options.only.includes(n));
    const results: PipelineResult[] = [];
    for (const name of names) {
      const recipe = join(dir, `${name}.json`);
      copyFileSync(join(EXAMPLES, `${name}.json`), recipe);
      const text = name.includes('boot-sector') ? BOOT_SECTOR_LINE : KERNEL_LINE;
      const ours: PipelineTiming[] = [];
      const theirs: PipelineTiming[] = [];
      const printed = await loopstudio(['build', recipe, '--print-commands']);
      if (printed.code !== 0) throw new Error(`${name}: --print-commands failed: ${printed.stderr}`);
      const script = join(dir, `${name}.sh`);
      writeFileSync(script, printed.stdout);
      for (let i = 0; i < runs; i++) {
        const image = join(dir, `${name}.img`);
        let t = performance.now();
        const built = await loopstudio(['build', recipe, '-o', image, '--force']);
        if (built.code !== 0) throw new Error(`${name}: loopstudio build failed: ${built.stderr}`);
        const buildMs = performance.now() - t;
        const ourBoot = await boot(image, text);
        ours.push({ buildMs, bootMs: ourBoot.ms, booted: ourBoot.booted });

        const scriptImage = join(dir, `${name}.sh.img`);
        t = performance.now();
        const bash = spawnSync('bash', [script, scriptImage], {
          encoding: 'utf8',
          env: { ...process.env, LOOPSTUDIO: LOOPSTUDIO, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
        });
        if (bash.status !== 0) throw new Error(`${name}: the printed script failed: ${bash.stderr}`);
        const scriptMs = performance.now() - t;
        const theirBoot = await boot(scriptImage, text);
        theirs.push({ buildMs: scriptMs, bootMs: theirBoot.ms, booted: theirBoot.booted });
      }
      const summarize = (timings: PipelineTiming[]): PipelineTiming => ({
        buildMs: median(timings.map((x) => x.buildMs)),
        bootMs: median(timings.map((x) => x.bootMs)),
        booted: timings.every((x) => x.booted),
      });
      const result = { example: name, loopstudio: summarize(ours), script: summarize(theirs) };
      results.push(result);
      options.onLine?.(formatRow(result));
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Column titles: the loopstudio side, the script side, then script ÷ loopstudio. */
const HEADER = ['example', 'build', 'boot', 'total', 'build', 'boot', 'total', 'build', 'total'];
const GROUPS = `${''.padEnd(28)}${'loopstudio'.padStart(24)} |${'printed script'.padStart(25)} |${'script ÷ loopstudio'.padStart(18)}`;
const WIDTHS = [28, 8, 8, 8, 9, 8, 8, 10, 8];

function row(cells: readonly string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(WIDTHS[0]!) : `${i === 4 || i === 7 ? ' |' : ''}${c.padStart(WIDTHS[i]!)}`)).join('');
}

function formatRow(r: PipelineResult): string {
  const ms = (x: number) => `${Math.round(x)} ms`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const ours = r.loopstudio;
  const theirs = r.script;
  return row([
    r.example + (ours.booted && theirs.booted ? '' : ' (NO BOOT)'),
    ms(ours.buildMs),
    ms(ours.bootMs),
    ms(ours.buildMs + ours.bootMs),
    ms(theirs.buildMs),
    ms(theirs.bootMs),
    ms(theirs.buildMs + theirs.bootMs),
    ratio(theirs.buildMs, ours.buildMs),
    ratio(theirs.buildMs + theirs.bootMs, ours.buildMs + ours.bootMs),
  ]);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const json = args.includes('--json');
  const runs = Number(value('--runs') ?? 1);
  const only = value('--only')?.split(',');
  if (!json) {
    console.log(
      `Pipeline: build + boot to the serial line (median of ${runs} run${runs === 1 ? '' : 's'}); ratio = script ÷ loopstudio (above 1: loopstudio is faster)`,
    );
    console.log(GROUPS);
    console.log(row(HEADER));
  }
  const results = await runPipelineBench({
    runs,
    ...(only ? { only } : {}),
    ...(json ? {} : { onLine: (line: string) => console.log(line) }),
  });
  if (json) console.log(JSON.stringify(results, null, 2));
  if (results.some((r) => !r.loopstudio.booted || !r.script.booted)) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
