/**
 * The QEMU command-line builder option by option, and the host probes behind it (KVM, OVMF,
 * the qemu-system-* program) against made-up hosts in temporary folders.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/support/host';
import {
  buildQemuArgs,
  chooseAccelerator,
  findUefiFirmware,
  initrdArg,
  ovmfInstallHint,
  probeKvm,
  qemuProgramName,
  resolveQemuProgram,
  type QemuCommandSpec,
} from './qemu';

const base: QemuCommandSpec = {
  program: 'qemu-system-i386',
  drive: { path: '/img/disk.img', media: 'disk' },
  memoryMiB: 64,
  cpus: 1,
  serial: { kind: 'stdio' },
  noReboot: true,
  noShutdown: false,
  display: 'none',
  accel: 'tcg',
  firmware: { kind: 'bios' },
  debugExit: false,
};
const COMMON_HEAD = ['-accel', 'tcg', '-m', '64', '-smp', '1'];

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('loopstudio-qemu-platform-')));
afterAll(() => cleanup());

describe('buildQemuArgs', () => {
  it('boots a hard disk image by default: IDE, raw, boot from C, no window, serial on stdio, no reboot', () => {
    expect(buildQemuArgs(base)).toEqual([
      ...COMMON_HEAD,
      '-drive',
      'file=/img/disk.img,format=raw,if=ide',
      '-boot',
      'order=c',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
    ]);
  });

  it('attaches a floppy as if=floppy and boots from A', () => {
    const args = buildQemuArgs({ ...base, drive: { path: '/img/fd.img', media: 'floppy' } });
    expect(args).toEqual([
      ...COMMON_HEAD,
      '-drive',
      'file=/img/fd.img,format=raw,if=floppy',
      '-boot',
      'order=a',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
    ]);
  });

  it('doubles commas in the drive’s file name but not in file: targets (QEMU reads those to the end)', () => {
    const args = buildQemuArgs({
      ...base,
      drive: { path: '/img/a,b.img', media: 'disk' },
      serial: { kind: 'file', path: '/logs/s,1.txt' },
      debugcon: { kind: 'file', path: '/logs/d,1.txt' },
    });
    expect(args).toContain('file=/img/a,,b.img,format=raw,if=ide');
    expect(args.slice(args.indexOf('-serial'), args.indexOf('-serial') + 2)).toEqual(['-serial', 'file:/logs/s,1.txt']);
    expect(args.slice(args.indexOf('-debugcon'), args.indexOf('-debugcon') + 2)).toEqual(['-debugcon', 'file:/logs/d,1.txt']);
  });

  it('turns every option into its exact arguments, in a fixed order', () => {
    const args = buildQemuArgs({
      program: 'qemu-system-x86_64',
      drive: { path: '/img/disk.img', media: 'disk' },
      kernel: { path: '/boot/kernel.elf', append: 'console=ttyS0 quiet' },
      memoryMiB: 512,
      cpus: 4,
      serial: { kind: 'file', path: '/logs/serial.txt' },
      debugcon: { kind: 'stdio' },
      gdb: { port: 1234, wait: true },
      guestErrors: { logFile: '/logs/qemu.log' },
      noReboot: true,
      noShutdown: true,
      display: 'none',
      accel: 'kvm',
      firmware: { kind: 'bios' },
      debugExit: true,
    });
    expect(args).toEqual([
      '-accel',
      'kvm',
      '-m',
      '512',
      '-smp',
      '4',
      '-drive',
      'file=/img/disk.img,format=raw,if=ide',
      '-boot',
      'order=c',
      '-kernel',
      '/boot/kernel.elf',
      '-append',
      'console=ttyS0 quiet',
      '-display',
      'none',
      '-serial',
      'file:/logs/serial.txt',
      '-debugcon',
      'stdio',
      '-gdb',
      'tcp:127.0.0.1:1234',
      '-S',
      '-d',
      'guest_errors',
      '-D',
      '/logs/qemu.log',
      '-no-reboot',
      '-no-shutdown',
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x04',
    ]);
  });

  it('boots a kernel alone, with no drive and no boot order', () => {
    const { drive: _drive, ...noDrive } = base;
    expect(buildQemuArgs({ ...noDrive, kernel: { path: '/k.elf' } })).toEqual([
      ...COMMON_HEAD,
      '-kernel',
      '/k.elf',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
    ]);
  });

  it('gives the kernel its -initrd: a Linux initrd, or multiboot modules "FILE ARGS", commas doubled', () => {
    const { drive: _drive, ...noDrive } = base;
    const modules = initrdArg([{ path: '/m/a.txt', cmdline: ' first,arg ' }, { path: '/m/b,c' }]);
    expect(modules).toBe('/m/a.txt first,,arg,/m/b,,c');
    expect(buildQemuArgs({ ...noDrive, kernel: { path: '/k.elf', append: 'x', initrd: modules } })).toEqual([
      ...COMMON_HEAD,
      '-kernel',
      '/k.elf',
      '-append',
      'x',
      '-initrd',
      '/m/a.txt first,,arg,/m/b,,c',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-no-reboot',
    ]);
  });

  it('gdb without waiting, guest errors to stderr, serial nowhere, a window, reboots allowed', () => {
    const args = buildQemuArgs({
      ...base,
      gdb: { port: 4321, wait: false },
      guestErrors: {},
      serial: { kind: 'none' },
      display: 'window',
      noReboot: false,
    });
    expect(args).toEqual([
      ...COMMON_HEAD,
      '-drive',
      'file=/img/disk.img,format=raw,if=ide',
      '-boot',
      'order=c',
      '-serial',
      'none',
      '-gdb',
      'tcp:127.0.0.1:4321',
      '-d',
      'guest_errors',
    ]);
  });

  it('leaves out a debug console that goes nowhere', () => {
    expect(buildQemuArgs({ ...base, debugcon: { kind: 'none' } })).not.toContain('-debugcon');
  });

  it('loads split OVMF as two pflash drives, the variables as a throwaway snapshot; a combined one with -bios', () => {
    const split = buildQemuArgs({
      ...base,
      firmware: { kind: 'uefi', files: { kind: 'split', code: '/fw/CODE,1.fd', vars: '/fw/VARS.fd' } },
    });
    expect(split.slice(6, 10)).toEqual([
      '-drive',
      'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE,,1.fd',
      '-drive',
      'if=pflash,format=raw,unit=1,snapshot=on,file=/fw/VARS.fd',
    ]);
    const combined = buildQemuArgs({ ...base, firmware: { kind: 'uefi', files: { kind: 'combined', path: '/usr/share/ovmf/OVMF.fd' } } });
    expect(combined.slice(6, 8)).toEqual(['-bios', '/usr/share/ovmf/OVMF.fd']);
  });
});

describe('KVM: used only when /dev/kvm is usable', () => {
  const cpuinfo = (flags: string) => {
    const path = join(dir, `cpuinfo-${flags.replace(/\W/g, '') || 'none'}`);
    writeFileSync(path, `processor\t: 0\nflags\t\t: fpu vme ${flags} sse2\n`);
    return path;
  };

  it('is not usable where the device is missing, is not a device, or the host is not Linux on x86', async () => {
    const withVmx = cpuinfo('vmx');
    expect(await probeKvm({ device: join(dir, 'no-such-kvm'), cpuinfo: withVmx, platform: 'linux', hostArch: 'x64' })).toMatchObject({
      usable: false,
      reason: expect.stringMatching(/does not exist/),
    });
    const plainFile = join(dir, 'fake-kvm');
    writeFileSync(plainFile, '');
    expect(await probeKvm({ device: plainFile, cpuinfo: withVmx, platform: 'linux', hostArch: 'x64' })).toMatchObject({
      usable: false,
      reason: expect.stringMatching(/not a device/),
    });
    expect((await probeKvm({ platform: 'darwin' })).usable).toBe(false);
    expect((await probeKvm({ platform: 'linux', hostArch: 'arm64' })).usable).toBe(false);
  });

  // /dev/null stands in for /dev/kvm: a character device anyone may open for reading and writing.
  it('needs the CPU’s virtualization extensions besides the device (a VM can have /dev/kvm without them)', async () => {
    const noExtensions = await probeKvm({ device: '/dev/null', cpuinfo: cpuinfo(''), platform: 'linux', hostArch: 'x64' });
    expect(noExtensions).toMatchObject({ usable: false, reason: expect.stringMatching(/vmx\/svm/) });
    expect(await probeKvm({ device: '/dev/null', cpuinfo: cpuinfo('vmx'), platform: 'linux', hostArch: 'x64' })).toEqual({
      usable: true,
      reason: '/dev/null is usable',
    });
    expect((await probeKvm({ device: '/dev/null', cpuinfo: cpuinfo('svm'), platform: 'linux', hostArch: 'x64' })).usable).toBe(true);
  });

  it('auto picks KVM only when usable; kvm insists (with the reason); tcg never uses it', () => {
    const usable = { usable: true, reason: '/dev/kvm is usable' };
    const unusable = { usable: false, reason: '/dev/kvm does not exist' };
    expect(chooseAccelerator('auto', usable)).toEqual({ accel: 'kvm', reason: 'KVM: /dev/kvm is usable' });
    expect(chooseAccelerator('auto', unusable)).toEqual({ accel: 'tcg', reason: 'TCG (emulation): /dev/kvm does not exist' });
    expect(chooseAccelerator('tcg', usable).accel).toBe('tcg');
    expect(() => chooseAccelerator('kvm', unusable)).toThrow(
      expect.objectContaining({ code: 'HOST_TOOL_MISSING', message: expect.stringContaining('/dev/kvm does not exist') }),
    );
  });
});

describe('UEFI firmware (OVMF)', () => {
  const host = (name: string, files: string[]) => {
    const root = join(dir, name);
    for (const file of files) {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), 'firmware');
    }
    return root;
  };

  it('finds Debian’s split 4M code and variables', async () => {
    const root = host('debian', ['usr/share/OVMF/OVMF_CODE_4M.fd', 'usr/share/OVMF/OVMF_VARS_4M.fd', 'usr/share/ovmf/OVMF.fd']);
    expect(await findUefiFirmware('debian', root)).toMatchObject({
      kind: 'split',
      code: join(root, 'usr/share/OVMF/OVMF_CODE_4M.fd'),
      vars: join(root, 'usr/share/OVMF/OVMF_VARS_4M.fd'),
    });
  });

  it('finds Fedora’s edk2 pair and Homebrew’s QEMU firmware', async () => {
    const fedora = host('fedora', ['usr/share/edk2/ovmf/OVMF_CODE.fd', 'usr/share/edk2/ovmf/OVMF_VARS.fd']);
    expect(await findUefiFirmware('fedora', fedora)).toMatchObject({
      kind: 'split',
      code: join(fedora, 'usr/share/edk2/ovmf/OVMF_CODE.fd'),
    });
    const brew = host('brew', ['opt/homebrew/share/qemu/edk2-x86_64-code.fd', 'opt/homebrew/share/qemu/edk2-i386-vars.fd']);
    expect(await findUefiFirmware('macos', brew)).toMatchObject({
      kind: 'split',
      vars: join(brew, 'opt/homebrew/share/qemu/edk2-i386-vars.fd'),
    });
  });

  it('uses a combined image when no complete pair exists (a code file without its variables does not count)', async () => {
    const root = host('combined', ['usr/share/OVMF/OVMF_CODE_4M.fd', 'usr/share/ovmf/OVMF.fd']);
    expect(await findUefiFirmware('debian', root)).toMatchObject({ kind: 'combined', path: join(root, 'usr/share/ovmf/OVMF.fd') });
  });

  it('says which package to install, for this system first, when there is none', async () => {
    const empty = host('empty', []);
    const expectations: [Parameters<typeof ovmfInstallHint>[0], string][] = [
      ['debian', 'sudo apt install ovmf'],
      ['fedora', 'sudo dnf install edk2-ovmf'],
      ['arch', 'sudo pacman -S edk2-ovmf'],
      ['suse', 'sudo zypper install qemu-ovmf-x86_64'],
      ['macos', 'brew install qemu'],
    ];
    for (const [family, command] of expectations) {
      const error = await findUefiFirmware(family, empty).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'HOST_TOOL_MISSING', message: expect.stringContaining(`UEFI firmware (OVMF) is not installed`) });
      expect((error as Error).message).toContain(command);
      expect((error as { details: { installHints: Record<string, string> } }).details.installHints.fedora).toBe(
        'sudo dnf install edk2-ovmf',
      );
    }
    expect(ovmfInstallHint('other')).toMatch(/install OVMF/);
  });
});

describe('the qemu-system program', () => {
  it('is qemu-system-i386 or -x86_64, found on the search path or reported with the install command', async () => {
    expect(qemuProgramName('i386')).toBe('qemu-system-i386');
    expect(qemuProgramName('x86_64')).toBe('qemu-system-x86_64');
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'qemu-system-x86_64'), '#!/bin/sh\n', { mode: 0o755 });
    expect(await resolveQemuProgram('x86_64', 'debian', [bin])).toBe(join(bin, 'qemu-system-x86_64'));
    await expect(resolveQemuProgram('i386', 'debian', [bin])).rejects.toMatchObject({
      code: 'HOST_TOOL_MISSING',
      message: 'qemu-system-i386 is not installed. Install it: sudo apt install qemu-system-x86',
    });
  });
});
