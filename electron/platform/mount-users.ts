/**
 * Who keeps a mount busy: the processes whose working folder, root, program, open files or mapped
 * files lie under the mount point (what `fuser -vm DIR` shows), read from Linux's /proc without
 * root — a user sees their own processes, root sees all — and the mounts made inside it. Used to
 * turn umount's bare "target is busy" into something a person can act on (issue 17).
 */
import { promises as fs } from 'node:fs';
import { parseProcMounts } from './loop/linux';

export interface MountUser {
  pid: number;
  /** The program's name (/proc/PID/comm), and its command line when it can be read. */
  command: string;
  commandLine: string | null;
  /** What it holds there: "working folder /mnt/x/src", "open file /mnt/x/log.txt" … (at most a few). */
  holds: string[];
}

export interface MountBusyReport {
  users: MountUser[];
  /** Mount points inside the mount (they keep it busy too). */
  innerMounts: string[];
  /** Processes whose links could not be read (another user's, when not root). */
  unreadable: number;
}

/** `path` is `dir` or lies below it; a deleted file's " (deleted)" suffix is ignored. */
function under(path: string, dir: string): boolean {
  const clean = path.endsWith(' (deleted)') ? path.slice(0, -' (deleted)'.length) : path;
  return clean === dir || clean.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

const MAX_HOLDS = 4;

async function readLink(path: string): Promise<string | null> {
  return fs.readlink(path).catch(() => null);
}

/** Whether readlink was refused (another user's process), rather than the link being gone. */
async function refused(path: string): Promise<boolean> {
  return fs.readlink(path).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'EACCES' || error.code === 'EPERM',
  );
}

/** Processes holding anything under `dir`, sorted by pid. `proc` and `mountsFile` are for tests. */
export async function mountBusyReport(dir: string, proc = '/proc', mountsFile = '/proc/self/mounts'): Promise<MountBusyReport> {
  const pids = (await fs.readdir(proc).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name)).map(Number);
  const users: MountUser[] = [];
  let unreadable = 0;
  for (const pid of pids.sort((a, b) => a - b)) {
    const base = `${proc}/${pid}`;
    const holds: string[] = [];
    const note = (what: string) => {
      if (!holds.includes(what)) holds.push(what);
    };
    const cwd = await readLink(`${base}/cwd`);
    if (cwd === null) {
      // Another user's (EACCES) is counted; one gone since the listing, or a zombie, is not.
      if (await refused(`${base}/cwd`)) unreadable += 1;
      continue;
    }
    if (under(cwd, dir)) note(`working folder ${cwd}`);
    const root = await readLink(`${base}/root`);
    if (root !== null && root !== '/' && under(root, dir)) note(`root folder ${root}`);
    const exe = await readLink(`${base}/exe`);
    if (exe !== null && under(exe, dir)) note(`program ${exe}`);
    for (const fd of await fs.readdir(`${base}/fd`).catch(() => [] as string[])) {
      const target = await readLink(`${base}/fd/${fd}`);
      if (target !== null && target.startsWith('/') && under(target, dir)) note(`open file ${target}`);
    }
    const maps = await fs.readFile(`${base}/maps`, 'utf8').catch(() => '');
    for (const line of maps.split('\n')) {
      const at = line.indexOf('/');
      if (at > 0 && under(line.slice(at), dir)) note(`mapped file ${line.slice(at)}`);
    }
    if (holds.length === 0) continue;
    const comm = (await fs.readFile(`${base}/comm`, 'utf8').catch(() => '?')).trim() || '?';
    const cmdline = await fs.readFile(`${base}/cmdline`, 'utf8').catch(() => '');
    const commandLine = cmdline.replace(/\0+$/, '').split('\0').join(' ').slice(0, 200) || null;
    users.push({ pid, command: comm, commandLine, holds: holds.slice(0, MAX_HOLDS) });
  }
  const innerMounts = parseProcMounts(await fs.readFile(mountsFile, 'utf8').catch(() => ''))
    .map((m) => m.mountPoint)
    .filter((point) => point !== dir && under(point, dir));
  return { users, innerMounts, unreadable };
}

/** The report for a person: "in use by pid 4242 (sleep 30): working folder /mnt/x/src". */
export function describeMountBusy(dir: string, report: MountBusyReport): string {
  const parts: string[] = [];
  if (report.users.length) {
    const who = report.users.map((u) => `pid ${u.pid} (${u.commandLine ?? u.command}): ${u.holds.join(', ')}`);
    parts.push(`in use by ${who.join('; ')}`);
  }
  if (report.innerMounts.length)
    parts.push(`${report.innerMounts.join(', ')} ${report.innerMounts.length === 1 ? 'is' : 'are'} mounted inside it`);
  const others = report.unreadable === 1 ? '1 process of another user' : `${report.unreadable} processes of other users`;
  const hidden = report.unreadable ? ` (${others} could not be checked: \`sudo fuser -vm ${dir}\` shows all)` : '';
  if (parts.length === 0)
    return `the system says it is busy, but no process ${report.unreadable ? 'that could be checked ' : ''}holds a file there${hidden}`;
  return `${parts.join('; and ')}${hidden}`;
}
