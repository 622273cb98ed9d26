/**
 * Runs `loopstudio` in-process, as a user would from a shell, capturing what it prints. It runs
 * the built CLI (out/cli/main.mjs, what bin/loopstudio.cjs runs; tests/support/global-setup.ts
 * keeps it current), not the sources: the suite tests what users run.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CliIo } from '../../electron/cli/command';

type Run = (argv: readonly string[], io: CliIo) => Promise<number>;

let builtRun: Promise<Run> | null = null;
const loadRun = (): Promise<Run> =>
  (builtRun ??= import(/* @vite-ignore */ pathToFileURL(join(__dirname, '../../out/cli/main.mjs')).href).then(
    (module: { run: Run }) => module.run,
  ));

export interface CliRun {
  code: number;
  stdout: string;
  /** What went to stdout as bytes (`get IMAGE PATH -`); cli() always sets it. */
  stdoutBytes?: Buffer;
  stderr: string;
  json(): any;
}

export async function cli(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const bytes: Buffer[] = [];
  const run = await loadRun();
  const code = await run(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdoutBytes: async (data) => void bytes.push(Buffer.from(data)),
    isTty: false,
  });
  return { code, stdout, stdoutBytes: Buffer.concat(bytes), stderr, json: () => JSON.parse(stdout) };
}

/** Like cli(), but throws with what it printed when the command fails. */
export async function cliOk(...argv: string[]): Promise<CliRun> {
  const result = await cli(...argv);
  if (result.code !== 0) throw new Error(`loopstudio ${argv.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}
