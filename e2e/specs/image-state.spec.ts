import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, screenshotPath, test } from '../fixtures';
import { loopstudio, missingTools, openImageInUi, sfdiskImage, tempDir } from '../support';

const haveGrub2 = existsSync('/usr/lib/grub/i386-pc/boot.img') && !missingTools('grub-mkimage');

/** Issue 14, item 15: what the app shows of an image's state. */
test.describe('what the Overview shows', () => {
  test.skip(!!missingTools('sfdisk', 'mkfs.fat'), 'needs sfdisk and dosfstools');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-')));
  test.afterEach(() => cleanup());

  test('which boot loader an image has; once GRUB 2 is installed, the partition editor says it fits instead of “may not fit”', async ({
    page,
    shell,
  }) => {
    test.skip(!haveGrub2, 'needs GRUB 2 for BIOS (grub-pc-bin)');
    const blank = join(dir, 'blank.img');
    sfdiskImage(blank, 16 * 1024 * 1024, 'label: dos\nstart=2048, type=83\n');
    await openImageInUi(page, blank);
    await expect(page.getByTestId('boot-fact')).toHaveText('Boot loader (BIOS)None — no boot code in the MBR');

    // The article's layout: ext2 at sector 63, GRUB 2 in the 31 KiB before it.
    const disk = join(dir, 'disk.img');
    loopstudio('create', disk, '--size', '64M');
    loopstudio('partition', disk, '--table', 'mbr', '--align', '63', '--add', 'start=63,size=rest,type=83,bootable');
    loopstudio('format', disk, '-p', '1', '--fs', 'ext2');
    await openImageInUi(page, disk);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    await expect(page.getByTestId('grub-gap-note')).toContainText('GRUB 2 may not fit');

    loopstudio('bootloader', disk, '-p', '1', '--grub2');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(page.getByTestId('boot-fact')).toContainText(/GRUB 2 — boot\.img in the MBR, core\.img in sectors 1–\d+ \([\d.]+ KiB\)/);
    const note = page.getByTestId('grub-gap-note');
    await expect(note).toContainText('GRUB 2 is installed and fits.');
    await expect(note).toContainText('in the gap between the MBR and partition 1 (sectors 1–62), which holds 31 KiB.');
    await expect(note).not.toContainText('may not fit');
    await expect(note).not.toHaveClass(/\bwarn\b/);
    await page.screenshot({ path: screenshotPath('partition-grub-installed', shell) });

    // A layout that would put partition 1 over core.img says so.
    await page.getByTestId('segment-p1').click();
    await page.getByTestId('partition-form').getByLabel('Start sector').fill('20');
    await page.getByRole('button', { name: 'Stage: resize / move' }).click();
    await expect(note).toContainText('GRUB 2 would stop booting');
    await page.getByRole('button', { name: 'Discard all' }).click();

    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.screenshot({ path: screenshotPath('image-overview-boot', shell) });
  });

  test('a floppy’s size and its filesystem’s size are named as such, on the Overview and in Files', async ({ page, shell }) => {
    const floppy = join(dir, 'floppy.img');
    loopstudio('create', floppy, '--floppy', '1.44M');
    loopstudio('format', floppy, '--fs', 'fat12');
    await openImageInUi(page, floppy);
    await expect(page.getByTestId('boot-fact')).toContainText('None — the formatter’s “not a bootable disk” message');
    const row = page.getByTestId('volume-whole');
    await expect(row).toContainText('1.41 MiB');
    await expect(row.getByTestId('filesystem-size')).toHaveText('filesystem 1.39 MiB');

    await page.getByRole('tab', { name: 'Files' }).click();
    await expect(page.getByTestId('volume-usage')).toHaveText(
      '0 bytes used of the filesystem’s 1.39 MiB (0 %), 1.39 MiB free · the floppy is 1.41 MiB: the rest holds the filesystem’s own structures',
    );
    await page.screenshot({ path: screenshotPath('files-sizes', shell) });
  });
});
