/**
 * The loop engine's services: attach an image (or one partition of it) to a loop device, mount it
 * for the user, unmount, detach, format with the host's mkfs and install GRUB with grub-install —
 * each user action one batch for the privileged helper (one password prompt), recorded in the
 * journal before it runs, checked against the live system after. At start the app finds what a
 * crashed run left behind (its own only: mounts under its mount root, loop devices whose backing
 * file is in the journal) and offers to release it; on quit it releases what it made.
 */
import { promises as fs } from 'node:fs';
import { homedir, release } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import type { LoopActionResult, LoopEntry, LoopsState, ShellEquivalent } from '../../shared/api/loops';
import type { PartitionInfo } from '../../shared/disk/disk-info';
import { LoopbackError } from '../../shared/errors';
import type { FsType, FsUsage } from '../../shared/fs/types';
import { HOST_TOOLS, installHint } from '../../shared/host/tools';
import { shellLine } from '../../shared/util/shell-quote';
import { findGrub2Install } from '../platform/grub';
import { attachEquivalent, currentLoopBackend, formatEquivalent, loopBackendFor, mountEquivalent, parseProcMounts } from '../platform/loop/index';
import type { LoopBackend, LoopDeviceEntry, MountEntry, MountFamily } from '../platform/loop/types';
import { probeHostTools } from '../platform/host-tools';
import { runCommand, runCommandOk } from '../platform/run';
import { elevationAvailable, runPrivileged, type HelperOutcome } from '../privileged/elevate';
import type { DeviceRef, HelperRequest, HelperStep } from '../privileged/request';
import { requireRegularFile, withImage } from './file-block-device';
import { defaultStateDir, LoopJournal, type JournalEntry } from './loop-journal';
import { describeVolume, detectFileSystem, usageOf, volumeWindow } from './volumes';

/** $XDG_RUNTIME_DIR/loopback-studio/mnt, else ~/.cache/loopback-studio/mnt. */
export function defaultMountRoot(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR && env.XDG_RUNTIME_DIR.startsWith('/') ? env.XDG_RUNTIME_DIR : null;
  return runtime ? join(runtime, 'loopback-studio', 'mnt') : join(homedir(), '.cache', 'loopback-studio', 'mnt');
}

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

/** An image and the part of it the loop device shows. */
interface Target {
  image: string;
  imageDev: string;
  imageIno: string;
  partition: PartitionInfo | null;
  /** The image's partition table ('none' for a whole-image volume, or when no volume was asked for). */
  table: 'mbr' | 'gpt' | 'none';
  offsetBytes: number;
  sizeBytes: number | null;
  family: MountFamily | null;
  fs: FsType | null;
  heads: number;
  sectorsPerTrack: number;
}

export interface AttachOptions {
  partition?: number;
  /** Let the kernel make /dev/loopNpM nodes for the image's partitions (whole image only). */
  partscan?: boolean;
  readOnly?: boolean;
}

export interface MountOptions {
  partition?: number;
  /** The mount point; default: a fresh folder under the mount root named after the image. */
  dir?: string;
  readOnly?: boolean;
}

export interface LoopFormatOptions {
  label?: string;
}

export interface LoopFormatResult extends LoopActionResult {
  volume: string;
  fs: FsType;
  usage: FsUsage | null;
}

const FS_FAMILY: Record<FsType, MountFamily> = { fat12: 'fat', fat16: 'fat', fat32: 'fat', ext2: 'ext2' };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A folder name for a mount point: letters, digits, . _ - kept; anything else becomes _. */
export function mountName(image: string, partition: number | null): string {
  const stem = basename(image, extname(image))
    .replace(/[^\p{L}\p{N}._-]/gu, '_')
    .replace(/^[-.]+/, '')
    .slice(0, 64);
  return `${stem || 'image'}${partition !== null ? `-p${partition}` : ''}`;
}

export class LoopService {
  readonly journal: LoopJournal;
  readonly mountRoot: string;
  private readonly backend: LoopBackend | null;
  private readonly privileged: (request: HelperRequest) => Promise<HelperOutcome>;

  constructor(private readonly options: LoopServiceOptions) {
    this.journal = new LoopJournal(options.stateDir ?? defaultStateDir());
    this.mountRoot = options.mountRoot ?? defaultMountRoot();
    this.backend = options.backend ?? loopBackendFor(process.platform, release());
    this.privileged = options.privileged ?? ((request) => runPrivileged(request));
  }

  private requireBackend(): LoopBackend {
    return this.backend ?? currentLoopBackend();
  }

  private owner(): { uid: number; gid: number } {
    return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  }

  // ── what there is ──────────────────────────────────────────────────────────────────────────

  /** The journal's entries checked against the system, plus mounts under our root nobody recorded. */
  async list(): Promise<LoopsState> {
    const entries = await this.reconcile();
    return { entries, elevation: elevationAvailable(), system: this.backend?.system ?? null, mountRoot: this.mountRoot };
  }

  /** What a crash (or the CLI) left behind: entries whose maker is gone. */
  async findLeftovers(): Promise<LoopEntry[]> {
    return (await this.reconcile()).filter((e) => e.leftover);
  }

  private async live(): Promise<{ loops: LoopDeviceEntry[]; mounts: MountEntry[] }> {
    const backend = this.requireBackend();
    const list = backend.list();
    const loops = list ? backend.parseList((await runCommandOk(list)).stdout) : [];
    const table = backend.mountTable();
    const mounts = table ? backend.parseMountTable((await runCommandOk(table)).stdout) : parseProcMounts(await fs.readFile('/proc/self/mounts', 'utf8'));
    return { loops, mounts };
  }

  /** Whether a listed loop device covers the entry's image and range. */
  private async covers(loop: LoopDeviceEntry, entry: JournalEntry, cache: Map<string, string | null>): Promise<boolean> {
    if (!loop.inUse || !loop.backingFile) return false;
    let id = cache.get(loop.backingFile);
    if (id === undefined) {
      const stats = await fs.stat(loop.backingFile, { bigint: true }).catch(() => null);
      id = stats ? `${stats.dev}:${stats.ino}` : null;
      cache.set(loop.backingFile, id);
    }
    if (id !== `${entry.imageDev}:${entry.imageIno}`) return false;
    const backend = this.requireBackend();
    if (!backend.attachesByOffset) return true;
    const wholeAttach = entry.offsetBytes === 0 && entry.sizeBytes === null;
    return loop.offsetBytes === entry.offsetBytes && (wholeAttach ? !loop.sizeLimitBytes : loop.sizeLimitBytes === entry.sizeBytes);
  }

  /**
   * Brings the journal in line with the system: an intent whose device is unknown adopts the live
   * device that covers its image and range; entries with nothing left live are dropped (unless
   * their maker is still at work). Returns the entries as the contract shows them.
   */
  private async reconcile(): Promise<LoopEntry[]> {
    if (!this.backend) return [];
    const backend = this.backend;
    const { loops, mounts } = await this.live();
    const cache = new Map<string, string | null>();
    const views: LoopEntry[] = [];
    const current = await this.journal.read();
    const claimed = new Set(current.map((e) => e.device && backend.wholeDevice(e.device)).filter(Boolean));
    const dropped = new Set<string>();
    const adopted = new Map<string, string>();
    for (const entry of current) {
      let device = entry.device;
      let attached = false;
      if (device) {
        const loop = loops.find((l) => l.device === backend.wholeDevice(device!));
        attached = loop !== undefined && (await this.covers(loop, entry, cache));
      } else {
        // An intent recorded before a crash: the live device that covers its image and range is its.
        for (const loop of loops) {
          if (claimed.has(loop.device) || !(await this.covers(loop, entry, cache))) continue;
          device = entry.partition !== null && !backend.attachesByOffset ? backend.partitionDevice(loop.device, entry.partition) : loop.device;
          claimed.add(loop.device);
          adopted.set(entry.id, device);
          attached = true;
          break;
        }
      }
      const mount = entry.mountDir ? mounts.find((m) => m.mountPoint === entry.mountDir && backend.isDeviceName(m.source)) : undefined;
      const mounted = mount !== undefined;
      if (mounted && !device) {
        device = mount.source;
        adopted.set(entry.id, device);
      }
      const ownerAlive = entry.owner.pid === process.pid || isAlive(entry.owner.pid);
      const inProgress = (entry.state === 'attaching' || entry.state === 'mounting') && ownerAlive;
      if (!attached && !mounted && !inProgress) {
        dropped.add(entry.id);
        continue;
      }
      views.push(this.view({ ...entry, device }, { attached, mounted }));
    }
    if (dropped.size || adopted.size) {
      // Applied to the journal as it is now: another process may have added or changed entries.
      await this.journal.update((entries) => ({
        entries: entries.filter((e) => !dropped.has(e.id)).map((e) => (adopted.has(e.id) && !e.device ? { ...e, device: adopted.get(e.id)! } : e)),
        value: undefined,
      }));
    }
    // Mounts under our mount root that no entry explains: ours by location, so offered too.
    for (const mount of mounts) {
      if (!mount.mountPoint.startsWith(`${this.mountRoot}/`) || views.some((v) => v.mountDir === mount.mountPoint)) continue;
      if (!backend.isDeviceName(mount.source)) continue;
      const loop = loops.find((l) => l.device === backend.wholeDevice(mount.source));
      // Without its backing file the helper could not check it, so it is not offered.
      if (!loop?.backingFile) continue;
      views.push({
        id: `orphan:${mount.mountPoint}`,
        kind: 'mount',
        state: 'mounted',
        image: loop.backingFile,
        partition: backend.partitionIndexOf(mount.source),
        offsetBytes: loop.offsetBytes,
        sizeBytes: loop.sizeLimitBytes || null,
        device: mount.source,
        mountDir: mount.mountPoint,
        family: mount.type.startsWith('ext') ? 'ext2' : mount.type.includes('fat') || mount.type.includes('msdos') ? 'fat' : null,
        owner: { shell: this.options.shell, pid: 0 },
        createdAt: '',
        live: { attached: true, mounted: true },
        leftover: true,
      });
    }
    return views;
  }

  private view(entry: JournalEntry, live: LoopEntry['live']): LoopEntry {
    const { imageDev: _dev, imageIno: _ino, ...rest } = entry;
    const leftover = entry.owner.pid !== process.pid && !isAlive(entry.owner.pid);
    return { ...rest, live, leftover };
  }

  private async changed(): Promise<void> {
    if (!this.options.onChange) return;
    try {
      this.options.onChange(await this.list());
    } catch {
      // A listener's trouble must not turn a finished action into a failure.
    }
  }

  // ── images ─────────────────────────────────────────────────────────────────────────────────

  /**
   * The image and the part of it to use. `needVolume`: the caller wants a filesystem's volume
   * (mount, format), so a partitioned image needs -p N, as for the rootless engine's commands.
   */
  private async target(image: string, partition: number | undefined, needVolume: boolean): Promise<Target> {
    await requireRegularFile(image);
    const path = await fs.realpath(image);
    const stats = await fs.stat(path, { bigint: true });
    return withImage(path, false, async (file) => {
      const window = needVolume || partition !== undefined ? await volumeWindow(file, { image, ...(partition !== undefined ? { partition } : {}) }) : null;
      const disk = window?.disk ?? null;
      const fs = window ? await detectFileSystem(window.device) : null;
      const geometry = disk?.geometry;
      return {
        image: path,
        imageDev: String(stats.dev),
        imageIno: String(stats.ino),
        partition: window?.partition ?? null,
        table: disk?.table ?? 'none',
        offsetBytes: window?.partition?.offsetBytes ?? 0,
        sizeBytes: window?.partition?.sizeBytes ?? null,
        family: fs ? FS_FAMILY[fs] : null,
        fs,
        heads: geometry?.heads ?? 16,
        sectorsPerTrack: geometry?.sectorsPerTrack ?? 63,
      };
    });
  }

  /** The attach step for a target: by offset on Linux, the whole image on the BSDs. */
  private attachStep(target: Target, extra: { partscan?: boolean; readOnly?: boolean } = {}): HelperStep {
    const byOffset = this.requireBackend().attachesByOffset && target.partition !== null && !extra.partscan;
    return {
      op: 'attach',
      image: target.image,
      ...(byOffset ? { offsetBytes: target.offsetBytes, ...(target.sizeBytes !== null ? { sizeBytes: target.sizeBytes } : {}) } : {}),
      ...(extra.partscan ? { partscan: true } : {}),
      ...(extra.readOnly ? { readOnly: true } : {}),
    };
  }

  /** The device a later step uses: the attached device, or its partition node (BSD, partscan). */
  private deviceRef(target: Target, attachStep: number, viaNode: boolean): DeviceRef {
    const node = target.partition !== null && (viaNode || !this.requireBackend().attachesByOffset);
    return node ? { step: attachStep, partition: target.partition!.index } : { step: attachStep };
  }

  /** The range check for a device made by attachStep (Linux only: BSD nodes are the kernel's reading). */
  private expect(target: Target): { expect?: { offsetBytes: number; sizeBytes: number | null } } {
    return this.requireBackend().system === 'linux' ? { expect: { offsetBytes: target.offsetBytes, sizeBytes: target.sizeBytes } } : {};
  }

  /** The journal entry written before a loop device is attached, so a crash leaves a trace. */
  private recordAttachIntent(target: Target): Promise<JournalEntry> {
    return this.journal.add({
      kind: 'attach',
      state: 'attaching',
      ...this.journalFields(target),
      device: null,
      mountDir: null,
      family: null,
      owner: { shell: this.options.shell, pid: process.pid },
    });
  }

  private journalFields(target: Target): Pick<JournalEntry, 'image' | 'imageDev' | 'imageIno' | 'partition' | 'offsetBytes' | 'sizeBytes'> {
    const byOffset = this.requireBackend().attachesByOffset && target.partition !== null;
    return {
      image: target.image,
      imageDev: target.imageDev,
      imageIno: target.imageIno,
      partition: target.partition?.index ?? null,
      offsetBytes: byOffset ? target.offsetBytes : 0,
      sizeBytes: byOffset ? target.sizeBytes : null,
    };
  }

  // ── running the helper ─────────────────────────────────────────────────────────────────────

  /**
   * Runs a batch as root. On failure (or a refused prompt) the action's intent is settled — kept,
   * as a leftover to clean, if something of it is still live; dropped otherwise — and the step's
   * error is thrown.
   */
  private async run(steps: HelperStep[], intentId?: string): Promise<{ outcome: HelperOutcome; commands: string[] }> {
    let outcome: HelperOutcome;
    try {
      outcome = await this.privileged({ version: 1, owner: this.owner(), steps });
    } catch (error) {
      await this.settle(intentId);
      throw error;
    }
    const commands = outcome.steps.flatMap((step) =>
      step.commands.map((c) => `${shellLine(c.argv)}${c.builtin ? '   # done by the helper itself' : ''}${step.rollback ? '   # undoing' : ''}`),
    );
    if (!outcome.ok) {
      await this.settle(intentId);
      await this.changed();
      const error = outcome.final.error ?? { code: 'INTERNAL', message: 'the privileged helper failed' };
      throw new LoopbackError(error.code as LoopbackError['code'], error.message, { commands });
    }
    return { outcome, commands };
  }

  /**
   * After a failed action: its intent becomes a finished entry if anything of it is live, else
   * goes; the other entries are brought up to date too (a failed release may have done half).
   */
  private async settle(intentId: string | undefined): Promise<void> {
    const views = await this.reconcile().catch(() => [] as LoopEntry[]);
    if (!intentId) return;
    const view = views.find((e) => e.id === intentId);
    if (view && (view.live.attached || view.live.mounted)) {
      await this.journal.patch(intentId, { state: view.live.mounted ? 'mounted' : 'attached', device: view.device });
    } else {
      await this.journal.remove([intentId]);
    }
  }

  private reported(outcome: HelperOutcome, step: number): string {
    const report = outcome.steps.find((s) => s.step === step && !s.rollback);
    if (!report?.device) throw new LoopbackError('INTERNAL', `the helper did not report step ${step}'s device`);
    return report.device;
  }

  // ── actions ────────────────────────────────────────────────────────────────────────────────

  /** `loopstudio attach IMAGE [-p N]`: the article's `losetup [-o OFFSET] /dev/loopN IMAGE`. */
  async attach(image: string, options: AttachOptions = {}): Promise<LoopActionResult> {
    const backend = this.requireBackend();
    if (options.partscan && options.partition !== undefined) throw new LoopbackError('INVALID_INPUT', '--partscan attaches the whole image; leave out -p');
    const target = await this.target(image, options.partition, false);
    const entry = await this.recordAttachIntent(target);
    const { outcome, commands } = await this.run([this.attachStep(target, options)], entry.id);
    const whole = this.reported(outcome, 0);
    const device = target.partition !== null && !backend.attachesByOffset ? backend.partitionDevice(whole, target.partition.index) : whole;
    await this.journal.patch(entry.id, { state: 'attached', device });
    await this.changed();
    return {
      entries: [this.view({ ...entry, state: 'attached', device }, { attached: true, mounted: false })],
      device,
      mountDir: null,
      commands,
      elevation: outcome.elevation,
      equivalent: attachEquivalent(backend, { image: target.image, device: whole, offsetBytes: target.offsetBytes, sizeBytes: target.sizeBytes }),
    };
  }

  /** `loopstudio detach DEV`: only a device Loopback Studio attached, and only when not mounted. */
  async detach(device: string): Promise<LoopActionResult> {
    const backend = this.requireBackend();
    const entries = (await this.reconcile()).filter((e) => e.device && backend.wholeDevice(e.device) === backend.wholeDevice(device));
    if (entries.length === 0) {
      throw new LoopbackError('NOT_FOUND', `${device} was not attached by Loopback Studio (it is not in ${this.journal.path}); detach it yourself if it is yours (${backend.tool})`, { device });
    }
    const mounted = entries.find((e) => e.live.mounted);
    if (mounted) throw new LoopbackError('VALIDATION', `${device} is mounted at ${mounted.mountDir}: run loopstudio umount ${mounted.mountDir}`, { device });
    return this.release(entries);
  }

  /** `loopstudio mount IMAGE [-p N] [DIR]`: attach and mount in one prompt, for the user to write in. */
  async mount(image: string, options: MountOptions = {}): Promise<LoopActionResult> {
    const backend = this.requireBackend();
    const target = await this.target(image, options.partition, true);
    if (!target.family) {
      throw new LoopbackError('NOT_FOUND', `${describeVolume({ image, ...(options.partition !== undefined ? { partition: options.partition } : {}) })} has no FAT or ext2 filesystem to mount; format it first`, { image });
    }
    const dir = options.dir !== undefined ? resolve(options.dir) : await this.freshMountDir(target);
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const entry = await this.journal.add({
      kind: 'mount',
      state: 'mounting',
      ...this.journalFields(target),
      device: null,
      mountDir: dir,
      family: target.family,
      owner: { shell: this.options.shell, pid: process.pid },
    });
    let result: { outcome: HelperOutcome; commands: string[] };
    try {
      result = await this.run(
        [
          this.attachStep(target, { ...(options.readOnly ? { readOnly: true } : {}) }),
          { op: 'mount', device: this.deviceRef(target, 0, false), image: target.image, dir, family: target.family, ...this.expect(target), ...(options.readOnly ? { readOnly: true } : {}) },
        ],
        entry.id,
      );
    } catch (error) {
      if (options.dir === undefined) await fs.rmdir(dir).catch(() => {});
      throw error;
    }
    const device = this.reported(result.outcome, 1);
    await this.journal.patch(entry.id, { state: 'mounted', device });
    await this.changed();
    const { uid, gid } = this.owner();
    return {
      entries: [this.view({ ...entry, state: 'mounted', device }, { attached: true, mounted: true })],
      device,
      mountDir: dir,
      commands: result.commands,
      elevation: result.outcome.elevation,
      equivalent: mountEquivalent(backend, { image: target.image, device, offsetBytes: target.offsetBytes, sizeBytes: target.sizeBytes, dir, family: target.family, uid, gid }),
    };
  }

  /** `loopstudio umount DIR|IMAGE`: sync, unmount and detach what Loopback Studio mounted there (or of that image). */
  async unmount(targetPath: string): Promise<LoopActionResult> {
    const path = resolve(targetPath);
    const entries = await this.reconcile();
    let chosen = entries.filter((e) => e.mountDir === path && e.live.mounted);
    if (chosen.length === 0) {
      const stats = await fs.stat(path, { bigint: true }).catch(() => null);
      if (stats?.isFile()) {
        const journal = await this.journal.read();
        const ids = new Set(journal.filter((j) => j.imageDev === String(stats.dev) && j.imageIno === String(stats.ino)).map((j) => j.id));
        chosen = entries.filter((e) => ids.has(e.id) && e.live.mounted);
      }
    }
    if (chosen.length === 0) throw new LoopbackError('NOT_FOUND', `Loopback Studio has nothing mounted at or from ${targetPath}`, { target: targetPath });
    return this.release(chosen);
  }

  /** `loopstudio cleanup`: release the leftovers (or the entries named). */
  async cleanup(ids?: readonly string[]): Promise<LoopActionResult> {
    const entries = await this.reconcile();
    const chosen = ids ? entries.filter((e) => ids.includes(e.id)) : entries.filter((e) => e.leftover);
    const missing = ids?.filter((id) => !entries.some((e) => e.id === id)) ?? [];
    if (missing.length) throw new LoopbackError('NOT_FOUND', `no such loop entry: ${missing.join(', ')}`, { ids: missing });
    return this.release(chosen);
  }

  /** On quit: release what this process made. Null when it made nothing. */
  async releaseOwn(): Promise<LoopActionResult | null> {
    if (!this.backend) return null;
    const own = (await this.reconcile()).filter((e) => e.owner.pid === process.pid);
    return own.length ? this.release(own) : null;
  }

  /** sync, unmount what is mounted, detach what is attached — one batch — then forget them. */
  private async release(entries: readonly LoopEntry[]): Promise<LoopActionResult> {
    const backend = this.requireBackend();
    const steps: HelperStep[] = [];
    const mounted = entries.filter((e) => e.live.mounted && e.mountDir);
    if (mounted.length) steps.push({ op: 'sync' });
    for (const e of mounted) steps.push({ op: 'unmount', dir: e.mountDir!, image: e.image });
    const devices = new Map<string, string>();
    for (const e of entries) if (e.live.attached && e.device) devices.set(backend.wholeDevice(e.device), e.image);
    for (const [device, image] of devices) steps.push({ op: 'detach', device, image });
    let commands: string[] = [];
    let elevation: LoopActionResult['elevation'] = null;
    if (steps.length) {
      const result = await this.run(steps);
      commands = result.commands;
      elevation = result.outcome.elevation;
    }
    await this.journal.remove(entries.map((e) => e.id));
    for (const e of mounted) {
      // Only folders we made: under our mount root, and empty once unmounted.
      if (e.mountDir!.startsWith(`${this.mountRoot}/`)) await fs.rmdir(e.mountDir!).catch(() => {});
    }
    await this.changed();
    return {
      entries: entries.map((e) => ({ ...e, live: { attached: false, mounted: false } })),
      device: entries[0]?.device ?? null,
      mountDir: mounted[0]?.mountDir ?? null,
      commands,
      elevation,
      equivalent: null,
    };
  }

  /** A mount point under the mount root: "c-p1", or "c-p1-2" when that is taken. */
  private async freshMountDir(target: Target, suffix = ''): Promise<string> {
    await fs.mkdir(this.mountRoot, { recursive: true, mode: 0o700 });
    const base = `${mountName(target.image, target.partition?.index ?? null)}${suffix}`;
    const recorded = new Set((await this.journal.read()).map((e) => e.mountDir));
    for (let n = 1; n < 1000; n++) {
      const dir = join(this.mountRoot, n === 1 ? base : `${base}-${n}`);
      if (recorded.has(dir)) continue;
      const existing = await fs.readdir(dir).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : ['?']));
      if (existing === null || existing.length === 0) return dir;
    }
    throw new LoopbackError('IO', `no free mount point name under ${this.mountRoot}`);
  }

  // ── format and GRUB with the host's tools ──────────────────────────────────────────────────

  /** Formats a volume with the host's mkfs through a loop device: attach, mkfs, detach. */
  async format(image: string, partition: number | undefined, fsType: FsType, options: LoopFormatOptions = {}): Promise<LoopFormatResult> {
    const backend = this.requireBackend();
    const target = await this.target(image, partition, true);
    const entry = await this.recordAttachIntent(target);
    const sizeBytes = target.sizeBytes ?? (await fs.stat(target.image)).size;
    const mkfs: Extract<HelperStep, { op: 'mkfs' }> = {
      op: 'mkfs',
      device: this.deviceRef(target, 0, false),
      image: target.image,
      fs: fsType,
      ...this.expect(target),
      ...(options.label !== undefined ? { label: options.label } : {}),
      // The article's `mke2fs -b1024 /dev/loop0 #blocks`, #blocks being fdisk's 1 KiB blocks.
      ...(fsType === 'ext2' ? { blocks1KiB: Math.floor(sizeBytes / 1024) } : {}),
      ...(fsType !== 'ext2' ? { hiddenSectors: target.partition?.startSector ?? 0, heads: target.heads, sectorsPerTrack: target.sectorsPerTrack } : {}),
    };
    const result = await this.run([this.attachStep(target), mkfs, { op: 'detach', device: { step: 0 }, image: target.image }], entry.id);
    await this.journal.remove([entry.id]);
    await this.changed();
    const ref = { image, ...(partition !== undefined ? { partition } : {}) };
    const usage = await withImage(target.image, false, async (file) => usageOf((await volumeWindow(file, ref)).device));
    const device = this.reported(result.outcome, 0);
    const mkfsDevice = this.reported(result.outcome, 1);
    return {
      volume: describeVolume(ref),
      fs: fsType,
      usage,
      entries: [],
      device,
      mountDir: null,
      commands: result.commands,
      elevation: result.outcome.elevation,
      equivalent: formatEquivalent(
        backend,
        { image: target.image, device, offsetBytes: target.offsetBytes, sizeBytes: target.sizeBytes },
        backend.mkfs({ ...mkfs, device: mkfsDevice }),
      ),
    };
  }

  /**
   * grub-install onto the image through a loop device: attach the whole image with its partition
   * nodes, mount the partition holding /boot, `grub-install --target=i386-pc
   * --boot-directory=MNT/boot /dev/loopN`, sync, unmount, detach — one prompt.
   */
  async grubInstall(image: string, partition: number | undefined): Promise<LoopActionResult> {
    this.requireBackend();
    const grub = await findGrub2Install((command) => runCommand(command));
    if (!grub.found) {
      const spec = HOST_TOOLS.find((t) => t.name === 'grub-install')!;
      const { family } = await probeHostTools();
      const legacy = grub.legacy ? ` (${grub.legacy} is GRUB legacy's, which cannot install GRUB 2)` : '';
      throw new LoopbackError('HOST_TOOL_MISSING', `GRUB 2's grub-install is not installed${legacy}: ${installHint(spec, family)}`, { tool: 'grub-install' });
    }
    const target = await this.target(image, partition, true);
    if (!target.partition) throw new LoopbackError('INVALID_INPUT', 'grub-install needs a partitioned image: say which partition holds /boot with -p N');
    if (!target.family) throw new LoopbackError('NOT_FOUND', `partition ${target.partition.index} of ${image} has no filesystem; format it first`);
    const dir = await this.freshMountDir(target, '-grub');
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const entry = await this.journal.add({
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
      owner: { shell: this.options.shell, pid: process.pid },
    });
    let result: { outcome: HelperOutcome; commands: string[] };
    try {
      // The root of the filesystem stays root's (chownRoot false): grub-install must not write where
      // the user can swap in links.
      const steps: HelperStep[] = this.requireBackend().attachesByOffset
        ? [
            // Linux: the whole disk, and the partition as a loop device of its own. GRUB 2.06 cannot
            // use a --partscan node (it asks it for HDIO_GETGEO, which loop partitions do not
            // answer); with a device.map naming both, it finds /boot by its filesystem's UUID.
            { op: 'attach', image: target.image },
            this.attachStep(target),
            { op: 'mount', device: { step: 1 }, image: target.image, dir, family: target.family, ...this.expect(target), chownRoot: false },
            { op: 'grub-install', device: { step: 0 }, bootDevice: { step: 1 }, modules: [target.table === 'gpt' ? 'part_gpt' : 'part_msdos'], image: target.image, mountDir: dir, target: 'i386-pc' },
            { op: 'sync' },
            { op: 'unmount', dir, image: target.image },
            { op: 'detach', device: { step: 1 }, image: target.image },
            { op: 'detach', device: { step: 0 }, image: target.image },
          ]
        : [
            // The BSDs: the partition's node of the whole disk's device.
            this.attachStep(target, { partscan: true }),
            { op: 'mount', device: this.deviceRef(target, 0, true), image: target.image, dir, family: target.family, ...this.expect(target), chownRoot: false },
            { op: 'grub-install', device: { step: 0 }, image: target.image, mountDir: dir, target: 'i386-pc' },
            { op: 'sync' },
            { op: 'unmount', dir, image: target.image },
            { op: 'detach', device: { step: 0 }, image: target.image },
          ];
      result = await this.run(steps, entry.id);
    } finally {
      await fs.rmdir(dir).catch(() => {});
    }
    await this.journal.remove([entry.id]);
    await this.changed();
    return { entries: [], device: this.reported(result.outcome, 0), mountDir: null, commands: result.commands, elevation: result.outcome.elevation, equivalent: null };
  }
}

/** The service instance for callers that have none (the CLI's `format --engine loop`). */
function defaultLoops(): LoopService {
  return new LoopService({ shell: 'cli' });
}

/** `format --engine loop`: the host's mke2fs / mkfs.fat on a loop device (see LoopService.format). */
export function loopFormat(image: string, partition: number | undefined, fsType: FsType, options: LoopFormatOptions & { loops?: LoopService } = {}): Promise<LoopFormatResult> {
  return (options.loops ?? defaultLoops()).format(image, partition, fsType, options);
}

/** `bootloader --engine loop --grub2`: grub-install on a loop device (see LoopService.grubInstall). */
export function loopGrubInstall(image: string, partition: number | undefined, options: { loops?: LoopService } = {}): Promise<LoopActionResult> {
  return (options.loops ?? defaultLoops()).grubInstall(image, partition);
}

export type { ShellEquivalent };
