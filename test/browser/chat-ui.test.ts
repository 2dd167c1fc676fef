// The app's UI in real Chromium, against a stand-in engine (the real one is tested through its
// worker elsewhere; here only what the UI does with the engine's answers matters): model choice,
// download progress, sending with Enter, streaming, Stop, markup shown as text, settings kept,
// errors shown, the conversation restored after a reload; looking inside a reply: its tokens
// coloured by probability, their alternatives by pointer and keyboard, branching and its versions.
import { afterEach, expect, it, vi } from 'vitest';
import { page, userEvent } from 'vitest/browser';
import type {
  CachedModel,
  DownloadProgress,
  DownloadRequest,
  HubModelRequest,
  GenerationEvent,
  GenerationResult,
  GenerationSettings,
  LoadOptions,
  ModelInfo,
  ModelSource,
  PromptScore,
  TokenChance,
  TokenInsight,
} from '../../src/worker/engine-api.ts';
import type { AppDialog } from '../../src/ui/app-dialog.ts';
import type { AppEngine } from '../../src/ui/app-engine.ts';
import { hubFileUrl } from '../../src/storage/hub-repo.ts';
import type { EngineClientNotice } from '../../src/worker/engine-client.ts';
import { ConversationStore } from '../../src/ui/conversation-store.ts';
import '../../src/ui/gpt2-app.ts';
import type { Gpt2App } from '../../src/ui/gpt2-app.ts';
import { SettingsStore } from '../../src/ui/settings.ts';

// Everything here is answered at once by the stand-in engine; a test that waits longer is stuck.
vi.setConfig({ testTimeout: 20_000 });

const GPT2_INFO: ModelInfo = {
  name: 'GPT-2 (124M)',
  config: { vocabSize: 50257, nCtx: 1024, nEmbd: 768, nLayer: 12, nHead: 12 },
  parameterCount: 124_439_808,
  weightsDtype: 'f32',
  matrixArithmetic: 'f32',
  weightBytes: 497_759_232,
  kvCache: { dtype: 'f32', bytes: 75_497_472 },
  backend: 'webgpu',
  backendReason: 'a GPU is available (Test Adapter)',
  adapter: 'Test Adapter',
  threads: 1,
  loadMs: 1500,
  fromSavedLayout: false,
};

/** What the engine answers when it put the model on the CPU: no GPU but a software one here. */
const GPT2_ON_CPU: ModelInfo = {
  ...GPT2_INFO,
  weightsDtype: 'int8',
  matrixArithmetic: 'integer',
  weightBytes: 163_037_184,
  kvCache: { dtype: 'bf16', bytes: 37_748_736 },
  backend: 'cpu',
  backendReason: 'the only WebGPU adapter is a software one (Test SwiftShader), slower than WASM SIMD',
  adapter: 'WASM SIMD, 2 threads',
  threads: 2,
};

const SAVED_GPT2: CachedModel = { id: 'gpt2', label: 'GPT-2 (124M)', bytes: 548_105_171, files: ['config.json', 'model.safetensors'], savedAt: 1 };

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/** The engine's API with answers the test gives when it chooses: nothing here runs a model. */
class FakeEngine implements AppEngine {
  cached: CachedModel[] = [];
  loaded: ModelInfo | null = null;
  loads: { source: ModelSource; options: LoadOptions }[] = [];
  downloads: DownloadRequest[] = [];
  generations: { prompt: string; settings: GenerationSettings; replyStart?: number[] }[] = [];
  aborts = 0;
  cancels = 0;
  deletes: string[] = [];
  /** Set to make the next load fail with this message. */
  failNextLoad: string | null = null;
  /** What a load answers (with the weights dtype the caller asked for, if any). */
  loadedInfo: ModelInfo = GPT2_INFO;
  /** Set to answer stats() this many ms later, as a busy worker does. */
  statsDelayMs = 0;
  private onEvent: ((event: GenerationEvent) => void) | null = null;
  private generation: Deferred<GenerationResult> | null = null;
  private onDownloadProgress: ((progress: DownloadProgress) => void) | null = null;
  private download_: Deferred<CachedModel> | null = null;
  private noticeListeners: ((notice: EngineClientNotice) => void)[] = [];

  onNotice = (listener: (notice: EngineClientNotice) => void) => void this.noticeListeners.push(listener);

  notify(notice: EngineClientNotice): void {
    for (const listener of this.noticeListeners) listener(notice);
  }

  api = {
    abort: async () => {
      this.aborts++;
    },
    // The hub's listing is the stand-in hub's job (e2e tests); here a repo is its catalog entry's files.
    resolveHubModel: async (request: HubModelRequest): Promise<DownloadRequest> => ({
      id: request.id,
      label: request.label,
      configUrl: hubFileUrl(request.hubUrl, request.repo, 'config.json', request.revision),
      weightsUrl: hubFileUrl(request.hubUrl, request.repo, 'model.safetensors', request.revision),
      ...(request.conversation ? { conversation: request.conversation } : {}),
    }),
    cancelDownload: async () => {
      this.cancels++;
      this.download_?.reject(new Error('The download was cancelled'));
    },
    listCachedModels: async () => [...this.cached],
    deleteCachedModel: async (id: string) => {
      this.deletes.push(id);
      this.cached = this.cached.filter((model) => model.id !== id);
    },
    storageInfo: async () => ({ usageBytes: this.cached.reduce((sum, model) => sum + model.bytes, 0), quotaBytes: 10e9, persisted: false }),
    stats: async () => {
      if (this.statsDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.statsDelayMs));
      return { model: this.loaded, lastGeneration: null };
    },
  };

  load = async (source: ModelSource, options: LoadOptions, onProgress?: (progress: { phase: 'weights' | 'kernels'; bytesDone: number; bytesTotal: number }) => void) => {
    this.loads.push({ source, options });
    onProgress?.({ phase: 'weights', bytesDone: 50, bytesTotal: 100 });
    if (this.failNextLoad) {
      const message = this.failNextLoad;
      this.failNextLoad = null;
      throw new Error(message);
    }
    this.loaded = { ...this.loadedInfo, weightsDtype: options.weightsDtype ?? this.loadedInfo.weightsDtype };
    return this.loaded;
  };

  generate = (prompt: string, settings: GenerationSettings, onEvent: (event: GenerationEvent) => void, replyStart?: number[]) => {
    this.generations.push({ prompt, settings, ...(replyStart && { replyStart }) });
    this.onEvent = onEvent;
    return new Promise<GenerationResult>((resolve, reject) => (this.generation = { resolve, reject }));
  };

  download = (request: DownloadRequest, onProgress?: (progress: DownloadProgress) => void) => {
    this.downloads.push(request);
    this.onDownloadProgress = onProgress ?? null;
    return new Promise<CachedModel>((resolve, reject) => (this.download_ = { resolve, reject }));
  };

  /** Sends the prompt-done event and one token event per piece of text. */
  stream(...texts: string[]): void {
    if (this.generations.length > 0 && texts.length > 0) this.emit({ type: 'prompt-done', promptTokens: 12, ms: 40 });
    for (const [index, text] of texts.entries()) this.emit({ type: 'token', token: 100 + index, text, piece: text });
  }

  /** As the engine looking inside does: prompt-done with the prompt's score, then each token with its insight. */
  streamInspected(score: PromptScore | undefined, tokens: readonly TokenChance[]): void {
    this.emit({ type: 'prompt-done', promptTokens: score?.tokens.length ?? 12, ms: 40, ...(score && { score }) });
    for (const chance of tokens) this.emit({ type: 'token', token: chance.token, text: chance.text, piece: chance.text, insight: insightFor(chance) });
  }

  emit(event: GenerationEvent): void {
    this.onEvent!(event);
  }

  finishGeneration(text: string, stopReason: GenerationResult['stopReason'] = 'stop-string', tokens = [1, 2, 3, 4]): void {
    this.generation!.resolve({
      text,
      tokens,
      stopReason,
      promptTokens: 12,
      promptTokensPerSecond: 300,
      generatedTokensPerSecond: 25.5,
      contextShifts: 0,
    });
  }

  failGeneration(message: string): void {
    this.generation!.reject(new Error(message));
  }

  reportDownload(progress: DownloadProgress): void {
    this.onDownloadProgress!(progress);
  }

  finishDownload(): void {
    const request = this.downloads.at(-1)!;
    const model = { id: request.id, label: request.label, bytes: 1_519_974_136, files: ['config.json', 'model.safetensors'], savedAt: 2 };
    this.cached.push(model);
    this.download_!.resolve(model);
  }
}

/**
 * What a stand-in model thought at a token: the token at its probability, three others sharing
 * what is left (halving), and the distribution sampled from, sharpened as a low temperature does.
 */
function insightFor(written: TokenChance): TokenInsight {
  const others = [1, 2, 3].map((rank) => ({ token: written.token * 10 + rank, text: ` other${rank}`, probability: (1 - written.probability) / 2 ** rank }));
  const top = [written, ...others].sort((a, b) => b.probability - a.probability);
  const squares = top.reduce((sum, chance) => sum + chance.probability ** 2, 0);
  return { probability: written.probability, top, sampled: top.map((chance) => ({ ...chance, probability: chance.probability ** 2 / squares })) };
}

interface Mounted {
  app: Gpt2App;
  engine: FakeEngine;
  settingsKey: string;
  databaseName: string;
  /** Takes the app out of the page and closes its database, keeping what it saved: half of a reload. */
  unmount(): void;
}

const cleanups: (() => Promise<unknown> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Mounts a <gpt2-app> on its own database and settings key (mount again with the same ones to reload). */
async function mount(
  engine = new FakeEngine(),
  { settingsKey = `chat-ui-${crypto.randomUUID()}`, databaseName = `chat-ui-${crypto.randomUUID()}`, startModelId = null as string | null, hub = null as string | null } = {},
): Promise<Mounted> {
  const conversations = await ConversationStore.open(databaseName);
  const app = document.createElement('gpt2-app');
  app.engine = engine;
  app.conversations = conversations;
  app.settingsStore = new SettingsStore(localStorage, settingsKey);
  app.startModelId = startModelId;
  app.hubUrlOverride = hub;
  document.body.append(app);
  const unmount = () => {
    app.remove();
    conversations.close();
  };
  cleanups.push(() => {
    localStorage.removeItem(settingsKey);
    localStorage.removeItem(`${settingsKey}.lastModel`);
    return new Promise((resolve) => (indexedDB.deleteDatabase(databaseName).onsuccess = resolve));
  });
  cleanups.push(unmount);
  await expect.poll(() => app.hasAttribute('ready')).toBe(true);
  return { app, engine, settingsKey, databaseName, unmount };
}

/** Mounts the app with GPT-2 saved, and chooses it in the model list. */
async function mountWithModel(options: Parameters<typeof mount>[1] = {}): Promise<Mounted> {
  const engine = new FakeEngine();
  engine.cached = [SAVED_GPT2];
  const mounted = await mount(engine, options);
  await chooseModel('gpt2');
  await expect.poll(() => mounted.app.getAttribute('model-state')).toBe('ready');
  return mounted;
}

const replies = () => page.getByTestId('reply');
const prompt = () => page.getByTestId('prompt');

/** The app's model list or settings drawer (app-dialog), opened from the header unless it is open. */
async function openPanel(panel: 'models' | 'settings'): Promise<void> {
  const dialog = document.querySelector('gpt2-app')!.shadowRoot!.querySelector<AppDialog>(`app-dialog#${panel}`)!;
  if (!dialog.open) await userEvent.click(page.getByTestId(panel === 'models' ? 'model-button' : 'settings-button'));
  await expect.poll(() => dialog.open).toBe(true);
}

/** Opens the model list and chooses `id` in it. */
async function chooseModel(id: string): Promise<void> {
  await openPanel('models');
  await userEvent.selectOptions(page.getByTestId('model-select'), id);
}

/** Does `change` in the settings drawer, then closes it with Escape as a user would. */
async function inSettingsDrawer(change: () => Promise<unknown>): Promise<void> {
  await openPanel('settings');
  await change();
  await userEvent.keyboard('{Escape}');
  await expect.poll(() => document.querySelector('gpt2-app')!.shadowRoot!.querySelector<AppDialog>('app-dialog#settings')!.open).toBe(false);
}

async function typeAndEnter(text: string): Promise<void> {
  await userEvent.fill(prompt(), text);
  await userEvent.keyboard('{Enter}');
}

/** Sends `text` and waits for the app to ask the engine for a reply (it saves the conversation first). */
async function send(engine: FakeEngine, text: string): Promise<void> {
  const before = engine.generations.length;
  await typeAndEnter(text);
  await expect.poll(() => engine.generations.length).toBe(before + 1);
}

it('renders the model list only when it is first opened, then keeps it with what was typed in it', async () => {
  await mount(new FakeEngine());
  const picker = () => document.querySelector('gpt2-app')!.shadowRoot!.querySelector('model-picker');
  expect(picker()).toBeNull();
  await openPanel('models');
  const first = picker();
  expect(first).not.toBeNull();
  await userEvent.fill(page.getByTestId('hub-repo'), 'someone/half-typed');
  await userEvent.keyboard('{Escape}');
  await openPanel('models');
  expect(picker()).toBe(first);
  await expect.element(page.getByTestId('hub-repo')).toHaveValue('someone/half-typed');
});

it('lists saved models with their size and catalog models with their download size', async () => {
  const engine = new FakeEngine();
  engine.cached = [SAVED_GPT2];
  await mount(engine);
  await openPanel('models');
  const options = Array.from((page.getByTestId('model-select').element() as HTMLSelectElement).options, (option) => [option.value, option.textContent!.trim()]);
  expect(options).toContainEqual(['gpt2', 'GPT-2 (124M) — 548 MB']);
  expect(options).toContainEqual(['gpt2-medium', 'GPT-2 Medium (355M) — 1.52 GB, not downloaded']);
  // A saved model is not offered for download again.
  expect(options.filter(([value]) => value === 'gpt2')).toHaveLength(1);
  await expect.element(page.getByTestId('storage-info')).toHaveTextContent('548 MB used');
});

it('loads the chosen saved model with the weights dtype from the settings, and shows its size and arithmetic', async () => {
  const engine = new FakeEngine();
  engine.cached = [SAVED_GPT2];
  engine.loadedInfo = { ...GPT2_INFO, matrixArithmetic: 'f16' }; // as on a GPU with shader-f16
  await mount(engine);
  await expect.element(page.getByTestId('send')).toBeDisabled();
  await inSettingsDrawer(() => userEvent.selectOptions(page.getByTestId('settings-weights-dtype'), 'f16'));
  await chooseModel('gpt2');
  await expect.element(page.getByTestId('model-info')).toHaveTextContent('GPT-2 (124M)');
  await expect.element(page.getByTestId('model-info')).toHaveTextContent('124M parameters · 498 MB of f16 weights · 75.5 MB f32 KV cache · f16 arithmetic in the MLP · WebGPU on Test Adapter');
  expect(engine.loads).toEqual([{ source: { kind: 'cached', id: 'gpt2' }, options: { weightsDtype: 'f16' } }]);
  await expect.element(page.getByTestId('send')).toBeEnabled();
});

it('loads on the backend and with the weights format chosen in the settings, shows them, and keeps the choice', async () => {
  const engine = new FakeEngine();
  engine.cached = [SAVED_GPT2];
  engine.loadedInfo = { ...GPT2_ON_CPU, backendReason: 'chosen in the settings' };
  const { settingsKey, unmount } = await mount(engine);
  await inSettingsDrawer(() => userEvent.selectOptions(page.getByTestId('settings-backend'), 'cpu'));
  await inSettingsDrawer(() => userEvent.selectOptions(page.getByTestId('settings-weights-dtype'), 'int8'));
  await chooseModel('gpt2');
  await expect.element(page.getByTestId('model-info')).toHaveTextContent('124M parameters · 163 MB of int8 weights · 37.7 MB bf16 KV cache · integer arithmetic · CPU (WASM SIMD), 2 threads');
  await expect.element(page.getByTestId('backend-reason')).toHaveTextContent('Why CPU (WASM SIMD): chosen in the settings');
  expect(engine.loads).toEqual([{ source: { kind: 'cached', id: 'gpt2' }, options: { backend: 'cpu', weightsDtype: 'int8' } }]);

  unmount();
  await mount(new FakeEngine(), { settingsKey });
  await openPanel('settings');
  await expect.element(page.getByTestId('settings-backend')).toHaveValue('cpu');
  await expect.element(page.getByTestId('settings-weights-dtype')).toHaveValue('int8');
});

it('shows where the engine chose to run the model, on how many threads, and why', async () => {
  const engine = new FakeEngine();
  engine.cached = [SAVED_GPT2];
  engine.loadedInfo = GPT2_ON_CPU;
  await mount(engine);
  await inSettingsDrawer(() => expect.element(page.getByTestId('settings-backend')).toHaveValue('auto'));
  await chooseModel('gpt2');
  const backend = page.getByTestId('model-backend');
  await expect.element(backend).toHaveTextContent('CPU (WASM SIMD), 2 threads');
  await expect.element(backend).toHaveAttribute('title', GPT2_ON_CPU.backendReason);
  await expect.element(page.getByTestId('backend-reason')).toHaveTextContent(`Why CPU (WASM SIMD): ${GPT2_ON_CPU.backendReason}`);
  await expect.element(page.getByTestId('model-info')).toHaveTextContent('163 MB of int8 weights');
  await expect.element(page.getByTestId('model-kv-cache')).toHaveTextContent('37.7 MB bf16 KV cache');
  // Automatic leaves both choices to the engine.
  expect(engine.loads).toEqual([{ source: { kind: 'cached', id: 'gpt2' }, options: {} }]);
});

it('sends with Enter, adds a line with Shift+Enter, and streams the reply in as tokens arrive', async () => {
  const { engine } = await mountWithModel();
  await userEvent.click(prompt());
  await userEvent.keyboard('Hello{Shift>}{Enter}{/Shift}world');
  await expect.element(prompt()).toHaveValue('Hello\nworld');
  expect(engine.generations).toHaveLength(0);

  await userEvent.keyboard('{Enter}');
  await expect.poll(() => engine.generations.length).toBe(1);
  expect(engine.generations[0].prompt).toMatch(/\nUser: Hello\nworld\nGPT-2:$/);
  expect(engine.generations[0].settings.stopStrings).toContain('\nUser:');
  await expect.element(prompt()).toHaveValue('');
  await expect.element(page.getByTestId('stop')).toBeVisible();

  engine.stream(' Hi', ' there');
  await expect.element(replies()).toHaveTextContent('Hi there');
  await expect.element(page.getByTestId('tok-per-s')).toHaveTextContent('Prompt: 300 tok/s (12 tokens)');
  engine.stream(',');
  await expect.element(replies()).toHaveTextContent('Hi there,');

  engine.finishGeneration(' Hi there, friend.\n');
  await expect.poll(() => replies().element().textContent).toBe('Hi there, friend.');
  await expect.element(page.getByTestId('send')).toBeVisible();
  expect(page.getByTestId('stop').query()).toBeNull();
  await expect.element(page.getByTestId('tok-per-s')).toHaveTextContent('Generation: 25.5 tok/s (4 tokens)');
});

it('keeps a finished reply finished when the last token events arrive after the result', async () => {
  // The engine's events and its result travel on different message channels, so a fast backend's
  // last tokens can come in after the result.
  const { engine } = await mountWithModel();
  await send(engine, 'Hi');
  engine.stream(' Hello');
  engine.finishGeneration(' Hello there');
  const doneLine = () => page.getByTestId('reply-message').element().querySelector('.meta');
  await expect.poll(doneLine).not.toBeNull();
  engine.stream(' again');
  // Give a late event time to reach the page, as it would.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(replies().element().textContent).toBe('Hello there');
  expect(replies().element().getAttribute('aria-busy')).toBe('false');
  expect(doneLine()).not.toBeNull();
});

it('Stop asks the engine to abort, and the reply ends as stopped', async () => {
  const { engine } = await mountWithModel();
  await send(engine, 'Tell me a story');
  engine.stream(' Once');
  await userEvent.click(page.getByTestId('stop'));
  expect(engine.aborts).toBe(1);
  engine.finishGeneration(' Once', 'aborted');
  await expect.element(replies()).toHaveTextContent('Once');
  await expect.element(page.getByTestId('reply-message')).toHaveTextContent('stopped');
});

it('a Stop pressed while the conversation is still being saved ends the reply as stopped, and the engine is not asked for it', async () => {
  const { app, engine } = await mountWithModel();
  // Holds the save before the reply, as a busy disk does: the engine is asked only after it.
  const conversations = app.conversations;
  const save = conversations.save.bind(conversations);
  let releaseSave!: () => void;
  conversations.save = async (conversation) => {
    await new Promise<void>((resolve) => (releaseSave = resolve));
    return save(conversation);
  };
  await typeAndEnter('Tell me a story');
  await userEvent.click(page.getByTestId('stop'));
  conversations.save = save;
  releaseSave();
  await expect.element(page.getByTestId('reply-message')).toHaveTextContent('stopped');
  expect(engine.generations).toEqual([]);
  expect(page.getByTestId('stop').query()).toBeNull();
});

it('does not send an empty or whitespace-only prompt, and says why', async () => {
  const { engine } = await mountWithModel();
  await typeAndEnter('   \n  ');
  await expect.element(page.getByTestId('prompt-hint')).toHaveTextContent('Write something first');
  await userEvent.click(page.getByTestId('send'));
  expect(engine.generations).toHaveLength(0);
  expect(replies().query()).toBeNull();
});

it('shows markup in the model output as text, never as elements', async () => {
  const { engine } = await mountWithModel();
  const markup = '<script>window.__injected = true</script><img src=x onerror="window.__injected = true"><b>bold</b>';
  await send(engine, '<i>user markup</i>');
  engine.stream(` ${markup}`);
  engine.finishGeneration(` ${markup}`);
  await expect.element(replies()).toHaveTextContent(markup);
  const reply = replies().element();
  expect(reply.querySelector('script, img, b')).toBeNull();
  expect(page.getByTestId('user-message').element().textContent).toContain('<i>user markup</i>');
  expect((window as { __injected?: boolean }).__injected).toBeUndefined();
});

it('continues plain text as written and shows the continuation after it', async () => {
  const { engine } = await mountWithModel();
  await userEvent.selectOptions(page.getByTestId('settings-framing'), 'plain');
  await send(engine, 'Once upon a time');
  expect(engine.generations[0].prompt).toBe('Once upon a time');
  engine.stream(' there', ' was');
  engine.finishGeneration(' there was');
  await expect.poll(() => replies().element().textContent).toBe(' there was');
  await expect.element(page.getByTestId('reply-message')).toHaveTextContent('Once upon a time there was');
});

it('notes in the reply when the context filled up and old tokens were dropped', async () => {
  const { engine } = await mountWithModel();
  await send(engine, 'A long story');
  engine.emit({ type: 'context-shift', droppedTokens: 512 });
  engine.stream(' more');
  await expect.element(page.getByTestId('context-shift')).toHaveTextContent('context full: the oldest 512 tokens were dropped');
  engine.finishGeneration(' more');
});

it('regenerates the last reply in its place, and clears the conversation', async () => {
  const { engine } = await mountWithModel();
  await send(engine, 'Hi');
  engine.finishGeneration(' First answer');
  await expect.element(replies()).toHaveTextContent('First answer');
  await userEvent.click(page.getByTestId('regenerate'));
  await expect.poll(() => engine.generations.length).toBe(2);
  expect(engine.generations[1].prompt).toBe(engine.generations[0].prompt);
  engine.finishGeneration(' Second answer');
  await expect.element(replies()).toHaveTextContent('Second answer');
  expect(replies().elements()).toHaveLength(1);

  await userEvent.click(page.getByTestId('clear'));
  expect(replies().query()).toBeNull();
  expect(page.getByTestId('user-message').query()).toBeNull();
});

it('keeps settings across a reload, and refuses an out-of-range value with a message', async () => {
  const { engine, settingsKey, unmount } = await mountWithModel();
  await userEvent.fill(page.getByTestId('settings-temperature'), '0');
  await inSettingsDrawer(() => userEvent.fill(page.getByTestId('settings-top-k'), '7'));
  await userEvent.fill(page.getByTestId('settings-max-new-tokens'), '0');
  await userEvent.tab();
  await expect.element(page.getByTestId('settings-error')).toHaveTextContent('Max new tokens must be a whole number from 1');
  await send(engine, 'Hi');
  expect(engine.generations[0].settings).toMatchObject({ temperature: 0, topK: 7, maxNewTokens: 80 });
  engine.finishGeneration(' Hello');

  unmount();
  await mount(new FakeEngine(), { settingsKey });
  await expect.element(page.getByTestId('settings-temperature')).toHaveValue(0);
  await inSettingsDrawer(() => expect.element(page.getByTestId('settings-top-k')).toHaveValue(7));
  await expect.element(page.getByTestId('settings-max-new-tokens')).toHaveValue(80);
  expect(page.getByTestId('settings-error').query()).toBeNull();
});

it('downloads a catalog model from the hub with progress, then loads it', async () => {
  const { app, engine } = await mount(new FakeEngine(), { hub: 'http://localhost:9/hub/' });
  await chooseModel('gpt2-medium');
  await expect.poll(() => engine.downloads.length).toBe(1);
  expect(engine.downloads[0]).toMatchObject({
    id: 'gpt2-medium',
    configUrl: 'http://localhost:9/hub/openai-community/gpt2-medium/resolve/main/config.json',
    weightsUrl: 'http://localhost:9/hub/openai-community/gpt2-medium/resolve/main/model.safetensors',
  });
  expect(app.getAttribute('model-state')).toBe('downloading');
  engine.reportDownload({ file: 'model.safetensors', bytesDone: 760_000_000, bytesTotal: 1_520_000_000, bytesPerSecond: 10_000_000, secondsLeft: 76, resumedFrom: 0 });
  const progress = page.getByTestId('download-progress');
  await expect.element(progress).toHaveTextContent('760 MB of 1.52 GB (50%)');
  await expect.element(progress).toHaveTextContent('10.0 MB/s');
  await expect.element(progress).toHaveTextContent('about 1 min 16 s left');
  await expect.element(page.getByTestId('model-select')).toBeDisabled();

  engine.finishDownload();
  await expect.poll(() => app.getAttribute('model-state')).toBe('ready');
  // The weights dtype is left to the engine unless the settings name one.
  expect(engine.loads).toEqual([{ source: { kind: 'cached', id: 'gpt2-medium' }, options: {} }]);
  expect(progress.query()).toBeNull();
  await expect.element(page.getByTestId('model-select')).toHaveValue('gpt2-medium');
});

it('cancels a download without calling it an error', async () => {
  const { app, engine } = await mount();
  await chooseModel('gpt2');
  await expect.poll(() => engine.downloads.length).toBe(1);
  await userEvent.click(page.getByTestId('cancel-download'));
  expect(engine.cancels).toBe(1);
  await expect.element(page.getByTestId('model-notice')).toHaveTextContent('Choose it again to continue');
  expect(page.getByTestId('error').query()).toBeNull();
  expect(app.getAttribute('model-state')).toBe('idle');
  await expect.element(page.getByTestId('model-select')).toBeEnabled();
});

it('shows a failed load as a dismissible error and goes on working', async () => {
  const engine = new FakeEngine();
  engine.cached = [SAVED_GPT2];
  engine.failNextLoad = 'This GPU has too little memory for GPT-2 (124M)';
  const { app } = await mount(engine);
  await chooseModel('gpt2');
  await expect.element(page.getByTestId('error')).toHaveTextContent('Could not load GPT-2 (124M): This GPU has too little memory');
  expect(app.getAttribute('model-state')).toBe('idle');
  await userEvent.click(page.getByTestId('dismiss-error'));
  expect(page.getByTestId('error').query()).toBeNull();

  await chooseModel('gpt2');
  await expect.poll(() => app.getAttribute('model-state')).toBe('ready');
});

it('shows a chosen model as ready only once the model list has closed', async () => {
  const engine = new FakeEngine();
  engine.cached = [SAVED_GPT2];
  const { app } = await mount(engine);
  const list = app.shadowRoot!.querySelector<AppDialog>('app-dialog#models')!;
  const listOpen = () => list.shadowRoot!.querySelector('dialog')!.open;
  // What the page shows once the task that changed the state is over (the list closes a few
  // microtasks after the choice settles): model-state is set at every render, so this sees each.
  const shown: Array<{ state: string | null; listOpen: boolean }> = [];
  const observer = new MutationObserver(() => setTimeout(() => shown.push({ state: app.getAttribute('model-state'), listOpen: listOpen() })));
  observer.observe(app, { attributes: true, attributeFilter: ['model-state'] });
  cleanups.push(() => observer.disconnect());
  engine.statsDelayMs = 200; // the engine's answers after a load take a while,
  const otherRenders = setInterval(() => app.requestUpdate(), 20); // and the page renders meanwhile for other reasons
  cleanups.push(() => clearInterval(otherRenders));
  await chooseModel('gpt2');
  await expect.poll(() => shown.at(-1)).toEqual({ state: 'ready', listOpen: false });
  expect(shown.filter(({ state }) => state === 'loading')).not.toEqual([]);
  expect(shown.filter(({ state, listOpen }) => state === 'ready' && listOpen)).toEqual([]);
});

it('shows a failed reply as an error in the reply and in the error list', async () => {
  const { engine } = await mountWithModel();
  await send(engine, 'Hi');
  engine.failGeneration('The GPU device was lost');
  await expect.element(page.getByTestId('reply-status')).toHaveTextContent('Failed: The GPU device was lost');
  await expect.element(page.getByTestId('error')).toHaveTextContent('GPT-2 could not reply: The GPU device was lost');
  await expect.element(page.getByTestId('send')).toBeEnabled();
});

it('deletes a saved model after a second confirming press', async () => {
  const { engine } = await mountWithModel();
  await openPanel('models');
  await userEvent.click(page.getByTestId('delete-model'));
  expect(engine.deletes).toEqual([]);
  await userEvent.click(page.getByTestId('confirm-delete'));
  await expect.poll(() => engine.deletes).toEqual(['gpt2']);
  expect(page.getByTestId('cached-models').query()).toBeNull();
});

it('restores the conversation after a reload, with the reply that was being written marked interrupted', async () => {
  const { engine, settingsKey, databaseName, unmount } = await mountWithModel();
  await send(engine, 'First');
  engine.finishGeneration(' One');
  await expect.element(replies()).toHaveTextContent('One');
  await send(engine, 'Second');
  await expect.poll(() => engine.generations.length).toBe(2);
  // The page goes away while the second reply is being written.
  const reloadEngine = new FakeEngine();
  reloadEngine.cached = [SAVED_GPT2];
  unmount();

  const { app } = await mount(reloadEngine, { settingsKey, databaseName });
  await expect.element(replies().first()).toHaveTextContent('One');
  await expect.element(page.getByTestId('reply-status')).toHaveTextContent('Interrupted');
  expect(page.getByTestId('user-message').elements().map((element) => element.textContent)).toEqual(['First', 'Second']);
  // The last model used is loaded again.
  await expect.poll(() => app.getAttribute('model-state')).toBe('ready');
  expect(reloadEngine.loads[0].source).toEqual({ kind: 'cached', id: 'gpt2' });
});

/** A reply as a stand-in model looking inside writes it: each token with its probability. */
const ONCE_UPON: readonly TokenChance[] = [
  { token: 101, text: ' Once', probability: 0.9 },
  { token: 102, text: ' upon', probability: 0.5 },
  { token: 103, text: ' a', probability: 0.05 },
  { token: 104, text: ' time', probability: 0.004 },
];

const tokens = () => page.getByTestId('token');
const alternativesPanel = () => page.getByTestId('token-alternatives');
const alternativeButtons = () => page.getByTestId('alternative').elements() as HTMLButtonElement[];

/** The focused element, looking inside shadow roots. */
function focused(): HTMLElement | null {
  let element = document.activeElement;
  while (element?.shadowRoot?.activeElement) element = element.shadowRoot.activeElement;
  return element as HTMLElement | null;
}

/** Sends `text`; the stand-in replies with `words`, looking inside, and finishes. */
async function replyWith(engine: FakeEngine, text: string, words: readonly TokenChance[], score?: PromptScore): Promise<void> {
  await send(engine, text);
  engine.streamInspected(score, words);
  engine.finishGeneration(words.map((word) => word.text).join(''), 'end-of-text', words.map((word) => word.token));
  await expect.poll(() => document.querySelector('gpt2-app')!.hasAttribute('generating')).toBe(false);
}

/** Turns colouring by probability on with its button beside the prompt box. */
async function colourByProbability(): Promise<void> {
  const toggle = page.getByTestId('settings-look-inside');
  await expect.element(toggle).toHaveAttribute('aria-pressed', 'false');
  await userEvent.click(toggle);
  await expect.element(toggle).toHaveAttribute('aria-pressed', 'true');
}

it('colours each token of a reply by its probability when asked, under a legend, and remembers the choice', async () => {
  const { engine, settingsKey, databaseName, unmount } = await mountWithModel();
  await replyWith(engine, 'Tell me a story', ONCE_UPON);
  // Every reply is generated looking inside; it shows as plain text until colouring is on.
  expect(engine.generations[0].settings.inspect).toBe(true);
  await expect.element(replies()).toHaveTextContent('Once upon a time');
  expect(tokens().query()).toBeNull();
  expect(page.getByTestId('probability-legend').query()).toBeNull();

  await colourByProbability();
  const legend = page.getByTestId('probability-legend');
  await expect.element(legend).toBeVisible();
  expect(replies().element().textContent).toBe('Once upon a time');
  expect(tokens().elements().map((token) => token.textContent)).toEqual(['Once', ' upon', ' a', ' time']);
  // Not by colour alone: each token's name says how likely it was.
  expect(tokens().elements().map((token) => token.getAttribute('aria-label'))).toEqual(['Once, 90.0%', 'upon, 50.0%', 'a, 5.0%', 'time, 0.40%']);
  // Four probabilities in four of the legend's ranges: four shades, each the one the legend gives its range.
  const shade = (element: Element) => getComputedStyle(element).backgroundColor;
  const swatches = [...legend.element().querySelectorAll('.swatch')];
  const shadeOf = (range: string) => shade(swatches.find((swatch) => swatch.textContent === range)!);
  expect(tokens().elements().map(shade)).toEqual([shadeOf('70% or more'), shadeOf('30–70%'), shadeOf('1–10%'), shadeOf('under 1%')]);
  expect(new Set(tokens().elements().map(shade)).size).toBe(4);

  unmount();
  const reloaded = new FakeEngine();
  reloaded.cached = [SAVED_GPT2];
  await mount(reloaded, { settingsKey, databaseName });
  await expect.element(page.getByTestId('settings-look-inside')).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(() => tokens().elements().map((token) => token.getAttribute('aria-label'))).toEqual(['Once, 90.0%', 'upon, 50.0%', 'a, 5.0%', 'time, 0.40%']);
});

it("shows a token's alternatives while the pointer is on it, keeps them on a click, and closes them with Escape", async () => {
  const { engine } = await mountWithModel();
  await replyWith(engine, 'Tell me a story', ONCE_UPON);
  await colourByProbability();
  expect(alternativesPanel().query()).toBeNull();

  await userEvent.hover(tokens().nth(1));
  await expect.element(alternativesPanel()).toBeVisible();
  await expect.element(page.getByTestId('written-probability')).toHaveTextContent('50.0%');
  // The three others the stand-in model liked there, likeliest first, each with its probability
  // under the model and under the sharpened distribution it sampled from.
  const others = insightFor(ONCE_UPON[1]);
  expect(alternativeButtons().map((button) => Number(button.dataset.token))).toEqual(others.top.filter((chance) => chance.token !== 102).map((chance) => chance.token));
  for (const button of alternativeButtons()) {
    const token = Number(button.dataset.token);
    const model = others.top.find((chance) => chance.token === token)!.probability;
    const sampled = others.sampled.find((chance) => chance.token === token)!.probability;
    expect(button.textContent).toContain(`${(model * 100).toFixed(1)}%`);
    expect(button.textContent).toContain(`${(sampled * 100).toFixed(1)}%`);
  }
  await userEvent.unhover(tokens().nth(1));
  await expect.poll(() => alternativesPanel().query()).toBeNull();

  await userEvent.click(tokens().nth(1));
  await expect.element(alternativesPanel()).toBeVisible();
  // Kept open: neither another token under the pointer nor the pointer leaving replaces it.
  await userEvent.hover(tokens().nth(3));
  await userEvent.unhover(tokens().nth(3));
  await new Promise((resolve) => setTimeout(resolve, 500));
  await expect.element(page.getByTestId('written-probability')).toHaveTextContent('50.0%');
  await userEvent.keyboard('{Escape}');
  await expect.poll(() => alternativesPanel().query()).toBeNull();

  // A second click on the same token closes them too.
  await userEvent.click(tokens().nth(2));
  await expect.element(page.getByTestId('written-probability')).toHaveTextContent('5.0%');
  await userEvent.click(tokens().nth(2));
  await expect.poll(() => alternativesPanel().query()).toBeNull();
});

it('reaches the tokens with one Tab, moves with the arrow keys, opens the alternatives with Enter and goes back with Escape', async () => {
  const { engine } = await mountWithModel();
  await replyWith(engine, 'Tell me a story', ONCE_UPON);
  await colourByProbability();
  document.querySelector('gpt2-app')!.shadowRoot!.querySelector<HTMLElement>('chat-log')!.focus();

  await userEvent.tab();
  expect(focused()?.dataset.testid).toBe('token');
  expect(focused()?.dataset.index).toBe('0');
  await expect.element(page.getByTestId('written-probability')).toHaveTextContent('90.0%');
  await userEvent.keyboard('{ArrowRight}');
  expect(focused()?.dataset.index).toBe('1');
  await expect.element(page.getByTestId('written-probability')).toHaveTextContent('50.0%');
  await userEvent.keyboard('{End}');
  expect(focused()?.dataset.index).toBe('3');
  await userEvent.keyboard('{Home}{ArrowRight}');
  expect(focused()?.dataset.index).toBe('1');

  await userEvent.keyboard('{Enter}');
  await expect.poll(() => focused()?.dataset.testid).toBe('alternative');
  const first = focused()!.dataset.token;
  await userEvent.keyboard('{ArrowDown}');
  expect(focused()?.dataset.token).not.toBe(first);
  await userEvent.keyboard('{Escape}');
  expect(focused()?.dataset.index).toBe('1');
  await expect.poll(() => alternativesPanel().query()).toBeNull();

  // The tokens are one stop: the next Tab leaves them.
  await userEvent.tab();
  expect(focused()?.dataset.testid).toBe('copy-reply');
  expect(alternativesPanel().query()).toBeNull();
});

it('branches a reply at a token: keeps what came before, writes the alternative, goes on from there, and keeps both versions', async () => {
  const { engine, settingsKey, databaseName, unmount } = await mountWithModel();
  await replyWith(engine, 'Tell me a story', ONCE_UPON);
  await colourByProbability();
  await userEvent.click(tokens().nth(2));
  const [alternative] = alternativeButtons();
  const chosen = insightFor(ONCE_UPON[2]).top.find((chance) => chance.token === Number(alternative.dataset.token))!;
  await userEvent.click(alternative);

  await expect.poll(() => engine.generations.length).toBe(2);
  // The engine goes on after the kept tokens and the alternative, from the same prompt and settings.
  expect(engine.generations[1].replyStart).toEqual([ONCE_UPON[0].token, ONCE_UPON[1].token, chosen.token]);
  expect(engine.generations[1].prompt).toBe(engine.generations[0].prompt);
  expect(engine.generations[1].settings).toEqual(engine.generations[0].settings);
  await expect.element(page.getByTestId('version-label')).toHaveTextContent('2 of 2');
  await expect.poll(() => replies().element().textContent).toBe(`Once upon${chosen.text}`);
  // One reply at a time: the alternatives cannot branch while this one is written.
  await userEvent.click(tokens().nth(0));
  expect(alternativeButtons().length).toBeGreaterThan(0);
  expect(alternativeButtons().every((button) => button.disabled)).toBe(true);
  await userEvent.keyboard('{Escape}');

  const more: TokenChance[] = [{ token: 201, text: ' there', probability: 0.3 }, { token: 202, text: ' lived', probability: 0.2 }];
  engine.streamInspected(undefined, more);
  engine.finishGeneration(' there lived', 'end-of-text', [201, 202]);
  const branched = `Once upon${chosen.text} there lived`;
  await expect.poll(() => replies().element().textContent).toBe(branched);
  expect(tokens().elements().map((token) => token.textContent)).toEqual(['Once', ' upon', chosen.text, ' there', ' lived']);
  // The alternative stands in the token's place with its own probability there.
  expect(tokens().nth(2).element().getAttribute('aria-label')).toBe(`${chosen.text.trim()}, ${(chosen.probability * 100).toFixed(1)}%`);

  await userEvent.click(page.getByTestId('previous-version'));
  await expect.element(page.getByTestId('version-label')).toHaveTextContent('1 of 2');
  expect(replies().element().textContent).toBe('Once upon a time');
  await userEvent.click(page.getByTestId('next-version'));
  await expect.element(page.getByTestId('version-label')).toHaveTextContent('2 of 2');
  expect(replies().element().textContent).toBe(branched);

  // Both versions come back after a reload, each with its tokens.
  unmount();
  const reloaded = new FakeEngine();
  reloaded.cached = [SAVED_GPT2];
  await mount(reloaded, { settingsKey, databaseName });
  await expect.element(page.getByTestId('version-label')).toHaveTextContent('2 of 2');
  await expect.poll(() => replies().element().textContent).toBe(branched);
  await userEvent.click(page.getByTestId('previous-version'));
  await expect.poll(() => replies().element().textContent).toBe('Once upon a time');
  expect(tokens().elements().map((token) => token.getAttribute('aria-label'))).toEqual(['Once, 90.0%', 'upon, 50.0%', 'a, 5.0%', 'time, 0.40%']);

  // The conversation goes on from the version shown.
  await expect.poll(() => document.querySelector('gpt2-app')!.getAttribute('model-state')).toBe('ready');
  await send(reloaded, 'And then?');
  expect(reloaded.generations[0].prompt).toContain('GPT-2: Once upon a time\nUser: And then?');
});

it("shows how surprising the model found the prompt: its perplexity, and each token's id and surprisal", async () => {
  const { engine } = await mountWithModel();
  const score: PromptScore = { tokens: [464, 3797, 318], pieces: ['The', ' cat', ' is'], surprisal: [2.5, 4.1] };
  await replyWith(engine, 'The cat is', ONCE_UPON, score);
  expect(page.getByTestId('perplexity').query()).toBeNull();

  await colourByProbability();
  const perplexity = Math.exp((2.5 + 4.1) / 2);
  await expect.element(page.getByTestId('perplexity')).toHaveTextContent(`Perplexity ${perplexity.toPrecision(3)} over 2 tokens`);
  const toggle = page.getByTestId('prompt-tokens-toggle');
  await expect.element(toggle).toHaveAttribute('aria-expanded', 'false');
  await userEvent.click(toggle);
  await expect.element(toggle).toHaveAttribute('aria-expanded', 'true');
  const items = [...page.getByTestId('prompt-tokens').element().querySelectorAll('li')].map((item) => item.textContent!.replace(/\s+/g, ' ').trim());
  expect(items).toHaveLength(3);
  expect(items[0]).toMatch(/^“The” id 464 · – not scored$/);
  expect(items[1]).toMatch(/^“ cat” id 3797 · 2\.50 nats of surprisal$/);
  expect(items[2]).toMatch(/^“ is” id 318 · 4\.10 nats of surprisal$/);
});

it('shows a reply saved before tokens were kept as it was, with colouring on', async () => {
  const databaseName = `chat-ui-${crypto.randomUUID()}`;
  const older = await ConversationStore.open(databaseName);
  const now = Date.now();
  await older.save({
    id: crypto.randomUUID(), createdAt: now, updatedAt: now, messages: [
      { id: crypto.randomUUID(), role: 'user', text: 'Hello', framing: 'chat', createdAt: now, updatedAt: now },
      { id: crypto.randomUUID(), role: 'model', text: 'Hi there', framing: 'chat', createdAt: now, updatedAt: now, status: 'done', stopReason: 'stop-string' },
    ],
  });
  older.close();
  const engine = new FakeEngine();
  engine.cached = [SAVED_GPT2];
  await mount(engine, { databaseName });
  await colourByProbability();
  await expect.element(page.getByTestId('probability-legend')).toBeVisible();
  expect(replies().element().textContent).toBe('Hi there');
  expect(tokens().query()).toBeNull();
  expect(page.getByTestId('perplexity').query()).toBeNull();
  expect(page.getByTestId('version-label').query()).toBeNull();
});
