import type { Locator, Page } from '@playwright/test';
import { expect, screenshotPath, test } from '../fixtures';

const thin = (text: string) => text.replace(/ /g, '\u202f');

async function openWizard(page: Page) {
  await page.getByRole('button', { name: 'New image…' }).click();
  const wizard = page.getByRole('dialog', { name: 'New image' });
  await expect(wizard).toBeVisible();
  return wizard;
}

function overlap(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

async function box(locator: Locator) {
  const found = await locator.boundingBox();
  if (!found) throw new Error('not laid out');
  return found;
}

/** Issue 14, items 13 and 15: the wizard's C/H/S fields, and what it shows of the article's arithmetic. */
test.describe('the new-image wizard’s fields', () => {
  test('C/H/S: every problem at its own field, in words, all at once; the three fields side by side without overlapping', async ({
    page,
    shell,
  }) => {
    const wizard = await openWizard(page);
    await wizard.getByRole('radio', { name: 'Hard disk' }).check();
    await wizard.getByRole('radio', { name: /By cylinders/ }).check();
    const cylinders = wizard.getByRole('textbox', { name: 'Cylinders' });
    const heads = wizard.getByRole('textbox', { name: 'Heads' });
    const sectors = wizard.getByRole('textbox', { name: 'Sectors per track' });

    await cylinders.fill('lots');
    await heads.fill('300');
    await sectors.fill('64');
    await expect(wizard.getByTestId('chs-field').getByRole('alert')).toHaveText(
      'Cylinders: a whole number from 1 up, such as 1000, not “lots”.',
    );
    await expect(wizard.getByTestId('heads-field').getByRole('alert')).toHaveText(
      'Heads: a whole number from 1 to 255, such as 16 (the article) or 255, not “300”.',
    );
    await expect(wizard.getByTestId('sectors-field').getByRole('alert')).toHaveText(
      'Sectors per track: a whole number from 1 to 63, such as 63, not “64”.',
    );
    for (const field of [cylinders, heads, sectors]) await expect(field).toHaveAttribute('aria-invalid', 'true');
    await expect(wizard.getByText(/sectorsPerTrack|must be a whole/)).toHaveCount(0);
    await expect(wizard.getByRole('button', { name: 'Next' })).toBeDisabled();

    const [c, h, s] = [await box(cylinders), await box(heads), await box(sectors)];
    expect(overlap(c, h) || overlap(h, s) || overlap(c, s)).toBe(false);
    await page.screenshot({ path: screenshotPath('wizard-chs-errors', shell) });

    // Corrected one by one, each message goes with its own mistake.
    await heads.fill('16');
    await expect(wizard.getByTestId('heads-field').getByRole('alert')).toHaveCount(0);
    await expect(wizard.getByTestId('chs-field').getByRole('alert')).toBeVisible();
    await cylinders.fill('1000');
    await sectors.fill('63');
    await expect(wizard.getByRole('alert')).toHaveCount(0);
    await expect(wizard.getByTestId('geometry-chs')).toContainText(thin('1 000 × 16 × 63 × 512 = 516 096 000'));
  });

  test('the article’s numbers: losetup -o 32256 for partition 1, mke2fs’s blocks grouped as everywhere else, and setup (hd0) for GRUB legacy on a hard disk', async ({
    page,
    shell,
  }) => {
    const wizard = await openWizard(page);
    await wizard.getByRole('radio', { name: 'Hard disk' }).check();
    await wizard.getByRole('textbox', { name: 'Size' }).fill('64M');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('radio', { name: /63 sectors/ }).check();
    const geometry = wizard.getByTestId('geometry-panel');
    // Sector numbers plain (as the fields and sfdisk write them), amounts grouped, commands as typed.
    await expect(geometry.getByTestId('geometry-partition')).toContainText(thin('sectors 63–132047, byte offset 63 × 512 = 32 256'));
    await expect(geometry.getByTestId('geometry-losetup')).toContainText('losetup -o 32256 --sizelimit 67576320 /dev/loop0 disk.img');
    await expect(geometry.getByTestId('geometry-blocks')).toHaveText(thin('1 KiB blocks65 992'));
    await expect(geometry).toContainText('mke2fs -b 1024 /dev/loop0 65992');
    await page.screenshot({ path: screenshotPath('wizard-losetup', shell) });

    await wizard.getByRole('button', { name: 'Next' }).click();
    await expect(wizard.getByTestId('fs-field')).toContainText(thin('ext2: 65 992 blocks of 1 KiB'));
    await wizard.getByRole('button', { name: 'Next' }).click();
    const legacy = wizard.getByText(/^stage1 in the MBR/);
    await expect(legacy).toHaveText(
      'stage1 in the MBR, stage2 and menu.lst in /boot/grub on partition 1, as the article’s root (hd0,0) and setup (hd0).',
    );
    await expect(wizard.getByText(/setup \(fd0\)/)).toHaveCount(0);
    await page.screenshot({ path: screenshotPath('wizard-bootloader-disk', shell) });

    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByLabel('Save as').fill('/tmp/nowhere/disk.img');
    await expect(wizard.getByTestId('wizard-summary')).toContainText(thin('64.48 MiB, 131/16/63 C/H/S, 132 048 sectors, sparse.'));
    await expect(wizard.getByTestId('wizard-summary')).toContainText(thin('from sector 63 to 132047 (64.45 MiB, byte offset 32 256)'));
    // What Create will run, as commands.
    await wizard.getByTestId('wizard-commands').getByText('Show commands').click();
    const commands = wizard.getByTestId('wizard-commands');
    await expect(commands).toContainText('loopstudio create /tmp/nowhere/disk.img --chs 131/16/63');
    await expect(commands).toContainText('dd if=/dev/zero of=/tmp/nowhere/disk.img bs=516096c count=131');
    await expect(commands).toContainText(
      'loopstudio partition /tmp/nowhere/disk.img --table mbr --align 63 --add start=63,size=rest,type=83,bootable',
    );
    await expect(commands).toContainText('mke2fs -q -F -t ext2 -E offset=32256 /tmp/nowhere/disk.img 65992k');
    await expect(commands).toContainText('loopstudio build disk.json');
  });

  test('a floppy’s GRUB legacy is set up as (fd0)', async ({ page }) => {
    const wizard = await openWizard(page);
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await expect(wizard.getByText('stage1 in sector 0, stage2 and menu.lst in /boot/grub, as the article’s setup (fd0).')).toBeVisible();
  });
});
