// Chromium without WebGPU (no --enable-unsafe-webgpu, so no adapter on this machine): the app
// explains what is needed, and what does not need the GPU keeps working — the download is
// saved, the settings and the conversation stay usable.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

let server: AppServer;
let session: BrowserSession;
beforeAll(async () => {
  server = await startAppServer();
  session = await openBrowser({ webgpu: false });
});
afterAll(async () => {
  await session?.close();
  await server?.close();
});

it('says WebGPU is missing and what to do, and keeps the downloaded model and the settings', async () => {
  const page = session.page;
  expect(await page.evaluate(async () => (await navigator.gpu?.requestAdapter()) ?? null)).toBeNull();
  await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}`);
  await page.locator('gpt2-app[ready]').waitFor();
  await page.getByTestId('model-select').selectOption('gpt2');
  const error = page.getByTestId('error').first();
  await error.waitFor({ timeout: 120_000 });
  expect(await error.textContent()).toMatch(/WebGPU.*(Chrome|flag|browser)/s);

  // The download did not depend on the GPU: the model is saved for when WebGPU is available.
  await expect.poll(() => page.locator('[data-testid=cached-models] li[data-model-id=gpt2]').count()).toBe(1);
  await page.getByTestId('settings-temperature').fill('0.5');
  await page.getByTestId('settings-temperature').dispatchEvent('change');
  expect(await page.getByTestId('settings-error').count()).toBe(0);
  await page.getByTestId('dismiss-error').first().click();
  expect(await page.getByTestId('error').count()).toBe(0);
  expect(session.pageErrors).toEqual([]);
});
