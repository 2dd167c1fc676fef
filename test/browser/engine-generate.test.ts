// Generation and model storage through the worker's API, as the app uses them: the tiny fixture
// is downloaded from a stand-in hub into the app's storage, loaded from there, and generates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationEvent, GenerationSettings } from '../../src/worker/engine-api.ts';
import { startEngine, type EngineClient } from '../../src/worker/engine-client.ts';

const hubUrl = (file: string) => new URL(`/flaky-hub/tiny-gpt2/resolve/main/${file}`, location.href).href;
const greedy: GenerationSettings = {
  maxNewTokens: 12, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 1, stopStrings: [],
};
const sampled: GenerationSettings = { ...greedy, temperature: 1.2, topK: 50, topP: 0.95, repetitionPenalty: 1.1, seed: 7 };
const prompt = 'The quick brown fox jumps over the lazy dog. In the beginning';

async function generateWithEvents(engine: EngineClient, text: string, settings: GenerationSettings, onEvent?: (event: GenerationEvent) => void) {
  const events: GenerationEvent[] = [];
  const result = await engine.generate(text, settings, (event) => {
    events.push(event);
    onEvent?.(event);
  });
  return { result, events };
}

for (const backend of ['webgpu', 'cpu'] as const) describe(`the engine worker API on ${backend}`, () => {
  let engine: EngineClient;
  const id = `test:tiny-gpt2:${backend}`;
  beforeAll(async () => {
    await fetch('/flaky-hub/_reset', { method: 'POST' });
    engine = startEngine();
    await engine.api.deleteCachedModel(id);
    const saved = await engine.download({ id, label: 'tiny GPT-2', configUrl: hubUrl('config.json'), weightsUrl: hubUrl('model.safetensors') });
    expect(saved.id).toBe(id);
    expect((await engine.api.listCachedModels()).map((model) => model.id)).toContain(id);
    // Each backend asked for by name: left to itself the engine would choose the CPU on SwiftShader.
    const info = await engine.load({ kind: 'cached', id }, { backend });
    expect(info.backend).toBe(backend);
    expect(info.config.nCtx).toBe(128);
  });
  afterAll(async () => {
    await engine?.api.deleteCachedModel(id);
    engine?.terminate();
  });

  it('greedy generation streams the same tokens as the verified greedy path', async () => {
    const promptTokens = await engine.api.tokenize(prompt);
    const expected = await engine.api.greedy(promptTokens, greedy.maxNewTokens);
    const { result, events } = await generateWithEvents(engine, prompt, greedy);
    expect(result.tokens).toEqual(expected.slice(0, result.tokens.length));
    if (result.stopReason !== 'end-of-text') expect(result.tokens).toEqual(expected);
    expect(events[0]).toMatchObject({ type: 'prompt-done', promptTokens: promptTokens.length });
    const streamed = events.filter((event) => event.type === 'token' || event.type === 'final-text').map((event) => 'text' in event ? event.text : '').join('');
    expect(streamed).toBe(result.text);
    expect(result.promptTokensPerSecond).toBeGreaterThan(0);
    expect((await engine.api.stats()).lastGeneration?.tokens).toEqual(result.tokens);
  });

  // Greedy replies decode as one stream of steps (decodeGreedy: on WebGPU the GPU feeds each argmax
  // to the next step and runs a step ahead); a top-1 sample reads every step's logits instead.
  it('greedy decoding gives what a top-1 sample of the full logits does, across context shifts and early stops', async () => {
    const topOne: GenerationSettings = { ...greedy, temperature: 1, topK: 1 };
    const longPrompt = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    for (const text of [prompt, longPrompt]) {
      const expected = await generateWithEvents(engine, text, { ...topOne, maxNewTokens: 40 });
      const { result } = await generateWithEvents(engine, text, { ...greedy, maxNewTokens: 40 });
      expect(result.tokens).toEqual(expected.result.tokens);
      expect(result.contextShifts).toBe(expected.result.contextShifts);
      if (text === longPrompt) expect(result.contextShifts).toBeGreaterThan(0);
    }
    // Stopped by a stop string with a step already queued past it, then the same reply again.
    const full = await generateWithEvents(engine, prompt, { ...greedy, maxNewTokens: 20 });
    const stop = full.result.text.slice(Math.floor(full.result.text.length / 2)).slice(0, 3);
    expect(stop.length).toBeGreaterThan(0);
    const cut = await generateWithEvents(engine, prompt, { ...greedy, maxNewTokens: 20, stopStrings: [stop] });
    expect(cut.result.stopReason).toBe('stop-string');
    expect(cut.result.tokens.length).toBeLessThan(20);
    expect(cut.result.text).toBe(full.result.text.slice(0, full.result.text.indexOf(stop)));
    const again = await generateWithEvents(engine, prompt, { ...greedy, maxNewTokens: 20 });
    expect(again.result.tokens).toEqual(full.result.tokens);
  });

  it('sampling is reproducible with a seed and changes with it', async () => {
    const first = await generateWithEvents(engine, prompt, sampled);
    const again = await generateWithEvents(engine, prompt, sampled);
    const otherSeed = await generateWithEvents(engine, prompt, { ...sampled, seed: 8 });
    expect(again.result.tokens).toEqual(first.result.tokens);
    expect(otherSeed.result.tokens).not.toEqual(first.result.tokens);
  });

  it('stops at a stop string, cutting the reply before it', async () => {
    const full = await generateWithEvents(engine, prompt, { ...sampled, maxNewTokens: 20 });
    // A stop string taken from the middle of the reply the same seed produces.
    const stop = full.result.text.slice(Math.floor(full.result.text.length / 2)).slice(0, 3);
    expect(stop.length).toBeGreaterThan(0);
    const { result } = await generateWithEvents(engine, prompt, { ...sampled, maxNewTokens: 20, stopStrings: [stop] });
    expect(result.stopReason).toBe('stop-string');
    expect(result.text).toBe(full.result.text.slice(0, full.result.text.indexOf(stop)));
  });

  it('abort stops within one token of reaching the worker', async () => {
    let tokensWhenAbortArrived = -1;
    let tokens = 0;
    const { result, events } = await generateWithEvents(engine, prompt, { ...sampled, maxNewTokens: 100 }, (event) => {
      if (event.type !== 'token') return;
      tokens++;
      // abort() resolves once the worker has handled it: the reply may hold one more token.
      if (tokens === 1) void engine.api.abort().then(() => (tokensWhenAbortArrived = tokens));
    });
    expect(result.stopReason).toBe('aborted');
    expect(tokensWhenAbortArrived).toBeGreaterThan(0);
    expect(result.tokens.length).toBeLessThanOrEqual(tokensWhenAbortArrived + 1);
    expect(result.tokens.length).toBeLessThan(100);
    expect(events.filter((event) => event.type === 'token').length).toBe(result.tokens.length);
  });

  it('keeps generating past a full context by dropping the oldest tokens, and says so', async () => {
    const longPrompt = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const promptTokens = (await engine.api.tokenize(longPrompt)).length;
    expect(promptTokens).toBeGreaterThan(100);
    const { result, events } = await generateWithEvents(engine, longPrompt, { ...sampled, maxNewTokens: 40, stopStrings: [] });
    const shifts = events.filter((event) => event.type === 'context-shift');
    expect(shifts.length).toBeGreaterThan(0);
    expect(result.contextShifts).toBe(shifts.length);
    expect(promptTokens + result.tokens.length).toBeGreaterThan(128);
  });

  // Only WebGPU has a device to lose.
  if (backend === 'webgpu') it('recovers from a lost GPU device mid-reply: says so, reloads the model, and generates again', async () => {
    const expected = (await generateWithEvents(engine, prompt, greedy)).result.tokens;
    let lost = false;
    const failed = generateWithEvents(engine, prompt, { ...greedy, maxNewTokens: 60 }, (event) => {
      if (event.type === 'token' && !lost) {
        lost = true;
        void engine.api.simulateDeviceLoss();
      }
    });
    await expect(failed).rejects.toThrow(/GPU stopped working during this reply.*loaded again on a new device/);
    const { result } = await generateWithEvents(engine, prompt, greedy);
    expect(result.tokens).toEqual(expected);
  });

  it('takes prompts of emoji, combining marks, right-to-left text and NUL, and keeps working', async () => {
    const unusual = ['Robots 🤖 and families 👩‍👩‍👧 🇯🇵', 'e\u0301 a\u0308\u0323 Z\u0351o', 'שלום עולם مرحبا \u202Eevil\u202C', 'before\u0000after\u0000'];
    for (const text of unusual) {
      const tokens = await engine.api.tokenize(text);
      expect(tokens.length).toBeGreaterThan(0);
      const { result, events } = await generateWithEvents(engine, text, { ...sampled, maxNewTokens: 8 });
      expect(events[0]).toMatchObject({ type: 'prompt-done', promptTokens: tokens.length });
      expect(result.tokens.length).toBeGreaterThan(0);
    }
    const { result } = await generateWithEvents(engine, prompt, greedy);
    expect(result.tokens.length).toBeGreaterThan(0);
  });

  it('rejects bad settings with a message and keeps working', async () => {
    await expect(engine.generate(prompt, { ...greedy, topP: 0 }, () => {})).rejects.toThrow(/top-p must be above 0/);
    const { result } = await generateWithEvents(engine, prompt, { ...greedy, maxNewTokens: 2 });
    expect(result.tokens.length).toBeGreaterThan(0);
  });
});
