/**
 * The loop journal: no lost update when two writers (the app and the CLI) race, and a damaged
 * file never stops the app.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/support/host';
import { defaultStateDir, LoopJournal, type JournalEntry } from './loop-journal';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('loopstudio-journal-')));
afterAll(() => cleanup());

const entry = (n: number): Omit<JournalEntry, 'id' | 'createdAt'> => ({
  kind: 'attach',
  state: 'attaching',
  image: `/images/${n}.img`,
  imageDev: '1',
  imageIno: String(n),
  partition: null,
  offsetBytes: 0,
  sizeBytes: null,
  device: null,
  mountDir: null,
  family: null,
  owner: { shell: 'cli', pid: process.pid },
});

describe('the loop journal', () => {
  it('keeps every entry when two writers add at once (the lock file serialises them)', async () => {
    const a = new LoopJournal(join(dir, 'race'));
    const b = new LoopJournal(join(dir, 'race'));
    await Promise.all(Array.from({ length: 30 }, (_, n) => (n % 2 ? a : b).add(entry(n))));
    const entries = await a.read();
    expect(entries.map((e) => e.imageIno).sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 30 }, (_, n) => String(n)));
    expect(readdirSync(join(dir, 'race')).sort()).toEqual(['loops.json']);
  });

  it('patches and removes by id', async () => {
    const journal = new LoopJournal(join(dir, 'patch'));
    const one = await journal.add(entry(1));
    const two = await journal.add(entry(2));
    await journal.patch(one.id, { state: 'attached', device: '/dev/loop5' });
    await journal.remove([two.id]);
    expect(await journal.read()).toEqual([{ ...one, state: 'attached', device: '/dev/loop5' }]);
    expect(JSON.parse(readFileSync(journal.path, 'utf8')).version).toBe(1);
  });

  it('sets a damaged file aside and starts afresh', async () => {
    const journal = new LoopJournal(join(dir, 'damaged'));
    await journal.add(entry(1));
    writeFileSync(journal.path, '{ not json');
    expect(await journal.read()).toEqual([]);
    expect(readdirSync(join(dir, 'damaged')).some((name) => name.startsWith('loops.json.damaged-'))).toBe(true);
  });

  it('lives in $XDG_STATE_HOME, else ~/.local/state', () => {
    expect(defaultStateDir({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/loopback-studio');
    expect(defaultStateDir({ XDG_STATE_HOME: 'relative' })).toMatch(/\/\.local\/state\/loopback-studio$/);
  });
});
