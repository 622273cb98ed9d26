/**
 * What the built renderer (out/renderer, from `npm run build`) makes a window download before
 * anyone does anything: the entry script index.html names, its modulepreload links, and every
 * chunk those import statically, followed transitively. Chunks reached only through a dynamic
 * import() (the QEMU panel with xterm.js) are the lazy ones. Sizes raw and gzipped (node:zlib at
 * its default level, as a web server would send them).
 *
 * Shared by the budget test (tests/renderer-bundle.test.ts) and the benchmark (bench/renderer.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

export const RENDERER_DIR = resolve(__dirname, '../../out/renderer');

export interface Chunk {
  /** Relative to the renderer folder: "assets/index-AbC123.js". */
  file: string;
  bytes: number;
  gzipBytes: number;
  code: string;
}

export interface RendererBundle {
  /** The entry script first, then what it loads statically. */
  initial: Chunk[];
  /** Every other script in assets/: loaded on demand. */
  lazy: Chunk[];
  initialBytes: number;
  initialGzipBytes: number;
}

function chunk(dir: string, file: string): Chunk {
  const code = readFileSync(join(dir, file), 'utf8');
  return { file, code, bytes: Buffer.byteLength(code), gzipBytes: gzipSync(code).length };
}

/** `src`/`href` of index.html's module scripts and modulepreload links, relative to `dir`. */
function htmlScripts(html: string): string[] {
  const found: string[] = [];
  for (const tag of html.match(/<(script|link)\b[^>]*>/g) ?? []) {
    const isModuleScript = /^<script\b/.test(tag) && /\btype="module"/.test(tag);
    const isPreload = /^<link\b/.test(tag) && /\brel="modulepreload"/.test(tag);
    if (!isModuleScript && !isPreload) continue;
    const url = /\b(?:src|href)="([^"]+)"/.exec(tag)?.[1];
    if (url) found.push(url);
  }
  return found;
}

/**
 * The relative modules a chunk imports statically: `import"./a.js"`, `import{x}from"./a.js"`,
 * `export{x}from"./a.js"`. A dynamic `import("./a.js")` is not one of them.
 */
function staticImports(code: string): string[] {
  const specifiers = new Set<string>();
  for (const match of code.matchAll(/\bimport\s*["'](\.{1,2}\/[^"']+)["']|\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    specifiers.add((match[1] ?? match[2])!);
  }
  return [...specifiers];
}

export function readRendererBundle(dir: string = RENDERER_DIR): RendererBundle {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const seen = new Map<string, Chunk>();
  const visit = (file: string) => {
    const path = normalize(file);
    if (seen.has(path)) return;
    if (relative(dir, resolve(dir, path)).startsWith('..')) throw new Error(`index.html loads ${file}, outside the renderer folder`);
    const loaded = chunk(dir, path);
    seen.set(path, loaded);
    for (const specifier of staticImports(loaded.code)) {
      if (specifier.endsWith('.js')) visit(join(dirname(path), specifier));
    }
  };
  for (const url of htmlScripts(html)) {
    if (/^[a-z]+:|^\/\//i.test(url)) throw new Error(`index.html loads ${url} from elsewhere; the app loads only its own files`);
    visit(url);
  }
  const initial = [...seen.values()];
  const lazy = readdirSync(join(dir, 'assets'))
    .filter((name) => name.endsWith('.js') && !seen.has(join('assets', name)))
    .map((name) => chunk(dir, join('assets', name)));
  return {
    initial,
    lazy,
    initialBytes: initial.reduce((sum, c) => sum + c.bytes, 0),
    initialGzipBytes: initial.reduce((sum, c) => sum + c.gzipBytes, 0),
  };
}
