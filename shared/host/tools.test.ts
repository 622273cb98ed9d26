import { describe, expect, it } from 'vitest';
import { DISTRO_FAMILIES, HOST_TOOLS, distroFamily, installHint, isGrub2VersionNumber, parseToolVersion } from './tools';

describe('host tools', () => {
  it.each([
    ['losetup from util-linux 2.38.1', '2.38.1'],
    ['mkfs.fat 4.2 (2021-01-31)\nUsage: mkfs.fat [OPTIONS] TARGET [BLOCKS]', '4.2'],
    ['mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0', '1.47.0'],
    ['grub-mkimage (GRUB) 2.06-13+deb12u1', '2.06-13+deb12u1'],
    ['QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u16)\nCopyright (c) 2003-2022', '7.2.19'],
    ['qemu-system-x86_64: QEMU emulator version 8.2.0', '8.2.0'],
    ['GPT fdisk (sgdisk) version 1.0.9', '1.0.9'],
    ['sfdisk from util-linux 2.39.3.', '2.39.3'],
  ])('reads the version in %j', (output, version) => {
    expect(parseToolVersion(output)).toBe(version);
  });

  it('says null when there is no version', () => {
    expect(parseToolVersion('usage: mdconfig -a -t type ...')).toBeNull();
    expect(parseToolVersion('')).toBeNull();
  });

  it.each([
    ['linux', 'debian', '', 'debian'],
    ['linux', 'ubuntu', 'debian', 'debian'],
    ['linux', 'linuxmint', 'ubuntu debian', 'debian'],
    ['linux', 'fedora', '', 'fedora'],
    ['linux', 'rocky', 'rhel centos fedora', 'fedora'],
    ['linux', 'manjaro', 'arch', 'arch'],
    ['linux', 'opensuse-tumbleweed', 'opensuse suse', 'suse'],
    ['linux', 'alpine', '', 'alpine'],
    ['linux', 'nixos', '', 'other'],
    ['darwin', '', '', 'macos'],
    ['freebsd', '', '', 'freebsd'],
    ['openbsd', '', '', 'openbsd'],
    ['win32', '', '', 'windows'],
  ])('maps %s %s (like %s) to the %s packages', (os, id, like, family) => {
    expect(distroFamily(os, id, like)).toBe(family);
  });

  it('lists every tool the foundation names, each with an install hint on the systems that use it', () => {
    const names = HOST_TOOLS.map((t) => t.name);
    for (const required of [
      'losetup',
      'mdconfig',
      'vnconfig',
      'mount',
      'mkfs.fat',
      'mke2fs',
      'grub-mkimage',
      'qemu-system-i386',
      'qemu-system-x86_64',
      'sfdisk',
    ]) {
      expect(names).toContain(required);
    }
    const osFamily = { linux: 'debian', freebsd: 'freebsd', openbsd: 'openbsd', darwin: 'macos', win32: 'windows' } as const;
    for (const tool of HOST_TOOLS) {
      for (const os of tool.oses) {
        if (os === 'linux') expect(tool.install.debian, `${tool.name} on Debian`).toBeTruthy();
        else expect(tool.install[osFamily[os]], `${tool.name} on ${os}`).toBeTruthy();
      }
    }
  });

  it('gives a generic hint where it knows no package name', () => {
    const losetup = HOST_TOOLS.find((t) => t.name === 'losetup')!;
    expect(installHint(losetup, 'debian')).toBe('sudo apt install mount');
    expect(installHint(losetup, 'other')).toMatch(/^install losetup with your system’s package manager/);
    expect(DISTRO_FAMILIES).toContain('other');
  });
});

describe('programs that share a name with another package’s', () => {
  it('counts only GRUB 2’s grub-install (1.98 and up), not GRUB legacy’s 0.97', () => {
    expect(isGrub2VersionNumber('2.06-13+deb12u1')).toBe(true);
    expect(isGrub2VersionNumber('1.99')).toBe(true);
    expect(isGrub2VersionNumber('0.97')).toBe(false);
    const spec = HOST_TOOLS.find((t) => t.name === 'grub-install')!;
    expect(spec.accepts?.version('0.97')).toBe(false);
  });
});
