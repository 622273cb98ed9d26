import { join } from 'node:path';
import { expect, screenshotPath, test } from '../fixtures';
import { missingTools, openImageInUi, runToolOk, sfdiskImage, sfdiskPartitions, sha256, tempDir } from '../support';

const MIB = 1024 * 1024;
const thin = (text: string) => text.replace(/ /g, '\u202f');

/** Issue 14, item 14: the partition editor's fields, selection, notice, confirmation and colours. */
test.describe('the partition editor’s fields', () => {
  test.skip(!!missingTools('sfdisk', 'mkfs.fat', 'mke2fs'), 'needs sfdisk, dosfstools and e2fsprogs');

  let dir: string;
  let cleanup: () => void;
  let image: string;
  test.beforeEach(() => {
    ({ dir, cleanup } = tempDir('loopstudio-e2e-'));
    image = join(dir, 'disk.img');
    // FAT16 in partition 1 and ext2 in partition 2, made by the host's tools; free space after them.
    sfdiskImage(image, 64 * MIB, 'label: dos\nstart=2048, size=20480, type=e\nstart=22528, size=20480, type=83\n');
    runToolOk('mkfs.fat', ['-F', '16', '--offset', '2048', image, String(20480 / 2)]);
    runToolOk('mke2fs', ['-q', '-F', '-t', 'ext2', '-E', `offset=${22528 * 512}`, image, `${20480 / 2}k`]);
  });
  test.afterEach(() => cleanup());

  test('the size field says it takes units; an overlap is said as the numbers are typed; “abc” is refused at the start field, in words', async ({
    page,
    shell,
  }) => {
    const before = sha256(image);
    await openImageInUi(page, image);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    const editor = page.getByTestId('partition-editor');
    await editor.getByTestId('segment-f43008').click();
    const add = editor.getByTestId('add-form');
    const start = add.getByLabel('Start sector');
    const size = add.getByLabel('Size in sectors, or 20M');

    // "32M" is 32 MiB, and the field says it takes that.
    await size.fill('32M');
    await expect(add).toContainText(thin('Ends at sector 108543: 32 MiB (65 536 sectors).'));

    // Overlapping partition 2, said before Stage is pressed.
    await start.fill('30000');
    await size.fill('20000');
    const refusal = add.getByTestId('extent-error');
    await expect(refusal).toContainText(/overlap/i);
    await expect(refusal).toContainText('partition 2');
    await expect(start).toHaveAttribute('aria-invalid', 'true');
    await expect(editor.getByTestId('staged-changes')).toContainText('None.');
    await page.screenshot({ path: screenshotPath('partition-live-overlap', shell) });
    // Moved clear of it, the refusal goes by itself.
    await start.fill('43008');
    await expect(refusal).toHaveCount(0);

    // Not a number: at the start field, when it is left.
    await start.fill('abc');
    await start.press('Tab');
    await expect(add.getByTestId('start-error')).toHaveText(
      'Start sector: a sector number such as 2048, or an offset with a unit such as 1M, not “abc”.',
    );
    await expect(add.getByTestId('size-error')).toHaveCount(0);
    await expect(add.getByText(/not a size/)).toHaveCount(0);
    await add.getByRole('button', { name: 'Stage: add partition' }).click();
    await expect(start).toBeFocused();
    await expect(editor.getByTestId('staged-changes')).toContainText('None.');
    expect(sha256(image)).toBe(before);
  });

  test('the selection stays on what was staged; after Write, a notice says so and has the focus; losing data is a destructive button; partitions keep their filesystem’s colour', async ({
    page,
    shell,
  }) => {
    await openImageInUi(page, image);
    await page.getByRole('tab', { name: 'Partitions' }).click();
    const editor = page.getByTestId('partition-editor');
    // Coloured by filesystem, as on the Overview.
    await expect(editor.getByTestId('segment-p1')).toHaveClass(/fs-fat16/);
    await expect(editor.getByTestId('segment-p2')).toHaveClass(/fs-ext2/);

    // A new partition: staged, then selected, with its own form.
    await editor.getByTestId('segment-f43008').click();
    const add = editor.getByTestId('add-form');
    await add.getByLabel('Size in sectors').fill('20480');
    await add.getByRole('button', { name: 'Stage: add partition' }).click();
    await expect(editor.getByTestId('staged-changes')).toContainText('Add partition at sectors 43008–63487');
    await expect(editor.getByTestId('segment-p3')).toHaveAttribute('aria-pressed', 'true');
    await expect(editor.getByTestId('segment-p3')).toBeFocused();
    await expect(editor.getByTestId('partition-form')).toContainText('Partition 3');

    // Partition 1 shrunk: it keeps its colour (its FAT stays where it starts), and the change is selected still.
    await editor.getByTestId('segment-p1').click();
    const form = editor.getByTestId('partition-form');
    await form.getByLabel('Size in sectors').fill('10240');
    await form.getByRole('button', { name: 'Stage: resize / move' }).click();
    await expect(editor.getByTestId('staged-changes')).toContainText('Resize partition 1 to sectors 2048–12287');
    await expect(editor.getByTestId('segment-p1')).toHaveAttribute('aria-pressed', 'true');
    await expect(editor.getByTestId('segment-p1')).toHaveClass(/fs-fat16/);
    await expect(form.getByLabel('Size in sectors')).toHaveValue('10240');
    await page.screenshot({ path: screenshotPath('partition-editor-colours', shell) });

    // Its FAT is cut short: the confirmation's button says so and looks destructive.
    await page.getByRole('button', { name: 'Apply changes…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Apply the partition changes?' });
    await expect(confirm.getByTestId('losses')).toContainText('its end is cut off');
    const write = confirm.getByTestId('write-table');
    await expect(write).toHaveClass(/\bdanger\b/);
    await expect(write).toHaveText('Write the table and lose data');
    await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await page.screenshot({ path: screenshotPath('partition-confirm-destructive', shell) });
    await write.click();
    await expect(confirm).toBeHidden();

    const notice = editor.getByTestId('table-written');
    await expect(notice).toHaveText('Wrote the MBR of disk.img: 3 partitions, as sfdisk will read it.');
    await expect(notice).toBeFocused();
    expect(sfdiskPartitions(image).partitions.map((p) => [p.start, p.size])).toEqual([
      [2048, 10240],
      [22528, 20480],
      [43008, 20480],
    ]);
    await page.screenshot({ path: screenshotPath('partition-written', shell) });

    // A change that loses nothing keeps the ordinary button.
    await editor.getByTestId('segment-p3').click();
    await editor.getByTestId('partition-form').getByRole('combobox', { name: 'Type' }).selectOption('0c');
    await editor.getByRole('button', { name: 'Stage: set type and flag' }).click();
    await expect(notice).toHaveCount(0);
    await page.getByRole('button', { name: 'Apply changes…' }).click();
    await expect(confirm.getByTestId('write-table')).toHaveClass(/\bprimary\b/);
    await expect(confirm.getByTestId('write-table')).toHaveText('Write the table');
  });
});
