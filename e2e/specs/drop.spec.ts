import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, screenshotPath, test } from '../fixtures';
import { dropFiles, missingTools, openImageInUi, runToolOk, sha256, tempDir } from '../support';

test.describe('drag and drop files into an image', () => {
  test.skip(!!missingTools('mkfs.fat', 'mdir', 'mcopy', 'fsck.fat'), 'needs dosfstools and mtools');

  let dir: string;
  let cleanup: () => void;
  let floppy: string;
  test.beforeEach(() => {
    ({ dir, cleanup } = tempDir('loopstudio-e2e-'));
    floppy = join(dir, 'floppy.img');
    runToolOk('mkfs.fat', ['-C', '-n', 'DROPZONE', floppy, '1440']);
  });
  test.afterEach(() => cleanup());

  test('dropped files are copied into the folder shown, with progress, and mtools reads them back', async ({ page, shell }) => {
    await openImageInUi(page, floppy);
    await page.getByRole('tab', { name: 'Files' }).click();
    const browser = page.getByTestId('file-browser');
    await expect(browser.getByText('This folder is empty.')).toBeVisible();
    await browser.getByRole('button', { name: 'New folder' }).click();
    await browser.getByLabel('New folder name').fill('DOCS');
    await browser.getByLabel('New folder name').press('Enter');
    await browser.getByRole('button', { name: 'DOCS', exact: true }).click();
    await expect(browser.getByRole('navigation', { name: 'Folder' })).toContainText('DOCS');

    // Note when the copy's progress shows, however briefly.
    await page.evaluate(() => {
      const seen = { progress: false };
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="copy-progress"]')) seen.progress = true;
      }).observe(document.body, { subtree: true, childList: true });
    });
    const text = 'Hello from the desktop.\n';
    await dropFiles(page, browser, [
      { name: 'hello.txt', content: text },
      { name: 'kernel.bin', content: 70_000 },
    ]);
    await expect(browser.getByTestId('files-notice')).toHaveText('Copied 2 files (68.38 KiB) into /DOCS.');
    await expect(browser.getByTestId('entry-hello.txt')).toContainText('24 bytes');
    await expect(browser.getByTestId('entry-kernel.bin')).toContainText('68.36 KiB');
    expect(await page.evaluate(() => (window as unknown as { seen: { progress: boolean } }).seen.progress)).toBe(true);
    await page.screenshot({ path: screenshotPath('files-drop', shell) });

    expect(runToolOk('mcopy', ['-i', floppy, '::/DOCS/hello.txt', '-']).stdout).toBe(text);
    runToolOk('mcopy', ['-i', floppy, '::/DOCS/kernel.bin', join(dir, 'kernel.out')]);
    const kernel = readFileSync(join(dir, 'kernel.out'));
    expect(kernel.length).toBe(70_000);
    expect(kernel.every((byte, i) => byte === (i & 0xff))).toBe(true);
    expect(runToolOk('mdir', ['-i', floppy, '-b', '::/DOCS']).stdout.split('\n').filter(Boolean).sort()).toEqual([
      '::/DOCS/hello.txt',
      '::/DOCS/kernel.bin',
    ]);
    runToolOk('fsck.fat', ['-n', floppy]);

    await page.getByTestId('activity-status').click();
    const activity = page.getByRole('dialog', { name: 'Activity' });
    await expect(activity.getByTestId('job-list')).toContainText('Copy into floppy.img');
    await expect(activity.getByTestId('job-list')).toContainText('done');
    await page.screenshot({ path: screenshotPath('activity', shell) });
  });

  test('a file too big for the image is refused with the reason, and the image is unchanged', async ({ page, shell }) => {
    await openImageInUi(page, floppy);
    await page.getByRole('tab', { name: 'Files' }).click();
    const browser = page.getByTestId('file-browser');
    await expect(browser.getByText('This folder is empty.')).toBeVisible();
    const before = sha256(floppy);
    await dropFiles(page, browser, [{ name: 'huge.bin', content: 2 * 1024 * 1024 }]);
    const notice = browser.getByTestId('files-notice');
    await expect(notice).toHaveAttribute('role', 'alert');
    await expect(notice).toHaveText(
      /^Not enough space in .*floppy\.img: the copy needs at least 2 MiB and 1\.\d+ MiB is free; nothing was copied\.$/,
    );
    await expect(browser.getByText('This folder is empty.')).toBeVisible();
    await page.screenshot({ path: screenshotPath('files-too-big', shell) });
    expect(sha256(floppy)).toBe(before);
  });
});
