/**
 * Files into a mounted partition go through the mount (issue 17): mount partition 1 from the
 * image view, drop two files and a folder on the Files tab — which says it is mounted and lists
 * the mount — unmount, and read everything back from the image file with debugfs, byte-exact;
 * e2fsck finds the filesystem clean.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { expect, screenshotPath, test } from '../fixtures';
import { missingTools, openImageInUi, releaseLoopsUnder, runTool, runToolOk, sfdiskImage, tempDir } from '../support';

const MIB = 1024 * 1024;
const P1_OFFSET = 2048 * 512;
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
    : missingTools('losetup', 'mount', 'umount', 'sfdisk', 'mke2fs', 'debugfs', 'e2fsck');

/** A file of a drop: text, or `size` bytes of a pattern seeded by `seed`. */
type DropItem = { name: string; text: string } | { name: string; size: number; seed: number } | { name: string; folder: DropItem[] };

function bytesOf(item: Extract<DropItem, { size: number }>): Buffer {
  const out = Buffer.alloc(item.size);
  for (let i = 0; i < item.size; i++) out[i] = (i * 31 + item.seed + (i >> 8)) & 0xff;
  return out;
}

/**
 * Drops files and folders on an element. A page cannot make a real folder's File and Directory
 * Entries, so a folder is given as Chromium gives a dropped one: a File named after it in the
 * DataTransfer, whose item's webkitGetAsEntry() answers a directory entry with the files below.
 */
async function dropTree(page: Page, target: Locator, items: DropItem[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle((list) => {
    type Item = { name: string; text?: string; size?: number; seed?: number; folder?: Item[] };
    const fileOf = (item: Item): File => {
      let body: BlobPart = item.text ?? '';
      if (item.size !== undefined) {
        const bytes = new Uint8Array(item.size);
        for (let i = 0; i < item.size; i++) bytes[i] = (i * 31 + item.seed! + (i >> 8)) & 0xff;
        body = bytes;
      }
      return new File([body], item.name, { type: 'application/octet-stream', lastModified: Date.UTC(2024, 4, 17, 12, 0, 0) });
    };
    const entryOf = (item: Item, dir: string): object => {
      const fullPath = `${dir}/${item.name}`;
      if (!item.folder) {
        const file = fileOf(item);
        return { isFile: true, isDirectory: false, name: item.name, fullPath, file: (ok: (f: File) => void) => ok(file) };
      }
      const children = item.folder.map((child) => entryOf(child, fullPath));
      return {
        isFile: false,
        isDirectory: true,
        name: item.name,
        fullPath,
        createReader: () => {
          let read = false;
          return {
            readEntries: (ok: (entries: object[]) => void) => {
              ok(read ? [] : children);
              read = true;
            },
          };
        },
      };
    };
    const folders = new Map<string, object>();
    const transfer = new DataTransfer();
    for (const item of list as Item[]) {
      if (item.folder) {
        folders.set(item.name, entryOf(item, ''));
        transfer.items.add(new File([], item.name));
      } else {
        transfer.items.add(fileOf(item));
      }
    }
    const original = DataTransferItem.prototype.webkitGetAsEntry;
    DataTransferItem.prototype.webkitGetAsEntry = function (this: DataTransferItem) {
      const name = this.getAsFile()?.name;
      return ((name !== undefined && folders.get(name)) || original.call(this)) as FileSystemEntry | null;
    };
    return transfer;
  }, items);
  await target.dispatchEvent('dragenter', { dataTransfer });
  await target.dispatchEvent('dragover', { dataTransfer });
  await target.dispatchEvent('drop', { dataTransfer });
}

/** Whether `dir` is a mount point, as the kernel lists them. */
function mounted(dir: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === dir);
}

test.describe('files through a mount (as root)', () => {
  test.skip(!!why, why || '');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-')));
  test.afterEach(() => {
    releaseLoopsUnder(dir);
    cleanup();
  });

  test('dropped files and a folder go into the mounted partition through the mount, and are in the image after unmount', async ({
    page,
    shell,
  }) => {
    const image = join(dir, 'disk.img');
    sfdiskImage(image, 32 * MIB, 'label: dos\nstart=2048, type=83\n');
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-E', `offset=${P1_OFFSET}`, image, `${(65536 - 2048) / 2}k`]);
    await openImageInUi(page, image);

    await page.getByRole('button', { name: 'Mount Partition 1', exact: true }).click();
    const where = page.getByTestId('volume-p1').getByTestId('mounted-at');
    await expect(where).toContainText('mounted at /', { timeout: 20_000 });
    const mountDir = (await where.locator('.mono').textContent())!.trim();
    expect(mounted(mountDir)).toBe(true);

    await page.getByRole('button', { name: 'Browse files of Partition 1' }).click();
    const browser = page.getByTestId('file-browser');
    const banner = browser.getByTestId('files-mounted');
    await expect(banner).toHaveText(`Mounted at ${mountDir} — changes go through the system's filesystem driver`);
    await expect(browser.getByTestId('entry-lost+found')).toBeVisible();

    const hello = { name: 'hello.txt', text: 'Hello through the kernel’s ext2 driver.\n' };
    const kernel = { name: 'kernel.bin', size: 300_000, seed: 7 };
    const readme = { name: 'readme.md', text: '# docs\n' };
    const note = { name: 'note.bin', size: 5000, seed: 3 };
    await dropTree(page, browser, [hello, kernel, { name: 'docs', folder: [readme, { name: 'deep', folder: [note] }] }]);
    await expect(browser.getByTestId('files-notice')).toHaveText(/^Copied 4 files and 2 folders \(.+\) into \/\.$/);
    await expect(browser.getByTestId('entry-hello.txt')).toContainText('42 bytes');
    await expect(browser.getByTestId('entry-kernel.bin')).toContainText('292.97 KiB');
    await expect(browser.getByTestId('entry-docs')).toBeVisible();
    await expect(banner).toBeVisible();
    await page.screenshot({ path: screenshotPath('files-mounted', shell) });

    // The files are in the mount, as the system's own tools see it, while it is mounted.
    expect(readFileSync(join(mountDir, 'hello.txt'), 'utf8')).toBe(hello.text);
    expect(readFileSync(join(mountDir, 'docs/deep/note.bin')).equals(bytesOf(note))).toBe(true);
    // And the browser lists the folder from there.
    await browser.getByRole('button', { name: 'docs', exact: true }).click();
    await expect(browser.getByTestId('entry-readme.md')).toContainText('7 bytes');
    await expect(browser.getByTestId('entry-deep')).toBeVisible();

    await page.getByRole('tab', { name: 'Overview' }).click();
    await page.getByRole('button', { name: 'Unmount Partition 1' }).click();
    await expect(page.getByRole('button', { name: 'Mount Partition 1', exact: true })).toBeVisible({ timeout: 20_000 });
    expect(mounted(mountDir)).toBe(false);

    // Unmounted: the Files tab reads the image itself again, without the banner.
    await page.getByRole('tab', { name: 'Files' }).click();
    await expect(browser.getByTestId('entry-readme.md')).toBeVisible();
    await expect(browser.getByTestId('files-mounted')).toHaveCount(0);

    // debugfs reads the image file: every byte is there.
    const volume = `${image}?offset=${P1_OFFSET}`;
    const dump = (path: string): Buffer => {
      const out = join(dir, `dump-${path.replace(/\//g, '_')}`);
      runToolOk('debugfs', ['-R', `dump ${path} ${out}`, volume]);
      return readFileSync(out);
    };
    expect(dump('/hello.txt').toString('utf8')).toBe(hello.text);
    expect(dump('/kernel.bin').equals(bytesOf(kernel))).toBe(true);
    expect(dump('/docs/readme.md').toString('utf8')).toBe(readme.text);
    expect(dump('/docs/deep/note.bin').equals(bytesOf(note))).toBe(true);
    const fsck = runTool('e2fsck', ['-fn', volume]);
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
  });
});
