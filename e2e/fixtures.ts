/**
 * Playwright fixtures: `page` is the app's window, either the real Electron app or the built
 * renderer in Debian's Chromium through the web harness. Specs do not know which.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test as base, _electron, chromium, type Page } from '@playwright/test';
import { startHarness } from './harness/server';

export const ROOT = resolve(__dirname, '..');
/** Screenshots the README shows; the e2e specs write them here. */
export const SCREENSHOT_DIR = join(ROOT, 'e2e/screenshots');
export const CHROMIUM = process.env.LOOPSTUDIO_CHROMIUM ?? '/usr/bin/chromium';

/** Flags Debian's Chromium needs on these machines (docs/ARCHITECTURE.md, "Testing"). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function electronAvailable(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binary = require('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary);
  } catch {
    return false;
  }
}

export function screenshotPath(name: string, shell: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, shell === 'web' ? `${name}.png` : `${name}-${shell}.png`);
}

export type ShellOptions = { shell: 'web' | 'electron' };

export const test = base.extend<ShellOptions & { page: Page }>({
  shell: ['web', { option: true }],
  // colorScheme is Playwright's own option; both shells honour it.
  page: async ({ shell, colorScheme }, use) => {
    if (shell === 'electron') {
      const app = await _electron.launch({ args: [join(ROOT, 'out/main/index.js')] });
      const window = await app.firstWindow();
      await window.emulateMedia({ colorScheme: colorScheme ?? 'light' });
      await use(window);
      await app.close();
      return;
    }
    const harness = await startHarness();
    const userDataDir = mkdtempSync(join(tmpdir(), 'loopstudio-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1200, height: 760 },
      colorScheme: colorScheme ?? 'light',
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(harness.url);
      await use(page);
    } finally {
      await context.close();
      await harness.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  },
});

export { expect } from '@playwright/test';
