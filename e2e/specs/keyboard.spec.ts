import { join } from 'node:path';
import { expect, screenshotPath, test } from '../fixtures';
import { loopstudio, missingTools, openImageInUi, tempDir } from '../support';

/** Issue 14, item 16: where the keyboard is, in the wizard and the dialogs. */
test.describe('keyboard focus', () => {
  test.skip(!!missingTools('mkfs.fat'), 'needs dosfstools for the images');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-')));
  test.afterEach(() => cleanup());

  test('the wizard opens on its first field, each step on its own, arrow keys stay in the Floppy/Hard disk group, and Create gives the focus back', async ({
    page,
    shell,
  }) => {
    const path = join(dir, 'floppy.img');
    const opener = page.getByRole('navigation', { name: 'Images' }).getByRole('button', { name: 'New image…' });
    await opener.focus();
    await page.keyboard.press('Enter');
    const wizard = page.getByRole('dialog', { name: 'New image' });
    const floppy = wizard.getByRole('radio', { name: 'Floppy' });
    const disk = wizard.getByRole('radio', { name: 'Hard disk' });
    await expect(floppy).toBeFocused();

    // Arrow keys move within the radio group (the Size field appears, but does not take the focus).
    await page.keyboard.press('ArrowRight');
    await expect(disk).toBeChecked();
    await expect(disk).toBeFocused();
    await expect(wizard.getByRole('textbox', { name: 'Size' })).toBeVisible();
    await page.keyboard.press('ArrowLeft');
    await expect(floppy).toBeChecked();
    await expect(floppy).toBeFocused();
    await page.screenshot({ path: screenshotPath('keyboard-wizard', shell) });

    // Each step opens on its first field: Enter is Next.
    await page.keyboard.press('Enter');
    await expect(wizard.getByRole('combobox', { name: 'Filesystem' })).toBeFocused();
    // (Enter on a <select> opens it; from the Label field it is Next.)
    await page.keyboard.press('Tab');
    await expect(wizard.getByLabel('Label')).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(wizard.getByRole('radio', { name: /^GRUB legacy/ })).toBeFocused();
    await wizard.getByRole('radio', { name: /^None/ }).check();
    await page.keyboard.press('Enter');
    const saveAs = wizard.getByLabel('Save as');
    await expect(saveAs).toBeFocused();
    // Back goes to the step before, on its first field.
    await wizard.getByRole('button', { name: 'Back' }).click();
    await expect(wizard.getByRole('radio', { name: /^None/ })).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(saveAs).toBeFocused();
    await page.keyboard.type(path);
    await page.keyboard.press('Enter');
    await expect(wizard).toBeHidden();
    await expect(page.getByTestId('volume-whole')).toContainText('FAT12');
    await expect(opener).toBeFocused();
  });

  test('dialogs open on their first field, not on ×, and give the focus back to what opened them', async ({ page, shell }) => {
    const floppy = join(dir, 'floppy.img');
    loopstudio('create', floppy, '--floppy', '1.44M');
    loopstudio('format', floppy, '--fs', 'fat12');

    const open = page.getByRole('navigation', { name: 'Images' }).getByRole('button', { name: 'Open image…' });
    await open.click();
    const openDialog = page.getByRole('dialog', { name: 'Open image' });
    await expect(openDialog.getByLabel('Image file')).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(openDialog).toBeHidden();
    await expect(open).toBeFocused();

    await openImageInUi(page, floppy);
    const format = page.getByRole('button', { name: 'Format Whole floppy' });
    await format.click();
    const formatDialog = page.getByTestId('format-dialog');
    await expect(formatDialog.getByRole('combobox', { name: 'Filesystem' })).toBeFocused();
    await page.screenshot({ path: screenshotPath('keyboard-format-dialog', shell) });
    await formatDialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(format).toBeFocused();

    const install = page.getByRole('button', { name: 'Install bootloader…' });
    await install.click();
    const boot = page.getByRole('dialog', { name: 'Install bootloader' });
    // A radio group is entered at its checked radio: GRUB legacy for a floppy.
    await expect(boot.getByRole('radio', { name: /^GRUB legacy/ })).toBeFocused();
    await expect(boot.getByRole('button', { name: 'Close' })).not.toBeFocused();
    await page.keyboard.press('Escape');
    await expect(install).toBeFocused();

    // A confirmation without fields opens on its safe choice.
    await page.getByRole('tab', { name: 'Files' }).click();
    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByLabel('New folder name').fill('docs');
    await page.getByLabel('New folder name').press('Enter');
    const row = page.getByTestId('entry-DOCS').or(page.getByTestId('entry-docs'));
    await expect(row).toBeVisible();
    const del = row.getByRole('button', { name: /Delete/ });
    await del.click();
    const confirm = page.getByRole('dialog', { name: /Delete docs\?/i });
    await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(del).toBeFocused();
  });
});
