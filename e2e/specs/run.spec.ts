import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { grubLegacyMissing } from '../../tests/support/boot';
import { buildTestKernel, testProgramsMissing } from '../../tests/support/test-kernel';
import { expect, screenshotPath, test } from '../fixtures';
import { loopstudio, missingTools, openImageInUi, tempDir } from '../support';

const cannot = testProgramsMissing() ?? missingTools('qemu-system-i386') ?? grubLegacyMissing();

/** From the new kernel file to its line in the app's console (rebuild, QEMU, SeaBIOS, GRUB legacy), on a loaded CI machine. */
const V2_BOUND_MS = 20_000;

test.describe('Run from the recipe beside an image', () => {
  test.skip(!!cannot, cannot ?? '');

  let dir: string;
  let cleanup: () => void;
  test.beforeEach(() => ({ dir, cleanup } = tempDir('loopstudio-e2e-run-')));
  test.afterEach(() => cleanup());

  test('Run boots the image; with Rebuild on change a new kernel shows in the console after a rule; a broken recipe keeps the machine; Debug shows the gdb command', async ({
    page,
    shell,
  }) => {
    test.setTimeout(120_000);
    const kernel = buildTestKernel(dir, { message: 'my OS, build 1' });
    const v2 = buildTestKernel(dir, { message: 'my OS, build 2', name: 'next.elf' });
    const doc = {
      image: { floppy: '1.44M' },
      filesystem: { type: 'fat12', label: 'MYOS' },
      files: [{ from: 'kernel.elf', to: '/boot/kernel.elf' }],
      bootloader: { grubLegacy: {}, menu: { timeout: 0, serial: true, entries: [{ title: 'My OS', kernel: '/boot/kernel.elf' }] } },
    };
    const recipe = join(dir, 'myos.json');
    writeFileSync(recipe, JSON.stringify(doc, null, 2));
    const image = join(dir, 'myos.img');
    // Built as a Makefile would (`loopstudio build --update`): the app's Run takes it from there.
    loopstudio('build', recipe, '--update');
    await openImageInUi(page, image);

    await page.getByTestId('run-image').click();
    const panel = page.getByTestId('qemu-panel');
    const bar = panel.getByTestId('run-bar');
    await expect(bar).toContainText(recipe);
    await expect(bar.getByTestId('run-watch')).toBeChecked();
    const serial = panel.getByTestId('serial-console');
    await expect(serial).toContainText('my OS, build 1', { timeout: 30_000 });
    await expect(bar.getByTestId('run-status')).toContainText('Running (pid');
    await expect(bar.getByTestId('run-status')).toContainText('rebuilds on a change of 2 paths');
    await expect(page.getByTestId('launch-qemu')).toBeDisabled();

    // The linker writes a new kernel: rebuilt, rebooted, in the same console after a rule.
    const started = Date.now();
    renameSync(v2, kernel);
    await expect(serial).toContainText('my OS, build 2', { timeout: V2_BOUND_MS });
    expect(Date.now() - started).toBeLessThan(V2_BOUND_MS);
    // GRUB clears the screen as it boots: the first boot and the rule are above, in the
    // console's history. Scrolled back, as a person would.
    const rule = /— rebuilt \d\d:\d\d:\d\d: kernel\.elf changed —/;
    await serial.hover();
    for (let i = 0; i < 40 && !rule.test((await serial.textContent()) ?? ''); i++) await page.mouse.wheel(0, -60);
    await expect(serial).toContainText(rule);
    await expect(serial).toContainText('my OS, build 1');
    await expect(bar.getByTestId('run-last')).toContainText(
      /Last rebuild .*: rebuilt in \d+ ms: \/boot\/kernel\.elf \(\d+ bytes\) changed/,
    );
    await page.screenshot({ path: screenshotPath('run-rebuild-on-change', shell) });

    // A broken recipe: the error is shown, the machine from build 2 keeps running.
    writeFileSync(recipe, JSON.stringify({ ...doc, filesystem: { type: 'fat99' } }));
    await expect(bar.getByTestId('run-error')).toContainText('filesystem.type', { timeout: 10_000 });
    await expect(bar.getByTestId('run-error')).toContainText('The machine keeps running the last good build');
    await expect(bar.getByTestId('run-status')).toContainText('Running (pid');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('run-build-error-dark', shell) });
    await page.emulateMedia({ colorScheme: 'light' });
    writeFileSync(recipe, JSON.stringify(doc, null, 2));
    await expect(bar.getByTestId('run-error')).toBeHidden({ timeout: 10_000 });

    // Debug: QEMU's gdb stub, the CPU waiting, and the command to attach with the kernel's symbols.
    await bar.getByTestId('run-stop').click();
    await expect(bar.getByTestId('run-status')).toHaveText('Stopped.');
    await bar.getByTestId('run-debug').click();
    await expect(bar.getByTestId('run-gdb-command')).toHaveText(
      new RegExp(`^gdb -ex 'file ${kernel.replace(/[.]/g, '\\.')}' -ex 'target remote localhost:\\d+'$`),
    );
    await expect(bar.getByTestId('run-status')).toContainText('waiting for gdb');
    await page.screenshot({ path: screenshotPath('run-debug', shell) });
    await bar.getByTestId('run-stop').click();
    await expect(bar.getByTestId('run-status')).toHaveText('Stopped.');
  });
});
