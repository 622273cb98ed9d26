/**
 * Helpers for the ext2 tests (imported only by *.test.ts): reading the output of e2fsprogs' own
 * tools, which the tests run on the images we make, file contents and refusals.
 */
import { expect } from 'vitest';
import { LoopbackError } from '../../errors';

/** Deterministic bytes for a test file: `seed` tells files apart. */
export function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The LoopbackError `promise` rejects with (fails the test when it resolves or throws something else). */
export async function failure(promise: Promise<unknown>): Promise<LoopbackError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LoopbackError);
  return error as LoopbackError;
}

/** `dumpe2fs -h` as "Field name" → value (e.g. "Block size" → "1024"). */
export function parseDumpe2fs(output: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const match = /^([A-Za-z][A-Za-z0-9 #/_()-]*?):\s+(.*)$/.exec(line);
    if (match) fields[match[1]!] = match[2]!.trim();
  }
  return fields;
}

/**
 * The lines of `e2fsck -fn` output that are neither its pass headings nor its summary: empty
 * when the filesystem is clean. (With -n, any problem prints a question answered "no".)
 */
export function e2fsckProblems(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => !/^Pass [1-5]: /.test(line) && !/^[^:]*: \d+\/\d+ files \(.*\), \d+\/\d+ blocks$/.test(line));
}
