/**
 * Helpers for the shared/disk tests (imported only by *.test.ts; pure TypeScript, like the code
 * it tests): error assertions, hex dumps, and fast-check generators of MBR layouts. A layout is built by
 * replaying random edits through mbr-edit.ts and keeping those that succeed, so every layout
 * generated is one the app itself could produce: 1–4 primary slots used in any order, maybe an
 * extended partition with logical partitions, any alignment and any CHS geometry.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { ErrorCode } from '../errors';
import { LoopbackError } from '../errors';
import { createMbrLayout, type MbrLayout } from './mbr';
import { addPartition } from './mbr-edit';
import type { PartitionSpec } from './partition-spec';
import { isExtendedType, MBR_TYPE_GPT_PROTECTIVE } from './partition-types';

/** Any type a data partition may have: not empty, not extended, not 0xEE (that makes it a GPT disk). */
const arbitraryType = fc.integer({ min: 1, max: 0xff }).filter((type) => !isExtendedType(type) && type !== MBR_TYPE_GPT_PROTECTIVE);

const arbitrarySize = fc.oneof(
  { weight: 1, arbitrary: fc.constant<'rest'>('rest') },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 1 << 20 }).map((sectors) => ({ sectors })) },
);

interface EditPlan {
  kind: 'primary' | 'extended' | 'logical';
  slot: number | undefined;
  size: PartitionSpec['size'];
  type: number;
  bootable: boolean;
}

const arbitraryEdit: fc.Arbitrary<EditPlan> = fc.record({
  kind: fc.constantFrom<'primary' | 'extended' | 'logical'>('primary', 'primary', 'extended', 'logical', 'logical'),
  slot: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  size: arbitrarySize,
  type: arbitraryType,
  bootable: fc.boolean(),
});

export interface ArbitraryLayoutOptions {
  /** Largest disk in sectors (the sfdisk tests keep images small). Default 2^33 (4 TiB). */
  maxDiskSectors?: number;
}

/** A valid MBR layout with at least one partition. */
export function arbitraryMbrLayout(options: ArbitraryLayoutOptions = {}): fc.Arbitrary<{ layout: MbrLayout; alignment: number }> {
  const maxDiskSectors = options.maxDiskSectors ?? 2 ** 33;
  return fc
    .record({
      diskSectors: fc.oneof(fc.integer({ min: 64, max: 1 << 16 }), fc.integer({ min: 64, max: maxDiskSectors })),
      heads: fc.integer({ min: 1, max: 255 }),
      sectorsPerTrack: fc.integer({ min: 1, max: 63 }),
      diskSignature: fc.integer({ min: 1, max: 0xffffffff }),
      bootCode: fc.uint8Array({ minLength: 440, maxLength: 440 }),
      alignment: fc.constantFrom(1, 63, 2048),
      edits: fc.array(arbitraryEdit, { minLength: 1, maxLength: 12 }),
    })
    .map(({ diskSectors, heads, sectorsPerTrack, diskSignature, bootCode, alignment, edits }) => {
      let layout = createMbrLayout(diskSectors, { geometry: { heads, sectorsPerTrack }, diskSignature, bootCode });
      layout.reserved = 0;
      for (const edit of edits) {
        const spec: PartitionSpec = {
          kind: edit.kind,
          size: edit.size,
          type: edit.kind === 'extended' ? 0x05 : edit.type,
          bootable: edit.bootable,
        };
        if (edit.slot !== undefined && edit.kind !== 'logical') spec.number = edit.slot;
        try {
          layout = addPartition(layout, spec, { alignmentSectors: alignment }).layout;
        } catch (error) {
          // No room, no free slot, no extended partition yet …: skip this edit.
          if (!(error instanceof LoopbackError) || error.code !== 'VALIDATION') throw error;
        }
      }
      return { layout, alignment };
    })
    .filter(({ layout }) => layout.partitions.length > 0);
}

/** Runs `run` and returns the LoopbackError it throws; fails the test for anything else. */
export function loopbackErrorOf(run: () => unknown): LoopbackError {
  try {
    run();
  } catch (error) {
    if (error instanceof LoopbackError) return error;
    throw error;
  }
  throw new Error('expected a LoopbackError, but nothing was thrown');
}

export async function loopbackErrorOfAsync(run: () => Promise<unknown>): Promise<LoopbackError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof LoopbackError) return error;
    throw error;
  }
  throw new Error('expected a LoopbackError, but nothing was thrown');
}

/** Asserts that `run` throws a LoopbackError with this code and message (exact text or pattern). */
export function expectLoopbackError(run: () => unknown, code: ErrorCode, message: string | RegExp): LoopbackError {
  const error = loopbackErrorOf(run);
  expect(error.code).toBe(code);
  if (typeof message === 'string') expect(error.message).toBe(message);
  else expect(error.message).toMatch(message);
  return error;
}

/** Space-separated hex bytes: quick to compare and readable when a test fails. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
