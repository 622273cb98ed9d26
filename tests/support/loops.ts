/**
 * Helpers for tests that touch loop devices and mounts (docs/ARCHITECTURE.md, "Tests that touch
 * loop devices"): they only ever see, detach or unmount what is backed by (or mounted under) the
 * test's own temporary folder; they never run `losetup -D`, never write to a disk.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { missingTools, runTool, runToolOk } from './host';

/** Why loop-device tests cannot run here, or null. */
export function loopSkipReason(): string | null {
  if (process.platform !== 'linux') return 'loop-device tests run on Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'loop-device tests need root (CI runs as root)';
  if (!existsSync('/dev/loop-control')) return 'this kernel has no loop device support (/dev/loop-control)';
  return missingTools('losetup', 'mount', 'umount', 'mke2fs', 'e2fsck', 'debugfs');
}

/** A describe() title that says why it is skipped, since vitest's skipIf prints no reason. */
export function skipTitle(title: string, reason: string | null | false): string {
  return reason ? `${title} — skipped: ${reason}` : title;
}

/** Why a FAT *mount* cannot run here: the kernel needs its vfat driver (built in or as a module). */
export function vfatSkipReason(): string | null {
  const builtIn = readFileSync('/proc/filesystems', 'utf8')
    .split('\n')
    .some((line) => line.trim().split(/\s+/).pop() === 'vfat');
  if (builtIn) return null;
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const moduleDir = `/lib/modules/${release}/kernel/fs/fat`;
  const asModule = existsSync(moduleDir) && readdirSync(moduleDir).some((name) => name.startsWith('vfat.ko'));
  return asModule ? null : 'the kernel has no vfat filesystem (not in /proc/filesystems, no vfat module): FAT cannot be mounted here';
}

export interface LiveLoop {
  device: string;
  backingFile: string;
  offset: number;
  sizelimit: number;
}

/** `losetup --json --list`, as losetup prints it. */
export function liveLoops(): LiveLoop[] {
  const out = runToolOk('losetup', ['--json', '--list', '--output', 'NAME,BACK-FILE,OFFSET,SIZELIMIT']).stdout;
  if (!out.trim()) return [];
  // A device being torn down (autoclear, or another test's detach) can list no backing file.
  return (JSON.parse(out).loopdevices as { name: string; 'back-file': string | null; offset: number; sizelimit: number }[])
    .filter((d): d is typeof d & { 'back-file': string } => typeof d['back-file'] === 'string')
    .map((d) => ({
      device: d.name,
      backingFile: d['back-file'],
      offset: Number(d.offset),
      sizelimit: Number(d.sizelimit),
    }));
}

/** The loop devices whose backing file lives under `dir` (ours, and only ours). */
export function loopsUnder(dir: string): LiveLoop[] {
  const root = realpathSync(dir);
  return liveLoops().filter((l) => l.backingFile.startsWith(`${root}/`));
}

/**
 * loopsUnder, once the kernel has let go: `losetup -d` on a device that udev is still probing
 * only sets autoclear, and the device goes a moment later. Polls until none is left (or the
 * time is up) and returns what is there then.
 */
export async function settledLoopsUnder(dir: string, timeoutMs = 5000): Promise<LiveLoop[]> {
  const deadline = Date.now() + timeoutMs;
  let loops = loopsUnder(dir);
  while (loops.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    loops = loopsUnder(dir);
  }
  return loops;
}

/** Mount points under `dir`, from /proc/self/mounts (octal escapes decoded). */
export function mountsUnder(dir: string): string[] {
  const root = realpathSync(dir);
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((p): p is string => Boolean(p))
    .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p.startsWith(`${root}/`));
}

/** `losetup --find --show [args] IMAGE`, returning the device losetup printed. */
export function attachOwn(image: string, args: string[] = []): string {
  return runToolOk('losetup', ['--find', '--show', ...args, '--', image]).stdout.trim();
}

/**
 * Detaches `device` only if losetup still names `backingFile` as its backing file (the image's
 * path, or the exact string losetup listed, "… (deleted)" included).
 */
export function detachIfBackedBy(device: string, backingFile: string): void {
  // The JSON listing: `losetup -n -O BACK-FILE` would print a newline in a name as \x0a.
  const backing = liveLoops().find((l) => l.device === device)?.backingFile;
  const expected = existsSync(backingFile) ? realpathSync(backingFile) : backingFile;
  if (backing === expected || backing === backingFile) runTool('losetup', ['-d', device]);
}

/**
 * Releases whatever a test left under `dir`: unmounts mount points under it (deepest first), then
 * detaches loop devices whose backing file is under it. For afterEach/finally.
 */
export function releaseUnder(dir: string): void {
  if (!existsSync(dir)) return;
  runTool('sync', []);
  for (const mountPoint of mountsUnder(dir).sort((a, b) => b.length - a.length)) runTool('umount', ['--', mountPoint]);
  for (const loop of loopsUnder(dir)) detachIfBackedBy(loop.device, loop.backingFile);
}

/** The block device mounted at / (e.g. /dev/vda), when / is on one; the disk the tests must never touch. */
export function rootDiskDevice(): string | null {
  const source = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[1] === '/' && fields[0]?.startsWith('/dev/'))?.[0];
  if (source && existsSync(source) && statSync(source).isBlockDevice()) return source;
  return null;
}
