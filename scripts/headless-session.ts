// Runs one of the app's headless pages (headless.html for `npm run logits`, bench.html for
// `npm run bench`: the engine worker, no UI) in headless Chromium, served by Vite from this
// checkout, with a folder of model files served beside it. Vite's config sends the app's
// cross-origin isolation headers, so the pages may share memory between threads, as the CPU
// backend's kernel threads need. The browser has a profile on disk, as a user's has: without one
// (an incognito context) Chromium keeps the origin's storage in memory, where OPFS reads ~8× slower.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { chromiumLaunchOptions } from './chromium.ts';
import { serveDirectoryPlugin } from './serve-directory-plugin.ts';

export const MODEL_URL_PREFIX = '/__model/';

export interface HeadlessSession {
  page: Page;
  baseUrl: string;
  close(): Promise<void>;
}

export interface HeadlessPage {
  path: string; // relative to the server root
  ready: string; // the global function the page defines once it is loaded
}

export const LOGITS_PAGE: HeadlessPage = { path: 'headless.html', ready: 'runHeadless' };

export async function openHeadlessSession(modelDirectory: string,
  { webgpu = true, page: headlessPage = LOGITS_PAGE } = {}): Promise<HeadlessSession> {
  let server: ViteDevServer | undefined;
  let browser: BrowserContext | undefined;
  const profile = mkdtempSync(join(tmpdir(), 'gpt2-headless-'));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  try {
    server = await createServer({
      configFile: 'vite.config.ts',
      logLevel: 'error',
      // No file watching and no hot reload: an edit elsewhere in the checkout must not reload the
      // page in the middle of a run (the benchmark takes minutes).
      server: { port: 0, strictPort: false, hmr: false, watch: null },
      plugins: [serveDirectoryPlugin(MODEL_URL_PREFIX, modelDirectory)],
    });
    await server.listen();
    const baseUrl = server.resolvedUrls?.local[0];
    if (!baseUrl) throw new Error('the Vite server did not report its address');
    browser = await chromium.launchPersistentContext(profile, chromiumLaunchOptions({ webgpu }));
    const page = browser.pages()[0] ?? await browser.newPage();
    page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`));
    await page.goto(new URL(headlessPage.path, baseUrl).href);
    await page.waitForFunction((ready) => typeof (window as unknown as Record<string, unknown>)[ready] === 'function', headlessPage.ready);
    const openedBrowser = browser;
    const openedServer = server;
    return {
      page,
      baseUrl,
      close: async () => {
        await openedBrowser.close();
        await openedServer.close();
        removeProfile();
      },
    };
  } catch (error) {
    await browser?.close();
    await server?.close();
    removeProfile();
    throw error;
  }
}
