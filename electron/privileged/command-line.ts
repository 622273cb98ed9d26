/**
 * The one command line handed to sudo-prompt (docs/SECURITY.md, rule 5), built here and nowhere
 * else.
 *
 * On Linux, @vscode/sudo-prompt 9.3 runs, through child_process.exec (an outer, unprivileged
 * /bin/sh):
 *
 *   cd "<cwd>"; "/usr/bin/pkexec" --disable-internal-agent /bin/bash -c "echo SUDOPROMPT; <command>"
 *
 * after replacing every `"` of <command> with `\"` (its EscapeDoubleQuotes). So a word of ours
 * meets three readers, outermost first:
 *   1. sudo-prompt: `"` → `\"`;
 *   2. the outer /bin/sh, inside double quotes: expands `$…` and `` `…` ``, and drops the `\`
 *      before `$`, `` ` ``, `"`, `\` and newline — single quotes do NOT protect anything here;
 *   3. /bin/bash -c, as root: reads the words.
 * quoteForSudoPrompt makes a bash single-quoted word (for reader 3), then escapes `\`, `$` and
 * `` ` `` for reader 2, and leaves `"` to reader 1 (whose `\"` reader 2 turns back into `"`).
 * What we pass is a fixed helper path plus a base64url request, but the quoting holds for any
 * text at all (the tests feed it hostile names through the real shells).
 */
import { LoopbackError } from '../../shared/errors';

/** One word, as bash will read it after sudo-prompt's escaping and the outer shell's expansion. */
export function quoteForSudoPrompt(word: string): string {
  if (word.includes('\0')) throw new LoopbackError('INVALID_INPUT', 'a command-line word cannot contain a NUL byte');
  const bashWord = `'${word.replace(/'/g, `'\\''`)}'`;
  return bashWord.replace(/[\\$`]/g, (c) => `\\${c}`);
}

export interface ElevatedCommand {
  /** Environment assignments for the elevated program (pkexec clears the environment). */
  env?: Record<string, string>;
  argv: readonly string[];
}

/** The command string for sudo-prompt's exec: `NAME='value' … 'program' 'arg' …`. */
export function sudoPromptCommand(command: ElevatedCommand): string {
  if (command.argv.length === 0) throw new LoopbackError('INVALID_INPUT', 'nothing to run');
  const assignments = Object.entries(command.env ?? {}).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new LoopbackError('INVALID_INPUT', `not an environment variable name: ${JSON.stringify(name)}`);
    return `${name}=${quoteForSudoPrompt(value)}`;
  });
  return [...assignments, ...command.argv.map(quoteForSudoPrompt)].join(' ');
}

/**
 * sudo-prompt also writes `cd "<our working folder>";` with only `"` escaped, so a folder name
 * with `$`, a backtick or a backslash would be expanded by the outer shell. Refuse to elevate
 * from such a folder rather than let its name run.
 */
export function unsafeWorkingFolder(cwd: string): string | null {
  return /[$`\\]/.test(cwd)
    ? `the current folder's name (${JSON.stringify(cwd)}) contains $, \` or \\, which sudo-prompt would let the shell expand; start Loopback Studio from another folder`
    : null;
}
