/**
 * Boot checks for the tests: an image booted in QEMU through `loopstudio qemu --expect`, which
 * passes when the text appears on the serial port. The test programs of tests/support/test-kernel
 * also end QEMU through isa-debug-exit, but that device is only there when asked for, so the
 * expected text is what counts.
 */
import { existsSync } from 'node:fs';
import { UEFI_FIRMWARE_CANDIDATES } from '../../electron/platform/qemu';
import { cli } from './cli';
import { missingTools } from './host';
import { testProgramsMissing } from './test-kernel';

/** Why boot tests cannot run here, or null. */
export function bootTestsMissing(): string | null {
  return testProgramsMissing() ?? missingTools('qemu-system-i386');
}

/** Why UEFI boot tests cannot run here (no OVMF, no qemu-system-x86_64), or null. */
export function uefiBootMissing(): string | null {
  const firmware = UEFI_FIRMWARE_CANDIDATES.some(({ files }) => existsSync(files.kind === 'split' ? files.code : files.path));
  return missingTools('qemu-system-x86_64') ?? (firmware ? null : 'no OVMF firmware (Debian: apt install ovmf)');
}

/** Why GRUB legacy cannot be installed here (its stage files are not where Debian puts them), or null. */
export function grubLegacyMissing(): string | null {
  return existsSync('/usr/lib/grub/x86_64-pc/stage2') ? null : 'GRUB legacy stage files are not installed';
}

/** Why GRUB 2 for UEFI cannot be built and booted here (no OVMF, no x86_64-efi modules), or null. */
export function grubUefiBootMissing(): string | null {
  return uefiBootMissing() ?? (existsSync('/usr/lib/grub/x86_64-efi/moddep.lst') ? null : 'GRUB 2 for UEFI (x86_64-efi) is not installed');
}

export interface BootRun {
  matched: boolean;
  elapsedMs: number | null;
  /** What QEMU printed on the serial port. */
  output: string;
  commandLine: string;
}

/**
 * Boots `image` (floppy or disk, as the image looks) and waits up to `timeoutSeconds` for `text`;
 * `qemuArgs` go to `loopstudio qemu` (e.g. `--uefi`).
 */
export async function bootAndExpect(image: string, text: string, timeoutSeconds = 30, ...qemuArgs: string[]): Promise<BootRun> {
  const run = await cli('qemu', image, ...qemuArgs, '--expect', text, '--timeout', String(timeoutSeconds), '--json');
  const result = run.json();
  return {
    matched: Boolean(result.expect?.matched),
    elapsedMs: result.expect?.elapsedMs ?? null,
    output: String(result.output ?? ''),
    commandLine: String(result.commandLine ?? ''),
  };
}
