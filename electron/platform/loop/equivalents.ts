/**
 * "The equivalent shell lines": what a person would type to do what the app just did, for people
 * who want to learn the classic recipe or script it. On Linux that is the OSDev article's own
 * sequence (`losetup -o32256 /dev/loop0 c.img` … `losetup -d /dev/loop0`), its one-step
 * `mount -o loop,offset=…` and its /etc/fstab line; on the BSDs, the mdconfig/vnconfig sequence,
 * and the article's BSD floppy recipes whole (imageRecipeEquivalent).
 */
import type { ShellEquivalent } from '../../../shared/api/loops';
import type { FsType } from '../../../shared/fs/types';
import { fstabField, shellLine } from '../../../shared/util/shell-quote';
import type { HostCommand, LoopBackend, MountFamily } from './types';

export type { ShellEquivalent };

/** Where the device is and what of the image it shows. */
export interface AttachRecipe {
  image: string;
  /** The device the app used (the lines name it, as the article names /dev/loop0). */
  device: string;
  /** The partition's byte range; offset 0 and size null for the whole image. */
  offsetBytes: number;
  sizeBytes: number | null;
}

export interface MountRecipe extends AttachRecipe {
  dir: string;
  family: MountFamily;
  uid: number;
  gid: number;
}

const line = (command: HostCommand): string => shellLine([command.program, ...command.args]);

/** The article's form: `losetup -o OFFSET [--sizelimit SIZE] /dev/loopN IMAGE`, or the BSD attach. */
function attachLine(backend: LoopBackend, recipe: AttachRecipe): string {
  if (backend.system === 'linux') {
    const range = recipe.offsetBytes
      ? ['-o', String(recipe.offsetBytes), ...(recipe.sizeBytes !== null ? ['--sizelimit', String(recipe.sizeBytes)] : [])]
      : [];
    return shellLine(['losetup', ...range, recipe.device, recipe.image]);
  }
  const unit = Number(/(\d+)/.exec(backend.wholeDevice(recipe.device))?.[1] ?? 0);
  return line(backend.attach({ image: recipe.image }, unit));
}

function detachLine(backend: LoopBackend, recipe: AttachRecipe): string {
  return backend.system === 'linux'
    ? shellLine(['losetup', '-d', recipe.device])
    : line(backend.detach(backend.wholeDevice(recipe.device)));
}

export function attachEquivalent(backend: LoopBackend, recipe: AttachRecipe): ShellEquivalent {
  return { lines: [attachLine(backend, recipe), detachLine(backend, recipe)], oneStep: null, fstab: null };
}

/** Attach, format with the host's tool, detach. */
export function formatEquivalent(backend: LoopBackend, recipe: AttachRecipe, mkfs: HostCommand): ShellEquivalent {
  return { lines: [attachLine(backend, recipe), line(mkfs), detachLine(backend, recipe)], oneStep: null, fstab: null };
}

export function mountEquivalent(backend: LoopBackend, recipe: MountRecipe): ShellEquivalent {
  const mount = backend.mount({ device: recipe.device, dir: recipe.dir, family: recipe.family, uid: recipe.uid, gid: recipe.gid });
  const mountLine = shellLine([mount.program, ...mount.args.filter((a) => a !== '--')]);
  const lines = [
    attachLine(backend, recipe),
    mountLine,
    ...(recipe.family === 'ext2' ? [shellLine(['chown', `${recipe.uid}:${recipe.gid}`, recipe.dir])] : []),
    'sync',
    shellLine(['umount', recipe.dir]),
    detachLine(backend, recipe),
  ];
  if (backend.system !== 'linux') return { lines, oneStep: null, fstab: null };
  // The article's "Making it Easier": mount attaches the loop device itself.
  const type = recipe.family === 'ext2' ? 'ext2' : 'vfat';
  const options = ['loop'];
  if (recipe.offsetBytes) options.push(`offset=${recipe.offsetBytes}`);
  if (recipe.offsetBytes && recipe.sizeBytes !== null) options.push(`sizelimit=${recipe.sizeBytes}`);
  if (recipe.family === 'fat') options.push(`uid=${recipe.uid}`, `gid=${recipe.gid}`);
  return {
    lines,
    oneStep: shellLine(['mount', '-t', type, '-o', options.join(','), recipe.image, recipe.dir]),
    fstab: [fstabField(recipe.image), fstabField(recipe.dir), type, ['user', 'noauto', ...options].join(','), '0', '0'].join('  '),
  };
}

/** newfs_msdos' standard floppy formats (-f KiB), by image size: 5¼″ 360K/1.2M, 3½″ 720K/1.44M/2.88M. */
const FLOPPY_FORMATS: ReadonlyMap<number, number> = new Map([360, 720, 1200, 1440, 2880].map((kib) => [kib * 1024, kib]));

/** The standard floppy format of an image of this size, or undefined. */
export function floppyKiBOf(sizeBytes: number): number | undefined {
  return FLOPPY_FORMATS.get(sizeBytes);
}

/** An image made from scratch through a loop device: attach, format, mount, copy files in, release. */
export interface ImageRecipe {
  image: string;
  /** The whole device the attach makes (/dev/loop0, /dev/md0, /dev/vnd0c). */
  device: string;
  /** The image's size: a whole-image FAT12 volume of a floppy's size gets that floppy's format. */
  sizeBytes: number;
  /** MBR partition to format and mount; null for the whole image (a floppy). */
  partition: number | null;
  fs: FsType;
  dir: string;
  uid: number;
  gid: number;
  /** Files copied into the mounted volume, in order. */
  files: readonly string[];
}

/**
 * The OSDev article's floppy recipes as shell lines for this system: attach, newfs_msdos (or
 * mkfs.fat/mke2fs), mount, cp, sync, umount, detach — built by the same backend calls the helper
 * makes, so the lines are what the app would run (the article creates the file with dd first;
 * `loopstudio create` does that part).
 */
export function imageRecipeEquivalent(backend: LoopBackend, recipe: ImageRecipe): ShellEquivalent {
  const whole = recipe.partition === null;
  const volume = whole || backend.attachesByOffset ? recipe.device : backend.partitionDevice(recipe.device, recipe.partition!);
  const floppyKiB = whole && recipe.fs === 'fat12' && backend.system !== 'linux' ? floppyKiBOf(recipe.sizeBytes) : undefined;
  const family: MountFamily = recipe.fs === 'ext2' ? 'ext2' : 'fat';
  const attach = { image: recipe.image, device: recipe.device, offsetBytes: 0, sizeBytes: null };
  const mount = backend.mount({ device: volume, dir: recipe.dir, family, uid: recipe.uid, gid: recipe.gid });
  return {
    lines: [
      attachLine(backend, attach),
      line(backend.mkfs({ device: volume, fs: recipe.fs, ...(floppyKiB !== undefined ? { floppyKiB } : {}) })),
      shellLine([mount.program, ...mount.args.filter((a) => a !== '--')]),
      ...(family === 'ext2' ? [shellLine(['chown', `${recipe.uid}:${recipe.gid}`, recipe.dir])] : []),
      ...recipe.files.map((file) => shellLine(['cp', file, recipe.dir])),
      'sync',
      shellLine(['umount', recipe.dir]),
      detachLine(backend, attach),
    ],
    oneStep: null,
    fstab: null,
  };
}
