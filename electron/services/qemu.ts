/**
 * "Launch in QEMU": independent sessions, each one qemu-system-* process spawned with an argument
 * array (never a shell). Its stdio carries the guest's serial console: streamed out as events,
 * fed from the app's console input, and watched for a line (`waitForSerial`, the CLI's
 * --expect). Stopping is SIGTERM, then SIGKILL after a grace period; every session is killed
 * when the host process exits, whatever way it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import {
  QEMU_DEFAULT_GDB_PORT,
  QEMU_DEFAULT_MEMORY_MIB,
  qemuLaunchSchema,
  type QemuCharTarget,
  type QemuCommand,
  type QemuLaunchOptions,
  type QemuSession,
  type QemuSessionStatus,
} from '../../shared/api/qemu';
import { floppyPresetForSize } from '../../shared/disk/geometry';
import { LoopbackError } from '../../shared/errors';
import { distroFamily, type DistroFamily } from '../../shared/host/tools';
import { shellLine } from '../../shared/util/shell-quote';
import { readOsRelease, searchPath } from '../platform/host-tools';
import {
  GDB_LISTEN_HOST,
  buildQemuArgs,
  chooseAccelerator,
  findUefiFirmware,
  probeKvm,
  resolveQemuProgram,
  type KvmProbe,
  type QemuCommandSpec,
} from '../platform/qemu';
import { bootFiles, chooseArch } from './boot-target';
import { imageInfo } from './disks';
import { isIsoFile } from './file-block-device';
import { WriteGuard } from './write-guard';

/** Refuses to boot an image that a loop device holds read-write or a mount holds, pointing at --snapshot. */
async function requireNotHeldForBoot(image: string, sizeBytes: number): Promise<void> {
  const guard = await WriteGuard.forImage(image, sizeBytes);
  try {
    guard.declare([{ offsetBytes: 0, sizeBytes: Math.max(sizeBytes, 1) }], 'boot it in QEMU, which writes to its disk');
  } catch (error) {
    if (error instanceof LoopbackError) {
      throw new LoopbackError(
        error.code,
        `${error.message} Or boot it without writing: \`loopstudio qemu … --snapshot\` (Launch read-only in the app).`,
        error.details,
      );
    }
    throw error;
  }
}
import { requireRegularFile } from './file-block-device';

export type { QemuCommand, QemuLaunchOptions, QemuSession, QemuSessionStatus } from '../../shared/api/qemu';

/** The events a session sends; the service host maps them to the contract's events. */
export interface QemuEvents {
  /** QEMU wrote to stdout: the serial console (or the debug console, if that is on stdio). */
  serial(payload: { sessionId: string; data: string }): void;
  /** QEMU wrote to stderr: its warnings and errors, and `-d guest_errors` without a log file. */
  log(payload: { sessionId: string; data: string }): void;
  exited(payload: { sessionId: string; code: number | null; signal: string | null; stopped: boolean; stderr: string }): void;
}

export interface QemuServiceOptions {
  events?: Partial<QemuEvents>;
  /** How long `stop` waits after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
  /** Where qemu-system-* is looked for (default: PATH plus the sbin folders). */
  searchDirs?: readonly string[];
  /** Whether KVM is usable (default: probeKvm()). */
  probeKvm?: () => Promise<KvmProbe>;
  /** Relocates the OVMF search, for tests. */
  firmwareRoot?: string;
}

/**
 * 'pipe': the service owns QEMU's stdio (the app, the harness, the CLI's --expect).
 * 'inherit': QEMU's stdio is the host's own — the CLI connects the terminal to the serial port.
 */
export type QemuConsoleMode = 'pipe' | 'inherit';

export interface QemuStartOptions {
  console?: QemuConsoleMode;
  /** Called with the command just before it is spawned (the CLI prints it first). */
  beforeSpawn?: (command: QemuCommand) => void;
  /**
   * Spawn QEMU with its CPU stopped (`-S`) and a QMP channel on its fd 3 (a socket pair, no file
   * or port); `resume()` starts the CPU. The guest reads nothing before it runs, so a caller may
   * finish writing the image meanwhile and QEMU's own start-up (tens of ms) is not on its path
   * (`loopstudio run`). The command shown (`commandLine`) stays the one a person would type.
   */
  paused?: boolean;
  /**
   * Linux: QEMU gets SIGTERM when this process dies, however it dies (SIGKILL included), through
   * util-linux's `setpriv --pdeathsig`; where setpriv is missing, QEMU is killed at exit only.
   */
  dieWithParent?: boolean;
  /**
   * With console 'inherit' and the serial port on stdio: QEMU's console keys on the terminal, as
   * `-serial mon:stdio` gives them (Ctrl+A X quits, Ctrl+A C the monitor) but with Ctrl+C still
   * ending QEMU (mon:stdio would pass it to the guest).
   */
  terminalKeys?: boolean;
  /** The holder (see hold()) this start belongs to: its own hold does not refuse it. */
  holder?: string;
  /**
   * A spare QEMU (with `paused` and a `holder`): it may start while the holder's own session runs
   * on the image, to take over from it once the holder has stopped it and rewritten the image
   * (`loopstudio run`). QEMU's own image locking is off for it (`file.locking=off`): the session it
   * replaces still holds the image's lock. It must never run beside that session.
   */
  standby?: boolean;
}

export interface SerialExpectResult {
  matched: boolean;
  /** matched; timeout; exited (QEMU ended first). */
  reason: 'matched' | 'timeout' | 'exited';
  /** Milliseconds from the session's start to the match, the timeout or the exit. */
  elapsedMs: number;
  /** Everything QEMU wrote to stdio so far (the last MiB). */
  output: string;
}

/** Console output kept per session: enough for --expect's report and a UI reattaching. */
const CAPTURE_CHARS = 1024 * 1024;
const CONSOLE_TAIL_CHARS = 64 * 1024;
const STDERR_TAIL_CHARS = 16 * 1024;
/** Serial events are batched for this long: a guest printing byte by byte must not flood IPC. */
const EVENT_BATCH_MS = 15;
/** Exited sessions remembered for status and restart. */
const MAX_EXITED_SESSIONS = 16;
const DEFAULT_STOP_GRACE_MS = 3000;

const tail = (text: string, chars: number): string => (text.length > chars ? text.slice(-chars) : text);

// Every QEMU this process started, across service instances: killed if the process exits
// without stopping them (an uncaught error, process.exit, the app quitting abruptly).
const liveChildren = new Set<ChildProcess>();
function killLiveChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
}
function trackChild(child: ChildProcess): void {
  if (liveChildren.size === 0) process.on('exit', killLiveChildren);
  liveChildren.add(child);
}
function untrackChild(child: ChildProcess): void {
  liveChildren.delete(child);
  if (liveChildren.size === 0) process.off('exit', killLiveChildren);
}

/** A launch worked out: the command, and what it holds while it runs. */
interface PreparedLaunch {
  command: QemuCommand;
  /** The image's real path, which no other session of ours may run at the same time. */
  imageKey: string | null;
  image: string | null;
  kernel: string | null;
  serialOnStdio: boolean;
}

interface SessionRecord {
  info: QemuSession;
  /** The holder that started it (QemuStartOptions.holder). */
  holder?: string;
  options: QemuLaunchOptions;
  consoleMode: QemuConsoleMode;
  prepared: PreparedLaunch;
  child: ChildProcess | null;
  captured: string;
  stderr: string;
  listeners: Set<(chunk: string) => void>;
  closed: Promise<void>;
  pendingSerial: string;
  pendingLog: string;
  flushTimer: NodeJS.Timeout | null;
  /** The QMP greeting's arrival, when the session was started paused (see QemuStartOptions.paused). */
  control: Promise<Duplex> | null;
}

function invalid(message: string, details?: Record<string, unknown>): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message, details);
}

async function requireFolderFor(file: string, what: string): Promise<void> {
  const folder = dirname(file);
  const stats = await fs.stat(folder).catch(() => null);
  if (!stats?.isDirectory()) throw new LoopbackError('NOT_FOUND', `${what}: the folder ${folder} does not exist`, { path: file });
}

/** Makes file targets absolute and checks their folders exist (QEMU would fail at start otherwise). */
async function resolveCharTarget(target: QemuCharTarget, what: string): Promise<QemuCharTarget> {
  if (target.kind !== 'file') return target;
  const path = resolve(target.path);
  await requireFolderFor(path, what);
  return { kind: 'file', path };
}

/** A CD for an ISO 9660 image (issue 16); a floppy when the image has a floppy format's exact size and no partition table entries. */
async function detectMedia(path: string, sizeBytes: number): Promise<'floppy' | 'disk' | 'cdrom'> {
  if (await isIsoFile(path, sizeBytes)) return 'cdrom';
  if (!floppyPresetForSize(sizeBytes)) return 'disk';
  const info = await imageInfo(path).catch(() => null);
  return info && info.partitions.length > 0 ? 'disk' : 'floppy';
}

let setprivPath: Promise<string | null> | null = null;
/** util-linux's setpriv (for --pdeathsig), looked up once. */
function findSetpriv(): Promise<string | null> {
  setprivPath ??= (async () => {
    for (const dir of searchPath()) {
      const path = `${dir}/setpriv`;
      if (
        await fs.access(path, fsConstants.X_OK).then(
          () => true,
          () => false,
        )
      )
        return path;
    }
    return null;
  })();
  return setprivPath;
}

/** The QMP channel on a paused QEMU's fd 3, once QEMU has greeted on it. */
function qmpGreeting(child: ChildProcess): Promise<Duplex> {
  const channel = child.stdio[3] as Duplex | null | undefined;
  if (!channel) return Promise.reject(new LoopbackError('INTERNAL', 'QEMU was started paused without its control channel'));
  channel.on('error', () => {});
  const greeting = new Promise<Duplex>((resolveGreeting, rejectGreeting) => {
    let text = '';
    const onData = (bytes: Buffer) => {
      text += bytes.toString('utf8');
      if (text.includes('"QMP"')) {
        channel.off('data', onData);
        resolveGreeting(channel);
      }
    };
    channel.on('data', onData);
    channel.once('close', () => rejectGreeting(new LoopbackError('IO', 'QEMU ended before its control channel opened')));
  });
  // Nobody may ever ask (QEMU stopped before resume): that is not an unhandled rejection.
  greeting.catch(() => {});
  return greeting;
}

export class QemuService {
  private readonly sessions = new Map<string, SessionRecord>();
  /** Images whose QEMU is being spawned right now: taken, like a running session's. */
  private readonly starting = new Set<string>();
  /** Images held by a holder (a `run` between its QEMU sessions): see hold(). */
  private readonly holds = new Map<string, string>();
  private family: Promise<DistroFamily> | null = null;

  constructor(private readonly options: QemuServiceOptions = {}) {}

  /** The command a launch would run, checked as `start` checks it; nothing is started. */
  async commandLine(options: QemuLaunchOptions): Promise<QemuCommand> {
    return (await this.prepare(options)).command;
  }

  async start(options: QemuLaunchOptions, startOptions: QemuStartOptions = {}): Promise<QemuSession> {
    if (startOptions.standby && !(startOptions.paused && startOptions.holder))
      throw invalid('a standby QEMU is started paused, by a holder');
    const prepared = await this.prepare(options, startOptions.holder, Boolean(startOptions.standby));
    const consoleMode = startOptions.console ?? 'pipe';
    const { imageKey } = prepared;
    // Checked again with no await before the reservation: two starts of one image cannot race.
    if (imageKey !== null) {
      this.requireImageFree(imageKey, startOptions.holder, Boolean(startOptions.standby));
      this.starting.add(imageKey);
    }
    let child: ChildProcess;
    try {
      startOptions.beforeSpawn?.(prepared.command);
      const [program, ...args] = await this.spawnArgv(prepared, consoleMode, startOptions);
      const stdio: Array<'pipe' | 'inherit'> = consoleMode === 'inherit' ? ['inherit', 'inherit', 'inherit'] : ['pipe', 'pipe', 'pipe'];
      if (startOptions.paused) stdio.push('pipe');
      child = spawn(program!, args, {
        stdio,
        shell: false,
        windowsHide: true,
      });
      await new Promise<void>((resolveSpawn, rejectSpawn) => {
        child.once('spawn', resolveSpawn);
        child.once('error', (error) => rejectSpawn(new LoopbackError('IO', `cannot start ${program}: ${error.message}`, { program })));
      });
    } catch (error) {
      if (imageKey !== null) this.starting.delete(imageKey);
      throw error;
    }
    trackChild(child);
    const sessionId = randomUUID();
    const record: SessionRecord = {
      info: {
        ...prepared.command,
        sessionId,
        state: 'running',
        pid: child.pid ?? null,
        image: prepared.image,
        kernel: prepared.kernel,
        startedAt: new Date().toISOString(),
        exitedAt: null,
        exitCode: null,
        signal: null,
        stopped: false,
      },
      options,
      consoleMode,
      prepared,
      ...(startOptions.holder !== undefined ? { holder: startOptions.holder } : {}),
      child,
      captured: '',
      stderr: '',
      listeners: new Set(),
      closed: Promise.resolve(),
      pendingSerial: '',
      pendingLog: '',
      flushTimer: null,
      control: startOptions.paused ? qmpGreeting(child) : null,
    };
    record.closed = new Promise<void>((resolveClosed) => {
      child.once('close', (code, signal) => {
        untrackChild(child);
        this.flushEvents(record);
        record.info.state = 'exited';
        record.info.exitCode = code;
        record.info.signal = signal;
        record.info.exitedAt = new Date().toISOString();
        record.child = null;
        this.options.events?.exited?.({
          sessionId,
          code,
          signal,
          stopped: record.info.stopped,
          stderr: tail(record.stderr, STDERR_TAIL_CHARS),
        });
        this.forgetOldSessions();
        resolveClosed();
      });
    });
    if (consoleMode === 'pipe') this.wireStdio(record, child);
    this.sessions.set(sessionId, record);
    if (imageKey !== null) this.starting.delete(imageKey);
    return { ...record.info };
  }

  /** Stops a session: SIGTERM, then SIGKILL if QEMU is still there after the grace period. */
  async stop(sessionId: string, graceMs = this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS): Promise<QemuSession> {
    const record = this.record(sessionId);
    const child = record.child;
    if (child && record.info.state === 'running') {
      record.info.state = 'stopping';
      record.info.stopped = true;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await record.closed;
      clearTimeout(force);
    }
    await record.closed;
    return { ...record.info };
  }

  /**
   * Starts the CPU of a session started with `paused`: QMP's `cont` on its control channel.
   * Resolves once QEMU has accepted it (or at once for a session that was not paused).
   */
  async resume(sessionId: string): Promise<void> {
    const record = this.record(sessionId);
    if (!record.control || record.info.state !== 'running') return;
    const channel = await record.control;
    await new Promise<void>((resolveCont, rejectCont) => {
      let answers = '';
      const onData = (bytes: Buffer) => {
        answers += bytes.toString('utf8');
        // Two answers: qmp_capabilities, then cont (events may come between: skipped).
        const replies = answers.split('\n').filter((line) => /"return"|"error"/.test(line));
        const failed = replies.find((line) => line.includes('"error"'));
        if (failed) finish(new LoopbackError('IO', `QEMU refused to start the CPU: ${failed.trim()}`, { sessionId }));
        else if (replies.length >= 2) finish(null);
      };
      const onClose = () => finish(new LoopbackError('IO', 'QEMU ended before its CPU was started', { sessionId }));
      const finish = (error: LoopbackError | null) => {
        channel.off('data', onData);
        channel.off('close', onClose);
        if (error) rejectCont(error);
        else resolveCont();
      };
      channel.on('data', onData);
      channel.once('close', onClose);
      channel.write('{"execute":"qmp_capabilities"}\n{"execute":"cont"}\n');
    });
  }

  /**
   * Holds an image for `holder` while it has no session running (a `run` between rebuilds): no
   * other start may take it meanwhile, only starts that name the same holder. Returns the release.
   */
  async hold(image: string, holder: string): Promise<() => void> {
    // An image that does not exist yet (a run's first build) is keyed as it will be.
    const imageKey = await fs
      .realpath(resolve(image))
      .catch(async () => join(await fs.realpath(dirname(resolve(image))).catch(() => dirname(resolve(image))), basename(image)));
    this.requireImageFree(imageKey, holder);
    this.holds.set(imageKey, holder);
    return () => {
      if (this.holds.get(imageKey) === holder) this.holds.delete(imageKey);
    };
  }

  /** Resolves when the session's QEMU has ended by itself (or been stopped). */
  async waitForExit(sessionId: string): Promise<QemuSession> {
    const record = this.record(sessionId);
    await record.closed;
    return { ...record.info };
  }

  /** Stops a session (if it still runs) and starts the same launch again, as a new session. */
  async restart(sessionId: string): Promise<QemuSession> {
    const record = this.record(sessionId);
    await this.stop(sessionId);
    return this.start(record.options, { console: record.consoleMode });
  }

  status(sessionId: string): QemuSessionStatus {
    const record = this.record(sessionId);
    return { ...record.info, consoleTail: tail(record.captured, CONSOLE_TAIL_CHARS), stderrTail: tail(record.stderr, STDERR_TAIL_CHARS) };
  }

  list(): QemuSession[] {
    return [...this.sessions.values()].map((record) => ({ ...record.info }));
  }

  /** Types into the guest's serial port (the app's console input). */
  async sendSerial(sessionId: string, data: string): Promise<{ bytes: number }> {
    const record = this.record(sessionId);
    const stdin = record.child?.stdin;
    if (record.info.state !== 'running' || !stdin) {
      throw invalid(`QEMU session ${sessionId} is not running${record.consoleMode === 'inherit' ? ' with its console here' : ''}`, {
        sessionId,
      });
    }
    if (!record.prepared.serialOnStdio)
      throw invalid('this session’s serial port is not connected to the console (it goes to a file or nowhere)', { sessionId });
    const bytes = Buffer.from(data, 'utf8');
    await new Promise<void>((resolveWrite, rejectWrite) =>
      stdin.write(bytes, (error) =>
        error ? rejectWrite(new LoopbackError('IO', `cannot write to QEMU: ${error.message}`)) : resolveWrite(),
      ),
    );
    return { bytes: bytes.length };
  }

  /** Listens to a session's console output as it arrives (unbatched). Returns the unsubscriber. */
  onOutput(sessionId: string, listener: (chunk: string) => void): () => void {
    const record = this.record(sessionId);
    record.listeners.add(listener);
    return () => record.listeners.delete(listener);
  }

  /**
   * Resolves as soon as `text` has appeared in the session's console output (including output
   * from before the call), or when `timeoutMs` passes, or when QEMU exits without printing it.
   */
  waitForSerial(sessionId: string, text: string, timeoutMs: number): Promise<SerialExpectResult> {
    const record = this.record(sessionId);
    if (text.length === 0) throw invalid('the text to wait for is empty');
    const started = Date.parse(record.info.startedAt);
    const result = (reason: SerialExpectResult['reason']): SerialExpectResult => ({
      matched: reason === 'matched',
      reason,
      elapsedMs: Date.now() - started,
      output: record.captured,
    });
    if (record.captured.includes(text)) return Promise.resolve(result('matched'));
    if (record.info.state === 'exited') return Promise.resolve(result('exited'));
    return new Promise((resolveWait) => {
      // Only the end of what came before can combine with a new chunk into a match.
      let carry = text.length > 1 ? record.captured.slice(-(text.length - 1)) : '';
      let done = false;
      const finish = (reason: SerialExpectResult['reason']) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        record.listeners.delete(onChunk);
        resolveWait(result(reason));
      };
      const onChunk = (chunk: string) => {
        const window = carry + chunk;
        if (window.includes(text)) return finish('matched');
        carry = text.length > 1 ? window.slice(-(text.length - 1)) : '';
      };
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      record.listeners.add(onChunk);
      void record.closed.then(() => finish('exited'));
    });
  }

  /** Stops every running session (the host is quitting). */
  async stopAll(graceMs?: number): Promise<void> {
    const running = [...this.sessions.values()].filter((r) => r.info.state !== 'exited');
    await Promise.all(running.map((r) => this.stop(r.info.sessionId, graceMs)));
  }

  /** One QEMU per image: a second one writing to it would corrupt it (and QEMU's own lock would refuse). */
  private requireImageFree(imageKey: string, asHolder?: string, besideOwn = false): void {
    const held = this.holds.get(imageKey);
    if (held !== undefined && held !== asHolder) {
      throw new LoopbackError('VALIDATION', `${imageKey} is held by ${held}, which rebuilds and boots it: stop that first.`, {
        path: imageKey,
      });
    }
    const holder = [...this.sessions.values()].find(
      (r) =>
        r.info.state !== 'exited' && r.prepared.imageKey === imageKey && !(besideOwn && asHolder !== undefined && r.holder === asHolder),
    );
    if (holder || this.starting.has(imageKey)) {
      const who = holder ? `session ${holder.info.sessionId}, pid ${holder.info.pid}` : 'starting now';
      throw new LoopbackError(
        'VALIDATION',
        `${imageKey} is already running in QEMU (${who}): a second QEMU writing to it would corrupt it. Stop that one first.`,
        { path: imageKey, ...(holder ? { sessionId: holder.info.sessionId } : {}) },
      );
    }
  }

  private record(sessionId: string): SessionRecord {
    const record = this.sessions.get(sessionId);
    if (!record) throw new LoopbackError('NOT_FOUND', `no QEMU session ${sessionId}`, { sessionId });
    return record;
  }

  private wireStdio(record: SessionRecord, child: ChildProcess): void {
    const out = new StringDecoder('utf8');
    const err = new StringDecoder('utf8');
    // QEMU may exit while the console still types into it: a failed write is reported to the
    // caller of sendSerial, not thrown at the process.
    child.stdin?.on('error', () => {});
    child.stdout?.on('data', (bytes: Buffer) => this.onConsole(record, out.write(bytes)));
    child.stdout?.on('end', () => this.onConsole(record, out.end()));
    child.stderr?.on('data', (bytes: Buffer) => this.onStderr(record, err.write(bytes)));
    child.stderr?.on('end', () => this.onStderr(record, err.end()));
  }

  private onConsole(record: SessionRecord, chunk: string): void {
    if (!chunk) return;
    record.captured = tail(record.captured + chunk, CAPTURE_CHARS);
    for (const listener of record.listeners) listener(chunk);
    record.pendingSerial += chunk;
    this.scheduleFlush(record);
  }

  private onStderr(record: SessionRecord, chunk: string): void {
    if (!chunk) return;
    record.stderr = tail(record.stderr + chunk, STDERR_TAIL_CHARS);
    record.pendingLog += chunk;
    this.scheduleFlush(record);
  }

  private scheduleFlush(record: SessionRecord): void {
    if (record.flushTimer) return;
    record.flushTimer = setTimeout(() => this.flushEvents(record), EVENT_BATCH_MS);
  }

  private flushEvents(record: SessionRecord): void {
    if (record.flushTimer) clearTimeout(record.flushTimer);
    record.flushTimer = null;
    const { sessionId } = record.info;
    if (record.pendingSerial) this.options.events?.serial?.({ sessionId, data: record.pendingSerial });
    if (record.pendingLog) this.options.events?.log?.({ sessionId, data: record.pendingLog });
    record.pendingSerial = '';
    record.pendingLog = '';
  }

  private forgetOldSessions(): void {
    const exited = [...this.sessions.values()].filter((r) => r.info.state === 'exited');
    for (const record of exited.slice(0, Math.max(0, exited.length - MAX_EXITED_SESSIONS))) this.sessions.delete(record.info.sessionId);
  }

  private hostFamily(): Promise<DistroFamily> {
    this.family ??= readOsRelease().then((release) => distroFamily(process.platform, release.ID, release.ID_LIKE));
    return this.family;
  }

  /** What is spawned: the command, plus what start options add (see QemuStartOptions). */
  private async spawnArgv(prepared: PreparedLaunch, consoleMode: QemuConsoleMode, startOptions: QemuStartOptions): Promise<string[]> {
    let argv = [...prepared.command.argv];
    if (startOptions.terminalKeys && consoleMode === 'inherit' && prepared.serialOnStdio) {
      const at = argv.findIndex((arg, i) => arg === 'stdio' && argv[i - 1] === '-serial');
      if (at > 0) {
        argv.splice(
          at - 1,
          2,
          '-chardev',
          'stdio,id=loopstudio-console,mux=on,signal=on',
          '-serial',
          'chardev:loopstudio-console',
          '-mon',
          'chardev=loopstudio-console,mode=readline',
        );
      }
    }
    if (startOptions.standby && prepared.image !== null) {
      // The image's -drive value, its commas doubled as QEMU's option syntax wants them.
      const drive = argv.findIndex(
        (arg, i) => argv[i - 1] === '-drive' && arg.startsWith(`file=${prepared.image!.replaceAll(',', ',,')},`),
      );
      if (drive > 0) argv[drive] = `${argv[drive]},file.locking=off`;
    }
    if (startOptions.paused) {
      if (!argv.includes('-S')) argv.push('-S');
      argv.push('-chardev', 'socket,id=loopstudio-control,fd=3,server=off', '-mon', 'chardev=loopstudio-control,mode=control');
    }
    if (startOptions.dieWithParent && process.platform === 'linux') {
      const setpriv = await findSetpriv();
      if (setpriv) argv = [setpriv, '--pdeathsig', 'TERM', '--', ...argv];
    }
    return argv;
  }

  /** Validates a launch against the host and the running sessions, and builds its command. */
  private async prepare(input: QemuLaunchOptions, holder?: string, besideOwn = false): Promise<PreparedLaunch> {
    const parsed = qemuLaunchSchema.safeParse(input);
    if (!parsed.success) {
      throw invalid(`qemu: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(launch)'}: ${i.message}`).join('; ')}`);
    }
    const options = parsed.data;
    const firmware = options.firmware ?? 'bios';
    if (firmware === 'uefi' && options.arch === 'i386') {
      throw invalid('UEFI boots with 64-bit OVMF on qemu-system-x86_64: use arch x86_64 (or the BIOS) for a 32-bit machine');
    }
    // `qemu kernel.elf`: a kernel given as the image is booted with -kernel (boot-target.ts).
    const boot = await bootFiles(options);
    if (options.append !== undefined && boot.kernel === undefined) throw invalid('a kernel command line (append) needs a kernel');

    const hostMiB = Math.floor(totalmem() / (1024 * 1024));
    // The default, on a host with room for it (half its memory at most, never under QEMU's 128).
    const memoryMiB = options.memoryMiB ?? Math.min(QEMU_DEFAULT_MEMORY_MIB, Math.max(128, Math.floor(hostMiB / 2)));
    if (memoryMiB > hostMiB)
      throw invalid(`${memoryMiB} MiB of guest memory is more than this computer has (${hostMiB} MiB)`, { memoryMiB, hostMiB });

    let image: string | null = null;
    let imageKey: string | null = null;
    let media: 'floppy' | 'disk' | 'cdrom' | null = null;
    if (boot.image !== undefined) {
      // Absolute, so QEMU cannot read "name:rest" as a protocol prefix (nbd:, http: …).
      image = resolve(boot.image);
      const stats = await requireRegularFile(image);
      imageKey = await fs.realpath(image);
      this.requireImageFree(imageKey, holder, besideOwn);
      // QEMU writing a disk the host has mounted (or attached read-write) corrupts both.
      if (!options.snapshot) await requireNotHeldForBoot(image, stats.size);
      const wanted = options.media ?? 'auto';
      media = wanted === 'auto' ? await detectMedia(image, stats.size) : wanted;
    }
    let kernel: string | null = null;
    if (boot.kernel !== undefined) {
      kernel = resolve(boot.kernel);
      await requireRegularFile(kernel);
    }
    const { arch, reason: archReason } = await chooseArch({
      ...(options.arch ? { arch: options.arch } : {}),
      firmware,
      image,
      kernel: boot.kernelImage,
      kernelName: kernel,
    });

    const serial = await resolveCharTarget(options.serial ?? { kind: 'stdio' }, 'the serial log');
    const debugcon = options.debugcon ? await resolveCharTarget(options.debugcon, 'the debug console log') : undefined;
    if (serial.kind === 'stdio' && debugcon?.kind === 'stdio') {
      throw invalid('the serial port and the debug console cannot both use stdio: send one of them to a file');
    }
    const guestErrorLog = options.guestErrorLog !== undefined ? resolve(options.guestErrorLog) : undefined;
    if (guestErrorLog !== undefined) await requireFolderFor(guestErrorLog, 'the guest error log');

    const wantGdb = Boolean(options.gdb || options.waitForGdb || options.gdbPort !== undefined);
    const gdbPort = options.gdbPort ?? QEMU_DEFAULT_GDB_PORT;
    if (wantGdb) {
      const other = [...this.sessions.values()].find((r) => r.info.state !== 'exited' && r.info.gdb?.port === gdbPort);
      if (other)
        throw new LoopbackError('VALIDATION', `gdb port ${gdbPort} is taken by QEMU session ${other.info.sessionId}: choose another port`, {
          gdbPort,
        });
    }

    const family = await this.hostFamily();
    const kvm = await (this.options.probeKvm ?? probeKvm)();
    const accel = chooseAccelerator(options.accel ?? 'auto', kvm);
    const uefi = firmware === 'uefi' ? await findUefiFirmware(family, this.options.firmwareRoot) : null;
    const program = await resolveQemuProgram(arch, family, this.options.searchDirs ?? searchPath());

    const spec: QemuCommandSpec = {
      program,
      ...(image !== null && media !== null ? { drive: { path: image, media } } : {}),
      ...(kernel !== null
        ? {
            kernel: {
              path: kernel,
              ...(options.append !== undefined ? { append: options.append } : {}),
              ...(boot.initrd !== undefined ? { initrd: boot.initrd } : {}),
            },
          }
        : {}),
      memoryMiB,
      cpus: options.cpus ?? 1,
      serial,
      ...(debugcon ? { debugcon } : {}),
      ...(wantGdb ? { gdb: { port: gdbPort, wait: Boolean(options.waitForGdb) } } : {}),
      ...(options.guestErrors || guestErrorLog !== undefined
        ? { guestErrors: guestErrorLog !== undefined ? { logFile: guestErrorLog } : {} }
        : {}),
      noReboot: options.noReboot ?? true,
      noShutdown: options.noShutdown ?? false,
      display: options.display ?? 'none',
      accel: accel.accel,
      firmware: uefi ? { kind: 'uefi', files: uefi } : { kind: 'bios' },
      debugExit: Boolean(options.debugExit),
      ...(options.snapshot && image !== null ? { snapshot: true } : {}),
    };
    const argv = [program, ...buildQemuArgs(spec)];
    return {
      command: {
        argv,
        commandLine: shellLine(argv),
        arch,
        archReason,
        memoryMiB,
        media,
        accel: accel.accel,
        accelReason: accel.reason,
        firmware,
        gdb: spec.gdb ? { host: GDB_LISTEN_HOST, port: spec.gdb.port, waiting: spec.gdb.wait } : null,
      },
      imageKey,
      image,
      kernel,
      serialOnStdio: serial.kind === 'stdio',
    };
  }
}
