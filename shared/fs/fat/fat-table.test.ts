/**
 * FatTable transactions: whatever a transaction does (allocate, extend, free, set), rollback()
 * puts back every entry, the free count, the hint and the quarantine; commit() keeps them, and
 * takeDirtySectors() names exactly the sectors whose bytes changed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FatTable } from './fat-table';
import type { FatType } from './layout';

const SECTOR = 512;

function table(type: FatType, clusters: number): FatTable {
  const entryBytes = type === 'fat12' ? 1.5 : type === 'fat16' ? 2 : 4;
  const bytes = new Uint8Array(Math.ceil(((clusters + 2) * entryBytes) / SECTOR) * SECTOR);
  const fat = new FatTable(type, bytes, clusters, SECTOR);
  fat.set(0, 0xff8);
  fat.set(1, fat.eocMark);
  fat.takeDirtySectors();
  return fat;
}

type Op =
  | { kind: 'allocate'; count: number }
  | { kind: 'extend'; chain: number; count: number }
  | { kind: 'free'; chain: number }
  | { kind: 'release' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('allocate' as const), count: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('extend' as const), chain: fc.nat(), count: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ kind: fc.constant('free' as const), chain: fc.nat() }),
  fc.record({ kind: fc.constant('release' as const) }),
);

describe('FatTable transactions', () => {
  for (const type of ['fat12', 'fat16', 'fat32'] as const) {
    it(`${type}: rollback undoes any mix of allocations, extensions and frees; commit keeps them (property)`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 12 }), fc.array(op, { maxLength: 12 }), fc.boolean(), (before, during, keep) => {
          const fat = table(type, 300);
          const chains: number[] = [];
          const apply = (o: Op, inTransaction: boolean) => {
            if (o.kind === 'allocate' && o.count <= fat.allocatableClusters) {
              const runs = fat.allocate(o.count);
              chains.push(runs[0]!.start);
            } else if (o.kind === 'extend' && chains.length > 0 && o.count <= fat.allocatableClusters) {
              const first = chains[o.chain % chains.length]!;
              const runs = fat.chainRuns(first);
              const last = runs[runs.length - 1]!;
              fat.extend(last.start + last.length - 1, o.count);
            } else if (o.kind === 'free' && chains.length > 0) {
              const [first] = chains.splice(o.chain % chains.length, 1);
              fat.freeChain(first!);
            } else if (o.kind === 'release' && !inTransaction) {
              fat.releaseQuarantine();
            }
          };
          for (const o of before) apply(o, false);
          fat.takeDirtySectors();
          const saved = fat.bytes.slice();
          const state = { free: fat.freeClusters, allocatable: fat.allocatableClusters, hint: fat.nextFreeHint };
          fat.begin();
          for (const o of during) apply(o, true);
          if (keep) {
            fat.commit();
          } else {
            fat.rollback();
            expect(fat.bytes).toEqual(saved);
            expect({ free: fat.freeClusters, allocatable: fat.allocatableClusters, hint: fat.nextFreeHint }).toEqual(state);
          }
          // The sectors reported dirty cover every byte that differs from before.
          const dirty = new Set(fat.takeDirtySectors());
          for (let i = 0; i < saved.length; i++)
            if (saved[i] !== fat.bytes[i]) expect(dirty.has(Math.floor(i / SECTOR)), `byte ${i}`).toBe(true);
          expect(fat.takeDirtySectors()).toEqual([]);
          // Free count agrees with the entries.
          let free = 0;
          for (let c = 2; c <= fat.maxCluster; c++) if (fat.get(c) === 0) free++;
          expect(fat.freeClusters).toBe(free);
          expect(new FatTable(type, fat.bytes.slice(), 300, SECTOR).freeClusters).toBe(free);
        }),
        { numRuns: 300 },
      );
    });
  }
});
