// The app is cross-origin isolated, so the CPU backend can share its WASM memory between threads:
// when the preview server sends the COOP/COEP headers, and when the installed app is served by its
// service worker from a host that sends none, online and offline. Each time a model loaded on the
// CPU runs on more than one thread and replies.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseModel, setSetting } from './support/app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

interface PageState {
  isolated: boolean;
  /** Whether the service worker served the page. */
  fromServiceWorker: boolean;
  cores: number;
}

const pageState = (page: Page): Promise<PageState> =>
  page.evaluate(() => ({
    isolated: crossOriginIsolated,
    fromServiceWorker: navigator.serviceWorker.controller !== null,
    cores: navigator.hardwareConcurrency,
  }));

const appState = (page: Page) => page.locator('gpt2-app').getAttribute('model-state');

/** The kernel threads the loaded model runs on, as the model summary says. */
async function cpuThreads(page: Page): Promise<number> {
  await expect.poll(() => appState(page), { timeout: 300_000 }).toBe('ready');
  const backend = (await page.getByTestId('model-backend').textContent()) ?? '';
  const threads = /^CPU \(WASM SIMD\), (\d+) threads?$/.exec(backend)?.[1];
  if (!threads) throw new Error(`the model is not on the CPU: "${backend}"`);
  return Number(threads);
}

async function replyTo(page: Page, prompt: string): Promise<string> {
  const replies = page.getByTestId('reply');
  const before = await replies.count();
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('prompt').press('Enter');
  await expect.poll(() => replies.count()).toBe(before + 1);
  await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
  expect(await page.getByTestId('reply-status').count()).toBe(0);
  return (await replies.last().textContent()) ?? '';
}

/** Opens the app, forces the CPU backend (Automatic would pick WebGPU on a real GPU) and short replies. */
async function openApp(page: Page, server: AppServer): Promise<void> {
  await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}&model=`);
  await page.locator('gpt2-app[ready]').waitFor();
  await setSetting(page, 'settings-backend', 'cpu');
  await setSetting(page, 'settings-max-new-tokens', '6');
}

function multiThreaded(threads: number, { cores }: PageState): void {
  expect(cores, 'this test needs a machine with at least two cores').toBeGreaterThan(1);
  expect(threads).toBeGreaterThan(1);
  expect(threads).toBeLessThanOrEqual(cores);
}

describe('served with the COOP/COEP headers', () => {
  let server: AppServer;
  let session: BrowserSession;
  beforeAll(async () => {
    server = await startAppServer();
    session = await openBrowser();
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });

  it('is isolated on the first visit, and the CPU backend runs on several threads', async () => {
    const page = session.page;
    await openApp(page, server);
    const state = await pageState(page);
    expect(state).toMatchObject({ isolated: true, fromServiceWorker: false });
    await chooseModel(page, 'gpt2');
    multiThreaded(await cpuThreads(page), state);
    expect((await replyTo(page, 'Two threads')).length).toBeGreaterThan(0);
    expect(session.pageErrors).toEqual([]);
  });
});

describe('installed from a host that sends no COOP/COEP headers', () => {
  let server: AppServer;
  let session: BrowserSession;
  beforeAll(async () => {
    server = await startAppServer({ isolationHeaders: false });
    session = await openBrowser();
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });

  it('is isolated once its service worker serves it, online and offline, and runs the CPU backend on several threads', async () => {
    const page = session.page;
    await openApp(page, server);
    // The host alone does not isolate the page: what follows is the service worker's doing.
    expect(await pageState(page)).toMatchObject({ isolated: false, fromServiceWorker: false });
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));

    await page.reload();
    await page.locator('gpt2-app[ready]').waitFor();
    const online = await pageState(page);
    expect(online).toMatchObject({ isolated: true, fromServiceWorker: true });
    await chooseModel(page, 'gpt2');
    multiThreaded(await cpuThreads(page), online);
    expect((await replyTo(page, 'Online')).length).toBeGreaterThan(0);

    await session.context.setOffline(true);
    try {
      // Opened without the first visit's `model=`, the app reopens the model used last.
      await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}`);
      await page.locator('gpt2-app[ready]').waitFor();
      const offline = await pageState(page);
      expect(offline).toMatchObject({ isolated: true, fromServiceWorker: true });
      // The app reopens the model used last, from storage; the kernel threads' scripts and WASM
      // come from the precache.
      multiThreaded(await cpuThreads(page), offline);
      expect((await replyTo(page, 'Offline')).length).toBeGreaterThan(0);
    } finally {
      await session.context.setOffline(false);
    }
    expect(session.pageErrors).toEqual([]);
  });
});
