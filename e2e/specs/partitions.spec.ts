import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, screenshotPath, test } from '../fixtures';
import { missingTools, openImageInUi, runToolOk, sfdiskImage, sfdiskPartitions, sha256, tempDir } from '../support';

const MIB = 1024 * 1024;

async function applyStaged(page: Page) {
  await page.getByRole('button', { name: 'Apply changes…' }).click();
  const confirm = page.getByRole('dialog', { name: 'Apply the partition changes?' });
  await expect(confirm).toBeVisible();
  return confirm;
}

test.describe('the partition editor', () => {
  test.skip(!!missingTools('sfdisk'), 'needs sfdisk');

  let dir: string;
  let cleanup: () => void;
  let image: string;
  test.beforeEach(() => {
    ({ dir, cleanup } = tempDir('loopstudio-e2e-'));
    image = join(dir, 'disk.img');
    sfdiskImage(image, 64 * MIB, 'label: dos\nstart=2048, size=20480, type=83\n');
  });
  test.afterEach(() => cleanup());

  test('creates, resizes and deletes partitions by typed numbers, and sfdisk agrees', async ({ page, shell }) => {
    await openImageInUi(page, image);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    const editor = page.getByTestId('partition-editor');

    // Add: select the free space after partition 1, type a size.
    await editor.getByTestId('segment-f22528').click();
    const add = editor.getByTestId('add-form');
    await expect(add.getByLabel('Start sector')).toHaveValue('22528');
    await add.getByLabel('Size in sectors').fill('40960');
    await add.getByRole('combobox', { name: 'Type' }).selectOption('0c');
    await add.getByLabel('Bootable').check();
    await add.getByRole('button', { name: 'Stage: add partition' }).click();
    const staged = editor.getByTestId('staged-changes');
    await expect(staged).toContainText('Add partition at sectors 22528–63487 (20 MiB), type 0c, bootable');

    // Resize partition 1 by typing its new size.
    await editor.getByTestId('segment-p1').click();
    const form = editor.getByTestId('partition-form');
    await form.getByLabel('Size in sectors').fill('10240');
    await form.getByRole('button', { name: 'Stage: resize / move' }).click();
    await expect(staged).toContainText('Resize partition 1 to sectors 2048–12287 (5 MiB)');
    await expect(editor.getByTestId('segment-p1')).toHaveAccessibleName(/sectors 2048–12287/);
    await page.screenshot({ path: screenshotPath('partition-editor', shell) });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('partition-editor-dark', shell) });
    await page.emulateMedia({ colorScheme: 'light' });
    expect(sfdiskPartitions(image).partitions.map((p) => [p.start, p.size])).toEqual([[2048, 20480]]); // staged, not written

    const confirm = await applyStaged(page);
    await expect(confirm.getByTestId('losses')).toContainText('Partition 1 (10 MiB) changes size to 5 MiB; it has no filesystem.');
    await page.screenshot({ path: screenshotPath('partition-confirm', shell) });
    await confirm.getByRole('button', { name: 'Write the table' }).click();
    await expect(confirm).toBeHidden();
    await expect(staged).toContainText('None.');
    expect(sfdiskPartitions(image).partitions).toEqual([
      expect.objectContaining({ start: 2048, size: 10240, type: '83' }),
      expect.objectContaining({ start: 22528, size: 40960, type: 'c', bootable: true }),
    ]);

    // Delete partition 2.
    await editor.getByTestId('segment-p2').click();
    await editor.getByRole('button', { name: 'Stage: delete partition 2' }).click();
    await expect(staged).toContainText('Delete partition 2');
    const again = await applyStaged(page);
    await expect(again.getByTestId('losses')).toContainText('Partition 2 (20 MiB) is removed or moved');
    await again.getByRole('button', { name: 'Write the table' }).click();
    await expect(again).toBeHidden();
    expect(sfdiskPartitions(image).partitions).toEqual([expect.objectContaining({ start: 2048, size: 10240 })]);
    await expect(page.getByTestId('segment-p2')).toHaveCount(0);
  });

  test('refuses overlapping partitions at the field and writes nothing', async ({ page, shell }) => {
    const before = sha256(image);
    await openImageInUi(page, image);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    const editor = page.getByTestId('partition-editor');
    await editor.getByTestId('segment-f22528').click();
    const add = editor.getByTestId('add-form');
    await add.getByLabel('Start sector').fill('10000');
    await add.getByLabel('Size in sectors').fill('20000');
    await add.getByRole('button', { name: 'Stage: add partition' }).click();
    const error = add.getByTestId('extent-error');
    await expect(error).toContainText('partition 1');
    await expect(error).toContainText(/overlap/i);
    await expect(add.getByLabel('Start sector')).toHaveAttribute('aria-invalid', 'true');
    await expect(editor.getByTestId('staged-changes')).toContainText('None.');
    await expect(page.getByRole('button', { name: 'Apply changes…' })).toBeDisabled();
    await page.screenshot({ path: screenshotPath('partition-overlap', shell) });

    // A size past the end of the disk is refused the same way.
    await add.getByLabel('Start sector').fill('22528');
    await add.getByLabel('Size in sectors').fill('200000');
    await add.getByRole('button', { name: 'Stage: add partition' }).click();
    await expect(add.getByTestId('extent-error')).toContainText(/131071|end of the disk|outside/);
    expect(sha256(image)).toBe(before);
  });

  test('gives a blank disk a GPT with a partition, and sfdisk reads it', async ({ page }) => {
    const blank = join(dir, 'blank.img');
    runToolOk('truncate', ['-s', String(32 * MIB), blank]);
    await openImageInUi(page, blank);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    await page.getByRole('button', { name: 'Create a GPT' }).click();
    const editor = page.getByTestId('partition-editor');
    await expect(editor).toContainText('GPT partition table (new, not written yet)');
    await editor.getByTestId('segment-f34').click();
    const add = editor.getByTestId('add-form');
    await expect(add.getByLabel('Start sector')).toHaveValue('2048');
    await add.getByLabel('Size in sectors').fill('16M');
    await add.getByLabel('Name').fill('boot');
    await add.getByRole('button', { name: 'Stage: add partition' }).click();
    await expect(editor.getByTestId('staged-changes')).toContainText('New GPT table');
    const confirm = await applyStaged(page);
    await expect(confirm.getByTestId('losses-none')).toBeVisible();
    await confirm.getByRole('button', { name: 'Write the table' }).click();
    await expect(confirm).toBeHidden();
    const table = sfdiskPartitions(blank);
    expect(table.label).toBe('gpt');
    expect(table.partitions).toEqual([expect.objectContaining({ start: 2048, size: 32768, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', name: 'boot' })]);
    await expect(page.getByTestId('image-facts')).toContainText('GPT');
  });
});
