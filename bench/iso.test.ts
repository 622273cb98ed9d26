/**
 * Smoke test of bench/iso.ts with a tiny tree and one run: both comparisons spawn
 * `loopstudio build` and grub-mkrescue, both images pass the checks (xorriso lists the BIOS and
 * UEFI boot images, isoinfo every file), and the row prints a ratio. (The full benchmark is
 * `npx tsx bench/iso.ts`; it is not part of the suite.) Needs the built CLI (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIsoRow, ISO_HEADER, isoBenchMissing, runIsoBench } from './iso';

const cli = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'loopstudio.cjs'), '--version'], { encoding: 'utf8' });
const skip =
  (cli.status === 0 ? null : `the CLI does not start (run npm run build): ${cli.stderr.trim().split('\n')[0]}`) ?? isoBenchMissing();

describe.skipIf(skip)(`bench/iso.ts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('times loopstudio build and grub-mkrescue on the Bare Bones layout and on a tree, checks both images, prints the ratios', async () => {
    expect(ISO_HEADER).toMatch(/^comparison\s+ours ms\s+mkrescue\s+ratio\s+target/);
    const lines: string[] = [];
    const results = await runIsoBench({ files: 12, mib: 1, runs: 1, onLine: (line) => lines.push(line) });
    expect(results.map((r) => r.name)).toEqual(['barebones', 'tree']);
    for (const r of results) {
      expect(r.ours.samples).toHaveLength(1);
      expect(r.theirs.samples).toHaveLength(1);
      expect(r.ratio).toBeCloseTo(r.ours.ms / r.theirs.ms);
      expect(r.mib.ours).toBeGreaterThan(0);
    }
    expect(lines).toEqual(results.map(formatIsoRow));
    expect(lines[1]).toMatch(/^Bare Bones \+ tree\s+\d+\s+\d+\s+\d+\.\d\d×/);
  }, 60_000);
});
