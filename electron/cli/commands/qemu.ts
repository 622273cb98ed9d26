import type { QemuCharTarget } from '../../../shared/api/qemu';
import { LoopbackError } from '../../../shared/errors';
import type { QemuCommand, QemuLaunchOptions, SerialExpectResult } from '../../services/qemu';
import { output, type Command, type CommandContext } from '../command';

const DEFAULT_EXPECT_TIMEOUT_SECONDS = 30;
const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

function invalid(message: string): LoopbackError {
  return new LoopbackError('INVALID_INPUT', message);
}

/** stdio | none | file:PATH, as QEMU spells them. */
export function charTarget(text: string | undefined, option: string): QemuCharTarget | undefined {
  if (text === undefined) return undefined;
  if (text === 'stdio' || text === 'none') return { kind: text };
  if (text.startsWith('file:') && text.length > 'file:'.length) return { kind: 'file', path: text.slice('file:'.length) };
  throw invalid(`--${option} takes stdio, none or file:PATH, not "${text}"`);
}

export function wholeNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw invalid(`--${option} takes a whole number, not "${text}"`);
  return Number(text);
}

/** MiB: "64", "64M", "64MiB", "1G", "1GiB". */
export function memoryMiB(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)\s*(M|MiB|MB|G|GiB|GB)?$/i.exec(text.trim());
  if (!match) throw invalid(`--memory takes MiB (64) or a size with M or G (64M, 1G), not "${text}"`);
  return Number(match[1]) * (/^g/i.test(match[2] ?? '') ? 1024 : 1);
}

function launchOptions(ctx: CommandContext): QemuLaunchOptions {
  const v = ctx.values;
  const str = (name: string) => v[name] as string | undefined;
  const flag = (name: string) => Boolean(v[name]);
  const [image, ...extra] = ctx.positionals;
  if (extra.length) throw invalid(`qemu boots one image (usage: ${qemu.usage.split('\n\n')[0]})`);
  if (image === undefined && str('kernel') === undefined) throw invalid(`name the image to boot, or a --kernel (usage: ${qemu.usage})`);
  if ([flag('floppy'), flag('disk'), flag('cdrom')].filter(Boolean).length > 1) throw invalid('give one of --floppy, --disk, --cdrom');
  if (flag('kvm') && flag('no-kvm')) throw invalid('give --kvm or --no-kvm, not both');
  const arch = str('arch');
  if (arch !== undefined && arch !== 'i386' && arch !== 'x86_64') throw invalid(`--arch is i386 or x86_64, not "${arch}"`);
  const serial = charTarget(str('serial'), 'serial');
  const debugcon = charTarget(str('debugcon'), 'debugcon');
  const memory = memoryMiB(str('memory'));
  const cpus = wholeNumber(str('smp'), 'smp');
  const gdbPort = wholeNumber(str('gdb-port'), 'gdb-port');
  // --module "FILE ARGS": a multiboot module and its own command line.
  const modules = ((v.module as string[] | undefined) ?? []).map((text) => {
    const match = /^\s*(\S+)(?:\s+(.*?))?\s*$/.exec(text);
    if (!match) throw invalid(`--module takes "FILE" or "FILE ARGS", not "${text}"`);
    return { path: match[1]!, ...(match[2] ? { cmdline: match[2] } : {}) };
  });
  return {
    ...(image !== undefined ? { image } : {}),
    ...(str('kernel') !== undefined ? { kernel: str('kernel') } : {}),
    ...(str('append') !== undefined ? { append: str('append') } : {}),
    ...(str('initrd') !== undefined ? { initrd: str('initrd') } : {}),
    ...(modules.length ? { modules } : {}),
    ...(arch !== undefined ? { arch } : {}),
    ...(flag('floppy')
      ? { media: 'floppy' as const }
      : flag('disk')
        ? { media: 'disk' as const }
        : flag('cdrom')
          ? { media: 'cdrom' as const }
          : {}),
    ...(memory !== undefined ? { memoryMiB: memory } : {}),
    ...(cpus !== undefined ? { cpus } : {}),
    ...(flag('gdb') ? { gdb: true } : {}),
    ...(gdbPort !== undefined ? { gdbPort } : {}),
    ...(flag('wait-gdb') ? { waitForGdb: true } : {}),
    ...(serial ? { serial } : {}),
    ...(debugcon ? { debugcon } : {}),
    ...(flag('guest-errors') ? { guestErrors: true } : {}),
    ...(str('guest-log') !== undefined ? { guestErrorLog: str('guest-log') } : {}),
    ...(flag('reboot') ? { noReboot: false } : {}),
    ...(flag('no-shutdown') ? { noShutdown: true } : {}),
    ...(flag('window') ? { display: 'window' as const } : {}),
    ...(flag('kvm') ? { accel: 'kvm' as const } : flag('no-kvm') ? { accel: 'tcg' as const } : {}),
    ...(flag('uefi') ? { firmware: 'uefi' as const } : {}),
    ...(flag('debug-exit') ? { debugExit: true } : {}),
    ...(flag('snapshot') ? { snapshot: true } : {}),
  };
}

function expectTimeoutMs(ctx: CommandContext): number | null {
  const expect = ctx.values.expect as string | undefined;
  const timeout = ctx.values.timeout as string | undefined;
  if (expect === undefined) {
    if (timeout !== undefined) throw invalid('--timeout goes with --expect TEXT');
    return null;
  }
  if (expect === '') throw invalid('--expect needs the text to wait for');
  if (timeout === undefined) return DEFAULT_EXPECT_TIMEOUT_SECONDS * 1000;
  const seconds = Number(timeout);
  if (!/^\d+(\.\d+)?$/.test(timeout) || seconds <= 0 || seconds > MAX_TIMEOUT_SECONDS) {
    throw invalid(`--timeout takes seconds (more than 0, at most ${MAX_TIMEOUT_SECONDS}), not "${timeout}"`);
  }
  return seconds * 1000;
}

/** Ctrl+C or a CI runner's SIGTERM stops QEMU before we go; resolves with the signal's exit status. */
function onInterrupt(stop: () => Promise<unknown>): { interrupted: Promise<number>; dispose(): void } {
  let dispose = () => {};
  const interrupted = new Promise<number>((resolveInterrupt) => {
    const handler = (signal: NodeJS.Signals) => {
      void stop().finally(() => resolveInterrupt(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    dispose = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  });
  return { interrupted, dispose };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** What to change, from what the console showed and how QEMU ran (services/qemu-hints.ts). */
async function expectHints(command: QemuCommand, output: string, options: QemuLaunchOptions): Promise<string[]> {
  const { bootHints } = await import('../../services/qemu-hints');
  return bootHints(output, {
    arch: command.arch,
    memoryMiB: command.memoryMiB ?? 0,
    firmware: command.firmware,
    kernel: command.argv.includes('-kernel') ? (command.argv[command.argv.indexOf('-kernel') + 1] ?? null) : null,
    memoryAsked: options.memoryMiB !== undefined,
  });
}

export const qemu: Command = {
  name: 'qemu',
  summary: 'Boot an image (or a multiboot kernel) in QEMU; with --expect, a boot smoke test for CI',
  usage:
    'loopstudio qemu IMAGE|KERNEL [--arch i386|x86_64] [--floppy|--disk|--cdrom] [--memory MIB] [--smp N]\n' +
    '         [--gdb] [--gdb-port PORT] [--wait-gdb] [--serial stdio|file:PATH|none] [--debugcon stdio|file:PATH|none]\n' +
    '         [--guest-errors] [--guest-log FILE] [--uefi] [--kvm|--no-kvm]\n' +
    '         [--kernel FILE [--append TEXT] [--initrd FILE | --module "FILE [ARGS]"…]]\n' +
    '         [--debug-exit] [--no-shutdown] [--reboot] [--window] [--snapshot] [--print-command]\n' +
    '         [--expect TEXT [--timeout SECONDS]] [--json]\n\n' +
    'The exact QEMU command line is printed first (on stderr; in the JSON with --json), and why that machine.\n' +
    'A kernel (an ELF, or a Linux bzImage) given in place of IMAGE is booted with -kernel, like --kernel.\n' +
    '--initrd FILE is a Linux kernel\'s initrd; --module "FILE ARGS" (repeatable) a multiboot kernel\'s modules,\n' +
    "each with its own command line (QEMU's -initrd 'FILE ARGS,FILE2'). Defaults: qemu-system-x86_64 when\n" +
    "what is booted is 64-bit (an x86-64 ELF or Linux kernel, given or named by the image's GRUB menu, an EFI\n" +
    'loader on the image, --uefi), else qemu-system-i386; 512 MiB of memory, which a distribution kernel with\n' +
    'its initrd needs under SeaBIOS and OVMF alike. An ISO image boots as a CD; --disk boots a hybrid one as a\n' +
    'hard disk (a USB stick).\n' +
    'The serial port goes to the terminal (--serial stdio, the default). With --expect, loopstudio\n' +
    'watches it instead, exits 0 as soon as TEXT appears and 1 with the output so far if it does not\n' +
    'within --timeout seconds (default 30), saying what to change when the console shows "out of memory"\n' +
    'or nothing at all. Without --expect, QEMU’s own exit status is returned\n' +
    '(with --debug-exit, a guest that writes V to port 0xF4 ends QEMU with status V*2+1).\n' +
    'An image the host has mounted (or attached read-write) is refused: QEMU writing under a mount\n' +
    "corrupts both. --snapshot boots it without writing: the guest's writes go to a temporary file.",
  options: {
    arch: { type: 'string' },
    floppy: { type: 'boolean' },
    disk: { type: 'boolean' },
    cdrom: { type: 'boolean' },
    memory: { type: 'string', short: 'm' },
    smp: { type: 'string' },
    gdb: { type: 'boolean' },
    'gdb-port': { type: 'string' },
    'wait-gdb': { type: 'boolean' },
    serial: { type: 'string' },
    debugcon: { type: 'string' },
    'guest-errors': { type: 'boolean' },
    'guest-log': { type: 'string' },
    uefi: { type: 'boolean' },
    kvm: { type: 'boolean' },
    'no-kvm': { type: 'boolean' },
    kernel: { type: 'string' },
    append: { type: 'string' },
    initrd: { type: 'string' },
    module: { type: 'string', multiple: true },
    'debug-exit': { type: 'boolean' },
    snapshot: { type: 'boolean' },
    'no-shutdown': { type: 'boolean' },
    reboot: { type: 'boolean' },
    window: { type: 'boolean' },
    'print-command': { type: 'boolean' },
    expect: { type: 'string' },
    timeout: { type: 'string' },
  },
  async run(ctx) {
    const options = launchOptions(ctx);
    const timeoutMs = expectTimeoutMs(ctx);
    const service = (await ctx.services()).qemu;
    if (ctx.values['print-command']) {
      const command = await service.commandLine(options);
      output(ctx, command, () => `${command.commandLine}\n`);
      return 0;
    }
    const expectText = ctx.values.expect as string | undefined;
    if (expectText !== undefined) {
      const onStdio = (options.serial?.kind ?? 'stdio') === 'stdio' || options.debugcon?.kind === 'stdio';
      if (!onStdio) throw invalid('--expect watches QEMU’s stdio: keep --serial stdio (the default), or use --debugcon stdio');
    }
    // The terminal is QEMU's own unless loopstudio has to read the console (--expect, --json).
    const consoleMode = expectText !== undefined || ctx.json ? 'pipe' : 'inherit';
    let command: QemuCommand | null = null;
    const session = await service.start(options, {
      console: consoleMode,
      beforeSpawn: (c) => {
        command = c;
        if (!ctx.json) ctx.io.stderr(`${c.commandLine}\n${c.archReason ? `loopstudio qemu: ${c.archReason}; ${c.memoryMiB} MiB\n` : ''}`);
      },
    });
    const { sessionId } = session;
    const interrupt = onInterrupt(() => service.stop(sessionId));
    const unsubscribe = !ctx.json && consoleMode === 'pipe' ? service.onOutput(sessionId, (chunk) => ctx.io.stdout(chunk)) : () => {};
    try {
      const work = (async (): Promise<{ expect: SerialExpectResult | null; stderr: string }> => {
        if (expectText === undefined || timeoutMs === null) {
          await service.waitForExit(sessionId);
          return { expect: null, stderr: service.status(sessionId).stderrTail };
        }
        const expect = await service.waitForSerial(sessionId, expectText, timeoutMs);
        // What QEMU said before we stopped it ("terminating on signal 15" is ours, not news).
        const stderr = service.status(sessionId).stderrTail;
        await service.stop(sessionId);
        return { expect, stderr };
      })();
      const finished = await Promise.race([work, interrupt.interrupted]);
      const final = service.status(sessionId);
      const interruptedWith = typeof finished === 'number' ? finished : null;
      const result = typeof finished === 'number' ? null : finished.expect;
      const qemuSaid = typeof finished === 'number' ? final.stderrTail : finished.stderr;
      const hints = result && !result.matched && command ? await expectHints(command, result.output, options) : [];
      if (ctx.json) {
        output(
          ctx,
          {
            ...(command ?? {}),
            sessionId,
            exitCode: final.exitCode,
            signal: final.signal,
            ...(result
              ? {
                  expect: {
                    text: expectText,
                    matched: result.matched,
                    reason: result.reason,
                    elapsedMs: result.elapsedMs,
                    ...(result.matched ? {} : { hints }),
                  },
                }
              : {}),
            output: final.consoleTail,
            stderr: qemuSaid,
          },
          () => '',
        );
      }
      if (interruptedWith !== null) return interruptedWith;
      if (result) {
        if (result.matched) {
          if (!ctx.json)
            ctx.io.stderr(`\nloopstudio qemu: "${expectText}" appeared on the console ${seconds(result.elapsedMs)} after start\n`);
          return 0;
        }
        if (!ctx.json) {
          const why =
            result.reason === 'timeout'
              ? `did not appear within ${seconds(timeoutMs!)}`
              : `did not appear before QEMU exited (${final.signal ?? `status ${final.exitCode}`})`;
          const said = qemuSaid.trim() ? `\nQEMU said:\n${qemuSaid.trimEnd()}` : '';
          const printed = result.output
            ? `the console output is above (${result.output.length} characters)`
            : 'nothing was printed on the console';
          const change = hints.length ? `\nWhat to change:\n${hints.map((h) => `  - ${h}`).join('\n')}` : '';
          ctx.io.stderr(`\nloopstudio qemu: "${expectText}" ${why}; ${printed}.${said}${change}\n`);
        }
        return 1;
      }
      // QEMU's own status: 0, an error, or the guest's isa-debug-exit value.
      if (final.exitCode !== null) return final.exitCode;
      return 1;
    } finally {
      unsubscribe();
      interrupt.dispose();
      await service.stop(sessionId);
    }
  },
};
