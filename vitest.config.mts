import { defineConfig } from 'vitest/config';

// Unit, property and integration tests live beside the code they test (`*.test.ts`).
// Integration tests run the real host tools (sfdisk, mkfs, losetup, QEMU); each skips with a
// reason where its tool is missing. Playwright's specs (e2e/specs) are not vitest's.
export default defineConfig({
  test: {
    include: [
      'shared/**/*.test.ts',
      'electron/**/*.test.ts',
      'renderer/**/*.test.{ts,tsx}',
      'e2e/harness/**/*.test.ts',
      'bench/**/*.test.ts',
      'tests/**/*.test.ts',
    ],
    // The CLI and the root helper are tested as built, rebuilt here when a source is newer.
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores, and tests that share the machine's loop devices and run QEMU under TCG: in CI
    // one file at a time, so no test's timing depends on what another file is doing.
    maxWorkers: process.env.CI ? 1 : 2,
  },
});
