// Looking inside a reply in the built app, with the real engine on the tiny fixture model (WebGPU,
// f32, greedy, plain mode): colouring on, a token's alternatives opened by pointer and by keyboard,
// the reply branched at a token with one of them, switching between the two versions, and both
// still there after a reload. What the engine reported is checked against the float64 reference
// model on the same weights: each token's probability, the prompt's surprisal, and the branch's
// continuation, which must be the greedy continuation of the prompt, the reply's tokens before the
// branch and the alternative. Then axe, and the page's width, with all of it on screen.
import AxeBuilder from '@axe-core/playwright';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../scripts/model-files.ts';
import type { ChatMessage } from '../../src/ui/conversation-store.ts';
import { decode, encode, END_OF_TEXT } from '../../src/worker/tokenizer.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';
import { chooseModel, replyTo, setPlainGreedy, setSetting } from './support/app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

const PROMPT = 'The meaning of life is';
const MAX_NEW_TOKENS = 8;
/** The reply is branched at this token, with the model's second choice there. */
const BRANCH_AT = 2;

const fixture = join(import.meta.dirname, '../../../shared/fixtures/tiny-gpt2');

function referenceModel(): ReferenceGpt2 {
  const hfConfig = JSON.parse(readFileSync(join(fixture, 'config.json'), 'utf8'));
  const config = { vocabSize: hfConfig.vocab_size, nCtx: hfConfig.n_positions, nEmbd: hfConfig.n_embd, nLayer: hfConfig.n_layer, nHead: hfConfig.n_head };
  return new ReferenceGpt2(config, decodeSafetensors(readFileSync(join(fixture, 'model.safetensors'))).tensors);
}

function softmax(logits: Float64Array): Float64Array {
  const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
  const exps = logits.map((logit) => Math.exp(logit - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

/** The conversation's messages as the app stored them in IndexedDB. */
function storedMessages(page: Page): Promise<ChatMessage[]> {
  return page.evaluate(() => new Promise<ChatMessage[]>((resolve, reject) => {
    const opening = indexedDB.open('gpt2-conversations');
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const cursor = db.transaction('conversations').objectStore('conversations').index('updatedAt').openCursor(null, 'prev');
      cursor.onerror = () => reject(cursor.error);
      cursor.onsuccess = () => {
        resolve(cursor.result!.value.messages);
        db.close();
      };
    };
  }));
}

const SIZES = { phone: { width: 360, height: 740 }, desktop: { width: 1280, height: 800 } };

/** axe's violations as "rule: target, target…" lines, so a failure says what and where. */
async function violations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

/** The data-testid and data-index of the focused element, looking inside shadow roots. */
function focused(page: Page): Promise<{ testId: string | null; index: string | null; token: string | null }> {
  return page.evaluate(() => {
    let element: Element | null = document.activeElement;
    while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
    return { testId: element?.getAttribute('data-testid') ?? null, index: element?.getAttribute('data-index') ?? null, token: element?.getAttribute('data-token') ?? null };
  });
}

describe('looking inside a reply', () => {
  let server: AppServer;
  let session: BrowserSession;
  let page: Page;
  const reference = referenceModel();
  const promptTokens = encode(PROMPT);
  let original: ChatMessage;
  let alternative: number;

  beforeAll(async () => {
    server = await startAppServer();
    session = await openBrowser();
    page = session.page;
    await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}&model=`);
    await page.locator('gpt2-app[ready]').waitFor();
    await setSetting(page, 'settings-backend', 'webgpu');
    await setSetting(page, 'settings-weights-dtype', 'f32');
    await setPlainGreedy(page, MAX_NEW_TOKENS);
    await chooseModel(page, 'gpt2');
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });

  it('keeps with the reply what the model thought of each token, and of the prompt, as the reference model does', async () => {
    await replyTo(page, PROMPT);
    const [prompt, reply] = await storedMessages(page);
    original = reply;
    const tokens = reply.tokens!.map((token) => token.token);
    expect(tokens.length).toBeGreaterThan(BRANCH_AT);
    expect(reply.text).toBe(decode(tokens));
    const logits = reference.logits([...promptTokens, ...tokens]);
    reply.tokens!.forEach(({ token, insight }, index) => {
      const probabilities = softmax(logits[promptTokens.length - 1 + index]);
      expect(insight!.probability).toBeCloseTo(probabilities[token], 4);
      // Greedy: the token written is the model's likeliest, drawn with probability 1.
      expect(insight!.top[0].token).toBe(token);
      expect(insight!.sampled[0]).toMatchObject({ token, probability: 1 });
      expect(insight!.top.map((chance) => chance.probability)).toEqual([...insight!.top.map((chance) => chance.probability)].sort((a, b) => b - a));
    });
    const score = prompt.promptScore!;
    expect(score.tokens).toEqual(promptTokens);
    score.surprisal.forEach((surprisal, index) => expect(surprisal).toBeCloseTo(-Math.log(softmax(logits[index])[promptTokens[index + 1]]), 3));
    alternative = reply.tokens![BRANCH_AT].insight!.top[1].token;
  });

  it('colours the reply by probability, with a legend, and gives the prompt its perplexity', async () => {
    await page.getByTestId('settings-look-inside').click();
    expect(await page.getByTestId('settings-look-inside').getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('probability-legend').waitFor();
    const labels = await page.getByTestId('token').evaluateAll((tokens) => tokens.map((token) => token.getAttribute('aria-label')));
    expect(labels.length).toBeGreaterThan(BRANCH_AT);
    for (const label of labels) expect(label).toMatch(/, (<?\d+(\.\d+)?)%$/);
    const scored = promptTokens.length - 1;
    expect(await page.getByTestId('perplexity').textContent()).toMatch(new RegExp(`^\\s*Perplexity [\\d.]+ over ${scored} tokens\\s*$`));
  });

  it("shows a token's alternatives under the pointer, and from the keyboard", async () => {
    await page.getByTestId('token').nth(BRANCH_AT).hover();
    await page.getByTestId('token-alternatives').waitFor();
    expect(await page.getByTestId('alternative').count()).toBe(original.tokens![BRANCH_AT].insight!.top.length - 1);
    await page.mouse.move(0, 0);
    await page.getByTestId('token-alternatives').waitFor({ state: 'detached' });

    await page.locator('chat-log').focus();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatchObject({ testId: 'token', index: '0' });
    for (let step = 0; step < BRANCH_AT; step++) await page.keyboard.press('ArrowRight');
    expect(await focused(page)).toMatchObject({ testId: 'token', index: String(BRANCH_AT) });
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await focused(page)).testId).toBe('alternative');
  });

  it('branches the reply with an alternative: the continuation is the greedy one after it', async () => {
    // Down to the model's second choice, then Enter, all from the keyboard.
    for (let presses = 0; (await focused(page)).token !== String(alternative); presses++) {
      if (presses > original.tokens![BRANCH_AT].insight!.top.length) throw new Error(`the alternatives have no button for token ${alternative}`);
      await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Enter');
    await expect.poll(async () => (await storedMessages(page))[1].versions?.[1]?.status, { timeout: 300_000 }).toBe('done');
    await page.locator('gpt2-app:not([generating])').waitFor();
    expect(await page.getByTestId('version-label').textContent()).toMatch(/2 of 2/);

    const [, reply] = await storedMessages(page);
    expect(reply.versions).toHaveLength(2);
    expect(reply.version).toBe(1);
    const kept = original.tokens!.slice(0, BRANCH_AT).map((token) => token.token);
    const tokens = reply.tokens!.map((token) => token.token);
    expect(tokens.slice(0, BRANCH_AT + 1)).toEqual([...kept, alternative]);
    const continuation = tokens.slice(BRANCH_AT + 1);
    const expected = reference.greedy([...promptTokens, ...kept, alternative], continuation.length + 1);
    expect(continuation).toEqual(expected.slice(0, continuation.length));
    // It stopped where the reference does: at the reply's length, or where the model ends the text.
    if (reply.stopReason === 'end-of-text') expect(expected.at(-1)).toBe(END_OF_TEXT);
    else expect(tokens).toHaveLength(MAX_NEW_TOKENS);
    expect(reply.tokens![BRANCH_AT].insight!.probability).toBe(original.tokens![BRANCH_AT].insight!.top[1].probability);
    expect(await page.getByTestId('reply').textContent()).toBe(decode(tokens));
  });

  it('switches between the two versions, and keeps both across a reload', async () => {
    const branched = await page.getByTestId('reply').textContent();
    expect(branched).not.toBe(original.text);
    await page.getByTestId('previous-version').click();
    expect(await page.getByTestId('version-label').textContent()).toMatch(/1 of 2/);
    expect(await page.getByTestId('reply').textContent()).toBe(original.text);
    await page.getByTestId('next-version').click();
    expect(await page.getByTestId('reply').textContent()).toBe(branched);

    await page.reload();
    await page.locator('gpt2-app[ready]').waitFor();
    expect(await page.getByTestId('version-label').textContent()).toMatch(/2 of 2/);
    expect(await page.getByTestId('reply').textContent()).toBe(branched);
    await page.getByTestId('previous-version').click();
    expect(await page.getByTestId('reply').textContent()).toBe(original.text);
    expect(session.pageErrors).toEqual([]);
  });

  it("finds no accessibility violations, nor a page wider than the screen, with a token's alternatives and the prompt's tokens open", async () => {
    await page.getByTestId('prompt-tokens-toggle').click();
    await page.getByTestId('prompt-tokens').locator('li').first().waitFor();
    for (const [sizeName, size] of Object.entries(SIZES)) {
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme });
        await page.getByTestId('token').nth(BRANCH_AT).click();
        await page.getByTestId('token-alternatives').waitFor();
        expect(await violations(page), `${sizeName} in ${colorScheme}`).toEqual([]);
        const widths = await page.locator('chat-log').evaluate((log) => [document.documentElement.scrollWidth, log.scrollWidth - log.clientWidth]);
        expect(widths, `${sizeName} in ${colorScheme}: page width, and how far the conversation scrolls sideways`).toEqual([size.width, 0]);
        await page.keyboard.press('Escape');
        await page.getByTestId('token-alternatives').waitFor({ state: 'detached' });
      }
    }
  });
});
