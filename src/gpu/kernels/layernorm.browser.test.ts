// layernorm.wgsl and layernorm-subgroups.wgsl against a float64 CPU reference (eps 1e-5, biased
// variance), including a row with a large common offset, where E[x²] - mean² would lose the
// variance.
import { expect, it } from 'vitest';
import { layerNormKernel, type KernelTuning } from '../kernels.ts';
import { maxAbsDifference, readFloats, runPass, signedRandom, stepBuffer, storageBuffer, testDevice } from '../../../test/support/gpu-harness.ts';

function referenceLayerNorm(x: Float32Array, weight: Float32Array, bias: Float32Array, C: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let row = 0; row < x.length / C; row++) {
    const values = Array.from(x.subarray(row * C, (row + 1) * C));
    const mean = values.reduce((a, b) => a + b, 0) / C;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
    values.forEach((v, c) => { out[row * C + c] = ((v - mean) / Math.sqrt(variance + 1e-5)) * weight[c] + bias[c]; });
  }
  return out;
}

const tunings: [string, KernelTuning][] = [
  ['subgroups', { softwareAdapter: false, subgroups: true, subgroupMinSize: 4, shaderF16: false }],
  ['subgroups larger than they are', { softwareAdapter: false, subgroups: true, subgroupMinSize: 32, shaderF16: false }],
  ['no subgroups', { softwareAdapter: false, subgroups: false, subgroupMinSize: 32, shaderF16: false }],
];

for (const [tuningName, tuning] of tunings) {
  for (const [C, rows] of [[48, 37], [1600, 5]]) {
    it(`normalises ${rows} rows of ${C} features (${tuningName})`, async () => {
      const device = await testDevice();
      const layerNorm = layerNormKernel(device, C, tuning);
      const x = signedRandom(rows * C, C, 3);
      for (let c = 0; c < C; c++) x[(rows - 1) * C + c] += 300; // last row: a large offset
      const weight = signedRandom(C, 2, 2);
      const bias = signedRandom(C, 3, 1);
      const out = storageBuffer(device, new Float32Array(rows * C));
      const bindGroup = layerNorm.bind(device, [stepBuffer(device, rows), storageBuffer(device, x),
        storageBuffer(device, weight), storageBuffer(device, bias), out]);
      await runPass(device, (pass) => layerNorm.dispatch(pass, bindGroup, rows));
      expect(maxAbsDifference(await readFloats(device, out, rows * C), referenceLayerNorm(x, weight, bias, C))).toBeLessThan(2e-4);
    });
  }
}
