/**
 * Runs a host program from an argument array — never through a shell — and collects its output.
 * The program is looked up in the given folders only; the privileged helper passes the system
 * folders, so a PATH that the user controls can never choose what runs as root.
 */
import { spawn } from 'node:child_process';
import { LoopbackError } from '../../shared/errors';
import { findExecutable, searchPath } from './host-tools';
import type { HostCommand } from './loop/types';

/** Where system programs live on Linux and the BSDs. Root's programs come from here only. */
export const SYSTEM_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export interface CommandRun {
  /** The program as found (absolute) and its arguments: exactly what was executed. */
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Folders to find the program in (default: the user's PATH plus sbin). */
  dirs?: readonly string[];
  /** The child's whole environment (default: ours, with LC_ALL=C so output is parseable). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export async function resolveProgram(program: string, dirs: readonly string[]): Promise<string> {
  const path = program.startsWith('/') ? program : await findExecutable(program, dirs);
  if (!path) {
    throw new LoopbackError('HOST_TOOL_MISSING', `${program} is not installed (looked in ${dirs.join(', ')})`, { tool: program });
  }
  return path;
}

/** Runs `command` to completion. Resolves with its exit status; rejects only if it cannot start. */
export async function runCommand(command: HostCommand, options: RunOptions = {}): Promise<CommandRun> {
  const dirs = options.dirs ?? searchPath();
  const program = await resolveProgram(command.program, dirs);
  const argv = [program, ...command.args];
  return new Promise((resolve, reject) => {
    // stdin is /dev/null: a tool that wants to ask a question (mke2fs "Proceed anyway?") cannot hang.
    const child = spawn(program, command.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? { ...process.env, LC_ALL: 'C' },
      shell: false,
      windowsHide: true,
      timeout: options.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => reject(new LoopbackError('IO', `cannot run ${program}: ${error.message}`, { program })));
    child.on('close', (exitCode, signal) => resolve({ argv, exitCode, signal, stdout, stderr }));
  });
}

/** Like runCommand, but a non-zero exit is an IO error carrying the tool's own message. */
export async function runCommandOk(command: HostCommand, options: RunOptions = {}): Promise<CommandRun> {
  const run = await runCommand(command, options);
  if (run.exitCode !== 0) {
    const said = (run.stderr.trim() || run.stdout.trim()).split('\n').slice(-3).join(' / ');
    throw new LoopbackError(
      'IO',
      `${command.program} ${run.signal ? `was killed (${run.signal})` : `exited ${run.exitCode}`}${said ? `: ${said}` : ''}`,
      {
        argv: run.argv,
        exitCode: run.exitCode,
      },
    );
  }
  return run;
}
