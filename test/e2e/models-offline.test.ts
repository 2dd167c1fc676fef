// Models as a user of the installed app meets them, in headless Chromium against a local stand-in
// for the HuggingFace hub: a download that shows progress and, when the connection is cut,
// resumes with a Range request; two saved models to switch between and delete; and the app
// reloaded with the network off, served by its service worker, loading a saved model and replying.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Control } from '../../scripts/flaky-model-server-plugin.ts';
import { chooseModel, openPanel, replyTo } from './support/app-page.ts';
import type { AppServer, BrowserSession } from './support/app-server.ts';
import { openHubApp, type HubApp } from './support/hub-app.ts';

describe('models and offline use', () => {
  let app: HubApp;
  let server: AppServer;
  let session: BrowserSession;
  let page: Page;

  const steerHub = (control: Control) => app.steerHub(control);
  const hubLog = () => app.hubLog();
  const appState = () => page.locator('gpt2-app').getAttribute('model-state');

  async function chooseAndLoad(id: string): Promise<void> {
    await chooseModel(page, id);
    await expect.poll(appState, { timeout: 300_000 }).toBe('ready');
    // The list closes by itself once the change is over, which can come just after the state
    // reads ready: opening it again before then would see it open, and then lose it.
    await page.locator('app-dialog#models:not([open])').waitFor({ state: 'attached' });
  }

  beforeAll(async () => {
    app = await openHubApp();
    ({ server, session, page } = app);
  });
  afterAll(() => app?.close());

  it('shows download progress and resumes from where a cut connection stopped', async () => {
    await steerHub({ bytesPerSecond: 4_000_000, cut: { file: 'model.safetensors', afterBytes: 5_000_000 } });
    await chooseModel(page, 'gpt2');
    await expect.poll(() => page.getByTestId('download-numbers').textContent(), { timeout: 60_000 }).toMatch(/\d+\s*%/);
    await expect.poll(appState, { timeout: 300_000 }).toBe('ready');

    const weightRequests = (await hubLog()).filter((request) => request.file === 'model.safetensors' && request.method === 'GET');
    expect(weightRequests.length).toBeGreaterThanOrEqual(2);
    expect(weightRequests[0].range).toBeNull();
    const resumed = weightRequests[1];
    const offset = Number(/^bytes=(\d+)-$/.exec(resumed.range ?? '')?.[1]);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(5_000_000);
    expect(resumed.status).toBe(206);
    const saved = page.locator('[data-testid=cached-models] li[data-model-id=gpt2]');
    await expect.poll(() => saved.count()).toBe(1);
    expect((await replyTo(page, 'Hello there')).length).toBeGreaterThan(0);
  });

  it('switches between two saved models and keeps one when the other is deleted', async () => {
    await steerHub({ bytesPerSecond: null });
    await chooseAndLoad('gpt2-medium'); // the stand-in hub serves the fixture's F16 file here
    expect(await page.getByTestId('model-name').textContent()).toContain('Medium');
    expect((await replyTo(page, 'First model')).length).toBeGreaterThan(0);
    await chooseAndLoad('gpt2');
    expect(await page.getByTestId('model-name').textContent()).not.toContain('Medium');
    await chooseAndLoad('gpt2-medium');
    await chooseAndLoad('gpt2');
    expect((await replyTo(page, 'Second model')).length).toBeGreaterThan(0);

    const medium = page.locator('[data-testid=cached-models] li[data-model-id=gpt2-medium]');
    await openPanel(page, 'models');
    await medium.getByTestId('delete-model').click();
    await medium.getByTestId('confirm-delete').click();
    await expect.poll(() => medium.count()).toBe(0);
    expect(await page.locator('[data-testid=cached-models] li[data-model-id=gpt2]').count()).toBe(1);
    expect((await replyTo(page, 'Still here')).length).toBeGreaterThan(0);
  });

  it('reloads from the service worker with the network off and generates with the saved model', async () => {
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    // The first visit installed the worker; a reload puts the page under its control.
    await page.reload();
    await page.locator('gpt2-app[ready]').waitFor();
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);

    await session.context.setOffline(true);
    try {
      // Opened without the first visit's `model=`, the app reopens the model used last.
      await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}`);
      await page.locator('gpt2-app[ready]').waitFor();
      // The app reopens the model used last, from the Origin Private File System.
      await expect.poll(appState, { timeout: 300_000 }).toBe('ready');
      expect((await replyTo(page, 'Offline and still')).length).toBeGreaterThan(0);
    } finally {
      await session.context.setOffline(false);
    }
    expect(session.pageErrors).toEqual([]);
  });

  it('passes Chromium\'s installability check (manifest and service worker)', async () => {
    const cdp = await session.context.newCDPSession(page);
    const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
    expect(installabilityErrors).toEqual([]);
    const manifest = await cdp.send('Page.getAppManifest');
    expect(manifest.errors).toEqual([]);
  });
});
