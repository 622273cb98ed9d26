/**
 * Names read from an image on their way to the host. A directory entry of a crafted or damaged
 * image can hold any bytes — "../../x", "a/b", "", a NUL, terminal escapes — and becomes part of
 * a host path only after `hostNameProblem` finds nothing wrong with it (docs/SECURITY.md, rule 11).
 * Pure: the extraction (electron/services/extract.ts) and the UI use the same rules.
 */

/** Host file names are at most this many bytes (NAME_MAX on Linux and the BSDs). */
export const HOST_NAME_MAX_BYTES = 255;

/** Characters that Windows refuses in names (besides "/", "\" and control characters). */
const WINDOWS_ILLEGAL = '<>:"|?*';
/** Device names Windows opens instead of a file, with or without an extension. */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

const encoder = new TextEncoder();

/** A C0 or C1 control character, or DEL. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `name` (one component, as read from an image) cannot be a file name on the host, or null
 * when it can: empty, "." or "..", a "/" or "\" (a path, not a name), NUL or another control
 * character, longer than the host allows; on Windows also its reserved characters and device
 * names, and a trailing dot or space (which Windows drops, so two names would meet).
 */
export function hostNameProblem(name: string, platform: string = 'posix'): string | null {
  if (name === '') return 'the name is empty';
  if (name === '.' || name === '..') return `"${name}" names a folder itself or its parent`;
  if (name.includes('/')) return 'the name contains "/"';
  if (name.includes('\\')) return 'the name contains "\\"';
  if (name.includes('\0')) return 'the name contains a NUL character';
  const control = CONTROL.exec(name);
  if (control) return `the name contains the control character 0x${control[0].charCodeAt(0).toString(16).padStart(2, '0')}`;
  const bytes = encoder.encode(name).length;
  if (bytes > HOST_NAME_MAX_BYTES) return `the name is ${bytes} bytes long; host file names are at most ${HOST_NAME_MAX_BYTES}`;
  if (platform === 'win32') {
    const illegal = [...name].find((char) => WINDOWS_ILLEGAL.includes(char));
    if (illegal) return `the name contains "${illegal}", which Windows does not allow`;
    if (WINDOWS_RESERVED.test(name)) return `"${name}" is a device name on Windows`;
    if (/[. ]$/.test(name)) return 'the name ends with a dot or a space, which Windows drops';
  }
  return null;
}

/**
 * A name or path from an image as it may be printed: in double quotes, with control characters,
 * quotes and backslashes escaped (\n, \x1b, \u0085 …), so a name cannot move a terminal's cursor,
 * change its colours or forge lines of output.
 */
export function printableName(name: string): string {
  let out = '"';
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (
      (code >= 0x80 && code <= 0x9f) ||
      code === 0x2028 ||
      code === 0x2029 ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069)
    ) {
      // C1 controls, line separators and bidirectional overrides (which reorder what is shown).
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += char;
  }
  return `${out}"`;
}
