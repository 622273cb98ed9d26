/**
 * Killing the app in the middle of its loop work leaves state that the next start finds and
 * cleans (docs/SECURITY.md, rule 7). A real child process runs the services and is killed with
 * SIGKILL — once in the middle of a mount (its journal says "mounting", the helper still at work),
 * once after it has attached and mounted — and a fresh services instance then finds exactly those
 * leftovers and releases them; losetup and /proc/self/mounts confirm nothing of ours remains.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runTool, runToolOk, tempDir } from '../../tests/support/host';
import { attachOwn, detachIfBackedBy, loopSkipReason, skipTitle, loopsUnder, mountsUnder, releaseUnder } from '../../tests/support/loops';
import { partitionImage } from './disks';
import { createImage } from './images';
import { LoopService } from './loops';

const skip = loopSkipReason();
const tsx = createRequire(join(__dirname, '../../package.json')).resolve('tsx/cjs');
const childScript = join(__dirname, '../../tests/support/loop-crash-child.ts');

let dir: string;
let cleanup: () => void;
let image: string;
/** A copy the child attaches whole: a second device over the bytes of IMAGE's mount would be refused. */
let copy: string;
const children: ChildProcessWithoutNullStreams[] = [];

function startChild(
  stateDir: string,
  mountRoot: string,
): { child: ChildProcessWithoutNullStreams; lines: string[]; waitFor: (prefix: string) => Promise<string> } {
  const child = spawn(process.execPath, ['--require', tsx, childScript, image, stateDir, mountRoot, copy], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const waitFor = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const deadline = Date.now() + 30_000;
      const poll = () => {
        const line = lines.find((l) => l.startsWith(prefix));
        if (line) return resolve(line);
        if (child.exitCode !== null || Date.now() > deadline)
          return reject(new Error(`child never said ${prefix}: ${lines.join(' | ')} ${stderr}`));
        setTimeout(poll, 10);
      };
      poll();
    });
  return { child, lines, waitFor };
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Whether a helper process (out/privileged/helper.cjs) runs as a child of `pid`, per /proc. */
function helperChildOf(pid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('privileged/helper.cjs')) return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

const killed = (child: ChildProcessWithoutNullStreams) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

describe.skipIf(skip)(skipTitle('crash recovery: the app killed with SIGKILL', skip), () => {
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('loopstudio-crash-'));
    image = join(dir, 'crash.img');
    await createImage({ path: image, shape: { chs: '20/16/63' } });
    await partitionImage(image, { table: 'mbr', steps: [{ op: 'add', spec: 'start=63,size=rest,type=83' }] });
    const device = attachOwn(image, ['--offset', String(63 * 512)]);
    try {
      runToolOk('mke2fs', ['-q', '-t', 'ext2', device]);
    } finally {
      detachIfBackedBy(device, image);
    }
    copy = join(dir, 'attached.img');
    runToolOk('cp', ['--sparse=always', image, copy]);
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
    releaseUnder(dir);
  });
  afterAll(() => {
    releaseUnder(dir);
    cleanup();
  });

  it('in the middle of a mount: the journal holds the intent, the next start adopts and releases what the helper made', async () => {
    const stateDir = join(dir, 'state-mid');
    const mountRoot = join(dir, 'mnt-mid');
    const journal = join(stateDir, 'loops.json');
    const { child, waitFor } = startChild(stateDir, mountRoot);
    await waitFor('ATTACHED');
    // The moment the mount's intent is on disk and its helper has started, the app dies.
    await until('the mount intent', () => existsSync(journal) && readFileSync(journal, 'utf8').includes('"state": "mounting"'));
    await until('the helper of the mount', () => helperChildOf(child.pid!));
    child.kill('SIGKILL');
    await killed(child);
    const journalAtDeath = JSON.parse(readFileSync(journal, 'utf8')).entries as { state: string; device: string | null }[];
    expect(journalAtDeath.map((e) => [e.state, e.device === null])).toEqual([
      ['attached', false],
      ['mounting', true],
    ]);
    // The helper finishes its batch even though nobody reads its answer any more.
    await until('the orphaned helper to finish the mount', () => mountsUnder(dir).length === 1);

    const next = new LoopService({ shell: 'electron', stateDir, mountRoot });
    const leftovers = await next.findLeftovers();
    expect(
      leftovers.map((e) => ({
        kind: e.kind,
        partition: e.partition,
        attached: e.live.attached,
        mounted: e.live.mounted,
        leftover: e.leftover,
      })),
    ).toEqual([
      { kind: 'attach', partition: null, attached: true, mounted: false, leftover: true },
      { kind: 'mount', partition: 1, attached: true, mounted: true, leftover: true },
    ]);
    // Why each is a leftover: the app died with its attach done, and in the middle of the mount.
    expect(leftovers.map((e) => e.reason)).toEqual([
      `the app (pid ${child.pid}) is gone without releasing it (it releases its own when it quits: it crashed or was killed)`,
      `the app (pid ${child.pid}) ended before it finished mounting (crashed or killed)`,
    ]);
    // The intent's device was unknown at death: it was found by backing file and offset.
    expect(leftovers[1]!.device).toMatch(/^\/dev\/loop\d+$/);
    expect(
      loopsUnder(dir)
        .map((l) => l.device)
        .sort(),
    ).toEqual(leftovers.map((e) => e.device).sort());

    await next.cleanup();
    expect(loopsUnder(dir)).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(await next.findLeftovers()).toEqual([]);
    expect(JSON.parse(readFileSync(journal, 'utf8')).entries).toEqual([]);
  });

  it('after it attached and mounted: the next start lists both as leftovers and releases them', async () => {
    const stateDir = join(dir, 'state-after');
    const mountRoot = join(dir, 'mnt-after');
    const { child, waitFor } = startChild(stateDir, mountRoot);
    const mountedLine = await waitFor('MOUNTED');
    const mountDir = mountedLine.slice('MOUNTED '.length);
    child.kill('SIGKILL');
    await killed(child);
    expect(mountsUnder(dir)).toEqual([mountDir]);
    expect(loopsUnder(dir)).toHaveLength(2);

    const next = new LoopService({ shell: 'electron', stateDir, mountRoot });
    const state = await next.list();
    expect(state.entries.filter((e) => e.leftover).map((e) => e.mountDir)).toEqual([null, mountDir]);
    const released = await next.cleanup();
    expect(released.commands.filter((c) => c.includes('umount') || c.includes('--detach'))).toHaveLength(3);
    expect(loopsUnder(dir)).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    expect(runToolOk('losetup', ['-a']).stdout).not.toContain(dir);
    // Killed with a mounted filesystem, then unmounted by the next start: still clean.
    const check = attachOwn(image, ['--offset', String(63 * 512)]);
    try {
      expect(runTool('e2fsck', ['-fn', check]).status).toBe(0);
    } finally {
      detachIfBackedBy(check, image);
    }
  });
});
