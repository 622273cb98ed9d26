/**
 * Quoting for the commands we *show* ("the equivalent shell lines", "the commands it ran"), so a
 * person can paste them into a POSIX shell. Nothing we run goes through a shell: programs are
 * spawned with argument arrays. (The one command line that does meet a shell — the elevated one
 * handed to sudo-prompt — is built by electron/privileged/command-line.ts, not here.)
 */

/** Characters that never need quoting in a POSIX shell word. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word for a POSIX shell: as is when plain, else in single quotes ('\'' for a quote). */
export function shellQuote(word: string): string {
  if (word !== '' && PLAIN_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line for display: each argument quoted as needed, separated by spaces. */
export function shellLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/**
 * One field of /etc/fstab: fstab(5) separates fields by blanks, so blanks, newlines and the
 * backslash itself are written as octal escapes (\040 for a space), as getmntent(3) reads them.
 */
export function fstabField(value: string): string {
  return value.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** The reverse of fstabField, for /proc/self/mounts and /etc/fstab lines (\040, \011, \012, \134). */
export function unescapeMountField(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
