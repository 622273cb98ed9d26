/**
 * Filesystem benchmarks against the host tools, side by side in one run on this machine
 * (issue 4). Run: `npx tsx bench/filesystems.ts [--files 2000] [--mib 200] [--runs 3] [--only fat|ext2]`.
 *
 * - format a 4 GiB FAT32 volume: ours vs mkfs.fat
 * - copy a tree (default 2 000 files / 200 MiB) into FAT32: ours (`loopstudio put`) vs `mcopy -s`
 * - the same tree into ext2: ours (format + put) vs `mke2fs -d` vs `genext2fs`
 * - raw sequential write of the same bytes with dd: the physical limit (timed in each copy section)
 * Every run ends with an fsync of the image (ours flushes; the host tools get `sync FILE`), and
 * every result is checked (fsck.fat -n / e2fsck -fn) so a fast wrong answer cannot win.
 * Prints medians of 3 runs (`--runs N`) and the ratios; the contenders of a section take turns run
 * by run. Timings are noisy on shared machines: compare ratios.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createImage } from '../electron/services/images';
import { putFiles } from '../electron/services/files';
import { formatVolume } from '../electron/services/volumes';
import { missingTools, runToolOk, tempDir } from '../tests/support/host';
import { makeTree, median, takeTurns, type Turn } from './support';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FILES = arg('files', 2000);
const TOTAL_MIB = arg('mib', 200);
const RUNS = arg('runs', 3);
/** `--only fat` or `--only ext2`: just that filesystem's sections. */
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i > 0 ? process.argv[i + 1] : undefined;
})();

interface Contender extends Turn {
  label: string;
}

/**
 * Times each contender RUNS times, taking turns (see takeTurns). Prints each one's median and
 * samples; returns the medians in the contenders' order.
 */
async function compare(contenders: Contender[]): Promise<number[]> {
  const samples = await takeTurns(contenders, RUNS);
  return contenders.map((c, i) => {
    const ms = median(samples[i]!);
    process.stdout.write(
      `  ${c.label.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms   (${samples[i]!.map((s) => s.toFixed(0)).join(', ')})\n`,
    );
    return ms;
  });
}

function sh(command: string, args: string[]): void {
  const result = spawnSync(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin`, MTOOLS_SKIP_CHECK: '1' },
  });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
}

/** The FAT sections: format 4 GiB, then copy the tree in (with dd taking turns); their ratios. */
async function fatSections(img: string, tree: string, dd: Contender): Promise<string[]> {
  process.stdout.write('Format a 4 GiB FAT32 volume\n');
  const fresh4g = async () => {
    rmSync(img, { force: true });
    await createImage({ path: img, shape: { size: '4GiB' } });
  };
  const checkFat = () => runToolOk('fsck.fat', ['-n', img]);
  const [ourFormat, mkfsFat] = await compare([
    {
      label: 'loopstudio format --fs fat32',
      prepare: fresh4g,
      work: async () => void (await formatVolume({ image: img }, { fs: 'fat32' })),
      check: checkFat,
    },
    {
      label: 'mkfs.fat -F 32',
      prepare: fresh4g,
      work: () => sh('sh', ['-c', `mkfs.fat -F 32 "$1" >/dev/null && sync "$1"`, 'sh', img]),
      check: checkFat,
    },
  ]);

  process.stdout.write(`\nCopy the tree into FAT32 (1 GiB volume)\n`);
  const fresh1g = async () => {
    rmSync(img, { force: true });
    await createImage({ path: img, shape: { size: '1GiB' } });
    sh('mkfs.fat', ['-F', '32', img]);
  };
  const [ourPut, mcopy, raw] = await compare([
    {
      label: 'loopstudio put (FAT32)',
      prepare: fresh1g,
      work: async () => void (await putFiles({ image: img }, [tree], '/')),
      check: checkFat,
    },
    {
      label: 'mcopy -s',
      prepare: fresh1g,
      work: () => sh('sh', ['-c', 'mcopy -s -i "$1" "$2" ::/ && sync "$1"', 'sh', img, tree]),
      check: checkFat,
    },
    dd,
  ]);
  return [
    `  format FAT32 4 GiB   vs mkfs.fat   ${ratio(ourFormat, mkfsFat)}`,
    `  copy into FAT32      vs mcopy -s   ${ratio(ourPut, mcopy)}`,
    `  copy into FAT32      vs raw dd     ${ratio(ourPut, raw)}`,
  ];
}

/** The ext2 section: format + copy the tree in, against mke2fs -d and genext2fs (and dd). */
async function ext2Section(img: string, tree: string, dd: Contender): Promise<string[]> {
  process.stdout.write(`The tree into ext2 (1 GiB volume, 4 KiB blocks)\n`);
  const hasGenext2fs = missingTools('genext2fs') === null;
  const checkExt2 = () => runToolOk('e2fsck', ['-fn', img]);
  const blank1g = async () => {
    rmSync(img, { force: true });
    await createImage({ path: img, shape: { size: '1GiB' } });
  };
  const [ourExt2, mke2fs, raw, genext2fs] = await compare([
    {
      label: 'loopstudio format + put (ext2)',
      prepare: blank1g,
      work: async () => {
        await formatVolume({ image: img }, { fs: 'ext2', blockBytes: 4096 });
        await putFiles({ image: img }, [tree], '/');
      },
      check: checkExt2,
    },
    {
      label: 'mke2fs -t ext2 -d',
      prepare: blank1g,
      work: () => sh('sh', ['-c', 'mke2fs -q -F -t ext2 -b 4096 -d "$2" "$1" && sync "$1"', 'sh', img, tree]),
      check: checkExt2,
    },
    dd,
    ...(hasGenext2fs
      ? [
          {
            label: 'genext2fs -d',
            prepare: () => rmSync(img, { force: true }),
            work: () => sh('sh', ['-c', `genext2fs -B 4096 -b ${2 ** 18} -d "$2" "$1" && sync "$1"`, 'sh', img, tree]),
            check: checkExt2,
          },
        ]
      : []),
  ]);
  return [
    `  ext2 format + copy   vs mke2fs -d  ${ratio(ourExt2, mke2fs)}`,
    ...(genext2fs !== undefined ? [`  ext2 format + copy   vs genext2fs  ${ratio(ourExt2, genext2fs)}`] : []),
    `  ext2 format + copy   vs raw dd     ${ratio(ourExt2, raw)}`,
  ];
}

function ratio(ours: number | undefined, theirs: number | undefined): string {
  return `${((ours ?? NaN) / (theirs ?? NaN)).toFixed(2)}×`;
}

async function main(): Promise<void> {
  const missing = missingTools('mkfs.fat', 'fsck.fat', 'mcopy', 'mke2fs', 'e2fsck', 'dd', 'sync');
  if (missing) throw new Error(missing);
  const { dir, cleanup } = tempDir('loopstudio-bench-');
  try {
    const tree = join(dir, 'tree');
    const bytes = makeTree(tree, FILES, TOTAL_MIB);
    // Write the new tree out now: else the kernel's flusher does it ~30 s later, in the middle
    // of whichever contender is running then.
    sh('sync', ['-f', tree]);
    const img = join(dir, 'bench.img');
    const mib = bytes / 2 ** 20;
    process.stdout.write(`Tree: ${FILES} files, ${mib.toFixed(0)} MiB in ${tree}; median of ${RUNS} runs\n\n`);
    // The physical limit: the same number of bytes written raw, timed in each copy section
    // among the contenders (taking turns with them, see compare()).
    const dd: Contender = {
      label: 'dd bs=1M conv=fsync (raw write)',
      prepare: () => rmSync(img, { force: true }),
      work: () => sh('dd', ['if=/dev/zero', `of=${img}`, 'bs=1M', `count=${Math.ceil(mib)}`, 'conv=fsync', 'status=none']),
      check: () => {},
    };
    const ratios: string[] = [];
    if (ONLY !== 'ext2') ratios.push(...(await fatSections(img, tree, dd)));
    if (ONLY === undefined) process.stdout.write('\n');
    if (ONLY !== 'fat') ratios.push(...(await ext2Section(img, tree, dd)));
    process.stdout.write('\nRatios (time ours / time theirs: below 1 means we are faster)\n');
    process.stdout.write(`${ratios.join('\n')}\n`);
  } finally {
    cleanup();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
