// npm run screenshot [-- --out docs/screenshots]
// Remakes the README's screenshots from the built app as a new user first meets it: a fresh
// profile, the built-in demo model loaded by itself, and its reply to a prompt in plain mode with the
// default sampling settings and a fixed seed (42), so the same build gives the same pictures. Four
// of them: a phone (360×740, touch) and a desktop (1280×800), each light and dark; and a fifth of
// looking inside, on the desktop in light: the reply coloured by probability, with the alternatives
// of its least likely token open.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build, preview } from 'vite';
import { setSetting } from '../test/e2e/support/app-page.ts';
import { chromiumLaunchOptions } from './chromium.ts';

const PROMPT = 'In the beginning God';
const DEVICES = {
  phone: { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
};

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/screenshots' } } });
mkdirSync(values.out, { recursive: true });
const outDir = '.cache/screenshot-dist';
await build({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } });
const server = await preview({ configFile: 'vite.config.ts', logLevel: 'error', build: { outDir }, preview: { port: 0, strictPort: false } });
const url = server.resolvedUrls!.local[0];

/** Of the reply's first `within` tokens, the index of the one the model thought least likely. */
async function leastLikelyToken(page: Page, within: number): Promise<number> {
  const labels = await page.getByTestId('token').evaluateAll((tokens) => tokens.map((token) => token.getAttribute('aria-label') ?? ''));
  // Each token's name ends with its probability: "the, 42.3%", or "and, <0.01%".
  const probability = (label: string) => {
    const match = /(<?)([\d.]+)%$/.exec(label);
    return !match ? 1 : match[1] ? 0 : Number(match[2]) / 100;
  };
  const probabilities = labels.slice(0, within).map(probability);
  return probabilities.indexOf(Math.min(...probabilities));
}

/** The reply coloured by probability, with the alternatives open of its least likely token in
 *  its first lines (they open above it, over the prompt, leaving the reply in view). */
async function shootLookInside(page: Page, path: string): Promise<void> {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.getByTestId('settings-look-inside').click();
  await page.getByTestId('probability-legend').waitFor();
  const count = await page.getByTestId('token').count();
  await page.getByTestId('token').nth(await leastLikelyToken(page, Math.ceil(count / 4))).click();
  await page.getByTestId('token-alternatives').waitFor();
  await page.screenshot({ path });
  console.log(`wrote ${path}`);
}

/** One device's pictures, from a fresh profile: the demo model's reply, in light and in dark. */
async function shoot(name: keyof typeof DEVICES): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'gpt2-screenshot-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, { ...chromiumLaunchOptions(), ...DEVICES[name] });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
    await setSetting(page, 'settings-framing', 'plain');
    await setSetting(page, 'settings-random-seed', 'off');
    await setSetting(page, 'settings-max-new-tokens', '60');
    await page.getByTestId('prompt').fill(PROMPT);
    await page.getByTestId('prompt').press('Enter');
    await page.getByTestId('reply').waitFor();
    await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
    // The "saved on this device" notice takes a line above the app; a user dismisses it.
    const offlineNotice = page.getByTestId('offline-ready');
    if (await offlineNotice.isVisible()) await offlineNotice.getByRole('button', { name: 'OK' }).click();
    await page.evaluate(() => {
      let focused = document.activeElement;
      while (focused?.shadowRoot?.activeElement) focused = focused.shadowRoot.activeElement;
      (focused as HTMLElement | null)?.blur();
    });
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      const path = join(values.out, `${name}-${colorScheme}.png`);
      await page.screenshot({ path });
      console.log(`wrote ${path}`);
    }
    if (name === 'desktop') await shootLookInside(page, join(values.out, 'look-inside-light.png'));
  } finally {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

try {
  await shoot('phone');
  await shoot('desktop');
} finally {
  server.httpServer.close();
}
