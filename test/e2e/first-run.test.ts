// A first start as a new user meets it, with the hub out of reach: the built app, a fresh profile,
// nothing saved. Without a click the app saves its built-in demo model from its own origin, loads
// it and says what it is; its temperature-0 reply to a KJV prompt is the model card's greedy
// continuation, on the CPU backend (what Automatic picks on this machine) and on WebGPU (forced).
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL } from '../../src/models/demo-model.ts';
import { decode, encode } from '../../src/worker/tokenizer.ts';
import type { DemoEvaluation } from '../../training/kjv-demo/write-card.ts';
import { closePanel, openPanel, replyTo, setPlainGreedy, setSetting } from './support/app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

const PROMPT = 'And the LORD spake unto Moses, saying,';
const evaluation: DemoEvaluation = JSON.parse(readFileSync(`public/${DEMO_MODEL.path}evaluation.json`, 'utf8'));
const cardContinuation = evaluation.greedy_continuations.find((continuation) => continuation.prompt === PROMPT)!;

describe('the first start, with no model saved and the hub unreachable', () => {
  let server: AppServer;
  let session: BrowserSession;
  let page: Page;
  /** Every request the page or its workers made to anywhere but the app's own server. */
  const elsewhere: string[] = [];

  beforeAll(async () => {
    server = await startAppServer();
    session = await openBrowser();
    page = session.page;
    const appOrigin = new URL(server.baseUrl).origin;
    await session.context.route(
      (url) => url.origin !== appOrigin,
      (route) => {
        elsewhere.push(route.request().url());
        return route.abort('internetdisconnected');
      },
    );
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });

  it('loads the demo model by itself and says what it is', async () => {
    await page.goto(server.baseUrl);
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
    expect(await page.getByTestId('model-name').textContent()).toContain('KJV demo');
    expect(await page.getByTestId('model-backend').textContent()).toMatch(/^CPU/);
    // int8 weights (the CPU's default) keep their keys and values as bf16.
    expect(await page.getByTestId('model-kv-cache').textContent()).toMatch(/^[\d.]+ [kMG]?B bf16 KV cache$/);
    expect(await page.getByTestId('from-saved-layout').count()).toBe(0);
    const note = (await page.getByTestId('demo-note').textContent())?.replace(/\s+/g, ' ');
    expect(note).toMatch(/tiny demo model trained on the King James Bible, not GPT-2/);
    expect(note).toMatch(/choose GPT-2 \(124M\) in the model list/);
    // Saved like a download, so it works offline from now on.
    await openPanel(page, 'models');
    await expect.poll(() => page.locator(`[data-testid=cached-models] li[data-model-id=${DEMO_MODEL.id}]`).count()).toBe(1);
    await closePanel(page, 'models');
    expect(elsewhere).toEqual([]);
  });

  it('loads the demo from the int8 weights its first load saved, after a reload', async () => {
    // The engine saves them in the background once the first load is done: wait for the header,
    // which it writes last, so the reload does not cut the save short.
    await expect.poll(() => page.evaluate(async (id) => {
      const models = await (await navigator.storage.getDirectory()).getDirectoryHandle('models');
      return (await models.getDirectoryHandle(id)).getFileHandle('cpu-int8.layout.json').then(() => true, () => false);
    }, DEMO_MODEL.id), { timeout: 60_000 }).toBe(true);
    await page.reload();
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
    expect(await page.getByTestId('from-saved-layout').textContent()).toContain('saved int8 weights');
    expect(await page.getByTestId('model-name').textContent()).toContain('KJV demo');
    expect(elsewhere).toEqual([]);
  });

  it('replies at temperature 0 with the card\'s greedy continuation, on the CPU', async () => {
    expect(cardContinuation.prompt_tokens).toEqual(encode(PROMPT));
    // The shipped F16 weights as they are: the CPU's default int8 rounding can flip a near-tie
    // between two tokens, and the card's text comes from the F16 file.
    await setSetting(page, 'settings-weights-dtype', 'f16');
    await page.reload();
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
    expect(await page.getByTestId('model-backend').textContent()).toMatch(/^CPU/);
    expect(await page.getByTestId('model-kv-cache').textContent()).toMatch(/ f32 KV cache$/);
    await setPlainGreedy(page, cardContinuation.tokens.length);
    expect(await replyTo(page, PROMPT)).toBe(decode(cardContinuation.tokens));
  });

  it('replies the same on WebGPU, forced in the settings, after a reload reopens the saved demo', async () => {
    await setSetting(page, 'settings-backend', 'webgpu');
    await page.reload();
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
    expect(await page.getByTestId('model-name').textContent()).toContain('KJV demo');
    expect(await page.getByTestId('model-backend').textContent()).toMatch(/^WebGPU/);
    expect(await page.getByTestId('model-kv-cache').textContent()).toMatch(/ f32 KV cache$/);
    expect(await replyTo(page, PROMPT)).toBe(decode(cardContinuation.tokens));
    expect(elsewhere).toEqual([]);
    expect(session.pageErrors).toEqual([]);
  });
});
