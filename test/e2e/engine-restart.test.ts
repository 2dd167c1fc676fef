// The built app when its engine worker dies in the middle of a reply (here it is closed from
// outside the page, through the DevTools protocol, as a crash or the browser would end it): the
// reply is marked interrupted with what happened and what to do, nothing in the conversation is
// lost (before or after a reload), a new engine is started, and once the model is loaded again
// the app replies as before.
import type { Page, Worker } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseModel, engineWorkers, setSetting } from './support/app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

const STOPPED_REPLY = /^Interrupted: the engine stopped \(.+\); it has been restarted: load the model again, then press Regenerate\.$/;
const STOPPED_NOTICE = /^The engine stopped \(.+\) and has been restarted: load the model again\.$/;
const DONE = /^gpt2 · seed \d+ · /;

describe('the app when its engine worker dies mid-reply', () => {
  let server: AppServer;
  let session: BrowserSession;
  let page: Page;

  const appState = () => page.locator('gpt2-app').getAttribute('model-state');
  const replies = () => page.getByTestId('reply');
  const lastStatus = () => page.getByTestId('reply-message').last().getByTestId('reply-status');
  /** The line under a reply that was written in full: which model, the seed and why it stopped. */
  const lastDone = () => page.getByTestId('reply-message').last().locator('.meta');


  async function chooseAndLoad(id: string): Promise<void> {
    await chooseModel(page, id);
    await expect.poll(appState, { timeout: 300_000 }).toBe('ready');
  }

  /** Sends `prompt` and waits for the reply to be written in full. */
  async function replyTo(prompt: string): Promise<void> {
    const before = await replies().count();
    await page.getByTestId('prompt').fill(prompt);
    await page.getByTestId('prompt').press('Enter');
    await expect.poll(() => replies().count()).toBe(before + 1);
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
  }

  /** The engine's worker, told apart by its script from the CPU backend's kernel threads it starts. */
  function engineWorker(): Worker {
    const workers = engineWorkers(page);
    expect(workers).toHaveLength(1);
    return workers[0];
  }

  beforeAll(async () => {
    server = await startAppServer();
    await fetch(`${server.hubUrl}/_reset`, { method: 'POST' });
    session = await openBrowser();
    page = session.page;
    await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}&model=`);
    await page.locator('gpt2-app[ready]').waitFor();
    // Plain completion at temperature 1 has no stop string, so a long reply runs until it is cut off.
    await setSetting(page, 'settings-framing', 'plain');
    await setSetting(page, 'settings-temperature', '1');
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });

  it('marks the reply interrupted, keeps the conversation, and replies again once the model is loaded again', async () => {
    await chooseAndLoad('gpt2');
    await setSetting(page, 'settings-max-new-tokens', '4');
    await replyTo('It was a dark and stormy night');
    const firstReply = await replies().first().textContent();
    expect(await page.getByTestId('reply-status').count()).toBe(0);

    await setSetting(page, 'settings-max-new-tokens', '2000');
    await page.getByTestId('prompt').fill('Once upon a time');
    await page.getByTestId('prompt').press('Enter');
    await expect.poll(async () => (await replies().last().textContent())?.length ?? 0, { timeout: 120_000 }).toBeGreaterThan(0);
    const oldWorker = engineWorker();
    const ended = new Promise((resolve) => oldWorker.once('close', resolve));
    // Ends the worker's event loop for good: nothing it was doing finishes, and nothing tells the page.
    void oldWorker.evaluate(() => self.close()).catch(() => {});
    await ended;

    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 60_000 });
    await expect.poll(() => lastStatus().textContent()).toMatch(STOPPED_REPLY);
    expect(await page.getByTestId('error').locator('p').allTextContents()).toEqual([expect.stringMatching(STOPPED_NOTICE)]);
    await expect.poll(appState).toBe('idle');
    expect(await replies().first().textContent()).toBe(firstReply);
    const interruptedText = await replies().last().textContent();
    const prompts = await page.getByTestId('user-message').allTextContents();
    expect(prompts).toEqual(['It was a dark and stormy night', 'Once upon a time']);
    // A new engine has taken the old one's place, with no model and so no kernel threads: those of
    // the old one ended with it.
    await expect.poll(() => page.workers().length).toBe(1);
    expect(engineWorker()).not.toBe(oldWorker);

    await page.reload();
    await page.locator('gpt2-app[ready]').waitFor();
    expect(await page.getByTestId('user-message').allTextContents()).toEqual(prompts);
    expect(await replies().allTextContents()).toEqual([firstReply, interruptedText]);
    expect(await lastStatus().textContent()).toMatch(STOPPED_REPLY);

    await chooseAndLoad('gpt2');
    await setSetting(page, 'settings-max-new-tokens', '4');
    // What the interrupted reply says to do: Regenerate writes it again in its place.
    await page.getByTestId('regenerate').click();
    await expect.poll(() => lastDone().count(), { timeout: 300_000 }).toBe(1);
    expect(await lastDone().textContent()).toMatch(DONE);
    expect(await replies().count()).toBe(2);
    await replyTo('The end');
    expect(await lastDone().textContent()).toMatch(DONE);
    expect(await replies().count()).toBe(3);
    expect(session.pageErrors).toEqual([]);
  });
});
