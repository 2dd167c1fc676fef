// The whole engine — worker, AssemblyScript parser, WebGPU forward pass, KV cache — on the shared
// tiny GPT-2 in all three file formats, against results from an independent float64 implementation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type EngineClient } from '../../src/worker/engine-client.ts';
import type { LoadOptions, ModelSource } from '../../src/worker/engine-api.ts';
import { maxAbsDifference } from '../support/gpu-harness.ts';

interface ExpectedCase {
  tokens: number[];
  last_logits: number[];
  last_logits_f16_weights: number[];
  all_positions_argmax: number[];
  greedy_continuation: number[];
}

const fixtureUrl = (file: string) => new URL(`/test-models/tiny-gpt2/${file}`, location.href).href;

const variants: { file: string; config: string; expected: 'last_logits' | 'last_logits_f16_weights'; tolerance: number; options: LoadOptions }[] = [
  { file: 'model.safetensors', config: 'config.json', expected: 'last_logits', tolerance: 1e-3, options: {} },
  { file: 'gpt2_weights.bin', config: 'gpt2_config.txt', expected: 'last_logits', tolerance: 1e-3, options: {} },
  { file: 'model.f16.safetensors', config: 'config.json', expected: 'last_logits_f16_weights', tolerance: 2e-2, options: {} },
];

let cases: ExpectedCase[];
beforeAll(async () => {
  cases = (await (await fetch(fixtureUrl('expected.json'))).json()).cases;
});

for (const variant of variants) {
  describe(`tiny-gpt2 ${variant.file}`, () => {
    let engine: EngineClient;
    beforeAll(async () => {
      engine = startEngine();
      const source: ModelSource = { kind: 'url', name: variant.file, configUrl: fixtureUrl(variant.config), weightsUrl: fixtureUrl(variant.file) };
      const info = await engine.load(source, variant.options);
      expect(info.config).toEqual({ vocabSize: 50257, nCtx: 128, nEmbd: 64, nLayer: 2, nHead: 4 });
    });
    afterAll(() => engine?.terminate());

    it('matches the reference logits and every position\'s argmax', async () => {
      for (const testCase of cases) {
        const { logits, argmax } = await engine.api.logits(testCase.tokens, { allPositions: true });
        expect(logits).toHaveLength(50257);
        expect(maxAbsDifference(logits, testCase[variant.expected])).toBeLessThan(variant.tolerance);
        expect(argmax).toEqual(testCase.all_positions_argmax);
      }
    });

    it('greedy continuations through the KV cache match', async () => {
      for (const testCase of cases) {
        const generated = await engine.api.greedy(testCase.tokens, testCase.greedy_continuation.length);
        expect(generated).toEqual(testCase.greedy_continuation);
      }
    });

    it('feeding the full 128-token context one token at a time through the KV cache matches', async () => {
      const full = cases.find((testCase) => testCase.tokens.length === 128)!;
      const { logits, argmax } = await engine.api.logits(full.tokens, { allPositions: true, incremental: true });
      expect(argmax).toEqual(full.all_positions_argmax);
      expect(maxAbsDifference(logits, full[variant.expected])).toBeLessThan(variant.tolerance);
    });
  });
}
