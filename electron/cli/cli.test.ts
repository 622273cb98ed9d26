import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json';
import { cli } from '../../tests/support/cli';
import { runTool } from '../../tests/support/host';
import { probeHostTools } from '../platform/host-tools';

describe('loopstudio', () => {
  it('--version prints the package version', async () => {
    expect(await cli('--version')).toMatchObject({ code: 0, stdout: `${packageJson.version}\n`, stderr: '' });
  });

  it('--help lists the commands', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: loopstudio <command> [options]');
    expect(stdout).toMatch(/doctor\s+Report which host tools/);
  });

  it('an unknown command or option is a usage error (exit 2) that says what is wrong', async () => {
    expect(await cli('frobnicate')).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
    expect(await cli('doctor', '--bogus')).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--bogus'") });
  });

  it('doctor --json agrees with an independent probe', async () => {
    const { code, stdout } = await cli('doctor', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    const expected = await probeHostTools();
    expect(report.tools.map((t: { name: string; found: boolean }) => [t.name, t.found])).toEqual(
      expected.tools.map((t) => [t.name, t.found]),
    );
  });

  it('doctor prints a table for people', async () => {
    const { code, stdout } = await cli('doctor');
    expect(code).toBe(0);
    expect(stdout).toMatch(/TOOL\s+STATUS\s+VERSION/);
    expect(stdout).toMatch(/losetup\s+(found|MISSING)/);
  });

  it('runs as `npx loopstudio` from the installed package', () => {
    const version = runTool('npx', ['--no-install', 'loopstudio', '--version']);
    expect(version.stdout.trim()).toBe(packageJson.version);
    const doctor = runTool('npx', ['--no-install', 'loopstudio', 'doctor', '--json']);
    expect(doctor.status).toBe(0);
    expect(JSON.parse(doctor.stdout).tools.length).toBeGreaterThan(5);
  });
});
