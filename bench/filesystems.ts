/**
 * Filesystem benchmarks against the host tools, side by side in one run on this machine
 * (issue 4). Run: `npx tsx bench/filesystems.ts [--files 2000] [--mib 200]`.
 *
 * - format a 4 GiB FAT32 volume: ours vs mkfs.fat
 * - copy a tree (default 2 000 files / 200 MiB) into FAT32: ours (`loopstudio put`) vs `mcopy -s`
 * - the same tree into ext2: ours (format + put) vs `mke2fs -d` vs `genext2fs`
 * - raw sequential write of the same bytes with dd: the physical limit
 * Every run ends with an fsync of the image (ours flushes; the host tools get `sync FILE`), and
 * every result is checked (fsck.fat -n / e2fsck -fn) so a fast wrong answer cannot win.
 * Prints medians of 3 runs and the ratios. Timings are noisy on shared machines: compare ratios.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createImage } from '../electron/services/images';
import { putFiles } from '../electron/services/files';
import { formatVolume } from '../electron/services/volumes';
import { missingTools, runToolOk, tempDir } from '../tests/support/host';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FILES = arg('files', 2000);
const TOTAL_MIB = arg('mib', 200);
const RUNS = arg('runs', 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(label: string, prepare: () => Promise<void> | void, work: () => Promise<void> | void, check: () => void): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await prepare();
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
    check();
  }
  const ms = median(samples);
  process.stdout.write(`  ${label.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms   (${samples.map((s) => s.toFixed(0)).join(', ')})\n`);
  return ms;
}

function sh(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin`, MTOOLS_SKIP_CHECK: '1' } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
}

function makeTree(root: string): number {
  const perFile = Math.floor((TOTAL_MIB * 1024 * 1024) / FILES);
  const folders = Math.max(1, Math.round(FILES / 100));
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
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

async function main(): Promise<void> {
  const missing = missingTools('mkfs.fat', 'fsck.fat', 'mcopy', 'mke2fs', 'e2fsck', 'dd', 'sync');
  if (missing) throw new Error(missing);
  const hasGenext2fs = missingTools('genext2fs') === null;
  const { dir, cleanup } = tempDir('loopstudio-bench-');
  try {
    const tree = join(dir, 'tree');
    const bytes = makeTree(tree);
    const img = join(dir, 'bench.img');
    const mib = bytes / 2 ** 20;
    process.stdout.write(`Tree: ${FILES} files, ${mib.toFixed(0)} MiB in ${tree}; median of ${RUNS} runs\n\n`);

    process.stdout.write('Raw sequential write (the physical limit)\n');
    const raw = await time('dd bs=1M conv=fsync', () => rmSync(img, { force: true }), () => sh('dd', ['if=/dev/zero', `of=${img}`, 'bs=1M', `count=${Math.ceil(mib)}`, 'conv=fsync', 'status=none']), () => {});

    process.stdout.write('\nFormat a 4 GiB FAT32 volume\n');
    const fresh4g = async () => {
      rmSync(img, { force: true });
      await createImage({ path: img, shape: { size: '4GiB' } });
    };
    const checkFat = () => runToolOk('fsck.fat', ['-n', img]);
    const ourFormat = await time('loopstudio format --fs fat32', fresh4g, async () => void (await formatVolume({ image: img }, { fs: 'fat32' })), checkFat);
    const mkfsFat = await time('mkfs.fat -F 32', fresh4g, () => sh('sh', ['-c', `mkfs.fat -F 32 "$1" >/dev/null && sync "$1"`, 'sh', img]), checkFat);

    process.stdout.write(`\nCopy the tree into FAT32 (1 GiB volume)\n`);
    const fresh1g = async () => {
      rmSync(img, { force: true });
      await createImage({ path: img, shape: { size: '1GiB' } });
      sh('mkfs.fat', ['-F', '32', img]);
    };
    const ourPut = await time('loopstudio put (FAT32)', fresh1g, async () => void (await putFiles({ image: img }, [tree], '/')), checkFat);
    const mcopy = await time('mcopy -s', fresh1g, () => sh('sh', ['-c', 'mcopy -s -i "$1" "$2" ::/ && sync "$1"', 'sh', img, tree]), checkFat);

    process.stdout.write(`\nThe tree into ext2 (1 GiB volume, 4 KiB blocks)\n`);
    const checkExt2 = () => runToolOk('e2fsck', ['-fn', img]);
    const blank1g = async () => {
      rmSync(img, { force: true });
      await createImage({ path: img, shape: { size: '1GiB' } });
    };
    const ourExt2 = await time('loopstudio format + put (ext2)', blank1g, async () => {
      await formatVolume({ image: img }, { fs: 'ext2', blockBytes: 4096 });
      await putFiles({ image: img }, [tree], '/');
    }, checkExt2);
    const mke2fs = await time('mke2fs -t ext2 -d', blank1g, () => sh('sh', ['-c', 'mke2fs -q -F -t ext2 -b 4096 -d "$2" "$1" && sync "$1"', 'sh', img, tree]), checkExt2);
    const genext2fs = hasGenext2fs
      ? await time('genext2fs -d', () => rmSync(img, { force: true }), () => sh('sh', ['-c', `genext2fs -B 4096 -b ${2 ** 18} -d "$2" "$1" && sync "$1"`, 'sh', img, tree]), checkExt2)
      : null;

    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    process.stdout.write('\nRatios (time ours / time theirs: below 1 means we are faster)\n');
    process.stdout.write(`  format FAT32 4 GiB   vs mkfs.fat   ${ratio(ourFormat, mkfsFat)}\n`);
    process.stdout.write(`  copy into FAT32      vs mcopy -s   ${ratio(ourPut, mcopy)}\n`);
    process.stdout.write(`  copy into FAT32      vs raw dd     ${ratio(ourPut, raw)}\n`);
    process.stdout.write(`  ext2 format + copy   vs mke2fs -d  ${ratio(ourExt2, mke2fs)}\n`);
    if (genext2fs !== null) process.stdout.write(`  ext2 format + copy   vs genext2fs  ${ratio(ourExt2, genext2fs)}\n`);
    process.stdout.write(`  ext2 format + copy   vs raw dd     ${ratio(ourExt2, raw)}\n`);
  } finally {
    cleanup();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
});
