/**
 * Runs the real @vscode/sudo-prompt (its Linux code path, unmodified) without pkexec: sudo-prompt
 * looks for /usr/bin/pkexec with fs.stat and runs, through child_process.exec (/bin/sh):
 *
 *   cd "<cwd>"; "/usr/bin/pkexec" --disable-internal-agent /bin/bash -c "echo SUDOPROMPT; <command>"
 *
 * The shim answers that stat and, in the string sudo-prompt built, replaces only the pkexec part:
 * with nothing (the user "granted": bash runs as root, since the tests are root) or with
 * /bin/false (the user "dismissed the dialog": no SUDOPROMPT marker, so sudo-prompt reports
 * "User did not grant permission."). Everything else — sudo-prompt's escaping, the outer shell's
 * expansion, bash's parsing — is the real thing.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const childProcess = require('node:child_process') as typeof import('node:child_process');
const fs = require('node:fs') as typeof import('node:fs');

const PKEXEC = '/usr/bin/pkexec';
const PKEXEC_PREFIX = `"${PKEXEC}" --disable-internal-agent `;

export interface ShimRun {
  /** The exact strings sudo-prompt handed to /bin/sh. */
  shellCommands: string[];
}

/** Installs the shim, runs `work`, and removes the shim again. */
export async function withSudoPromptShim<T>(mode: 'grant' | 'dismiss', work: (run: ShimRun) => Promise<T>): Promise<T> {
  const originalStat = fs.stat;
  const originalExec = childProcess.exec;
  const run: ShimRun = { shellCommands: [] };
  (fs as { stat: unknown }).stat = function stat(path: unknown, ...rest: unknown[]) {
    const callback = rest[rest.length - 1] as (error: NodeJS.ErrnoException | null, stats?: unknown) => void;
    if (path === PKEXEC) return process.nextTick(() => callback(null, {}));
    if (path === '/usr/bin/kdesudo') return process.nextTick(() => callback(Object.assign(new Error('ENOENT'), { code: 'ENOENT' })));
    return (originalStat as (...args: unknown[]) => void).call(fs, path, ...rest);
  };
  (childProcess as { exec: unknown }).exec = function exec(command: string, ...rest: unknown[]) {
    if (typeof command === 'string' && command.includes(PKEXEC_PREFIX)) {
      run.shellCommands.push(command);
      command = command.replace(PKEXEC_PREFIX, mode === 'grant' ? '' : '/bin/false ');
    }
    return (originalExec as (...args: unknown[]) => unknown).call(childProcess, command, ...rest);
  };
  try {
    return await work(run);
  } finally {
    (fs as { stat: unknown }).stat = originalStat;
    (childProcess as { exec: unknown }).exec = originalExec;
  }
}

/** sudo-prompt's exec, loaded the way the app loads it. */
export async function sudoPromptExec(): Promise<
  (
    command: string,
    options: { name: string },
    callback: (error?: Error, stdout?: string | Buffer, stderr?: string | Buffer) => void,
  ) => void
> {
  const sudo = require('@vscode/sudo-prompt') as { exec: never };
  return sudo.exec;
}
