import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, screenshotPath, test } from '../fixtures';
import { missingTools, openImageInUi, releaseLoopsUnder, runToolOk, sfdiskImage, tempDir } from '../support';

const MIB = 1024 * 1024;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const ext2Mountable = (() => {
  try {
    return /\text2$/m.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
})();
const why = !isRoot
  ? 'mounting needs root (CI runs as root)'
  : !ext2Mountable
    ? 'this kernel cannot mount ext2'
    : missingTools('losetup', 'mount', 'umount', 'sfdisk', 'mke2fs');

/** Whether `dir` is a mount point, as the kernel lists them. */
function mounted(dir: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === dir);
}

test.describe('loop mount and unmount (as root)', () => {
  test.skip(!!why, why || '');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-')));
  test.afterEach(() => {
    releaseLoopsUnder(dir);
    cleanup();
  });

  test('mounts an ext2 partition on a loop device, shows where, and unmounts it with what was written there kept', async ({
    page,
    shell,
  }) => {
    const image = join(dir, 'disk.img');
    sfdiskImage(image, 32 * MIB, 'label: dos\nstart=2048, type=83\n');
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-E', `offset=${2048 * 512}`, image, `${(65536 - 2048) / 2}k`]);
    await openImageInUi(page, image);

    await page.getByRole('button', { name: 'Mount Partition 1', exact: true }).click();
    const where = page.getByTestId('volume-p1').getByTestId('mounted-at');
    await expect(where).toContainText('mounted at /', { timeout: 20_000 });
    const mountDir = (await where.locator('.mono').textContent())!.trim();
    expect(mounted(mountDir)).toBe(true);
    await page.screenshot({ path: screenshotPath('loop-mounted', shell) });

    // The system's own tools see the filesystem: write a file through the mount.
    writeFileSync(join(mountDir, 'via-mount.txt'), 'written through the loop mount\n');

    await page.getByRole('button', { name: 'Unmount Partition 1' }).click();
    await expect(page.getByRole('button', { name: 'Mount Partition 1', exact: true })).toBeVisible({ timeout: 20_000 });
    expect(mounted(mountDir)).toBe(false);

    // After sync, unmount and detach, the rootless engine reads the file from the image itself.
    await page.getByRole('button', { name: 'Browse files of Partition 1' }).click();
    await expect(page.getByTestId('file-browser').getByTestId('entry-via-mount.txt')).toContainText('31 bytes');
    await page.getByTestId('activity-status').click();
    await expect(page.getByRole('dialog', { name: 'Activity' })).toContainText(
      `Mount partition 1 of disk.img: done — mounted at ${mountDir}`,
    );
  });
});
