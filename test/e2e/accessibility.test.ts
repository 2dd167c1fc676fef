// axe-core (the rules behind Lighthouse's accessibility audit, and more) in real Chromium on the
// built app, with the demo model loaded and a reply shown: on a phone and a desktop, in light and
// dark, with the model list and the settings open too. Then what a screen reader hears of a reply,
// the focus in the dialogs, and the focus after Stop: it never falls back to the page.
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closePanel, openPanel, replyTo, setSetting } from './support/app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

const SIZES = { phone: { width: 360, height: 740 }, desktop: { width: 1280, height: 800 } };

/** The data-testid (or tag) of the focused element, looking inside shadow roots. */
function focusedTestId(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    let element: Element | null = document.activeElement;
    while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
    return element?.getAttribute('data-testid') ?? element?.tagName ?? null;
  });
}

/** Whether the focus is in the app's dialog `id` (its own controls, or the content slotted into it). */
function focusIsIn(page: Page, id: string): Promise<boolean> {
  return page.evaluate((id) => {
    const root = document.querySelector('gpt2-app')!.shadowRoot!;
    const dialog = root.querySelector(`app-dialog#${id}`)!;
    const focused = root.activeElement;
    return focused !== null && (focused === dialog || dialog.contains(focused));
  }, id);
}

/** axe's violations as "rule: target, target…" lines, so a failure says what and where. */
async function violations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

describe('accessibility', () => {
  let server: AppServer;
  let session: BrowserSession;
  let page: Page;
  let reply: string;

  beforeAll(async () => {
    server = await startAppServer();
    session = await openBrowser({ webgpu: false });
    page = session.page;
    // A first start: the demo model loads by itself.
    await page.goto(server.baseUrl);
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 120_000 });
    await setSetting(page, 'settings-max-new-tokens', '8');
    reply = await replyTo(page, 'In the beginning');
    expect(reply.length).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });
  // A failed check leaves its panel open over the page; the next test starts without it.
  afterEach(async () => {
    for (const panel of ['models', 'settings'] as const) await closePanel(page, panel);
  });

  it('announces a reply once, when it is complete, not token by token', async () => {
    expect(await page.getByTestId('reply-announcement').textContent()).toBe(`GPT-2 replied: ${reply}`);
    expect(await page.locator('chat-log [aria-live]').count()).toBe(1);
  });

  for (const [sizeName, size] of Object.entries(SIZES)) {
    for (const colorScheme of ['light', 'dark'] as const) {
      it(`finds no violations on a ${sizeName} (${size.width}×${size.height}) in ${colorScheme}, with the model list and the settings open too`, async () => {
        await page.setViewportSize(size);
        await page.emulateMedia({ colorScheme });
        expect(await violations(page)).toEqual([]);
        for (const panel of ['models', 'settings'] as const) {
          await openPanel(page, panel);
          expect(await violations(page), `${panel} open`).toEqual([]);
          await closePanel(page, panel);
        }
      });
    }
  }

  it('keeps the focus inside an open dialog, closes it with Escape, and gives the focus back to its button', async () => {
    await page.setViewportSize(SIZES.phone);
    await page.getByTestId('settings-button').focus();
    await page.keyboard.press('Enter');
    await page.locator('app-dialog#settings[open]').waitFor({ state: 'attached' });
    const outside: string[] = [];
    for (let presses = 0; presses < 30; presses++) {
      await page.keyboard.press('Tab');
      if (!(await focusIsIn(page, 'settings'))) outside.push(`${presses + 1}: ${await focusedTestId(page)}`);
    }
    expect(outside).toEqual([]);
    await page.keyboard.press('Escape');
    await page.locator('app-dialog#settings:not([open])').waitFor({ state: 'attached' });
    expect(await focusedTestId(page)).toBe('settings-button');
  });

  it("copies a reply's text with its Copy button", async () => {
    await session.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.baseUrl).origin });
    const copy = page.getByTestId('copy-reply').last();
    await copy.click();
    await expect.poll(() => copy.textContent()).toContain('Copied');
    const passage = await page.getByTestId('reply-message').last().locator('.text').textContent();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(passage);
  });

  it('keeps the focus on the prompt box after a reply is stopped, so typing goes on', async () => {
    await page.setViewportSize(SIZES.desktop);
    await setSetting(page, 'settings-max-new-tokens', '200');
    await page.getByTestId('prompt').fill('And the LORD said');
    await page.getByTestId('prompt').press('Enter');
    await page.locator('gpt2-app[generating]').waitFor();
    await page.getByTestId('stop').focus();
    await page.keyboard.press('Enter');
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 60_000 });
    expect(await focusedTestId(page)).toBe('prompt');
  });
});

describe('keyboard only', () => {
  let server: AppServer;
  let session: BrowserSession;
  let page: Page;

  /** Presses Tab until the element with `testId` has the focus. */
  async function tabTo(testId: string): Promise<void> {
    for (let presses = 0; presses < 60; presses++) {
      if ((await focusedTestId(page)) === testId) return;
      await page.keyboard.press('Tab');
    }
    throw new Error(`Tab never reached ${testId}`);
  }

  beforeAll(async () => {
    server = await startAppServer();
    session = await openBrowser({ webgpu: false });
    page = session.page;
    await page.goto(`${server.baseUrl}?model=`);
    await page.locator('gpt2-app[ready]').waitFor();
  });
  afterAll(async () => {
    await session?.close();
    await server?.close();
  });

  it('loads a model, sends a prompt, stops the reply and changes the temperature, all from the keyboard', async () => {
    // A reply long enough to be stopped by hand.
    await setSetting(page, 'settings-max-new-tokens', '2000');
    await tabTo('model-button');
    await page.keyboard.press('Enter');
    await tabTo('model-select');
    await page.keyboard.press('ArrowDown'); // the first model in the list: the demo
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 120_000 });
    // The model list closed by itself, and typing goes straight to the prompt box.
    await page.locator('app-dialog#models:not([open])').waitFor({ state: 'attached' });
    expect(await focusedTestId(page)).toBe('prompt');

    await page.keyboard.type('And God said');
    await page.keyboard.press('Enter');
    await page.locator('gpt2-app[generating]').waitFor();
    await page.keyboard.press('Tab');
    expect(await focusedTestId(page)).toBe('stop');
    await page.keyboard.press('Enter');
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('reply-message').last().locator('.meta').textContent()).toContain('stopped');
    expect(await focusedTestId(page)).toBe('prompt');

    await tabTo('settings-temperature');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('0.3');
    await page.keyboard.press('Tab');
    await page.reload();
    await page.locator('gpt2-app[ready]').waitFor();
    expect(await page.getByTestId('settings-temperature').inputValue()).toBe('0.3');
  });
});
