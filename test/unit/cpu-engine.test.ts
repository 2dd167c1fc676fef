// The CPU backend (WASM SIMD kernels) in Node, on the shared tiny GPT-2, against results from an
// independent float64 implementation: the same bounds as the WebGPU engine's fixture test.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCpuModel, type LoadedCpuModel } from '../../src/cpu/load-cpu-model.ts';
import type { CpuWeightsDtype } from '../../src/cpu/cpu-weights.ts';
import { KernelThreads } from '../../src/cpu/kernel-threads.ts';
import { nodeKernelThread } from '../support/node-kernel-threads.ts';
import { INT8_MAX_LOGIT_ERROR, INT8_MIN_TOP1_AGREEMENT, Q4_MAX_LOGIT_ERROR, Q4_MIN_TOP1_AGREEMENT, type ExpectedCase } from '../support/fixture-expected.ts';
import { FIXTURES, createParser, fixture, memoryFile, pytorchSource, torchFixture } from './weights-helpers.ts';
import type { WeightsSource } from '../../src/weights/load-weights.ts';

const kernels = new WebAssembly.Module(readFileSync('src/generated/cpu-kernels.wasm'));
const threadedKernels = new WebAssembly.Module(readFileSync('src/generated/cpu-kernels-threads.wasm'));
const cases: ExpectedCase[] = JSON.parse(readFileSync(`${FIXTURES}/expected.json`, 'utf8')).cases;

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] - b[i]));
  return largest;
}

// pytorch_model.bin fixtures of the same model, written by torch.save (test/fixtures/torch/).
const TORCH = 'torch/';

function source(file: string): WeightsSource {
  if (file.startsWith(TORCH)) return pytorchSource(torchFixture(file.slice(TORCH.length)), fixture('config.json'));
  const legacy = file.endsWith('.bin');
  return {
    format: legacy ? 'legacy-bin' : 'safetensors',
    config: legacy ? { format: 'text', bytes: fixture('gpt2_config.txt') } : { format: 'json', bytes: fixture('config.json') },
    files: [memoryFile(file, fixture(file), 1 << 20)],
  };
}

async function load(file: string, dtype: CpuWeightsDtype, threads: number): Promise<LoadedCpuModel> {
  if (threads === 1) return loadCpuModel(await createParser(), source(file), { dtype, kernels });
  return loadCpuModel(await createParser(), source(file), {
    dtype,
    kernels: threadedKernels,
    threads: (memory) => KernelThreads.start(memory, threadedKernels, threads, nodeKernelThread),
  });
}

interface Variant {
  file: string;
  dtype: CpuWeightsDtype;
  expected: 'last_logits' | 'last_logits_f16_weights';
  tolerance: number;
  /** Kernel threads sharing the model's memory (1: none). */
  threads: number;
}

const variants: Variant[] = [
  { file: 'model.safetensors', dtype: 'f32', expected: 'last_logits', tolerance: 1e-3, threads: 1 },
  { file: 'gpt2_weights.bin', dtype: 'f32', expected: 'last_logits', tolerance: 1e-3, threads: 1 },
  { file: 'model.f16.safetensors', dtype: 'f32', expected: 'last_logits_f16_weights', tolerance: 2e-2, threads: 1 },
  { file: 'model.f16.safetensors', dtype: 'f16', expected: 'last_logits_f16_weights', tolerance: 2e-2, threads: 1 },
  { file: 'model.safetensors', dtype: 'f16', expected: 'last_logits', tolerance: 2e-2, threads: 1 },
  // Three threads, so the 4-row ranges and 4 heads split unevenly.
  { file: 'model.safetensors', dtype: 'f32', expected: 'last_logits', tolerance: 1e-3, threads: 3 },
  { file: 'model.f16.safetensors', dtype: 'f16', expected: 'last_logits_f16_weights', tolerance: 2e-2, threads: 3 },
  { file: `${TORCH}tiny-f32-zip.bin`, dtype: 'f32', expected: 'last_logits', tolerance: 1e-3, threads: 1 },
  { file: `${TORCH}tiny-f32-legacy.bin`, dtype: 'f32', expected: 'last_logits', tolerance: 1e-3, threads: 1 },
  { file: `${TORCH}tiny-f16-zip.bin`, dtype: 'f16', expected: 'last_logits_f16_weights', tolerance: 2e-2, threads: 1 },
  { file: `${TORCH}tiny-f16-legacy.bin`, dtype: 'f32', expected: 'last_logits_f16_weights', tolerance: 2e-2, threads: 1 },
];

for (const variant of variants) {
  describe(`CPU backend, ${variant.file} as ${variant.dtype}, ${variant.threads} thread(s)`, () => {
    let loaded: LoadedCpuModel;
    beforeAll(async () => {
      loaded = await load(variant.file, variant.dtype, variant.threads);
      expect(loaded.model.config).toEqual({ vocabSize: 50257, nCtx: 128, nEmbd: 64, nLayer: 2, nHead: 4 });
      // Float weights keep an f32 cache: 2 layers' keys and values, 128 positions of 64.
      expect(loaded.model.kvCache).toEqual({ dtype: 'f32', bytes: 2 * 2 * 128 * 64 * 4 });
    });
    afterAll(() => loaded?.model.destroy());

    it('matches the reference logits and every position\'s argmax', async () => {
      for (const testCase of cases) {
        const logits = await loaded.model.forward(testCase.tokens, 0, 'last-logits');
        expect(maxAbsDifference(logits, testCase[variant.expected])).toBeLessThan(variant.tolerance);
        const argmax = await loaded.model.forward(testCase.tokens, 0, 'all-argmax');
        expect(Array.from(argmax)).toEqual(testCase.all_positions_argmax);
      }
    });

    it('greedy continuations through the KV cache match', async () => {
      for (const testCase of cases) {
        const generated: number[] = [];
        let next = (await loaded.model.forward(testCase.tokens, 0, 'last-argmax'))[0];
        for (let position = testCase.tokens.length; generated.length < testCase.greedy_continuation.length; position++) {
          generated.push(next);
          next = (await loaded.model.forward([next], position, 'last-argmax'))[0];
        }
        expect(generated).toEqual(testCase.greedy_continuation);
      }
    });

    it('decodeGreedy gives the same continuations, and refuses steps past the context', async () => {
      for (const testCase of cases.filter((c) => c.greedy_continuation.length > 1)) {
        const first = (await loaded.model.forward(testCase.tokens, 0, 'last-argmax'))[0];
        const generated = [first];
        const steps = testCase.greedy_continuation.length - 1;
        for await (const token of loaded.model.decodeGreedy(first, testCase.tokens.length, steps)) generated.push(token);
        expect(generated).toEqual(testCase.greedy_continuation);
      }
      const { nCtx } = loaded.model.config;
      await expect(loaded.model.decodeGreedy(1, nCtx - 2, 3).next()).rejects.toThrow(/3 greedy steps from position 126 do not fit the model's context of 128/);
      await expect(loaded.model.decodeGreedy(1, 0, 0).next()).rejects.toThrow(/at least 1, got 0/);
      await expect(loaded.model.decodeGreedy(50257, 0, 1).next()).rejects.toThrow(/token 50257 is not in the vocabulary/);
    });

    it('feeding the full 128-token context one token at a time through the KV cache matches', async () => {
      const full = cases.find((testCase) => testCase.tokens.length === 128)!;
      const argmax: number[] = [];
      for (let position = 0; position < full.tokens.length - 1; position++) {
        argmax.push((await loaded.model.forward([full.tokens[position]], position, 'last-argmax'))[0]);
      }
      const logits = await loaded.model.forward(full.tokens.slice(-1), full.tokens.length - 1, 'last-logits');
      expect(maxAbsDifference(logits, full[variant.expected])).toBeLessThan(variant.tolerance);
      argmax.push(logits.indexOf(Math.max(...logits)));
      expect(argmax).toEqual(full.all_positions_argmax);
    });
  });
}

const QUANTIZED = [
  { dtype: 'int8', what: 'per-row scales', maxLogitError: INT8_MAX_LOGIT_ERROR, minTop1Agreement: INT8_MIN_TOP1_AGREEMENT },
  { dtype: 'q4', what: 'groups of 32, wte int8', maxLogitError: Q4_MAX_LOGIT_ERROR, minTop1Agreement: Q4_MIN_TOP1_AGREEMENT },
] as const;

for (const { dtype, what, maxLogitError: bound, minTop1Agreement } of QUANTIZED) describe(`CPU backend, ${dtype} weights (${what}) against the f32 reference`, () => {
  for (const threads of [1, 2]) {
    it(`reports its error and stays within the stated bounds (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
      const loaded = await load('model.safetensors', dtype, threads);
      try {
        expect(loaded.model.kvCache).toEqual({ dtype: 'bf16', bytes: 2 * 2 * 128 * 64 * 2 });
        let maxLogitError = 0;
        let agreeing = 0;
        let positions = 0;
        for (const testCase of cases) {
          const logits = await loaded.model.forward(testCase.tokens, 0, 'last-logits');
          maxLogitError = Math.max(maxLogitError, maxAbsDifference(logits, testCase.last_logits));
          const argmax = await loaded.model.forward(testCase.tokens, 0, 'all-argmax');
          agreeing += testCase.all_positions_argmax.filter((token, i) => token === argmax[i]).length;
          positions += argmax.length;
        }
        const agreement = agreeing / positions;
        console.log(`${dtype} on the tiny fixture: max logit error ${maxLogitError.toFixed(3)} (bound ${bound}), ` +
          `top-1 agreement ${agreeing}/${positions} = ${(100 * agreement).toFixed(1)}% (bound ${100 * minTop1Agreement}%)`);
        expect(maxLogitError).toBeLessThan(bound);
        expect(agreement).toBeGreaterThanOrEqual(minTop1Agreement);
        // It must not be exact either: that would mean the weights were not quantized.
        expect(maxLogitError).toBeGreaterThan(1e-3);
      } finally {
        loaded.model.destroy();
      }
    });
  }
});
