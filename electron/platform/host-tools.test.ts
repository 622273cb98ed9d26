import { describe, expect, it } from 'vitest';
import { runTool } from '../../tests/support/host';
import { findExecutable, probeHostTools, readOsRelease } from './host-tools';

describe('probing the host', () => {
  it('finds the same executables as the shell does', async () => {
    const report = await probeHostTools();
    for (const tool of report.tools) {
      const shell = runTool('sh', [
        '-c',
        'for n in "$@"; do command -v "$n" && exit 0; done; exit 1',
        'sh',
        tool.name === 'mkfs.fat' ? 'mkfs.fat' : tool.name,
      ]);
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

  it('doctor on a BSD names the packages for QEMU, mtools and GRUB (pkg on FreeBSD, pkg_add on OpenBSD)', async () => {
    const hints = async (os: 'freebsd' | 'openbsd') => {
      const report = await probeHostTools(os);
      expect(report.family).toBe(os);
      const shown = Object.fromEntries(report.tools.filter((t) => t.applicable).map((t) => [t.name, t.installHint]));
      return shown;
    };
    expect(await hints('freebsd')).toMatchObject({
      mdconfig: 'part of the base system',
      newfs_msdos: 'part of the base system',
      'qemu-system-i386': 'sudo pkg install qemu',
      'qemu-system-x86_64': 'sudo pkg install qemu',
      mtools: 'sudo pkg install mtools',
      'grub-mkimage': 'sudo pkg install grub2-pcbsd',
      mke2fs: 'sudo pkg install e2fsprogs',
    });
    const openbsd = await hints('openbsd');
    expect(openbsd).toMatchObject({
      vnconfig: 'part of the base system',
      'qemu-system-i386': 'doas pkg_add qemu',
      mtools: 'doas pkg_add mtools',
      mke2fs: 'doas pkg_add e2fsprogs',
    });
    expect(openbsd['grub-mkimage']).toMatch(/no GRUB 2 package.*GRUB legacy 0\.97.*build GRUB 2 from source/);
    // Linux's tools are not offered on a BSD.
    expect(openbsd).not.toHaveProperty('losetup');
  });

  it('reads /etc/os-release where it exists', async () => {
    expect(await readOsRelease('/nonexistent/os-release')).toEqual({});
    const fields = await readOsRelease();
    if (Object.keys(fields).length) expect(fields.ID).toBeTruthy();
  });
});
