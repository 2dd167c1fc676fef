// The built app (vite build) served by `vite preview` on localhost, with the stand-in hub for
// model downloads on the same server, and Chromium (WebGPU on unless asked) to drive it with Playwright.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build, preview, type Plugin, type PreviewServer } from 'vite';
import { chromiumLaunchOptions } from '../../../scripts/chromium.ts';
import { flakyModelServerPlugin } from '../../../scripts/flaky-model-server-plugin.ts';

export const HUB_PREFIX = '/test-hub/';
const OUT_DIR = '.cache/e2e-dist';
const HUB_DIR = '.cache/e2e-hub';
const FIXTURE = resolve('../shared/fixtures/tiny-gpt2');

const DIALOGPT_FIXTURE = resolve('test/fixtures/torch/tiny-dialogpt');

/**
 * The hub's layout, filled with tiny fixtures:
 * - two catalog entries: "gpt2" gets the F32 safetensors (and a pytorch_model.bin it must not take),
 *   "gpt2-medium" the F16 one;
 * - microsoft/DialoGPT-small: the DialoGPT-format fixture, as pytorch_model.bin only;
 * - someone/tiny-gpt2-sharded: a safetensors shard index, its one shard, and a pytorch_model.bin;
 * - google-bert/bert-base-uncased: a BERT config, with weights that must never be fetched.
 */
function prepareHub(): string {
  rmSync(HUB_DIR, { recursive: true, force: true });
  const repo = (name: string, files: Record<string, string>) => {
    const dir = join(HUB_DIR, name);
    mkdirSync(dir, { recursive: true });
    for (const [file, target] of Object.entries(files)) symlinkSync(target, join(dir, file));
    return dir;
  };
  const config = join(FIXTURE, 'config.json');
  repo('openai-community/gpt2', { 'config.json': config, 'model.safetensors': join(FIXTURE, 'model.safetensors'), 'pytorch_model.bin': TORCH_F32_ZIP });
  repo('openai-community/gpt2-medium', { 'config.json': config, 'model.safetensors': join(FIXTURE, 'model.f16.safetensors') });
  repo('microsoft/DialoGPT-small', { 'config.json': join(DIALOGPT_FIXTURE, 'config.json'), 'pytorch_model.bin': join(DIALOGPT_FIXTURE, 'pytorch_model.bin') });
  const sharded = repo('someone/tiny-gpt2-sharded', { 'config.json': config, [SHARD]: join(FIXTURE, 'model.safetensors'), 'pytorch_model.bin': TORCH_F32_ZIP });
  writeFileSync(join(sharded, 'model.safetensors.index.json'), JSON.stringify(shardIndex(join(FIXTURE, 'model.safetensors'), SHARD)));
  const bert = repo('google-bert/bert-base-uncased', { 'model.safetensors': join(FIXTURE, 'model.safetensors') });
  writeFileSync(join(bert, 'config.json'), JSON.stringify({ architectures: ['BertForMaskedLM'], model_type: 'bert', vocab_size: 30522 }));
  return HUB_DIR;
}

const TORCH_F32_ZIP = resolve('test/fixtures/torch/tiny-f32-zip.bin');
export const SHARD = 'model-00001-of-00001.safetensors';

/** A safetensors shard index naming `shard` as the file of every tensor in `weightsPath`. */
function shardIndex(weightsPath: string, shard: string): object {
  const bytes = readFileSync(weightsPath);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, unknown>;
  const names = Object.keys(header).filter((name) => name !== '__metadata__');
  return { metadata: { total_size: bytes.length }, weight_map: Object.fromEntries(names.map((name) => [name, shard])) };
}

export interface AppServer {
  baseUrl: string;
  /** The stand-in hub's base URL, for the app's `?hub=` parameter. */
  hubUrl: string;
  close(): Promise<void>;
}

/** Writes `<meta name="app-build" content="<mark>">` into index.html. */
function buildMarkPlugin(mark: string): Plugin {
  return { name: 'e2e-build-mark', transformIndexHtml: () => [{ tag: 'meta', attrs: { name: 'app-build', content: mark }, injectTo: 'head' }] };
}

export interface BuildOptions {
  /**
   * Written into index.html as `<meta name="app-build" content="<mark>">`: two builds with
   * different marks are two releases, with different service worker precache manifests, and a
   * page shows which one it was served from.
   */
  buildMark?: string;
  /** GPT2_HUB_ORIGINS for this build only, as `GPT2_HUB_ORIGINS=... npm run build` sets it. */
  hubOrigins?: string;
}

/** Builds the app into `outDir`, replacing what was there. */
export async function buildApp(outDir: string, { buildMark, hubOrigins }: BuildOptions = {}): Promise<void> {
  // vite.config.ts reads the variable each time a build loads it.
  const environmentBefore = process.env.GPT2_HUB_ORIGINS;
  if (hubOrigins !== undefined) process.env.GPT2_HUB_ORIGINS = hubOrigins;
  try {
    await build({
      configFile: 'vite.config.ts',
      logLevel: 'error',
      build: { outDir, emptyOutDir: true },
      plugins: buildMark === undefined ? [] : [buildMarkPlugin(buildMark)],
    });
  } finally {
    if (environmentBefore === undefined) delete process.env.GPT2_HUB_ORIGINS;
    else process.env.GPT2_HUB_ORIGINS = environmentBefore;
  }
}

let built: Promise<unknown> | undefined;

/** What a static host that sets no headers sends: the browser's defaults, no isolation, no policy
 *  (an empty Content-Security-Policy header has no directives, so nothing is enforced by it). */
const NO_ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'unsafe-none', 'Cross-Origin-Embedder-Policy': 'unsafe-none', 'Content-Security-Policy': '' };

/** The default build's folder, built once per test file. */
export async function builtApp(): Promise<string> {
  built ??= buildApp(OUT_DIR);
  await built;
  return OUT_DIR;
}

export interface AppServerOptions {
  /** What the caller built there, instead of the default build. */
  outDir?: string;
  /** false: the server neither makes the app cross-origin isolated nor sends its policy, as a plain static host would not. */
  isolationHeaders?: boolean;
  /** Where to listen, instead of any free port on localhost. */
  host?: string;
  port?: number;
}

/**
 * Serves the app: by default built once per test run; with `outDir`, what the caller built there.
 * `vite preview` reads each file when it is asked for, so building into `outDir` again while the
 * server runs replaces the served app, as deploying a new release does.
 */
export async function startAppServer({ outDir, isolationHeaders = true, host, port }: AppServerOptions = {}): Promise<AppServer> {
  const served = outDir ?? (await builtApp());
  const server: PreviewServer = await preview({
    configFile: 'vite.config.ts',
    logLevel: 'error',
    build: { outDir: served },
    // vite.config.ts's headers, and the build's policy that the preview sends
    // (scripts/content-security-policy.ts), give way only to headers named here, so "no isolation"
    // and "no policy" have to be said explicitly.
    preview: {
      ...(host === undefined ? {} : { host }),
      port: port ?? 0,
      strictPort: port !== undefined,
      ...(isolationHeaders ? {} : { headers: NO_ISOLATION_HEADERS }),
    },
    plugins: [flakyModelServerPlugin(HUB_PREFIX, prepareHub())],
  });
  const baseUrl = server.resolvedUrls?.local[0];
  if (!baseUrl) throw new Error('vite preview did not report its address');
  return {
    baseUrl,
    hubUrl: new URL(HUB_PREFIX, baseUrl).href.replace(/\/$/, ''),
    close: () => new Promise<void>((resolve, reject) => server.httpServer.close((error) => (error ? reject(error) : resolve()))),
  };
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors, for tests to assert there were none. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** A phone as Playwright emulates one: its screen, a touch screen, and mobile viewport rules. */
export const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/**
 * Chromium with a fresh profile on disk (`phone`: emulating PHONE). A profile, rather than
 * Playwright's default incognito-like context, because Chromium never offers to install an app from
 * an incognito window.
 */
export async function openBrowser({ webgpu = true, phone = false } = {}): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'gpt2-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, { ...chromiumLaunchOptions({ webgpu }), ...(phone ? PHONE : {}) });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return {
    context,
    page,
    pageErrors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
