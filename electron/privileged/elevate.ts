/**
 * Runs the privileged helper as root: directly when we already are root, else through
 * @vscode/sudo-prompt (pkexec or kdesudo on Linux) — one prompt per user action, since the
 * steps of an action travel as one batch. "User did not grant permission." is a cancellation.
 *
 * The helper is always its built bundle, out/privileged/helper.cjs (docs/SECURITY.md, "Code that
 * runs as root"): never TypeScript transpiled at run time, never anything from a shared temporary
 * folder. It is run by the same binary as we are — Node, or Electron with ELECTRON_RUN_AS_NODE=1 —
 * and, in the packaged app, from app.asar.unpacked (electron-builder's asarUnpack), since a root
 * process started by pkexec cannot read inside the asar archive. From a checkout that was never
 * built (vitest on the sources), privileged work is refused with "run `npm run build`".
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { LoopbackError } from '../../shared/errors';
import { SYSTEM_DIRS } from '../platform/run';
import { sudoPromptCommand, unsafeWorkingFolder } from './command-line';
import { describeRequest, encodeRequest, type FinalReport, type HelperRequest, type StepReport } from './request';

export interface HelperLaunch {
  program: string;
  /** Arguments before the request. */
  args: string[];
  /** Environment the helper needs (ELECTRON_RUN_AS_NODE for the Electron binary). */
  env: Record<string, string>;
}

/**
 * Where the built helper is, from where this module runs: beside the bundle we are part of
 * (out/main, out/cli → out/privileged), or, running from the sources, in the checkout's out/.
 */
export function helperScriptPath(moduleFile: string = __filename): string {
  const fromSources = moduleFile.endsWith('.ts');
  const script = resolve(dirname(moduleFile), fromSources ? '../../out/privileged/helper.cjs' : '../privileged/helper.cjs');
  return script.replace(`${sep}app.asar${sep}`, `${sep}app.asar.unpacked${sep}`);
}

/**
 * Refuses a helper that is missing, or that another user could have put there or changed: root
 * runs this file, so it and its folder must belong to root or to the user we act for, and must
 * not be world-writable (a file another user controls is the /tmp/tsx-0 hole again). Checked
 * before anything is elevated.
 */
export function checkHelperScript(script: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!existsSync(script)) {
    throw new LoopbackError('HOST_TOOL_MISSING', `the privileged helper is not built (${script} is missing): run \`npm run build\` first`);
  }
  const owners = new Set([0, process.getuid?.() ?? 0, ...['SUDO_UID', 'PKEXEC_UID'].map((name) => Number(env[name] ?? 0))]);
  for (const path of [script, dirname(script)]) {
    const { mode, uid } = statSync(path);
    const problem = !owners.has(uid) ? `belongs to another user (uid ${uid})` : mode & 0o002 ? 'is writable by every user' : null;
    if (problem) {
      throw new LoopbackError(
        'FORBIDDEN',
        `refusing to run ${script} as root: ${path} ${problem}; reinstall Loopback Studio, or \`chown\`/\`chmod o-w\` it`,
      );
    }
  }
}

/** How to start the helper from where this module runs (see the header). */
export function helperLaunch(): HelperLaunch {
  const script = helperScriptPath();
  checkHelperScript(script);
  return { program: process.execPath, args: [script], env: process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {} };
}

/**
 * The helper's whole environment when we start it ourselves (already root): nothing of ours
 * leaks into a root process — no NODE_OPTIONS (`--require` anything), no PATH, no LD_*. pkexec
 * clears the environment the same way on the sudo-prompt path. The invoking user's id (sudo's)
 * goes along, digits only, so mounts can be handed to that user.
 */
export function helperEnvironment(launchEnv: Record<string, string>, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const fixed: Record<string, string> = { PATH: SYSTEM_DIRS.join(':'), LC_ALL: 'C' };
  for (const name of ['SUDO_UID', 'PKEXEC_UID'] as const) {
    const value = env[name];
    if (value !== undefined && /^\d+$/.test(value)) fixed[name] = value;
  }
  return { ...fixed, ...launchEnv };
}

export interface HelperOutcome {
  ok: boolean;
  /** One report per step that ran, in order (rollbacks included, marked). */
  steps: StepReport[];
  final: FinalReport;
  /** How the helper was started. */
  elevation: 'root' | 'sudo-prompt';
}

/** sudo-prompt's exec, or a stand-in with the same contract (tests). */
export type SudoExec = (
  command: string,
  options: { name: string },
  callback: (error?: Error, stdout?: string | Buffer, stderr?: string | Buffer) => void,
) => void;

export interface ElevateOptions {
  /** 'auto': direct when root, sudo-prompt otherwise. */
  mode?: 'auto' | 'direct' | 'sudo-prompt';
  sudoExec?: SudoExec;
  launch?: HelperLaunch;
}

export const PERMISSION_DENIED = 'User did not grant permission.';
const NO_POLKIT_AGENT = 'No polkit authentication agent found.';

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Whether privileged actions can run here, and how. */
export function elevationAvailable(): 'root' | 'prompt' | 'unavailable' {
  if (isRoot()) return 'root';
  return process.platform === 'linux' ? 'prompt' : 'unavailable';
}

/** Reads the helper's JSON lines; anything else on stdout (there should be nothing) is ignored. */
export function parseHelperOutput(stdout: string): { steps: StepReport[]; final: FinalReport | null } {
  const steps: StepReport[] = [];
  let final: FinalReport | null = null;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    if (parsed && typeof parsed === 'object' && 'done' in parsed) final = parsed as FinalReport;
    else if (parsed && typeof parsed === 'object' && 'op' in parsed) steps.push(parsed as StepReport);
  }
  return { steps, final };
}

function outcomeOf(stdout: string, stderr: string, elevation: HelperOutcome['elevation']): HelperOutcome {
  const { steps, final } = parseHelperOutput(stdout);
  if (!final) {
    throw new LoopbackError(
      'IO',
      `the privileged helper ended without a result${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`,
      { steps },
    );
  }
  return { ok: final.ok, steps, final, elevation };
}

/** The helper's arguments: what it will do in words (shown on the prompt), then the request. */
type HelperWords = [summary: string, encoded: string];

function runDirect(launch: HelperLaunch, words: HelperWords): Promise<HelperOutcome> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(launch.program, [...launch.args, ...words], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: helperEnvironment(launch.env),
      shell: false,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => reject(new LoopbackError('IO', `cannot start the privileged helper: ${error.message}`)));
    child.on('close', () => {
      try {
        resolvePromise(outcomeOf(stdout, stderr, 'root'));
      } catch (error) {
        reject(error);
      }
    });
  });
}

async function defaultSudoExec(): Promise<SudoExec> {
  const sudo = (await import('@vscode/sudo-prompt')) as unknown as { exec?: SudoExec; default?: { exec: SudoExec } };
  return (sudo.exec ?? sudo.default!.exec) as SudoExec;
}

async function runThroughSudoPrompt(launch: HelperLaunch, words: HelperWords, sudoExec?: SudoExec): Promise<HelperOutcome> {
  const cwdProblem = unsafeWorkingFolder(process.cwd());
  if (cwdProblem) throw new LoopbackError('FORBIDDEN', cwdProblem);
  const command = sudoPromptCommand({ env: launch.env, argv: [launch.program, ...launch.args, ...words] });
  const exec = sudoExec ?? (await defaultSudoExec());
  return new Promise((resolvePromise, reject) => {
    exec(command, { name: 'Loopback Studio' }, (error, stdout, stderr) => {
      const out = String(stdout ?? '');
      const err = String(stderr ?? '');
      if (error && error.message === PERMISSION_DENIED) {
        reject(new LoopbackError('CANCELLED', 'You did not grant permission: nothing was changed'));
        return;
      }
      if (error && error.message === NO_POLKIT_AGENT) {
        reject(
          new LoopbackError(
            'FORBIDDEN',
            'No polkit authentication agent is running, so the password prompt cannot appear; run loopstudio as root (sudo) instead',
          ),
        );
        return;
      }
      try {
        // A helper that ran but reported a failed step exits non-zero: its lines still say what happened.
        resolvePromise(outcomeOf(out, err || (error?.message ?? ''), 'sudo-prompt'));
      } catch (parseError) {
        reject(error ? new LoopbackError('IO', `the privileged helper failed: ${error.message}`) : parseError);
      }
    });
  });
}

/** Runs a request as root and returns every step's report. Throws CANCELLED when the user says no. */
export async function runPrivileged(request: HelperRequest, options: ElevateOptions = {}): Promise<HelperOutcome> {
  const launch = options.launch ?? helperLaunch();
  const words: HelperWords = [describeRequest(request), encodeRequest(request)];
  const mode = options.mode ?? 'auto';
  if (mode === 'direct' || (mode === 'auto' && isRoot())) return runDirect(launch, words);
  if (mode === 'auto' && process.platform !== 'linux') {
    // sudo-prompt knows pkexec (Linux), osascript (macOS) and Windows' UAC — not the BSDs.
    throw new LoopbackError('FORBIDDEN', `The loop engine needs root here: run loopstudio as root (doas or sudo) on ${process.platform}`);
  }
  return runThroughSudoPrompt(launch, words, options.sudoExec);
}
