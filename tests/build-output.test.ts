import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, cspMetaTag } from '../shared/security/csp';

const OUT = join(__dirname, '../out');
const built = existsSync(join(OUT, 'preload/index.cjs'));

// `npm test` builds before it runs vitest; a bare `vitest run` on a fresh clone has no out/.
describe.skipIf(!built)('the built app (out/, from `npm run build`)', () => {
  it('has a preload that needs nothing but electron (a sandboxed preload can require no more)', () => {
    const preload = readFileSync(join(OUT, 'preload/index.cjs'), 'utf8');
    const required = [...preload.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['electron']));
  });

  it('loads its renderer by relative URLs, so it works from file:// and from the harness', () => {
    const html = readFileSync(join(OUT, 'renderer/index.html'), 'utf8');
    expect(html).toMatch(/src="\.\/assets\/index-[\w-]+\.js"/);
    expect(html).not.toMatch(/(src|href)="\/(?!\/)/);
  });

  it('carries the CSP in a <meta> tag too, the first thing in <head> (frame-ancestors is header-only)', () => {
    const html = readFileSync(join(OUT, 'renderer/index.html'), 'utf8');
    const head = html.slice(html.indexOf('<head>') + '<head>'.length).trimStart();
    expect(head.startsWith(cspMetaTag(contentSecurityPolicy({ meta: true })))).toBe(true);
    expect(contentSecurityPolicy({ meta: true })).not.toContain('frame-ancestors');
  });

  it('keeps the renderer free of Node and Electron', () => {
    const html = readFileSync(join(OUT, 'renderer/index.html'), 'utf8');
    const script = /src="\.\/(assets\/index-[\w-]+\.js)"/.exec(html)![1]!;
    const bundle = readFileSync(join(OUT, 'renderer', script), 'utf8');
    expect(bundle).not.toMatch(/require\(["'](electron|fs|child_process|node:[a-z_]+)["']\)/);
  });
});
