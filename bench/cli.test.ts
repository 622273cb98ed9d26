/**
 * Smoke test of bench/cli.ts with a tiny tree and one run: every comparison spawns both sides,
 * their results pass the checks, and the row prints a ratio. (The full benchmark is
 * `npx tsx bench/cli.ts`; it is not part of the suite.) Needs the built CLI (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPARISONS, comparisonMissing, HEADER, runCliBench, type CliResult } from './cli';

const cli = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'loopstudio.cjs'), '--version'], { encoding: 'utf8' });
const notBuilt = cli.status === 0 ? null : `the CLI does not start (run npm run build): ${cli.stderr.trim().split('\n')[0]}`;

describe.skipIf(notBuilt)(`bench/cli.ts${notBuilt ? ` (skipped: ${notBuilt})` : ''}`, () => {
  it('prints the table header with a ratio column', () => {
    expect(HEADER).toMatch(/^comparison\s+loopstudio\s+ms\s+host tool\s+ms\s+ratio\s+target$/);
  });

  for (const name of COMPARISONS) {
    const skip = comparisonMissing(name);
    it.skipIf(skip)(
      `${name}: both sides timed, checked, and a ratio printed${skip ? ` (skipped: ${skip})` : ''}`,
      async () => {
        const lines: string[] = [];
        const [result, ...rest] = await runCliBench({ files: 12, mib: 1, runs: 1, only: [name], onLine: (line) => lines.push(line) });
        expect(rest).toEqual([]);
        expect(result).toMatchObject({ name });
        const { ours, theirs, ratio } = result as CliResult;
        for (const side of [ours, theirs]) {
          expect(side.samples).toHaveLength(1);
          expect(side.ms).toBeGreaterThan(0);
        }
        expect(ratio).toBeCloseTo(ours.ms / theirs.ms);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/\s\d+\s.*\s\d+\s+\d+\.\d\d×/);
      },
      60_000,
    );
  }
});
