/**
 * Helpers for the ext2 tests (imported only by *.test.ts, here and in electron/services/fs):
 * reading the output of e2fsprogs' own tools, which the tests run on the images we make.
 */

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
