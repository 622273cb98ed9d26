/**
 * The host programs Loopback Studio can use, and how to get each on every system we support.
 *
 * Pure data and parsing: `electron/platform/host-tools.ts` does the probing (PATH lookup and
 * running the version command); the renderer and the CLI show the result.
 */

export const HOST_OSES = ['linux', 'freebsd', 'openbsd', 'darwin', 'win32'] as const;
export type HostOs = (typeof HOST_OSES)[number];

/** Package families whose package names we know. `other` gets a generic hint. */
export const DISTRO_FAMILIES = ['debian', 'fedora', 'arch', 'suse', 'alpine', 'macos', 'freebsd', 'openbsd', 'windows', 'other'] as const;
export type DistroFamily = (typeof DISTRO_FAMILIES)[number];

export type ToolRole = 'loop' | 'mount' | 'format' | 'partition' | 'boot' | 'run' | 'verify';

export interface HostToolSpec {
  /** The name people know the program by. */
  name: string;
  /** Executable names to look for, in order (Fedora and openSUSE call GRUB's tools grub2-*). */
  executables: readonly string[];
  role: ToolRole;
  /** What Loopback Studio uses it for, in one line. */
  purpose: string;
  /** Arguments that make it print its version; absent for tools with no version flag (BSD base). */
  versionArgs?: readonly string[];
  /** Systems where this tool is the one the app uses (e.g. losetup on Linux, mdconfig on FreeBSD). */
  oses: readonly HostOs[];
  /** How to install it, by package family. A family missing here gets the generic hint. */
  install: Partial<Record<DistroFamily, string>>;
  /**
   * For programs whose name another package also uses: whether the version found is the one we
   * need (Debian's grub-legacy ships a /usr/sbin/grub-install 0.97 that cannot install GRUB 2).
   */
  accepts?: { version: (version: string) => boolean; otherwise: string };
}

/** GRUB 2 calls itself 1.98 and up (1.99, 2.00 …); GRUB legacy is 0.9x. */
export function isGrub2VersionNumber(version: string): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  return major >= 2 || (major === 1 && minor >= 98);
}

const BASE_SYSTEM = 'part of the base system';

export const HOST_TOOLS: readonly HostToolSpec[] = [
  {
    name: 'losetup',
    executables: ['losetup'],
    role: 'loop',
    purpose: 'attach an image (or a partition of it, by offset) to a loop device',
    versionArgs: ['--version'],
    oses: ['linux'],
    install: {
      debian: 'sudo apt install mount',
      fedora: 'sudo dnf install util-linux',
      arch: 'sudo pacman -S util-linux',
      suse: 'sudo zypper install util-linux',
      alpine: 'sudo apk add losetup',
    },
  },
  {
    name: 'mdconfig',
    executables: ['mdconfig'],
    role: 'loop',
    purpose: 'attach an image to a memory disk (md) device, FreeBSD 5 and later',
    oses: ['freebsd'],
    install: { freebsd: BASE_SYSTEM },
  },
  {
    name: 'vnconfig',
    executables: ['vnconfig'],
    role: 'loop',
    purpose: 'attach an image to a vnode disk (vnd) device, OpenBSD and FreeBSD 4',
    oses: ['openbsd'],
    install: { openbsd: BASE_SYSTEM },
  },
  {
    name: 'mount',
    executables: ['mount'],
    role: 'mount',
    purpose: 'mount an attached image so the system’s own tools can use it',
    versionArgs: ['--version'],
    oses: ['linux', 'freebsd', 'openbsd'],
    install: {
      debian: 'sudo apt install mount',
      fedora: 'sudo dnf install util-linux',
      arch: 'sudo pacman -S util-linux',
      suse: 'sudo zypper install util-linux',
      alpine: 'sudo apk add util-linux-misc',
      freebsd: BASE_SYSTEM,
      openbsd: BASE_SYSTEM,
    },
  },
  {
    name: 'mkfs.fat',
    executables: ['mkfs.fat', 'mkdosfs'],
    role: 'format',
    purpose: 'format FAT12/16/32 with the host’s tool (loop engine, and benchmarks)',
    versionArgs: ['--help'],
    oses: ['linux', 'darwin'],
    install: {
      debian: 'sudo apt install dosfstools',
      fedora: 'sudo dnf install dosfstools',
      arch: 'sudo pacman -S dosfstools',
      suse: 'sudo zypper install dosfstools',
      alpine: 'sudo apk add dosfstools',
      macos: 'brew install dosfstools',
    },
  },
  {
    name: 'newfs_msdos',
    executables: ['newfs_msdos'],
    role: 'format',
    purpose: 'format FAT with the host’s tool on the BSDs (loop engine)',
    oses: ['freebsd', 'openbsd'],
    install: { freebsd: BASE_SYSTEM, openbsd: BASE_SYSTEM },
  },
  {
    name: 'mtools',
    executables: ['mtools', 'mcopy'],
    role: 'format',
    purpose: 'copy files into FAT volumes in the scripts `loopstudio build --print-commands` prints (mcopy, mmd)',
    versionArgs: ['--version'],
    oses: ['linux', 'freebsd', 'openbsd', 'darwin'],
    install: {
      debian: 'sudo apt install mtools',
      fedora: 'sudo dnf install mtools',
      arch: 'sudo pacman -S mtools',
      suse: 'sudo zypper install mtools',
      alpine: 'sudo apk add mtools',
      macos: 'brew install mtools',
      freebsd: 'sudo pkg install mtools',
      openbsd: 'doas pkg_add mtools',
    },
  },
  {
    name: 'mke2fs',
    executables: ['mke2fs'],
    role: 'format',
    purpose: 'format ext2 with the host’s tool (loop engine, and benchmarks)',
    versionArgs: ['-V'],
    oses: ['linux', 'freebsd', 'openbsd', 'darwin'],
    install: {
      debian: 'sudo apt install e2fsprogs',
      fedora: 'sudo dnf install e2fsprogs',
      arch: 'sudo pacman -S e2fsprogs',
      suse: 'sudo zypper install e2fsprogs',
      alpine: 'sudo apk add e2fsprogs',
      macos: 'brew install e2fsprogs',
      freebsd: 'sudo pkg install e2fsprogs',
      openbsd: 'doas pkg_add e2fsprogs',
    },
  },
  {
    name: 'grub-mkimage',
    executables: ['grub-mkimage', 'grub2-mkimage'],
    role: 'boot',
    purpose: 'build GRUB 2’s core image for the MBR gap (needs the i386-pc modules too)',
    versionArgs: ['--version'],
    oses: ['linux', 'freebsd', 'openbsd', 'darwin'],
    install: {
      debian: 'sudo apt install grub-common grub-pc-bin',
      fedora: 'sudo dnf install grub2-tools grub2-pc-modules',
      arch: 'sudo pacman -S grub',
      suse: 'sudo zypper install grub2 grub2-i386-pc',
      alpine: 'sudo apk add grub grub-bios',
      macos: 'brew install i686-elf-grub',
      // Ports' sysutils/grub2-pcbsd: GRUB 2.02 for PC BIOS, into /usr/local/lib/grub/i386-pc.
      freebsd: 'sudo pkg install grub2-pcbsd',
      // OpenBSD's ports have GRUB legacy only (the grub package, 0.97).
      openbsd:
        'OpenBSD has no GRUB 2 package (its grub package is GRUB legacy 0.97): build GRUB 2 from source (gmake; --target=i386 --with-platform=pc) into /usr/local, or make the GRUB step on another system',
    },
  },
  {
    name: 'grub-install',
    executables: ['grub-install', 'grub2-install'],
    role: 'boot',
    purpose: 'install GRUB 2 onto a loop device (loop engine only; the rootless engine needs grub-mkimage)',
    versionArgs: ['--version'],
    accepts: { version: isGrub2VersionNumber, otherwise: 'this grub-install is GRUB legacy’s, which cannot install GRUB 2' },
    oses: ['linux'],
    install: {
      // Debian: grub-install is in grub2-common, which conflicts with grub-legacy.
      debian: 'sudo apt install grub2-common grub-pc-bin (grub2-common replaces grub-legacy)',
      fedora: 'sudo dnf install grub2-tools grub2-pc-modules',
      arch: 'sudo pacman -S grub',
      suse: 'sudo zypper install grub2 grub2-i386-pc',
      alpine: 'sudo apk add grub grub-bios',
    },
  },
  {
    name: 'qemu-system-i386',
    executables: ['qemu-system-i386'],
    role: 'run',
    purpose: 'boot the image in a 32-bit PC (Launch in QEMU)',
    versionArgs: ['--version'],
    oses: ['linux', 'freebsd', 'openbsd', 'darwin', 'win32'],
    install: {
      debian: 'sudo apt install qemu-system-x86',
      fedora: 'sudo dnf install qemu-system-x86',
      arch: 'sudo pacman -S qemu-system-x86',
      suse: 'sudo zypper install qemu-x86',
      alpine: 'sudo apk add qemu-system-i386',
      macos: 'brew install qemu',
      freebsd: 'sudo pkg install qemu',
      openbsd: 'doas pkg_add qemu',
      windows: 'winget install SoftwareFreedomConservancy.QEMU',
    },
  },
  {
    name: 'qemu-system-x86_64',
    executables: ['qemu-system-x86_64'],
    role: 'run',
    purpose: 'boot the image in a 64-bit PC (Launch in QEMU)',
    versionArgs: ['--version'],
    oses: ['linux', 'freebsd', 'openbsd', 'darwin', 'win32'],
    install: {
      debian: 'sudo apt install qemu-system-x86',
      fedora: 'sudo dnf install qemu-system-x86',
      arch: 'sudo pacman -S qemu-system-x86',
      suse: 'sudo zypper install qemu-x86',
      alpine: 'sudo apk add qemu-system-x86_64',
      macos: 'brew install qemu',
      freebsd: 'sudo pkg install qemu',
      openbsd: 'doas pkg_add qemu',
      windows: 'winget install SoftwareFreedomConservancy.QEMU',
    },
  },
  {
    name: 'sfdisk',
    executables: ['sfdisk'],
    role: 'partition',
    purpose: 'check the partition tables we write, and script them (--print-commands)',
    versionArgs: ['--version'],
    oses: ['linux'],
    install: {
      debian: 'sudo apt install fdisk',
      fedora: 'sudo dnf install util-linux',
      arch: 'sudo pacman -S util-linux',
      suse: 'sudo zypper install util-linux',
      alpine: 'sudo apk add sfdisk',
    },
  },
];

export type ToolStatus = {
  name: string;
  role: ToolRole;
  purpose: string;
  /** False where another tool does this job on this system (mdconfig on Linux, say). */
  applicable: boolean;
  found: boolean;
  /** Absolute path of the executable found, or null. */
  path: string | null;
  /** Version as the tool prints it, or null when it has no version flag or did not say. */
  version: string | null;
  /** The install command for this system, or a generic sentence where we know no package name. */
  installHint: string;
  /** Why a program that is there does not count as found (a same-named program of another package). */
  note?: string;
};

export interface HostToolsReport {
  os: HostOs | 'other';
  family: DistroFamily;
  /** e.g. "Debian GNU/Linux 12 (bookworm)", from /etc/os-release where there is one. */
  osName: string;
  tools: ToolStatus[];
}

/** Maps /etc/os-release's ID and ID_LIKE (or the OS itself) to a package family. */
export function distroFamily(os: string, osReleaseId = '', osReleaseIdLike = ''): DistroFamily {
  if (os === 'darwin') return 'macos';
  if (os === 'freebsd') return 'freebsd';
  if (os === 'openbsd') return 'openbsd';
  if (os === 'win32') return 'windows';
  if (os !== 'linux') return 'other';
  const ids = [osReleaseId, ...osReleaseIdLike.split(/\s+/)].map((s) => s.toLowerCase());
  const known: [string[], DistroFamily][] = [
    [['debian', 'ubuntu', 'linuxmint', 'pop', 'raspbian'], 'debian'],
    [['fedora', 'rhel', 'centos', 'rocky', 'almalinux'], 'fedora'],
    [['arch', 'manjaro', 'endeavouros'], 'arch'],
    [['suse', 'opensuse', 'opensuse-leap', 'opensuse-tumbleweed', 'sles'], 'suse'],
    [['alpine'], 'alpine'],
  ];
  for (const id of ids) {
    for (const [names, family] of known) if (names.includes(id)) return family;
  }
  return 'other';
}

export function installHint(spec: HostToolSpec, family: DistroFamily): string {
  return spec.install[family] ?? `install ${spec.name} with your system’s package manager (it provides: ${spec.purpose})`;
}

/**
 * Pulls a version out of what a tool printed: the first dotted number and its suffix
 * ("losetup from util-linux 2.38.1" → "2.38.1", "grub-mkimage (GRUB) 2.06-13+deb12u1" → "2.06-13+deb12u1").
 */
export function parseToolVersion(output: string): string | null {
  const match = /(?:^|[\s(v])(\d+\.\d+(?:[.\-+~][0-9A-Za-z.+~-]*)?)/.exec(output);
  return match?.[1]?.replace(/[.,;:]+$/, '') ?? null;
}
