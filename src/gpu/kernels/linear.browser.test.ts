// linear-tiled.wgsl and linear-matvec.wgsl against a float64 CPU reference, for every epilogue,
// on shapes that are not multiples of any tile size, with negative inputs and weights.
import { describe, expect, it } from 'vitest';
import { Epilogue, LinearKernel, type LinearShape } from '../kernels.ts';
import { maxAbsDifference, readFloats, runPass, signedRandom, stepBuffer, storageBuffer, testDevice } from '../../../test/support/gpu-harness.ts';

function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

function referenceLinear(shape: LinearShape, rows: number, input: Float32Array, weight: Float32Array,
  bias: Float32Array, initialOut: Float32Array): Float64Array {
  const { inFeatures: K, outFeatures: N } = shape;
  const out = Float64Array.from(initialOut);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let y = shape.hasBias ? bias[n] : 0;
      for (let k = 0; k < K; k++) y += input[r * K + k] * weight[n * K + k];
      if (shape.epilogue === Epilogue.gelu) y = geluNew(y);
      out[r * N + n] = shape.epilogue === Epilogue.residualAdd ? out[r * N + n] + y : y;
    }
  }
  return out;
}

async function runLinear(shape: LinearShape, rows: number, seed: number) {
  const device = await testDevice();
  const { inFeatures: K, outFeatures: N } = shape;
  const input = signedRandom(rows * K, seed, 2);
  const weight = signedRandom(N * K, seed + 1, 0.5);
  const bias = signedRandom(N, seed + 2, 1);
  const initialOut = signedRandom(rows * N, seed + 3, 3);
  const kernel = new LinearKernel(device, 'test', shape);
  const outBuffer = storageBuffer(device, initialOut);
  const bindGroup = kernel.bind(device, stepBuffer(device, rows), storageBuffer(device, input),
    storageBuffer(device, weight), storageBuffer(device, bias), outBuffer);
  await runPass(device, (pass) => kernel.dispatch(pass, bindGroup, rows));
  return {
    actual: await readFloats(device, outBuffer, rows * N),
    expected: referenceLinear(shape, rows, input, weight, bias, initialOut),
  };
}

describe('linear kernels', () => {
  const shapes: [string, LinearShape][] = [
    ['plain', { inFeatures: 48, outFeatures: 144, epilogue: Epilogue.none, hasBias: true }],
    ['gelu', { inFeatures: 48, outFeatures: 200, epilogue: Epilogue.gelu, hasBias: true }],
    ['residual add', { inFeatures: 200, outFeatures: 48, epilogue: Epilogue.residualAdd, hasBias: true }],
    ['no bias, odd vocab', { inFeatures: 48, outFeatures: 1001, epilogue: Epilogue.none, hasBias: false }],
    ['K not a multiple of 16', { inFeatures: 36, outFeatures: 70, epilogue: Epilogue.none, hasBias: true }],
  ];
  for (const [name, shape] of shapes) {
    for (const rows of [1, 3, 70]) {
      it(`${name}: ${rows} row(s) × ${shape.inFeatures} → ${shape.outFeatures}`, async () => {
        const { actual, expected } = await runLinear(shape, rows, rows * 7 + shape.outFeatures);
        expect(maxAbsDifference(actual, expected)).toBeLessThan(2e-4 * Math.sqrt(shape.inFeatures));
      });
    }
  }

  it('GELU stays finite and exact for large inputs of either sign', async () => {
    const shape = { inFeatures: 4, outFeatures: 8, epilogue: Epilogue.gelu, hasBias: false };
    const device = await testDevice();
    const kernel = new LinearKernel(device, 'gelu extremes', shape);
    const preActivations = [-100, -20, -3, -0.5, 0.5, 3, 20, 100];
    // Input (1, 0, 0, 0): each output's pre-activation is the first weight of its row.
    const weight = new Float32Array(preActivations.flatMap((value) => [value, 7, -7, 7]));
    const out = storageBuffer(device, new Float32Array(8));
    const bindGroup = kernel.bind(device, stepBuffer(device, 1), storageBuffer(device, new Float32Array([1, 0, 0, 0])),
      storageBuffer(device, weight), storageBuffer(device, new Float32Array(8)), out);
    await runPass(device, (pass) => kernel.dispatch(pass, bindGroup, 1));
    const actual = await readFloats(device, out, 8);
    expect(maxAbsDifference(actual, preActivations.map(geluNew))).toBeLessThan(1e-5);
  });
});
