/**
 * The developer's inner loop (issue 15), timed against the Makefile way, side by side in one run:
 *
 *   npx tsx bench/devloop.ts [--runs 5] [--only update,process,boot] [--settle MS] [--json]
 *
 * The image is the FAT32 disk with GRUB 2 of examples/disk-fat32-grub2.json (64 MiB, MBR, FAT32
 * from sector 2048, menu timeout 0), the kernel a multiboot test kernel padded to 1 MiB; every
 * change is a new kernel (a new line to print, the same size), written beside the recipe
 * untimed. Targets:
 *
 *   update   the change → the updated image, ready to boot, in-process (`updateImage`, what
 *            `run --watch` does after the writes settled) — and mcopy for reference      ≤ 50 ms
 *   process  the same as whole processes: `loopstudio build RECIPE --update` vs
 *            `mcopy -o -i IMG@@1048576 kernel.elf ::/boot/kernel.elf`                     ≤ 0.5×
 *   boot     the change → the new kernel's first line on the serial port: a running
 *            `run --watch` (in-process: it sees the file, settles 50 ms, stops the old QEMU,
 *            updates the image and starts the spare QEMU it keeps ready) vs mcopy + a fresh QEMU
 *            with the same command line                                                    ≤ 1.0×
 *
 * Contenders take turns run by run; medians of --runs. Every result is checked outside the clock:
 * fsck.fat -n on the partition, and the kernel in the image (mtools) is the one just written.
 * The CLI runs as built (bin/loopstudio.cjs): `npm run build` first.
 */
import { spawn as spawnChild, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SETTLE_MS, DevLoopService } from '../electron/services/dev-loop';
import { QemuService } from '../electron/services/qemu';
import { updateImage } from '../electron/services/rebuild';
import { missingTools, tempDir, toolEnv } from '../tests/support/host';
import { buildTestKernel } from '../tests/support/test-kernel';
import { checkCli } from './cli';
import { median, takeTurns } from './support';

const ROOT = join(__dirname, '..');
const LOOPSTUDIO = join(ROOT, 'bin', 'loopstudio.cjs');
export const DEVLOOP_PARTS = ['update', 'process', 'boot'] as const;
export type DevLoopPart = (typeof DEVLOOP_PARTS)[number];
const PARTITION_OFFSET = 2048 * 512;
const KERNEL_BYTES = 1024 * 1024;

export interface DevLoopResult {
  part: DevLoopPart;
  title: string;
  ours: { label: string; ms: number; samples: number[] };
  theirs: { label: string; ms: number; samples: number[] };
  /** ours ÷ theirs (below 1: ours is faster). */
  ratio: number;
  /** The target: a ratio (process, boot) or milliseconds (update). */
  target: { ratio: number } | { ms: number };
  met: boolean;
}

/** Why the bench cannot run here, or null. */
export function devloopMissing(): string | null {
  return missingTools('nasm', 'ld', 'mcopy', 'mtype', 'fsck.fat', 'grub-mkimage', 'qemu-system-i386');
}

function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { env: toolEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

class Project {
  readonly recipe: string;
  readonly kernel: string;
  private counter = 0;
  constructor(readonly dir: string) {
    this.recipe = join(dir, 'disk.json');
    this.kernel = join(dir, 'kernel.elf');
    mkdirSync(join(dir, 'build'), { recursive: true });
    const example = JSON.parse(readFileSync(join(ROOT, 'examples/disk-fat32-grub2.json'), 'utf8')) as {
      bootloader: { menu: { timeout: number } };
    };
    example.bootloader.menu.timeout = 0;
    writeFileSync(this.recipe, `${JSON.stringify(example, null, 2)}\n`);
    this.next();
  }

  /** The line the current kernel prints. */
  line = '';

  /** Builds the next 1 MiB kernel (another line, the same size) in build/, and says where. */
  build(): string {
    this.counter += 1;
    this.line = `devloop kernel build ${String(this.counter).padStart(6, '0')}`;
    return buildTestKernel(join(this.dir, 'build'), { message: this.line, padBytes: KERNEL_BYTES - 1100, name: 'kernel.elf' });
  }

  /** The built kernel lands over kernel.elf, renamed, as a linker's output lands. */
  land(built: string): void {
    renameSync(built, this.kernel);
  }

  /** A new kernel in place. */
  next(): string {
    this.land(this.build());
    return this.line;
  }
}

/** The image holds a clean FAT32 whose /boot/kernel.elf is the kernel now beside the recipe. */
function check(image: string, kernel: string): void {
  const volume = `${image}.partition`;
  writeFileSync(volume, readFileSync(image).subarray(PARTITION_OFFSET));
  run('fsck.fat', ['-n', volume]);
  const inImage = spawnSync('mtype', ['-i', `${image}@@${PARTITION_OFFSET}`, '::/boot/kernel.elf'], {
    env: toolEnv(),
    maxBuffer: 8 * 1024 * 1024,
  });
  if (!Buffer.from(inImage.stdout).equals(readFileSync(kernel)))
    throw new Error(`${image}: /boot/kernel.elf is not the kernel just written`);
}

/** The time from spawning QEMU (given as argv) until `line` is on its serial port; QEMU is killed afterwards. */
function bootUntil(argv: readonly string[], line: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnChild(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => finish(new Error(`"${line}" did not appear within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const finish = (error: Error | null) => {
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.once('close', () => (error ? reject(error) : resolve()));
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (bytes: Buffer) => {
      out += bytes.toString('latin1');
      if (out.includes(line)) finish(null);
    });
    child.once('error', (error) => finish(error));
  });
}

const result = (
  part: DevLoopPart,
  title: string,
  ours: { label: string; samples: number[] },
  theirs: { label: string; samples: number[] },
  target: DevLoopResult['target'],
): DevLoopResult => {
  const o = { ...ours, ms: median(ours.samples) };
  const t = { ...theirs, ms: median(theirs.samples) };
  const ratio = o.ms / t.ms;
  return { part, title, ours: o, theirs: t, ratio, target, met: 'ms' in target ? o.ms <= target.ms : ratio <= target.ratio };
};

export async function runDevLoopBench(
  options: { runs?: number; only?: readonly DevLoopPart[]; settleMs?: number; onLine?: (line: string) => void } = {},
): Promise<DevLoopResult[]> {
  const runs = options.runs ?? 5;
  const only = options.only ?? DEVLOOP_PARTS;
  const { dir, cleanup } = tempDir('loopstudio-bench-devloop-');
  const results: DevLoopResult[] = [];
  const emit = (r: DevLoopResult) => {
    results.push(r);
    options.onLine?.(formatRow(r));
  };
  try {
    const ours = new Project(join(dir, 'ours'));
    const theirs = new Project(join(dir, 'theirs'));
    const oursImage = join(ours.dir, 'disk.img');
    const theirsImage = join(theirs.dir, 'disk.img');
    await updateImage(ours.recipe);
    // The Makefile's image: the same build, written once; mcopy keeps it current.
    await updateImage(theirs.recipe);

    const mcopy = (project: Project, image: string) =>
      run('mcopy', ['-o', '-i', `${image}@@${PARTITION_OFFSET}`, project.kernel, '::/boot/kernel.elf']);

    if (only.includes('update')) {
      const samples = await takeTurns(
        [
          { prepare: () => ours.next(), work: () => updateImage(ours.recipe), check: () => check(oursImage, ours.kernel) },
          { prepare: () => theirs.next(), work: () => mcopy(theirs, theirsImage), check: () => check(theirsImage, theirs.kernel) },
        ],
        runs,
      );
      emit(
        result(
          'update',
          'kernel change → image, in-process',
          { label: 'updateImage()', samples: samples[0]! },
          { label: 'mcopy -o (a process)', samples: samples[1]! },
          { ms: 50 },
        ),
      );
    }

    if (only.includes('process')) {
      const samples = await takeTurns(
        [
          {
            prepare: () => ours.next(),
            work: () => run(process.execPath, [LOOPSTUDIO, 'build', ours.recipe, '--update']),
            check: () => check(oursImage, ours.kernel),
          },
          { prepare: () => theirs.next(), work: () => mcopy(theirs, theirsImage), check: () => check(theirsImage, theirs.kernel) },
        ],
        runs,
      );
      emit(
        result(
          'process',
          'kernel change → image, processes',
          { label: 'loopstudio build --update', samples: samples[0]! },
          { label: 'mcopy -o', samples: samples[1]! },
          { ratio: 0.5 },
        ),
      );
    }

    if (only.includes('boot')) {
      // The Makefile's QEMU: the command line loopstudio would run (without the gdb stub).
      const command = JSON.parse(run(process.execPath, [LOOPSTUDIO, 'qemu', theirsImage, '--print-command', '--json'])) as {
        argv: string[];
      };
      const qemu = new QemuService();
      const loops = new DevLoopService(qemu);
      let output = '';
      let waiting: { line: string; resolve: () => void } | null = null;
      const watch = () => {
        if (waiting && output.includes(waiting.line)) {
          waiting.resolve();
          waiting = null;
        }
      };
      const until = (line: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`"${line}" did not appear within 60 s:\n${output.slice(-2000)}`)), 60_000);
          waiting = {
            line,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
          };
          watch();
        });
      const runHandle = await loops.start({
        recipe: ours.recipe,
        watch: true,
        ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
        onBoot: (session) => {
          output = '';
          qemu.onOutput(session.sessionId, (chunk) => {
            output += chunk;
            watch();
          });
        },
      });
      try {
        await until(ours.line);
        let built = '';
        const samples = await takeTurns(
          [
            {
              // The build is the developer's (untimed); the clock starts as the new kernel lands.
              prepare: () => (built = ours.build()),
              work: async () => {
                const shown = until(ours.line);
                ours.land(built);
                await shown;
              },
              // Untimed: the run's spare QEMU comes up now, not during the other side's turn.
              check: async () => {
                check(oursImage, ours.kernel);
                await runHandle.standbyReady();
              },
            },
            {
              prepare: () => theirs.next(),
              work: async () => {
                mcopy(theirs, theirsImage);
                await bootUntil(command.argv, theirs.line);
              },
              check: () => check(theirsImage, theirs.kernel),
            },
          ],
          runs,
        );
        const settle = options.settleMs ?? DEFAULT_SETTLE_MS;
        emit(
          result(
            'boot',
            'kernel change → its first serial line',
            { label: `run --watch, settle ${settle} ms`, samples: samples[0]! },
            { label: 'mcopy + qemu', samples: samples[1]! },
            { ratio: 1 },
          ),
        );
      } finally {
        await runHandle.stop();
      }
    }
    return results;
  } finally {
    cleanup();
  }
}

const COLUMNS: ReadonlyArray<[number, boolean]> = [
  [38, true],
  [27, true],
  [6, false],
  [22, true],
  [6, false],
  [7, false],
  [14, true],
];
export const HEADER = row(['change of a 1 MiB kernel', 'loopstudio', 'ms', 'the Makefile way', 'ms', 'ratio', 'target']);

function row(cells: readonly string[]): string {
  return cells
    .map((c, i) => (COLUMNS[i]![1] ? c.padEnd(COLUMNS[i]![0]) : c.padStart(COLUMNS[i]![0])))
    .join('  ')
    .trimEnd();
}

export function formatRow(r: DevLoopResult): string {
  const target = 'ms' in r.target ? `≤ ${r.target.ms} ms` : `≤ ${r.target.ratio}×`;
  return row([
    r.title,
    r.ours.label,
    Math.round(r.ours.ms).toString(),
    r.theirs.label,
    Math.round(r.theirs.ms).toString(),
    `${r.ratio.toFixed(2)}×`,
    `${target}${r.met ? ' ok' : ' MISSED'}`,
  ]);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const runs = Number(value('--runs') ?? 5);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: a whole number above 0');
  const only = value('--only')?.split(',') as DevLoopPart[] | undefined;
  const settle = value('--settle');
  const settleMs = settle === undefined ? undefined : Number(settle);
  if (settleMs !== undefined && !(Number.isInteger(settleMs) && settleMs >= 0)) throw new Error('--settle: milliseconds, 0 or more');
  const json = args.includes('--json');
  const missing = devloopMissing();
  if (missing) throw new Error(missing);
  const warning = checkCli();
  if (warning) process.stderr.write(`bench: ${warning}\n`);
  if (!json) {
    console.log(
      `The inner loop: a 1 MiB kernel changes, on a 64 MiB FAT32 disk with GRUB 2; median of ${runs} run${runs === 1 ? '' : 's'}, taking turns`,
    );
    console.log('ratio = loopstudio ÷ the Makefile way (below 1: loopstudio is faster)\n');
    console.log(HEADER);
  }
  const results = await runDevLoopBench({
    runs,
    ...(only ? { only } : {}),
    ...(settleMs !== undefined ? { settleMs } : {}),
    ...(json ? {} : { onLine: (line: string) => console.log(line) }),
  });
  if (json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log('\nSamples (ms), in run order:');
    for (const r of results)
      console.log(`  ${r.part.padEnd(8)} ${r.ours.samples.map(Math.round).join(', ')}  |  ${r.theirs.samples.map(Math.round).join(', ')}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
