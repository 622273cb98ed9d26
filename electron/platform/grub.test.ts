/**
 * Telling GRUB 2's grub-install from GRUB legacy's, by what each prints for --version.
 */
import { describe, expect, it } from 'vitest';
import { hasTool, runTool } from '../../tests/support/host';
import { findGrub2Install, isGrub2Version } from './grub';
import { runCommand } from './run';

describe('GRUB 2 or legacy', () => {
  it('reads the versions both print', () => {
    expect(isGrub2Version('grub-install (GRUB) 2.06-13+deb12u2')).toBe(true);
    expect(isGrub2Version('grub2-install (GRUB) 2.02~beta2')).toBe(true);
    expect(isGrub2Version('grub-install (GRUB) 1.99-21ubuntu3')).toBe(true);
    expect(isGrub2Version('grub-install (GNU GRUB 0.97)')).toBe(false);
    expect(isGrub2Version('')).toBe(false);
  });

  it.skipIf(!hasTool('grub-install'))('asks the grub-install installed here, and agrees with what it says', async () => {
    const said = runTool('grub-install', ['--version']).stdout;
    const found = await findGrub2Install((command) => runCommand(command));
    expect(found.found).toBe(isGrub2Version(said));
    if (!found.found) expect(found.legacy).toContain(said.trim());
  });
});
