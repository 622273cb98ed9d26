#!/usr/bin/env node
/**
 * The long run of the image fuzz test (tests/fuzz-images.test.ts), for the nightly: many more
 * mutants than CI's bounded run, from a seed that changes every day (printed, so a failure can be
 * run again with LOOPSTUDIO_FUZZ_SEED=…).
 *
 *   node scripts/fuzz-images-nightly.mjs [CASES] [SEED]
 *
 * Defaults: 25 000 cases (about 60 000 mutations, a quarter of an hour on two cores) and the
 * number of days since 1970. Exits with vitest's status.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cases = process.argv[2] ?? process.env.LOOPSTUDIO_FUZZ_CASES ?? '25000';
const seed = process.argv[3] ?? process.env.LOOPSTUDIO_FUZZ_SEED ?? String(Math.floor(Date.now() / 86_400_000));
if (!/^\d+$/.test(cases) || !/^\d+$/.test(seed)) {
  console.error('usage: node scripts/fuzz-images-nightly.mjs [CASES] [SEED]');
  process.exit(2);
}
console.log(`fuzzing ${cases} image mutants from seed ${seed}`);
const vitest = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vitest.cmd' : 'vitest');
const run = spawnSync(vitest, ['run', 'tests/fuzz-images.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, LOOPSTUDIO_FUZZ_CASES: cases, LOOPSTUDIO_FUZZ_SEED: seed },
});
process.exit(run.status ?? 1);
