// The whole engine — worker, AssemblyScript parser, forward pass with KV cache on WebGPU and on the
// CPU backend — on the shared tiny GPT-2 in all three file formats, against results from an
// independent float64 implementation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type EngineClient } from '../../src/worker/engine-client.ts';
import type { Backend, LoadOptions, ModelSource, WeightsDtype } from '../../src/worker/engine-api.ts';
import { maxAbsDifference } from '../support/gpu-harness.ts';
import { INT8_MAX_LOGIT_ERROR, type ExpectedCase } from '../support/fixture-expected.ts';

const fixtureUrl = (file: string) => new URL(`/test-models/tiny-gpt2/${file}`, location.href).href;

interface Variant {
  file: string;
  config: string;
  options: LoadOptions & { backend: Backend };
  /** The matrix dtype the engine must report: the one asked for, or its own choice. */
  weightsDtype: WeightsDtype;
  expected: 'last_logits' | 'last_logits_f16_weights';
  tolerance: number;
}

const variants: Variant[] = [
  { file: 'model.safetensors', config: 'config.json', options: { backend: 'webgpu', weightsDtype: 'f32' }, weightsDtype: 'f32', expected: 'last_logits', tolerance: 1e-3 },
  { file: 'gpt2_weights.bin', config: 'gpt2_config.txt', options: { backend: 'webgpu', weightsDtype: 'f32' }, weightsDtype: 'f32', expected: 'last_logits', tolerance: 1e-3 },
  { file: 'model.f16.safetensors', config: 'config.json', options: { backend: 'webgpu', weightsDtype: 'f32' }, weightsDtype: 'f32', expected: 'last_logits_f16_weights', tolerance: 2e-2 },
  // Left to itself the engine stores matrices as f32 on a software adapter, as these tests run on
  // (as f16 on a GPU: gpuWeightsDtype, test/unit/default-choices.test.ts).
  { file: 'model.safetensors', config: 'config.json', options: { backend: 'webgpu' }, weightsDtype: 'f32', expected: 'last_logits', tolerance: 1e-3 },
  // An f16 file in f16 matrices is used exactly as stored.
  { file: 'model.f16.safetensors', config: 'config.json', options: { backend: 'webgpu', weightsDtype: 'f16' }, weightsDtype: 'f16', expected: 'last_logits_f16_weights', tolerance: 2e-2 },
  // An f32 file narrowed to f16 matrices (vectors stay f32), against the f32 reference: rounding
  // the weights moves these logits (|logit| < 20) by up to ~0.01, as rounding every weight moves
  // the all-f16 reference (up to 0.018), so it is held to the same 2e-2; argmax and greedy tokens
  // must not change.
  { file: 'model.safetensors', config: 'config.json', options: { backend: 'webgpu', weightsDtype: 'f16' }, weightsDtype: 'f16', expected: 'last_logits', tolerance: 2e-2 },
  // The CPU backend (WASM SIMD), held to the same bounds.
  { file: 'model.safetensors', config: 'config.json', options: { backend: 'cpu', weightsDtype: 'f32' }, weightsDtype: 'f32', expected: 'last_logits', tolerance: 1e-3 },
  { file: 'gpt2_weights.bin', config: 'gpt2_config.txt', options: { backend: 'cpu', weightsDtype: 'f32' }, weightsDtype: 'f32', expected: 'last_logits', tolerance: 1e-3 },
  { file: 'model.f16.safetensors', config: 'config.json', options: { backend: 'cpu', weightsDtype: 'f16' }, weightsDtype: 'f16', expected: 'last_logits_f16_weights', tolerance: 2e-2 },
  { file: 'model.safetensors', config: 'config.json', options: { backend: 'cpu', weightsDtype: 'f16' }, weightsDtype: 'f16', expected: 'last_logits', tolerance: 2e-2 },
];

let cases: ExpectedCase[];
beforeAll(async () => {
  cases = (await (await fetch(fixtureUrl('expected.json'))).json()).cases;
});

for (const variant of variants) {
  describe(`tiny-gpt2 ${variant.file} on ${variant.options.backend}, ${variant.weightsDtype} matrices${variant.options.weightsDtype ? '' : ' (the default)'}`, () => {
    let engine: EngineClient;
    beforeAll(async () => {
      engine = startEngine();
      const source: ModelSource = { kind: 'url', name: variant.file, configUrl: fixtureUrl(variant.config), weightsUrl: fixtureUrl(variant.file) };
      const info = await engine.load(source, variant.options);
      expect(info.config).toEqual({ vocabSize: 50257, nCtx: 128, nEmbd: 64, nLayer: 2, nHead: 4 });
      expect(info.weightsDtype).toBe(variant.weightsDtype);
      expect(info.backend).toBe(variant.options.backend);
      // SwiftShader has no shader-f16, so WebGPU multiplies in f32 here (f16: test/dawn/).
      expect(info.matrixArithmetic).toBe(variant.weightsDtype === 'int8' ? 'integer' : 'f32');
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

describe('left to choose, on a software adapter (SwiftShader)', () => {
  let engine: EngineClient;
  afterAll(() => engine?.terminate());

  it('runs the CPU backend with int8 weights, says why, and stays close to the reference', async () => {
    engine = startEngine();
    const source: ModelSource = { kind: 'url', name: 'tiny', configUrl: fixtureUrl('config.json'), weightsUrl: fixtureUrl('model.safetensors') };
    const info = await engine.load(source, {});
    expect(info.backend).toBe('cpu');
    expect(info.weightsDtype).toBe('int8');
    expect(info.backendReason).toMatch(/software/);
    // Chromium has relaxed SIMD; the engine takes the kernels' relaxed build where it times faster
    // on this CPU (src/cpu/kernel-build-choice.ts), and says which it took.
    expect(info.adapter).toMatch(/^WASM (relaxed )?SIMD, \d+ threads?$/);
    // int8's own bounds (test/unit/cpu-engine.test.ts reports the error in full).
    for (const testCase of cases) {
      const { logits } = await engine.api.logits(testCase.tokens);
      expect(maxAbsDifference(logits, testCase.last_logits)).toBeLessThan(INT8_MAX_LOGIT_ERROR);
    }
  });
});
