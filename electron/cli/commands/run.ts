import type { RunLaunchOptions } from '../../../shared/api/run';
import { LoopbackError } from '../../../shared/errors';
import type { RunLine } from '../../services/dev-loop';
import type { QemuSession } from '../../services/qemu';
import { output, type Command } from '../command';
import { charTarget, memoryMiB, wholeNumber } from './qemu';

const DEFAULT_EXPECT_TIMEOUT_SECONDS = 30;

function invalid(message: string): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message);
}

const usage =
  'loopstudio run RECIPE.json [-o IMAGE] [--watch [--settle MS]] [--gdb [--wait-gdb] [--gdb-port PORT]] [--print-gdb]\n' +
  '         [--expect TEXT [--timeout SECONDS]] [--force] [--full] [--allow-outside DIR]…\n' +
  '         [--arch i386|x86_64] [--floppy|--disk] [--memory MIB] [--smp N] [--serial stdio|file:PATH|none]\n' +
  '         [--debugcon stdio|file:PATH|none] [--guest-errors] [--uefi] [--kvm|--no-kvm] [--debug-exit]\n' +
  '         [--no-shutdown] [--reboot] [--window] [--snapshot] [--json]\n\n' +
  'Builds IMAGE (default: the recipe with .img, beside it) when it is missing or out of date — only\n' +
  'what changed, when it was built by run before — boots it, and shows its serial port here\n' +
  '(Ctrl+A X or Ctrl+C ends QEMU). With --watch, every change to the recipe or a file it copies\n' +
  'rebuilds the image and boots it again, once the writes have settled (--settle, default 50 ms);\n' +
  "a build error is shown and the running machine is kept. --gdb starts QEMU's gdb stub (on 1234,\n" +
  "or a free port) and prints the gdb command with the kernel's symbols; --wait-gdb holds the CPU\n" +
  'until gdb continues it; --print-gdb only prints that command. With --expect it is a boot smoke\n' +
  'test: exit 0 when TEXT appears on the serial port, 1 otherwise.\n' +
  'run keeps what it built from what beside the image (.IMAGE.build-state.json). An existing image\n' +
  'without it (made by hand, by build, by the app) is replaced only with --force.';

function launchOptions(values: Record<string, unknown>): RunLaunchOptions {
  const str = (name: string) => values[name] as string | undefined;
  const flag = (name: string) => Boolean(values[name]);
  if (flag('floppy') && flag('disk')) throw invalid('give --floppy or --disk, not both');
  if (flag('kvm') && flag('no-kvm')) throw invalid('give --kvm or --no-kvm, not both');
  const arch = str('arch');
  if (arch !== undefined && arch !== 'i386' && arch !== 'x86_64') throw invalid(`--arch is i386 or x86_64, not "${arch}"`);
  const serial = charTarget(str('serial'), 'serial');
  const debugcon = charTarget(str('debugcon'), 'debugcon');
  const memory = memoryMiB(str('memory'));
  const cpus = wholeNumber(str('smp'), 'smp');
  return {
    ...(arch !== undefined ? { arch } : {}),
    ...(flag('floppy') ? { media: 'floppy' as const } : flag('disk') ? { media: 'disk' as const } : {}),
    ...(memory !== undefined ? { memoryMiB: memory } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    ...(serial ? { serial } : {}),
    ...(debugcon ? { debugcon } : {}),
    ...(flag('guest-errors') ? { guestErrors: true } : {}),
    ...(flag('reboot') ? { noReboot: false } : {}),
    ...(flag('no-shutdown') ? { noShutdown: true } : {}),
    ...(flag('window') ? { display: 'window' as const } : {}),
    ...(flag('kvm') ? { accel: 'kvm' as const } : flag('no-kvm') ? { accel: 'tcg' as const } : {}),
    ...(flag('uefi') ? { firmware: 'uefi' as const } : {}),
    ...(flag('debug-exit') ? { debugExit: true } : {}),
    ...(flag('snapshot') ? { snapshot: true } : {}),
  };
}

function seconds(text: string | undefined, option: string, fallback: number | null): number | null {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value <= 0 || value > 24 * 60 * 60)
    throw invalid(`--${option} takes seconds (more than 0, at most a day), not "${text}"`);
  return value * 1000;
}

export const run: Command = {
  name: 'run',
  summary:
    'Build an image from its recipe when out of date, boot it; --watch rebuilds what changed and boots again; --gdb for the debugger',
  usage,
  options: {
    output: { type: 'string', short: 'o' },
    watch: { type: 'boolean', short: 'w' },
    settle: { type: 'string' },
    gdb: { type: 'boolean' },
    'wait-gdb': { type: 'boolean' },
    'gdb-port': { type: 'string' },
    'print-gdb': { type: 'boolean' },
    expect: { type: 'string' },
    timeout: { type: 'string' },
    force: { type: 'boolean' },
    full: { type: 'boolean' },
    'allow-outside': { type: 'string', multiple: true },
    arch: { type: 'string' },
    floppy: { type: 'boolean' },
    disk: { type: 'boolean' },
    memory: { type: 'string', short: 'm' },
    smp: { type: 'string' },
    serial: { type: 'string' },
    debugcon: { type: 'string' },
    'guest-errors': { type: 'boolean' },
    uefi: { type: 'boolean' },
    kvm: { type: 'boolean' },
    'no-kvm': { type: 'boolean' },
    'debug-exit': { type: 'boolean' },
    snapshot: { type: 'boolean' },
    'no-shutdown': { type: 'boolean' },
    reboot: { type: 'boolean' },
    window: { type: 'boolean' },
  },
  async run(ctx) {
    const v = ctx.values;
    const [recipe, ...extra] = ctx.positionals;
    if (!recipe || extra.length) throw invalid(`name one recipe file (usage: ${usage})`);
    const watch = Boolean(v.watch);
    const expect = v.expect as string | undefined;
    if (expect !== undefined && watch) throw invalid('--expect ends the run when TEXT appears: it does not go with --watch');
    if (expect === '') throw invalid('--expect needs the text to wait for');
    if (v.timeout !== undefined && expect === undefined) throw invalid('--timeout goes with --expect TEXT');
    const timeoutMs = seconds(v.timeout as string | undefined, 'timeout', DEFAULT_EXPECT_TIMEOUT_SECONDS * 1000);
    const settle = v.settle as string | undefined;
    if (settle !== undefined && !/^\d+$/.test(settle)) throw invalid(`--settle takes milliseconds, not "${settle}"`);
    if (settle !== undefined && !watch) throw invalid('--settle goes with --watch');
    const gdbPort = wholeNumber(v['gdb-port'] as string | undefined, 'gdb-port');
    if (gdbPort !== undefined && (gdbPort < 1 || gdbPort > 65535)) throw invalid('--gdb-port takes a port (1–65535)');
    const gdb = Boolean(v.gdb || v['wait-gdb'] || gdbPort !== undefined);
    const allowOutside = (v['allow-outside'] as string[] | undefined) ?? [];
    const launch = launchOptions(v);
    const outputPath = v.output as string | undefined;

    if (v['print-gdb']) {
      const { inspectRecipe } = await import('../../services/rebuild');
      const { gdbCommand } = await import('../../services/dev-loop');
      const { imageLockHolder } = await import('../../services/image-lock');
      const found = await inspectRecipe(recipe, {
        ...(outputPath !== undefined ? { output: outputPath } : {}),
        ...(allowOutside.length ? { allowOutside } : {}),
      });
      // A run with --gdb on this image says which port it chose.
      const holder = await imageLockHolder(found.image);
      const port = gdbPort ?? holder?.gdbPort ?? 1234;
      const command = gdbCommand(found.kernel, port);
      output(ctx, { command, kernel: found.kernel, port, image: found.image }, () => `${command}\n`);
      return 0;
    }

    const services = await ctx.services();
    const onStdio = (launch.serial?.kind ?? 'stdio') === 'stdio' || launch.debugcon?.kind === 'stdio';
    if (expect !== undefined && !onStdio)
      throw invalid('--expect watches QEMU’s stdio: keep --serial stdio (the default), or use --debugcon stdio');
    // The terminal is QEMU's own (Ctrl+A X, typing into the guest) unless loopstudio reads the console.
    const terminal = ctx.io.isTty && Boolean(process.stdin.isTTY && process.stdout.isTTY) && !ctx.json && expect === undefined;
    const say = (line: RunLine) => {
      if (ctx.json) return;
      if (line.level === 'rule') ctx.io.stdout(`\r\n${line.text}\r\n`);
      else ctx.io.stderr(`${line.level === 'error' ? 'loopstudio run: ' : ''}${line.text}\n`);
    };
    let shownCommand: string | null = null;
    let unsubscribe = () => {};
    let current: QemuSession | null = null;
    const runHandle = await services.runs.start({
      recipe,
      ...(outputPath !== undefined ? { image: outputPath } : {}),
      watch,
      ...(gdb ? { gdb: true } : {}),
      ...(v['wait-gdb'] ? { waitForGdb: true } : {}),
      ...(gdbPort !== undefined ? { gdbPort } : {}),
      ...(v.force ? { force: true } : {}),
      ...(allowOutside.length ? { allowOutside } : {}),
      ...(settle !== undefined ? { settleMs: Number(settle) } : {}),
      launch,
      console: terminal ? 'inherit' : 'pipe',
      terminalKeys: terminal,
      onLine: say,
      beforeSpawn: (commandLine) => {
        if (!ctx.json && commandLine !== shownCommand) ctx.io.stderr(`${commandLine}\n`);
        shownCommand = commandLine;
      },
      onBoot: (session) => {
        unsubscribe();
        current = session;
        if (!terminal && !ctx.json) unsubscribe = services.qemu.onOutput(session.sessionId, (chunk) => ctx.io.stdout(chunk));
      },
    });
    if (watch && !ctx.json)
      ctx.io.stderr(
        `watching ${runHandle.status.watching.length} path${runHandle.status.watching.length === 1 ? '' : 's'} (${runHandle.status.watching.join(', ')}); Ctrl+C ends the run\n`,
      );

    let interruptedWith: number | null = null;
    const onSignal = (signal: NodeJS.Signals) => {
      interruptedWith = signal === 'SIGINT' ? 130 : 143;
      void runHandle.stop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      let matched: boolean | null = null;
      if (expect !== undefined) {
        const session = current as QemuSession | null;
        if (!session) throw new LoopbackError('INTERNAL', 'the run has no QEMU session');
        const result = await Promise.race([
          services.qemu.waitForSerial(session.sessionId, expect, timeoutMs!),
          runHandle.done.then(() => null),
        ]);
        matched = result?.matched ?? false;
        if (!ctx.json)
          ctx.io.stderr(
            matched
              ? `\nloopstudio run: "${expect}" appeared on the console\n`
              : `\nloopstudio run: "${expect}" did not appear${result?.reason === 'timeout' ? ` within ${timeoutMs! / 1000} s` : ' before QEMU ended'}\n`,
          );
        await runHandle.stop();
      }
      await runHandle.done;
      if (ctx.json) output(ctx, runHandle.status, () => '');
      if (interruptedWith !== null) return interruptedWith;
      if (matched !== null) return matched ? 0 : 1;
      return runHandle.exitCode() ?? (runHandle.status.lastError ? 1 : 0);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      unsubscribe();
      await runHandle.stop();
    }
  },
};
