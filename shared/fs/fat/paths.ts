/**
 * Paths inside a filesystem: absolute POSIX paths ("/", "/boot/grub/grub.cfg"), as the
 * FileSystem interface (shared/fs/types.ts) takes them.
 */
import { LoopbackError } from '../../errors';

/**
 * The components of an absolute path: "/a//b/./c/" → ["a", "b", "c"]; ".." steps back (never
 * above "/"). Throws INVALID_INPUT for a relative path.
 */
export function splitPath(path: string): string[] {
  if (!path.startsWith('/')) {
    throw new LoopbackError('INVALID_INPUT', `${JSON.stringify(path)} is not an absolute path inside the volume (it must start with "/")`, {
      path,
    });
  }
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts;
}

/** "/" + parts joined: how paths are named back in messages. */
export function joinPath(parts: readonly string[]): string {
  return `/${parts.join('/')}`;
}
