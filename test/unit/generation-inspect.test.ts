// Generation with `inspect` on the CPU backend in Node, on the shared tiny GPT-2, against the
// float64 reference: each token's insight (its probability, the model's alternatives, the
// sampler's), the prompt's surprisal, and branching (a reply continued from chosen tokens).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpt2ConfigFromJson } from '../../scripts/hf-config.ts';
import { decodeSafetensors } from '../../scripts/model-files.ts';
import { loadCpuModel, type LoadedCpuModel } from '../../src/cpu/load-cpu-model.ts';
import type { GenerationEvent, GenerationSettings, TokenInsight } from '../../src/worker/engine-api.ts';
import { generate } from '../../src/worker/generation.ts';
import { nextTokenDistribution } from '../../src/worker/sampling.ts';
import { decode } from '../../src/worker/tokenizer.ts';
import { ReferenceGpt2 } from '../support/reference-gpt2.ts';
import { FIXTURES, createParser, fixture, memoryFile } from './weights-helpers.ts';

const kernels = new WebAssembly.Module(readFileSync('src/generated/cpu-kernels.wasm'));
const reference = new ReferenceGpt2(gpt2ConfigFromJson(readFileSync(`${FIXTURES}/config.json`, 'utf8'), 'config.json'),
  decodeSafetensors(readFileSync(`${FIXTURES}/model.safetensors`)).tensors);
const PROMPT = [464, 2068, 7586, 21831, 18045, 625, 262];

const GREEDY: GenerationSettings = { maxNewTokens: 8, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 1, stopStrings: [], inspect: true };

/** The reference's softmax after the last of `tokens`. */
function referenceProbabilities(tokens: number[]): number[] {
  const logits = reference.lastLogits(tokens);
  const max = Math.max(...logits);
  const weights = Array.from(logits, (logit) => Math.exp(logit - max));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  return weights.map((weight) => weight / total);
}

async function run(settings: GenerationSettings, replyStart: number[] = []) {
  const events: GenerationEvent[] = [];
  const result = await generate({ model: loaded.model, promptTokens: PROMPT, replyStart, settings, onEvent: (event) => events.push(event), aborted: () => false });
  const tokenEvents = events.filter((event) => event.type === 'token');
  return { result, events, insights: tokenEvents.map((event) => event.insight!) as TokenInsight[], pieces: tokenEvents.map((event) => event.piece) };
}

let loaded: LoadedCpuModel;
beforeAll(async () => {
  loaded = await loadCpuModel(await createParser(), {
    format: 'safetensors', config: { format: 'json', bytes: fixture('config.json') }, files: [memoryFile('model.safetensors', fixture('model.safetensors'), 1 << 20)],
  }, { dtype: 'f32', kernels });
});
afterAll(() => loaded?.model.destroy());

describe('generation with inspect (CPU, F32 weights)', () => {
  it("gives each greedy token its probability and the model's alternatives, as the reference's softmax", async () => {
    const { result, insights, pieces } = await run(GREEDY);
    expect(result.tokens).toEqual(reference.greedy(PROMPT, GREEDY.maxNewTokens));
    expect(pieces.join('')).toBe(decode(result.tokens));
    result.tokens.forEach((token, step) => {
      const probabilities = referenceProbabilities([...PROMPT, ...result.tokens.slice(0, step)]);
      const insight = insights[step];
      expect(Math.abs(insight.probability - probabilities[token])).toBeLessThan(1e-4);
      expect(insight.top).toHaveLength(10);
      expect(insight.top[0].token).toBe(token);
      for (const { token: alternative, probability, text } of insight.top) {
        expect(Math.abs(probability - probabilities[alternative])).toBeLessThan(1e-4);
        expect(text).toBe(decode([alternative]));
      }
      // Greedy draws the best token for certain.
      expect(insight.sampled).toEqual([{ token, text: decode([token]), probability: 1 }]);
    });
  });

  it("scores the prompt from the pass that read it: each token's surprisal is the reference's −ln p", async () => {
    const { events } = await run(GREEDY);
    const done = events.find((event) => event.type === 'prompt-done')!;
    expect(done.type === 'prompt-done' && done.score).toBeTruthy();
    const score = (done as Extract<GenerationEvent, { type: 'prompt-done' }>).score!;
    expect(score.tokens).toEqual(PROMPT);
    expect(score.pieces.join('')).toBe(decode(PROMPT));
    expect(score.surprisal).toHaveLength(PROMPT.length - 1);
    score.surprisal.forEach((surprisal, i) => {
      const p = referenceProbabilities(PROMPT.slice(0, i + 1))[PROMPT[i + 1]];
      expect(Math.abs(surprisal + Math.log(p))).toBeLessThan(1e-4);
    });
  });

  it('keeps the sampler\'s own distribution when sampling, and the probability of a token outside the top 20', async () => {
    // A high temperature, so that tokens far down the list are drawn.
    const settings: GenerationSettings = { ...GREEDY, temperature: 3, topK: 0, topP: 1, repetitionPenalty: 1.3, maxNewTokens: 12, seed: 7 };
    const { result, insights } = await run(settings);
    let outsideTop = 0;
    result.tokens.forEach((token, step) => {
      const context = [...PROMPT, ...result.tokens.slice(0, step)];
      const probabilities = referenceProbabilities(context);
      const insight = insights[step];
      expect(Math.abs(insight.probability - probabilities[token])).toBeLessThan(1e-4);
      if (!insight.top.some((chance) => chance.token === token)) outsideTop++;
      // The sampler's distribution, from the reference's logits (the same to float32 rounding).
      const drawnFrom = nextTokenDistribution(Float32Array.from(reference.lastLogits(context)), context, settings);
      const best = Array.from(drawnFrom.tokens.keys()).sort((a, b) => drawnFrom.probabilities[b] - drawnFrom.probabilities[a]).slice(0, 10);
      insight.sampled.forEach((chance, rank) => {
        expect(chance.token).toBe(drawnFrom.tokens[best[rank]]);
        expect(Math.abs(chance.probability - drawnFrom.probabilities[best[rank]])).toBeLessThan(1e-4);
      });
    });
    expect(outsideTop).toBeGreaterThan(0);
  });

  it("branches: alternative j at step i continues as the reference's greedy continuation of prompt + reply[0, i) + j", async () => {
    const { result, insights } = await run(GREEDY);
    for (const [step, rank] of [[0, 1], [3, 4], [6, 9]]) {
      const replyStart = [...result.tokens.slice(0, step), insights[step].top[rank].token];
      const branch = await run(GREEDY, replyStart);
      const budget = GREEDY.maxNewTokens - replyStart.length;
      expect(branch.result.tokens, `step ${step}, alternative ${rank}`).toEqual(reference.greedy([...PROMPT, ...replyStart], budget));
      // The text reported is the new part only.
      expect(branch.result.text).toBe(decode(branch.result.tokens));
    }
  });

  it('generates nothing after a branch taken at the last token the reply may have', async () => {
    const { result } = await run(GREEDY, Array(GREEDY.maxNewTokens).fill(262));
    expect(result).toMatchObject({ tokens: [], text: '', stopReason: 'max-tokens' });
  });
});
