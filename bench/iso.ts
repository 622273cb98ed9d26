/**
 * Bootable ISO images (issue 16): `loopstudio build` of an ISO recipe against `grub-mkrescue` on
 * the same tree, as whole processes (what a Makefile runs), taking turns, medians.
 *
 *   npx tsx bench/iso.ts [--files 2000] [--mib 200] [--runs 5] [--only barebones,tree] [--json]
 *
 * NAME (target: time ours ÷ time theirs ≤ 0.5):
 *   barebones  the OSDev Bare Bones layout — isodir/boot/myos.bin (the test kernel) and the
 *              tutorial's isodir/boot/grub/grub.cfg — into a hybrid ISO that boots with BIOS and
 *              UEFI: `loopstudio build` vs `grub-mkrescue -o myos.iso isodir`
 *   tree       the same with a tree of 2 000 files / 200 MiB (bench/support.ts's) in isodir/tree
 *
 * Both sides make what the tutorial asks for: an El Torito BIOS image (GRUB's eltorito.img,
 * boot-info-table, --grub2-boot-info), a UEFI entry (an EFI system partition image with
 * BOOTX64.EFI), GRUB's hybrid MBR, Rock Ridge and Joliet. grub-mkrescue also copies every module
 * of every GRUB platform installed, its fonts and locales, and adds an HFS+ tree for Macs; ours
 * copies the BIOS modules and builds what grub.cfg needs into BOOTX64.EFI (as `loopstudio
 * bootloader --grub2` does on a disk). Each image is fsynced before the clock stops, and checked
 * outside it: xorriso must list the BIOS and the UEFI boot images and isoinfo every file of the
 * tree, so a fast wrong answer cannot win. grub-mkrescue needs xorriso and mtools.
 *
 * It runs the built CLI (bin/loopstudio.cjs starts out/cli): run `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missingTools, tempDir, toolEnv } from '../tests/support/host';
import { buildTestKernel, testProgramsMissing } from '../tests/support/test-kernel';
import { checkCli, type Side } from './cli';
import { benchArgs, makeTree, median, syncFile, takeTurns } from './support';

const ROOT = join(__dirname, '..');
const LOOPSTUDIO = join(ROOT, 'bin', 'loopstudio.cjs');

export const ISO_COMPARISONS = ['barebones', 'tree'] as const;
export type IsoComparisonName = (typeof ISO_COMPARISONS)[number];
export const ISO_TARGET = 0.5;

/** The tutorial's grub.cfg, with a timeout so the image boots unattended. */
export const BARE_BONES_GRUB_CFG = 'set timeout=0\nmenuentry "myos" {\n\tmultiboot /boot/myos.bin\n}\n';

/** Why the ISO bench cannot run here (grub-mkrescue or what it needs is missing), or null. */
export function isoBenchMissing(): string | null {
  return missingTools('grub-mkrescue', 'grub-mkimage', 'xorriso', 'mformat', 'mcopy', 'isoinfo');
}

export interface IsoBenchResult {
  name: IsoComparisonName;
  title: string;
  ours: Side;
  theirs: Side;
  /** ours.ms ÷ theirs.ms: below 1, loopstudio is faster. */
  ratio: number;
  target: number;
  /** The images' sizes (MiB), ours and theirs: what each wrote. */
  mib: { ours: number; theirs: number };
}

export interface IsoBenchOptions {
  files?: number;
  mib?: number;
  runs?: number;
  only?: readonly IsoComparisonName[];
  onLine?: (line: string) => void;
}

function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, {
    env: toolEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${[command, ...args].join(' ')} exited ${result.status}\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** Outside the clock: both boot images, and every file of the tree, as other tools read them. */
function check(image: string, treeFiles: number): void {
  const report = run('xorriso', ['-indev', image, '-report_el_torito', 'plain']);
  if (!/El Torito boot img :\s+1\s+BIOS/.test(report) || !/El Torito boot img :\s+2\s+UEFI/.test(report))
    throw new Error(`${image}: xorriso does not list a BIOS and a UEFI boot image:\n${report}`);
  const names = run('isoinfo', ['-R', '-f', '-i', image]).split('\n');
  if (!names.includes('/boot/myos.bin') || !names.includes('/boot/grub/grub.cfg'))
    throw new Error(`${image}: no /boot/myos.bin or /boot/grub/grub.cfg`);
  const bins = names.filter((n) => n.startsWith('/tree/') && n.endsWith('.bin')).length;
  if (bins !== treeFiles) throw new Error(`${image}: ${bins} files under /tree, expected ${treeFiles}`);
}

/** Lays out isodir (and, for `tree`, isodir/tree) in `dir`, with the recipe beside it. */
function setUp(
  dir: string,
  name: IsoComparisonName,
  kernel: string,
  files: number,
  mib: number,
): { isodir: string; recipe: string; treeFiles: number } {
  const isodir = join(dir, `${name}-isodir`);
  mkdirSync(join(isodir, 'boot', 'grub'), { recursive: true });
  copyFileSync(kernel, join(isodir, 'boot', 'myos.bin'));
  writeFileSync(join(isodir, 'boot', 'grub', 'grub.cfg'), BARE_BONES_GRUB_CFG);
  const treeFiles = name === 'tree' ? files : 0;
  if (name === 'tree') makeTree(join(isodir, 'tree'), files, mib);
  const recipe = join(dir, `${name}.json`);
  const document = {
    description: `bench/iso.ts: ${name}, what grub-mkrescue makes of ${name}-isodir`,
    image: { iso: { volumeId: 'MYOS' } },
    files: [{ from: `${name}-isodir/boot`, to: '/boot' }, ...(name === 'tree' ? [{ from: `${name}-isodir/tree`, to: '/tree' }] : [])],
    bootloader: { grub2: { firmware: 'both' } },
  };
  writeFileSync(recipe, `${JSON.stringify(document, null, 2)}\n`);
  run('sync', ['-f', isodir]);
  return { isodir, recipe, treeFiles };
}

const TITLES: Record<IsoComparisonName, string> = {
  barebones: 'Bare Bones ISO (kernel + grub.cfg)',
  tree: 'Bare Bones + tree',
};

async function measure(
  dir: string,
  name: IsoComparisonName,
  kernel: string,
  files: number,
  mib: number,
  runs: number,
): Promise<IsoBenchResult> {
  const { isodir, recipe, treeFiles } = setUp(dir, name, kernel, files, mib);
  const ours = join(dir, `${name}-ours.iso`);
  const theirs = join(dir, `${name}-theirs.iso`);
  const sizes = { ours: 0, theirs: 0 };
  const mibOf = (path: string) => Number(run('stat', ['-c', '%s', path]).trim()) / 1024 / 1024;
  const [oursSamples, theirSamples] = await takeTurns(
    [
      {
        prepare: () => rmSync(ours, { force: true }),
        work: () => {
          run(process.execPath, [LOOPSTUDIO, 'build', recipe, '-o', ours]);
          syncFile(ours);
        },
        check: () => {
          check(ours, treeFiles);
          sizes.ours = mibOf(ours);
        },
      },
      {
        prepare: () => rmSync(theirs, { force: true }),
        work: () => {
          run('grub-mkrescue', ['-o', theirs, isodir, '--', '-volid', 'MYOS']);
          syncFile(theirs);
        },
        check: () => {
          check(theirs, treeFiles);
          sizes.theirs = mibOf(theirs);
        },
      },
    ],
    runs,
  );
  const side = (label: string, samples: number[]): Side => ({ label, ms: median(samples), samples });
  const o = side('loopstudio build', oursSamples!);
  const t = side('grub-mkrescue', theirSamples!);
  return { name, title: TITLES[name], ours: o, theirs: t, ratio: o.ms / t.ms, target: ISO_TARGET, mib: sizes };
}

/** Runs the comparisons (all, or `only`), each `runs` times. */
export async function runIsoBench(options: IsoBenchOptions = {}): Promise<IsoBenchResult[]> {
  const files = options.files ?? 2000;
  const mib = options.mib ?? 200;
  const runs = options.runs ?? 5;
  const only = options.only ?? ISO_COMPARISONS;
  const unknown = only.filter((n) => !ISO_COMPARISONS.includes(n));
  if (unknown.length) throw new Error(`--only: unknown ${unknown.join(', ')} (known: ${ISO_COMPARISONS.join(', ')})`);
  const missing = isoBenchMissing();
  if (missing) throw new Error(`cannot run: ${missing}`);
  checkCli();
  const { dir, cleanup } = tempDir('loopstudio-bench-iso-');
  try {
    // The test kernel when it can be built (nasm, ld); else any 40 KiB stands in (nothing boots here).
    let kernel = join(dir, 'kernel.elf');
    if (testProgramsMissing()) writeFileSync(kernel, Buffer.alloc(40 * 1024, 0x90));
    else kernel = buildTestKernel(dir);
    const results: IsoBenchResult[] = [];
    for (const name of ISO_COMPARISONS) {
      if (!only.includes(name)) continue;
      const result = await measure(dir, name, kernel, files, mib, runs);
      results.push(result);
      options.onLine?.(formatIsoRow(result));
    }
    return results;
  } finally {
    cleanup();
  }
}

const COLUMNS: ReadonlyArray<[width: number, left: boolean]> = [
  [36, true],
  [8, false],
  [8, false],
  [7, false],
  [10, true],
  [20, true],
];
export const ISO_HEADER = row(['comparison', 'ours ms', 'mkrescue', 'ratio', 'target', 'image MiB ours/theirs']);

function row(cells: readonly string[]): string {
  return cells
    .map((c, i) => (COLUMNS[i]![1] ? c.padEnd(COLUMNS[i]![0]) : c.padStart(COLUMNS[i]![0])))
    .join('  ')
    .trimEnd();
}

export function formatIsoRow(r: IsoBenchResult): string {
  return row([
    r.title,
    Math.round(r.ours.ms).toString(),
    Math.round(r.theirs.ms).toString(),
    `${r.ratio.toFixed(2)}×`,
    `≤ ${r.target}×${r.ratio <= r.target ? ' ok' : ' MISSED'}`,
    `${r.mib.ours.toFixed(1)} / ${r.mib.theirs.toFixed(1)}`,
  ]);
}

async function main(): Promise<void> {
  const { json, files, mib, runs, only } = benchArgs<IsoComparisonName>(process.argv.slice(2));
  const warning = checkCli();
  if (warning) process.stderr.write(`bench: ${warning}\n`);
  if (!json) {
    console.log(
      `ISO images: loopstudio build vs grub-mkrescue, whole processes; tree of ${files} files, ${mib} MiB; median of ${runs} run${runs === 1 ? '' : 's'}, taking turns`,
    );
    console.log('ratio = loopstudio ÷ grub-mkrescue (below 1: loopstudio is faster)\n');
    console.log(ISO_HEADER);
  }
  const results = await runIsoBench({
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
      console.log(`  ${r.name.padEnd(10)} ${r.ours.samples.map(Math.round).join(', ')}  |  ${r.theirs.samples.map(Math.round).join(', ')}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
