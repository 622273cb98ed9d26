import { probeHostTools } from '../../electron/platform/host-tools';
import { expect, screenshotPath, test } from '../fixtures';

test.describe('app shell', () => {
  test('shows the sidebar, the empty state and the real host-tools status', async ({ page, shell }) => {
    // What this machine really has, probed independently of the UI.
    const report = await probeHostTools();
    const applicable = report.tools.filter((t) => t.applicable);
    const found = applicable.filter((t) => t.found);

    await expect(page).toHaveTitle('Loopback Studio');
    const sidebar = page.getByRole('navigation', { name: 'Images' });
    await expect(sidebar).toBeVisible();
    await expect(sidebar.getByTestId('images-empty')).toContainText('No images open.');
    await expect(sidebar.getByRole('button', { name: 'New image' })).toBeVisible();
    await expect(sidebar.getByRole('button', { name: 'Open image' })).toBeVisible();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Disk images for your operating system');

    const status = page.getByTestId('host-tools-status');
    await expect(status).toContainText(`Host tools: ${found.length} of ${applicable.length} found`);
    await expect(page.getByRole('contentinfo')).toContainText(shell === 'web' ? 'web harness' : 'Electron');
    await page.screenshot({ path: screenshotPath('shell', shell) });

    await status.click();
    const panel = page.getByRole('dialog', { name: 'Host tools' });
    await expect(panel).toBeVisible();
    for (const tool of applicable) {
      const row = panel.getByTestId(`tool-${tool.name}`);
      await expect(row).toBeVisible();
      if (tool.found) {
        await expect(row).toContainText('found');
        if (tool.version) await expect(row).toContainText(tool.version);
      } else {
        await expect(row).toContainText('missing');
        await expect(row).toContainText(tool.installHint);
      }
    }
    await page.screenshot({ path: screenshotPath('host-tools', shell) });
    await page.keyboard.press('Escape');
    await expect(panel).toBeHidden();
  });

  test('follows the OS dark theme', async ({ page, shell }) => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect(page.getByTestId('host-tools-status')).toContainText('found');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(29, 31, 35)');
    await page.screenshot({ path: screenshotPath('shell-dark', shell) });
  });
});
