import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, screenshotPath, test } from '../fixtures';
import { loopstudio, missingTools, partitionFile, runToolOk, sfdiskPartitions, sha256, tempDir } from '../support';

const thin = (text: string) => text.replace(/ /g, '\u202f');

async function openWizard(page: Page) {
  await page.getByRole('button', { name: 'New image…' }).click();
  const wizard = page.getByRole('dialog', { name: 'New image' });
  await expect(wizard).toBeVisible();
  return wizard;
}

test.describe('the new-image wizard', () => {
  test.skip(!!missingTools('sfdisk', 'fsck.fat', 'e2fsck', 'mdir'), 'needs sfdisk, dosfstools, e2fsprogs and mtools');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-')));
  test.afterEach(() => cleanup());

  test('creates a 1.44M floppy with FAT12 that fsck.fat and mtools accept', async ({ page, shell }) => {
    const path = join(dir, 'floppy.img');
    const wizard = await openWizard(page);
    await expect(wizard.getByRole('radio', { name: 'Floppy' })).toBeChecked();
    await wizard.getByRole('radio', { name: /1\.44M/ }).check();
    await expect(wizard.getByTestId('geometry-chs')).toContainText(thin('80 × 2 × 18 × 512 = 1 474 560'));
    await expect(wizard.getByTestId('geometry-sectors')).toContainText(thin('2 880'));
    await wizard.getByRole('button', { name: 'Next' }).click();

    await expect(wizard.getByRole('combobox', { name: 'Filesystem' })).toHaveValue('fat12');
    await expect(wizard.getByTestId('fs-field')).toContainText('FAT12: 2847 clusters of 512 bytes'.replace('2847', thin('2 847')));
    await wizard.getByLabel('Label').fill('hobbyos');
    await wizard.getByRole('button', { name: 'Next' }).click();

    await wizard.getByRole('radio', { name: /^None/ }).check();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByTestId('save-recipe').uncheck();
    await wizard.getByLabel('Save as').fill(path);
    await expect(wizard.getByTestId('wizard-summary')).toContainText(`Create ${path}: a 1.44M floppy`);
    await expect(wizard.getByTestId('wizard-summary')).toContainText('Format the whole image as FAT12 labelled “hobbyos”.');
    await page.screenshot({ path: screenshotPath('wizard-floppy', shell) });
    await wizard.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(wizard).toBeHidden();

    await expect(page.getByRole('heading', { level: 1 })).toHaveText('floppy.img');
    await expect(page.getByTestId('volume-whole')).toContainText('FAT12');
    await expect(page.getByTestId('volume-whole')).toContainText('“HOBBYOS”');
    expect(statSync(path).size).toBe(1_474_560);
    runToolOk('fsck.fat', ['-n', path]);
    expect(runToolOk('mdir', ['-i', path, '::/']).stdout).toContain('Volume in drive : is HOBBYOS');
    expect(readdirSync(dir)).toEqual(['floppy.img']);
  });

  test('creates a hard disk from a size, with the article’s geometry, an MBR partition at sector 63 and ext2', async ({ page, shell }) => {
    const path = join(dir, 'disk.img');
    const wizard = await openWizard(page);
    await wizard.getByRole('radio', { name: 'Hard disk' }).check();
    await wizard.getByRole('textbox', { name: 'Size' }).fill('64M');
    // 64 MiB / 516 096 bytes per cylinder = 130.03: rounded up to 131 cylinders.
    await expect(wizard.getByTestId('geometry-chs')).toContainText(thin('131 × 16 × 63 × 512 = 67 608 576'));
    await page.screenshot({ path: screenshotPath('wizard-geometry', shell) });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('wizard-geometry-dark', shell) });
    await page.emulateMedia({ colorScheme: 'light' });
    await wizard.getByRole('button', { name: 'Next' }).click();

    await expect(wizard.getByRole('radio', { name: 'MBR' })).toBeChecked();
    await wizard.getByRole('radio', { name: /63 sectors/ }).check();
    await expect(wizard.getByTestId('geometry-partition')).toContainText(thin('63 × 512 = 32 256'));
    await wizard.getByRole('button', { name: 'Next' }).click();
    await expect(wizard.getByRole('combobox', { name: 'Filesystem' })).toHaveValue('ext2');
    await wizard.getByRole('button', { name: 'Next' }).click();
    // The 31 KiB before sector 63 hold GRUB 2's core.img for ext2: it is the suggestion for a disk.
    await expect(wizard.getByRole('radio', { name: /^GRUB 2/ })).toBeChecked();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByLabel('Save as').fill(path);
    await expect(wizard.getByTestId('wizard-summary')).toContainText('Write an MBR with partition 1 from sector 63 to 132047');
    await expect(wizard.getByTestId('wizard-summary')).toContainText('Install GRUB 2 without a menu');
    await wizard.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(wizard).toBeHidden();
    await expect(page.getByTestId('volume-p1')).toContainText('EXT2');

    expect(statSync(path).size).toBe(131 * 516_096);
    const table = sfdiskPartitions(path);
    expect(table.label).toBe('dos');
    expect(table.partitions).toEqual([expect.objectContaining({ start: 63, size: 132_048 - 63, type: '83', bootable: true })]);
    runToolOk('e2fsck', ['-fn', partitionFile(path, 63, 132_048 - 63, join(dir, 'p1.img'))]);
    // GRUB 2's boot.img is in the MBR (the table kept), core.img right after it.
    const bytes = readFileSync(path);
    expect(bytes.readBigUInt64LE(0x5c)).toBe(1n);
    expect(bytes.readBigUInt64LE(512 + 0x1f4)).toBe(2n);

    // The recipe beside it rebuilds the same layout.
    const recipe = JSON.parse(readFileSync(join(dir, 'disk.json'), 'utf8'));
    expect(recipe).toMatchObject({
      image: { chs: '131/16/63' },
      table: 'mbr',
      partitions: [{ start: 63, size: 132_048 - 63, bootable: true, filesystem: { type: 'ext2' } }],
      bootloader: { grub2: {} },
    });
    const rebuilt = join(dir, 'rebuilt.img');
    loopstudio('build', join(dir, 'disk.json'), '-o', rebuilt);
    expect(statSync(rebuilt).size).toBe(statSync(path).size);
    expect(sfdiskPartitions(rebuilt).partitions.map(({ node, ...p }) => p)).toEqual(table.partitions.map(({ node, ...p }) => p));
  });

  test('refuses bad input at the field and writes nothing', async ({ page, shell }) => {
    const wizard = await openWizard(page);
    await wizard.getByRole('radio', { name: 'Hard disk' }).check();
    const size = wizard.getByRole('textbox', { name: 'Size' });
    await size.fill('10K');
    const sizeField = wizard.getByTestId('size-field');
    await expect(sizeField.getByRole('alert')).toHaveText(
      'Size 10K: 10 KiB is too small for a disk image; the smallest is 32768 bytes (64 sectors).',
    );
    await expect(size).toHaveAttribute('aria-invalid', 'true');
    await expect(wizard.getByRole('button', { name: 'Next' })).toBeDisabled();
    await page.screenshot({ path: screenshotPath('wizard-bad-size', shell) });

    // A filesystem that cannot fill the partition is refused at its field (FAT12 stops near 256 MiB).
    await size.fill('600M');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('combobox', { name: 'Filesystem' }).selectOption('fat12');
    await expect(wizard.getByTestId('fs-field').getByRole('alert')).toContainText('FAT12');
    await expect(wizard.getByRole('button', { name: 'Next' })).toBeDisabled();
    await page.keyboard.press('Escape');
    await expect(wizard).toBeHidden();
    expect(readdirSync(dir)).toEqual([]);

    // An existing file is not overwritten: the refusal is at the path, the file is unchanged.
    const existing = join(dir, 'precious.img');
    writeFileSync(existing, Buffer.alloc(1_474_560, 0xe5));
    const before = sha256(existing);
    const again = await openWizard(page);
    await again.getByRole('button', { name: 'Next' }).click();
    await again.getByRole('button', { name: 'Next' }).click();
    await again.getByRole('button', { name: 'Next' }).click();
    await again.getByLabel('Save as').fill(existing);
    await again.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(again.getByRole('alert')).toContainText('precious.img');
    await expect(again.getByLabel('Save as')).toHaveAttribute('aria-invalid', 'true');
    expect(sha256(existing)).toBe(before);
    expect(readdirSync(dir)).toEqual(['precious.img']);
  });
});
