/**
 * `loopstudio qemu` as a user (or their CI) runs it, with the real qemu-system-i386 booting the
 * test boot sector from a floppy and the multiboot kernel with -kernel: --expect's exit codes,
 * the command line printed first, --json, --print-command, the terminal connected with
 * --serial stdio, QEMU's own exit status, and no QEMU left running afterwards.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { cli, cliOk } from '../../tests/support/cli';
import { missingTools, runTool, tempDir } from '../../tests/support/host';
import { attachOwn, detachIfBackedBy, loopSkipReason } from '../../tests/support/loops';
import {
  BOOT_SECTOR_LINE,
  DEBUG_EXIT_STATUS,
  KERNEL_LINE,
  buildBootSector,
  buildTestKernel,
  testProgramsMissing,
  writeBootSectorFloppy,
} from '../../tests/support/test-kernel';
import { buildModulesKernel, MODULES_DONE_LINE } from '../../tests/support/test-kernel/modules-kernel';

const skip = testProgramsMissing() ?? missingTools('qemu-system-i386', 'pgrep');
const BIN = join(__dirname, '../../bin/loopstudio.cjs');

let dir: string;
let cleanup: () => void;
let image: string;
let kernel: string;

beforeAll(() => {
  // A comma and a space in the folder name: the drive option must double the comma, the shell line quote the space.
  ({ dir, cleanup } = tempDir('loopstudio-qemu-cli,x '));
  if (skip) return;
  image = writeBootSectorFloppy(buildBootSector(dir), join(dir, 'boot.img'));
  kernel = buildTestKernel(dir);
});
afterAll(() => cleanup());

/** QEMU processes booting something in this test's folder (not the loopstudio processes naming it too). */
const qemuProcesses = () => runTool('pgrep', ['-f', 'qemu-system-.*loopstudio-qemu-cli']).stdout.split('\n').filter(Boolean);

describe.skipIf(skip)(`loopstudio qemu${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('--expect exits 0 as soon as the line appears, after printing the command line first', async () => {
    const started = Date.now();
    const result = await cli('qemu', image, '--floppy', '--expect', BOOT_SECTOR_LINE, '--timeout', '20');
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const [commandLine] = result.stderr.split('\n');
    expect(commandLine).toMatch(/^\/\S*\/qemu-system-i386 -accel (tcg|kvm) /);
    expect(commandLine!.replace(/^.* -accel \w+ /, '')).toBe(
      `-m 512 -smp 1 -drive 'file=${image.replaceAll(',', ',,')},format=raw,if=floppy' -boot order=a -display none -serial stdio -no-reboot`,
    );
    // It stops as soon as the line appears: its \r\n may or may not have arrived by then.
    expect(result.stdout).toMatch(new RegExp(`^${BOOT_SECTOR_LINE}(\r\n)?$`));
    expect(result.stderr).toMatch(/appeared on the console \d+\.\d s after start/);
    expect(qemuProcesses()).toEqual([]);
  });

  it('--expect exits 1 on timeout, with the serial output it captured', async () => {
    const started = Date.now();
    const result = await cli('qemu', image, '--floppy', '--expect', 'never printed', '--timeout', '3');
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(result.stdout).toBe(`${BOOT_SECTOR_LINE}\r\n`);
    expect(result.stderr).toContain('"never printed" did not appear within 3.0 s; the console output is above (50 characters).');
    expect(result.stderr).not.toContain('terminating on signal');
    expect(qemuProcesses()).toEqual([]);
  });

  it('--json gives the command, the verdict and the output', async () => {
    const result = await cli('qemu', image, '--expect', 'from sector 0', '--json');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({
      media: 'floppy',
      arch: 'i386',
      expect: { text: 'from sector 0', matched: true, reason: 'matched' },
    });
    // --expect stops as soon as the text appears: the line's \r\n may or may not have arrived.
    expect(json.output).toMatch(new RegExp(`^${BOOT_SECTOR_LINE}(\r\n)?$`));
    expect(json.argv).toEqual(expect.arrayContaining(['-drive', `file=${image.replaceAll(',', ',,')},format=raw,if=floppy`]));
    expect(result.stderr).toBe('');
  });

  it('--print-command prints the line a shell would run, and runs nothing', async () => {
    const result = await cli(
      'qemu',
      image,
      '--disk',
      '--memory',
      '32',
      '--smp',
      '2',
      '--gdb',
      '--wait-gdb',
      '--no-kvm',
      '--debugcon',
      'file:/tmp/e9.log',
      '--guest-errors',
      '--print-command',
    );
    expect(result.code).toBe(0);
    const printed = result.stdout.trimEnd();
    // The line, read back by /bin/sh, is exactly the argument array the service would spawn.
    const argv = spawnSync('/bin/sh', ['-c', `set -- ${printed}; printf '%s\\0' "$@"`], { encoding: 'utf8' })
      .stdout.split('\0')
      .slice(0, -1);
    const json = JSON.parse(
      (
        await cli(
          'qemu',
          image,
          '--disk',
          '--memory',
          '32',
          '--smp',
          '2',
          '--gdb',
          '--wait-gdb',
          '--no-kvm',
          '--debugcon',
          'file:/tmp/e9.log',
          '--guest-errors',
          '--print-command',
          '--json',
        )
      ).stdout,
    );
    expect(argv).toEqual(json.argv);
    expect(argv.slice(1)).toEqual([
      '-accel',
      'tcg',
      '-m',
      '32',
      '-smp',
      '2',
      '-drive',
      `file=${image.replaceAll(',', ',,')},format=raw,if=ide`,
      '-boot',
      'order=c',
      '-display',
      'none',
      '-serial',
      'stdio',
      '-debugcon',
      'file:/tmp/e9.log',
      '-gdb',
      'tcp:127.0.0.1:1234',
      '-S',
      '-d',
      'guest_errors',
      '-no-reboot',
    ]);
    expect(qemuProcesses()).toEqual([]);
  });

  it('boots the multiboot kernel with --kernel, serial and debug console to files, and returns QEMU’s own status', async () => {
    const serial = join(dir, 'serial.txt');
    const debug = join(dir, 'debugcon.txt');
    const result = await cli('qemu', '--kernel', kernel, '--serial', `file:${serial}`, '--debugcon', `file:${debug}`, '--debug-exit');
    expect(result.code).toBe(DEBUG_EXIT_STATUS);
    expect(readFileSync(serial, 'utf8')).toBe(`${KERNEL_LINE}\r\n`);
    expect(readFileSync(debug, 'utf8')).toBe(`${KERNEL_LINE}\r\n`);
  });

  it('--serial stdio connects the terminal: the installed command prints the guest’s line itself', () => {
    const child = spawnSync(process.execPath, [BIN, 'qemu', image, '--serial', 'stdio', '--debug-exit'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(child.status).toBe(DEBUG_EXIT_STATUS);
    expect(child.stdout).toBe(`${BOOT_SECTOR_LINE}\r\n`);
    expect(child.stderr).toContain('-serial stdio');
    expect(qemuProcesses()).toEqual([]);
  }, 40_000);

  it('a CI runner’s SIGTERM stops QEMU before loopstudio exits (status 143)', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, 'qemu', image, '--expect', 'never printed', '--timeout', '60'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!stdout.includes(BOOT_SECTOR_LINE) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(qemuProcesses()).toHaveLength(1);
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
      expect(qemuProcesses()).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 40_000);

  it('refuses options that cannot go together, as usage errors', async () => {
    expect((await cli('qemu', image, '--timeout', '3')).stderr).toContain('--timeout goes with --expect');
    expect((await cli('qemu', image, '--expect', 'x', '--serial', `file:${join(dir, 's.txt')}`)).code).toBe(2);
    expect((await cli('qemu', image, '--floppy', '--disk')).code).toBe(2);
    expect((await cli('qemu', image, '--serial', 'tcp:1234')).stderr).toContain('--serial takes stdio, none or file:PATH');
    expect((await cli('qemu', image, '--expect', 'x', '--timeout', 'soon')).code).toBe(2);
    expect((await cli('qemu')).code).toBe(2);
    const missing = await cli('qemu', join(dir, 'nope.img'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such image file');
    expect(qemuProcesses()).toEqual([]);
  });

  it.skipIf(loopSkipReason())('refuses an image attached read-write (losetup by hand); --snapshot boots it without writing', async () => {
    const before = createHash('sha256').update(readFileSync(image)).digest('hex');
    const device = attachOwn(image);
    try {
      const refused = await cli('qemu', image, '--floppy', '--expect', BOOT_SECTOR_LINE, '--timeout', '20', '--json');
      expect(refused.code).toBe(1);
      expect(refused.json().error).toMatchObject({
        code: 'IN_USE',
        message: expect.stringMatching(new RegExp(`attached read-write as ${device}.*--snapshot`)),
      });
      expect(qemuProcesses()).toEqual([]);
      const booted = await cli('qemu', image, '--floppy', '--snapshot', '--expect', BOOT_SECTOR_LINE, '--timeout', '20');
      expect(booted.code).toBe(0);
      expect(booted.stderr.split('\n')[0]).toMatch(/ -snapshot /);
    } finally {
      detachIfBackedBy(device, image);
    }
    expect(createHash('sha256').update(readFileSync(image)).digest('hex')).toBe(before);
  });
});

/**
 * A file that looks like a 64-bit Linux bzImage to anyone reading its setup header ("HdrS" at
 * 0x202, boot protocol 2.15, XLF_KERNEL_64 in xloadflags): enough for the machine choice, which
 * reads headers only.
 */
function fakeBzImage(path: string, bits64: boolean): string {
  const bytes = Buffer.alloc(8192);
  bytes.write('HdrS', 0x202, 'latin1');
  bytes.writeUInt16LE(0x020f, 0x206);
  bytes.writeUInt16LE(bits64 ? 1 : 0, 0x236);
  writeFileSync(path, bytes);
  return path;
}

describe.skipIf(skip)(`loopstudio qemu: the machine, the memory and what to change${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it("boots a 64-bit kernel that a disk image's grub.cfg names on qemu-system-x86_64 with 512 MiB, and says why", async () => {
    const img = join(dir, 'linux64.img');
    await cliOk('create', img, '--size', '16M');
    await cliOk('partition', img, '--table', 'mbr', '--add', 'start=2048,size=rest,type=83');
    await cliOk('format', img, '-p', '1', '--fs', 'ext2');
    await cliOk('put', img, '-p', '1', '--parents', fakeBzImage(join(dir, 'vmlinuz64'), true), '/boot/vmlinuz');
    writeFileSync(
      join(dir, 'grub.cfg'),
      "menuentry 'Linux' {\n\tinsmod ext2\n\tlinux (hd0,msdos1)/boot/vmlinuz console=ttyS0\n\tinitrd /boot/initrd.gz\n}\n",
    );
    await cliOk('put', img, '-p', '1', '--parents', join(dir, 'grub.cfg'), '/boot/grub/grub.cfg');
    const command = (await cliOk('qemu', img, '--print-command', '--json')).json();
    expect(command).toMatchObject({
      arch: 'x86_64',
      memoryMiB: 512,
      archReason: 'x86_64: /boot/vmlinuz (in /boot/grub/grub.cfg, partition 1) is a 64-bit Linux kernel',
    });
    expect(command.argv[0]).toMatch(/qemu-system-x86_64$/);
    expect(command.argv.slice(1, 5)).toEqual(['-accel', expect.stringMatching(/^(tcg|kvm)$/), '-m', '512']);
    // A 32-bit kernel there: the 32-bit machine, as before.
    await cliOk('put', img, '-p', '1', fakeBzImage(join(dir, 'vmlinuz32'), false), '/boot/vmlinuz');
    expect((await cliOk('qemu', img, '--print-command', '--json')).json()).toMatchObject({
      arch: 'i386',
      archReason: expect.stringMatching(/^i386: nothing 64-bit found/),
    });
    // Asked for: as asked.
    expect((await cliOk('qemu', img, '--arch', 'x86_64', '--memory', '64', '--print-command', '--json')).json()).toMatchObject({
      arch: 'x86_64',
      memoryMiB: 64,
      archReason: 'x86_64: asked for',
    });
  });

  it('takes a 64-bit bzImage given as --kernel, or in place of the image, to qemu-system-x86_64 with -kernel', async () => {
    const vmlinuz = fakeBzImage(join(dir, 'bz64'), true);
    for (const args of [['--kernel', vmlinuz], [vmlinuz]]) {
      const command = (await cliOk('qemu', ...args, '--append', 'console=ttyS0', '--print-command', '--json')).json();
      expect(command).toMatchObject({ arch: 'x86_64', media: null, archReason: `x86_64: ${vmlinuz} is a 64-bit Linux kernel` });
      expect(command.argv).toEqual(expect.arrayContaining(['-kernel', vmlinuz, '-append', 'console=ttyS0']));
      expect(command.argv).not.toContain('-drive');
    }
  });

  it('says what to change when nothing at all reaches the serial port (an image that boots nothing)', async () => {
    const blank = join(dir, 'blank.img');
    writeFileSync(blank, Buffer.alloc(1_474_560));
    const result = await cli('qemu', blank, '--memory', '64', '--expect', 'never printed', '--timeout', '2');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('nothing was printed on the console.');
    expect(result.stderr).toMatch(
      /What to change:\n {2}- nothing at all appeared on the serial port: .*console=ttyS0.*a 64-bit kernel on qemu-system-i386 \(this run\) stops without a word: --arch x86_64.*this run: 64 MiB\): --memory 512/,
    );
    const json = (await cli('qemu', blank, '--expect', 'never printed', '--timeout', '2', '--json')).json();
    expect(json.expect).toMatchObject({
      matched: false,
      reason: 'timeout',
      hints: [expect.stringMatching(/^nothing at all appeared on the serial port/)],
    });
    expect(qemuProcesses()).toEqual([]);
  });
});

describe.skipIf(skip)(`loopstudio qemu: kernels, initrds and multiboot modules${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let plain: string;
  let cleanPlain: () => void;
  beforeAll(() => ({ dir: plain, cleanup: cleanPlain } = tempDir('loopstudio-qemu-modules-')));
  afterAll(() => cleanPlain());

  it('boots a multiboot ELF given in place of an image with -kernel, not as a disk', async () => {
    const result = await cli('qemu', kernel, '--expect', KERNEL_LINE, '--timeout', '20', '--json');
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ media: null, arch: 'i386', expect: { matched: true } });
    expect(result.json().argv).toEqual(expect.arrayContaining(['-kernel', kernel]));
    expect(result.json().argv).not.toContain('-drive');
  });

  it("hands --module files, each with its command line, to a multiboot kernel (QEMU's -initrd 'FILE ARGS,FILE')", async () => {
    const modulesKernel = buildModulesKernel(plain);
    writeFileSync(join(plain, 'a.txt'), 'alpha\nsecond line');
    writeFileSync(join(plain, 'b,c.txt'), 'bravo');
    const result = await cli(
      'qemu',
      '--kernel',
      modulesKernel,
      '--module',
      `${join(plain, 'a.txt')} first,arg second`,
      '--module',
      join(plain, 'b,c.txt'),
      '--expect',
      MODULES_DONE_LINE,
      '--timeout',
      '20',
      '--json',
    );
    expect(result.code, result.stdout).toBe(0);
    const json = result.json();
    expect(json.argv).toEqual(expect.arrayContaining(['-initrd', `${join(plain, 'a.txt')} first,,arg second,${join(plain, 'b,,c.txt')}`]));
    expect(json.output).toContain(
      `modules: 2\r\nmodule: ${join(plain, 'a.txt')} first,arg second | alpha\r\nmodule: ${join(plain, 'b,c.txt')} | bravo\r\n`,
    );
  });

  it('gives a Linux kernel its --initrd, and refuses what does not go with the kernel', async () => {
    const vmlinuz = fakeBzImage(join(plain, 'vmlinuz'), true);
    writeFileSync(join(plain, 'initrd.gz'), 'not really');
    const command = (await cliOk('qemu', '--kernel', vmlinuz, '--initrd', join(plain, 'initrd.gz'), '--print-command', '--json')).json();
    expect(command.argv).toEqual(expect.arrayContaining(['-kernel', vmlinuz, '-initrd', join(plain, 'initrd.gz')]));
    expect((await cli('qemu', '--kernel', vmlinuz, '--module', join(plain, 'initrd.gz'), '--print-command')).stderr).toContain(
      'is a Linux kernel: it takes one --initrd FILE, not multiboot --module files',
    );
    expect((await cli('qemu', '--kernel', kernel, '--initrd', join(plain, 'initrd.gz'), '--print-command')).stderr).toContain(
      "is not a Linux kernel: --initrd is a Linux kernel's initial ramdisk",
    );
    expect((await cli('qemu', image, '--initrd', join(plain, 'initrd.gz'), '--print-command')).stderr).toContain('go with a kernel');
    expect((await cli('qemu', '--kernel', kernel, '--module', `${join(plain, 'nope.mod')} args`, '--print-command')).stderr).toContain(
      `the module ${join(plain, 'nope.mod')}: no such file`,
    );
    // A 64-bit ELF cannot go to -kernel at all: QEMU loads multiboot ELFs as 32-bit only.
    const elf64 = Buffer.alloc(4096);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(elf64);
    elf64.writeUInt16LE(62, 18);
    writeFileSync(join(plain, 'kernel64.elf'), elf64);
    expect((await cli('qemu', join(plain, 'kernel64.elf'), '--print-command')).stderr).toContain(
      "is a 64-bit ELF: QEMU's -kernel loads a multiboot kernel only as a 32-bit ELF",
    );
  });
});
