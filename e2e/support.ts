/**
 * What the e2e specs share: images made with the host's own tools (so the app is shown disks it
 * did not make), checks with those tools, the steps a person takes in the UI (open an image,
 * drop files on a folder), and the accessibility scan.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { runToolOk } from '../tests/support/host';
import { expect, ROOT } from './fixtures';

export { hasTool, missingTools, runTool, runToolOk, tempDir } from '../tests/support/host';

/** Runs the command-line twin as a user would (`loopstudio ARGS…`); throws with its stderr on failure. */
export function loopstudio(...args: string[]): string {
  return runToolOk(process.execPath, [join(ROOT, 'bin/loopstudio.cjs'), ...args]).stdout;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
  /** GPT only. */
  name?: string;
}

/** `sfdisk --json IMG`: the table as util-linux reads it. */
export function sfdiskPartitions(path: string): { label: string; partitions: SfdiskPartition[] } {
  const json = JSON.parse(runToolOk('sfdisk', ['--json', path]).stdout) as {
    partitiontable: { label: string; partitions?: SfdiskPartition[] };
  };
  return { label: json.partitiontable.label, partitions: json.partitiontable.partitions ?? [] };
}

/** Copies a partition out to its own file (sparse), for tools that take no offset (fsck.fat, e2fsck). */
export function partitionFile(image: string, startSector: number, sectorCount: number, out: string): string {
  runToolOk('dd', [`if=${image}`, `of=${out}`, 'bs=512', `skip=${startSector}`, `count=${sectorCount}`, 'conv=sparse', 'status=none']);
  return out;
}

/**
 * A safety net for tests that mount: unmounts and detaches the loop devices whose backing file
 * lies in `dir` (the test's own folder), checking each device's backing file first. Run it
 * before the folder is removed.
 */
export function releaseLoopsUnder(dir: string): void {
  const list = JSON.parse(runToolOk('losetup', ['--json', '--list']).stdout || '{"loopdevices":[]}') as {
    loopdevices?: { name: string; 'back-file': string | null }[];
  };
  const ours = (list.loopdevices ?? []).filter((d) => d['back-file']?.startsWith(`${dir}/`));
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '));
  for (const device of ours) {
    for (const [source, target] of mounts) if (source === device.name && target) runToolOk('umount', [target]);
    if (runToolOk('losetup', ['-n', '-O', 'BACK-FILE', device.name]).stdout.trim().startsWith(`${dir}/`))
      runToolOk('losetup', ['-d', device.name]);
  }
}

/** A blank image of `bytes` (sparse), partitioned by an sfdisk script. */
export function sfdiskImage(path: string, bytes: number, script: string): void {
  runToolOk('truncate', ['-s', String(bytes), path]);
  runToolOk('sfdisk', ['--quiet', path], { input: script });
}

/** The steps of "Open image…": the dialog, the path, Enter; waits for the image's view. */
export async function openImageInUi(page: Page, path: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Images' }).getByRole('button', { name: 'Open image…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Open image' });
  await dialog.getByLabel('Image file').fill(path);
  await dialog.getByLabel('Image file').press('Enter');
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(path.slice(path.lastIndexOf('/') + 1));
}

export interface DropFile {
  name: string;
  /** Text content, or a size in bytes (filled with a pattern). */
  content: string | number;
}

/**
 * Drops files on an element as the desktop does: dragenter, dragover and drop events carrying a
 * DataTransfer with File objects made in the page.
 */
export async function dropFiles(page: Page, target: Locator, files: DropFile[]): Promise<void> {
  const dataTransfer = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer();
    for (const file of list) {
      const body = typeof file.content === 'number' ? new Uint8Array(file.content).map((_, i) => i & 0xff) : file.content;
      transfer.items.add(new File([body], file.name, { type: 'application/octet-stream', lastModified: Date.UTC(2024, 4, 17, 12, 0, 0) }));
    }
    return transfer;
  }, files);
  await target.dispatchEvent('dragenter', { dataTransfer });
  await target.dispatchEvent('dragover', { dataTransfer });
  await target.dispatchEvent('drop', { dataTransfer });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core on the page as it is now; answers the serious and critical violations, described. */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) {
    // The app's CSP refuses injected <script> tags (page.addScriptTag); evaluating the file
    // through Playwright runs it in the page without loosening the policy.
    await page.evaluate(readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8'));
  }
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: AxeViolation[] }> } })
      .axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
