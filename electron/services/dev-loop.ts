/**
 * The developer's inner loop (issue 15), shared by `loopstudio run` and the app's Run button: a
 * *run* builds an image from its recipe when it is out of date, boots it, and with `watch`
 * watches the recipe and every source it copies; on a change (once the writes have settled — a
 * compiler writes in pieces) it prepares the rebuild while the old machine still runs, then stops
 * QEMU, updates the image (rebuild.ts: only what changed) and boots again. A build error is shown
 * and the old machine keeps running until the next good change.
 *
 * One QEMU and one writer per image: the run holds the image in the QEMU service between its
 * sessions (no other session may start on it) and takes the image's lock across processes
 * (image-lock.ts), released when the run stops — or by the kernel when the process dies. QEMU is
 * started to die with this process (QemuStartOptions.dieWithParent), so a killed run leaves no
 * QEMU behind either.
 *
 * After an incremental rebuild, the new QEMU is spawned paused while the image is written and
 * started once it is (QemuStartOptions.paused): QEMU's own start-up, tens of milliseconds, is off
 * the path from the change to the new kernel's first line. With a console the service owns (the
 * app, a CLI whose output is not a terminal) and no gdb stub, the run goes further: a second
 * before each boot is over it starts the next QEMU already, paused and with QEMU's image lock off
 * (QemuStartOptions.standby), and a rebuild then only stops the old one, writes the image and
 * starts the spare's CPU. A full build (a new file) throws the spare away.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { RunReport, RunStartOptions, RunStatus } from '../../shared/api/run';
import { QEMU_DEFAULT_GDB_PORT, type QemuLaunchOptions } from '../../shared/api/qemu';
import { LoopbackError, serializeError } from '../../shared/errors';
import { shellQuote } from '../../shared/util/shell-quote';
import { lockImage, type ImageLock } from './image-lock';
import type { QemuConsoleMode, QemuService, QemuSession } from './qemu';
import { prepareUpdate, syncImageState, type PreparedUpdate } from './rebuild';
import { defaultOutput } from './recipe-sources';

/** How long the sources must be quiet before a rebuild starts. */
export const DEFAULT_SETTLE_MS = 50;
/** How long after a boot the spare QEMU for the next rebuild is started (not to slow that boot). */
export const STANDBY_DELAY_MS = 1000;

/** A line for a person (the CLI prints them; the app shows the status instead). */
export interface RunLine {
  level: 'info' | 'error' | 'rule';
  text: string;
}

export interface DevRunOptions extends RunStartOptions {
  /** 'inherit': QEMU's stdio is this process's own (the CLI on a terminal). Default 'pipe'. */
  console?: QemuConsoleMode;
  /** Ctrl+A X on the terminal (with console 'inherit'). */
  terminalKeys?: boolean;
  onLine?: (line: RunLine) => void;
  /** Called with the command just before each QEMU is spawned. */
  beforeSpawn?: (commandLine: string) => void;
  /** Called with each new QEMU session, before its CPU runs (the CLI streams its console). */
  onBoot?: (session: QemuSession) => void;
  /** false: no spare QEMU between rebuilds (see the file comment). */
  standby?: boolean;
}

/** The recipe beside an image: disk.img → disk.json (what the wizard saves). */
export function recipeBeside(image: string): string {
  const path = resolve(image);
  return join(dirname(path), `${basename(path).replace(/\.[^./]*$/, '')}.json`);
}

/** 1234 when it is free on 127.0.0.1, else any free port (a run keeps it across its restarts). */
export async function freeGdbPort(preferred = QEMU_DEFAULT_GDB_PORT): Promise<number> {
  const listen = (port: number) =>
    new Promise<number | null>((resolveListen) => {
      const server = createServer();
      server.once('error', () => resolveListen(null));
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
        const address = server.address();
        const got = typeof address === 'object' && address ? address.port : null;
        server.close(() => resolveListen(got));
      });
    });
  return (await listen(preferred)) ?? (await listen(0)) ?? preferred;
}

/** The gdb command that attaches to the stub with the kernel's symbols. */
export function gdbCommand(kernel: string | null, port: number): string {
  return ['gdb', ...(kernel ? ['-ex', shellQuote(`file ${kernel}`)] : []), '-ex', shellQuote(`target remote localhost:${port}`)].join(' ');
}

const clock = (iso: string) => new Date(iso).toTimeString().slice(0, 8);

/**
 * Watches files (through their folders: an editor or a linker often replaces a file rather than
 * writing it, which a watch on the file itself would lose) and folders (recursively), and calls
 * `onChange` once they have been quiet for `settleMs`.
 */
class SourceWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  paths: string[] = [];

  constructor(
    private readonly settleMs: number,
    private readonly ignore: (path: string) => boolean,
    private readonly onChange: () => void,
  ) {}

  update(paths: readonly string[]): void {
    const wanted = [...new Set(paths.map((p) => resolve(p)))].sort();
    if (wanted.join('\0') === this.paths.join('\0') && this.watchers.length) return;
    this.closeWatchers();
    this.paths = wanted;
    const files = new Map<string, Set<string>>();
    const folders: string[] = [];
    for (const path of wanted) {
      let folder = false;
      try {
        folder = statSync(path).isDirectory();
      } catch {
        // Missing now: its folder is watched for it to appear.
      }
      if (folder) folders.push(path);
      else {
        const dir = dirname(path);
        if (!files.has(dir)) files.set(dir, new Set());
        files.get(dir)!.add(basename(path));
      }
    }
    for (const [dir, names] of files) {
      if (!existsSync(dir)) continue;
      this.add(dir, false, (name) => names.has(name));
    }
    for (const folder of folders) this.add(folder, true, () => true);
  }

  private add(dir: string, recursive: boolean, wants: (name: string) => boolean): void {
    try {
      const watcher = watch(dir, { recursive, persistent: true }, (_event, filename) => {
        const name = filename === null ? null : filename.toString();
        if (name !== null && (!wants(recursive ? name.split(sep)[0]! : name) || this.ignore(join(dir, name)))) return;
        this.poke();
      });
      watcher.on('error', () => {});
      this.watchers.push(watcher);
    } catch {
      // A folder that vanished: the next update() tries again.
    }
  }

  private poke(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.onChange();
    }, this.settleMs);
  }

  private closeWatchers(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.closeWatchers();
  }
}

/** One run: see the file comment. */
export class DevRun {
  readonly id = randomUUID();
  readonly status: RunStatus;
  private readonly holder: string;
  private lock: ImageLock | null = null;
  private releaseHold: (() => void) | null = null;
  private watcher: SourceWatcher | null = null;
  private session: QemuSession | null = null;
  /** The session this run stopped itself (its exit is not news). */
  private stopping = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private pending = false;
  private busy = false;
  /** Set first thing by stop(): every step checks it before it starts something. */
  private stopped = false;
  /** The next cycle boots again even when nothing changed (the app's Rebuild button). */
  private restart = false;
  private abort = new AbortController();
  private ended!: () => void;
  /** Resolves when the run is over (stopped, or its QEMU ended without watch). */
  readonly done: Promise<void>;
  private readonly launch: QemuLaunchOptions;
  private readonly settleMs: number;
  /** The status of a QEMU started paused, announced once it runs (see boot()). */
  private announce: Partial<RunStatus> | null = null;
  /** The spare QEMU for the next rebuild (see the file comment), its timer and its start. */
  private standby: QemuSession | null = null;
  private standbyTimer: NodeJS.Timeout | null = null;
  private standbyStarting: Promise<void> | null = null;
  /** What the last good prepare said the recipe reads (kept while the recipe is broken). */
  private inputs: string[] = [];

  constructor(
    private readonly qemu: QemuService,
    private readonly options: DevRunOptions,
    private readonly onStatus: (status: RunStatus) => void,
  ) {
    const recipe = resolve(options.recipe ?? recipeBeside(options.image!));
    const image = resolve(options.image ?? defaultOutput(recipe));
    this.holder = `a run of ${basename(recipe)} (${this.id.slice(0, 8)})`;
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
    this.launch = { ...(options.launch ?? {}), image };
    this.status = {
      runId: this.id,
      recipe,
      image,
      state: 'building',
      watch: Boolean(options.watch),
      sessionId: null,
      pid: null,
      commandLine: null,
      boots: 0,
      gdb: null,
      lastReport: null,
      lastError: null,
      exit: null,
      watching: [],
    };
    this.done = new Promise((resolveDone) => (this.ended = resolveDone));
  }

  private line(level: RunLine['level'], text: string): void {
    this.options.onLine?.({ level, text });
  }

  private changed(patch: Partial<RunStatus>): void {
    Object.assign(this.status, patch);
    this.onStatus({ ...this.status });
  }

  /** Takes the image, builds it if needed, boots it, and starts watching. Throws when the first build fails. */
  async start(): Promise<void> {
    const { image, recipe } = this.status;
    try {
      if (this.options.gdb || this.options.waitForGdb) {
        const port = this.options.gdbPort ?? (await freeGdbPort());
        this.changed({
          gdb: { host: '127.0.0.1', port, waiting: Boolean(this.options.waitForGdb), command: gdbCommand(null, port), kernel: null },
        });
      }
      const what = `loopstudio run ${basename(recipe)}${this.options.watch ? ' --watch' : ''}`;
      this.lock = await lockImage(image, what, this.status.gdb ? { gdbPort: this.status.gdb.port } : {});
      this.releaseHold = await this.qemu.hold(image, this.holder);
      this.changed({ state: 'building' });
      const prepared = await prepareUpdate(recipe, this.updateOptions());
      if (prepared.unowned && this.options.watch && !this.options.force) {
        await prepared.discard();
        throw new LoopbackError(
          'ALREADY_EXISTS',
          `${image} was not built by \`loopstudio run\` (it has no build state beside it): rebuilding it on a change would replace it, with any changes made to it since. Pass --force to let the run rebuild it from ${basename(recipe)}`,
          { path: image },
        );
      }
      this.kernelFrom(prepared);
      this.inputs = prepared.inputs;
      const report = await prepared.apply();
      this.reported(report, false);
      await this.boot(false);
      if (this.options.watch) this.watch(prepared.inputs);
    } catch (error) {
      this.stopped = true;
      await this.stopSession();
      await this.release();
      this.changed({ state: 'stopped' });
      this.ended();
      throw error;
    }
  }

  private updateOptions() {
    return {
      output: this.status.image,
      ...(this.options.force ? { force: true } : {}),
      ...(this.options.allowOutside ? { allowOutside: this.options.allowOutside } : {}),
      signal: this.abort.signal,
    };
  }

  private kernelFrom(prepared: PreparedUpdate): void {
    const gdb = this.status.gdb;
    if (gdb && gdb.kernel !== prepared.kernel)
      this.changed({ gdb: { ...gdb, kernel: prepared.kernel, command: gdbCommand(prepared.kernel, gdb.port) } });
  }

  private reported(report: RunReport, rule: boolean): void {
    this.changed({ lastReport: report, lastError: null });
    if (report.kind === 'none') this.line('info', `${basename(this.status.image)} is ${report.summary}`);
    else this.line('info', `${report.kind === 'full' ? `${basename(this.status.image)}: ` : ''}${report.summary}`);
    if (rule) this.line('rule', `— rebuilt ${clock(report.at)}: ${report.short} —`);
  }

  private watch(inputs: readonly string[]): void {
    this.inputs = [...inputs];
    const image = this.status.image;
    const ignore = (path: string) =>
      dirname(path) === dirname(image) && (basename(path) === basename(image) || basename(path).startsWith(`.${basename(image)}`));
    this.watcher ??= new SourceWatcher(this.settleMs, ignore, () => this.schedule());
    this.watcher.update(inputs);
    this.changed({ watching: this.watcher.paths });
  }

  /** Sets "Rebuild on change" while running. */
  setWatch(on: boolean): void {
    if (this.stopped) return;
    if (on && !this.status.watch) {
      this.changed({ watch: true });
      this.watch(this.inputs.length ? this.inputs : [this.status.recipe]);
      // What changed while nothing watched is built now.
      void this.schedule();
    } else if (!on && this.status.watch) {
      this.watcher?.close();
      this.watcher = null;
      void this.dropStandby();
      this.changed({ watch: false, watching: [] });
    }
  }

  /** Runs a rebuild cycle after the one in progress (changes coalesce into one). */
  schedule(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.busy) {
      this.pending = true;
      return this.queue;
    }
    this.queue = this.queue.then(() => this.cycles());
    return this.queue;
  }

  private async cycles(): Promise<void> {
    this.busy = true;
    try {
      do {
        this.pending = false;
        await this.cycle();
      } while (this.pending && !this.stopped);
    } finally {
      this.busy = false;
    }
  }

  /** One rebuild: prepare while the old machine runs, then stop it, write, boot. */
  private async cycle(): Promise<void> {
    if (this.stopped) return;
    const restart = this.restart;
    this.restart = false;
    const running = this.session !== null && this.qemuRunning();
    this.changed({ state: running ? 'rebuilding' : 'building' });
    let prepared: PreparedUpdate;
    try {
      prepared = await prepareUpdate(this.status.recipe, this.updateOptions());
    } catch (error) {
      if (this.stopped) return;
      this.failed(error, running);
      return;
    }
    if (this.stopped) {
      await prepared.discard();
      return;
    }
    if (this.status.watch) this.watch(prepared.inputs);
    this.kernelFrom(prepared);
    if (prepared.kind === 'none' && running && !restart) {
      this.line('info', `nothing to rebuild: ${prepared.reason}`);
      // A good recipe again: the last error is over.
      this.changed({ state: 'running', lastError: null });
      return;
    }
    const spare = prepared.kind === 'incremental' ? await this.takeStandby() : null;
    if (prepared.kind === 'full') await this.dropStandby();
    await this.stopSession();
    let report: RunReport;
    try {
      if (spare) {
        // The spare takes over: the old QEMU is gone, the image is written, the spare's CPU runs.
        try {
          report = await prepared.apply();
        } catch (error) {
          this.stopping.add(spare.sessionId);
          await this.qemu.stop(spare.sessionId).catch(() => {});
          throw error;
        }
        this.changed({ state: 'booting' });
        this.adopt(spare, true);
        this.reported(report, true);
        await this.resume();
        return;
      }
      if (prepared.kind === 'incremental') {
        // QEMU starts (paused) while the image is written; its CPU runs once the image is whole.
        const booting = this.boot(true).then(
          () => null,
          (error: unknown) => error,
        );
        try {
          report = await prepared.apply();
        } catch (error) {
          await booting;
          this.announce = null;
          await this.stopSession();
          throw error;
        }
        const bootError = await booting;
        if (bootError) throw bootError;
        this.reported(report, true);
        await this.resume();
        return;
      }
      report = await prepared.apply();
    } catch (error) {
      this.failed(error, false);
      if (prepared.kind === 'incremental') await this.recoverFull();
      return;
    }
    this.reported(report, true);
    await this.boot(false).catch((error: unknown) => this.failed(error, false));
  }

  /** After a failed incremental write, the image is built anew before booting again. */
  private async recoverFull(): Promise<void> {
    try {
      await this.dropStandby();
      const prepared = await prepareUpdate(this.status.recipe, { ...this.updateOptions(), full: true });
      const report = await prepared.apply();
      this.reported(report, true);
      await this.boot(false);
    } catch (error) {
      this.failed(error, false);
    }
  }

  private failed(error: unknown, keptRunning: boolean): void {
    const e = serializeError(error);
    const at = new Date().toISOString();
    const since = this.session ? ` from ${clock(this.session.startedAt)}` : '';
    this.changed({
      lastError: { at, code: e.code, message: e.message },
      ...(this.stopped ? {} : { state: this.qemuRunning() ? 'running' : 'idle' }),
    });
    this.line('error', `build failed: ${e.message}${keptRunning ? `\n(the machine${since} keeps running; fix it and save again)` : ''}`);
  }

  private qemuRunning(): boolean {
    if (!this.session) return false;
    try {
      return this.qemu.status(this.session.sessionId).state === 'running';
    } catch {
      return false;
    }
  }

  /** Starts QEMU on the image; `paused` when the image is still being written. */
  private async boot(paused: boolean): Promise<void> {
    if (this.stopped) return;
    this.changed({ state: 'booting' });
    const session = await this.qemu.start(this.launchOptions(), {
      console: this.options.console ?? 'pipe',
      holder: this.holder,
      dieWithParent: true,
      paused,
      ...(this.options.terminalKeys ? { terminalKeys: true } : {}),
      beforeSpawn: (command) => this.options.beforeSpawn?.(command.commandLine),
    });
    this.adopt(session, paused);
  }

  /** Makes `session` the run's QEMU (announced at once, or at resume when it is paused). */
  private adopt(session: QemuSession, paused: boolean): void {
    const gdb = this.status.gdb;
    this.session = session;
    if (this.stopped) {
      void this.stopSession();
      return;
    }
    this.options.onBoot?.(session);
    const booted: Partial<RunStatus> = {
      state: 'running',
      sessionId: session.sessionId,
      pid: session.pid,
      commandLine: session.commandLine,
      boots: this.status.boots + 1,
      exit: null,
    };
    // A paused QEMU is announced when its CPU starts (resume), after the rebuild's report: what
    // shows the new session (the app's rule) then says what changed.
    if (paused) this.announce = booted;
    else this.changed(booted);
    if (gdb) this.line('info', `gdb stub on ${gdb.host}:${gdb.port}${gdb.waiting ? ', the CPU waits for gdb' : ''}: ${gdb.command}`);
    void this.qemu.waitForExit(session.sessionId).then((ended) => this.onExit(ended));
    // The image reaches the disk off the rebuild's path (rebuild.ts, "synced").
    if (!paused) {
      void syncImageState(this.status.image).catch(() => {});
      this.planStandby();
    }
  }

  private launchOptions(): QemuLaunchOptions {
    const gdb = this.status.gdb;
    return { ...this.launch, ...(gdb ? { gdb: true, gdbPort: gdb.port, ...(gdb.waiting ? { waitForGdb: true } : {}) } : {}) };
  }

  /** Starts the spare QEMU a while after this boot, when the run can use one. */
  private planStandby(): void {
    const usable = this.status.watch && !this.status.gdb && (this.options.console ?? 'pipe') === 'pipe' && this.options.standby !== false;
    if (this.stopped || !usable || this.standby || this.standbyTimer || this.standbyStarting) return;
    this.standbyTimer = setTimeout(() => {
      this.standbyTimer = null;
      this.standbyStarting = this.startStandby().finally(() => (this.standbyStarting = null));
    }, STANDBY_DELAY_MS);
    this.standbyTimer.unref();
  }

  private async startStandby(): Promise<void> {
    if (this.stopped || this.standby) return;
    try {
      const session = await this.qemu.start(this.launchOptions(), {
        console: 'pipe',
        holder: this.holder,
        dieWithParent: true,
        paused: true,
        standby: true,
      });
      this.standby = session;
      void this.qemu.waitForExit(session.sessionId).then(() => {
        if (this.standby?.sessionId === session.sessionId) this.standby = null;
      });
      if (this.stopped) await this.dropStandby();
    } catch {
      // No spare: the next rebuild starts QEMU itself.
    }
  }

  /** Resolves once the spare QEMU is up (started at once if it was only planned); false when there is none. */
  async standbyReady(): Promise<boolean> {
    if (this.standbyTimer) {
      clearTimeout(this.standbyTimer);
      this.standbyTimer = null;
      this.standbyStarting = this.startStandby().finally(() => (this.standbyStarting = null));
    }
    await this.standbyStarting;
    return this.standby !== null;
  }

  /** The spare, taken for a rebuild (null when there is none, or it died). */
  private async takeStandby(): Promise<QemuSession | null> {
    await this.standbyStarting;
    const spare = this.standby;
    this.standby = null;
    if (!spare) return null;
    try {
      if (this.qemu.status(spare.sessionId).state === 'running') return spare;
    } catch {
      // forgotten
    }
    return null;
  }

  /** Stops the spare (a full build made a new file it does not have open; the run stops). */
  private async dropStandby(): Promise<void> {
    if (this.standbyTimer) clearTimeout(this.standbyTimer);
    this.standbyTimer = null;
    await this.standbyStarting;
    const spare = this.standby;
    this.standby = null;
    if (spare) {
      this.stopping.add(spare.sessionId);
      await this.qemu.stop(spare.sessionId).catch(() => {});
    }
  }

  private async resume(): Promise<void> {
    const session = this.session;
    if (!session) return;
    if (this.announce) this.changed(this.announce);
    this.announce = null;
    // With --wait-gdb the CPU stays stopped: gdb's `continue` starts it.
    if (!this.status.gdb?.waiting) await this.qemu.resume(session.sessionId).catch((error: unknown) => this.failed(error, false));
    void syncImageState(this.status.image).catch(() => {});
    this.planStandby();
  }

  private onExit(ended: QemuSession): void {
    if (this.stopping.has(ended.sessionId)) {
      this.stopping.delete(ended.sessionId);
      return;
    }
    if (this.session?.sessionId !== ended.sessionId || this.stopped) return;
    const exit = { code: ended.exitCode, signal: ended.signal, stopped: ended.stopped };
    const how = ended.signal ? `was ended by ${ended.signal}` : `exited with status ${ended.exitCode}`;
    if (this.status.watch) {
      this.changed({ exit, state: this.busy ? this.status.state : 'idle' });
      this.line('info', `QEMU ${how}; waiting for a change (Ctrl+C ends the run)`);
    } else {
      this.changed({ exit });
      this.line('info', `QEMU ${how}`);
      void this.stop();
    }
  }

  private async stopSession(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.stopping.add(session.sessionId);
    await this.qemu.stop(session.sessionId).catch(() => {});
  }

  /** Rebuilds now and boots again, whether or not anything changed or is watched (the app's Rebuild button). */
  rebuild(): Promise<void> {
    this.restart = true;
    return this.schedule();
  }

  /** Stops QEMU and the watch, and lets go of the image. */
  async stop(): Promise<void> {
    if (this.stopped) return this.done;
    this.stopped = true;
    this.abort.abort();
    this.watcher?.close();
    this.watcher = null;
    await this.queue.catch(() => {});
    await this.dropStandby();
    await this.stopSession();
    await this.release();
    this.changed({ state: 'stopped', watching: [] });
    this.ended();
    return this.done;
  }

  private async release(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
    this.releaseHold?.();
    this.releaseHold = null;
    await this.lock?.release();
    this.lock = null;
  }

  /** QEMU's exit status, for the CLI (null when QEMU did not end by itself). */
  exitCode(): number | null {
    return this.status.exit && !this.status.exit.stopped ? this.status.exit.code : null;
  }
}

/** The runs of this process: what the contract's run.* methods call. */
export class DevLoopService {
  private readonly runs = new Map<string, DevRun>();

  constructor(
    private readonly qemu: QemuService,
    private readonly onStatus: (status: RunStatus) => void = () => {},
  ) {}

  /** Starts a run; resolves once its first build is done and QEMU has started. */
  async start(options: DevRunOptions): Promise<DevRun> {
    const run = new DevRun(this.qemu, options, (status) => this.onStatus(status));
    this.runs.set(run.id, run);
    void run.done.then(() => {
      // Forgotten a while after it ended, so a late status call still answers.
      setTimeout(() => this.runs.delete(run.id), 60_000).unref();
    });
    await run.start();
    return run;
  }

  run(runId: string): DevRun {
    const run = this.runs.get(runId);
    if (!run) throw new LoopbackError('NOT_FOUND', `no run ${runId}`, { runId });
    return run;
  }

  list(): RunStatus[] {
    return [...this.runs.values()].map((run) => ({ ...run.status }));
  }

  /** The recipe beside an image, if there is one (the app shows Run only then). */
  recipeFor(image: string): { recipe: string | null; image: string } {
    const recipe = recipeBeside(image);
    try {
      return { recipe: statSync(recipe).isFile() ? recipe : null, image: resolve(image) };
    } catch {
      return { recipe: null, image: resolve(image) };
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.runs.values()].map((run) => run.stop()));
  }
}
