/**
 * The renderer's size budget, checked on the real build output (out/renderer): what index.html
 * loads before any user action — the entry chunk, its modulepreloads and static imports — stays
 * within 250 kB gzipped, and the big parts that only some screens need are not in it.
 * Sizes only; how fast the window paints is measured by bench/renderer.ts, not asserted here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRendererBundle, RENDERER_DIR } from './support/renderer-bundle';

/** kB as the build's report counts them: 1000 bytes. */
const INITIAL_JS_GZIP_BUDGET = 250 * 1000;

/** Strings each library's code carries, minified or not. */
const XTERM = 'xterm-helper-textarea';
const ZOD = 'ZodError';
const AXE = 'axe-core';

// `npm test` builds before it runs vitest; a bare `vitest run` on a fresh clone has no out/.
describe.skipIf(!existsSync(join(RENDERER_DIR, 'index.html')))('the renderer build (out/renderer, from `npm run build`)', () => {
  const bundle = readRendererBundle();
  const describeChunks = (chunks: { file: string; bytes: number; gzipBytes: number }[]) =>
    chunks.map((c) => `${c.file} ${(c.bytes / 1000).toFixed(1)} kB, ${(c.gzipBytes / 1000).toFixed(1)} kB gzip`).join('; ');

  it(`loads at most ${INITIAL_JS_GZIP_BUDGET / 1000} kB of JavaScript (gzip) before any user action`, () => {
    expect(bundle.initial.length, 'index.html names an entry script').toBeGreaterThan(0);
    expect(bundle.initialGzipBytes, describeChunks(bundle.initial)).toBeLessThanOrEqual(INITIAL_JS_GZIP_BUDGET);
  });

  it('is minified', () => {
    for (const chunk of [...bundle.initial, ...bundle.lazy]) {
      const lines = chunk.code.split('\n').length;
      expect(chunk.bytes / lines, `${chunk.file}: ${lines} lines for ${chunk.bytes} bytes`).toBeGreaterThan(1000);
    }
  });

  it('loads xterm.js only with the QEMU console: in a lazy chunk, not in the initial ones', () => {
    for (const chunk of bundle.initial) expect(chunk.code.includes(XTERM), `${chunk.file} carries xterm.js`).toBe(false);
    // It is still built, where the QEMU panel's dynamic import finds it.
    expect(bundle.lazy.filter((c) => c.code.includes(XTERM)).map((c) => c.file)).toHaveLength(1);
  });

  it('keeps zod (the services validate, not the window) out of the initial chunks', () => {
    for (const chunk of bundle.initial) expect(chunk.code.includes(ZOD), `${chunk.file} carries zod`).toBe(false);
  });

  it('ships no axe-core (the e2e accessibility scan injects it itself)', () => {
    for (const chunk of [...bundle.initial, ...bundle.lazy]) expect(chunk.code.includes(AXE), `${chunk.file} carries axe-core`).toBe(false);
  });

  it('styles the first paint without xterm.js’s stylesheet (it comes with the console)', () => {
    const html = readFileSync(join(RENDERER_DIR, 'index.html'), 'utf8');
    for (const [, href] of html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)) {
      expect(readFileSync(join(RENDERER_DIR, href!), 'utf8')).not.toContain('.xterm-helpers');
    }
  });
});
