/**
 * Smoke test of bench/pipeline.ts on one example: both sides build and boot, and the timings are
 * real numbers. (The full benchmark is `npx tsx bench/pipeline.ts`; it is not part of the suite.)
 */
import { describe, expect, it } from 'vitest';
import { bootTestsMissing } from '../tests/support/boot';
import { missingTools } from '../tests/support/host';
import { runPipelineBench } from './pipeline';

const skip = bootTestsMissing() ?? missingTools('bash', 'truncate', 'mkfs.fat', 'dd');

describe.skipIf(skip)(`bench/pipeline.ts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('times loopstudio and the printed script for the boot-sector floppy, and both boot', async () => {
    const lines: string[] = [];
    const [result, ...rest] = await runPipelineBench({ only: ['floppy-boot-sector'], onLine: (line) => lines.push(line) });
    expect(rest).toEqual([]);
    expect(result).toMatchObject({ example: 'floppy-boot-sector', loopstudio: { booted: true }, script: { booted: true } });
    for (const side of [result!.loopstudio, result!.script]) {
      expect(side.buildMs).toBeGreaterThan(0);
      expect(side.bootMs).toBeGreaterThan(0);
    }
    expect(lines[0]).toMatch(/^floppy-boot-sector\s+\d+ ms\s+\d+ ms\s+\d+ ms \|.*×/);
  }, 60_000);
});
