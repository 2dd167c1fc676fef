// npm run screenshot [-- --out docs/screenshot.png]
// Remakes the README's screenshot from the built app as a new user first meets it: a fresh
// profile, the built-in demo model loaded by itself, and its reply to a prompt in plain mode with the
// default sampling settings and a fixed seed (42), so the same build gives the same picture.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';
import { setSetting } from '../test/e2e/support/app-page.ts';
import { chromiumLaunchOptions } from './chromium.ts';

const PROMPT = 'In the beginning God';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/screenshot.png' } } });
const outDir = '.cache/screenshot-dist';
await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } });
const server = await preview({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir }, preview: { port: 0, strictPort: false } });
const profile = mkdtempSync(join(tmpdir(), 'gpt2-screenshot-'));
const context = await chromium.launchPersistentContext(profile, { ...chromiumLaunchOptions(), viewport: { width: 1280, height: 800 } });
try {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.resolvedUrls!.local[0]);
  await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
  await setSetting(page, 'settings-framing', 'plain');
  await page.getByTestId('settings-random-seed').uncheck();
  await setSetting(page, 'settings-max-new-tokens', '60');
  await page.getByTestId('prompt').fill(PROMPT);
  await page.getByTestId('prompt').press('Enter');
  await page.getByTestId('reply').waitFor();
  await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
  // The "saved on this device" notice would cover the header; a user dismisses it.
  const offlineNotice = page.getByTestId('offline-ready');
  if (await offlineNotice.isVisible()) await offlineNotice.getByRole('button', { name: 'OK' }).click();
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    scrollTo(0, 0);
  });
  await page.screenshot({ path: values.out });
  console.log(`wrote ${values.out}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  server.httpServer.close();
}
