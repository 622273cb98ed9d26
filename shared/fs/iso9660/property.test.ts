/**
 * Property test: random trees (names of every kind — Unicode, spaces, dots, case variants that
 * collide in ISO 9660, long ones; files from empty to several blocks; symbolic links; modes;
 * dates) under random options round-trip: osirrox extracts exactly the tree we were given, our
 * reader sees the same, and through the Joliet tree osirrox and our reader agree with each other
 * and with the tree's files.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { MemoryBlockDevice } from '../../disk/block-device';
import { openIso9660, planIso, writeIso, type IsoEntry, type Iso9660Volume, type IsoLevel } from './index';
import { diffModels, modelOfEntries, modelOfFolder, patternBytes, sha256, type TreeModel } from './test-support';

const skip = missingTools('osirrox');
const tmp = tempDir('iso-prop-');
afterAll(() => {
  runTool('chmod', ['-R', 'u+rwx', tmp.dir]);
  tmp.cleanup();
});
let counter = 0;
const UTF8 = { LC_ALL: 'C.UTF-8' };

const nameChar = fc.constantFrom(...'abcxyzABCXYZ0189 _-+,;=[]!.~üéøÅ€中');
const nameArb = fc
  .oneof(
    { weight: 5, arbitrary: fc.string({ unit: nameChar, minLength: 1, maxLength: 24 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('readme.txt', 'README.TXT', 'ReadMe.txt', 'a', 'A', 'boot', 'Boot', 'x.tar.gz', 'X.TAR.GZ', '.hidden'),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'a very long name that goes beyond the sixty-four characters Joliet allows.txt',
        'ü'.repeat(100),
        'n'.repeat(255),
      ),
    },
  )
  .map((name) => (name === '.' || name === '..' ? 'dot' : name));

type Seed =
  | { kind: 'dir'; parent: number; name: string; mode: number }
  | { kind: 'file'; parent: number; name: string; size: number; seed: number; mode: number; modifiedMs: number }
  | { kind: 'link'; parent: number; name: string; target: string };

const targetArb = fc
  .tuple(fc.boolean(), fc.array(fc.oneof(nameArb, fc.constantFrom('.', '..')), { minLength: 1, maxLength: 5 }))
  .map(([absolute, parts]) => `${absolute ? '/' : ''}${parts.join('/')}`);

const seedArb: fc.Arbitrary<Seed> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('dir' as const),
      parent: fc.nat(),
      name: nameArb,
      mode: fc.constantFrom(0o755, 0o700, 0o750),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('file' as const),
      parent: fc.nat(),
      name: nameArb,
      size: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 2040, max: 2056 }),
        fc.integer({ min: 4000, max: 20_000 }),
      ),
      seed: fc.nat(),
      mode: fc.constantFrom(0o644, 0o600, 0o755, 0o640),
      modifiedMs: fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2100, 0, 1) }).map((ms) => ms - (ms % 1000)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('link' as const), parent: fc.nat(), name: nameArb, target: targetArb }) },
);

/** Entries from seeds: parents are earlier folders; a path already taken is skipped. */
function entriesOf(seeds: Seed[]): IsoEntry[] {
  const dirs = ['/'];
  const taken = new Set<string>();
  const entries: IsoEntry[] = [];
  for (const seed of seeds) {
    const parent = dirs[seed.parent % dirs.length]!;
    const path = `${parent === '/' ? '' : parent}/${seed.name}`;
    if (taken.has(path)) continue;
    taken.add(path);
    if (seed.kind === 'dir') {
      entries.push({ type: 'directory', path, mode: seed.mode });
      dirs.push(path);
    } else if (seed.kind === 'file') {
      entries.push({ type: 'file', path, content: patternBytes(seed.size, seed.seed), mode: seed.mode, modifiedMs: seed.modifiedMs });
    } else {
      entries.push({ type: 'symlink', path, target: seed.target });
    }
  }
  return entries;
}

async function modelOfIso(iso: Iso9660Volume): Promise<TreeModel> {
  const model: TreeModel = new Map();
  for (const { path, entry } of await iso.walk()) {
    if (entry.type === 'symlink') model.set(path, { type: 'symlink', target: entry.target! });
    else if (entry.type === 'directory') model.set(path, { type: 'directory', mode: entry.mode! });
    else model.set(path, { type: 'file', sha256: await sha256(await iso.readFile(path)), sizeBytes: entry.sizeBytes, mode: entry.mode! });
  }
  return model;
}

function withoutModes(model: TreeModel): TreeModel {
  return new Map(
    [...model].map(([path, entry]) => [
      path,
      entry.type === 'symlink'
        ? entry
        : entry.type === 'directory'
          ? { type: 'directory' }
          : { type: 'file', sha256: entry.sha256, sizeBytes: entry.sizeBytes },
    ]),
  );
}

describe.skipIf(skip)('random trees round-trip', () => {
  it('through osirrox and our reader, Rock Ridge and Joliet', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(seedArb, { minLength: 5, maxLength: 80, size: 'large' }),
        fc.record({
          level: fc.constantFrom<IsoLevel>(1, 2),
          joliet: fc.boolean(),
          dateMs: fc.integer({ min: Date.UTC(1980, 0, 1), max: Date.UTC(2100, 0, 1) }),
        }),
        async (seeds, options) => {
          const entries = entriesOf(seeds);
          const plan = planIso(entries, { dateMs: options.dateMs - (options.dateMs % 1000), level: options.level, joliet: options.joliet });
          const device = new MemoryBlockDevice(plan.sizeBytes);
          await writeIso(plan, device);
          const image = join(tmp.dir, `prop-${++counter}.iso`);
          fs.writeFileSync(image, device.bytes);
          const expected = await modelOfEntries(entries, true);

          const out = join(tmp.dir, `rr-${counter}`);
          runToolOk('osirrox', ['-indev', image, '-extract', '/', out], { env: UTF8 });
          expect(diffModels(expected, await modelOfFolder(fs, out, true))).toEqual([]);
          for (const entry of entries) {
            if (entry.type === 'file') expect(fs.statSync(join(out, entry.path)).mtimeMs).toBe(entry.modifiedMs);
          }

          const iso = await openIso9660(device);
          expect(diffModels(expected, await modelOfIso(iso))).toEqual([]);

          if (options.joliet) {
            const joliet = join(tmp.dir, `joliet-${counter}`);
            runToolOk('osirrox', ['-read_fs', 'norock', '-indev', image, '-extract', '/', joliet], { env: UTF8 });
            const theirs = await modelOfFolder(fs, joliet);
            const ours = withoutModes(await modelOfIso(await openIso9660(device, { names: 'joliet' })));
            expect(diffModels(ours, theirs)).toEqual([]);
            const files = (m: TreeModel) =>
              [...m.values()]
                .filter((e) => e.type === 'file')
                .map((e) => (e.type === 'file' ? e.sha256 : ''))
                .sort();
            expect(files(theirs)).toEqual(files(expected));
          }
          fs.rmSync(image);
        },
      ),
      { numRuns: 30 },
    );
  }, 180_000);
});
