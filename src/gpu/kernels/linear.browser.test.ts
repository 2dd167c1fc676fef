// The linear kernels (linear-matvec*.wgsl, linear-tiled*.wgsl) against a float64 CPU reference,
// for every epilogue, on shapes that are not multiples of any tile or block size, with negative
// inputs and weights, with the weight matrix stored as f32 and as packed f16 (the reference uses
// the same f16-rounded weights, so both are held to the same f32-accumulation tolerance), and in
// every variant: as a software adapter runs them, and as GPUs with and without subgroups do.
import { describe, expect, it } from 'vitest';
import { Epilogue, LinearKernel, type KernelTuning, type LinearShape } from '../kernels.ts';
import type { MatrixDtype } from '../../model/weight-layout.ts';
import { matrixData, maxAbsDifference, signedRandom, testDevice } from '../../../test/support/gpu-harness.ts';
import { geluNew, referenceLinear, runLinearKernel } from '../../../test/support/linear-harness.ts';

// Compiling a pipeline takes seconds on a software adapter: one kernel per shape, dtype and tuning.
const kernels = new Map<string, LinearKernel>();
async function linearKernel(shape: LinearShape, dtype: MatrixDtype, tuning: KernelTuning): Promise<LinearKernel> {
  const key = JSON.stringify([shape, dtype, tuning]);
  if (!kernels.has(key)) kernels.set(key, new LinearKernel(await testDevice(), key, shape, dtype, tuning));
  const kernel = kernels.get(key)!;
  await kernel.ready(); // every variant, those otherwise compiled on first use included
  return kernel;
}

async function runLinear(shape: LinearShape, dtype: MatrixDtype, tuning: KernelTuning, rows: number, seed: number) {
  const device = await testDevice();
  const { inFeatures: K, outFeatures: N } = shape;
  const input = signedRandom(rows * K, seed, 2);
  const weight = matrixData(signedRandom(N * K, seed + 1, 0.5), dtype);
  const bias = signedRandom(N, seed + 2, 1);
  const initialOut = signedRandom(rows * N, seed + 3, 3);
  const kernel = await linearKernel(shape, dtype, tuning);
  return {
    actual: await runLinearKernel(device, kernel, rows, { input, weight: weight.data, bias, initialOut }),
    expected: referenceLinear(shape, rows, input, weight.values, bias, initialOut),
  };
}

const software: KernelTuning = { softwareAdapter: true, subgroups: true, subgroupMinSize: 4, shaderF16: false };
const gpu: KernelTuning = { softwareAdapter: false, subgroups: true, subgroupMinSize: 4, shaderF16: false };
const gpuWithoutSubgroups: KernelTuning = { softwareAdapter: false, subgroups: false, subgroupMinSize: 32, shaderF16: false };

describe('linear kernels', () => {
  const shapes: [string, LinearShape][] = [
    ['plain', { inFeatures: 48, outFeatures: 144, epilogue: Epilogue.none, hasBias: true }],
    ['gelu', { inFeatures: 48, outFeatures: 200, epilogue: Epilogue.gelu, hasBias: true }],
    ['residual add', { inFeatures: 200, outFeatures: 48, epilogue: Epilogue.residualAdd, hasBias: true }],
    ['no bias, odd vocab', { inFeatures: 48, outFeatures: 1001, epilogue: Epilogue.none, hasBias: false }],
    ['K not a multiple of 16', { inFeatures: 40, outFeatures: 70, epilogue: Epilogue.none, hasBias: true }],
  ];
  const tunings: [string, KernelTuning][] = [
    ['software adapter', software],
    ['GPU', gpu],
    ['GPU without subgroups', gpuWithoutSubgroups],
  ];
  for (const [tuningName, tuning] of tunings) {
    for (const dtype of ['f32', 'f16'] as MatrixDtype[]) {
      for (const [name, shape] of shapes) {
        for (const rows of [1, 3, 20, 70]) {
          it(`${tuningName}, ${name}, ${dtype} weights: ${rows} row(s) × ${shape.inFeatures} → ${shape.outFeatures}`, async () => {
            const { actual, expected } = await runLinear(shape, dtype, tuning, rows, rows * 7 + shape.outFeatures);
            expect(maxAbsDifference(actual, expected)).toBeLessThan(2e-4 * Math.sqrt(shape.inFeatures));
          });
        }
      }
    }
  }

  it('the subgroup kernel is right when subgroups are smaller than the dispatch assumed', async () => {
    const shape = { inFeatures: 48, outFeatures: 1001, epilogue: Epilogue.gelu, hasBias: true };
    for (const rows of [1, 3]) {
      const { actual, expected } = await runLinear(shape, 'f16', { ...gpu, subgroupMinSize: 32 }, rows, 99);
      expect(maxAbsDifference(actual, expected)).toBeLessThan(2e-4 * Math.sqrt(shape.inFeatures));
    }
  });

  it('packed f16 weights of every magnitude, subnormals and zeros included', async () => {
    const shape = { inFeatures: 64, outFeatures: 12, epilogue: Epilogue.none, hasBias: false };
    const magnitudes = Float32Array.from({ length: 64 * 12 }, (_, i) => (i % 3 === 0 ? -1 : 1) * 2 ** (-(i % 40)) * 60000);
    const device = await testDevice();
    const weight = matrixData(magnitudes, 'f16');
    const input = signedRandom(64, 5, 1);
    for (const [, tuning] of tunings) {
      const kernel = await linearKernel(shape, 'f16', tuning);
      const actual = await runLinearKernel(device, kernel, 1,
        { input, weight: weight.data, bias: new Float32Array(12), initialOut: new Float32Array(12) });
      const expected = referenceLinear(shape, 1, input, weight.values, new Float32Array(12), new Float32Array(12));
      // Relative to the largest term (60000): exact but for the order of summation.
      expect(maxAbsDifference(actual, expected)).toBeLessThan(60000 * 1e-6);
    }
  });

  it('GELU stays finite and exact for large inputs of either sign', async () => {
    const shape = { inFeatures: 8, outFeatures: 8, epilogue: Epilogue.gelu, hasBias: false };
    const device = await testDevice();
    const preActivations = [-100, -20, -3, -0.5, 0.5, 3, 20, 100];
    // Input (1, 0, ..., 0): each output's pre-activation is the first weight of its row.
    const weight = new Float32Array(preActivations.flatMap((value) => [value, 7, -7, 7, -7, 7, -7, 7]));
    for (const [, tuning] of tunings) {
      const kernel = await linearKernel(shape, 'f32', tuning);
      const actual = await runLinearKernel(device, kernel, 1, {
        input: new Float32Array([1, 0, 0, 0, 0, 0, 0, 0]), weight, bias: new Float32Array(8), initialOut: new Float32Array(8),
      });
      expect(maxAbsDifference(actual, preActivations.map(geluNew))).toBeLessThan(1e-5);
    }
  });
});
