/**
 * The loop journal: every loop device and mount the app makes, written *before* the privileged
 * helper runs (an intent: "attaching c.img at offset 32256") and updated after it ("… as
 * /dev/loop3"). If the app is killed in between, the next start still knows what to look for.
 *
 * A JSON file in the user's state folder, replaced atomically (write + rename) under a lock file,
 * so the app and the CLI can both use it.
 */
import { randomUUID } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LoopEntry } from '../../shared/api/loops';
import { LoopbackError } from '../../shared/errors';

/** What the journal stores: an entry without the live view (which is computed on reading). */
export type JournalEntry = Omit<LoopEntry, 'live' | 'leftover' | 'reason'> & {
  /** The image's device and inode (as decimal strings), to recognise it whatever its name. */
  imageDev: string;
  imageIno: string;
  /** Set when the action that made it failed and its undo left this live: a leftover once its maker is gone. */
  failed?: boolean;
};

interface JournalFile {
  version: 1;
  entries: JournalEntry[];
}

/** $XDG_STATE_HOME/loopback-studio, else ~/.local/state/loopback-studio (XDG Base Directory spec). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'loopback-studio');
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 10_000;

export class LoopJournal {
  readonly path: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string) {
    this.path = join(stateDir, 'loops.json');
  }

  async read(): Promise<JournalEntry[]> {
    try {
      const parsed = JSON.parse(await fs.readFile(this.path, 'utf8')) as JournalFile;
      return Array.isArray(parsed.entries) ? parsed.entries : [];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      // A damaged journal must not stop the app: start afresh, keeping the old file to look at.
      await fs.rename(this.path, `${this.path}.damaged-${Date.now()}`).catch(() => {});
      return [];
    }
  }

  /** Changes the entries under the lock; `change` returns the new list (and a value to pass back). */
  update<T>(change: (entries: JournalEntry[]) => { entries: JournalEntry[]; value: T }): Promise<T> {
    const run = this.queue.then(() =>
      this.withLock(async () => {
        const { entries, value } = change(await this.read());
        await this.write(entries);
        return value;
      }),
    );
    this.queue = run.catch(() => {});
    return run;
  }

  /** Records an intent and returns it (with its new id). */
  add(entry: Omit<JournalEntry, 'id' | 'createdAt'>): Promise<JournalEntry> {
    const full: JournalEntry = { ...entry, id: randomUUID(), createdAt: new Date().toISOString() };
    return this.update((entries) => ({ entries: [...entries, full], value: full }));
  }

  patch(id: string, fields: Partial<JournalEntry>): Promise<void> {
    return this.update((entries) => ({ entries: entries.map((e) => (e.id === id ? { ...e, ...fields } : e)), value: undefined }));
  }

  remove(ids: readonly string[]): Promise<void> {
    return this.update((entries) => ({ entries: entries.filter((e) => !ids.includes(e.id)), value: undefined }));
  }

  private async write(entries: JournalEntry[]): Promise<void> {
    await fs.mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const temporary = `${this.path}.${process.pid}.tmp`;
    const body: JournalFile = { version: 1, entries };
    await fs.writeFile(temporary, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    const handle = await fs.open(temporary, 'r');
    await handle.sync();
    await handle.close();
    await fs.rename(temporary, this.path);
  }

  private async withLock<T>(work: () => Promise<T>): Promise<T> {
    const lock = `${this.path}.lock`;
    await fs.mkdir(dirname(lock), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await fs.open(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const stats = await fs.stat(lock).catch(() => null);
        // A lock left by a process that died while holding it.
        if (stats && Date.now() - stats.mtimeMs > LOCK_STALE_MS) await fs.rm(lock, { force: true });
        if (Date.now() > deadline)
          throw new LoopbackError(
            'IO',
            `the loop journal ${this.path} stays locked (${lock}); remove the lock file if no Loopback Studio is running`,
          );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    try {
      return await work();
    } finally {
      await fs.rm(lock, { force: true });
    }
  }
}
