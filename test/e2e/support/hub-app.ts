// The built app in Chromium against the stand-in hub, as the download tests open it: a fresh
// profile, the hub's log and mishaps cleared, no model loaded at the start (`&model=`), and the
// hub steered and read through its control routes (scripts/flaky-model-server-plugin.ts).
import type { Page } from 'playwright-core';
import type { Control, LoggedRequest } from '../../../scripts/flaky-model-server-plugin.ts';
import { setSetting } from './app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './app-server.ts';

export interface HubApp {
  server: AppServer;
  session: BrowserSession;
  page: Page;
  steerHub(control: Control): Promise<void>;
  hubLog(): Promise<LoggedRequest[]>;
  /** Clears the log and every mishap (and moves main back to each repository's first commit). */
  resetHub(): Promise<void>;
  close(): Promise<void>;
}

export interface HubAppOptions {
  webgpu?: boolean;
  /** Short replies, whatever the defaults, for tests about models rather than generation; null keeps the default. */
  maxNewTokens?: number | null;
}

export async function openHubApp({ webgpu = true, maxNewTokens = 4 }: HubAppOptions = {}): Promise<HubApp> {
  const server = await startAppServer();
  const post = async (path: string, body?: unknown) => {
    const response = await fetch(`${server.hubUrl}/${path}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new Error(`the stand-in hub refused ${path}: HTTP ${response.status} ${await response.text()}`);
  };
  await post('_reset');
  const session = await openBrowser({ webgpu });
  const { page } = session;
  await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}&model=`);
  await page.locator('gpt2-app[ready]').waitFor();
  if (maxNewTokens !== null) await setSetting(page, 'settings-max-new-tokens', String(maxNewTokens));
  return {
    server,
    session,
    page,
    steerHub: (control) => post('_control', control),
    hubLog: async () => (await fetch(`${server.hubUrl}/_log`)).json(),
    resetHub: () => post('_reset'),
    close: async () => {
      await session.close();
      await server.close();
    },
  };
}
