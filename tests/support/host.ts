/**
 * Test helpers for running the real host tools (sfdisk, sgdisk, fsck.fat, e2fsck, mtools, QEMU …)
 * against images the code under test produced. Tests import these; shipped code never does.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SBIN_PATH = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** PATH with the sbin folders added: sfdisk, mkfs.fat and losetup live there on Debian. */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const path = [process.env.PATH ?? '', ...SBIN_PATH].filter(Boolean).join(':');
  return { ...process.env, PATH: path, LC_ALL: 'C', MTOOLS_SKIP_CHECK: '1', ...extra };
}

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name], { env: toolEnv() }).status === 0;
}

export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a host tool with an argument array (no shell) and returns its output. */
export function runTool(
  command: string,
  args: readonly string[],
  options: { input?: string | Buffer; env?: Record<string, string> } = {},
): ToolRun {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    env: toolEnv(options.env),
    input: options.input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like runTool, but throws with the tool's output when it exits non-zero. */
export function runToolOk(
  command: string,
  args: readonly string[],
  options: { input?: string | Buffer; env?: Record<string, string> } = {},
): ToolRun {
  const run = runTool(command, args, options);
  if (run.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${run.status}\n${run.stdout}\n${run.stderr}`);
  }
  return run;
}

/** A fresh temporary folder, removed by the returned cleanup function. */
export function tempDir(prefix = 'loopstudio-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Why a test that needs `tools` cannot run here, or null when all are present. */
export function missingTools(...tools: string[]): string | null {
  const missing = tools.filter((t) => !hasTool(t));
  return missing.length ? `host tool(s) not installed: ${missing.join(', ')}` : null;
}
