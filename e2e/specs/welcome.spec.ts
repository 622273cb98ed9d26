import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, screenshotPath, test } from '../fixtures';
import { loopstudio, missingTools, openImageInUi, tempDir } from '../support';

/** Issue 14, item 18: the Welcome screen. */
test.describe('the Welcome screen', () => {
  test.skip(!!missingTools('mkfs.fat'), 'needs dosfstools for the images');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-')));
  test.afterEach(() => cleanup());

  test('offers New image… and Open image… once, lists the recent images to open with a click, and one that is gone says so', async ({
    page,
    shell,
  }) => {
    // Once each, in the sidebar; the start screen does not repeat them.
    await expect(page.getByRole('button', { name: /^(New|Create an) image/ })).toHaveCount(1);
    await expect(page.getByRole('button', { name: /^Open (an )?image/ })).toHaveCount(1);
    await expect(page.getByTestId('welcome-start')).toContainText('New image… or Open image…');

    const images = ['first.img', 'second.img'].map((name) => join(dir, name));
    for (const image of images) {
      loopstudio('create', image, '--floppy', '1.44M');
      loopstudio('format', image, '--fs', 'fat12');
      await openImageInUi(page, image);
      await page.getByRole('button', { name: 'Close', exact: true }).click();
    }
    const recent = page.getByRole('main').getByTestId('recent-images');
    await expect(recent.getByRole('heading', { name: 'Recent images' })).toBeVisible();
    await expect(recent.getByRole('listitem')).toHaveText([`second.img ${dir}`, `first.img ${dir}`]);
    await expect(page.getByRole('button', { name: /^(New|Create an) image/ })).toHaveCount(1);
    await page.screenshot({ path: screenshotPath('welcome-recent', shell) });

    // Still there after the window reloads, and one click opens one.
    await page.reload();
    await recent.getByRole('button', { name: /^first\.img/ }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('first.img');
    await expect(page.getByTestId('volume-whole')).toContainText('FAT12');
    await page.getByRole('button', { name: 'Close', exact: true }).click();

    // A recent image that is gone: why, in its row, and a way to take it off the list.
    rmSync(images[1]!);
    await recent.getByRole('button', { name: /^second\.img/ }).click();
    await expect(recent.getByRole('alert')).toContainText('no such image file');
    await recent.getByRole('button', { name: 'Remove from the list' }).click();
    await expect(recent.getByRole('listitem')).toHaveText([`first.img ${dir}`]);
  });
});
