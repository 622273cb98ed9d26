import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { BOOT_SECTOR_LINE, KERNEL_LINE, buildBootSector, buildTestKernel, testProgramsMissing } from '../../tests/support/test-kernel';
import { expect, screenshotPath, test } from '../fixtures';
import { dropFiles, loopstudio, missingTools, runToolOk, tempDir } from '../support';

/** The wizard's shortest path: a 1.44M floppy with FAT12, no boot loader, saved at `path`. */
async function newFloppy(page: Page, path: string): Promise<void> {
  await page.getByRole('button', { name: 'New image…' }).click();
  const wizard = page.getByRole('dialog', { name: 'New image' });
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByRole('radio', { name: /^None/ }).check();
  await wizard.getByRole('button', { name: 'Next' }).click();
  await wizard.getByLabel('Save as').fill(path);
  await wizard.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(wizard).toBeHidden();
  await expect(page.getByTestId('volume-whole')).toContainText('FAT12');
}

const cannot = testProgramsMissing() ?? missingTools('qemu-system-i386', 'mdir', 'fsck.fat');

test.describe('a floppy from the wizard to QEMU', () => {
  test.skip(!!cannot, cannot ?? '');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-')));
  test.afterEach(() => cleanup());

  test('wizard → drop a file → your own boot sector → Launch in QEMU shows its line, and the console talks back', async ({
    page,
    shell,
  }) => {
    const floppy = join(dir, 'boot.img');
    const bootSector = buildBootSector(dir);
    await newFloppy(page, floppy);

    await page.getByRole('tab', { name: 'Files' }).click();
    const browser = page.getByTestId('file-browser');
    await expect(browser.getByText('This folder is empty.')).toBeVisible();
    await dropFiles(page, browser, [{ name: 'README.TXT', content: 'kept through the boot sector install\n' }]);
    await expect(browser.getByTestId('entry-README.TXT')).toBeVisible();

    await page.getByRole('button', { name: 'Install bootloader…' }).click();
    const boot = page.getByRole('dialog', { name: 'Install bootloader' });
    await boot.getByRole('radio', { name: /Your own boot sector/ }).check();
    await boot.getByLabel('Boot sector file').fill(bootSector);
    await boot.getByRole('button', { name: 'Install' }).click();
    await expect(boot.getByTestId('bootloader-result')).toContainText('boot sector (BPB kept): sector 0');
    await boot.getByRole('button', { name: 'Done' }).click();

    // One click: the QEMU tab opens and the floppy boots with the default options.
    await page.getByTestId('launch-qemu').click();
    const panel = page.getByTestId('qemu-panel');
    await expect(panel.getByTestId('qemu-command')).toHaveValue(/qemu-system-i386 .*if=floppy/);
    const serial = panel.getByTestId('serial-console');
    await expect(serial).toContainText(BOOT_SECTOR_LINE, { timeout: 20_000 });
    await expect(panel.getByTestId('qemu-status')).toContainText('Running');
    // xterm styles its rows with <style> elements the CSP blocks; the app mirrors them into
    // constructed stylesheets. Without that the rows fall back to the page's proportional font.
    expect(await serial.locator('.xterm-rows').evaluate((rows) => getComputedStyle(rows).fontFamily)).toMatch(/mono/i);

    // The boot sector echoes what arrives on COM1: typing in the console reaches the guest.
    await serial.click();
    await page.keyboard.type('ping');
    const rows = serial.locator('.xterm-rows > div');
    await expect(rows.nth(0)).toHaveText(BOOT_SECTOR_LINE);
    await expect(rows.nth(1)).toHaveText(/^ping\s*$/, { timeout: 10_000 });
    await page.screenshot({ path: screenshotPath('qemu-console', shell) });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('qemu-console-dark', shell) });

    await panel.getByTestId('qemu-stop').click(); // the session's Stop, not the Run bar's
    await expect(panel.getByTestId('qemu-status')).toContainText('Stopped.');

    // The FAT survived the boot sector: its BPB was kept, the file is still there.
    expect(runToolOk('mcopy', ['-i', floppy, '::/README.TXT', '-']).stdout).toBe('kept through the boot sector install\n');
    runToolOk('fsck.fat', ['-n', floppy]);
  });

  test('the wizard makes a floppy with GRUB legacy and the kernel, saves its recipe; a dropped file; Launch in QEMU shows the kernel’s line', async ({
    page,
    shell,
  }) => {
    test.setTimeout(120_000);
    const floppy = join(dir, 'grub.img');
    const kernel = buildTestKernel(dir);
    await page.getByRole('button', { name: 'New image…' }).click();
    const wizard = page.getByRole('dialog', { name: 'New image' });
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Next' }).click();
    // A floppy: GRUB legacy is the suggestion; GRUB 2 is not possible and says why.
    await expect(wizard.getByRole('radio', { name: /^GRUB legacy/ })).toBeChecked();
    await expect(wizard.getByRole('radio', { name: /^GRUB 2/ })).toBeDisabled();
    await expect(wizard.getByText(/GRUB 2 needs a partitioned disk/)).toBeVisible();
    await wizard.getByLabel('Kernel file on this computer (optional)').fill(kernel);
    await expect(wizard.getByLabel('Path in the image')).toHaveValue('/boot/kernel.elf');
    await wizard.getByLabel('Path in the image').fill('boot/kernel.elf');
    await expect(wizard.getByText('A path inside the image, starting with /')).toBeVisible();
    await expect(wizard.getByRole('button', { name: 'Next' })).toBeDisabled();
    await wizard.getByLabel('Path in the image').fill('/boot/kernel.elf');
    await page.screenshot({ path: screenshotPath('wizard-bootloader', shell) });
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByLabel('Save as').fill(floppy);
    await expect(wizard.getByTestId('wizard-summary')).toContainText(`Install GRUB legacy, copy ${kernel} to /boot/kernel.elf`);
    await expect(wizard.getByTestId('wizard-summary')).toContainText(`Save the recipe as ${join(dir, 'grub.json')}`);
    await wizard.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(wizard).toBeHidden({ timeout: 20_000 });
    await expect(page.getByTestId('volume-whole')).toContainText('FAT12');
    expect(runToolOk('mdir', ['-i', floppy, '-b', '::/BOOT/GRUB']).stdout).toMatch(/stage2/i);
    expect(runToolOk('mdir', ['-i', floppy, '-b', '::/BOOT/GRUB']).stdout).toMatch(/menu\.lst/i);

    // The recipe beside the image names the kernel relative to its folder, and rebuilds the floppy.
    const recipe = JSON.parse(readFileSync(join(dir, 'grub.json'), 'utf8'));
    expect(recipe).toMatchObject({
      image: { floppy: '1.44M' },
      filesystem: { type: 'fat12' },
      files: [{ from: 'kernel.elf', to: '/boot/kernel.elf' }],
      bootloader: { grubLegacy: {} },
    });
    const rebuilt = join(dir, 'rebuilt.img');
    loopstudio('build', join(dir, 'grub.json'), '-o', rebuilt);
    for (const image of [floppy, rebuilt]) runToolOk('fsck.fat', ['-n', image]);
    const tree = (image: string) => runToolOk('mdir', ['-i', image, '-b', '-/', '::/']).stdout.split('\n').sort();
    expect(tree(rebuilt)).toEqual(tree(floppy));

    await page.getByRole('tab', { name: 'Files' }).click();
    const browser = page.getByTestId('file-browser');
    await dropFiles(page, browser, [{ name: 'NOTES.TXT', content: 'dropped beside GRUB\n' }]);
    await expect(browser.getByTestId('entry-NOTES.TXT')).toBeVisible();

    // Through the tab: options first, then Start.
    await page.getByRole('tab', { name: 'QEMU' }).click();
    const panel = page.getByTestId('qemu-panel');
    await panel.getByLabel('Memory (MiB)').fill('32');
    await expect(panel.getByTestId('qemu-command')).toHaveValue(/ -m 32 /);
    await panel.getByTestId('qemu-start').click();
    await expect(panel.getByTestId('serial-console')).toContainText(KERNEL_LINE, { timeout: 60_000 });
    await panel.getByTestId('qemu-stop').click(); // the session's Stop, not the Run bar's
    expect(runToolOk('mcopy', ['-i', floppy, '::/NOTES.TXT', '-']).stdout).toBe('dropped beside GRUB\n');
  });

  test('the bootloader dialog installs GRUB legacy with a menu entry on an existing floppy', async ({ page, shell }) => {
    const floppy = join(dir, 'dialog.img');
    const kernel = buildTestKernel(dir);
    await newFloppy(page, floppy);
    await page.getByRole('button', { name: 'Install bootloader…' }).click();
    const boot = page.getByRole('dialog', { name: 'Install bootloader' });
    await boot.getByRole('radio', { name: /GRUB legacy/ }).check();
    await boot.getByLabel('Title').fill('Test kernel');
    await boot.getByLabel('Path in the image').fill('/boot/kernel.elf');
    await boot.getByLabel('Kernel file on this computer (optional)').fill(kernel);
    await page.screenshot({ path: screenshotPath('bootloader', shell) });
    await boot.getByRole('button', { name: 'Install' }).click();
    await expect(boot.getByTestId('bootloader-result')).toContainText('GRUB legacy is installed', { timeout: 20_000 });
    await boot.getByRole('button', { name: 'Done' }).click();
    expect(runToolOk('mtype', ['-i', floppy, '::/BOOT/GRUB/MENU.LST']).stdout).toMatch(/title Test kernel/);
  });
});
