// Runs the app's headless page (headless.html: the engine worker, no UI) in headless Chromium,
// served by Vite from this checkout, with a folder of model files served beside it.
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { chromiumLaunchOptions } from './chromium.ts';
import { serveDirectoryPlugin } from './serve-directory-plugin.ts';

export const MODEL_URL_PREFIX = '/__model/';

export interface HeadlessSession {
  page: Page;
  baseUrl: string;
  close(): Promise<void>;
}

export async function openHeadlessSession(modelDirectory: string, { webgpu = true } = {}): Promise<HeadlessSession> {
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await createServer({
      configFile: 'vite.config.ts',
      logLevel: 'error',
      server: { port: 0, strictPort: false },
      plugins: [serveDirectoryPlugin(MODEL_URL_PREFIX, modelDirectory)],
    });
    await server.listen();
    const baseUrl = server.resolvedUrls?.local[0];
    if (!baseUrl) throw new Error('the Vite server did not report its address');
    browser = await chromium.launch(chromiumLaunchOptions({ webgpu }));
    const page = await browser.newPage();
    page.on('pageerror', (error) => process.stderr.write(`page error: ${error.message}\n`));
    await page.goto(new URL('headless.html', baseUrl).href);
    await page.waitForFunction(() => typeof window.runHeadless === 'function');
    const openedBrowser = browser;
    const openedServer = server;
    return {
      page,
      baseUrl,
      close: async () => {
        await openedBrowser.close();
        await openedServer.close();
      },
    };
  } catch (error) {
    await browser?.close();
    await server?.close();
    throw error;
  }
}
