/**
 * The loop backend for the system we run on: Linux losetup, FreeBSD mdconfig (5 and later) or
 * vnconfig (4), OpenBSD vnconfig. macOS and Windows have none here (hdiutil / diskpart would be
 * other backends): the rootless engine covers them.
 */
import { release } from 'node:os';
import { LoopbackError } from '../../../shared/errors';
import { freebsd4Backend, freebsdBackendFor, openbsdBackend } from './bsd';
import { linuxBackend } from './linux';
import type { LoopBackend } from './types';

export type {
  AttachSpec,
  HostCommand,
  LoopBackend,
  LoopDeviceEntry,
  LoopSystem,
  MkfsSpec,
  MountEntry,
  MountFamily,
  MountSpec,
} from './types';
export { linuxBackend, parseProcMounts, partxAdd, LOSETUP_COLUMNS } from './linux';
export {
  freebsdBackend,
  freebsdBackendFor,
  freebsd4Backend,
  openbsdBackend,
  firstFreeUnit,
  mdconfigListingFor,
  mdconfigShowsFaithfully,
  parseBsdMountOutput,
  parseFreebsdMountOutput,
  parseMdconfigList,
  parseMdconfigNames,
  parseOpenbsdMountOutput,
  parseVnconfigChosen,
  parseVnconfigList,
  VND_NAME_MAX,
  type MdconfigListing,
} from './bsd';
export {
  attachEquivalent,
  floppyKiBOf,
  formatEquivalent,
  imageRecipeEquivalent,
  mountEquivalent,
  type AttachRecipe,
  type ImageRecipe,
  type MountRecipe,
  type ShellEquivalent,
} from './equivalents';

export function loopBackendFor(platform: NodeJS.Platform | string, osRelease = ''): LoopBackend | null {
  if (platform === 'linux') return linuxBackend;
  if (platform === 'openbsd') return openbsdBackend;
  // The release decides the tool (vnconfig before 5) and which columns mdconfig -l -v prints.
  if (platform === 'freebsd') return Number.parseInt(osRelease, 10) < 5 ? freebsd4Backend : freebsdBackendFor(osRelease);
  return null;
}

/** This system's backend, or HOST_TOOL_MISSING saying that the loop engine does not exist here. */
export function currentLoopBackend(): LoopBackend {
  const backend = loopBackendFor(process.platform, release());
  if (!backend) {
    throw new LoopbackError(
      'HOST_TOOL_MISSING',
      `The loop engine needs Linux, FreeBSD or OpenBSD; on ${process.platform} use the rootless engine (create, format, put …), which needs no loop device`,
      { platform: process.platform },
    );
  }
  return backend;
}
