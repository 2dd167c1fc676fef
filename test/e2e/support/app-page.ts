// Driving the app's page as a user does, for the e2e tests: opening the model list or the settings,
// choosing a model, changing a setting, and watching a reply being written.
import type { Page, Worker } from 'playwright-core';

/** The engine's workers (one while it runs), told apart by their script from the CPU backend's kernel threads. */
export function engineWorkers(page: Page): Worker[] {
  return page.workers().filter((worker) => /\/engine-worker[^/]*\.js$/.test(worker.url()));
}

export type Panel = 'models' | 'settings';
const PANEL_BUTTONS: Record<Panel, string> = { models: 'model-button', settings: 'settings-button' };

/** Opens the model list or the settings drawer from the header, unless it is open already. */
export async function openPanel(page: Page, panel: Panel): Promise<void> {
  // The dialog itself, not its host: the host's `open` follows the dialog's close event, a task later.
  if (await page.locator(`app-dialog#${panel} dialog[open]`).count()) return;
  await page.getByTestId(PANEL_BUTTONS[panel]).click();
  // The host has no box of its own (the dialog is in the top layer), so "attached", not "visible".
  await page.locator(`app-dialog#${panel}[open]`).waitFor({ state: 'attached' });
  // Then its slide-in (160 ms) ends: until then the drawer is partly transparent, which axe reads
  // as text without enough contrast, and it moves under the pointer. (A loaded machine can start
  // axe within those 160 ms.)
  await page.locator(`app-dialog#${panel} dialog`).evaluate((dialog) => Promise.all(dialog.getAnimations().map((animation) => animation.finished)));
}

/** Closes the model list or the settings drawer with its Close button, if it is open. */
export async function closePanel(page: Page, panel: Panel): Promise<void> {
  const dialog = page.locator(`app-dialog#${panel}[open]`);
  if (!(await dialog.count())) return;
  await dialog.getByTestId('dialog-close').click();
  await page.locator(`app-dialog#${panel}:not([open])`).waitFor({ state: 'attached' });
}

/** Opens the model list and chooses `id` in it (the list closes by itself once the model is ready). */
export async function chooseModel(page: Page, id: string): Promise<void> {
  await openPanel(page, 'models');
  await page.getByTestId('model-select').selectOption(id);
}

/**
 * Sets a settings field (a select, an input, or a checkbox: 'on' / 'off') and commits it, as leaving
 * the field does. The quick settings beside the prompt box are set where they are; the others in
 * the settings drawer, opened for it and closed again.
 */
export async function setSetting(page: Page, testId: string, value: string): Promise<void> {
  const field = page.getByTestId(testId);
  const inDrawer = !(await field.isVisible());
  if (inDrawer) await openPanel(page, 'settings');
  const kind = await field.evaluate((element) => (element instanceof HTMLInputElement ? element.type : element.tagName));
  if (kind === 'SELECT') await field.selectOption(value);
  else if (kind === 'checkbox') await field.setChecked(value === 'on');
  else await field.fill(value);
  if (kind !== 'checkbox') await field.dispatchEvent('change');
  if (inDrawer) await closePanel(page, 'settings');
}

/** Plain completion, greedy and unpenalised, up to `maxNewTokens`: the settings under which a reply can be held to the reference model's greedy continuation. */
export async function setPlainGreedy(page: Page, maxNewTokens: number): Promise<void> {
  await setSetting(page, 'settings-framing', 'plain');
  await setSetting(page, 'settings-temperature', '0');
  await setSetting(page, 'settings-repetition-penalty', '1');
  await setSetting(page, 'settings-max-new-tokens', String(maxNewTokens));
}

/** A setting's value as its field shows it, opening the settings drawer to read it there when it is in it (the drawer renders on first opening). */
export async function settingValue(page: Page, testId: string): Promise<string> {
  const field = page.getByTestId(testId);
  const inDrawer = !(await field.isVisible());
  if (inDrawer) await openPanel(page, 'settings');
  const value = await field.inputValue();
  if (inDrawer) await closePanel(page, 'settings');
  return value;
}

export interface ReplySnapshot {
  text: string;
  /** Whether the reply was still being written (its aria-busy). */
  writing: boolean;
}

/**
 * Records the last reply's text each time the conversation's DOM changes, from now until the
 * returned function is called, which gives the snapshots. Installed before a prompt is sent, it
 * sees every state the reply went through, however fast the tokens come.
 */
export async function watchLastReply(page: Page): Promise<() => Promise<ReplySnapshot[]>> {
  const chatLog = await page.locator('chat-log').elementHandle();
  if (!chatLog) throw new Error('the page has no <chat-log>');
  const watcher = await chatLog.evaluateHandle((log) => {
    const root = log.shadowRoot!;
    const snapshots: { text: string; writing: boolean }[] = [];
    const observer = new MutationObserver(() => {
      const reply = [...root.querySelectorAll('[data-testid=reply]')].at(-1);
      if (reply) snapshots.push({ text: reply.textContent ?? '', writing: reply.getAttribute('aria-busy') === 'true' });
    });
    observer.observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
    return { snapshots, observer };
  });
  return () => watcher.evaluate(({ snapshots, observer }) => {
    observer.disconnect();
    return snapshots;
  });
}

/** Sends `prompt` as a user does (typed, then Enter) and gives the reply once it is written. */
export async function replyTo(page: Page, prompt: string): Promise<string> {
  await closePanel(page, 'models');
  await closePanel(page, 'settings');
  const replies = page.getByTestId('reply');
  const before = await replies.count();
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('prompt').press('Enter');
  await replies.nth(before).waitFor();
  await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
  return (await replies.last().textContent()) ?? '';
}
