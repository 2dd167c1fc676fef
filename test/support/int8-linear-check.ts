// The int8 linear kernel's check, for either build of the CPU kernels: the Node unit tests run it
// on the plain SIMD build, the browser tests on the relaxed one (which Node 20 gets wrong; see
// src/cpu/relaxed-simd.ts). Rows are quantized with their scale and sum, every weight within half
// a step, and the product within the input's rounding of float64.
import { expect } from 'vitest';
import type { CpuMemory } from '../../src/cpu/cpu-memory.ts';
import type { KernelBuild } from './cpu-kernel-builds.ts';
import { putValues } from './cpu-test-data.ts';
import { linearReference, maxAbsDifference } from './linear-reference-cpu.ts';
import { randomValues } from './random-values.ts';

export function checkInt8Linear(cpu: CpuMemory, build: KernelBuild): void {
  const put = (values: Float32Array) => putValues(cpu, values);
  // 7 tokens: a group of four and three single ones; 9 rows, split unevenly.
  const tokens = 7, rows = 9;
  const cols = 2048 + 64; // past one integer flush of the plain build (1024 columns) twice
  // Each token its own magnitude, so its input scale is its own: a token read with another's shows.
  const x = randomValues(tokens * cols, 4, 3).map((value, i) => value * (1 + 0.25 * Math.floor(i / cols)));
  // Rows of either sign on average, so a wrong row sum (the relaxed build subtracts 64 of them) shows.
  const weight = randomValues(rows * cols, 5, 0.2).map((value, i) => value + 0.1 * ((Math.floor(i / cols) % 3) - 1));
  const bias = randomValues(rows, 6);
  const quantized = cpu.allocate(rows * cols, 'int8 weights');
  const scales = cpu.allocate(rows * 8, 'scales and row sums');
  cpu.kernels.quantizeRowsI8(quantized, scales, put(weight), rows, cols);
  const xq = cpu.allocate(tokens * cols * 2, 'quantized x');
  const xScales = cpu.allocate(tokens * 4, 'x scales');
  cpu.kernels.quantizeInputI8(xq, xScales, put(x), tokens, cols);
  const out = cpu.allocate(tokens * rows * 4, 'out');
  const args = [out, xq, xScales, quantized, scales, put(bias), tokens, rows, cols] as const;
  // Two threads' ranges: [0, 4) and [4, rows).
  cpu.kernels.linearI8(...args, 0, 4);
  cpu.kernels.linearI8(...args, 4, rows);

  // (Views of memory are taken after the last allocation: growing the memory detaches them.)
  // Each row: its scale (max |w| / 127), every weight within half a step, and the sum of its values.
  const rowScales = new Float32Array(cpu.memory.buffer, scales, rows * 2);
  const rowSums = new Int32Array(cpu.memory.buffer, scales, rows * 2);
  const q = new Int8Array(cpu.memory.buffer, quantized, rows * cols);
  for (let r = 0; r < rows; r++) {
    const scale = rowScales[2 * r];
    const largest = Math.max(...weight.subarray(r * cols, (r + 1) * cols).map(Math.abs));
    expect(scale).toBeCloseTo(largest / 127, 6);
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      expect(Math.abs(q[r * cols + c] * scale - weight[r * cols + c])).toBeLessThanOrEqual(scale / 2 + 1e-7);
      sum += q[r * cols + c];
    }
    expect(rowSums[2 * r + 1]).toBe(sum);
  }
  const result = Float64Array.from(cpu.floats(out, tokens * rows));
  // Against the dequantized weights the only error left is the inputs' rounding: int16, or 14 bits
  // in the relaxed build, a step of 1/32767 or 1/8191 of the token's largest |x| per input.
  const dequantized = Float64Array.from(q, (value, i) => value * rowScales[2 * Math.floor(i / cols)]);
  expect(maxAbsDifference(result, linearReference(x, dequantized, bias, tokens, rows, cols))).toBeLessThan(build === 'relaxed' ? 8e-3 : 2e-3);
  // And against the original weights, the int8 rounding: ~0.3 / 127 / 2 per weight, random signs.
  expect(maxAbsDifference(result, linearReference(x, weight, bias, tokens, rows, cols))).toBeLessThan(0.3);
}
