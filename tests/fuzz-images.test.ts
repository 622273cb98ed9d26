/**
 * Fuzz test of the image readers (issue 13): seeded mutations of MBR, EBR, GPT, BPB, FSInfo,
 * FAT, folder and ext2 structures of small images built once per run, each run through the
 * built CLI's `info`, `ls` and `get` (tests/support/fuzz-images.ts). Must hold for every mutant:
 * no INTERNAL error, no hang (each command has a timeout), nothing written outside the output
 * folder, the image unchanged.
 *
 * Bounded for CI: LOOPSTUDIO_FUZZ_CASES cases (default 1000, about 2500 mutations, well under a
 * minute on two cores) from LOOPSTUDIO_FUZZ_SEED (default 13). The nightly runs many more with
 * a seed of the day: scripts/fuzz-images-nightly.mjs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliWorker } from './support/cli-worker';
import { buildFuzzImages, caseArbitrary, checkCase, describeCase, type FuzzImage } from './support/fuzz-images';
import { missingTools, tempDir } from './support/host';

const CASES = Number(process.env.LOOPSTUDIO_FUZZ_CASES ?? 1000);
const SEED = Number(process.env.LOOPSTUDIO_FUZZ_SEED ?? 13);
/** Per command: normal ones take milliseconds; a loaded CI machine gets room. */
const COMMAND_TIMEOUT_MS = Number(process.env.LOOPSTUDIO_FUZZ_TIMEOUT_MS ?? 10_000);
/** Two workers: the CI machine's two cores. */
const WORKERS = 2;

const skip = missingTools('mkfs.fat', 'mmd', 'mcopy', 'mke2fs', 'debugfs', 'sfdisk', 'sgdisk', 'truncate');
const tmp = tempDir('fuzz-images-');
let images: FuzzImage[] = [];
afterAll(() => tmp.cleanup());

describe.skipIf(skip)('fuzzed images through info, ls and get', () => {
  beforeAll(async () => {
    images = await buildFuzzImages(join(tmp.dir, 'base'));
  });

  it('the base images read cleanly', async () => {
    const worker = new CliWorker();
    try {
      for (const [i, image] of images.entries()) {
        for (const v of image.volumes.keys()) {
          // No mutation: the image as built, each volume looked at.
          const region = image.regions.findIndex((r) => r.volume === null || r.volume === v);
          const c = { image: i, region, mutations: [], volume: v, fixCrc: false };
          const work = join(tmp.dir, `clean-${image.name}-${v}`);
          mkdirSync(work, { recursive: true });
          const outcome = await checkCase(worker, images, c, work, COMMAND_TIMEOUT_MS);
          expect(outcome.problems, describeCase(images, c)).toEqual([]);
          expect(outcome.refused, `${image.name} volume ${v}: a command failed on the clean image`).toBe(0);
        }
      }
    } finally {
      await worker.close();
    }
  });

  it(
    `${CASES} mutants (seed ${SEED}): no INTERNAL, no hang, nothing outside OUT, the image unchanged`,
    { timeout: Math.max(120_000, CASES * 1000) },
    async () => {
      const cases = fc.sample(caseArbitrary(images), { seed: SEED, numRuns: CASES });
      const started = Date.now();
      const failures: string[] = [];
      let next = 0;
      let commands = 0;
      let refused = 0;
      const slow: Array<{ ms: number; what: string }> = [];
      const workers = Array.from({ length: WORKERS }, () => new CliWorker());
      try {
        await Promise.all(
          workers.map(async (worker, w) => {
            const work = join(tmp.dir, `worker-${w}`);
            mkdirSync(work, { recursive: true });
            while (next < cases.length) {
              const index = next++;
              const c = cases[index]!;
              const outcome = await checkCase(worker, images, c, work, COMMAND_TIMEOUT_MS);
              commands += outcome.commands;
              refused += outcome.refused;
              slow.push({ ms: outcome.slowest.ms, what: `${outcome.slowest.argv}: ${describeCase(images, c)}` });
              if (outcome.problems.length)
                failures.push(`case ${index} (seed ${SEED}) ${describeCase(images, c)}\n  ${outcome.problems.join('\n  ')}`);
            }
          }),
        );
      } finally {
        await Promise.all(workers.map((w) => w.close()));
      }
      const mutations = cases.reduce((sum, c) => sum + c.mutations.length, 0);
      const seconds = (Date.now() - started) / 1000;
      const slowest = slow
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 3)
        .map((s) => `  ${s.ms.toFixed(0)} ms ${s.what}`);
      console.log(
        `fuzz: ${cases.length} mutants (${mutations} mutations), ${commands} commands (${refused} refused cleanly) in ${seconds.toFixed(1)} s, seed ${SEED}; slowest:\n${slowest.join('\n')}`,
      );
      expect(failures.slice(0, 20).join('\n\n')).toBe('');
    },
  );
});
