/**
 * The loop engine's journal and leftovers: the journal (loop-journal.ts) kept true to the system.
 * An action's intent is recorded before its batch runs as root and settled after it; on reading,
 * the journal is checked against the live loop devices and mounts (an intent a crash left
 * unfinished adopts the device that covers its image and range, entries with nothing live are
 * dropped); and what a finished or crashed process left behind — its own only: journal entries,
 * and mounts under the mount root nobody recorded — is found and released.
 */
import { promises as fs } from 'node:fs';
import type { LoopActionResult, LoopEntry, LoopsState } from '../../shared/api/loops';
import { LoopbackError } from '../../shared/errors';
import { shellLine } from '../../shared/util/shell-quote';
import { currentLoopBackend, parseProcMounts } from '../platform/loop/index';
import type { LoopBackend, LoopDeviceEntry, MountEntry } from '../platform/loop/types';
import { describeMountBusy, mountBusyReport } from '../platform/mount-users';
import { runCommandOk } from '../platform/run';
import { elevationAvailable, type HelperOutcome } from '../privileged/elevate';
import type { HelperRequest, HelperStep } from '../privileged/request';
import type { JournalEntry, LoopJournal } from './loop-journal';

export interface LoopLedgerOptions {
  journal: LoopJournal;
  mountRoot: string;
  /** The system's backend; null where loop devices are not supported. */
  backend: LoopBackend | null;
  shell: 'electron' | 'web' | 'cli';
  /** Runs a request as root. */
  privileged: (request: HelperRequest) => Promise<HelperOutcome>;
  /** Called with the new state after every change. */
  onChange?: ((state: LoopsState) => void) | undefined;
}

/** What a batch run as root gave: the helper's report and its commands as shell lines. */
export interface BatchResult {
  outcome: HelperOutcome;
  commands: string[];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the journal's image is still the file at its path: there, gone, or another file now. */
type ImageStanding = 'present' | 'gone' | 'replaced';

async function imageStanding(entry: JournalEntry): Promise<ImageStanding> {
  const stats = await fs
    .stat(entry.image, { bigint: true })
    .catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' || error.code === 'ENOTDIR' ? null : undefined));
  // A stat that fails otherwise (EACCES …) says nothing: the image is taken to be there.
  if (stats === undefined) return 'present';
  if (stats === null) return 'gone';
  return String(stats.dev) === entry.imageDev && String(stats.ino) === entry.imageIno ? 'present' : 'replaced';
}

const SHELL_NAMES: Record<JournalEntry['owner']['shell'], string> = { electron: 'the app', web: 'the web harness', cli: 'loopstudio' };

/**
 * Whether an entry is a leftover, and why (or why not). A mount or loop device the user made on
 * purpose from the CLI (`loopstudio mount`, `attach`) outlives the command by design: it is theirs
 * until `umount` / `detach`. A leftover is what an action left half-done (its process ended while
 * the entry still said attaching or mounting), what the app or the harness left when it died
 * without releasing its own (they release everything on quit), or what belongs to an image that no
 * longer exists.
 */
export function standing(entry: JournalEntry, image: ImageStanding = 'present'): Pick<LoopEntry, 'leftover' | 'reason'> {
  const { shell, pid } = entry.owner;
  const maker = `${SHELL_NAMES[shell]} (pid ${pid})`;
  if (image === 'gone')
    return { leftover: true, reason: `its image ${entry.image} no longer exists (cleanup says how to release it by hand)` };
  if (image === 'replaced')
    return {
      leftover: true,
      reason: `${entry.image} is another file now (rebuilt or replaced): this holds the old, deleted one (cleanup says how to release it by hand)`,
    };
  const mine = pid === process.pid;
  if (mine || isAlive(pid)) return { leftover: false, reason: mine ? 'made by this process' : `in use by ${maker}` };
  if (entry.failed) return { leftover: true, reason: `a failed action of ${maker} left it behind` };
  if (entry.state === 'attaching' || entry.state === 'mounting') {
    return {
      leftover: true,
      reason: `${maker} ended before it finished ${entry.state === 'attaching' ? 'attaching' : 'mounting'} (crashed or killed)`,
    };
  }
  if (shell === 'cli') {
    return entry.kind === 'mount'
      ? {
          leftover: false,
          reason: `kept: made by \`loopstudio mount\`; yours until \`loopstudio umount ${entry.mountDir ?? entry.image}\``,
        }
      : {
          leftover: false,
          reason: `kept: made by \`loopstudio attach\`; yours until \`loopstudio detach ${entry.device ?? entry.image}\``,
        };
  }
  return { leftover: true, reason: `${maker} is gone without releasing it (it releases its own when it quits: it crashed or was killed)` };
}

/** What umount says when something still uses the mount (util-linux, the BSDs' EBUSY). */
const BUSY = /target is busy|device is busy|device busy|EBUSY/i;

/**
 * A release whose unmount failed because the mount is in use: the bare "target is busy" becomes
 * which processes hold what under the mount point (read from /proc as this user, after the
 * helper reported the failure), and what to do. Any other error is thrown as it is.
 */
async function explainBusyUnmount(error: unknown, steps: readonly HelperStep[]): Promise<never> {
  if (!(error instanceof LoopbackError) || !BUSY.test(error.message)) throw error;
  const index = error.details?.failedStep;
  const step = typeof index === 'number' ? steps[index] : undefined;
  if (step?.op !== 'unmount') throw error;
  const report = await mountBusyReport(step.dir).catch(() => null);
  const why = report ? describeMountBusy(step.dir, report) : 'something still uses it';
  throw new LoopbackError(
    'IN_USE',
    `Cannot unmount ${step.dir}: it is busy — ${why}. Close those files and programs (or leave the folder: \`cd\` elsewhere), then unmount again: \`loopstudio umount ${step.dir}\`. It is still mounted.`,
    { ...error.details, mountDir: step.dir, processes: report?.users ?? [], innerMounts: report?.innerMounts ?? [], said: error.message },
  );
}

export class LoopLedger {
  readonly journal: LoopJournal;
  readonly mountRoot: string;
  readonly backend: LoopBackend | null;

  constructor(private readonly options: LoopLedgerOptions) {
    this.journal = options.journal;
    this.mountRoot = options.mountRoot;
    this.backend = options.backend;
  }

  requireBackend(): LoopBackend {
    return this.backend ?? currentLoopBackend();
  }

  /** Who the helper makes mounts and files for: this process's user. */
  owner(): { uid: number; gid: number } {
    return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  }

  // ── what there is ──────────────────────────────────────────────────────────────────────────

  /** The journal's entries checked against the system, plus mounts under our root nobody recorded. */
  async list(): Promise<LoopsState> {
    const entries = await this.reconcile();
    return { entries, elevation: elevationAvailable(), system: this.backend?.system ?? null, mountRoot: this.mountRoot };
  }

  /** What a crash left behind, or what belongs to an image that is gone (see standing()). */
  async findLeftovers(): Promise<LoopEntry[]> {
    return (await this.reconcile()).filter((e) => e.leftover);
  }

  private async live(): Promise<{ loops: LoopDeviceEntry[]; mounts: MountEntry[] }> {
    const backend = this.requireBackend();
    const list = backend.list();
    const loops = list ? backend.parseList((await runCommandOk(list)).stdout) : [];
    const table = backend.mountTable();
    const mounts = table
      ? backend.parseMountTable((await runCommandOk(table)).stdout)
      : parseProcMounts(await fs.readFile('/proc/self/mounts', 'utf8'));
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
  async reconcile(): Promise<LoopEntry[]> {
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
          device =
            entry.partition !== null && !backend.attachesByOffset ? backend.partitionDevice(loop.device, entry.partition) : loop.device;
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
      views.push(this.view({ ...entry, device }, { attached, mounted }, await imageStanding(entry)));
    }
    if (dropped.size || adopted.size) {
      // Applied to the journal as it is now: another process may have added or changed entries.
      await this.journal.update((entries) => ({
        entries: entries
          .filter((e) => !dropped.has(e.id))
          .map((e) => (adopted.has(e.id) && !e.device ? { ...e, device: adopted.get(e.id)! } : e)),
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
        reason: `mounted under ${this.mountRoot}, but no Loopback Studio record explains it`,
      });
    }
    return views;
  }

  /** A journal entry as the contract shows it, with what is live of it and whether it is a leftover. */
  view(entry: JournalEntry, live: LoopEntry['live'], image: ImageStanding = 'present'): LoopEntry {
    const { imageDev: _dev, imageIno: _ino, failed: _failed, ...rest } = entry;
    return { ...rest, live, ...standing(entry, image) };
  }

  /** Tells the listener (the contract's loopsChanged event) the new state. */
  async changed(): Promise<void> {
    if (!this.options.onChange) return;
    try {
      this.options.onChange(await this.list());
    } catch {
      // A listener's trouble must not turn a finished action into a failure.
    }
  }

  // ── intents and the helper ─────────────────────────────────────────────────────────────────

  /** Records an action's intent, owned by this process, before its batch runs (returned with its id). */
  record(intent: Omit<JournalEntry, 'id' | 'createdAt' | 'owner'>): Promise<JournalEntry> {
    return this.journal.add({ ...intent, owner: { shell: this.options.shell, pid: process.pid } });
  }

  /**
   * Runs a batch as root. On failure (or a refused prompt) the action's intent is settled — kept,
   * as a leftover to clean, if something of it is still live; dropped otherwise — and the step's
   * error is thrown.
   */
  async run(steps: HelperStep[], intentId?: string): Promise<BatchResult> {
    let outcome: HelperOutcome;
    try {
      outcome = await this.options.privileged({ version: 1, owner: this.owner(), steps });
    } catch (error) {
      await this.settle(intentId);
      throw error;
    }
    const commands = outcome.steps.flatMap((step) =>
      step.commands.map(
        (c) => `${shellLine(c.argv)}${c.builtin ? '   # done by the helper itself' : ''}${step.rollback ? '   # undoing' : ''}`,
      ),
    );
    if (!outcome.ok) {
      await this.settle(intentId);
      await this.changed();
      const error = outcome.final.error ?? { code: 'INTERNAL', message: 'the privileged helper failed' };
      const failedStep = outcome.steps.find((step) => !step.ok && !step.rollback)?.step ?? null;
      throw new LoopbackError(error.code as LoopbackError['code'], error.message, { commands, failedStep });
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
      await this.journal.patch(intentId, { state: view.live.mounted ? 'mounted' : 'attached', device: view.device, failed: true });
    } else {
      await this.journal.remove([intentId]);
    }
  }

  /** The device the helper reports for step `step` of a batch. */
  reported(outcome: HelperOutcome, step: number): string {
    const report = outcome.steps.find((s) => s.step === step && !s.rollback);
    if (!report?.device) throw new LoopbackError('INTERNAL', `the helper did not report step ${step}'s device`);
    return report.device;
  }

  // ── releasing ──────────────────────────────────────────────────────────────────────────────

  /** `loopstudio cleanup`: release the leftovers (or the entries named). */
  async cleanup(ids?: readonly string[]): Promise<LoopActionResult> {
    const entries = await this.reconcile();
    const chosen = ids ? entries.filter((e) => ids.includes(e.id)) : entries.filter((e) => e.leftover);
    const missing = ids?.filter((id) => !entries.some((e) => e.id === id)) ?? [];
    if (missing.length) throw new LoopbackError('NOT_FOUND', `no such loop entry: ${missing.join(', ')}`, { ids: missing });
    // The helper checks every device against its image (docs/SECURITY.md, rule 3): what belongs to
    // an image that is gone (or another file now) cannot pass, so it is left, with the lines that
    // release it by hand, and the rest is released.
    const journal = await this.journal.read();
    const unreleasable: NonNullable<LoopActionResult['notReleased']> = [];
    const releasable: LoopEntry[] = [];
    for (const entry of chosen) {
      const recorded = journal.find((j) => j.id === entry.id);
      const image = recorded ? await imageStanding(recorded) : 'present';
      if (image === 'present') releasable.push(entry);
      else
        unreleasable.push({
          id: entry.id,
          device: entry.device,
          mountDir: entry.mountDir,
          reason: entry.reason,
          byHand: this.byHand(entry),
        });
    }
    const result = await this.release(releasable);
    return unreleasable.length ? { ...result, notReleased: unreleasable } : result;
  }

  /** The shell lines, as root, that release an entry the helper cannot check (its image is gone). */
  private byHand(entry: LoopEntry): string[] {
    const backend = this.requireBackend();
    const lines: string[] = [];
    if (entry.live.mounted && entry.mountDir)
      lines.push(shellLine([backend.unmount(entry.mountDir).program, ...backend.unmount(entry.mountDir).args]));
    // A deleted image's device is not recognised as attached (its backing file cannot be stat'ed), but it is.
    if (entry.device) {
      const detach = backend.detach(backend.wholeDevice(entry.device));
      lines.push(shellLine([detach.program, ...detach.args]));
    }
    return lines;
  }

  /** On quit: release what this process made. Null when it made nothing. */
  async releaseOwn(): Promise<LoopActionResult | null> {
    if (!this.backend) return null;
    const own = (await this.reconcile()).filter((e) => e.owner.pid === process.pid);
    return own.length ? this.release(own) : null;
  }

  /** sync, unmount what is mounted, detach what is attached — one batch — then forget them. */
  async release(entries: readonly LoopEntry[]): Promise<LoopActionResult> {
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
      const result = await this.run(steps).catch((error: unknown) => explainBusyUnmount(error, steps));
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
}
