/**
 * A Debian-style Linux boot, end to end, with the defaults (issue 14): Debian's linux-image-amd64
 * kernel and a busybox-static initramfs built here with cpio, made into a disk image by
 * `loopstudio build` from the shipped example examples/disk-linux-grub2.json (a `linux` menu
 * entry and its initrd, GRUB 2 for BIOS and UEFI), and booted by
 * `loopstudio qemu --expect` with no --arch and no --memory: the machine (x86-64, from the kernel
 * GRUB's menu names) and the memory (512 MiB) are the defaults' to get right. Once with SeaBIOS,
 * once with OVMF (--uefi only).
 *
 * The kernel is found at $LOOPSTUDIO_LINUX_KERNEL, else the newest /boot/vmlinuz-* (where
 * linux-image-amd64 puts it; CI unpacks it there: .ci/run). Without one, or without a static
 * busybox or cpio, the test skips and says which.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectKernel } from '../electron/services/boot-target';
import { grubUefiBootMissing } from './support/boot';
import { cli, cliOk } from './support/cli';
import { missingTools, tempDir } from './support/host';

/** What the initramfs's /init prints once Linux runs it. */
const MARKER = 'LOOPSTUDIO-LINUX-UP';

/** A 64-bit Linux kernel: $LOOPSTUDIO_LINUX_KERNEL, else the newest /boot/vmlinuz-*. */
function findKernel(): string | null {
  const candidates = process.env.LOOPSTUDIO_LINUX_KERNEL
    ? [process.env.LOOPSTUDIO_LINUX_KERNEL]
    : existsSync('/boot')
      ? readdirSync('/boot')
          .filter((name) => name.startsWith('vmlinuz-'))
          .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
          .map((name) => join('/boot', name))
      : [];
  return (
    candidates.find((path) => {
      try {
        const kernel = inspectKernel(readFileSync(path).subarray(0, 65536));
        return kernel.kind === 'linux' && kernel.bits64;
      } catch {
        return false;
      }
    }) ?? null
  );
}

/** A statically linked busybox (an ELF without a PT_INTERP program header): the initramfs has no libc. */
function findStaticBusybox(): string | null {
  for (const path of [process.env.LOOPSTUDIO_BUSYBOX, '/bin/busybox', '/usr/bin/busybox'].filter((p): p is string => Boolean(p))) {
    if (!existsSync(path)) continue;
    const elf = readFileSync(path);
    if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) continue;
    const phoff = Number(elf.readBigUInt64LE(0x20));
    const phentsize = elf.readUInt16LE(0x36);
    const phnum = elf.readUInt16LE(0x38);
    let dynamic = false;
    for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) dynamic = true;
    if (!dynamic) return path;
  }
  return null;
}

const kernel = findKernel();
const busybox = findStaticBusybox();
const missing =
  (kernel ? null : 'no 64-bit Linux kernel (apt install linux-image-amd64, or set LOOPSTUDIO_LINUX_KERNEL)') ??
  (busybox ? null : 'no static busybox (apt install busybox-static)') ??
  missingTools('cpio', 'qemu-system-x86_64', 'grub-mkimage');
const noUefi = grubUefiBootMissing();

let dir: string;
let cleanup: () => void;
let image: string;

describe.skipIf(missing)(
  `a Debian kernel with a busybox initramfs, built and booted with the defaults${missing ? ` — skipped: ${missing}` : ''}`,
  () => {
    beforeAll(async () => {
      ({ dir, cleanup } = tempDir('loopstudio-linux-'));
      // The initramfs: busybox, a shell, and an /init that says it ran and powers off.
      const root = join(dir, 'rootfs');
      mkdirSync(join(root, 'bin'), { recursive: true });
      mkdirSync(join(root, 'proc'));
      mkdirSync(join(root, 'dev'));
      copyFileSync(busybox!, join(root, 'bin', 'busybox'));
      chmodSync(join(root, 'bin', 'busybox'), 0o755);
      symlinkSync('busybox', join(root, 'bin', 'sh'));
      writeFileSync(
        join(root, 'init'),
        `#!/bin/sh\n/bin/busybox mount -t proc proc /proc\necho "${MARKER} $(/bin/busybox uname -r)"\n/bin/busybox poweroff -f\n`,
        { mode: 0o755 },
      );
      const cpio = spawnSync('sh', ['-c', 'find . | cpio -o -H newc --quiet'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
      expect(cpio.status, cpio.stderr.toString()).toBe(0);
      writeFileSync(join(dir, 'initrd.gz'), gzipSync(cpio.stdout));
      copyFileSync(kernel!, join(dir, 'vmlinuz'));
      // The shipped example, as a user builds it: one image for both firmwares (GPT, a BIOS boot
      // partition, an EFI System partition with /boot). Without GRUB's UEFI files, BIOS only.
      const recipe = JSON.parse(readFileSync(join(__dirname, '../examples/disk-linux-grub2.json'), 'utf8'));
      expect(recipe.bootloader.menu.entries[0]).toMatchObject({
        type: 'linux',
        cmdline: expect.stringContaining('console=ttyS0'),
        modules: ['/boot/initrd.gz'],
      });
      if (noUefi) recipe.bootloader.grub2.firmware = 'bios';
      writeFileSync(join(dir, 'linux.json'), JSON.stringify(recipe, null, 2));
      image = join(dir, 'linux.img');
      await cliOk('build', join(dir, 'linux.json'), '-o', image);
    }, 60_000);
    afterAll(() => cleanup?.());

    it('boots to its /init under SeaBIOS: qemu-system-x86_64 and 512 MiB, chosen from what GRUB boots', async () => {
      const started = Date.now();
      const run = await cli('qemu', image, '--expect', MARKER, '--timeout', '120', '--json');
      const result = run.json();
      expect(result.expect?.matched, `${result.expect?.hints?.join('\n')}\n${String(result.output).slice(-3000)}`).toBe(true);
      expect(result).toMatchObject({
        arch: 'x86_64',
        memoryMiB: 512,
        firmware: 'bios',
        archReason: expect.stringContaining('/boot/vmlinuz (in /boot/grub/grub.cfg, partition 2) is a 64-bit Linux kernel'),
      });
      console.log(`Linux boot (SeaBIOS, TCG): ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }, 150_000);

    it.skipIf(noUefi)(
      `boots under OVMF with --uefi alone${noUefi ? ` — skipped: ${noUefi}` : ''}`,
      async () => {
        const started = Date.now();
        const run = await cli('qemu', image, '--uefi', '--expect', MARKER, '--timeout', '150', '--json');
        const result = run.json();
        expect(result.expect?.matched, `${result.expect?.hints?.join('\n')}\n${String(result.output).slice(-3000)}`).toBe(true);
        expect(result).toMatchObject({ arch: 'x86_64', memoryMiB: 512, firmware: 'uefi' });
        console.log(`Linux boot (OVMF, TCG): ${((Date.now() - started) / 1000).toFixed(1)} s`);
      },
      180_000,
    );
  },
);
