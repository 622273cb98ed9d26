/**
 * The renderer's first load, measured on the real build (issue 11): how much JavaScript
 * index.html makes the window load before any user action (raw and gzip, from out/renderer; the
 * budget test tests/renderer-bundle.test.ts holds it to 250 kB gzip), and first contentful
 * paint in Debian's Chromium through the web harness — the median of N cold loads, each in a
 * fresh browser with a fresh profile (the harness sends Cache-Control: no-store).
 *
 *   npm run build && npx tsx bench/renderer.ts [--runs 5] [--renderer DIR] [--json]
 *
 * `--renderer DIR` measures another build of the renderer (e.g. an older one kept aside), served
 * by the same harness. The page paints nothing before React renders the shell, so FCP covers
 * fetching, parsing and running the harness's bridge (window.loopback) and the initial
 * JavaScript. For scale, the same is measured for a page of one line of text from a loopback
 * server of its own: what a fresh browser on this machine needs to paint anything at all. Timings vary on a shared
 * machine (compare with that floor, and run again when it is quiet); the sizes do not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/fixtures';
import { startHarness } from '../e2e/harness/server';
import { readRendererBundle, RENDERER_DIR } from '../tests/support/renderer-bundle';

const option = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(option('runs') ?? 5);
const DIR = resolve(option('renderer') ?? RENDERER_DIR);
const JSON_OUTPUT = process.argv.includes('--json');

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

interface Load {
  /** first-contentful-paint, ms after navigation start. */
  fcpMs: number;
  domContentLoadedMs: number;
}

/** A page of one line of text on its own loopback server: the floor any page pays here. */
async function startFloorServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const html = '<!doctype html><meta charset="utf-8"><title>floor</title><p>Loopback Studio</p>';
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(html),
  );
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((closed) => server.close(() => closed())) };
}

/** One cold load: a new browser on a new profile, the page opened, its paint timing read. */
async function coldLoad(url: string): Promise<Load> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'loopstudio-bench-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1200, height: 760 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url, { waitUntil: 'load' });
    return await page.evaluate(
      () =>
        new Promise<Load>((done, fail) => {
          const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
          const observer = new PerformanceObserver((list) => {
            const fcp = list.getEntriesByName('first-contentful-paint')[0];
            if (!fcp) return;
            observer.disconnect();
            done({ fcpMs: fcp.startTime, domContentLoadedMs: navigation?.domContentLoadedEventEnd ?? NaN });
          });
          observer.observe({ type: 'paint', buffered: true });
          setTimeout(() => fail(new Error('no first-contentful-paint within 10 s')), 10_000);
        }),
    );
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const bundle = readRendererBundle(DIR);
  const harness = await startHarness({ rendererDir: DIR });
  const floor = await startFloorServer();
  const loads: Load[] = [];
  const floors: number[] = [];
  try {
    // Taking turns, so a burst of load on the machine hits both alike.
    for (let run = 0; run < RUNS; run++) {
      loads.push(await coldLoad(harness.url));
      floors.push((await coldLoad(floor.url)).fcpMs);
    }
  } finally {
    await harness.close();
    await floor.close();
  }
  const fcps = loads.map((l) => l.fcpMs);
  const result = {
    renderer: DIR,
    initial: bundle.initial.map(({ file, bytes, gzipBytes }) => ({ file, bytes, gzipBytes })),
    initialBytes: bundle.initialBytes,
    initialGzipBytes: bundle.initialGzipBytes,
    lazy: bundle.lazy.map(({ file, bytes, gzipBytes }) => ({ file, bytes, gzipBytes })),
    fcpMs: { median: median(fcps), min: Math.min(...fcps), max: Math.max(...fcps), runs: fcps },
    domContentLoadedMedianMs: median(loads.map((l) => l.domContentLoadedMs)),
    floorFcpMedianMs: median(floors),
  };
  if (JSON_OUTPUT) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const lines = [
    `renderer: ${DIR}`,
    `initial JS: ${kB(result.initialBytes)} raw, ${kB(result.initialGzipBytes)} gzip (${result.initial.map((c) => c.file).join(', ')})`,
    ...result.lazy.map((c) => `  lazy: ${c.file} ${kB(c.bytes)} raw, ${kB(c.gzipBytes)} gzip`),
    `first contentful paint: median ${result.fcpMs.median.toFixed(0)} ms over ${RUNS} cold loads (min ${result.fcpMs.min.toFixed(0)}, max ${result.fcpMs.max.toFixed(0)}; ${fcps.map((f) => f.toFixed(0)).join(', ')})`,
    `DOMContentLoaded: median ${result.domContentLoadedMedianMs.toFixed(0)} ms`,
    `floor (one line of text, same browser setup): FCP median ${result.floorFcpMedianMs.toFixed(0)} ms`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
