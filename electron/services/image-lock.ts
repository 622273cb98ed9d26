/**
 * One writer per image across processes (issue 15): a `loopstudio run` in one terminal, the app's
 * Run button and `loopstudio build --update` in another must not update the same image at once,
 * nor one of them under the other's QEMU. Within one process QemuService.hold() does the same.
 *
 * On Linux the lock is a listening Unix socket in the abstract namespace, named after the image's
 * real path: the kernel lets one process bind a name at a time and drops it when that process
 * ends, however it ends (SIGKILL included), so a killed run leaves no lock behind and there is no
 * file to clean up. Whoever finds it taken connects and reads who holds it (pid and command).
 * Elsewhere it is a file created with O_EXCL in a folder only this user can write, holding the
 * pid; a lock whose process is gone is taken over.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { LoopbackError } from '../../shared/errors';

export interface ImageLock {
  readonly image: string;
  release(): Promise<void>;
}

export interface ImageLockHolder {
  pid: number;
  /** What it does, for a person: `loopstudio run disk.json --watch`. */
  what: string;
  /** The gdb stub's port of a run with --gdb (so `run --print-gdb` can name it). */
  gdbPort?: number;
}
type Holder = ImageLockHolder;

/** The image's real path (its folder's, for an image that does not exist yet). */
async function lockKey(image: string): Promise<string> {
  const path = resolve(image);
  const real = await fs.realpath(path).catch(async () => join(await fs.realpath(dirname(path)).catch(() => dirname(path)), basename(path)));
  return createHash('sha256').update(real).digest('hex').slice(0, 40);
}

function uid(): number {
  try {
    return userInfo().uid;
  } catch {
    return -1;
  }
}

/** The abstract socket's name (a leading NUL: no file); the user's id keeps users apart. */
export function abstractLockName(key: string): string {
  return `\0loopback-studio/image-lock/${uid()}/${key}`;
}

function heldError(image: string, holder: Holder | null): LoopbackError {
  const who = holder ? `process ${holder.pid}${holder.what ? ` (${holder.what})` : ''}` : 'another process';
  return new LoopbackError('IN_USE', `${image} is being built or run by ${who}: one writer and one QEMU per image. Stop that first.`, {
    image,
    pid: holder?.pid ?? null,
  });
}

/** Reads what the holder of an abstract lock says about itself (or null). */
function askHolder(name: string): Promise<Holder | null> {
  return new Promise((resolveAsk) => {
    let text = '';
    const socket = createConnection(name);
    const done = (holder: Holder | null) => {
      socket.destroy();
      resolveAsk(holder);
    };
    const timer = setTimeout(() => done(null), 500);
    socket.on('data', (bytes) => (text += bytes.toString('utf8')));
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(text) as Holder;
        done(
          typeof parsed.pid === 'number'
            ? {
                pid: parsed.pid,
                what: String(parsed.what ?? ''),
                ...(typeof parsed.gdbPort === 'number' ? { gdbPort: parsed.gdbPort } : {}),
              }
            : null,
        );
      } catch {
        done(null);
      }
    });
    socket.on('error', () => {
      clearTimeout(timer);
      done(null);
    });
  });
}

async function abstractLock(image: string, key: string, about: Omit<Holder, 'pid'>): Promise<ImageLock> {
  const name = abstractLockName(key);
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(JSON.stringify({ pid: process.pid, ...about }));
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') void askHolder(name).then((holder) => rejectListen(heldError(image, holder)));
      else rejectListen(new LoopbackError('IO', `cannot lock ${image}: ${error.message}`, { image }));
    });
    server.listen(name, () => resolveListen());
  });
  // The lock must not keep a CLI process alive by itself.
  server.unref();
  let released = false;
  return {
    image,
    release: async () => {
      if (released) return;
      released = true;
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function fileLock(image: string, key: string, about: Omit<Holder, 'pid'>): Promise<ImageLock> {
  const path = fileLockPath(key);
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const stats = await fs.lstat(dir);
  if (!stats.isDirectory() || (uid() >= 0 && stats.uid !== uid()) || (stats.mode & 0o022) !== 0) {
    throw new LoopbackError('IO', `${dir} is not a private folder of this user: not keeping locks there`, { path: dir });
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(path, JSON.stringify({ pid: process.pid, ...about }), { flag: 'wx', mode: 0o600 });
      let released = false;
      return {
        image,
        release: async () => {
          if (released) return;
          released = true;
          await fs.rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new LoopbackError('IO', `cannot lock ${image}: ${(error as Error).message}`, { image });
      const holder = await fs.readFile(path, 'utf8').then(
        (text) => JSON.parse(text) as Holder,
        () => null,
      );
      if (holder && alive(holder.pid)) throw heldError(image, holder);
      await fs.rm(path, { force: true });
    }
  }
  throw heldError(image, null);
}

function fileLockPath(key: string): string {
  const base = process.env.XDG_RUNTIME_DIR || join(tmpdir(), `loopback-studio-${uid()}`);
  return join(base, 'loopback-studio', 'image-locks', `${key}.lock`);
}

/** Takes the image's lock, or throws IN_USE naming who holds it. `what` says what for (shown to the other side). */
export async function lockImage(image: string, what: string, extra: { gdbPort?: number } = {}): Promise<ImageLock> {
  const key = await lockKey(image);
  const about = { what, ...extra };
  return process.platform === 'linux' ? abstractLock(resolve(image), key, about) : fileLock(resolve(image), key, about);
}

/** Who holds the image's lock now, or null when nobody does. */
export async function imageLockHolder(image: string): Promise<ImageLockHolder | null> {
  const key = await lockKey(image);
  if (process.platform === 'linux') return askHolder(abstractLockName(key));
  const holder = await fs.readFile(fileLockPath(key), 'utf8').then(
    (text) => JSON.parse(text) as Holder,
    () => null,
  );
  return holder && alive(holder.pid) ? holder : null;
}

/** Whether some process holds the image's lock now (for tests and diagnostics). */
export async function imageLocked(image: string): Promise<boolean> {
  try {
    const lock = await lockImage(image, 'a check');
    await lock.release();
    return false;
  } catch (error) {
    if (error instanceof LoopbackError && error.code === 'IN_USE') return true;
    throw error;
  }
}
