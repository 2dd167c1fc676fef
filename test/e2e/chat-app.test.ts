// The built app in headless Chromium (WebGPU on), as a user drives it: choose a model from the
// catalog (downloaded from a local stand-in for the hub), type a prompt, watch the reply stream
// in, stop a reply, reload and find the conversation still there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../scripts/model-files.ts';
import { decode, encode, END_OF_TEXT } from '../../src/worker/tokenizer.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

const fixture = join(import.meta.dirname, '../../../shared/fixtures/tiny-gpt2');
const PROMPT = 'The meaning of life is';
const MAX_NEW_TOKENS = 10;

/** What greedy decoding of PROMPT gives, from the float64 CPU reference on the fixture's weights. */
function expectedGreedyReply(): string {
  const hfConfig = JSON.parse(readFileSync(join(fixture, 'config.json'), 'utf8'));
  const config = { vocabSize: hfConfig.vocab_size, nCtx: hfConfig.n_positions, nEmbd: hfConfig.n_embd, nLayer: hfConfig.n_layer, nHead: hfConfig.n_head };
  const reference = new ReferenceGpt2(config, decodeSafetensors(readFileSync(join(fixture, 'model.safetensors'))).tensors);
  const tokens = reference.greedy(encode(PROMPT), MAX_NEW_TOKENS);
  const end = tokens.indexOf(END_OF_TEXT);
  return decode(end < 0 ? tokens : tokens.slice(0, end));
}

async function setSetting(page: Page, testId: string, value: string): Promise<void> {
  const field = page.getByTestId(testId);
  if ((await field.evaluate((element) => element.tagName)) === 'SELECT') await field.selectOption(value);
  else await field.fill(value);
  await field.dispatchEvent('change');
}

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

  it('downloads a model, streams a greedy reply that matches the reference, and shows speeds', async () => {
    await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}`);
    await page.locator('gpt2-app[ready]').waitFor();
    await setSetting(page, 'settings-weights-dtype', 'f32');
    await setSetting(page, 'settings-framing', 'plain');
    await setSetting(page, 'settings-temperature', '0');
    await setSetting(page, 'settings-repetition-penalty', '1');
    await setSetting(page, 'settings-max-new-tokens', String(MAX_NEW_TOKENS));

    await page.getByTestId('model-select').selectOption('gpt2');
    await page.getByTestId('download-progress').waitFor();
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });

    await page.getByTestId('prompt').fill(PROMPT);
    await page.getByTestId('prompt').press('Enter');
    // Streaming: the reply has some text while generation is still running.
    await page.locator('gpt2-app[generating]').waitFor();
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
    const replyText = await page.getByTestId('reply').last().textContent();
    expect(replyText).toBe(expectedGreedyReply());
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
