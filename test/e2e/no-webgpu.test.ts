// Chromium without WebGPU (no --enable-unsafe-webgpu, so no adapter on this machine), settings on
// Automatic: the app puts the model on the CPU by itself and says why, downloads the tiny model
// from the stand-in hub, and streams a reply, which at temperature 0 with f32 weights is the
// float64 reference's greedy continuation, as on WebGPU (chat-app.test.ts).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chooseModel, setPlainGreedy, setSetting, settingValue, watchLastReply } from './support/app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';
import { expectedGreedyReply } from './support/reference-reply.ts';

const PROMPT = 'The meaning of life is';
const MAX_NEW_TOKENS = 10;

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

it('chooses the CPU by itself, says why, and streams the reference\'s greedy reply', async () => {
  const page = session.page;
  expect(await page.evaluate(async () => (await navigator.gpu?.requestAdapter()) ?? null)).toBeNull();
  await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}&model=`);
  await page.locator('gpt2-app[ready]').waitFor();
  expect(await settingValue(page, 'settings-backend')).toBe('auto');
  await setSetting(page, 'settings-weights-dtype', 'f32');
  await setPlainGreedy(page, MAX_NEW_TOKENS);

  await chooseModel(page, 'gpt2');
  await page.getByTestId('download-progress').waitFor();
  await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
  expect(await page.getByTestId('model-backend').textContent()).toMatch(/^CPU \(WASM SIMD\), \d+ threads?$/);
  expect(await page.getByTestId('backend-reason').textContent()).toMatch(/^Why CPU \(WASM SIMD\): no WebGPU/);
  expect(await page.getByTestId('model-info').textContent()).toMatch(/of f32 weights/);

  const replySnapshots = await watchLastReply(page);
  await page.getByTestId('prompt').fill(PROMPT);
  await page.getByTestId('prompt').press('Enter');
  await expect.poll(() => page.getByTestId('reply').count()).toBe(1);
  await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
  const reply = await page.getByTestId('reply').textContent();
  expect(reply).toBe(expectedGreedyReply(PROMPT, MAX_NEW_TOKENS));
  // Streamed: part of the reply was on the page while the rest was still being written.
  const partial = (await replySnapshots()).filter((snapshot) => snapshot.writing && snapshot.text.length > 0 && snapshot.text !== reply);
  expect(partial.length).toBeGreaterThan(0);
  expect(partial.every((snapshot) => reply!.startsWith(snapshot.text))).toBe(true);
  expect(await page.getByTestId('tok-per-s').textContent()).toMatch(/\d/);
  expect(session.pageErrors).toEqual([]);
});
