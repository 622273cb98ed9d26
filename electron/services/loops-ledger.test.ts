/**
 * Which journal entries are leftovers, and why (loops-ledger.ts standing()): a mount made on
 * purpose with `loopstudio mount` stays the user's after the command exits; what a killed action
 * left half-done, what a crashed app left, and what belongs to a deleted or replaced image are
 * leftovers. The processes are real: this one, and one that has exited.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { JournalEntry } from './loop-journal';
import { standing } from './loops-ledger';

/** The pid of a process that has exited (and, on a busy machine, is very unlikely to be reused this soon). */
const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;

function entry(fields: Partial<JournalEntry>): JournalEntry {
  return {
    id: 'e1',
    kind: 'mount',
    state: 'mounted',
    image: '/work/disk.img',
    imageDev: '1',
    imageIno: '2',
    partition: 1,
    offsetBytes: 1048576,
    sizeBytes: 1000,
    device: '/dev/loop3',
    mountDir: '/run/user/0/loopback-studio/mnt/disk-p1',
    family: 'ext2',
    owner: { shell: 'cli', pid: Number(gone) },
    createdAt: '2026-01-01T00:00:00.000Z',
    ...fields,
  };
}

describe('standing', () => {
  it("keeps what `loopstudio mount` and `attach` made once the command has exited: the user's until umount / detach", () => {
    expect(standing(entry({}))).toEqual({
      leftover: false,
      reason: 'kept: made by `loopstudio mount`; yours until `loopstudio umount /run/user/0/loopback-studio/mnt/disk-p1`',
    });
    expect(standing(entry({ kind: 'attach', state: 'attached', mountDir: null }))).toEqual({
      leftover: false,
      reason: 'kept: made by `loopstudio attach`; yours until `loopstudio detach /dev/loop3`',
    });
  });

  it('marks what a killed action left half-done, and what a failed one left behind', () => {
    expect(standing(entry({ state: 'mounting' }))).toEqual({
      leftover: true,
      reason: `loopstudio (pid ${gone}) ended before it finished mounting (crashed or killed)`,
    });
    expect(standing(entry({ kind: 'attach', state: 'attaching' }))).toMatchObject({
      leftover: true,
      reason: expect.stringContaining('before it finished attaching'),
    });
    expect(standing(entry({ failed: true }))).toEqual({
      leftover: true,
      reason: `a failed action of loopstudio (pid ${gone}) left it behind`,
    });
  });

  it('marks what the app left when it died (it releases its own when it quits)', () => {
    expect(standing(entry({ owner: { shell: 'electron', pid: Number(gone) } }))).toEqual({
      leftover: true,
      reason: `the app (pid ${gone}) is gone without releasing it (it releases its own when it quits: it crashed or was killed)`,
    });
  });

  it('marks what belongs to an image that no longer exists, or was replaced, whoever made it', () => {
    expect(standing(entry({}), 'gone')).toEqual({
      leftover: true,
      reason: 'its image /work/disk.img no longer exists (cleanup says how to release it by hand)',
    });
    expect(standing(entry({ owner: { shell: 'cli', pid: process.pid } }), 'replaced')).toMatchObject({
      leftover: true,
      reason: expect.stringContaining('another file now'),
    });
  });

  it('leaves alone what a running process holds', () => {
    expect(standing(entry({ owner: { shell: 'cli', pid: process.pid }, state: 'mounting' }))).toEqual({
      leftover: false,
      reason: 'made by this process',
    });
    expect(standing(entry({ owner: { shell: 'electron', pid: process.ppid } }))).toEqual({
      leftover: false,
      reason: `in use by the app (pid ${process.ppid})`,
    });
  });
});
