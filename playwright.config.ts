import { defineConfig } from '@playwright/test';
import { electronAvailable, type ShellOptions } from './e2e/fixtures';

// The same specs run against the renderer in Debian's Chromium through the web harness, and —
// where an Electron binary is installed — against the real app.
export default defineConfig<ShellOptions>({
  testDir: 'e2e/specs',
  outputDir: 'test-results',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  projects: [
    { name: 'chromium-harness', use: { shell: 'web' } },
    ...(electronAvailable() ? [{ name: 'electron', use: { shell: 'electron' as const } }] : []),
  ],
});
