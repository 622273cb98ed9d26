/**
 * QEMU's command line for booting an image: a pure builder from a fully resolved spec, and the
 * host probes that resolve one (which qemu-system-* program, whether KVM is usable, where OVMF is).
 * Nothing here starts QEMU; electron/services/qemu.ts does, with the argument array built here.
 */
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { QemuArch, QemuCharTarget } from '../../shared/api/qemu';
import { qemuFloppyArgs, qemuHardDiskArgs } from '../../shared/disk/geometry';
import { LoopbackError } from '../../shared/errors';
import { HOST_TOOLS, installHint, type DistroFamily } from '../../shared/host/tools';
import { findExecutable, searchPath } from './host-tools';

export function qemuProgramName(arch: QemuArch): string {
  return `qemu-system-${arch}`;
}

/** The absolute path of qemu-system-ARCH, or HOST_TOOL_MISSING with this system's install command. */
export async function resolveQemuProgram(arch: QemuArch, family: DistroFamily, dirs: readonly string[] = searchPath()): Promise<string> {
  const name = qemuProgramName(arch);
  const path = await findExecutable(name, dirs);
  if (path) return path;
  const spec = HOST_TOOLS.find((tool) => tool.name === name);
  const hint = spec ? installHint(spec, family) : `install QEMU (${name}) with your system’s package manager`;
  throw new LoopbackError('HOST_TOOL_MISSING', `${name} is not installed. Install it: ${hint}`, { tool: name, installHint: hint });
}

/** UEFI firmware as QEMU loads it: one combined image (`-bios`), or code + a variable store (pflash). */
export type UefiFirmware = { kind: 'combined'; path: string } | { kind: 'split'; code: string; vars: string };

/** Everything a command line needs, decided: no defaults and no probing left. */
export interface QemuCommandSpec {
  /** The qemu-system-* program, as spawned (absolute, or a bare name for display). */
  program: string;
  drive?: { path: string; media: 'floppy' | 'disk' | 'cdrom' };
  /** `initrd`: QEMU's -initrd value, as initrdArg() builds it (a Linux initrd, or multiboot modules). */
  kernel?: { path: string; append?: string; initrd?: string };
  memoryMiB: number;
  cpus: number;
  serial: QemuCharTarget;
  debugcon?: QemuCharTarget;
  gdb?: { port: number; wait: boolean };
  /** `-d guest_errors`, logged to `logFile` (`-D`) or QEMU's stderr. */
  guestErrors?: { logFile?: string };
  noReboot: boolean;
  noShutdown: boolean;
  display: 'none' | 'window';
  accel: 'kvm' | 'tcg';
  firmware: { kind: 'bios' } | { kind: 'uefi'; files: UefiFirmware };
  debugExit: boolean;
  /** `-snapshot`: the guest's disk writes go to a temporary file; the image is only read. */
  snapshot?: boolean;
}

/** The gdb stub listens on the loopback interface only: `-s` means `tcp::1234`, every interface. */
export const GDB_LISTEN_HOST = '127.0.0.1';

/** isa-debug-exit at the port the OSDev wiki and most test kernels use; QEMU exits with (value << 1) | 1. */
export const DEBUG_EXIT_DEVICE = 'isa-debug-exit,iobase=0xf4,iosize=0x04';

/** The option value of `-serial` and `-debugcon`. QEMU takes `file:` up to the end, commas included. */
export function charTargetArg(target: QemuCharTarget): string {
  switch (target.kind) {
    case 'stdio':
      return 'stdio';
    case 'none':
      return 'none';
    case 'file':
      return `file:${target.path}`;
  }
}

/**
 * `-initrd` for a multiboot kernel: its modules, comma-separated, each "PATH ARGS" (QEMU's
 * multiboot loader ends the path at the first space and reads `,,` as a comma). For a Linux
 * kernel, the initrd's path as it is (QEMU opens it whole).
 */
export function initrdArg(modules: readonly { path: string; cmdline?: string }[]): string {
  return modules.map((m) => (m.cmdline?.trim() ? `${m.path} ${m.cmdline.trim()}` : m.path).replaceAll(',', ',,')).join(',');
}

/** An ISO image as the CD drive, where `-cdrom FILE` puts it (IDE secondary master), read as raw: `-boot order=d` starts it. */
export function qemuCdromArgs(path: string): { drive: string[] } {
  return { drive: ['-drive', `file=${driveValue(path)},format=raw,if=ide,index=2,media=cdrom`] };
}

/** A file name inside a QEMU `-drive` option list: commas are doubled (qemu-options: "file=…"). */
function driveValue(path: string): string {
  return path.replaceAll(',', ',,');
}

function uefiArgs(files: UefiFirmware): string[] {
  if (files.kind === 'combined') return ['-bios', files.path];
  // The variable store is opened with snapshot=on: UEFI may write its variables, but into a
  // temporary overlay, never into the distribution's template file.
  return [
    '-drive',
    `if=pflash,format=raw,unit=0,readonly=on,file=${driveValue(files.code)}`,
    '-drive',
    `if=pflash,format=raw,unit=1,snapshot=on,file=${driveValue(files.vars)}`,
  ];
}

/** The arguments after the program name, in a fixed order so the line reads the same every time. */
export function buildQemuArgs(spec: QemuCommandSpec): string[] {
  const args: string[] = ['-accel', spec.accel, '-m', String(spec.memoryMiB), '-smp', String(spec.cpus)];
  if (spec.firmware.kind === 'uefi') args.push(...uefiArgs(spec.firmware.files));
  if (spec.drive) {
    const drive =
      spec.drive.media === 'floppy'
        ? qemuFloppyArgs(spec.drive.path)
        : spec.drive.media === 'cdrom'
          ? qemuCdromArgs(spec.drive.path)
          : qemuHardDiskArgs(spec.drive.path);
    args.push(...drive.drive, '-boot', spec.drive.media === 'floppy' ? 'order=a' : spec.drive.media === 'cdrom' ? 'order=d' : 'order=c');
    if (spec.snapshot) args.push('-snapshot');
  }
  if (spec.kernel) {
    args.push('-kernel', spec.kernel.path);
    if (spec.kernel.append !== undefined) args.push('-append', spec.kernel.append);
    if (spec.kernel.initrd !== undefined) args.push('-initrd', spec.kernel.initrd);
  }
  if (spec.display === 'none') args.push('-display', 'none');
  args.push('-serial', charTargetArg(spec.serial));
  if (spec.debugcon && spec.debugcon.kind !== 'none') args.push('-debugcon', charTargetArg(spec.debugcon));
  if (spec.gdb) {
    args.push('-gdb', `tcp:${GDB_LISTEN_HOST}:${spec.gdb.port}`);
    if (spec.gdb.wait) args.push('-S');
  }
  if (spec.guestErrors) {
    args.push('-d', 'guest_errors');
    if (spec.guestErrors.logFile !== undefined) args.push('-D', spec.guestErrors.logFile);
  }
  if (spec.noReboot) args.push('-no-reboot');
  if (spec.noShutdown) args.push('-no-shutdown');
  if (spec.debugExit) args.push('-device', DEBUG_EXIT_DEVICE);
  return args;
}

// --- KVM ---

export interface KvmProbe {
  usable: boolean;
  /** Why, in words: shown next to the accelerator QEMU was given. */
  reason: string;
}

export interface KvmProbeOptions {
  device?: string;
  cpuinfo?: string;
  platform?: NodeJS.Platform;
  hostArch?: string;
}

/**
 * Whether QEMU can use KVM for an x86 guest: Linux on an x86 host, /dev/kvm a character device
 * we may open for reading and writing, and the CPU's virtualization extensions (vmx or svm)
 * visible. A /dev/kvm without those extensions exists in some VMs and hangs QEMU at start.
 */
export async function probeKvm(options: KvmProbeOptions = {}): Promise<KvmProbe> {
  const { device = '/dev/kvm', cpuinfo = '/proc/cpuinfo', platform = process.platform, hostArch = process.arch } = options;
  if (platform !== 'linux') return { usable: false, reason: `KVM is Linux’s; this is ${platform}` };
  if (hostArch !== 'x64' && hostArch !== 'ia32')
    return { usable: false, reason: `KVM runs x86 guests on x86 hosts only; this host is ${hostArch}` };
  try {
    const stats = await fs.stat(device);
    if (!stats.isCharacterDevice()) return { usable: false, reason: `${device} is not a device` };
  } catch {
    return { usable: false, reason: `${device} does not exist (no KVM module, or virtualization is off in the firmware)` };
  }
  try {
    await fs.access(device, constants.R_OK | constants.W_OK);
  } catch {
    return { usable: false, reason: `${device} is not writable by this user (add yourself to the kvm group)` };
  }
  const flags = await fs.readFile(cpuinfo, 'utf8').catch(() => '');
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(flags)) {
    return { usable: false, reason: `${device} exists, but the CPU shows no virtualization extensions (vmx/svm)` };
  }
  return { usable: true, reason: `${device} is usable` };
}

/** auto: KVM when usable, else TCG. kvm: KVM or an error saying why not. tcg: TCG. */
export function chooseAccelerator(request: 'auto' | 'kvm' | 'tcg', kvm: KvmProbe): { accel: 'kvm' | 'tcg'; reason: string } {
  if (request === 'tcg') return { accel: 'tcg', reason: 'TCG: asked for (no KVM)' };
  if (kvm.usable) return { accel: 'kvm', reason: `KVM: ${kvm.reason}` };
  if (request === 'kvm')
    throw new LoopbackError('HOST_TOOL_MISSING', `KVM was asked for but cannot be used: ${kvm.reason}`, { reason: kvm.reason });
  return { accel: 'tcg', reason: `TCG (emulation): ${kvm.reason}` };
}

// --- UEFI firmware (OVMF) ---

interface FirmwareCandidate {
  files: UefiFirmware;
  /** Who puts it there. */
  from: string;
}

const split = (code: string, vars: string, from: string): FirmwareCandidate => ({ files: { kind: 'split', code, vars }, from });
const combined = (path: string, from: string): FirmwareCandidate => ({ files: { kind: 'combined', path }, from });

/**
 * Where x86_64 OVMF lives, most specific first. Split code/vars pairs are preferred: they are
 * what current distributions ship and what QEMU's docs describe. Secure Boot builds
 * (`*.secboot.fd`, `*.ms.fd`) are left out: they need an SMM-enabled q35 machine.
 */
export const UEFI_FIRMWARE_CANDIDATES: readonly FirmwareCandidate[] = [
  split('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd', 'Debian 12+, Ubuntu 22.04+ (ovmf)'),
  split('/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd', 'older Debian and Ubuntu, Fedora links (ovmf, edk2-ovmf)'),
  split('/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/edk2/ovmf/OVMF_VARS.fd', 'Fedora, RHEL (edk2-ovmf)'),
  split('/usr/share/edk2/x64/OVMF_CODE.4m.fd', '/usr/share/edk2/x64/OVMF_VARS.4m.fd', 'Arch (edk2-ovmf)'),
  split('/usr/share/edk2/x64/OVMF_CODE.fd', '/usr/share/edk2/x64/OVMF_VARS.fd', 'older Arch (edk2-ovmf)'),
  split('/usr/share/edk2-ovmf/x64/OVMF_CODE.fd', '/usr/share/edk2-ovmf/x64/OVMF_VARS.fd', 'older Arch (edk2-ovmf)'),
  split('/usr/share/qemu/ovmf-x86_64-code.bin', '/usr/share/qemu/ovmf-x86_64-vars.bin', 'openSUSE (qemu-ovmf-x86_64)'),
  split('/usr/share/qemu/edk2-x86_64-code.fd', '/usr/share/qemu/edk2-i386-vars.fd', 'QEMU’s own firmware (Fedora, Alpine, source builds)'),
  split('/opt/homebrew/share/qemu/edk2-x86_64-code.fd', '/opt/homebrew/share/qemu/edk2-i386-vars.fd', 'Homebrew on Apple silicon (qemu)'),
  split(
    '/usr/local/share/qemu/edk2-x86_64-code.fd',
    '/usr/local/share/qemu/edk2-i386-vars.fd',
    'Homebrew on Intel Macs, /usr/local builds (qemu)',
  ),
  split(
    '/usr/local/share/edk2-qemu/QEMU_UEFI_CODE-x86_64.fd',
    '/usr/local/share/edk2-qemu/QEMU_UEFI_VARS-x86_64.fd',
    'FreeBSD (edk2-qemu-x64)',
  ),
  split('C:\\Program Files\\qemu\\share\\edk2-x86_64-code.fd', 'C:\\Program Files\\qemu\\share\\edk2-i386-vars.fd', 'QEMU for Windows'),
  combined('/usr/share/ovmf/OVMF.fd', 'Debian, Ubuntu (ovmf)'),
  combined('/usr/share/qemu/OVMF.fd', 'Ubuntu (ovmf)'),
  combined('/usr/share/ovmf/x64/OVMF.fd', 'older Arch (ovmf)'),
  combined('/usr/share/edk2/x64/OVMF.4m.fd', 'Arch (edk2-ovmf)'),
];

/** The package that puts OVMF in one of the places above, per package family. */
export const OVMF_INSTALL: Readonly<Partial<Record<DistroFamily, string>>> = {
  debian: 'sudo apt install ovmf',
  fedora: 'sudo dnf install edk2-ovmf',
  arch: 'sudo pacman -S edk2-ovmf',
  suse: 'sudo zypper install qemu-ovmf-x86_64',
  alpine: 'sudo apk add ovmf',
  macos: 'brew install qemu (it ships edk2-x86_64-code.fd)',
  freebsd: 'sudo pkg install edk2-qemu-x64',
  windows: 'reinstall QEMU for Windows with its firmware files (share\\edk2-x86_64-code.fd)',
};

export function ovmfInstallHint(family: DistroFamily): string {
  return OVMF_INSTALL[family] ?? 'install OVMF (the EDK II UEFI firmware for QEMU) with your system’s package manager';
}

async function isFile(path: string): Promise<boolean> {
  return fs.stat(path).then(
    (stats) => stats.isFile(),
    () => false,
  );
}

/**
 * The first OVMF found, or HOST_TOOL_MISSING naming the package for this system (and for the
 * others, in `details.installHints`). `root` relocates the search, for tests.
 */
export async function findUefiFirmware(family: DistroFamily, root = '/'): Promise<UefiFirmware & { from: string }> {
  const at = (path: string) => (root === '/' || /^[A-Za-z]:\\/.test(path) ? path : join(root, path));
  for (const candidate of UEFI_FIRMWARE_CANDIDATES) {
    const files = candidate.files;
    if (files.kind === 'combined') {
      if (await isFile(at(files.path))) return { kind: 'combined', path: at(files.path), from: candidate.from };
    } else if ((await isFile(at(files.code))) && (await isFile(at(files.vars)))) {
      return { kind: 'split', code: at(files.code), vars: at(files.vars), from: candidate.from };
    }
  }
  const hint = ovmfInstallHint(family);
  throw new LoopbackError(
    'HOST_TOOL_MISSING',
    `UEFI firmware (OVMF) is not installed, so QEMU cannot boot with UEFI. Install it: ${hint} — or boot with the BIOS (leave out --uefi).`,
    {
      tool: 'OVMF',
      installHint: hint,
      installHints: { ...OVMF_INSTALL },
      lookedIn: UEFI_FIRMWARE_CANDIDATES.map((c) => (c.files.kind === 'combined' ? at(c.files.path) : at(c.files.code))),
    },
  );
}
