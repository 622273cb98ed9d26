/**
 * Mounts of an image's volume through a loop device: for the user (`mount`: attach and mount in
 * one prompt, on a fresh folder under the mount root, and `unmount`), and for the host's
 * grub-install, which writes into the mounted /boot and leaves nothing mounted after.
 */
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import type { LoopActionResult } from '../../shared/api/loops';
import { LoopbackError } from '../../shared/errors';
import { HOST_TOOLS, installHint } from '../../shared/host/tools';
import { findGrub2Install } from '../platform/grub';
import { probeHostTools } from '../platform/host-tools';
import { mountEquivalent } from '../platform/loop/index';
import { runCommand } from '../platform/run';
import type { HelperStep } from '../privileged/request';
import type { LoopDevices, Target } from './loops-attach';
import type { BatchResult, LoopLedger } from './loops-ledger';
import { describeVolume } from './volumes';

/** $XDG_RUNTIME_DIR/loopback-studio/mnt, else ~/.cache/loopback-studio/mnt. */
export function defaultMountRoot(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR && env.XDG_RUNTIME_DIR.startsWith('/') ? env.XDG_RUNTIME_DIR : null;
  return runtime ? join(runtime, 'loopback-studio', 'mnt') : join(homedir(), '.cache', 'loopback-studio', 'mnt');
}

/** A folder name for a mount point: letters, digits, . _ - kept; anything else becomes _. */
export function mountName(image: string, partition: number | null): string {
  const stem = basename(image, extname(image))
    .replace(/[^\p{L}\p{N}._-]/gu, '_')
    .replace(/^[-.]+/, '')
    .slice(0, 64);
  return `${stem || 'image'}${partition !== null ? `-p${partition}` : ''}`;
}

export interface MountOptions {
  partition?: number;
  /** The mount point; default: a fresh folder under the mount root named after the image. */
  dir?: string;
  readOnly?: boolean;
}

export class LoopMounts {
  constructor(
    private readonly ledger: LoopLedger,
    private readonly devices: LoopDevices,
  ) {}

  /** `loopstudio mount IMAGE [-p N] [DIR]`: attach and mount in one prompt, for the user to write in. */
  async mount(image: string, options: MountOptions = {}): Promise<LoopActionResult> {
    const { ledger, devices } = this;
    const backend = ledger.requireBackend();
    const target = await devices.target(image, options.partition, true);
    if (!target.family) {
      throw new LoopbackError(
        'NOT_FOUND',
        `${describeVolume({ image, ...(options.partition !== undefined ? { partition: options.partition } : {}) })} has no FAT or ext2 filesystem to mount; format it first`,
        { image },
      );
    }
    const dir = options.dir !== undefined ? resolve(options.dir) : await this.freshMountDir(target);
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const entry = await ledger.record({
      kind: 'mount',
      state: 'mounting',
      ...devices.journalFields(target),
      device: null,
      mountDir: dir,
      family: target.family,
    });
    let result: BatchResult;
    try {
      result = await ledger.run(
        [
          devices.attachStep(target, { ...(options.readOnly ? { readOnly: true } : {}) }),
          {
            op: 'mount',
            device: devices.deviceRef(target, 0, false),
            image: target.image,
            dir,
            family: target.family,
            ...devices.expect(target),
            ...(options.readOnly ? { readOnly: true } : {}),
          },
        ],
        entry.id,
      );
    } catch (error) {
      if (options.dir === undefined) await fs.rmdir(dir).catch(() => {});
      throw error;
    }
    const device = ledger.reported(result.outcome, 1);
    await ledger.journal.patch(entry.id, { state: 'mounted', device });
    await ledger.changed();
    const { uid, gid } = ledger.owner();
    return {
      entries: [ledger.view({ ...entry, state: 'mounted', device }, { attached: true, mounted: true })],
      device,
      mountDir: dir,
      commands: result.commands,
      elevation: result.outcome.elevation,
      equivalent: mountEquivalent(backend, {
        image: target.image,
        device,
        offsetBytes: target.offsetBytes,
        sizeBytes: target.sizeBytes,
        dir,
        family: target.family,
        uid,
        gid,
      }),
    };
  }

  /** `loopstudio umount DIR|IMAGE`: sync, unmount and detach what Loopback Studio mounted there (or of that image). */
  async unmount(targetPath: string): Promise<LoopActionResult> {
    const { ledger } = this;
    const path = resolve(targetPath);
    const entries = await ledger.reconcile();
    let chosen = entries.filter((e) => e.mountDir === path && e.live.mounted);
    if (chosen.length === 0) {
      const stats = await fs.stat(path, { bigint: true }).catch(() => null);
      if (stats?.isFile()) {
        const journal = await ledger.journal.read();
        const ids = new Set(journal.filter((j) => j.imageDev === String(stats.dev) && j.imageIno === String(stats.ino)).map((j) => j.id));
        chosen = entries.filter((e) => ids.has(e.id) && e.live.mounted);
      }
    }
    if (chosen.length === 0)
      throw new LoopbackError('NOT_FOUND', `Loopback Studio has nothing mounted at or from ${targetPath}`, { target: targetPath });
    return ledger.release(chosen);
  }

  /** A mount point under the mount root: "c-p1", or "c-p1-2" when that is taken. */
  private async freshMountDir(target: Target, suffix = ''): Promise<string> {
    const { mountRoot } = this.ledger;
    await fs.mkdir(mountRoot, { recursive: true, mode: 0o700 });
    const base = `${mountName(target.image, target.partition?.index ?? null)}${suffix}`;
    const recorded = new Set((await this.ledger.journal.read()).map((e) => e.mountDir));
    for (let n = 1; n < 1000; n++) {
      const dir = join(mountRoot, n === 1 ? base : `${base}-${n}`);
      if (recorded.has(dir)) continue;
      const existing = await fs.readdir(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : ['?']));
      if (existing === null || existing.length === 0) return dir;
    }
    throw new LoopbackError('IO', `no free mount point name under ${mountRoot}`);
  }

  /**
   * grub-install onto the image through a loop device: attach the whole image with its partition
   * nodes, mount the partition holding /boot, `grub-install --target=i386-pc
   * --boot-directory=MNT/boot /dev/loopN`, sync, unmount, detach — one prompt.
   */
  async grubInstall(image: string, partition: number | undefined): Promise<LoopActionResult> {
    const { ledger, devices } = this;
    ledger.requireBackend();
    const grub = await findGrub2Install((command) => runCommand(command));
    if (!grub.found) {
      const spec = HOST_TOOLS.find((t) => t.name === 'grub-install')!;
      const { family } = await probeHostTools();
      const legacy = grub.legacy ? ` (${grub.legacy} is GRUB legacy's, which cannot install GRUB 2)` : '';
      throw new LoopbackError('HOST_TOOL_MISSING', `GRUB 2's grub-install is not installed${legacy}: ${installHint(spec, family)}`, {
        tool: 'grub-install',
      });
    }
    const target = await devices.target(image, partition, true);
    if (!target.partition)
      throw new LoopbackError('INVALID_INPUT', 'grub-install needs a partitioned image: say which partition holds /boot with -p N');
    if (!target.family)
      throw new LoopbackError('NOT_FOUND', `partition ${target.partition.index} of ${image} has no filesystem; format it first`);
    const dir = await this.freshMountDir(target, '-grub');
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const entry = await ledger.record({
      kind: 'mount',
      state: 'mounting',
      image: target.image,
      imageDev: target.imageDev,
      imageIno: target.imageIno,
      partition: target.partition.index,
      offsetBytes: 0,
      sizeBytes: null,
      device: null,
      mountDir: dir,
      family: target.family,
    });
    let result: BatchResult;
    try {
      // The root of the filesystem stays root's (chownRoot false): grub-install must not write where
      // the user can swap in links.
      const steps: HelperStep[] = ledger.requireBackend().attachesByOffset
        ? [
            // Linux: the whole disk, and the partition as a loop device of its own. GRUB 2.06 cannot
            // use a --partscan node (it asks it for HDIO_GETGEO, which loop partitions do not
            // answer); with a device.map naming both, it finds /boot by its filesystem's UUID.
            { op: 'attach', image: target.image },
            devices.attachStep(target),
            {
              op: 'mount',
              device: { step: 1 },
              image: target.image,
              dir,
              family: target.family,
              ...devices.expect(target),
              chownRoot: false,
            },
            {
              op: 'grub-install',
              device: { step: 0 },
              bootDevice: { step: 1 },
              modules: [target.table === 'gpt' ? 'part_gpt' : 'part_msdos'],
              image: target.image,
              mountDir: dir,
              target: 'i386-pc',
            },
            { op: 'sync' },
            { op: 'unmount', dir, image: target.image },
            { op: 'detach', device: { step: 1 }, image: target.image },
            { op: 'detach', device: { step: 0 }, image: target.image },
          ]
        : [
            // The BSDs: the partition's node of the whole disk's device.
            devices.attachStep(target, { partscan: true }),
            {
              op: 'mount',
              device: devices.deviceRef(target, 0, true),
              image: target.image,
              dir,
              family: target.family,
              ...devices.expect(target),
              chownRoot: false,
            },
            { op: 'grub-install', device: { step: 0 }, image: target.image, mountDir: dir, target: 'i386-pc' },
            { op: 'sync' },
            { op: 'unmount', dir, image: target.image },
            { op: 'detach', device: { step: 0 }, image: target.image },
          ];
      result = await ledger.run(steps, entry.id);
    } finally {
      await fs.rmdir(dir).catch(() => {});
    }
    await ledger.journal.remove([entry.id]);
    await ledger.changed();
    return {
      entries: [],
      device: ledger.reported(result.outcome, 0),
      mountDir: null,
      commands: result.commands,
      elevation: result.outcome.elevation,
      equivalent: null,
    };
  }
}
