/**
 * GRUB 2's grub-install, told apart from GRUB legacy's. Both packages call their installer
 * grub-install (Debian's grub-legacy ships GRUB 0.97's), and only GRUB 2's can install to a loop
 * device for the loop engine; Fedora and openSUSE name GRUB 2's tools grub2-*. Each candidate is
 * asked for its --version; 1.98 and later is GRUB 2.
 */
import { isGrub2VersionNumber, parseToolVersion } from '../../shared/host/tools';
import type { HostCommand } from './loop/types';
import type { CommandRun } from './run';

/** The names GRUB 2's installer goes by. */
export const GRUB_INSTALL_NAMES = ['grub-install', 'grub2-install'] as const;

/** Whether a `grub-install --version` output is GRUB 2's (1.98 or later), not GRUB legacy's (0.9x). */
export function isGrub2Version(output: string): boolean {
  const version = parseToolVersion(output);
  return version !== null && isGrub2VersionNumber(version);
}

/**
 * The GRUB 2 grub-install on this machine, or, when there is none, which GRUB legacy installer
 * answered instead (null when none did). `run` runs a command (through the helper, or directly).
 */
export async function findGrub2Install(
  run: (command: HostCommand) => Promise<CommandRun>,
): Promise<{ found: true; program: string; version: string | null } | { found: false; legacy: string | null }> {
  let legacy: string | null = null;
  for (const program of GRUB_INSTALL_NAMES) {
    const result = await run({ program, args: ['--version'] }).catch(() => null);
    if (!result) continue;
    const said = `${result.stdout}\n${result.stderr}`;
    if (isGrub2Version(said)) return { found: true, program, version: parseToolVersion(said) };
    legacy = `${result.argv[0]} (${said.trim().split('\n')[0]})`;
  }
  return { found: false, legacy };
}
