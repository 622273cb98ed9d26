/**
 * The new-image wizard's "Bootable ISO (CD/USB)" (issue 16): the same boot loader step as a disk's,
 * a recipe saved beside the image and built; the image view then shows the ISO read-only. Checked
 * with xorriso (the El Torito entries, the hybrid MBR) and by building the saved recipe again with
 * the CLI: the same bytes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { buildTestKernel } from '../../tests/support/test-kernel';
import { expect, screenshotPath, test } from '../fixtures';
import { loopstudio, missingTools, runToolOk, tempDir } from '../support';

async function openWizard(page: Page) {
  await page.getByRole('button', { name: 'New image…' }).click();
  const wizard = page.getByRole('dialog', { name: 'New image' });
  await expect(wizard).toBeVisible();
  return wizard;
}

test.describe('the new-image wizard: a bootable ISO', () => {
  test.skip(!!missingTools('grub-mkimage', 'xorriso', 'nasm', 'ld'), 'needs GRUB 2 (grub-mkimage), xorriso, nasm and ld');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-iso-')));
  test.afterEach(() => cleanup());

  test('makes a hybrid ISO with GRUB 2 for BIOS and UEFI from a kernel, and the image view browses it read-only', async ({
    page,
    shell,
  }) => {
    const kernel = buildTestKernel(dir);
    const path = join(dir, 'myos.iso');
    const wizard = await openWizard(page);
    await wizard.getByRole('radio', { name: 'Bootable ISO (CD/USB)' }).check();
    await expect(wizard.getByTestId('iso-disk-fields')).toBeVisible();
    await wizard.getByLabel('Volume label').fill('MYOS');
    await expect(wizard.getByTestId('iso-layout')).toContainText('/boot/grub/grub.cfg');
    // Three steps: no partitions, no filesystem to choose.
    await expect(wizard.getByRole('list', { name: 'Steps' }).getByRole('listitem')).toHaveCount(3);
    await wizard.getByRole('button', { name: 'Next' }).click();

    await expect(wizard.getByRole('radio', { name: /^GRUB 2 for BIOS and UEFI/ })).toBeChecked();
    await expect(wizard.getByTestId('iso-hybrid')).toBeChecked();
    // GRUB boots a kernel from its menu: the ISO needs one.
    await expect(wizard.getByTestId('kernel-file-field')).toContainText('An ISO is made from files');
    await expect(wizard.getByRole('button', { name: 'Next' })).toBeDisabled();
    await wizard.getByLabel('Kernel file on this computer (optional)').fill(kernel);
    await wizard.getByLabel('Title').fill('myos');
    await expect(wizard.getByTestId('iso-layout')).toContainText('kernel.elf');
    await page.screenshot({ path: screenshotPath('wizard-iso-boot', shell) });
    await wizard.getByRole('button', { name: 'Next' }).click();

    await wizard.getByLabel('Save as').fill(path);
    const summary = wizard.getByTestId('wizard-summary');
    await expect(summary).toContainText(`Save the recipe as ${join(dir, 'myos.json')}`);
    await expect(summary).toContainText('labelled “MYOS”');
    await expect(summary).toContainText('Boot with GRUB 2 for BIOS and UEFI, hybrid: from a CD or a USB stick.');
    await wizard.getByTestId('wizard-commands').click();
    await expect(wizard.getByTestId('wizard-commands')).toContainText(`loopstudio build myos.json -o myos.iso --allow-outside ${dir}`);
    await page.screenshot({ path: screenshotPath('wizard-iso', shell) });
    await wizard.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(wizard).toBeHidden({ timeout: 30_000 });

    await expect(page.getByRole('heading', { level: 1 })).toHaveText('myos.iso');
    const overview = page.getByTestId('iso-overview');
    await expect(overview).toContainText('ISO 9660 volume “MYOS”');
    await expect(page.getByTestId('iso-boot')).toContainText(
      'BIOS (/boot/grub/i386-pc/eltorito.img), UEFI (an EFI partition after the files)',
    );
    await expect(overview).toContainText('Hybrid MBR');
    await expect(page.getByRole('button', { name: 'Install bootloader…' })).toBeDisabled();
    await page.screenshot({ path: screenshotPath('image-iso', shell) });

    await page.getByRole('tab', { name: 'Files' }).click();
    const browser = page.getByTestId('iso-browser');
    await browser.getByRole('button', { name: 'boot', exact: true }).click();
    await expect(browser.getByTestId('entry-kernel.elf')).toBeVisible();
    await expect(browser.getByTestId('entry-grub')).toBeVisible();
    // Read-only: extract, nothing that writes.
    await expect(browser.getByRole('button', { name: /^Extract/ })).toHaveCount(2);
    await expect(browser.getByRole('button', { name: /^(Delete|Rename|New folder|Add files)/ })).toHaveCount(0);
    await page.screenshot({ path: screenshotPath('files-iso', shell) });

    // xorriso sees both boot images and the hybrid MBR.
    const report = runToolOk('xorriso', ['-indev', path, '-report_el_torito', 'plain', '-report_system_area', 'plain']).stdout;
    expect(report).toContain('El Torito img path :   1  /boot/grub/i386-pc/eltorito.img');
    expect(report).toMatch(/El Torito boot img :\s+2\s+UEFI/);
    expect(report).toContain('grub2-mbr');
    // The saved recipe makes the same bytes (its date is pinned).
    expect(readdirSync(dir).sort()).toEqual(['kernel.elf', 'kernel.o', 'myos.iso', 'myos.json']);
    const recipe = JSON.parse(readFileSync(join(dir, 'myos.json'), 'utf8'));
    expect(recipe.image.iso).toMatchObject({ volumeId: 'MYOS', hybrid: true, date: expect.stringMatching(/^\d{4}-\d\d-\d\d$/) });
    loopstudio('build', join(dir, 'myos.json'), '-o', join(dir, 'again.iso'), '--allow-outside', dir);
    expect(readFileSync(join(dir, 'again.iso')).equals(readFileSync(path))).toBe(true);
  });
});
