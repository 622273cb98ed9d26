/**
 * shellLine must give back, through a real POSIX shell, exactly the words it was given: the
 * QEMU line the app shows is pasted into terminals, and file names can hold anything but NUL.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shellLine, shellQuote } from './shell-quote';

/** The words /bin/sh makes of `line`, NUL-separated by printf so none can be confused. */
function wordsFromShell(line: string): string[] {
  const run = spawnSync('/bin/sh', ['-c', `set -- ${line}; printf '%s\\0' "$@"`], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`sh failed on ${line}: ${run.stderr}`);
  return run.stdout.split('\0').slice(0, -1);
}

describe('shellQuote / shellLine', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellQuote('/usr/bin/qemu-system-i386')).toBe('/usr/bin/qemu-system-i386');
    expect(shellQuote('file=/a/b.img,format=raw,if=floppy')).toBe('file=/a/b.img,format=raw,if=floppy');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('my disk.img')).toBe("'my disk.img'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$HOME')).toBe("'$HOME'");
  });

  it('round-trips hostile file names through /bin/sh', () => {
    const words = [
      'qemu',
      '-drive',
      'file=/tmp/a,,b c\'d"$(rm -rf /)`x`\\n.img,format=raw',
      '',
      ' ',
      '\n',
      '*',
      '~',
      'é ü',
      '-',
      '#x',
      'a;b&c|d>e<f',
      '!',
    ];
    expect(wordsFromShell(shellLine(words))).toEqual(words);
  });

  it('round-trips any words without NUL (property)', () => {
    const word = fc.string({ unit: 'binary', maxLength: 12 }).filter((w) => !w.includes('\0'));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 4 }), (words) => {
        expect(wordsFromShell(shellLine(words))).toEqual(words);
      }),
      { numRuns: 60 },
    );
  });
});
