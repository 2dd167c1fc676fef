// The shader-f16 path (matrix-f16-arithmetic.wgsl): on a device with the feature, products with
// f16 matrices are taken in f16 and summed in f32. Every linear kernel variant against a float64
// reference, then the whole forward pass on the tiny GPT-2 against the independent reference.
// Runs on Dawn in Node (test/support/dawn-webgpu.ts): SwiftShader, under the browser tests, has no
// shader-f16.
import { beforeAll, describe, expect, it } from 'vitest';
import { createGpuContext, type GpuContext } from '../../src/gpu/device.ts';
import { Gpt2Gpu } from '../../src/gpu/gpt2-gpu.ts';
import { GpuWeights } from '../../src/gpu/gpu-weights.ts';
import { Epilogue, LinearKernel, deviceTuning, type KernelTuning, type LinearShape } from '../../src/gpu/kernels.ts';
import { loadWeights } from '../../src/weights/load-weights.ts';
import type { ExpectedCase } from '../support/fixture-expected.ts';
import { matrixData, maxAbsDifference, signedRandom } from '../support/gpu-harness.ts';
import { referenceLinear, runLinearKernel } from '../support/linear-harness.ts';
import { createParser, fixture, memoryFile } from '../unit/weights-helpers.ts';

let gpu: GpuContext;
beforeAll(async () => {
  gpu = await createGpuContext();
});

it('the device has shader-f16 (on a machine without a GPU: Mesa lavapipe 23 or later, as .ci/run installs)', () => {
  const { vendor, architecture, description } = gpu.adapter;
  expect(gpu.hasShaderF16, `adapter: ${[vendor, architecture, description].join(' ')}`).toBe(true);
  expect(deviceTuning(gpu.device).shaderF16).toBe(true);
});

// Compiling takes lavapipe seconds: one kernel per shape and tuning, for every row count.
const kernels = new Map<string, LinearKernel>();
function linearKernel(shape: LinearShape, tuning: KernelTuning): LinearKernel {
  const key = JSON.stringify([shape, tuning]);
  if (!kernels.has(key)) kernels.set(key, new LinearKernel(gpu.device, key, shape, 'f16', tuning));
  return kernels.get(key)!;
}

describe('linear kernels with f16 arithmetic', () => {
  // The device's subgroups are 8 wide; the kernels take any size.
  const tunings: [string, KernelTuning][] = [
    ['software adapter', { softwareAdapter: true, subgroups: true, subgroupMinSize: 8, shaderF16: true }],
    ['GPU', { softwareAdapter: false, subgroups: true, subgroupMinSize: 8, shaderF16: true }],
    ['GPU without subgroups', { softwareAdapter: false, subgroups: false, subgroupMinSize: 32, shaderF16: true }],
  ];
  const shapes: [string, LinearShape][] = [
    ['plain', { inFeatures: 48, outFeatures: 144, epilogue: Epilogue.none, hasBias: true }],
    ['gelu', { inFeatures: 48, outFeatures: 200, epilogue: Epilogue.gelu, hasBias: true }],
    ['residual add', { inFeatures: 200, outFeatures: 48, epilogue: Epilogue.residualAdd, hasBias: true }],
    ['no bias, odd vocab', { inFeatures: 48, outFeatures: 1001, epilogue: Epilogue.none, hasBias: false }],
  ];
  // 1 row: matrix-vector; 3 and 20: 8-row bands or 64-row tiles; 70: 32-row bands or 64-row tiles.
  // lavapipe compiles a 32-row-band pipeline in 50-100 s (its loops unrolled over K), so those run
  // on one shape; f32 runs them on every shape under the browser tests.
  const rowCounts = (tuning: KernelTuning, name: string) =>
    (tuning.softwareAdapter && name !== 'no bias, odd vocab' ? [1, 3, 20] : [1, 3, 20, 70]);
  for (const [tuningName, tuning] of tunings) {
    for (const [name, shape] of shapes) {
      for (const rows of rowCounts(tuning, name)) {
        it(`${tuningName}, ${name}: ${rows} row(s) × ${shape.inFeatures} → ${shape.outFeatures}`, async () => {
          const seed = rows * 7 + shape.outFeatures;
          const { inFeatures: K, outFeatures: N } = shape;
          const input = signedRandom(rows * K, seed, 2);
          const weight = matrixData(signedRandom(N * K, seed + 1, 0.5), 'f16');
          const bias = signedRandom(N, seed + 2, 1);
          const initialOut = signedRandom(rows * N, seed + 3, 3);
          const kernel = linearKernel(shape, tuning);
          const actual = await runLinearKernel(gpu.device, kernel, rows, { input, weight: weight.data, bias, initialOut });
          const expected = referenceLinear(shape, rows, input, weight.values, bias, initialOut);
          // Products of |x| < 2 and |w| < 0.5, each off by up to ~2^-10 of itself (input rounding,
          // the f16 product and its pair's sum): ten times the f32 kernels' bound.
          expect(maxAbsDifference(actual, expected)).toBeLessThan(2e-3 * Math.sqrt(K));
        });
      }
    }
  }

  // Every variant but the software adapter's 32-row bands: compiled twice more here, they took over
  // five minutes on a busy machine; the shapes above run them with f16 arithmetic once.
  it('multiplies in f16 indeed: an input f16 cannot hold is rounded, in each variant, and only with shader-f16', async () => {
    // 16 weights of 1 against inputs of 1 + 2^-12, which f16 (spacing 2^-10 near 1) rounds to 1.
    const shape: LinearShape = { inFeatures: 16, outFeatures: 8, epilogue: Epilogue.none, hasBias: false };
    const weight = matrixData(new Float32Array(16 * 8).fill(1), 'f16');
    const none = new Float32Array(8);
    for (const [tuningName, tuning] of tunings) {
      for (const rows of rowCounts(tuning, 'rounding')) {
        const input = new Float32Array(rows * 16).fill(1 + 2 ** -12);
        for (const shaderF16 of [true, false]) {
          const kernel = linearKernel(shape, { ...tuning, shaderF16 });
          const actual = await runLinearKernel(gpu.device, kernel, rows, { input, weight: weight.data, bias: none, initialOut: new Float32Array(rows * 8) });
          const expected = shaderF16 ? 16 : 16 * (1 + 2 ** -12);
          expect(maxAbsDifference(actual, new Float32Array(rows * 8).fill(expected)), `${tuningName}, ${rows} rows, shader-f16 ${shaderF16}`)
            .toBeLessThan(1e-4);
        }
      }
    }
  });
});

// The forward pass multiplies in f16 only in the MLP (see Gpt2Kernels), and must stay within the
// engine's tolerance. It runs the kernels a GPU would (shader-f16 is a GPU feature; on a software
// adapter the engine picks the CPU backend): workgroup-tiled prompt kernels, subgroup
// matrix-vector products.
//
// One departure from the engine's bounds, for this mode alone: every position's argmax must match
// except at near-ties. At position 104 of the 128-token case the two best logits are 0.002 apart,
// a tenth of the logit tolerance; f16 products in the MLP (errors up to ~0.01) pick the other one.
// There the chosen token must be within the logit tolerance of the best one, as judged by the
// same f16 matrices multiplied in f32 (which match the float64 reference to ~1e-5).
describe('the tiny GPT-2 with f16 matrices and f16 arithmetic', () => {
  let cases: ExpectedCase[];
  let model: Gpt2Gpu;
  let f32Model: Gpt2Gpu; // the referee at near-ties
  beforeAll(async () => {
    cases = JSON.parse(new TextDecoder().decode(fixture('expected.json'))).cases;
    const weights = new GpuWeights(gpu.device);
    const config = await loadWeights(await createParser(), {
      format: 'safetensors',
      config: { format: 'json', bytes: fixture('config.json') },
      files: [memoryFile('model.f16.safetensors', fixture('model.f16.safetensors'))],
    }, weights, { matrixDtype: 'f16' });
    const tuning = { ...deviceTuning(gpu.device), softwareAdapter: false };
    model = new Gpt2Gpu(gpu.device, config, weights, tuning);
    expect(model.matrixArithmetic).toBe('f16');
    f32Model = new Gpt2Gpu(gpu.device, config, weights, { ...tuning, shaderF16: false });
    expect(f32Model.matrixArithmetic).toBe('f32');
  });

  it('matches the reference logits of the f16 weights and every position\'s argmax', async () => {
    for (const testCase of cases) {
      const logits = await model.forward(testCase.tokens, 0, 'last-logits');
      expect(maxAbsDifference(logits, testCase.last_logits_f16_weights)).toBeLessThan(2e-2);
      const argmax = await model.forward(testCase.tokens, 0, 'all-argmax');
      expect(argmax).toHaveLength(testCase.tokens.length);
      for (let position = 0; position < argmax.length; position++) {
        const best = testCase.all_positions_argmax[position];
        if (argmax[position] === best) continue;
        const exact = await f32Model.forward(testCase.tokens.slice(0, position + 1), 0, 'last-logits');
        expect(exact[best] - exact[argmax[position]], `position ${position}: ${argmax[position]} instead of ${best}`).toBeLessThan(2e-2);
      }
    }
  });

  it('greedy continuations through the KV cache match', async () => {
    for (const testCase of cases) {
      const generated: number[] = [];
      let next = (await model.forward(testCase.tokens, 0, 'last-argmax'))[0];
      for (let i = 0; i < testCase.greedy_continuation.length; i++) {
        generated.push(next);
        if (i + 1 < testCase.greedy_continuation.length) {
          next = (await model.forward([next], testCase.tokens.length + i, 'last-argmax'))[0];
        }
      }
      expect(generated).toEqual(testCase.greedy_continuation);
    }
  });
});
