/**
 * QEMU sessions with the real qemu-system-i386 (TCG) booting our test programs: the console as
 * events and as typed input, --expect's wait, stop (SIGTERM, then SIGKILL), restart, stopAll, the
 * one-QEMU-per-image rule, the gdb stub, and launches refused before anything starts. "No process
 * left" is checked with pgrep on each test's unique image path.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { events as contractEvents } from '../../shared/api/contract';
import { missingTools, runTool, tempDir } from '../../tests/support/host';
import {
  BOOT_SECTOR_LINE,
  DEBUG_EXIT_STATUS,
  KERNEL_LINE,
  buildBootSector,
  buildTestKernel,
  testProgramsMissing,
  writeBootSectorFloppy,
} from '../../tests/support/test-kernel';
import { createServices, dispatch } from '.';
import { QemuService } from './qemu';

const skip = testProgramsMissing() ?? missingTools('qemu-system-i386', 'pgrep');

let dir: string;
let cleanup: () => void;
let bootSector: string;
let kernel: string;
const services: QemuService[] = [];

beforeAll(() => {
  ({ dir, cleanup } = tempDir('loopstudio-qemu-service-'));
  if (skip) return;
  bootSector = buildBootSector(dir);
  kernel = buildTestKernel(dir);
});
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stopAll(200)));
});
afterAll(() => cleanup());

function service(options: ConstructorParameters<typeof QemuService>[0] = {}): QemuService {
  const s = new QemuService(options);
  services.push(s);
  return s;
}

let imageCount = 0;
/** A fresh floppy with the test boot sector, at a path no other test uses. */
function floppy(name = 'floppy'): string {
  return writeBootSectorFloppy(bootSector, join(dir, `${name}-${++imageCount}.img`));
}

/** The pids of processes whose command line contains `text` (pgrep -f; `text` must be regex-safe). */
function processesMentioning(text: string): number[] {
  return runTool('pgrep', ['-f', text]).stdout.split('\n').filter(Boolean).map(Number);
}

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

describe.skipIf(skip)(`QEMU sessions${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('streams the console as events, takes typed input, and stop leaves no process behind', async () => {
    const emitted: { event: string; payload: unknown }[] = [];
    const s = createServices({ shell: 'cli', emit: (event, payload) => emitted.push({ event, payload }) });
    services.push(s.qemu);
    const image = floppy('events');
    const serialText = () =>
      emitted
        .filter((e) => e.event === 'qemuSerial')
        .map((e) => (e.payload as { data: string }).data)
        .join('');

    const started = await dispatch(s.handlers, 'qemu.start', { image });
    if (!started.ok) throw new Error(started.error.message);
    const session = started.value as { sessionId: string; pid: number; media: string; commandLine: string };
    expect(session.media).toBe('floppy');
    expect(session.commandLine).toContain(`file=${image},format=raw,if=floppy`);
    await waitUntil('the boot sector’s line', () => serialText().includes(`${BOOT_SECTOR_LINE}\r\n`));
    expect(processesMentioning(image)).toEqual([session.pid]);

    // The boot sector echoes COM1 input: typed text coming back proves it reached the guest.
    expect(await dispatch(s.handlers, 'qemu.sendSerial', { sessionId: session.sessionId, data: 'ping-42' })).toEqual({
      ok: true,
      value: { bytes: 7 },
    });
    await waitUntil('the echo', () => serialText().includes('ping-42'));
    const status = await dispatch(s.handlers, 'qemu.status', { sessionId: session.sessionId });
    expect(status.ok && (status.value as { consoleTail: string }).consoleTail).toBe(`${BOOT_SECTOR_LINE}\r\nping-42`);

    const stopped = await dispatch(s.handlers, 'qemu.stop', { sessionId: session.sessionId });
    // QEMU catches SIGTERM and exits 0; `stopped` is what tells a stop from a guest power-off.
    expect(stopped).toMatchObject({ ok: true, value: { state: 'exited', stopped: true, exitCode: 0, signal: null } });
    expect(processesMentioning(image)).toEqual([]);
    const exited = emitted.filter((e) => e.event === 'qemuExited');
    expect(exited).toHaveLength(1);
    expect(contractEvents.qemuExited.parse(exited[0]!.payload)).toMatchObject({
      sessionId: session.sessionId,
      stopped: true,
      code: 0,
      stderr: expect.stringContaining('terminating on signal 15'),
    });
    for (const e of emitted.filter((x) => x.event === 'qemuSerial')) expect(() => contractEvents.qemuSerial.parse(e.payload)).not.toThrow();
    const list = await dispatch(s.handlers, 'qemu.list', {});
    expect(list.ok && (list.value as { sessions: { sessionId: string; state: string }[] }).sessions).toEqual([
      expect.objectContaining({ sessionId: session.sessionId, state: 'exited' }),
    ]);
  });

  it('waitForSerial resolves on the text, times out with the output so far, and notices an early exit', async () => {
    const qemu = service();
    const first = await qemu.start({ image: floppy('expect') });
    const found = await qemu.waitForSerial(first.sessionId, 'hello from sector 0', 15_000);
    expect(found).toMatchObject({ matched: true, reason: 'matched' });
    expect(found.elapsedMs).toBeLessThan(15_000);
    const missed = await qemu.waitForSerial(first.sessionId, 'never printed', 400);
    expect(missed).toMatchObject({ matched: false, reason: 'timeout', output: `${BOOT_SECTOR_LINE}\r\n` });
    await qemu.stop(first.sessionId);

    // With isa-debug-exit the guest ends QEMU itself right after its line.
    const second = await qemu.start({ image: floppy('exits'), debugExit: true });
    const early = await qemu.waitForSerial(second.sessionId, 'never printed', 15_000);
    expect(early).toMatchObject({ matched: false, reason: 'exited', output: `${BOOT_SECTOR_LINE}\r\n` });
    expect(await qemu.waitForExit(second.sessionId)).toMatchObject({
      state: 'exited',
      exitCode: DEBUG_EXIT_STATUS,
      signal: null,
      stopped: false,
    });
  });

  it('runs one QEMU per image: a second start, even through a symlink, is refused until the first stops', async () => {
    const qemu = service();
    const image = floppy('locked');
    const link = join(dir, `link-${imageCount}.img`);
    symlinkSync(image, link);
    const first = await qemu.start({ image });
    await expect(qemu.start({ image: link })).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining(`session ${first.sessionId}`),
    });
    // Two starts at once: exactly one wins.
    await qemu.stop(first.sessionId);
    const both = await Promise.allSettled([qemu.start({ image }), qemu.start({ image: link })]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(both.filter((r) => r.status === 'rejected')).toHaveLength(1);
    await qemu.stopAll();
    expect(processesMentioning(image)).toEqual([]);
  });

  it('stop sends SIGKILL when the process ignores SIGTERM past the grace period', async () => {
    // A stand-in qemu-system-i386 that ignores SIGTERM (an ignored signal stays ignored across exec).
    const bin = join(dir, 'stubborn-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'qemu-system-i386'), "#!/bin/sh\ntrap '' TERM\necho ready\nexec sleep 60\n", { mode: 0o755 });
    const qemu = service({ searchDirs: [bin] });
    const session = await qemu.start({ image: floppy('stubborn') });
    expect(session.argv[0]).toBe(join(bin, 'qemu-system-i386'));
    expect((await qemu.waitForSerial(session.sessionId, 'ready', 5000)).matched).toBe(true);
    const before = Date.now();
    const stopped = await qemu.stop(session.sessionId, 300);
    expect(stopped).toMatchObject({ state: 'exited', signal: 'SIGKILL', stopped: true });
    expect(Date.now() - before).toBeGreaterThanOrEqual(290);
    expect(processesMentioning(join(bin, 'qemu-system-i386'))).toEqual([]);
  });

  it('restart stops the session and starts the same launch as a new one; stopAll ends every session', async () => {
    const qemu = service();
    const a = floppy('restart');
    const b = floppy('second');
    const first = await qemu.start({ image: a, memoryMiB: 16 });
    await qemu.waitForSerial(first.sessionId, BOOT_SECTOR_LINE, 15_000);
    const again = await qemu.restart(first.sessionId);
    expect(again.sessionId).not.toBe(first.sessionId);
    expect(again.argv).toEqual(first.argv);
    expect(qemu.status(first.sessionId).state).toBe('exited');
    expect((await qemu.waitForSerial(again.sessionId, BOOT_SECTOR_LINE, 15_000)).matched).toBe(true);

    const other = await qemu.start({ image: b });
    expect(processesMentioning(dir)).toHaveLength(2);
    await qemu.stopAll();
    expect(qemu.list().map((s) => s.state)).toEqual(['exited', 'exited', 'exited']);
    expect(qemu.status(other.sessionId).stopped).toBe(true);
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('boots the multiboot kernel with -kernel, frozen until gdb continues it, the debug console in a file', async () => {
    const qemu = service();
    const port = await freePort();
    const debugLog = join(dir, 'debugcon.txt');
    const session = await qemu.start({ kernel, waitForGdb: true, gdbPort: port, debugcon: { kind: 'file', path: debugLog } });
    expect(session.gdb).toEqual({ host: '127.0.0.1', port, waiting: true });
    expect(session.argv).toEqual(expect.arrayContaining(['-kernel', kernel, '-gdb', `tcp:127.0.0.1:${port}`, '-S']));
    await new Promise((r) => setTimeout(r, 500));
    expect(qemu.status(session.sessionId).consoleTail).toBe('');

    // gdb's remote protocol by hand: "$c#63" is "continue" with its checksum.
    const socket = createConnection(port, '127.0.0.1');
    await new Promise<void>((r, reject) => socket.once('connect', r).once('error', reject));
    socket.write('$c#63');
    const result = await qemu.waitForSerial(session.sessionId, KERNEL_LINE, 15_000);
    socket.destroy();
    expect(result.matched).toBe(true);
    // The kernel writes each line to COM1 and then to port 0xE9: the serial match can come a
    // moment before the debug console has its line ending. Wait for the whole line there.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && readFileSync(debugLog, 'utf8') !== `${KERNEL_LINE}\r\n`) await new Promise((r) => setTimeout(r, 50));
    await qemu.stop(session.sessionId);
    expect(readFileSync(debugLog, 'utf8')).toBe(`${KERNEL_LINE}\r\n`);
  });

  it('kills its QEMU when the host process exits without stopping it', () => {
    const image = floppy('orphan');
    const script = join(dir, 'exits-early.ts');
    writeFileSync(
      script,
      `import { QemuService } from ${JSON.stringify(join(__dirname, 'qemu.ts'))};\n` +
        `const qemu = new QemuService();\n` +
        `qemu.start({ image: ${JSON.stringify(image)} }).then(async (s) => {\n` +
        `  await qemu.waitForSerial(s.sessionId, 'sector 0', 15000);\n` +
        `  console.log('pid', s.pid);\n` +
        `  process.exit(0);\n` +
        `});\n`,
    );
    const host = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
    expect(host.stdout).toMatch(/^pid \d+$/m);
    expect(host.status).toBe(0);
    expect(processesMentioning(image)).toEqual([]);
  }, 40_000);

  it('refuses a launch that cannot work before starting anything', async () => {
    const s = createServices({ shell: 'cli', emit: () => {} });
    services.push(s.qemu);
    const image = floppy('refused');
    const refusal = async (input: Record<string, unknown>) => {
      const result = await dispatch(s.handlers, 'qemu.commandLine', input);
      if (result.ok) throw new Error(`accepted: ${JSON.stringify(input)}`);
      return result.error;
    };
    expect(await refusal({ image, memoryMiB: 1 })).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('memoryMiB') });
    expect(await refusal({})).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('give an image to boot, or a kernel'),
    });
    expect(await refusal({ image, serial: { kind: 'stdio' }, debugcon: { kind: 'stdio' } })).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('cannot both use stdio'),
    });
    expect(await refusal({ image: join(dir, 'missing.img') })).toMatchObject({ code: 'NOT_FOUND' });
    expect(await refusal({ image: dir })).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('is a folder') });
    expect(await refusal({ image, append: 'quiet' })).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('needs a kernel'),
    });
    expect(await refusal({ image, firmware: 'uefi', arch: 'i386' })).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('x86_64'),
    });
    expect(await refusal({ image, serial: { kind: 'file', path: join(dir, 'no-such-folder', 'serial.txt') } })).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await refusal({ image, memoryMiB: 1024 * 1024 })).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('more than this computer has'),
    });
    expect(processesMentioning(image)).toEqual([]);
  });

  it('refuses UEFI without OVMF, naming the package to install', async () => {
    const qemu = service({ firmwareRoot: join(dir, 'no-firmware-here') });
    await expect(qemu.commandLine({ image: floppy('uefi'), firmware: 'uefi' })).rejects.toMatchObject({
      code: 'HOST_TOOL_MISSING',
      message: expect.stringMatching(/UEFI firmware \(OVMF\) is not installed.*Install it: /),
    });
  });
});
