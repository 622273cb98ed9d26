/**
 * Elevation: the helper through the real sudo-prompt (pkexec left out, see the shim), a dismissed
 * prompt as a cancellation, the helper's output read back, and where the helper is found.
 */
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withSudoPromptShim } from '../../tests/support/sudo-prompt-shim';
import { checkHelperScript, helperEnvironment, helperLaunch, helperScriptPath, parseHelperOutput, runPrivileged } from './elevate';

const ROOT = resolve(__dirname, '../..');

function catchError(action: () => void): Error & { code?: string } {
  try {
    action();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected an error');
}

const linuxRoot = process.platform === 'linux' && process.getuid?.() === 0;

describe('elevation', () => {
  it('runs the built helper, never TypeScript, from the sources as from every bundle', () => {
    const launch = helperLaunch();
    expect(launch.program).toBe(process.execPath);
    expect(launch.args).toEqual([join(ROOT, 'out/privileged/helper.cjs')]);
    expect(existsSync(launch.args[0]!)).toBe(true);
    expect(launch.env).toEqual({});
    // The CLI's chunks and the app's main bundle find it beside them; the packaged app unpacked.
    expect(helperScriptPath('/opt/ls/out/cli/chunk-ABC.mjs')).toBe('/opt/ls/out/privileged/helper.cjs');
    expect(helperScriptPath('/opt/ls/resources/app.asar/out/main/index.js')).toBe(
      '/opt/ls/resources/app.asar.unpacked/out/privileged/helper.cjs',
    );
  });

  it('refuses privileged work with "run npm run build" when the helper was never built', () => {
    const error = catchError(() => checkHelperScript('/nonexistent/out/privileged/helper.cjs'));
    expect(error).toMatchObject({ code: 'HOST_TOOL_MISSING' });
    expect(error.message).toContain('npm run build');
  });

  it('refuses a helper that every user can write, or that another user owns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'helper-check-'));
    try {
      const script = join(dir, 'helper.cjs');
      writeFileSync(script, '// helper\n');
      chmodSync(dir, 0o755);
      chmodSync(script, 0o644);
      expect(() => checkHelperScript(script)).not.toThrow();
      chmodSync(script, 0o666);
      expect(catchError(() => checkHelperScript(script)).message).toMatch(/writable by every user/);
      chmodSync(script, 0o644);
      chmodSync(dir, 0o777);
      expect(catchError(() => checkHelperScript(script)).message).toMatch(/writable by every user/);
      chmodSync(dir, 0o755);
      if (process.getuid?.() === 0) {
        // The /tmp/tsx-0 attack: a file that another local user put there.
        chownSync(script, 4242, 4242);
        expect(catchError(() => checkHelperScript(script, {}))).toMatchObject({
          code: 'FORBIDDEN',
          message: expect.stringMatching(/another user \(uid 4242\)/),
        });
        expect(() => checkHelperScript(script, { SUDO_UID: '4242' })).not.toThrow();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts the helper with a fixed environment: nothing like NODE_OPTIONS reaches root', () => {
    const env = helperEnvironment(
      { ELECTRON_RUN_AS_NODE: '1' },
      { NODE_OPTIONS: '--require /tmp/evil.js', LD_PRELOAD: '/tmp/x.so', PATH: '/tmp/bin', SUDO_UID: '1000', PKEXEC_UID: '1000; rm -rf /' },
    );
    expect(env).toEqual({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LC_ALL: 'C',
      SUDO_UID: '1000',
      ELECTRON_RUN_AS_NODE: '1',
    });
  });

  it("reads the helper's lines, ignoring anything else", () => {
    const stdout = [
      'noise',
      '{"step":0,"op":"attach","ok":true,"commands":[{"argv":["/usr/sbin/losetup"],"exitCode":0}],"device":"/dev/loop0"}',
      '{"done":true,"ok":true}',
      '{broken',
    ].join('\n');
    expect(parseHelperOutput(stdout)).toEqual({
      steps: [{ step: 0, op: 'attach', ok: true, commands: [{ argv: ['/usr/sbin/losetup'], exitCode: 0 }], device: '/dev/loop0' }],
      final: { done: true, ok: true },
    });
  });

  it.skipIf(!linuxRoot)('runs a batch through sudo-prompt when asked to, with the request as one base64url word', async () => {
    const outcome = await withSudoPromptShim('grant', async (shim) => {
      const result = await runPrivileged({ version: 1, owner: { uid: 0, gid: 0 }, steps: [{ op: 'sync' }] }, { mode: 'sudo-prompt' });
      // What sudo-prompt handed to /bin/sh: our quoted words, the last one the request.
      expect(shim.shellCommands).toHaveLength(1);
      expect(shim.shellCommands[0]).toMatch(/ '[A-Za-z0-9_-]+'"$/);
      // …and before it, what the prompt shows the user they are approving, in words.
      expect(shim.shellCommands[0]).toContain("'Loopback Studio, as root: 1. sync'");
      return result;
    });
    expect(outcome).toMatchObject({
      ok: true,
      elevation: 'sudo-prompt',
      steps: [{ op: 'sync', ok: true, commands: [{ argv: ['/usr/bin/sync'], exitCode: 0 }] }],
    });
  });

  it.skipIf(process.platform !== 'linux')('turns a dismissed password prompt into CANCELLED, having run nothing', async () => {
    await withSudoPromptShim('dismiss', async () => {
      await expect(
        runPrivileged({ version: 1, owner: { uid: 0, gid: 0 }, steps: [{ op: 'sync' }] }, { mode: 'sudo-prompt' }),
      ).rejects.toMatchObject({
        code: 'CANCELLED',
        message: 'You did not grant permission: nothing was changed',
      });
    });
  });
});
