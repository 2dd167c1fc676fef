// The app with its real engine worker, when the GPU is reset while no reply is being written: the
// engine loads the model again on a new device, and the user is told, since no call is waiting to
// hear of it. Afterwards a prompt still gets the same reply as before the reset.
import { afterAll, expect, it } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import { ConversationStore } from '../../src/ui/conversation-store.ts';
import '../../src/ui/gpt2-app.ts';
import type { Gpt2App } from '../../src/ui/gpt2-app.ts';
import { DEFAULT_SETTINGS, SettingsStore } from '../../src/ui/settings.ts';
import { startEngine, type EngineClient } from '../../src/worker/engine-client.ts';
import { decode, END_OF_TEXT } from '../../src/worker/tokenizer.ts';

const MODEL_FOLDER = new URL('/test-models/tiny-gpt2', location.href).href;
const MODEL_ID = `url:${MODEL_FOLDER}`;
const PROMPT = 'The meaning of life is';
const MAX_NEW_TOKENS = 8;

let engine: EngineClient;
let app: Gpt2App;
const settingsKey = `gpu-reset-${crypto.randomUUID()}`;
const databaseName = `gpu-reset-${crypto.randomUUID()}`;

afterAll(async () => {
  app?.remove();
  app?.conversations.close();
  await engine?.api.deleteCachedModel(MODEL_ID);
  engine?.terminate();
  localStorage.removeItem(settingsKey);
  localStorage.removeItem(`${settingsKey}.lastModel`);
  indexedDB.deleteDatabase(databaseName);
});

/** The app on its own settings and database, with the tiny fixture downloaded from a URL and loaded. */
async function mountWithModel(): Promise<void> {
  engine = startEngine();
  await engine.api.deleteCachedModel(MODEL_ID);
  // Greedy plain completion, so the reply can be checked against the engine's own greedy path; on
  // WebGPU, which Automatic would not choose on this machine's software adapter, since only a GPU
  // can be reset.
  new SettingsStore(localStorage, settingsKey).save({
    ...DEFAULT_SETTINGS, backend: 'webgpu', framing: 'plain', temperature: 0, repetitionPenalty: 1, maxNewTokens: MAX_NEW_TOKENS,
  });
  app = document.createElement('gpt2-app');
  app.engine = engine;
  app.conversations = await ConversationStore.open(databaseName);
  app.settingsStore = new SettingsStore(localStorage, settingsKey);
  document.body.append(app);
  await expect.poll(() => app.hasAttribute('ready')).toBe(true);

  await userEvent.click(page.getByTestId('model-button')); // the model list opens from the header
  await userEvent.fill(page.getByTestId('custom-url'), MODEL_FOLDER);
  await userEvent.click(page.getByTestId('custom-url-download'));
  await expect.poll(() => app.getAttribute('model-state'), { timeout: 120_000 }).toBe('ready');
  expect((await engine.api.stats()).model?.backend).toBe('webgpu');
}

it('tells the user the GPU was reset and the model loaded again, and a prompt then gets the same reply', async () => {
  await mountWithModel();
  const greedy = await engine.api.greedy(await engine.api.tokenize(PROMPT), MAX_NEW_TOKENS);
  const end = greedy.indexOf(END_OF_TEXT);
  const expectedReply = decode(end < 0 ? greedy : greedy.slice(0, end));
  expect(expectedReply).not.toBe('');
  expect(page.getByTestId('error').query()).toBeNull();

  await engine.api.simulateDeviceLoss();
  await expect.element(page.getByTestId('error'), { timeout: 60_000 })
    .toHaveTextContent(/The GPU was reset \(.+\); the model was loaded again and is ready\./);
  expect(app.getAttribute('model-state')).toBe('ready');
  expect((await engine.api.stats()).model?.name).toBe(MODEL_ID);

  await userEvent.fill(page.getByTestId('prompt'), PROMPT);
  await userEvent.keyboard('{Enter}');
  // The reply is added (pending) as the prompt is sent, so this cannot pass before it is written.
  await expect.poll(() => page.getByTestId('reply').elements().length === 1 && !app.hasAttribute('generating'), { timeout: 120_000 }).toBe(true);
  expect(page.getByTestId('reply-status').query()).toBeNull();
  expect(page.getByTestId('reply').element().textContent).toBe(expectedReply);
  // The notice was the only one: the reply itself went through.
  expect(page.getByTestId('error').elements()).toHaveLength(1);
});
