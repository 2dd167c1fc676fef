// Driving the app's page as a user does, for the e2e tests: changing a setting, and watching a
// reply being written.
import type { Page, Worker } from 'playwright-core';

/** The engine's workers (one while it runs), told apart by their script from the CPU backend's kernel threads. */
export function engineWorkers(page: Page): Worker[] {
  return page.workers().filter((worker) => /\/engine-worker[^/]*\.js$/.test(worker.url()));
}

/** Sets a settings field (a select or an input) and commits it, as leaving the field does. */
export async function setSetting(page: Page, testId: string, value: string): Promise<void> {
  const field = page.getByTestId(testId);
  if ((await field.evaluate((element) => element.tagName)) === 'SELECT') await field.selectOption(value);
  else await field.fill(value);
  await field.dispatchEvent('change');
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
  const replies = page.getByTestId('reply');
  const before = await replies.count();
  await page.getByTestId('prompt').fill(prompt);
  await page.getByTestId('prompt').press('Enter');
  await replies.nth(before).waitFor();
  await page.locator('gpt2-app:not([generating])').waitFor({ timeout: 300_000 });
  return (await replies.last().textContent()) ?? '';
}
