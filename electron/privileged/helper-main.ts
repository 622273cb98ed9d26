/**
 * The privileged helper's process entry point, run as root:
 *
 *   helper SUMMARY REQUEST   SUMMARY = what it will do, in words (request.ts describeRequest), shown
 *                            on the password prompt and checked against the request;
 *                            REQUEST = base64url(JSON of request.ts's schema)
 *
 * How it is started (elevate.ts builds this):
 * - packaged app: the Electron binary as Node — `ELECTRON_RUN_AS_NODE=1 <app> <resources>/
 *   app.asar.unpacked/out/privileged/helper.cjs REQUEST` (electron-builder unpacks out/privileged);
 * - built tree (`npm run build`): `node out/privileged/helper.cjs REQUEST`;
 * - sources (the CLI through tsx, the tests): `node --require <tsx>/cjs electron/privileged/helper-main.ts REQUEST`.
 * Through sudo-prompt (pkexec) when the user is not root; directly when already root.
 *
 * Prints one JSON line per step and a final {"done":true,…} line. Exit status: 0 all steps done,
 * 1 a step failed (see the lines), 2 the request was refused as a whole.
 */
import { ZodError } from 'zod';
import { LoopbackError } from '../../shared/errors';
import { currentLoopBackend } from '../platform/loop/index';
import { runCommand, SYSTEM_DIRS } from '../platform/run';
import { BsdInspector, LinuxInspector } from './checks';
import { runRequest } from './helper';
import { decodeRequest, describeRequest, type FinalReport, type StepReport } from './request';

const emit = (line: StepReport | FinalReport): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

// If the app dies while we run (its end of the pipe closes), finish the batch anyway: a half-done
// batch is harder to recover than a whole one, and the journal already records the intent.
process.stdout.on('error', () => {});

function refuse(code: string, message: string): number {
  emit({ done: true, ok: false, error: { code, message } });
  return 2;
}

/** The unprivileged user behind pkexec or sudo, if any. */
function invokerUid(env: NodeJS.ProcessEnv): number | null {
  const text = env.PKEXEC_UID ?? env.SUDO_UID;
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length !== 2)
    return refuse('INVALID_INPUT', 'usage: helper SUMMARY REQUEST (what it does in words, then the base64url-encoded request)');
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return refuse('FORBIDDEN', 'the helper must run as root');
  let request;
  try {
    request = decodeRequest(argv[1]!);
  } catch (error) {
    const detail =
      error instanceof ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message;
    return refuse('INVALID_INPUT', `request refused: ${detail}`);
  }
  // The user approved the words on the prompt: run nothing else (docs/SECURITY.md, rule 5).
  if (argv[0] !== describeRequest(request))
    return refuse('INVALID_INPUT', 'request refused: its description on the command line does not match what it asks for');
  // Files we create (none but mount points' contents) get sane modes whatever umask we inherited.
  process.umask(0o022);
  // A minimal, fixed environment for everything we run: no user-controlled PATH, LD_*, IFS …
  const childEnv = { PATH: SYSTEM_DIRS.join(':'), LC_ALL: 'C' };
  const run = (command: { program: string; args: string[] }) => runCommand(command, { dirs: SYSTEM_DIRS, env: childEnv });
  const backend = currentLoopBackend();
  const inspector =
    backend.system === 'linux'
      ? new LinuxInspector()
      : new BsdInspector(backend, async (command) => {
          const result = await run(command);
          if (result.exitCode !== 0) throw new LoopbackError('IO', `${command.program} failed: ${result.stderr.trim()}`);
          return result.stdout;
        });
  const ok = await runRequest(request, {
    backend,
    inspector,
    run,
    invokerUid: invokerUid(process.env),
    groupsOf: async (uid) => {
      const result = await run({ program: 'id', args: ['-G', String(uid)] });
      return result.exitCode === 0 ? result.stdout.trim().split(/\s+/).map(Number) : [];
    },
    emit,
  });
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = refuse('INTERNAL', `helper failed: ${(error as Error)?.stack ?? String(error)}`);
  },
);
