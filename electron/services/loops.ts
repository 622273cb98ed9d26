/**
 * The loop engine's services: attach an image (or one partition of it) to a loop device, mount it
 * for the user, unmount, detach, format with the host's mkfs and install GRUB with grub-install —
 * each user action one batch for the privileged helper (one password prompt), recorded in the
 * journal before it runs, checked against the live system after. At start the app finds what a
 * crashed run left behind (its own only: mounts under its mount root, loop devices whose backing
 * file is in the journal) and offers to release it; on quit it releases what it made.
 *
 * LoopService is the façade over three parts: loops-attach.ts (the image, the attach step,
 * attach, detach, format), loops-mount.ts (mount, unmount, grub-install) and loops-ledger.ts (the
 * journal against the live system, running batches, leftovers and their release).
 */
import { release } from 'node:os';
import type { LoopActionResult, LoopEntry, LoopsState, ShellEquivalent } from '../../shared/api/loops';
import type { BootMenu } from '../../shared/boot/menu';
import { LoopbackError } from '../../shared/errors';
import type { FsType } from '../../shared/fs/types';
import { loopBackendFor } from '../platform/loop/index';
import type { LoopBackend } from '../platform/loop/types';
import { runPrivileged, type HelperOutcome } from '../privileged/elevate';
import type { HelperRequest } from '../privileged/request';
import { checkGrub2Menu, hasGrubCfg, writeGrub2Menu } from './bootloaders';
import { defaultStateDir, LoopJournal } from './loop-journal';
import { LoopDevices, type AttachOptions, type LoopFormatOptions, type LoopFormatResult } from './loops-attach';
import { LoopLedger } from './loops-ledger';
import { defaultMountRoot, LoopMounts, type MountOptions } from './loops-mount';
import { describeVolume } from './volumes';

export type { AttachOptions, LoopFormatOptions, LoopFormatResult } from './loops-attach';
export { defaultMountRoot, mountName, type MountOptions } from './loops-mount';

export interface LoopServiceOptions {
  shell: 'electron' | 'web' | 'cli';
  stateDir?: string;
  mountRoot?: string;
  /** Called with the new state after every change (the contract's loopsChanged event). */
  onChange?: (state: LoopsState) => void;
  /** Runs a request as root (default: elevate.ts's runPrivileged). */
  privileged?: (request: HelperRequest) => Promise<HelperOutcome>;
  /** The system's backend (default: this system's). */
  backend?: LoopBackend;
}

export class LoopService {
  readonly journal: LoopJournal;
  readonly mountRoot: string;
  private readonly ledger: LoopLedger;
  private readonly devices: LoopDevices;
  private readonly mounts: LoopMounts;

  constructor(options: LoopServiceOptions) {
    this.journal = new LoopJournal(options.stateDir ?? defaultStateDir());
    this.mountRoot = options.mountRoot ?? defaultMountRoot();
    this.ledger = new LoopLedger({
      journal: this.journal,
      mountRoot: this.mountRoot,
      backend: options.backend ?? loopBackendFor(process.platform, release()),
      shell: options.shell,
      privileged: options.privileged ?? ((request) => runPrivileged(request)),
      onChange: options.onChange,
    });
    this.devices = new LoopDevices(this.ledger);
    this.mounts = new LoopMounts(this.ledger, this.devices);
  }

  // ── what there is ──────────────────────────────────────────────────────────────────────────

  /** The journal's entries checked against the system, plus mounts under our root nobody recorded. */
  list(): Promise<LoopsState> {
    return this.ledger.list();
  }

  /** What a crash (or the CLI) left behind: entries whose maker is gone. */
  findLeftovers(): Promise<LoopEntry[]> {
    return this.ledger.findLeftovers();
  }

  // ── actions ────────────────────────────────────────────────────────────────────────────────

  /** `loopstudio attach IMAGE [-p N]`: the article's `losetup [-o OFFSET] /dev/loopN IMAGE`. */
  attach(image: string, options: AttachOptions = {}): Promise<LoopActionResult> {
    return this.devices.attach(image, options);
  }

  /** `loopstudio detach DEV`: only a device Loopback Studio attached, and only when not mounted. */
  detach(device: string): Promise<LoopActionResult> {
    return this.devices.detach(device);
  }

  /** `loopstudio mount IMAGE [-p N] [DIR]`: attach and mount in one prompt, for the user to write in. */
  mount(image: string, options: MountOptions = {}): Promise<LoopActionResult> {
    return this.mounts.mount(image, options);
  }

  /** `loopstudio umount DIR|IMAGE`: sync, unmount and detach what Loopback Studio mounted there (or of that image). */
  unmount(targetPath: string): Promise<LoopActionResult> {
    return this.mounts.unmount(targetPath);
  }

  /** `loopstudio cleanup`: release the leftovers (or the entries named). */
  cleanup(ids?: readonly string[]): Promise<LoopActionResult> {
    return this.ledger.cleanup(ids);
  }

  /** On quit: release what this process made. Null when it made nothing. */
  releaseOwn(): Promise<LoopActionResult | null> {
    return this.ledger.releaseOwn();
  }

  // ── format and GRUB with the host's tools ──────────────────────────────────────────────────

  /** Formats a volume with the host's mkfs through a loop device: attach, mkfs, detach. */
  format(image: string, partition: number | undefined, fsType: FsType, options: LoopFormatOptions = {}): Promise<LoopFormatResult> {
    return this.devices.format(image, partition, fsType, options);
  }

  /** grub-install onto the image through a loop device, in one prompt (see LoopMounts.grubInstall). */
  grubInstall(image: string, partition: number | undefined): Promise<LoopActionResult> {
    return this.mounts.grubInstall(image, partition);
  }
}

/** The service instance for callers that have none (the CLI's `format --engine loop`). */
function defaultLoops(): LoopService {
  return new LoopService({ shell: 'cli' });
}

/** `format --engine loop`: the host's mke2fs / mkfs.fat on a loop device (see LoopService.format). */
export function loopFormat(
  image: string,
  partition: number | undefined,
  fsType: FsType,
  options: LoopFormatOptions & { loops?: LoopService } = {},
): Promise<LoopFormatResult> {
  return (options.loops ?? defaultLoops()).format(image, partition, fsType, options);
}

export interface LoopGrubInstallOptions {
  loops?: LoopService;
  /** Write /boot/grub/grub.cfg from this menu afterwards, as the rootless install does. */
  menu?: BootMenu;
  /** A host file copied to the default entry's kernel path (with `menu`). */
  kernelFile?: string;
}

export interface LoopGrubInstallResult extends LoopActionResult {
  /** The volume holding /boot/grub. */
  volume: string;
  /** Files written into it after grub-install (the kernel, /boot/grub/grub.cfg); GRUB's own are not listed. */
  files: string[];
  /** The menu written to grub.cfg, or null when the existing grub.cfg (if any) was left as it is. */
  menu: BootMenu | null;
  warnings: string[];
}

/**
 * `bootloader --engine loop --grub2`: grub-install on a loop device (see LoopService.grubInstall),
 * then the menu: the same grub.cfg the rootless install writes, written rootless once nothing is
 * mounted. The menu and the files it names are checked before the password prompt.
 */
export async function loopGrubInstall(
  image: string,
  partition: number | undefined,
  options: LoopGrubInstallOptions = {},
): Promise<LoopGrubInstallResult> {
  const ref = { image, ...(partition !== undefined ? { partition } : {}) };
  const { menu, kernelFile } = options;
  if (kernelFile !== undefined && !menu)
    throw new LoopbackError(
      'INVALID_INPUT',
      'a kernel file to copy in needs a menu entry that says where it goes (--kernel /boot/kernel.elf)',
    );
  if (menu) await checkGrub2Menu({ ...ref, menu, ...(kernelFile !== undefined ? { kernelFile } : {}) });
  const installed = await (options.loops ?? defaultLoops()).grubInstall(image, partition);
  const written = menu ? await writeGrub2Menu({ ...ref, menu, ...(kernelFile !== undefined ? { kernelFile } : {}) }) : null;
  const warnings: string[] = [];
  if (!menu && !(await hasGrubCfg(ref))) {
    warnings.push(
      `${describeVolume(ref)} has no /boot/grub/grub.cfg: GRUB will stop at its grub> prompt. Give --kernel PATH (and --title, --cmdline …) to write a menu, or put a grub.cfg there`,
    );
  }
  return { ...installed, volume: written?.volume ?? describeVolume(ref), files: written?.files ?? [], menu: menu ?? null, warnings };
}

export type { ShellEquivalent };
