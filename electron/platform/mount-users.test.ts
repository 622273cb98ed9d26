/**
 * Who keeps a mount busy, read from a /proc laid out in a temporary folder (links as the kernel
 * shows them): working folders, open and mapped files, programs under the mount; a deleted open
 * file; mounts inside it; nothing for paths that only share a prefix. The real /proc is read in
 * files-through-mount.test.ts (as root).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/support/host';
import { describeMountBusy, mountBusyReport } from './mount-users';

const tmp = tempDir('mount-users-');
afterAll(() => tmp.cleanup());

interface FakeProcess {
  pid: number;
  comm: string;
  cmdline?: string[];
  cwd: string;
  exe?: string;
  fds?: string[];
  maps?: string[];
}

function fakeProc(root: string, processes: FakeProcess[]): void {
  for (const p of processes) {
    const base = join(root, String(p.pid));
    mkdirSync(join(base, 'fd'), { recursive: true });
    writeFileSync(join(base, 'comm'), `${p.comm}\n`);
    writeFileSync(join(base, 'cmdline'), p.cmdline ? `${p.cmdline.join('\0')}\0` : '');
    symlinkSync(p.cwd, join(base, 'cwd'));
    symlinkSync('/', join(base, 'root'));
    symlinkSync(p.exe ?? '/usr/bin/true', join(base, 'exe'));
    (p.fds ?? []).forEach((target, i) => symlinkSync(target, join(base, 'fd', String(i))));
    writeFileSync(
      join(base, 'maps'),
      (p.maps ?? []).map((path) => `7f0000000000-7f0000001000 r--p 00000000 07:00 12 ${' '.repeat(20)}${path}`).join('\n'),
    );
  }
}

describe('mountBusyReport', () => {
  it('names every process holding something under the mount, and what', async () => {
    const proc = join(tmp.dir, 'proc');
    fakeProc(proc, [
      { pid: 40, comm: 'bash', cmdline: ['bash'], cwd: '/mnt/x/src' },
      {
        pid: 41,
        comm: 'less',
        cmdline: ['less', 'notes.txt'],
        cwd: '/home/u',
        fds: ['/dev/pts/0', '/mnt/x/notes.txt', 'pipe:[1234]', '/mnt/x/old.log (deleted)'],
      },
      { pid: 42, comm: 'kernel', cwd: '/', exe: '/mnt/x/bin/kernel', maps: ['/mnt/x/lib/libk.so'] },
      { pid: 43, comm: 'sleep', cmdline: ['sleep', '9'], cwd: '/mnt/xy' },
      { pid: 44, comm: 'init', cwd: '/' },
    ]);
    const mounts = join(tmp.dir, 'mounts');
    writeFileSync(
      mounts,
      ['/dev/loop3 /mnt/x ext2 rw 0 0', 'tmpfs /mnt/x/src/cache tmpfs rw 0 0', 'tmpfs /mnt/xy tmpfs rw 0 0', ''].join('\n'),
    );
    const report = await mountBusyReport('/mnt/x', proc, mounts);
    expect(report.users).toEqual([
      { pid: 40, command: 'bash', commandLine: 'bash', holds: ['working folder /mnt/x/src'] },
      {
        pid: 41,
        command: 'less',
        commandLine: 'less notes.txt',
        holds: ['open file /mnt/x/notes.txt', 'open file /mnt/x/old.log (deleted)'],
      },
      { pid: 42, command: 'kernel', commandLine: null, holds: ['program /mnt/x/bin/kernel', 'mapped file /mnt/x/lib/libk.so'] },
    ]);
    expect(report.innerMounts).toEqual(['/mnt/x/src/cache']);
    expect(report.unreadable).toBe(0);
    expect(describeMountBusy('/mnt/x', report)).toBe(
      'in use by pid 40 (bash): working folder /mnt/x/src; pid 41 (less notes.txt): open file /mnt/x/notes.txt, open file /mnt/x/old.log (deleted); ' +
        'pid 42 (kernel): program /mnt/x/bin/kernel, mapped file /mnt/x/lib/libk.so; and /mnt/x/src/cache is mounted inside it',
    );
  });

  it('says so when nothing visible holds it', () => {
    expect(describeMountBusy('/mnt/x', { users: [], innerMounts: [], unreadable: 0 })).toBe(
      'the system says it is busy, but no process holds a file there',
    );
    expect(describeMountBusy('/mnt/x', { users: [], innerMounts: [], unreadable: 3 })).toBe(
      'the system says it is busy, but no process that could be checked holds a file there (3 processes of other users could not be checked: `sudo fuser -vm /mnt/x` shows all)',
    );
  });
});
