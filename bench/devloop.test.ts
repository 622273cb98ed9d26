/**
 * Smoke test of bench/devloop.ts with one run of each part: both sides change the kernel, their
 * images pass the checks (fsck.fat, the kernel in the image), and a row prints with a ratio. (The
 * benchmark is `npx tsx bench/devloop.ts`; its figures are in the README, not asserted here.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEVLOOP_PARTS, devloopMissing, HEADER, runDevLoopBench } from './devloop';

const cli = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'loopstudio.cjs'), '--version'], { encoding: 'utf8' });
const skip = devloopMissing() ?? (cli.status === 0 ? null : 'the CLI does not start (run npm run build)');

describe.skipIf(skip)(`bench/devloop.ts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('times each part once, both sides checked, a row each with its ratio and target', async () => {
    expect(HEADER).toMatch(/^change of a 1 MiB kernel\s+loopstudio\s+ms\s+the Makefile way\s+ms\s+ratio\s+target$/);
    const lines: string[] = [];
    const results = await runDevLoopBench({ runs: 1, onLine: (line) => lines.push(line) });
    expect(results.map((r) => r.part)).toEqual([...DEVLOOP_PARTS]);
    for (const r of results) {
      expect(r.ours.samples).toHaveLength(1);
      expect(r.theirs.samples).toHaveLength(1);
      expect(r.ratio).toBeCloseTo(r.ours.ms / r.theirs.ms);
    }
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/\s\d+\s.*\s\d+\s+\d+\.\d\d×\s+≤ [\d.]+( ms|×) (ok|MISSED)$/);
  }, 120_000);
});
