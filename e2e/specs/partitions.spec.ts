import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { expect, screenshotPath, test } from '../fixtures';
import { missingTools, openImageInUi, runToolOk, sfdiskImage, sfdiskPartitions, sha256, tempDir } from '../support';

const MIB = 1024 * 1024;

async function applyStaged(page: Page) {
  await page.getByRole('button', { name: 'Apply changes…' }).click();
  const confirm = page.getByRole('dialog', { name: 'Apply the partition changes?' });
  await expect(confirm).toBeVisible();
  return confirm;
}

/** Drags with the mouse from the middle of `from` by `dx` pixels; `during` runs before letting go. */
async function drag(page: Page, from: Locator, dx: number, during?: () => Promise<void>) {
  const box = (await from.boundingBox())!;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + dx, y, { steps: 12 });
  await during?.();
  await page.mouse.up();
}

/** "Partition 1 sectors 2048–22527 · 10 MiB" → [2048, 22527]. */
function readoutRange(text: string): [number, number] {
  const match = /sectors (\d+)–(\d+)/.exec(text);
  if (!match) throw new Error(`no sector range in "${text}"`);
  return [Number(match[1]), Number(match[2])];
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

  test('resizes and moves partitions by dragging and by the keyboard, snapped to 1 MiB, and sfdisk agrees', async ({ page, shell }) => {
    await openImageInUi(page, image);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    const editor = page.getByTestId('partition-editor');
    const staged = editor.getByTestId('staged-changes');
    const readout = editor.getByTestId('drag-readout');
    const end = editor.getByRole('slider', { name: 'End of partition 1' });
    await expect(end).toHaveAttribute('aria-valuenow', '22527');

    // Drag the end handle to the right: the readout follows, the end snaps to a 1 MiB boundary.
    let shown: [number, number] = [0, 0];
    await drag(page, end, 180, async () => {
      await expect(readout).toBeVisible();
      shown = readoutRange((await readout.textContent()) ?? '');
      await page.screenshot({ path: screenshotPath('partition-drag', shell) });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: screenshotPath('partition-drag-dark', shell) });
      await page.emulateMedia({ colorScheme: 'light' });
    });
    expect(shown[0]).toBe(2048);
    expect(shown[1]).toBeGreaterThan(22527);
    expect((shown[1] + 1) % 2048).toBe(0);
    await expect(staged).toContainText(`Resize partition 1 to sectors 2048–${shown[1]}`);
    await expect(readout).toBeHidden();
    await expect(end).toHaveAttribute('aria-valuenow', String(shown[1]));

    // Escape cancels a drag in progress: nothing more is staged.
    await drag(page, end, 120, async () => {
      await expect(readout).toBeVisible();
      await page.keyboard.press('Escape');
      await expect(readout).toBeHidden();
    });
    await expect(end).toHaveAttribute('aria-valuenow', String(shown[1]));

    // The keyboard: the end two units back, the start one unit on. Each run of keys takes the
    // last resize further, so the staged list keeps one entry.
    await end.focus();
    await end.press('ArrowLeft');
    await end.press('ArrowLeft');
    const lastSector = shown[1] - 2 * 2048;
    await expect(end).toHaveAttribute('aria-valuenow', String(lastSector));
    await expect(staged).toContainText(`Resize partition 1 to sectors 2048–${lastSector}`);
    const start = editor.getByRole('slider', { name: 'Start of partition 1' });
    await start.press('ArrowRight');
    await expect(start).toHaveAttribute('aria-valuenow', '4096');
    await expect(staged).toContainText(`Resize partition 1 to sectors 4096–${lastSector}`);
    await expect(staged.getByRole('listitem')).toHaveCount(1);
    await expect(editor.getByTestId('segment-p1')).toHaveAccessibleName(new RegExp(`sectors 4096–${lastSector}`));
    await page.screenshot({ path: screenshotPath('partition-keyboard', shell) });

    const confirm = await applyStaged(page);
    await confirm.getByRole('button', { name: 'Write the table' }).click();
    await expect(confirm).toBeHidden();
    const [written] = sfdiskPartitions(image).partitions;
    expect(written).toEqual(expect.objectContaining({ start: 4096, size: lastSector - 4096 + 1, type: '83' }));
    expect(written!.start % 2048).toBe(0);
    expect((written!.start + written!.size) % 2048).toBe(0);

    // Move the whole partition by dragging its middle: same size, a new aligned start.
    const body = editor.getByTestId('segment-p1');
    await drag(page, body, 150, async () => {
      shown = readoutRange((await readout.textContent()) ?? '');
    });
    expect(shown[0]).toBeGreaterThan(4096);
    expect(shown[0] % 2048).toBe(0);
    expect(shown[1] - shown[0] + 1).toBe(written!.size);
    await expect(staged).toContainText(`Resize partition 1 to sectors ${shown[0]}–${shown[1]}`);
    const again = await applyStaged(page);
    await expect(again.getByTestId('losses')).toContainText('Partition 1');
    await again.getByRole('button', { name: 'Write the table' }).click();
    await expect(again).toBeHidden();
    expect(sfdiskPartitions(image).partitions).toEqual([expect.objectContaining({ start: shown[0], size: written!.size })]);
  });

  test('resizes a logical partition in place: the numbers sfdisk shows stay', async ({ page }) => {
    const logicals = join(dir, 'logicals.img');
    sfdiskImage(
      logicals,
      64 * MIB,
      'label: dos\nstart=2048, size=20480, type=83\nstart=22528, size=100000, type=5\nstart=24576, size=20480, type=83\nstart=47104, size=20480, type=82\n',
    );
    await openImageInUi(page, logicals);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    const editor = page.getByTestId('partition-editor');
    // Partition 6's EBR (sector 45056, where sfdisk put it) is as far as partition 5 may grow.
    const end5 = editor.getByRole('slider', { name: 'End of partition 5' });
    await expect(end5).toHaveAttribute('aria-valuemax', '45055');
    await end5.press('Home');
    await expect(editor.getByTestId('staged-changes')).toContainText('Resize partition 5 to sectors 24576–26623');
    const confirm = await applyStaged(page);
    await confirm.getByRole('button', { name: 'Write the table' }).click();
    await expect(confirm).toBeHidden();
    expect(sfdiskPartitions(logicals).partitions.map((p) => [p.node.slice(logicals.length), p.start, p.size, p.type])).toEqual([
      ['1', 2048, 20480, '83'],
      ['2', 22528, 100000, '5'],
      ['5', 24576, 2048, '83'],
      ['6', 47104, 20480, '82'],
    ]);
  });

  test('warns that GRUB 2 may not fit before a partition at sector 63, and keeps that layout’s track alignment', async ({
    page,
    shell,
  }) => {
    const classic = join(dir, 'classic.img');
    sfdiskImage(classic, 64 * MIB, 'label: dos\nstart=63, size=60417, type=83\n');
    await openImageInUi(page, classic);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    const editor = page.getByTestId('partition-editor');
    const note = editor.getByTestId('grub-gap-note');
    await expect(note).toContainText('GRUB 2 may not fit');
    await expect(note).toContainText('The gap between the MBR and partition 1 (sectors 1–62) holds 31 KiB');
    await expect(note).toContainText('GRUB legacy');
    await expect(editor.getByRole('combobox', { name: 'Align partitions to' })).toHaveValue('63');
    await page.screenshot({ path: screenshotPath('partition-grub-gap', shell) });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('partition-grub-gap-dark', shell) });
    await page.emulateMedia({ colorScheme: 'light' });

    // One track less at the end: it stays on a track boundary.
    const end = editor.getByRole('slider', { name: 'End of partition 1' });
    await end.press('ArrowLeft');
    await expect(editor.getByTestId('staged-changes')).toContainText('Resize partition 1 to sectors 63–60416');
    const confirm = await applyStaged(page);
    await confirm.getByRole('button', { name: 'Write the table' }).click();
    await expect(confirm).toBeHidden();
    expect(sfdiskPartitions(classic).partitions).toEqual([expect.objectContaining({ start: 63, size: 60417 - 63 })]);
    await expect(note).toContainText('GRUB 2 may not fit'); // still at sector 63

    // Moved to sector 2048 (typed), the gap is 1 MiB: nothing to say.
    await editor.getByTestId('segment-p1').click();
    const form = editor.getByTestId('partition-form');
    await form.getByLabel('Start sector').fill('2048');
    await form.getByRole('button', { name: 'Stage: resize / move' }).click();
    await expect(editor.getByTestId('staged-changes')).toContainText('Resize partition 1 to sectors 2048–');
    await expect(note).toBeHidden();
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
    await expect(editor.getByTestId('grub-gap-note')).toContainText('This GPT has no BIOS boot partition'); // information only
    const confirm = await applyStaged(page);
    await expect(confirm.getByTestId('losses-none')).toBeVisible();
    await confirm.getByRole('button', { name: 'Write the table' }).click();
    await expect(confirm).toBeHidden();
    const table = sfdiskPartitions(blank);
    expect(table.label).toBe('gpt');
    expect(table.partitions).toEqual([
      expect.objectContaining({ start: 2048, size: 32768, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', name: 'boot' }),
    ]);
    await expect(page.getByTestId('image-facts')).toContainText('GPT');
  });
});
