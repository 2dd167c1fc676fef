// A build previews as built: an app built with GPT2_HUB_ORIGINS allows that hub when `vite preview`
// runs without the variable, because the preview sends the policy written into the build. And a
// download from an origin the policy does not allow fails at once with a message that names the
// origin and the build setting that allows it, rather than blaming the connection.
import { createServer } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LoggedRequest } from '../../scripts/flaky-model-server-plugin.ts';
import { buildApp, HUB_PREFIX, openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';
import { chooseModel } from './support/app-page.ts';

const OUT_DIR = '.cache/e2e-dist-hub-origins';

/** A port nothing listens on now, for a server started after the build that must name it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

let allowedHub: AppServer;
let app: AppServer;
let session: BrowserSession;
let page: Page;
/** The hub on an origin the build allows: another port on 127.0.0.1, while the app is on localhost. */
let allowedHubUrl: string;

const errors = () => page.getByTestId('error').locator('p').allTextContents();
const hubLog = async (hubUrl: string) => (await (await fetch(`${hubUrl}/_log`)).json()) as LoggedRequest[];

beforeAll(async () => {
  const hubPort = await freePort();
  const hubOrigin = `http://127.0.0.1:${hubPort}`;
  allowedHubUrl = `${hubOrigin}${HUB_PREFIX.replace(/\/$/, '')}`;
  await buildApp(OUT_DIR, { hubOrigins: hubOrigin });
  // What follows runs as `vite preview` run without the variable does.
  expect(process.env.GPT2_HUB_ORIGINS).toBeUndefined();
  allowedHub = await startAppServer({ outDir: OUT_DIR, host: '127.0.0.1', port: hubPort });
  app = await startAppServer({ outDir: OUT_DIR });
  session = await openBrowser();
  page = session.page;
});
afterAll(async () => {
  await session?.close();
  await app?.close();
  await allowedHub?.close();
});

it('allows the hub it was built for, previewed without GPT2_HUB_ORIGINS', async () => {
  await page.goto(`${app.baseUrl}?hub=${encodeURIComponent(allowedHubUrl)}&model=gpt2`);
  // Whichever comes first: a refused download shows its error long before a model would be ready.
  await page.locator('gpt2-app[model-state=ready]').or(page.getByTestId('error')).first().waitFor({ timeout: 300_000 });
  expect(await errors()).toEqual([]);
  expect(await page.getByTestId('model-name').textContent()).toContain('GPT-2 (124M)');
  // The engine's worker asked the other origin itself: the repository's listing, its config (checked
  // to be GPT-2's before any weight), then the download.
  const fetched = (await hubLog(allowedHubUrl)).map((request) => [request.route, request.file, request.status]);
  expect(fetched).toEqual([
    ['api', 'openai-community/gpt2', 200],
    ['resolve', 'config.json', 200],
    ['resolve', 'config.json', 200],
    ['resolve', 'model.safetensors', 200],
  ]);
  expect(session.pageErrors).toEqual([]);
});

it('names the origin its policy refused, and how to allow it', async () => {
  // The app's own server and hub, under another name: a hub that works, on an origin the build does not allow.
  const refusedOrigin = new URL(app.baseUrl).origin.replace('//localhost', '//127.0.0.1');
  expect(refusedOrigin).not.toBe(new URL(app.baseUrl).origin);
  await page.goto(`${app.baseUrl}?hub=${encodeURIComponent(`${refusedOrigin}${HUB_PREFIX}`)}&model=`);
  await page.locator('gpt2-app[ready]').waitFor();
  await chooseModel(page, 'gpt2-medium');
  await expect.poll(errors, { timeout: 60_000 }).toEqual([
    `Could not download GPT-2 Medium (355M): the app's Content-Security-Policy does not allow connecting to ${refusedOrigin}: ` +
      `rebuild the app with GPT2_HUB_ORIGINS=${refusedOrigin} to allow it`,
  ]);
  expect(await page.locator('gpt2-app').getAttribute('model-state')).toBe('idle');
  // The browser refused it before any request left: the hub behind that origin saw none.
  expect(await hubLog(app.hubUrl)).toEqual([]);
});
