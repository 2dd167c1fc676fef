// Hub repositories opened by name, and DialoGPT's chat, in headless Chromium against the local
// stand-in hub (scripts/flaky-model-server-plugin.ts): the app lists a repository's files through
// the hub's API, takes the weights it prefers, fetches every file from the commit the revision
// pointed at and keeps that commit, resumes from the same commit after main has moved, and refuses
// a repository that is not a GPT-2 before fetching any weight. DialoGPT-small from the catalog gets
// its conversation as turns joined by <|endoftext|>, and its reply ends at the next one.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Control } from '../../scripts/flaky-model-server-plugin.ts';
import { decode, encode } from '../../src/worker/tokenizer.ts';
import { chooseModel, openPanel, replyTo, setSetting } from './support/app-page.ts';
import { SHARD } from './support/app-server.ts';
import { openHubApp, type HubApp } from './support/hub-app.ts';

const DIALOGPT_EXPECTED = JSON.parse(readFileSync('test/fixtures/torch/tiny-dialogpt/expected.json', 'utf8')) as {
  prompt_tokens: number[];
  reply_tokens: number[];
  next_token: number;
};

describe('hub repositories by name', () => {
  let app: HubApp;
  let page: Page;

  const steerHub = (control: Control) => app.steerHub(control);
  const hubLog = () => app.hubLog();
  const resetHub = () => app.resetHub();
  const appState = () => page.locator('gpt2-app').getAttribute('model-state');
  /** The commit the stand-in hub's main points at in `repo` now. */
  const headCommit = async (repo: string) => ((await (await fetch(`${app.server.hubUrl}/api/models/${repo}/revision/main`)).json()) as { sha: string }).sha;
  const savedEntry = (id: string) => page.locator(`[data-testid=cached-models] li[data-model-id="${id}"]`);

  async function openRepo(name: string, conversation: 'transcript' | 'dialogpt' = 'transcript'): Promise<void> {
    await openPanel(page, 'models');
    await page.getByTestId('hub-repo').fill(name);
    await page.getByTestId('hub-repo-conversation').selectOption(conversation);
    await page.getByTestId('hub-repo-open').click();
  }

  /** The resolve requests for weights since the last reset, as [file, revision]. */
  const weightFetches = async () =>
    (await hubLog()).filter((request) => request.route === 'resolve' && request.file !== 'config.json').map((request) => [request.file, request.revision]);

  beforeAll(async () => {
    app = await openHubApp({ webgpu: false });
    page = app.page;
  });
  afterAll(() => app?.close());

  it('takes model.safetensors over pytorch_model.bin, fetched from the commit main points at, and shows that commit', async () => {
    await resetHub();
    const commit = await headCommit('openai-community/gpt2');
    await openRepo('openai-community/gpt2');
    await expect.poll(appState, { timeout: 120_000 }).toBe('ready');
    expect(await weightFetches()).toEqual([['model.safetensors', commit]]);
    const listing = (await hubLog()).find((request) => request.route === 'api');
    expect(listing).toMatchObject({ file: 'openai-community/gpt2', revision: 'main', status: 200 });
    expect(await savedEntry('hub:openai-community/gpt2').getByTestId('model-commit').textContent()).toContain(commit.slice(0, 7));
    expect((await replyTo(page, 'Hello')).length).toBeGreaterThan(0);
  });

  it('takes the sharded safetensors over pytorch_model.bin, and pytorch_model.bin when it is all there is', async () => {
    await resetHub();
    await openRepo('someone/tiny-gpt2-sharded');
    await expect.poll(appState, { timeout: 120_000 }).toBe('ready');
    const shardedCommit = await headCommit('someone/tiny-gpt2-sharded');
    expect(await weightFetches()).toEqual([['model.safetensors.index.json', shardedCommit], [SHARD, shardedCommit]]);

    await resetHub();
    await openRepo('microsoft/DialoGPT-small');
    await expect.poll(appState, { timeout: 120_000 }).toBe('ready');
    expect(await weightFetches()).toEqual([['pytorch_model.bin', await headCommit('microsoft/DialoGPT-small')]]);
    expect(await page.getByTestId('model-name').textContent()).toContain('microsoft/DialoGPT-small');
  });

  it('refuses a repository whose config is not GPT-2 before fetching any weight, and keeps the model loaded', async () => {
    await resetHub();
    const loadedBefore = await page.getByTestId('model-name').textContent();
    await openRepo('google-bert/bert-base-uncased');
    const error = page.getByTestId('error').last();
    await expect.poll(() => error.textContent(), { timeout: 30_000 }).toMatch(/google-bert\/bert-base-uncased is a bert model \(BertForMaskedLM\), not GPT-2/);
    expect(await weightFetches()).toEqual([]);
    expect(await page.getByTestId('model-name').textContent()).toBe(loadedBefore);
    expect(await appState()).toBe('ready');
    // The model list closed, leaving the error in view.
    await page.locator('app-dialog#models:not([open])').waitFor({ state: 'attached' });

    await openRepo('no-such/repository');
    await expect.poll(() => page.getByTestId('error').last().textContent()).toMatch(/no public repository no-such\/repository/);
    await page.locator('app-dialog#models:not([open])').waitFor({ state: 'attached' });
    await openRepo('not a name');
    await expect.poll(() => page.getByTestId('error').last().textContent()).toMatch(/"not a name" is not a hub repository name/);
  });

  it('resumes a cut download from the commit it began with, though main has moved on since', async () => {
    await resetHub();
    const firstCommit = await headCommit('someone/tiny-gpt2-sharded');
    await openPanel(page, 'models');
    await page.locator('[data-testid=cached-models] li[data-model-id="hub:someone/tiny-gpt2-sharded"]').getByTestId('delete-model').click();
    await page.getByTestId('confirm-delete').click();
    await expect.poll(() => savedEntry('hub:someone/tiny-gpt2-sharded').count()).toBe(0);

    await steerHub({ bytesPerSecond: 2_000_000 });
    await openRepo('someone/tiny-gpt2-sharded');
    // Progress on the shard itself: the small files before it have percentages of their own.
    await expect.poll(() => page.getByTestId('download-numbers').textContent(), { timeout: 60_000 }).toMatch(new RegExp(`^${SHARD}: .*\\([1-9]\\d*%\\)`));
    await page.getByTestId('cancel-download').click();
    await expect.poll(() => page.getByTestId('model-notice').textContent(), { timeout: 30_000 }).toMatch(/stopped/);

    const movedTo = 'c0ffee'.padEnd(40, '0');
    await steerHub({ bytesPerSecond: null, headCommit: movedTo });
    expect(await headCommit('someone/tiny-gpt2-sharded')).toBe(movedTo);
    await openRepo('someone/tiny-gpt2-sharded');
    await expect.poll(appState, { timeout: 120_000 }).toBe('ready');

    const shardFetches = (await hubLog()).filter((request) => request.route === 'resolve' && request.file === SHARD);
    expect(shardFetches.every((request) => request.revision === firstCommit)).toBe(true);
    expect(shardFetches.at(-1)!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(shardFetches.at(-1)!.status).toBe(206);
    expect(await savedEntry('hub:someone/tiny-gpt2-sharded').getByTestId('model-commit').textContent()).toContain(firstCommit.slice(0, 7));
  });
});

describe('DialoGPT chat', () => {
  let app: HubApp;
  let page: Page;

  beforeAll(async () => {
    app = await openHubApp({ webgpu: false, maxNewTokens: null });
    page = app.page;
  });
  afterAll(() => app?.close());

  it('sends the turns joined by <|endoftext|> and ends the reply at the next one', async () => {
    await chooseModel(page, 'dialogpt-small');
    await expect.poll(() => page.locator('gpt2-app').getAttribute('model-state'), { timeout: 120_000 }).toBe('ready');
    expect(await page.getByTestId('gpt2-note').textContent()).toContain('DialoGPT');
    await setSetting(page, 'settings-temperature', '0');
    await setSetting(page, 'settings-max-new-tokens', '40');
    expect(await page.getByTestId('settings-framing').inputValue()).toBe('chat');

    // The fixture's float64 reference: after "Hello" + <|endoftext|>, these tokens, then <|endoftext|>.
    expect(encode('Hello<|endoftext|>')).toEqual(DIALOGPT_EXPECTED.prompt_tokens);
    const reply = await replyTo(page, 'Hello');
    expect(reply).toBe(decode(DIALOGPT_EXPECTED.reply_tokens).trim());
    expect(await page.getByTestId('tok-per-s').textContent()).toContain(`(${DIALOGPT_EXPECTED.prompt_tokens.length} tokens)`);
    expect(await page.locator('chat-log').locator('.meta').last().textContent()).toContain('ended the text');

    // The second prompt holds the whole conversation, each turn closed by <|endoftext|>. It is longer
    // than the positions the fixture answers before <|endoftext|>, so this reply is empty.
    const messages = page.getByTestId('reply-message');
    const before = await messages.count();
    await page.getByTestId('prompt').fill('How are you?');
    await page.getByTestId('prompt').press('Enter');
    await expect.poll(() => messages.count()).toBe(before + 1);
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 60_000 });
    expect(await messages.last().locator('.meta').textContent()).toContain('ended the text');
    const conversation = `Hello<|endoftext|>${reply}<|endoftext|>How are you?<|endoftext|>`;
    expect(await page.getByTestId('tok-per-s').textContent()).toContain(`Prompt: `);
    expect(await page.getByTestId('tok-per-s').textContent()).toContain(`(${encode(conversation).length} tokens)`);
  });
});
