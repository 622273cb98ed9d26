/**
 * `loopstudio run` and `build --update` for an ISO recipe (issue 16): an ISO image is never
 * patched in place (its files lie back to back), so every update is a full build into a
 * temporary file beside the image, renamed over it when applied — which takes about as long as
 * an incremental disk rebuild (no filesystem to format; GRUB's images are a fraction of a
 * second). An image newer than the recipe and every source is up to date, as make decides.
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { RunReport } from '../../shared/api/run-plain';
import { LoopbackError } from '../../shared/errors';
import type { Recipe } from '../../shared/recipe/schema';
import { isIsoFile } from './file-block-device';
import { buildRecipe, defaultOutputFor } from './recipes';
import type { PreparedUpdate, UpdateOptions } from './rebuild';
import { replaceImageWith } from './write-guard';

const since = (started: number) => Math.max(0, Math.round(performance.now() - started));

/** Every host file and folder the recipe reads (what `watch` watches). */
export function isoInputs(recipePath: string, recipe: Recipe): string[] {
  const baseDir = dirname(recipePath);
  const host = (path: string) => (isAbsolute(path) ? path : join(baseDir, path));
  const inputs = [recipePath, ...(recipe.files ?? []).map((f) => host(f.from))];
  const bootImage = recipe.bootloader?.bootImage?.file;
  if (bootImage !== undefined) inputs.push(host(bootImage));
  return [...new Set(inputs)];
}

/** The host file of the default menu entry's kernel (gdb's symbols), when a files[] entry copies it there. */
export function isoKernel(recipePath: string, recipe: Recipe): string | null {
  const menu = recipe.bootloader?.menu;
  const kernel = menu?.entries[menu.default]?.kernel;
  if (kernel === undefined) return null;
  const file = (recipe.files ?? []).find((f) => f.to === kernel || (f.to.endsWith('/') && `${f.to}${basename(f.from)}` === kernel));
  return file ? (isAbsolute(file.from) ? file.from : join(dirname(recipePath), file.from)) : null;
}

/** The newest modification time under `path` (a folder's whole tree), or null when it is gone. */
async function newestMtime(path: string): Promise<number | null> {
  const stats = await fs.lstat(path).catch(() => null);
  if (!stats) return null;
  let newest = stats.mtimeMs;
  if (stats.isDirectory()) {
    for (const name of await fs.readdir(path)) newest = Math.max(newest, (await newestMtime(join(path, name))) ?? Infinity);
  }
  return newest;
}

function report(kind: 'none' | 'full', ms: number, reason: string): RunReport {
  const at = new Date().toISOString();
  return kind === 'none'
    ? { at, ms, kind, reason, changes: [], summary: `up to date (${reason})`, short: 'nothing changed' }
    : { at, ms, kind, reason, changes: [], summary: `built in ${ms} ms (${reason})`, short: `full build: ${reason}` };
}

/** prepareUpdate for an ISO recipe (see the file comment). */
export async function prepareIsoUpdate(
  recipePath: string,
  recipe: Recipe,
  options: UpdateOptions,
  started: number,
): Promise<PreparedUpdate> {
  const image = resolve(options.output ?? defaultOutputFor(recipe, recipePath));
  const inputs = isoInputs(recipePath, recipe);
  const kernel = isoKernel(recipePath, recipe);
  const imageStats = await fs.stat(image).catch(() => null);
  if (imageStats && !imageStats.isFile())
    throw new LoopbackError('INVALID_INPUT', `${image} is not a regular file: refusing to replace it`, { path: image });
  const iso = imageStats ? await isIsoFile(image, imageStats.size) : false;
  const unowned = imageStats !== null && !iso;
  if (imageStats && iso && !options.full) {
    let newest = 0;
    for (const input of inputs) newest = Math.max(newest, (await newestMtime(input)) ?? Infinity);
    if (imageStats.mtimeMs > newest) {
      const reason = `${basename(image)} is newer than the recipe and its sources`;
      const ms = since(started);
      return {
        recipe: recipePath,
        image,
        kind: 'none',
        reason,
        unowned: false,
        changes: [],
        kernel,
        inputs,
        discard: async () => {},
        apply: async () => report('none', ms, reason),
      };
    }
  }
  if (unowned && !options.force) {
    throw new LoopbackError(
      'ALREADY_EXISTS',
      `${image} exists and is not an ISO image: pass --force to replace it with the recipe's ISO image`,
      { path: image },
    );
  }
  const reason = options.full
    ? 'a full build was asked for'
    : !imageStats
      ? `${basename(image)} does not exist yet`
      : 'an ISO image is always built anew';
  const temp = join(dirname(image), `.${basename(image)}.next-${process.pid}-${Date.now()}`);
  try {
    await buildRecipe(recipePath, {
      output: temp,
      force: true,
      ...(options.allowOutside ? { allowOutside: options.allowOutside } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  const buildMs = since(started);
  let spent = false;
  return {
    recipe: recipePath,
    image,
    kind: 'full',
    reason,
    unowned,
    changes: [],
    kernel,
    inputs,
    discard: async () => {
      spent = true;
      await fs.rm(temp, { force: true });
    },
    apply: async () => {
      if (spent) throw new LoopbackError('INTERNAL', 'this build was already applied or discarded');
      spent = true;
      const applyStarted = performance.now();
      await replaceImageWith(temp, image);
      return report('full', buildMs + since(applyStarted), reason);
    },
  };
}
