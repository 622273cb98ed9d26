/**
 * Elevation: the helper through the real sudo-prompt (pkexec left out, see the shim), a dismissed
 * prompt as a cancellation, the helper's output read back, and where the helper is found.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withSudoPromptShim } from '../../tests/support/sudo-prompt-shim';
import { helperLaunch, parseHelperOutput, runPrivileged } from './elevate';

const linuxRoot = process.platform === 'linux' && process.getuid?.() === 0;

describe('elevation', () => {
  it('runs the helper from the sources under tsx here (bundled, it is out/privileged/helper.cjs)', () => {
    const launch = helperLaunch();
    expect(launch.program).toBe(process.execPath);
    expect(launch.args.at(-1)).toMatch(/electron\/privileged\/helper-main\.ts$/);
    expect(existsSync(launch.args.at(-1)!)).toBe(true);
    expect(launch.env).toEqual({});
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
      return result;
    });
    expect(outcome).toMatchObject({ ok: true, elevation: 'sudo-prompt', steps: [{ op: 'sync', ok: true, commands: [{ argv: ['/usr/bin/sync'], exitCode: 0 }] }] });
  });

  it.skipIf(process.platform !== 'linux')('turns a dismissed password prompt into CANCELLED, having run nothing', async () => {
    await withSudoPromptShim('dismiss', async () => {
      await expect(runPrivileged({ version: 1, owner: { uid: 0, gid: 0 }, steps: [{ op: 'sync' }] }, { mode: 'sudo-prompt' })).rejects.toMatchObject({
        code: 'CANCELLED',
        message: 'You did not grant permission: nothing was changed',
      });
    });
  });
});
