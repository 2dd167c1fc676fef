// The built app on a 360×740 touch phone: the demo model loads by itself, a chat goes back and forth
// by taps, the settings and the model list open and close, and at every step the page fits the
// screen's width (nothing scrolls sideways) and the prompt box is on the screen.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, PHONE, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';
import { settingValue } from './support/app-page.ts';

/** How wide the page is against the screen, and where the prompt box is. */
async function layout(page: Page): Promise<{ scrollWidth: number; innerWidth: number; promptBottom: number; innerHeight: number }> {
  const promptBox = await page.getByTestId('prompt').boundingBox();
  return page.evaluate((promptBottom) => ({
    scrollWidth: document.scrollingElement!.scrollWidth,
    innerWidth,
    promptBottom,
    innerHeight,
  }), promptBox ? promptBox.y + promptBox.height : Infinity);
}

describe('on a phone', () => {
  let server: AppServer;
  let session: BrowserSession;
  let page: Page;

  /** The page fits the screen's width; `withPrompt`: the prompt box is on the screen, not below it. */
  async function expectFits(step: string, withPrompt = true): Promise<void> {
    const { scrollWidth, innerWidth, promptBottom, innerHeight } = await layout(page);
    expect(scrollWidth, `${step}: the page is ${scrollWidth} px wide on a ${innerWidth} px screen`).toBeLessThanOrEqual(innerWidth);
    if (withPrompt) expect(promptBottom, `${step}: the prompt box ends at ${promptBottom} px on a ${innerHeight} px screen`).toBeLessThanOrEqual(innerHeight);
  }

  beforeAll(async () => {
    server = await startAppServer();
    session = await openBrowser({ webgpu: false, phone: true });
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });

  it('loads the demo, chats, and opens and closes the settings and the model list by touch, never wider than the screen', async () => {
    expect(page.viewportSize()).toEqual(PHONE.viewport);
    expect(await page.evaluate(() => matchMedia('(pointer: coarse)').matches)).toBe(true);
    await page.goto(server.baseUrl);
    await expectFits('first screen');
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 120_000 });
    await expectFits('demo model loaded');

    // A quick setting, beside the prompt box, then a chat turn sent with the Send button.
    await page.getByTestId('settings-max-new-tokens').tap();
    await page.getByTestId('settings-max-new-tokens').fill('24');
    await page.getByTestId('prompt').tap(); // leaving the field commits it
    await page.getByTestId('prompt').fill('And God said unto Noah, '.repeat(12));
    await expectFits('long prompt typed');
    await page.getByTestId('send').tap();
    await page.getByTestId('reply').waitFor();
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 120_000 });
    expect(((await page.getByTestId('reply').last().textContent()) ?? '').length).toBeGreaterThan(0);
    await expectFits('reply written');

    // The settings drawer: over the whole screen, and closed again with its Close button.
    await page.getByTestId('settings-button').tap();
    const settings = page.locator('app-dialog#settings[open]');
    await settings.waitFor({ state: 'attached' });
    const topK = page.getByTestId('settings-top-k');
    const box = (await topK.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.viewport.width);
    await topK.tap();
    await topK.fill('20');
    await expectFits('settings open', false);
    await settings.getByTestId('dialog-close').tap();
    await page.locator('app-dialog#settings:not([open])').waitFor({ state: 'attached' });
    await expectFits('settings closed');

    // The model list, from the model button in the header.
    await page.getByTestId('model-button').tap();
    const models = page.locator('app-dialog#models[open]');
    await models.waitFor({ state: 'attached' });
    expect(await page.getByTestId('model-select').isVisible()).toBe(true);
    await expectFits('model list open', false);
    await models.getByTestId('dialog-close').tap();
    await page.locator('app-dialog#models:not([open])').waitFor({ state: 'attached' });
    await expectFits('model list closed');

    // What was set in the drawer and beside the prompt box was kept.
    await page.reload();
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('settings-max-new-tokens').inputValue()).toBe('24');
    expect(await settingValue(page, 'settings-top-k')).toBe('20');
    await expectFits('reloaded, with the conversation restored');
    expect(session.pageErrors).toEqual([]);
  });
});
