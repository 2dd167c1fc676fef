// The 4-bit linear kernel's check, for either build of the CPU kernels, as int8-linear-check.ts is
// for int8: the Node unit tests run it on the plain SIMD build, the browser tests on the relaxed one.
// Groups are quantized within half a step of their scale, each row's scaled sum is kept, and the
// product is within the input's rounding of float64 on the dequantized weights.
import { expect } from 'vitest';
import type { CpuMemory } from '../../src/cpu/cpu-memory.ts';
import { putValues } from './cpu-test-data.ts';
import { linearReference, maxAbsDifference } from './linear-reference-cpu.ts';
import { randomValues } from './random-values.ts';

/** Bytes of a q4 row's scales (assembly/cpu/linear-q4.ts): an f32 per group of 32, then the row's scaled sum. */
export const q4RowScaleBytes = (cols: number) => (cols / 32 + 1) * 4;

/** The nibbles at `address` [rows, cols / 2] and their scales as the layout in linear-q4.ts says, as floats. */
export function dequantizeQ4(cpu: CpuMemory, address: number, scales: number, rows: number, cols: number): Float64Array {
  const bytes = cpu.bytes(address, rows * cols / 2);
  const rowScales = cpu.floats(scales, rows * q4RowScaleBytes(cols) / 4);
  const groups = cols / 32;
  const out = new Float64Array(rows * cols);
  const signed = (nibble: number) => (nibble >= 8 ? nibble - 16 : nibble);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const scale = rowScales[r * (groups + 1) + g];
      for (let j = 0; j < 16; j++) {
        const byte = bytes[(r * groups + g) * 16 + j];
        out[r * cols + g * 32 + j] = signed(byte & 15) * scale;
        out[r * cols + g * 32 + 16 + j] = signed(byte >> 4) * scale;
      }
    }
  }
  return out;
}

// Shapes: two groups (the tiny fixture's 64 columns), three, and 97 (past several token blocks of
// the prompt path); tokens 1 (decode), 3, 7 and 13 (fours and leftovers); rows not a multiple of 4.
export const Q4_CHECK_SHAPES = [
  { rows: 5, cols: 64, tokens: 1 },
  { rows: 37, cols: 96, tokens: 7 },
  { rows: 13, cols: 3104, tokens: 13 },
  { rows: 9, cols: 768, tokens: 3 },
];

export function checkQ4Linear(cpu: CpuMemory, shape: (typeof Q4_CHECK_SHAPES)[number], seed: number): void {
  const { rows, cols, tokens } = shape;
  const put = (values: Float32Array) => putValues(cpu, values);
  // Each group its own magnitude (up to 8× apart), so a group read with another's scale shows;
  // rows of either sign on average, so a wrong row sum (the relaxed build subtracts 8192 of them)
  // shows; each token its own magnitude, so a token read with another's input scale shows too.
  const groupMagnitude = (i: number) => 0.05 * (1 + ((Math.floor(i / 32) * 7) % 8));
  const weight = randomValues(rows * cols, 10 + seed, 1)
    .map((value, i) => (value + 0.3 * ((Math.floor(i / cols) % 3) - 1)) * groupMagnitude(i));
  const x = randomValues(tokens * cols, 20 + seed, 3).map((value, i) => value * (1 + 0.25 * Math.floor(i / cols)));
  const bias = randomValues(rows, 30 + seed);
  const nibbles = cpu.allocate(rows * cols / 2, 'q4 weights');
  const scales = cpu.allocate(rows * q4RowScaleBytes(cols), 'q4 scales and row sums');
  cpu.kernels.quantizeRowsQ4(nibbles, scales, put(weight), rows, cols);
  const xq = cpu.allocate(tokens * cols * 2, 'quantized x');
  const xScales = cpu.allocate(tokens * 4, 'x scales');
  cpu.kernels.quantizeInputQ4(xq, xScales, put(x), tokens, cols);
  const out = cpu.allocate(tokens * rows * 4, 'out');
  const args = [out, xq, xScales, nibbles, scales, put(bias), tokens, rows, cols] as const;
  // Two threads' ranges: [0, 4) and [4, rows).
  cpu.kernels.linearQ4(...args, 0, 4);
  cpu.kernels.linearQ4(...args, 4, rows);

  // (Views of memory are taken after the last allocation: growing the memory detaches them.)
  // Each group's scale is its largest-magnitude weight / -8, so that weight is exactly -8 steps;
  // every other weight is within half a step, or one step where +8 steps was clamped to 7. After
  // a row's groups comes its scaled sum, Σ of the dequantized weights.
  const groups = cols / 32;
  const rowScales = cpu.floats(scales, rows * (groups + 1));
  const dequantized = dequantizeQ4(cpu, nibbles, scales, rows, cols);
  for (let r = 0; r < rows; r++) {
    let rowSum = 0;
    for (let g = 0; g < groups; g++) {
      const scale = rowScales[r * (groups + 1) + g];
      const start = r * cols + g * 32;
      const values = weight.subarray(start, start + 32);
      const extreme = values.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
      expect(scale).toBeCloseTo(extreme / -8, 7);
      for (let j = 0; j < 32; j++) {
        const error = Math.abs(dequantized[start + j] - values[j]);
        const clamped = values[j] / scale > 7.5;
        expect(error).toBeLessThanOrEqual((clamped ? Math.abs(scale) : Math.abs(scale) / 2) + 1e-6);
        rowSum += dequantized[start + j];
      }
    }
    expect(rowScales[r * (groups + 1) + groups]).toBeCloseTo(rowSum, 4);
  }
  // Against the dequantized weights the only error left is the inputs' rounding (int16, or 14 bits
  // in the relaxed build): at most half an input step per product, Σ |w| · scale / 2 (f32 sums add
  // a little).
  const inputScales = cpu.floats(xScales, tokens);
  const result = Float64Array.from(cpu.floats(out, tokens * rows));
  const reference = linearReference(x, dequantized, bias, tokens, rows, cols);
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < rows; r++) {
      let bound = 0;
      for (let c = 0; c < cols; c++) bound += Math.abs(dequantized[r * cols + c]) * inputScales[t] / 2;
      expect(Math.abs(result[t * rows + r] - reference[t * rows + r]), `token ${t}, row ${r}`).toBeLessThanOrEqual(bound + 1e-4);
    }
  }
  // And it is not the unquantized product: the 4-bit rounding shows.
  expect(maxAbsDifference(result, linearReference(x, weight, bias, tokens, rows, cols))).toBeGreaterThan(1e-3);
}
