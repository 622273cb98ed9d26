/**
 * The one command line handed to sudo-prompt, run through the real sudo-prompt Linux path and the
 * real shells (outer /bin/sh, inner /bin/bash): every word arrives byte for byte, and nothing in a
 * hostile name is ever executed.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sudoPromptExec, withSudoPromptShim } from '../../tests/support/sudo-prompt-shim';
import { quoteForSudoPrompt, sudoPromptCommand, unsafeWorkingFolder } from './command-line';

const linuxRoot = process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/bin/bash') && existsSync('/usr/bin/printf');

/** Runs `command` the way sudo-prompt does and returns what it printed (its SUDOPROMPT marker removed). */
async function throughSudoPrompt(command: string): Promise<string> {
  const exec = await sudoPromptExec();
  return withSudoPromptShim(
    'grant',
    () =>
      new Promise<string>((resolve, reject) =>
        exec(command, { name: 'Loopback Studio' }, (error, stdout) => (error ? reject(error) : resolve(String(stdout)))),
      ),
  );
}

const printfArgs = (words: readonly string[]) => sudoPromptCommand({ argv: ['/usr/bin/printf', '%s\\0', ...words] });
const joined = (words: readonly string[]) => words.map((w) => `${w}\0`).join('');

describe('quoteForSudoPrompt (pure)', () => {
  it('makes a bash single-quoted word, escaping what the outer double quotes would interpret', () => {
    expect(quoteForSudoPrompt('plain')).toBe("'plain'");
    expect(quoteForSudoPrompt("it's")).toBe("'it'\\\\''s'");
    expect(quoteForSudoPrompt('$(x) `y` \\z')).toBe("'\\$(x) \\`y\\` \\\\z'");
    // `"` is left to sudo-prompt, which turns it into \" (and the outer shell back into ").
    expect(quoteForSudoPrompt('"')).toBe(`'"'`);
    expect(() => quoteForSudoPrompt('a\0b')).toThrow(/NUL/);
  });

  it('refuses odd environment names, and empty commands', () => {
    expect(() => sudoPromptCommand({ argv: ['/bin/true'], env: { 'A;B': '1' } })).toThrow(/environment variable/);
    expect(() => sudoPromptCommand({ argv: [] })).toThrow(/nothing to run/);
  });

  it('will not elevate from a folder whose name sudo-prompt would let the shell expand', () => {
    expect(unsafeWorkingFolder('/home/me/os dev')).toBeNull();
    expect(unsafeWorkingFolder('/home/me/"quoted"')).toBeNull();
    for (const bad of ['/tmp/$(reboot)', '/tmp/`id`', '/tmp/back\\slash'])
      expect(unsafeWorkingFolder(bad)).toMatch(/start Loopback Studio from another folder/);
  });

  it('matches the sudo-prompt this project installs (the three readers it is written for)', () => {
    // If sudo-prompt changes how it builds the Linux command, this quoting must be revisited.
    const source = readFileSync(join(__dirname, '../../node_modules/@vscode/sudo-prompt/index.js'), 'utf8');
    expect(source).toContain(`return string.replace(/"/g, '\\\\"');`);
    expect(source).toContain(`'/bin/bash -c "echo ' + EscapeDoubleQuotes(magic.trim()) + '; ' +`);
    expect(source).toContain('EscapeDoubleQuotes(instance.command) +');
    expect(source).toContain(`command.push('cd "' + EscapeDoubleQuotes(Node.process.cwd()) + '";');`);
    expect(source).toContain("Node.child.exec(command, { encoding: 'utf-8', maxBuffer: MAX_BUFFER },");
    expect(source).toContain("var PERMISSION_DENIED = 'User did not grant permission.';");
  });
});

describe.skipIf(!linuxRoot)('through the real sudo-prompt and the real shells (as root, pkexec left out)', () => {
  it('delivers hostile words byte for byte and runs none of them', async () => {
    const marker = `/tmp/loopstudio-pwned-${randomUUID()}`;
    const words = [
      `$(touch ${marker}) 'q"x\`.img`,
      `\`touch ${marker}\``,
      '${IFS}$HOME "$0" \\$ \\\\ \\" \\`',
      'new\nline\ttab',
      'ünïcødé 日本語 😀',
      '--leading-dash.img',
      "'; touch /tmp/x; '",
      '',
      '\\',
      '"',
      "'",
    ];
    expect(await throughSudoPrompt(printfArgs(words))).toBe(joined(words));
    expect(existsSync(marker)).toBe(false);
  });

  it('delivers any text at all (property: 60 random hostile argument lists)', async () => {
    const hostile = fc.constantFrom(
      '$',
      '`',
      '\\',
      '"',
      "'",
      '\n',
      '\t',
      ' ',
      '(',
      ')',
      ';',
      '&',
      '|',
      '*',
      '?',
      '~',
      '!',
      '#',
      '{',
      '}',
      '<',
      '>',
      '%',
      'a',
      'é',
      '日',
      '😀',
    );
    const word = fc.oneof(fc.string({ unit: hostile, maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(fc.array(word, { minLength: 1, maxLength: 5 }), async (words) => {
        expect(await throughSudoPrompt(printfArgs(words))).toBe(joined(words));
      }),
      { numRuns: 60 },
    );
  });

  it('sets the environment the helper needs inside the elevated shell (pkexec clears the outer one)', async () => {
    const out = await throughSudoPrompt(
      sudoPromptCommand({ env: { ELECTRON_RUN_AS_NODE: '1', ODD: "it's $HOME `x`" }, argv: ['/usr/bin/env'] }),
    );
    expect(out.split('\n')).toEqual(expect.arrayContaining(['ELECTRON_RUN_AS_NODE=1', "ODD=it's $HOME `x`"]));
  });
});
