import { join } from 'node:path';
import { BOOT_SECTOR_LINE, buildBootSector, testProgramsMissing, writeBootSectorFloppy } from '../../tests/support/test-kernel';
import { expect, screenshotPath, test } from '../fixtures';
import { missingTools, openImageInUi, releaseLoopsUnder, runToolOk, sha256, tempDir } from '../support';

/**
 * Issue 17: an image the host holds read-write (here a loop device attached by hand, as a mount
 * would) is not booted — QEMU writing under it corrupts both — and the QEMU tab offers to boot it
 * read-only (-snapshot) instead, which leaves the image's bytes as they were.
 */
const root = process.getuid?.() === 0;
const cannot = !root ? 'needs root to attach a loop device' : (testProgramsMissing() ?? missingTools('qemu-system-i386', 'losetup'));

test.describe('Launch in QEMU on an image the host holds', () => {
  test.skip(!!cannot, cannot ?? '');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-snapshot-')));
  test.afterEach(() => {
    releaseLoopsUnder(dir);
    cleanup();
  });

  test('is refused with how to release it, and read-only (-snapshot) boots it without writing', async ({ page, shell }) => {
    const floppy = writeBootSectorFloppy(buildBootSector(dir), join(dir, 'held.img'));
    await openImageInUi(page, floppy);
    const device = runToolOk('losetup', ['--find', '--show', '--', floppy]).stdout.trim();
    const before = sha256(floppy);

    await page.getByTestId('launch-qemu').click();
    const panel = page.getByTestId('qemu-panel');
    await expect(panel.getByRole('alert').first()).toContainText(`attached read-write as ${device}`);
    await expect(panel.getByRole('alert').first()).toContainText('read-only');

    await panel.getByTestId('qemu-snapshot').check();
    await expect(panel.getByTestId('qemu-command')).toHaveValue(/ -snapshot /);
    await panel.getByTestId('qemu-start').click();
    await expect(panel.getByTestId('serial-console')).toContainText(BOOT_SECTOR_LINE, { timeout: 20_000 });
    await page.screenshot({ path: screenshotPath('qemu-snapshot', shell) });
    await panel.getByRole('button', { name: 'Stop', exact: true }).first().click();
    expect(sha256(floppy)).toBe(before);
  });
});
