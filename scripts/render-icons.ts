/**
 * `npm run icons`: renders assets/public/icon.svg into the PNG sizes the packages need
 * (assets/icons/NxN.png for Linux, assets/icon.png at 1024 px for macOS and Windows, which
 * electron-builder turns into .icns and .ico). Uses Debian's Chromium, like the e2e tests.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../e2e/fixtures';

const ROOT = join(__dirname, '..');
const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];

async function main(): Promise<void> {
  const svg = readFileSync(join(ROOT, 'assets/public/icon.svg'), 'utf8');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  mkdirSync(join(ROOT, 'assets/icons'), { recursive: true });
  for (const size of SIZES) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(
      `<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg style="display:block;width:${size}px;height:${size}px" `)}</body></html>`,
    );
    await page.screenshot({ path: join(ROOT, `assets/icons/${size}x${size}.png`), omitBackground: true });
  }
  await browser.close();
  copyFileSync(join(ROOT, 'assets/icons/1024x1024.png'), join(ROOT, 'assets/icon.png'));
  process.stdout.write(`wrote ${SIZES.map((s) => `${s}x${s}`).join(', ')} and assets/icon.png\n`);
}

void main();
