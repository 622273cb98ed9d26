/**
 * What every recipe command needs before it builds anything: reading and parsing the recipe file,
 * the host folders its sources may come from, a source's checked path, and the image it builds by
 * default. Kept apart from recipes.ts (the build) so a rebuild (`build --update`, `run`) loads only
 * this and the filesystems' code.
 */
import { promises as fs, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LoopbackError } from '../../shared/errors';
import { fieldError, parseRecipe, type Recipe } from '../../shared/recipe/schema';

/** Reads and parses a recipe file; INVALID_INPUT for bad JSON or a bad document. */
export async function loadRecipe(path: string): Promise<{ recipe: Recipe; recipePath: string; baseDir: string }> {
  const recipePath = resolve(path);
  let text: string;
  try {
    text = await fs.readFile(recipePath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LoopbackError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'IO',
      `${recipePath}: ${code === 'ENOENT' ? 'no such recipe file' : (error as Error).message}`,
      { path: recipePath },
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new LoopbackError('INVALID_INPUT', `${recipePath} is not valid JSON: ${(error as Error).message}`, { path: recipePath });
  }
  return { recipe: parseRecipe(document), recipePath, baseDir: dirname(recipePath) };
}

export function hostPath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : join(baseDir, path);
}

/**
 * The host folders a recipe may read files from: its own folder, plus what the user allowed
 * (`build --allow-outside PATH`, or the app's confirmation), as real paths (docs/SECURITY.md,
 * rule 11: a recipe from someone else's repository must not copy ~/.ssh into an image).
 */
export async function sourceRoots(baseDir: string, allowOutside: readonly string[] = []): Promise<string[]> {
  const roots: string[] = [];
  for (const path of [baseDir, ...allowOutside]) {
    const real = await fs.realpath(resolve(path)).catch(() => null);
    if (real === null) throw new LoopbackError('NOT_FOUND', `${path}: no such folder to allow a recipe to read from`, { path });
    roots.push(real);
  }
  return roots;
}

export function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/** A recipe's source path, resolved through its links, refused when it leads outside the allowed folders. */
export async function recipeSource(baseDir: string, path: string, roots: readonly string[], field: string): Promise<string> {
  const from = hostPath(baseDir, path);
  const real = await fs.realpath(from).catch(() => null);
  if (real === null) throw fieldError('NOT_FOUND', field, `${from} does not exist`, { path: from });
  if (!roots.some((root) => within(real, root))) {
    throw fieldError(
      'FORBIDDEN',
      field,
      `${from}${real !== from ? ` (really ${real})` : ''} is outside the recipe's folder ${roots[0]}: a recipe copies only files from its own folder, so one from someone else cannot read your other files. ` +
        `If you trust it, allow the folder: loopstudio build … --allow-outside ${dirname(real)}`,
      { path: from },
    );
  }
  return from;
}

/**
 * The image a recipe builds when no output is given: its name with .img beside it, or .iso for an
 * ISO recipe (the file is peeked at; one that cannot be read gets .img, and its build says why).
 */
export function defaultOutput(recipePath: string): string {
  let iso = false;
  try {
    const document = JSON.parse(readFileSync(recipePath, 'utf8')) as { image?: { iso?: unknown } } | null;
    iso = typeof document?.image?.iso === 'object' && document.image.iso !== null;
  } catch {
    // Not there, or not JSON: the build reports it.
  }
  return recipePath.replace(/\.json$/i, '') + (iso ? '.iso' : '.img');
}

/** The output when none is given: the recipe's name with .iso for an ISO recipe, else .img. */
export function defaultOutputFor(recipe: Recipe, recipePath: string): string {
  return recipe.image.iso ? recipePath.replace(/\.json$/i, '') + '.iso' : defaultOutput(recipePath);
}
