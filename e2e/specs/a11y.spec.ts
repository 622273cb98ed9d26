import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures';
import { missingTools, openImageInUi, runToolOk, seriousA11yViolations, sfdiskImage, tempDir } from '../support';

const MIB = 1024 * 1024;

/** axe-core on each main screen, in the light and the dark theme: no serious or critical violations. */
test.describe('accessibility (axe-core)', () => {
  test.skip(!!missingTools('sfdisk', 'mkfs.fat'), 'needs sfdisk and dosfstools to make the image the screens show');

  let dir: string;
  let cleanup: () => void;
  let image: string;
  test.beforeEach(() => {
    ({ dir, cleanup } = tempDir('loopstudio-e2e-'));
    image = join(dir, 'disk.img');
    sfdiskImage(image, 64 * MIB, 'label: dos\nstart=2048, size=40960, type=c, bootable\n');
    runToolOk('mkfs.fat', ['-F', '32', '--offset', '2048', image, String(40960 / 2)]);
  });
  test.afterEach(() => cleanup());

  for (const scheme of ['light', 'dark'] as const) {
    test(`the main screens have no serious violations (${scheme})`, async ({ page }) => {
      await page.emulateMedia({ colorScheme: scheme });
      const screens: Record<string, string[]> = {};
      const scan = async (name: string, ready: (p: Page) => Promise<void>) => {
        await ready(page);
        screens[name] = await seriousA11yViolations(page);
      };

      await scan('welcome', async (p) => {
        await expect(p.getByTestId('host-tools-status')).toContainText('found');
      });
      await scan('new-image wizard', async (p) => {
        await p.getByRole('button', { name: 'New image…' }).click();
        await p.getByRole('dialog', { name: 'New image' }).getByRole('radio', { name: 'Hard disk' }).check();
      });
      await scan('new-image wizard, partitions', async (p) => {
        await p.getByRole('dialog', { name: 'New image' }).getByRole('button', { name: 'Next' }).click();
        await expect(p.getByRole('radio', { name: 'MBR' })).toBeVisible();
      });
      await scan('new-image wizard, boot loader', async (p) => {
        const wizard = p.getByRole('dialog', { name: 'New image' });
        await wizard.getByRole('button', { name: 'Next' }).click();
        await wizard.getByRole('button', { name: 'Next' }).click();
        await expect(wizard.getByRole('radio', { name: /^GRUB 2/ })).toBeVisible();
      });
      await page.keyboard.press('Escape');

      await openImageInUi(page, image);
      await scan('image overview', async (p) => {
        await expect(p.getByTestId('volume-p1')).toContainText('FAT32');
      });
      await scan('files', async (p) => {
        await p.getByRole('tab', { name: 'Files' }).click();
        await expect(p.getByText('This folder is empty.')).toBeVisible();
      });
      await scan('partition editor', async (p) => {
        await p.getByRole('tab', { name: 'Partitions' }).click();
        await p.getByTestId('segment-f43008').click();
        await expect(p.getByTestId('add-form')).toBeVisible();
      });
      await scan('QEMU panel', async (p) => {
        await p.getByRole('tab', { name: 'QEMU' }).click();
        await expect(p.getByTestId('qemu-command')).toHaveValue(/qemu-system-i386/);
      });
      await scan('bootloader dialog', async (p) => {
        await p.getByRole('button', { name: 'Install bootloader…' }).click();
        await expect(p.getByRole('dialog', { name: 'Install bootloader' })).toBeVisible();
      });
      await page.keyboard.press('Escape');
      await scan('activity panel', async (p) => {
        await p.getByTestId('activity-status').click();
        await expect(p.getByRole('dialog', { name: 'Activity' })).toBeVisible();
      });

      expect(screens).toEqual(Object.fromEntries(Object.keys(screens).map((name) => [name, []])));
    });
  }
});
