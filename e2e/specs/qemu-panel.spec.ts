import { join } from 'node:path';
import { BOOT_SECTOR_LINE, buildBootSector, testProgramsMissing } from '../../tests/support/test-kernel';
import { expect, screenshotPath, test } from '../fixtures';
import { loopstudio, missingTools, openImageInUi, tempDir } from '../support';

const cannot = testProgramsMissing() ?? missingTools('qemu-system-i386', 'mkfs.fat');

/** Issue 14, items 11 and 12: the QEMU tab while QEMU runs, and its Memory field. */
test.describe('the QEMU tab', () => {
  test.skip(!!cannot, cannot ?? '');

  let dir: string;
  let cleanup: () => void;
  let floppy: string;
  test.beforeEach(() => {
    ({ dir, cleanup } = tempDir('loopstudio-e2e-'));
    floppy = join(dir, 'boot.img');
    loopstudio('create', floppy, '--floppy', '1.44M');
    loopstudio('format', floppy, '--fs', 'fat12');
    loopstudio('bootloader', floppy, '--boot-sector', buildBootSector(dir));
  });
  test.afterEach(() => cleanup());

  test('Launch in QEMU shows the running command line, never a false “already running”, also when the tab opens again and an option changes', async ({
    page,
    shell,
  }) => {
    await openImageInUi(page, floppy);
    await page.getByTestId('launch-qemu').click();
    const panel = page.getByTestId('qemu-panel');
    await expect(panel.getByTestId('serial-console')).toContainText(BOOT_SECTOR_LINE, { timeout: 20_000 });
    await expect(panel.getByTestId('qemu-status')).toContainText('Running');
    const command = panel.getByTestId('qemu-command');
    await expect(command).toHaveValue(/qemu-system-i386 .*if=floppy/);

    // The tab again (the panel asks for its command line afresh), then an option changed while it runs.
    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.getByRole('tab', { name: 'QEMU' }).click();
    await expect(panel.getByTestId('qemu-status')).toContainText('Running');
    await panel.getByRole('checkbox', { name: 'log guest errors' }).check();
    // The preview waits 150 ms before it asks: give it time to answer, wrongly or not.
    await page.waitForTimeout(1500);
    await expect(page.getByText(/already running in QEMU/)).toHaveCount(0);
    await expect(panel.getByRole('alert')).toHaveCount(0);
    await expect(command).toHaveValue(/qemu-system-i386 .*if=floppy/);
    await page.screenshot({ path: screenshotPath('qemu-running', shell) });

    // Stopped, the box shows what Start would run now, with the option changed meanwhile.
    await panel.getByTestId('qemu-stop').click();
    await expect(panel.getByTestId('qemu-status')).toContainText('Stopped.');
    await expect(command).toHaveValue(/guest_errors/);
    await expect(panel.getByRole('alert')).toHaveCount(0);
  });

  test('the Memory field takes typed text as typed, and says what is wrong when it is left', async ({ page, shell }) => {
    await openImageInUi(page, floppy);
    await page.getByRole('tab', { name: 'QEMU' }).click();
    const panel = page.getByTestId('qemu-panel');
    const memory = panel.getByLabel('Memory (MiB)');
    const command = panel.getByTestId('qemu-command');
    await expect(command).toHaveValue(/ -m \d+ /);

    // Select what is there and type over it, key by key.
    await memory.click();
    await memory.press('Control+a');
    await page.keyboard.type('128');
    await expect(memory).toHaveValue('128');
    await expect(command).toHaveValue(/ -m 128 /);

    // Something that is not a size stays as typed until the field is left; then it says why.
    await memory.press('Control+a');
    await page.keyboard.type('12a');
    await expect(memory).toHaveValue('12a');
    await expect(panel.getByRole('alert')).toHaveCount(0);
    await memory.press('Tab');
    await expect(panel.getByRole('alert')).toHaveText('Memory: a whole number of MiB from 2 to 1048576, such as 128.');
    await expect(memory).toHaveAttribute('aria-invalid', 'true');
    await expect(panel.getByTestId('qemu-start')).toBeDisabled();
    await expect(command).toHaveValue(/ -m 128 /);
    await page.screenshot({ path: screenshotPath('qemu-memory-error', shell) });

    // Corrected, the message goes and the command follows.
    await memory.fill('256');
    await expect(panel.getByRole('alert')).toHaveCount(0);
    await expect(command).toHaveValue(/ -m 256 /);
    await expect(panel.getByTestId('qemu-start')).toBeEnabled();
  });
});
