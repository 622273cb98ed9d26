/**
 * Property tests: random volumes (size × FAT type × cluster size) and random sequences of
 * operations (mkdir, write, replace, rename across folders, remove, recursive remove) on random
 * names (spaces, Unicode, characters legal only in long names, 8.3 names in either case).
 * After each sequence, fsck.fat must find nothing to complain about and mtools must extract
 * exactly the tree a simple in-memory model predicts — also before the final flush(), when the
 * disk must hold the state of some point since the last flush (never a half-done operation).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../../electron/services/file-block-device';
import { missingTools, runTool, runToolOk, tempDir } from '../../../tests/support/host';
import { LoopbackError } from '../../errors';
import { detectFat, fatTypeForClusterCount, formatFat, openFat, type FatFormatOptions, type FatVolume } from './index';
import { describeTree, extractWithMtools, fsck, patternBytes, readWithOurs, type Tree } from './test-support';

const skip = missingTools('fsck.fat', 'mdir', 'mcopy', 'truncate');
const tmp = tempDir('fat-prop-');
afterAll(() => tmp.cleanup());
let counter = 0;

const MIB = 1024 * 1024;

/** Volumes whose options always fit their type (so every run formats). */
const volumeArb: fc.Arbitrary<{ sizeBytes: number; options: FatFormatOptions }> = fc.oneof(
  fc.constant({ sizeBytes: 1474560, options: {} }),
  fc.record({
    sizeBytes: fc.integer({ min: 1 * MIB, max: 8 * MIB }).map((n) => n - (n % 512)),
    options: fc.record({ type: fc.constant('fat12' as const), clusterBytes: fc.constantFrom(undefined, 2048, 4096) }),
  }),
  fc.record({
    sizeBytes: fc.integer({ min: 20 * MIB, max: 60 * MIB }).map((n) => n - (n % 512)),
    options: fc.record({ type: fc.constant('fat16' as const), clusterBytes: fc.constantFrom(undefined, 1024, 4096) }),
  }),
  fc.record({
    sizeBytes: fc.integer({ min: 34 * MIB, max: 64 * MIB }).map((n) => n - (n % 512)),
    options: fc.record({ type: fc.constant('fat32' as const), clusterBytes: fc.constant(512) }),
  }),
);

/** Characters from every class: letters of both cases, digits, spaces, dots, 8.3-illegal, Unicode in and out of CP850. */
// No "~": a generated name must never equal another entry's generated short name ("AB~1").
const nameChar = fc.constantFrom(...'abcxyzABCXYZ0189 _-+,;=[]!.üéøÅ€中');
const nameArb = fc
  .oneof(
    { weight: 5, arbitrary: fc.string({ unit: nameChar, minLength: 1, maxLength: 24 }) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Z0-9]{1,8}(\.[A-Z0-9]{1,3})?$/) },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9]{1,8}(\.[a-z]{1,3})?$/) },
    { weight: 1, arbitrary: fc.constantFrom('Grüße ünïcødé.txt', 'a very long name '.repeat(8), '.hidden', 'x.tar.gz') },
  )
  .map((name) => {
    const fixed = /[. ]$/.test(name) ? `${name}x` : name;
    return fixed === '.' || fixed === '..' ? 'dot' : fixed;
  });

const sizeArb = fc.oneof(
  fc.constant({ clusters: 0, extra: 0 }),
  fc.record({ clusters: fc.constant(0), extra: fc.integer({ min: 1, max: 2000 }) }),
  fc.record({ clusters: fc.integer({ min: 1, max: 24 }), extra: fc.integer({ min: -1, max: 1 }) }),
);

type OpSeed =
  | { kind: 'mkdir'; parent: number; name: string }
  | { kind: 'write'; parent: number; name: string; size: { clusters: number; extra: number }; seed: number }
  | { kind: 'rename'; target: number; parent: number; name: string }
  | { kind: 'remove'; target: number }
  | { kind: 'cancelledWrite'; parent: number; name: string; size: { clusters: number; extra: number }; seed: number }
  | { kind: 'flush' };

const opArb: fc.Arbitrary<OpSeed> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mkdir' as const), parent: fc.nat(), name: nameArb }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('write' as const), parent: fc.nat(), name: nameArb, size: sizeArb, seed: fc.nat() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rename' as const), target: fc.nat(), parent: fc.nat(), name: nameArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), target: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('cancelledWrite' as const), parent: fc.nat(), name: nameArb, size: sizeArb, seed: fc.nat() }),
  },
);

const key = (path: string) => path.toUpperCase();
const childPath = (dir: string, name: string) => `${dir === '/' ? '' : dir}/${name}`;

/** A refusal for lack of room (clusters, or slots in a fixed root directory): the model stays as it is. */
function isOutOfRoom(error: unknown): boolean {
  return error instanceof LoopbackError && error.code === 'VALIDATION' && /Not enough free space|is full/.test(error.message);
}

/** Applies one operation to the volume and to the model; checks refusals are the right ones. */
async function apply(volume: FatVolume, model: Tree, op: OpSeed, clusterBytes: number): Promise<void> {
  const dirs = ['/', ...[...model.keys()].filter((p) => model.get(p) === null)];
  const entries = [...model.keys()];
  const existing = (path: string) => [...model.keys()].find((p) => key(p) === key(path));
  switch (op.kind) {
    case 'mkdir': {
      const path = childPath(dirs[op.parent % dirs.length] ?? '/', op.name);
      if (existing(path)) {
        await expect(volume.mkdir(path)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
        return;
      }
      try {
        await volume.mkdir(path);
      } catch (error) {
        if (isOutOfRoom(error)) return;
        throw error;
      }
      model.set(path, null);
      return;
    }
    case 'write': {
      const path = childPath(dirs[op.parent % dirs.length] ?? '/', op.name);
      const length = Math.max(0, op.size.clusters * clusterBytes + op.size.extra);
      const data = patternBytes(length, op.seed);
      const found = existing(path);
      if (found && model.get(found) === null) {
        await expect(volume.writeFile(path, data)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
        return;
      }
      const free = (await volume.usage()).freeBytes;
      try {
        await volume.writeFile(path, data);
      } catch (error) {
        if (!isOutOfRoom(error)) throw error;
        // A lack of space must be real: the new data (plus, at most, a new folder cluster) exceeds the free space.
        if (/Not enough free space/.test((error as Error).message)) {
          expect(Math.ceil(length / clusterBytes) * clusterBytes).toBeGreaterThan(free - clusterBytes);
        }
        return;
      }
      model.set(found ?? path, data); // a replaced file keeps its stored name
      return;
    }
    case 'rename': {
      if (entries.length === 0) return;
      const from = entries[op.target % entries.length] as string;
      const to = childPath(dirs[op.parent % dirs.length] ?? '/', op.name);
      const clash = existing(to);
      if (model.get(from) === null && (key(to) === key(from) || key(to).startsWith(`${key(from)}/`))) {
        if (clash !== from) await expect(volume.rename(from, to)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
        return;
      }
      if (clash && clash !== from) {
        await expect(volume.rename(from, to)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
        return;
      }
      try {
        await volume.rename(from, to);
      } catch (error) {
        if (isOutOfRoom(error)) return;
        throw error;
      }
      for (const [path, data] of [...model]) {
        if (path === from || path.startsWith(`${from}/`)) {
          model.delete(path);
          model.set(to + path.slice(from.length), data);
        }
      }
      return;
    }
    case 'remove': {
      if (entries.length === 0) return;
      const target = entries[op.target % entries.length] as string;
      await volume.remove(target, { recursive: true });
      for (const path of [...model.keys()]) if (path === target || path.startsWith(`${target}/`)) model.delete(path);
      return;
    }
    case 'flush':
      await volume.flush();
      return;
    case 'cancelledWrite': {
      // Cancelled after its data went out (from onProgress): new or replaced, the file stays as it was.
      const path = childPath(dirs[op.parent % dirs.length] ?? '/', op.name);
      const data = patternBytes(Math.max(1, op.size.clusters * clusterBytes + op.size.extra), op.seed);
      const found = existing(path);
      const controller = new AbortController();
      const outcome = await volume
        .writeFile(path, data, { signal: controller.signal, onProgress: () => controller.abort() })
        .catch((e: unknown) => e);
      if (found && model.get(found) === null) expect(outcome).toMatchObject({ code: 'ALREADY_EXISTS' });
      else if (!isOutOfRoom(outcome)) expect(outcome).toMatchObject({ code: 'CANCELLED' });
      return;
    }
  }
}

function checkDisk(image: string, label: string): Record<string, string> {
  const report = fsck(runTool, image);
  expect(report.problems, `${label}\n${report.output}`).toEqual([]);
  expect(report.status).toBe(0);
  return describeTree(extractWithMtools(runTool, fs, join(tmp.dir, `x-${++counter}`), image).tree);
}

describe.skipIf(skip)('random volumes and random trees (fast-check)', () => {
  it('stay fsck.fat-clean and extract byte-exactly with mtools', async () => {
    await fc.assert(
      fc.asyncProperty(volumeArb, fc.array(opArb, { minLength: 5, maxLength: 40 }), async ({ sizeBytes, options }, ops) => {
        const image = join(tmp.dir, `p-${++counter}.img`);
        runToolOk('truncate', ['-s', String(sizeBytes), image]);
        const device = await FileBlockDevice.open(image, { writable: true });
        const model: Tree = new Map();
        // The states the disk may show before the final flush: the last flushed one, or one after
        // a later operation (when space was needed, changes are written out without a flush).
        let onDisk: Array<Record<string, string>> = [describeTree(model)];
        try {
          const formatted = await formatFat(device, options);
          const volume = await openFat(device);
          for (const op of ops) {
            await apply(volume, model, op, formatted.clusterBytes);
            if (op.kind === 'flush') onDisk = [describeTree(model)];
            else onDisk.push(describeTree(model));
          }
          expect(onDisk).toContainEqual(checkDisk(image, 'before the final flush'));
          await volume.flush();
          expect(describeTree(await readWithOurs(volume))).toEqual(describeTree(model));
          if (process.env.FAT_PROPERTY_STATS)
            console.info(
              options.type ?? 'floppy',
              sizeBytes,
              ops.length,
              model.size,
              [...model.values()].filter((d) => d === null).length,
              Math.max(0, ...[...model.keys()].map((p) => p.split('/').length - 1)),
            );
        } finally {
          await device.close();
        }
        expect(checkDisk(image, 'after flush')).toEqual(describeTree(model));
        fs.rmSync(image);
      }),
      // FAT_PROPERTY_RUNS=500 for a longer soak.
      { numRuns: Number(process.env.FAT_PROPERTY_RUNS ?? 25) },
    );
  });
});

describe.skipIf(skip)('random volume sizes formatted with the defaults (fast-check)', () => {
  it('pick the type the cluster count means, and fsck.fat and minfo accept the volume', async () => {
    const sizeArb = fc.oneof(
      fc.constantFrom(368640, 737280, 1228800, 1474560, 2949120),
      fc
        .integer({ min: 16, max: 30 })
        .chain((bits) => fc.integer({ min: 2 ** bits, max: 2 ** (bits + 1) }))
        .map((n) => n - (n % 512)),
    );
    await fc.assert(
      fc.asyncProperty(sizeArb, async (sizeBytes) => {
        const image = join(tmp.dir, `auto-${++counter}.img`);
        runToolOk('truncate', ['-s', String(sizeBytes), image]);
        const device = await FileBlockDevice.open(image, { writable: true });
        const result = await formatFat(device, { label: 'AUTO' }).finally(() => device.close());
        if (result.type === 'fat32') expect(result.clusterCount).toBeGreaterThanOrEqual(65525);
        else expect(fatTypeForClusterCount(result.clusterCount)).toBe(result.type);
        const head = new Uint8Array(512);
        const fd = fs.openSync(image, 'r');
        fs.readSync(fd, head, 0, 512, 0);
        fs.closeSync(fd);
        expect(detectFat(head)).toBe(result.type);
        const report = fsck(runTool, image);
        expect(report.problems, report.output).toEqual([]);
        expect(report.status).toBe(0);
        expect(runToolOk('minfo', ['-i', image]).stdout).toContain(`${result.type.toUpperCase()}`);
        fs.rmSync(image);
      }),
      { numRuns: Number(process.env.FAT_PROPERTY_RUNS ?? 20) },
    );
  });
});
