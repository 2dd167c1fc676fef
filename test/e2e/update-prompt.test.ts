// A new release of the installed app, as a user meets it: the page runs under the service worker of
// the first build; the server then serves a second build, whose precache manifest differs; on the
// next visit the app says a new version is ready, and only once the user accepts does the page
// switch to it. Two real `vite build`s served by `vite preview` at one origin, in real Chromium.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

const OUT_DIR = '.cache/e2e-update-dist';

let server: AppServer;
let session: BrowserSession;
let page: Page;

/** Which build the page's document came from (see buildApp). */
const servedBuild = () => page.locator('meta[name="app-build"]').getAttribute('content');
const bannerState = () => page.locator('update-banner').getAttribute('state');

beforeAll(async () => {
  await buildApp(OUT_DIR, { buildMark: 'first' });
  server = await startAppServer({ outDir: OUT_DIR });
  session = await openBrowser();
  page = session.page;
});
afterAll(async () => {
  await session?.close();
  await server?.close();
});

it('offers a new version once it is deployed, and switches to it only when the user accepts', async () => {
  await page.goto(server.baseUrl);
  await page.locator('gpt2-app[ready]').waitFor();
  // The first visit installs the service worker, and the banner says the app now works offline.
  await expect.poll(bannerState, { timeout: 60_000 }).toBe('offline-ready');
  await page.reload();
  await page.locator('gpt2-app[ready]').waitFor();
  expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  expect(await servedBuild()).toBe('first');
  expect(await bannerState()).toBe('hidden');

  await buildApp(OUT_DIR, { buildMark: 'second' });
  // Visiting again makes the browser check the service worker; the new one installs and waits.
  await page.reload();
  await page.locator('gpt2-app[ready]').waitFor();
  const prompt = page.getByTestId('update-ready');
  await prompt.waitFor({ timeout: 120_000 });
  expect(await prompt.textContent()).toContain('A new version of the app is ready.');
  // Until the user accepts, the page stays on the version it started with.
  expect(await servedBuild()).toBe('first');

  await page.getByTestId('update-reload').click();
  await expect.poll(servedBuild, { timeout: 60_000 }).toBe('second');
  await page.locator('gpt2-app[ready]').waitFor();
  expect(await bannerState()).toBe('hidden');
  expect(await page.getByTestId('update-ready').count()).toBe(0);
  const worker = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    return { controlled: navigator.serviceWorker.controller !== null, waiting: Boolean(registration?.waiting) };
  });
  expect(worker).toEqual({ controlled: true, waiting: false });
  expect(session.pageErrors).toEqual([]);
});
