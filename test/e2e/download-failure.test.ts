// The built app when the hub fails a download (a web page instead of the weights, then a 404 for
// the config): each failure is a message saying what went wrong, nothing half-downloaded is
// offered as a model, and the app goes on working: another model downloads, loads and replies.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Control } from '../../scripts/flaky-model-server-plugin.ts';
import { openHubApp, type HubApp } from './support/hub-app.ts';
import { chooseModel } from './support/app-page.ts';

describe('the app after a failed download', () => {
  let app: HubApp;
  let page: Page;

  const steerHub = (control: Control) => app.steerHub(control);
  const appState = () => page.locator('gpt2-app').getAttribute('model-state');
  const errors = () => page.getByTestId('error').locator('p').allTextContents();
  const savedModels = () => page.getByTestId('model-select').locator('optgroup[label="On this device"] option').count();

  beforeAll(async () => {
    app = await openHubApp();
    page = app.page;
  });
  afterAll(() => app?.close());

  it('says why, and another model then downloads, loads and replies', async () => {
    await steerHub({ fault: { file: 'model.safetensors', kind: 'web-page' } });
    await chooseModel(page, 'gpt2');
    await expect.poll(errors, { timeout: 60_000 }).toEqual([
      expect.stringMatching(/^Could not download GPT-2 \(124M\): .*model\.safetensors returned a web page/),
    ]);
    await expect.poll(appState).toBe('idle');
    expect(await savedModels()).toBe(0);
    await page.getByTestId('dismiss-error').click();

    await steerHub({ fault: { file: 'config.json', kind: 'not-found' } });
    await chooseModel(page, 'gpt2-medium');
    await expect.poll(errors, { timeout: 60_000 }).toEqual([
      expect.stringMatching(/^Could not download GPT-2 Medium \(355M\): .*config\.json answered HTTP 404/),
    ]);
    await expect.poll(appState).toBe('idle');
    expect(await savedModels()).toBe(0);

    // The hub works again: the model whose download failed last downloads in full and replies.
    await app.resetHub();
    await chooseModel(page, 'gpt2-medium');
    await expect.poll(appState, { timeout: 300_000 }).toBe('ready');
    expect(await savedModels()).toBe(1);
    await page.getByTestId('prompt').fill('Hello there');
    await page.getByTestId('prompt').press('Enter');
    const reply = page.getByTestId('reply-message').last().locator('.meta');
    await expect.poll(() => reply.count(), { timeout: 300_000 }).toBe(1);
    expect(await reply.textContent()).toMatch(/^gpt2-medium · seed \d+ · /);
    expect(app.session.pageErrors).toEqual([]);
  });
});
