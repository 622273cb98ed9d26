/** Runs `loopstudio` in-process, as a user would from a shell, capturing what it prints. */
import { run } from '../../electron/cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function cli(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTty: false });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}

/** Like cli(), but throws with what it printed when the command fails. */
export async function cliOk(...argv: string[]): Promise<CliRun> {
  const result = await cli(...argv);
  if (result.code !== 0) throw new Error(`loopstudio ${argv.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}
