/**
 * The CLI as a Makefile meets it: whole processes, `node bin/loopstudio.cjs …` spawned from here,
 * against the host tools doing the same job, with the ratios (issue 11).
 *
 *   npx tsx bench/cli.ts [--files 2000] [--mib 200] [--runs 5] [--only NAME[,NAME…]] [--json]
 *
 * NAME (target: time ours ÷ time theirs):
 *   version  `loopstudio --version` vs `node -e 0`                                   ≤ 1.5×
 *   format   `loopstudio create --size 4GiB` + `format --fs fat32` vs
 *            `truncate -s 4G` + `mkfs.fat -F 32` (whole disk)                        ≤ 2×
 *   put      `loopstudio put IMG TREE /` vs `mcopy -s -i IMG TREE ::/`, each into the same
 *            freshly formatted 1 GiB FAT32 image (copied outside the clock)          ≤ 1×
 *   ext2     `loopstudio format --fs ext2` + `put` vs `mke2fs -t ext2 -d` (1 GiB, 4 KiB blocks)
 *   build    `loopstudio build RECIPE.json` vs `genimage` on the same disk: 1 GiB, MBR, one
 *            bootable FAT32 partition from 1 MiB holding the tree (genimage: mkdosfs + mcopy) ≤ 0.5×
 *
 * The tree (default 2 000 files, 200 MiB, the one bench/filesystems.ts copies) is made once and
 * lands as /tree in every image. Each run spawns the processes (no shell for either side) and
 * fsyncs the image before the clock stops; the contenders take turns run by run, and every result
 * is checked outside the clock (fsck.fat -n, e2fsck -fn, the partition table and a listing of the
 * files), so a fast wrong answer cannot win. Medians of --runs; timings are noisy on shared
 * machines: compare the ratios.
 *
 * It runs the built CLI (bin/loopstudio.cjs starts out/cli): run `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingTools, tempDir, toolEnv } from '../tests/support/host';
import { benchArgs, makeTree, median, syncFile, takeTurns } from './support';

const ROOT = join(__dirname, '..');
const LOOPSTUDIO = join(ROOT, 'bin', 'loopstudio.cjs');
const CLI_BUNDLE = join(ROOT, 'out', 'cli');

export const COMPARISONS = ['version', 'format', 'put', 'ext2', 'build'] as const;
export type ComparisonName = (typeof COMPARISONS)[number];

/** The host tools each comparison runs (its contender, and the checks). */
const TOOLS: Record<ComparisonName, readonly string[]> = {
  version: [],
  format: ['truncate', 'mkfs.fat', 'fsck.fat'],
  put: ['truncate', 'mkfs.fat', 'fsck.fat', 'mcopy', 'cp'],
  ext2: ['truncate', 'mke2fs', 'e2fsck'],
  build: ['genimage', 'mkdosfs', 'mcopy', 'mdir', 'sfdisk'],
};

/** Why `name` cannot run here (a host tool missing), or null. */
export function comparisonMissing(name: ComparisonName): string | null {
  return TOOLS[name].length ? missingTools(...TOOLS[name]) : null;
}

export interface Side {
  label: string;
  /** Median of the samples. */
  ms: number;
  samples: number[];
}

export interface CliResult {
  name: ComparisonName;
  title: string;
  ours: Side;
  theirs: Side;
  /** ours.ms ÷ theirs.ms: below 1, loopstudio is faster. */
  ratio: number;
  /** The ratio issue 11 asks for at most, if any. */
  target: number | null;
}

export interface CliSkipped {
  name: ComparisonName;
  skipped: string;
}

export interface CliBenchOptions {
  files?: number;
  mib?: number;
  runs?: number;
  only?: readonly ComparisonName[];
  /** Each comparison's table row (or its skip line) as soon as it is measured. */
  onLine?: (line: string) => void;
}

/** A command line: the program and its arguments, spawned without a shell. */
type Command = readonly [string, ...string[]];

const node = (...args: string[]): Command => [process.execPath, ...args];
const loopstudio = (...args: string[]): Command => node(LOOPSTUDIO, ...args);

/** Spawns each command in turn and waits for it; throws with its output if one fails. */
function spawn(commands: readonly Command[]): string {
  let stdout = '';
  for (const [command, ...args] of commands) {
    const result = spawnSync(command, args, {
      env: toolEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`${[command, ...args].join(' ')} exited ${result.status}\n${result.stdout}${result.stderr}`);
    stdout += result.stdout;
  }
  return stdout;
}

/**
 * Whether bin/loopstudio.cjs starts: throws, saying to run `npm run build`, when it does not.
 * Returns a warning when the bundle in out/cli is older than the sources it is built from (the
 * figures would be those of older code), or null.
 */
export function checkCli(): string | null {
  const result = spawnSync(process.execPath, [LOOPSTUDIO, '--version'], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `node bin/loopstudio.cjs --version exited ${result.status}: run \`npm run build\` (the CLI runs the bundle in out/cli/).\n${result.stderr.trim()}`,
    );
  }
  if (!existsSync(CLI_BUNDLE)) return null;
  const built = newest(CLI_BUNDLE, () => true);
  const source = Math.max(
    ...['electron', 'shared'].map((d) => newest(join(ROOT, d), (name) => /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name))),
  );
  return source > built
    ? 'out/cli/ is older than the sources in electron/ and shared/: run `npm run build` to measure this checkout'
    : null;
}

/** The newest modification time (ms) of the files under `dir` whose names `want`. */
function newest(dir: string, want: (name: string) => boolean): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && want(entry.name)) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** The number in `pattern`'s first group, from a checker's report; throws when it is below `least`. */
function atLeast(report: string, pattern: RegExp, least: number, what: string): void {
  const found = Number(pattern.exec(report)?.[1] ?? NaN);
  if (!(found >= least)) throw new Error(`${what}: expected at least ${least}, the check says:\n${report}`);
}

interface Contender {
  label: string;
  /** Untimed, before each run. */
  prepare?: () => void;
  /** The processes, spawned one after the other inside the clock. */
  commands: readonly Command[];
  /** Fsynced before the clock stops. */
  image?: string;
  /** Untimed, after each run; gets the processes' standard output. */
  check?: (stdout: string) => void;
}

interface Comparison {
  name: ComparisonName;
  title: string;
  target: number | null;
  ours: Contender;
  theirs: Contender;
}

async function measure(c: Comparison, runs: number): Promise<CliResult> {
  const turns = [c.ours, c.theirs].map((side) => {
    let stdout = '';
    return {
      prepare: side.prepare,
      work: () => {
        stdout = spawn(side.commands);
        if (side.image) syncFile(side.image);
      },
      check: () => side.check?.(stdout),
    };
  });
  const [ours, theirs] = (await takeTurns(turns, runs)).map((samples, i): Side => ({
    label: (i === 0 ? c.ours : c.theirs).label,
    ms: median(samples),
    samples,
  }));
  return { name: c.name, title: c.title, ours: ours!, theirs: theirs!, ratio: ours!.ms / theirs!.ms, target: c.target };
}

/** The comparisons, over the tree at `root`/tree (`files` files) in the folder `dir`. */
function comparisons(dir: string, root: string, files: number): Comparison[] {
  const tree = join(root, 'tree');
  const img = join(dir, 'bench.img');
  const fresh = (size: string) => () => {
    rmSync(img, { force: true });
    spawn([['truncate', '-s', size, img]]);
  };
  const fsckFat = () => spawn([['fsck.fat', '-n', img]]);
  // "bench.img: 2021 files, 51283/261627 clusters": files and folders, the root's excluded.
  const fatHoldsTree = () => atLeast(fsckFat(), /(\d+) files,/, files, 'files in the FAT volume');
  // "bench.img: 2032/65536 files (0.0% non-contiguous), …": inodes in use.
  const ext2HoldsTree = () => atLeast(spawn([['e2fsck', '-fn', img]]), /(\d+)\/\d+ files/, files, 'inodes in use in the ext2 volume');

  // put: one freshly formatted FAT32 image, copied (sparse, then written back) before each run.
  const fatBase = join(dir, 'fat32-1g.img');
  const freshFat = () => {
    rmSync(img, { force: true });
    spawn([['cp', '--sparse=always', fatBase, img]]);
    syncFile(img);
  };

  // build: the same disk for both. genimage makes the partition's filesystem in its tmppath
  // (mkdosfs, then mcopy of its own copy of the root path) and writes it into the disk image.
  const recipe = join(dir, 'recipe.json');
  const built = join(dir, 'built.img');
  const genimage = {
    config: join(dir, 'genimage.cfg'),
    tmp: join(dir, 'genimage-tmp'),
    out: join(dir, 'genimage-out'),
    input: join(dir, 'genimage-input'),
  };
  const genimageImage = join(genimage.out, 'disk.img');
  const diskHoldsTree = (image: string) => () => {
    const table = spawn([['sfdisk', '-d', image]]);
    if (!/start=\s*2048, size=\s*2095104, type=c, bootable/.test(table))
      throw new Error(`${image}: not one bootable FAT32 (0c) partition from sector 2048 to the end:\n${table}`);
    const listed = spawn([['mdir', '-/', '-b', '-i', `${image}@@1M`, '::/tree']])
      .split('\n')
      .filter((l) => l.endsWith('.bin')).length;
    if (listed !== files) throw new Error(`${image}: ${listed} files under /tree, expected ${files}`);
  };

  return [
    {
      name: 'version',
      title: 'start: --version',
      target: 1.5,
      ours: {
        label: 'loopstudio --version',
        commands: [loopstudio('--version')],
        check: (out) => void (/^\d+\.\d+\.\d+/.test(out) || fail(`--version printed ${JSON.stringify(out)}`)),
      },
      theirs: { label: 'node -e 0', commands: [node('-e', '0')] },
    },
    {
      name: 'format',
      title: 'create + format FAT32 4 GiB',
      target: 2,
      ours: {
        label: 'loopstudio create + format',
        prepare: () => rmSync(img, { force: true }),
        commands: [loopstudio('create', img, '--size', '4GiB'), loopstudio('format', img, '--fs', 'fat32')],
        image: img,
        check: fsckFat,
      },
      theirs: {
        label: 'truncate + mkfs.fat -F 32',
        prepare: () => rmSync(img, { force: true }),
        commands: [
          ['truncate', '-s', '4G', img],
          ['mkfs.fat', '-F', '32', img],
        ],
        image: img,
        check: fsckFat,
      },
    },
    {
      name: 'put',
      title: 'put the tree into FAT32',
      target: 1,
      ours: { label: 'loopstudio put', prepare: freshFat, commands: [loopstudio('put', img, tree, '/')], image: img, check: fatHoldsTree },
      theirs: {
        label: 'mcopy -s',
        prepare: freshFat,
        commands: [['mcopy', '-s', '-i', img, tree, '::/']],
        image: img,
        check: fatHoldsTree,
      },
    },
    {
      name: 'ext2',
      title: 'ext2 format + the tree',
      target: null,
      ours: {
        label: 'loopstudio format + put',
        prepare: fresh('1G'),
        commands: [loopstudio('format', img, '--fs', 'ext2', '--block-size', '4096'), loopstudio('put', img, tree, '/')],
        image: img,
        check: ext2HoldsTree,
      },
      theirs: {
        label: 'mke2fs -t ext2 -d',
        prepare: fresh('1G'),
        commands: [['mke2fs', '-q', '-F', '-t', 'ext2', '-b', '4096', '-d', root, img]],
        image: img,
        check: ext2HoldsTree,
      },
    },
    {
      name: 'build',
      title: 'build: MBR + FAT32 + the tree',
      target: 0.5,
      ours: {
        label: 'loopstudio build',
        prepare: () => rmSync(built, { force: true }),
        commands: [loopstudio('build', recipe, '-o', built)],
        image: built,
        check: diskHoldsTree(built),
      },
      theirs: {
        label: 'genimage',
        prepare: () => rmSync(genimageImage, { force: true }),
        commands: [
          [
            'genimage',
            '--config',
            genimage.config,
            '--rootpath',
            root,
            '--tmppath',
            genimage.tmp,
            '--outputpath',
            genimage.out,
            '--inputpath',
            genimage.input,
          ],
        ],
        image: genimageImage,
        check: () => {
          // Its temporary files, gone before the kernel writes them back during the next run.
          rmSync(genimage.tmp, { recursive: true, force: true });
          diskHoldsTree(genimageImage)();
        },
      },
    },
  ];
}

function fail(message: string): never {
  throw new Error(message);
}

/** Writes what the comparisons read: the FAT32 image to copy, the recipe and genimage's config. */
function setUp(dir: string, only: readonly ComparisonName[]): void {
  if (only.includes('put')) {
    const base = join(dir, 'fat32-1g.img');
    spawn([
      ['truncate', '-s', '1G', base],
      ['mkfs.fat', '-F', '32', base],
    ]);
  }
  if (only.includes('build')) {
    const recipe = {
      description: 'bench/cli.ts: the disk genimage.cfg describes',
      image: { size: '1GiB' },
      table: 'mbr',
      partitions: [{ start: 2048, size: 'rest', type: '0c', bootable: true, filesystem: { type: 'fat32' } }],
      files: [{ from: 'root/tree', to: '/' }],
    };
    writeFileSync(join(dir, 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
    writeFileSync(
      join(dir, 'genimage.cfg'),
      `# bench/cli.ts: the disk recipe.json describes
image part.vfat {
  vfat { extraargs = "-F 32" }
  size = 1023M
  temporary = true
}
image disk.img {
  hdimage { partition-table-type = "mbr" }
  partition boot {
    partition-type = 0xC
    bootable = true
    offset = 1M
    image = "part.vfat"
  }
}
`,
    );
    mkdirSync(join(dir, 'genimage-input'));
  }
}

/** Runs the comparisons (all, or `only`), each `runs` times; skips those whose host tools are missing. */
export async function runCliBench(options: CliBenchOptions = {}): Promise<Array<CliResult | CliSkipped>> {
  const files = options.files ?? 2000;
  const mib = options.mib ?? 200;
  const runs = options.runs ?? 5;
  const only = options.only ?? COMPARISONS;
  const unknown = only.filter((n) => !COMPARISONS.includes(n));
  if (unknown.length) throw new Error(`--only: unknown ${unknown.join(', ')} (known: ${COMPARISONS.join(', ')})`);
  checkCli();
  const { dir, cleanup } = tempDir('loopstudio-bench-cli-');
  try {
    const root = join(dir, 'root');
    makeTree(join(root, 'tree'), files, mib);
    // Write the new tree out now: else the kernel's flusher does it ~30 s later, in the middle
    // of whichever contender is running then.
    spawn([['sync', '-f', root]]);
    setUp(dir, only);
    const results: Array<CliResult | CliSkipped> = [];
    for (const c of comparisons(dir, root, files)) {
      if (!only.includes(c.name)) continue;
      const missing = comparisonMissing(c.name);
      const result = missing ? { name: c.name, skipped: missing } : await measure(c, runs);
      results.push(result);
      options.onLine?.(formatRow(result));
    }
    return results;
  } finally {
    cleanup();
  }
}

/** Column widths; the text columns are left-aligned, the figures right-aligned. */
const COLUMNS: ReadonlyArray<[width: number, left: boolean]> = [
  [30, true],
  [27, true],
  [6, false],
  [26, true],
  [6, false],
  [7, false],
  [12, true],
];
export const HEADER = row(['comparison', 'loopstudio', 'ms', 'host tool', 'ms', 'ratio', 'target']);

function row(cells: readonly string[]): string {
  return cells
    .map((c, i) => (COLUMNS[i]![1] ? c.padEnd(COLUMNS[i]![0]) : c.padStart(COLUMNS[i]![0])))
    .join('  ')
    .trimEnd();
}

export function formatRow(r: CliResult | CliSkipped): string {
  if ('skipped' in r) return `${r.name.padEnd(COLUMNS[0]![0])}  skipped: ${r.skipped}`;
  const met = r.target === null ? '' : r.ratio <= r.target ? ' ok' : ' MISSED';
  return row([
    r.title,
    r.ours.label,
    Math.round(r.ours.ms).toString(),
    r.theirs.label,
    Math.round(r.theirs.ms).toString(),
    `${r.ratio.toFixed(2)}×`,
    r.target === null ? '—' : `≤ ${r.target}×${met}`,
  ]);
}

async function main(): Promise<void> {
  const { json, files, mib, runs, only } = benchArgs<ComparisonName>(process.argv.slice(2));
  const warning = checkCli();
  if (warning) process.stderr.write(`bench: ${warning}\n`);
  if (!json) {
    console.log(
      `The CLI as whole processes vs the host tools: tree of ${files} files, ${mib} MiB; median of ${runs} run${runs === 1 ? '' : 's'}, taking turns`,
    );
    console.log('ratio = loopstudio ÷ host tool (below 1: loopstudio is faster)\n');
    console.log(HEADER);
  }
  const results = await runCliBench({
    files,
    mib,
    runs,
    ...(only ? { only } : {}),
    ...(json ? {} : { onLine: (line: string) => console.log(line) }),
  });
  if (json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log('\nSamples (ms), in run order:');
    for (const r of results)
      if (!('skipped' in r))
        console.log(
          `  ${r.name.padEnd(8)} ${r.ours.samples.map(Math.round).join(', ')}  |  ${r.theirs.samples.map(Math.round).join(', ')}`,
        );
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
