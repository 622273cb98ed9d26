import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, screenshotPath, test } from '../fixtures';
import { missingTools, openImageInUi, partitionFile, runToolOk, sfdiskImage, sfdiskPartitions, tempDir } from '../support';

const MIB = 1024 * 1024;

test.describe('open an image and see its layout', () => {
  test.skip(!!missingTools('sfdisk', 'mkfs.fat', 'mke2fs', 'mcopy', 'mdir'), 'needs sfdisk, dosfstools, e2fsprogs and mtools');

  let dir: string;
  let cleanup: () => void;
  let image: string;
  test.beforeEach(() => {
    ({ dir, cleanup } = tempDir('loopstudio-e2e-'));
    // A disk made with the host's tools, not ours: FAT16 and ext2 partitions, a file in the FAT.
    image = join(dir, 'hobby-os.img');
    sfdiskImage(image, 64 * MIB, 'label: dos\nstart=2048, size=20480, type=e, bootable\nstart=22528, type=83\n');
    runToolOk('mkfs.fat', ['-F', '16', '-n', 'BOOTFS', '--offset', '2048', image, String(20480 / 2)]);
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-L', 'rootfs', '-E', `offset=${22528 * 512}`, image, `${(131072 - 22528) / 2}k`]);
    writeFileSync(join(dir, 'readme.txt'), 'Read me first.\n');
    runToolOk('mcopy', ['-i', `${image}@@${2048 * 512}`, join(dir, 'readme.txt'), '::/README.TXT']);
  });
  test.afterEach(() => cleanup());

  test('refuses a path that is not an image, at the field', async ({ page }) => {
    await page.getByRole('button', { name: 'Open image…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Open image' });
    const field = dialog.getByLabel('Image file');
    await field.fill(join(dir, 'missing.img'));
    await field.press('Enter');
    await expect(dialog.getByRole('alert')).toHaveText(`${join(dir, 'missing.img')}: no such image file.`);
    await expect(field).toHaveAttribute('aria-invalid', 'true');
    await field.fill(dir);
    await field.press('Enter');
    await expect(dialog.getByRole('alert')).toContainText('is a folder, not an image file');
  });

  test('shows the partitions as sfdisk reads them, with each filesystem and its usage', async ({ page, shell }) => {
    const table = sfdiskPartitions(image);
    await openImageInUi(page, image);
    await expect(page.getByTestId('image-facts')).toContainText('MBR');
    await expect(page.getByTestId('image-facts')).toContainText('131 072 × 512'.replace(/ /g, '\u202f'));

    const rows = page.getByTestId('volumes-table');
    for (const [i, p] of table.partitions.entries()) {
      const row = rows.getByTestId(`volume-p${i + 1}`);
      await expect(row.getByRole('rowheader')).toContainText(`Partition ${i + 1}`);
      await expect(row).toContainText(String(p.start));
      await expect(page.getByTestId(`segment-p${i + 1}`)).toHaveAccessibleName(
        new RegExp(`— Partition ${i + 1}: .*sectors ${p.start}–${p.start + p.size - 1}`),
      );
    }
    await expect(rows.getByTestId('volume-p1')).toContainText('FAT16');
    await expect(rows.getByTestId('volume-p1')).toContainText('“BOOTFS”');
    await expect(rows.getByTestId('volume-p1').getByRole('rowheader')).toContainText('boot');
    await expect(rows.getByTestId('volume-p2')).toContainText('EXT2');
    await expect(rows.getByTestId('volume-p2')).toContainText('“rootfs”');
    await expect(rows.getByTestId('volume-p1')).toContainText('10 MiB');
    await page.screenshot({ path: screenshotPath('image-overview', shell) });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('image-overview-dark', shell) });
  });

  test('browses a partition: make a folder, rename, extract and delete, as mtools sees it', async ({ page, shell }) => {
    await openImageInUi(page, image);
    await page.getByRole('button', { name: 'Browse files of Partition 1' }).click();
    const browser = page.getByTestId('file-browser');
    await expect(browser.getByTestId('entry-README.TXT')).toContainText('15 bytes');

    await browser.getByRole('button', { name: 'New folder' }).click();
    await browser.getByLabel('New folder name').fill('a/b');
    await browser.getByLabel('New folder name').press('Enter');
    await expect(browser.getByText('A name cannot contain “/”: make one folder at a time.')).toBeVisible();
    await browser.getByLabel('New folder name').fill('BOOT');
    await browser.getByRole('button', { name: 'Make folder' }).click();
    await expect(browser.getByTestId('entry-BOOT')).toBeVisible();

    await browser.getByRole('button', { name: 'Rename README.TXT' }).click();
    await browser.getByLabel('New name for README.TXT').fill('NOTES.TXT');
    await browser.getByLabel('New name for README.TXT').press('Enter');
    await expect(browser.getByTestId('entry-NOTES.TXT')).toBeVisible();
    await page.screenshot({ path: screenshotPath('files', shell) });

    await browser.getByRole('button', { name: 'Extract NOTES.TXT' }).click();
    const extract = page.getByRole('dialog', { name: 'Extract NOTES.TXT' });
    await extract.getByLabel('Into the folder').fill(dir);
    await extract.getByRole('button', { name: 'Extract' }).click();
    await expect(browser.getByTestId('files-notice')).toContainText(`Extracted NOTES.TXT to ${dir}`);
    expect(readFileSync(join(dir, 'NOTES.TXT'), 'utf8')).toBe('Read me first.\n');
    // Again: the file is there now, so the dialog asks before replacing it (issue 13).
    writeFileSync(join(dir, 'NOTES.TXT'), 'changed on the host\n');
    await browser.getByRole('button', { name: 'Extract NOTES.TXT' }).click();
    const again = page.getByRole('dialog', { name: 'Extract NOTES.TXT' });
    await again.getByLabel('Into the folder').fill(dir);
    await again.getByRole('button', { name: 'Extract' }).click();
    await expect(again.getByTestId('extract-replace')).toContainText(
      `This is already there: ${join(dir, 'NOTES.TXT')}. Nothing was copied.`,
    );
    expect(readFileSync(join(dir, 'NOTES.TXT'), 'utf8')).toBe('changed on the host\n');
    await again.getByRole('button', { name: 'Replace it' }).click();
    await expect(again).toBeHidden();
    expect(readFileSync(join(dir, 'NOTES.TXT'), 'utf8')).toBe('Read me first.\n');

    await browser.getByRole('button', { name: 'Delete BOOT' }).click();
    await page.getByRole('dialog', { name: 'Delete BOOT?' }).getByRole('button', { name: 'Delete' }).click();
    await expect(browser.getByTestId('entry-BOOT')).toBeHidden();

    const listing = runToolOk('mdir', ['-i', `${image}@@${2048 * 512}`, '-b', '::/'])
      .stdout.split('\n')
      .filter(Boolean);
    expect(listing).toEqual(['::/NOTES.TXT']);
    runToolOk('fsck.fat', ['-n', partitionFile(image, 2048, 20480, join(dir, 'p1.img'))]);
  });

  test('formats a partition after saying what is lost; fsck.fat and sfdisk agree', async ({ page, shell }) => {
    await openImageInUi(page, image);
    await page.getByRole('button', { name: 'Format Partition 1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Format partition 1' });
    await expect(dialog.getByTestId('format-loss')).toContainText('Everything on this FAT16 volume is lost');
    // FAT32 needs at least 65525 clusters: 10 MiB cannot hold them. Refused at the field.
    await dialog.getByRole('combobox', { name: 'Filesystem' }).selectOption('fat32');
    await expect(dialog.getByRole('alert')).toContainText('FAT32');
    await expect(dialog.getByRole('button', { name: 'Format as FAT32' })).toBeDisabled();
    await dialog.getByRole('combobox', { name: 'Filesystem' }).selectOption('fat12');
    await dialog.getByLabel('Label').fill('data');
    await page.screenshot({ path: screenshotPath('format', shell) });
    await dialog.getByRole('button', { name: 'Format as FAT12' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId('volume-p1')).toContainText('FAT12');
    await expect(page.getByTestId('volume-p1')).toContainText('“DATA”');

    const p1 = sfdiskPartitions(image).partitions[0]!;
    // The partition type follows the filesystem: 0x01 is FAT12.
    expect(p1.type).toBe('1');
    runToolOk('fsck.fat', ['-n', partitionFile(image, p1.start, p1.size, join(dir, 'p1.img'))]);
    expect(runToolOk('mdir', ['-i', `${image}@@${2048 * 512}`, '-b', '::/']).stdout.trim()).toBe('');
  });
});
