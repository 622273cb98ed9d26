import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { grubLegacyMissing } from '../../tests/support/boot';
import { expect, screenshotPath, test } from '../fixtures';
import { dropFiles, missingTools, releaseLoopsUnder, runToolOk, sfdiskPartitions, tempDir } from '../support';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const canMount = isRoot && !missingTools('losetup', 'mount', 'umount') && /\text2$/m.test(readFileSync('/proc/filesystems', 'utf8'));

/** The commands under "Show commands" of the newest log entry that matches `text`. */
async function commandsOf(page: Page, text: RegExp): Promise<string> {
  const panel = page.getByRole('dialog', { name: 'Activity' });
  if (!(await panel.isVisible())) await page.getByTestId('activity-status').click();
  const entry = panel
    .getByTestId('log-list')
    .locator('li.log-entry')
    .filter({ has: page.locator('p.log-text').filter({ hasText: text }) })
    .last();
  await expect(entry).toBeVisible();
  const details = entry.locator('details');
  await expect(details, `"Show commands" for ${text}`).toHaveCount(1);
  if (!(await details.evaluate((d: HTMLDetailsElement) => d.open))) await details.locator('summary').click();
  const commands = (await details.locator('pre').textContent()) ?? '';
  await page.keyboard.press('Escape');
  await expect(panel).toBeHidden();
  return commands;
}

/** Issue 14, item 17: every job can show the commands that do the same. */
test.describe('Show commands', () => {
  test.skip(!!missingTools('sfdisk', 'mkfs.fat', 'mcopy'), 'needs sfdisk, dosfstools and mtools');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-')));
  test.afterEach(() => {
    releaseLoopsUnder(dir);
    cleanup();
  });

  test('create, partition, format, files, boot loader and mount each log the loopstudio line and the classic tools’ lines, and the sfdisk script writes the same table', async ({
    page,
    shell,
  }) => {
    test.setTimeout(120_000);
    const image = join(dir, 'disk.img');
    await page.getByRole('button', { name: 'New image…' }).click();
    const wizard = page.getByRole('dialog', { name: 'New image' });
    await wizard.getByRole('radio', { name: 'Hard disk' }).check();
    await wizard.getByRole('textbox', { name: 'Size' }).fill('64M');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('textbox', { name: 'Size' }).fill('20M');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('combobox', { name: 'Filesystem' }).selectOption('fat16');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('radio', { name: /^None/ }).check();
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByTestId('save-recipe').uncheck();
    await wizard.getByLabel('Save as').fill(image);
    await wizard.getByRole('button', { name: 'Create', exact: true }).click();
    await expect(wizard).toBeHidden();
    await expect(page.getByTestId('volume-p1')).toContainText('FAT16');

    const created = await commandsOf(page, /^Created /);
    expect(created).toContain(`loopstudio create ${image} --chs 131/16/63`);
    expect(created).toContain(`dd if=/dev/zero of=${image} bs=516096c count=131`);
    const partitioned = await commandsOf(page, /^Partitioned /);
    expect(partitioned).toContain(`loopstudio partition ${image} --table mbr --align 2048 --add start=2048,size=20M,type=06,bootable`);
    expect(partitioned).toContain('sfdisk --quiet');
    const formatted = await commandsOf(page, /^Formatted partition 1/);
    expect(formatted).toContain(`loopstudio format ${image} -p 1 --fs fat16`);
    expect(formatted).toContain(`mkfs.fat -F 16 --offset 2048 -h 2048 ${image} 20480`);
    expect(formatted).toContain(`losetup -o 1048576 --sizelimit 20971520 /dev/loop0 ${image}`);

    // Files: a folder, then a dropped file.
    await page.getByRole('tab', { name: 'Files' }).click();
    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByLabel('New folder name').fill('docs');
    await page.getByLabel('New folder name').press('Enter');
    await expect(page.getByTestId('file-table')).toContainText('docs');
    const mkdir = await commandsOf(page, /^Made folder \/docs/);
    expect(mkdir).toContain(`loopstudio mkdir ${image} -p 1 /docs`);
    expect(mkdir).toContain(`mmd -i ${image}@@1048576 ::/docs`);
    await dropFiles(page, page.getByTestId('file-browser'), [{ name: 'notes.txt', content: 'notes\n' }]);
    await expect(page.getByTestId('file-table')).toContainText('notes.txt');
    const put = await commandsOf(page, /^Copied 1 file/);
    expect(put).toContain(`loopstudio put ${image} -p 1 notes.txt /`);
    expect(put).toContain(`mcopy -s -o -i ${image}@@1048576 notes.txt ::/`);

    // The partition editor: a second partition, written.
    await page.getByRole('tab', { name: 'Partitions' }).click();
    const editor = page.getByTestId('partition-editor');
    await editor.locator('[data-testid^="segment-f"]').last().click();
    await editor.getByTestId('add-form').getByLabel('Size in sectors').fill('10M');
    await editor.getByRole('button', { name: 'Stage: add partition' }).click();
    await page.getByRole('button', { name: 'Apply changes…' }).click();
    await page.getByRole('dialog', { name: 'Apply the partition changes?' }).getByTestId('write-table').click();
    await expect(editor.getByTestId('table-written')).toBeVisible();
    const table = await commandsOf(page, /^Partitioned disk\.img: Add partition/);
    expect(table).toMatch(new RegExp(`^loopstudio partition ${image} --align 2048 --add start=\\d+,size=20480,type=83$`, 'm'));
    // The table after the change, as the log's sfdisk script writes it on a blank file of the same size.
    const script = table.slice(table.indexOf("<<'EOF'\n") + 8, table.lastIndexOf('\nEOF'));
    const copy = join(dir, 'by-hand.img');
    runToolOk('truncate', ['-s', String(statSync(image).size), copy]);
    runToolOk('sfdisk', ['--quiet', copy], { input: `${script}\n` });
    expect(sfdiskPartitions(copy).partitions.map(({ node, ...p }) => p)).toEqual(
      sfdiskPartitions(image).partitions.map(({ node, ...p }) => p),
    );

    // Format partition 2 in its dialog.
    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Format Partition 2' }).click();
    await page.getByTestId('format-dialog').getByRole('combobox', { name: 'Filesystem' }).selectOption('ext2');
    await page
      .getByTestId('format-dialog')
      .getByRole('button', { name: /^Format as/ })
      .click();
    await expect(page.getByTestId('volume-p2')).toContainText('EXT2');
    const format2 = await commandsOf(page, /^Formatted partition 2/);
    expect(format2).toContain(`loopstudio format ${image} -p 2 --fs ext2`);
    expect(format2).toContain(`mke2fs -q -F -t ext2 -E offset=${43008 * 512} ${image} 10240k`);

    // A boot loader in its dialog.
    if (!grubLegacyMissing()) {
      await page.getByRole('button', { name: 'Install bootloader…' }).click();
      const boot = page.getByRole('dialog', { name: 'Install bootloader' });
      await boot.getByRole('radio', { name: /^GRUB legacy/ }).check();
      writeFileSync(join(dir, 'kernel.elf'), 'a kernel\n');
      await boot.getByLabel('Kernel file on this computer (optional)').fill(join(dir, 'kernel.elf'));
      await boot.getByRole('button', { name: 'Install' }).click();
      await expect(boot.getByTestId('bootloader-result')).toContainText('GRUB legacy is installed');
      await boot.getByRole('button', { name: 'Done' }).click();
      const installed = await commandsOf(page, /^Installed grub-legacy/);
      expect(installed).toContain(
        `loopstudio bootloader ${image} -p 1 --grub-legacy --kernel /boot/kernel.elf --kernel-type multiboot --title 'My OS' --kernel-file ${join(dir, 'kernel.elf')} --timeout 3 --serial`,
      );
      expect(installed).toContain("printf 'device (hd0) %s\\nroot (hd0,0)\\nsetup (hd0)\\nquit\\n'");
    }

    // Mount (the ext2 partition), where this machine can.
    if (canMount) {
      await page.getByRole('button', { name: 'Mount Partition 2', exact: true }).click();
      await expect(page.getByTestId('volume-p2').getByTestId('mounted-at')).toContainText('mounted at /', { timeout: 20_000 });
      const mount = await commandsOf(page, /^Mount partition 2 of disk\.img: done/);
      expect(mount).toContain(`loopstudio mount ${image} -p 2`);
      expect(mount).toMatch(new RegExp(`losetup -o ${43008 * 512} --sizelimit ${20480 * 512} /dev/loop\\d+`));
      await page.getByRole('button', { name: 'Unmount Partition 2' }).click();
      await expect(page.getByRole('button', { name: 'Mount Partition 2', exact: true })).toBeVisible({ timeout: 20_000 });
      const unmount = await commandsOf(page, /^Unmount /);
      expect(unmount).toMatch(/^loopstudio umount \//m);
    }

    await page.getByTestId('activity-status').click();
    await page.getByRole('dialog', { name: 'Activity' }).locator('details').first().locator('summary').click();
    await page.screenshot({ path: screenshotPath('show-commands', shell) });
  });
});
