// The built app's Content-Security-Policy, in Chromium: inline scripts are refused, eval is not allowed,
// while the app itself (module scripts, its worker, the parser's WASM) still loads a model on
// either backend: on the CPU with its kernel threads (workers started by the engine's worker, with
// shared WASM memory), and on WebGPU.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chooseModel, engineWorkers, setSetting } from './support/app-page.ts';
import { openBrowser, startAppServer, type AppServer, type BrowserSession } from './support/app-server.ts';

let server: AppServer;
let session: BrowserSession;
beforeAll(async () => {
  server = await startAppServer();
  session = await openBrowser();
});
afterAll(async () => {
  await session?.close();
  await server?.close();
});

it('refuses inline scripts, allows no eval, and the app still loads a model on the CPU and on WebGPU', async () => {
  const page = session.page;
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${server.baseUrl}?hub=${encodeURIComponent(server.hubUrl)}&model=gpt2`);
  await page.locator('gpt2-app[ready]').waitFor();
  const policy = await page.locator('meta[http-equiv=Content-Security-Policy]').getAttribute('content');
  expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(policy).toMatch(/connect-src 'self' https:\/\/huggingface\.co/);

  const injected = await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.__inlineRan = true';
    document.body.append(script);
    return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
  });
  expect(injected).toBe(false);
  // eval cannot be tried from here (DevTools' evaluate is exempt from the page's policy); the
  // policy must simply not allow it.
  expect(policy).not.toContain("'unsafe-eval'");
  expect(policy).not.toMatch(/script-src[^;]*'unsafe-inline'/);
  expect(violations.length).toBeGreaterThan(0);
  const refusedInline = violations.length;

  // ?model= loads GPT-2 as the app starts, on the backend the engine chooses.
  await page.locator('gpt2-app[model-state=ready]').waitFor({ timeout: 300_000 });
  expect(await page.getByTestId('model-name').textContent()).not.toContain('Medium');

  await setSetting(page, 'settings-backend', 'cpu');
  await chooseModel(page, 'gpt2-medium');
  await expect.poll(() => page.getByTestId('model-name').textContent(), { timeout: 300_000 }).toContain('Medium');
  const threads = Number(/^CPU \(WASM SIMD\), (\d+) threads?$/.exec((await page.getByTestId('model-backend').textContent()) ?? '')?.[1]);
  expect(threads).toBeGreaterThan(1);

  await setSetting(page, 'settings-backend', 'webgpu');
  await chooseModel(page, 'gpt2');
  await expect.poll(() => page.getByTestId('model-name').textContent(), { timeout: 300_000 }).not.toContain('Medium');
  expect(await page.locator('gpt2-app').getAttribute('model-state')).toBe('ready');
  expect(await page.getByTestId('model-backend').textContent()).toMatch(/^WebGPU on /);
  // The policy refused nothing the app itself does.
  expect(violations).toHaveLength(refusedInline);
  expect(session.pageErrors).toEqual([]);
});

it("holds the engine's worker to the policy too: from the server, and from the service worker on a host that sends none", async () => {
  const page = session.page;
  /** What the engine's worker meets when it fetches from another origin: the violated directive, or not. */
  const workerFetchOutcome = async (baseUrl: string) => {
    // Another origin on this machine: 127.0.0.1 is not localhost to the browser.
    const elsewhere = baseUrl.replace('//localhost', '//127.0.0.1');
    expect(elsewhere).not.toBe(baseUrl);
    await expect.poll(() => engineWorkers(page).length).toBe(1);
    return engineWorkers(page)[0].evaluate((url) => new Promise<string>((resolve) => {
      self.addEventListener('securitypolicyviolation', (event) => resolve(event.effectiveDirective), { once: true });
      fetch(url).then(() => resolve('allowed'), () => setTimeout(() => resolve('no policy refused it'), 1000));
    }), elsewhere);
  };

  await page.goto(server.baseUrl);
  await page.locator('gpt2-app[ready]').waitFor();
  expect(await workerFetchOutcome(server.baseUrl)).toBe('connect-src');

  // A host that sends no headers: the first visit's worker has no policy; once the service worker
  // controls the page it serves the worker's script with one.
  const plainHost = await startAppServer({ isolationHeaders: false });
  try {
    await page.goto(plainHost.baseUrl);
    await page.locator('gpt2-app[ready]').waitFor();
    expect(await workerFetchOutcome(plainHost.baseUrl)).not.toBe('connect-src');
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload();
    await page.locator('gpt2-app[ready]').waitFor();
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    expect(await workerFetchOutcome(plainHost.baseUrl)).toBe('connect-src');
  } finally {
    await plainHost.close();
  }
});
