import { describe, expect, it } from 'vitest';
import { runTool } from '../../tests/support/host';
import { findExecutable, probeHostTools, readOsRelease } from './host-tools';

describe('probing the host', () => {
  it('finds the same executables as the shell does', async () => {
    const report = await probeHostTools();
    for (const tool of report.tools) {
      const shell = runTool('sh', ['-c', 'for n in "$@"; do command -v "$n" && exit 0; done; exit 1', 'sh', tool.name === 'mkfs.fat' ? 'mkfs.fat' : tool.name]);
      const shellPath = shell.status === 0 ? shell.stdout.trim() : null;
      // A program that is there but is another package's (grub-install 0.97) is found by the
      // shell, and refused by us with a note saying why.
      expect(tool.found, `${tool.name}: shell says ${shellPath}`).toBe(shellPath !== null && tool.note === undefined);
      if (tool.note) expect(tool.path).toBe(shellPath);
    }
  });

  it('reads versions that match the tools’ own output', async () => {
    const report = await probeHostTools();
    const sfdisk = report.tools.find((t) => t.name === 'sfdisk')!;
    if (!sfdisk.found) return expect(sfdisk.version).toBeNull();
    const own = runTool(sfdisk.path!, ['--version']).stdout;
    expect(own).toContain(sfdisk.version!);
  });

  it('reports missing tools as missing, with a hint', async () => {
    expect(await findExecutable('loopstudio-no-such-tool-xyz')).toBeNull();
    const report = await probeHostTools('freebsd');
    const mdconfig = report.tools.find((t) => t.name === 'mdconfig')!;
    expect(mdconfig.applicable).toBe(true);
    expect(mdconfig.found).toBe(process.platform === 'freebsd');
    expect(mdconfig.installHint).toBe('part of the base system');
    expect(report.tools.find((t) => t.name === 'losetup')!.applicable).toBe(false);
  });

  it('reads /etc/os-release where it exists', async () => {
    expect(await readOsRelease('/nonexistent/os-release')).toEqual({});
    const fields = await readOsRelease();
    if (Object.keys(fields).length) expect(fields.ID).toBeTruthy();
  });
});
