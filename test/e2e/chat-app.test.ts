// The built app in headless Chromium on WebGPU, as a user drives it: choose a model from the
// catalog (downloaded from a local stand-in for the hub), type a prompt, watch the reply stream
// in, stop a reply, reload and find the conversation still there. WebGPU is chosen in the settings:
// on this machine's software adapter Automatic picks the CPU (no-webgpu.test.ts and
// cross-origin-isolation.test.ts drive that).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode } from '../../src/worker/tokenizer.ts';
import { chooseModel, setPlainGreedy, setSetting, watchLastReply } from './support/app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';
import { expectedGreedyReply } from './support/reference-reply.ts';

const PROMPT = 'The meaning of life is';
const MAX_NEW_TOKENS = 10;

describe('the chat app', () => {
  let server: AppServer;
  let session: BrowserSession;
  let page: Page;
  beforeAll(async () => {
    server = await startAppServer();
    session = await openBrowser();
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });

  it('refuses int8 weights on WebGPU with the engine\'s reason, and keeps the download', async () => {
    await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}&model=`);
    await page.locator('gpt2-app[ready]').waitFor();
    await setSetting(page, 'settings-backend', 'webgpu');
    await setSetting(page, 'settings-weights-dtype', 'int8');
    await chooseModel(page, 'gpt2');
    await page.getByTestId('download-progress').waitFor();
    const error = page.getByTestId('error');
    await error.waitFor({ timeout: 300_000 });
    expect(await error.locator('p').allTextContents()).toEqual([
      expect.stringMatching(/^Could not load GPT-2 \(124M\): int8 weights are for the CPU backend only/),
    ]);
    expect(await page.locator('gpt2-app').getAttribute('model-state')).toBe('idle');
    await expect.poll(() => page.locator('[data-testid=cached-models] li[data-model-id=gpt2]').count()).toBe(1);
    await page.getByTestId('dismiss-error').click();
  });

  it('loads the saved model on WebGPU, and streams a greedy reply that matches the reference, with speeds', async () => {
    await setSetting(page, 'settings-weights-dtype', 'f32');
    await setPlainGreedy(page, MAX_NEW_TOKENS);

    await chooseModel(page, 'gpt2');
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
    expect(await page.getByTestId('model-backend').textContent()).toMatch(/^WebGPU on \S/);
    expect(await page.getByTestId('backend-reason').textContent()).toBe('Why WebGPU: chosen in the settings');
    expect(await page.getByTestId('model-info').textContent()).toMatch(/of f32 weights/);

    const replySnapshots = await watchLastReply(page);
    await page.getByTestId('prompt').fill(PROMPT);
    await page.getByTestId('prompt').press('Enter');
    await expect.poll(() => page.getByTestId('reply').count()).toBe(1);
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
    const replyText = await page.getByTestId('reply').last().textContent();
    expect(replyText).toBe(expectedGreedyReply(PROMPT, MAX_NEW_TOKENS));
    // Streamed: part of the reply was on the page while the rest was still being written.
    const partial = (await replySnapshots()).filter((snapshot) => snapshot.writing && snapshot.text.length > 0 && snapshot.text !== replyText);
    expect(partial.length).toBeGreaterThan(0);
    expect(await page.getByTestId('tok-per-s').textContent()).toMatch(/\d/);
    expect(session.pageErrors).toEqual([]);
  });

  it('Stop halts a long reply', async () => {
    await setSetting(page, 'settings-temperature', '1');
    await setSetting(page, 'settings-max-new-tokens', '100');
    await page.getByTestId('prompt').fill('Once upon a time');
    await page.getByTestId('send').click();
    const reply = page.getByTestId('reply').last();
    await expect.poll(async () => (await reply.textContent())?.length ?? 0, { timeout: 120_000 }).toBeGreaterThan(0);
    await page.getByTestId('stop').click();
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 60_000 });
    const stoppedText = await reply.textContent();
    await page.waitForTimeout(1000);
    expect(await reply.textContent()).toBe(stoppedText);
    // 100 tokens would have taken far longer than the wait for the first text and the Stop.
    expect(encode(stoppedText ?? '').length).toBeLessThan(100);
  });

  it('keeps the conversation across a reload', async () => {
    const before = await page.getByTestId('reply').allTextContents();
    const prompts = await page.getByTestId('user-message').allTextContents();
    expect(before).toHaveLength(2);
    await page.reload();
    await page.locator('gpt2-app[ready]').waitFor();
    expect(await page.getByTestId('reply').allTextContents()).toEqual(before);
    expect(await page.getByTestId('user-message').allTextContents()).toEqual(prompts);
  });
});
