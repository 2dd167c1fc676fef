// The whole engine — worker, AssemblyScript parser, WebGPU forward pass, KV cache — on the shared
// tiny GPT-2 in all three file formats, against results from an independent float64 implementation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type EngineClient } from '../../src/worker/engine-client.ts';
import type { MatrixDtype } from '../../src/model/weight-layout.ts';
import type { LoadOptions, ModelSource } from '../../src/worker/engine-api.ts';
import { maxAbsDifference } from '../support/gpu-harness.ts';
import type { ExpectedCase } from '../support/fixture-expected.ts';

const fixtureUrl = (file: string) => new URL(`/test-models/tiny-gpt2/${file}`, location.href).href;

interface Variant {
  file: string;
  config: string;
  options: LoadOptions;
  /** The matrix dtype the engine must report: the one asked for, or its own choice (f16). */
  weightsDtype: MatrixDtype;
  expected: 'last_logits' | 'last_logits_f16_weights';
  tolerance: number;
}

const variants: Variant[] = [
  { file: 'model.safetensors', config: 'config.json', options: { weightsDtype: 'f32' }, weightsDtype: 'f32', expected: 'last_logits', tolerance: 1e-3 },
  { file: 'gpt2_weights.bin', config: 'gpt2_config.txt', options: { weightsDtype: 'f32' }, weightsDtype: 'f32', expected: 'last_logits', tolerance: 1e-3 },
  { file: 'model.f16.safetensors', config: 'config.json', options: { weightsDtype: 'f32' }, weightsDtype: 'f32', expected: 'last_logits_f16_weights', tolerance: 2e-2 },
  // Left to itself the engine stores matrices as f16: an f16 file is then used exactly as stored.
  { file: 'model.f16.safetensors', config: 'config.json', options: {}, weightsDtype: 'f16', expected: 'last_logits_f16_weights', tolerance: 2e-2 },
  // An f32 file narrowed to f16 matrices (vectors stay f32), against the f32 reference: rounding
  // the weights moves these logits (|logit| < 20) by up to ~0.01, as rounding every weight moves
  // the all-f16 reference (up to 0.018), so it is held to the same 2e-2; argmax and greedy tokens
  // must not change.
  { file: 'model.safetensors', config: 'config.json', options: { weightsDtype: 'f16' }, weightsDtype: 'f16', expected: 'last_logits', tolerance: 2e-2 },
];

let cases: ExpectedCase[];
beforeAll(async () => {
  cases = (await (await fetch(fixtureUrl('expected.json'))).json()).cases;
});

for (const variant of variants) {
  describe(`tiny-gpt2 ${variant.file}, ${variant.weightsDtype} matrices${variant.options.weightsDtype ? '' : ' (the default)'}`, () => {
    let engine: EngineClient;
    beforeAll(async () => {
      engine = startEngine();
      const source: ModelSource = { kind: 'url', name: variant.file, configUrl: fixtureUrl(variant.config), weightsUrl: fixtureUrl(variant.file) };
      const info = await engine.load(source, variant.options);
      expect(info.config).toEqual({ vocabSize: 50257, nCtx: 128, nEmbd: 64, nLayer: 2, nHead: 4 });
      expect(info.weightsDtype).toBe(variant.weightsDtype);
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
