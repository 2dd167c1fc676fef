// Each CPU (WASM SIMD) kernel against a plain float64 computation of the same thing, on inputs
// with negative values and sizes that leave remainders (rows not a multiple of 4, tokens not a
// multiple of 4, an odd count of visible keys).
import { beforeEach, describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../scripts/model-files.ts';
import { CpuMemory } from '../../src/cpu/cpu-memory.ts';
import { WEIGHT_FORMAT_CODES } from '../../src/cpu/cpu-kernels.ts';
import { cpuKernelModule } from '../support/cpu-kernel-builds.ts';
import { putValues } from '../support/cpu-test-data.ts';
import { checkInt8Linear } from '../support/int8-linear-check.ts';
import { checkQ4Linear, dequantizeQ4, Q4_CHECK_SHAPES, q4RowScaleBytes } from '../support/q4-linear-check.ts';
import { linearReference, maxAbsDifference } from '../support/linear-reference-cpu.ts';
import { randomValues } from '../support/random-values.ts';

const kernels = cpuKernelModule('plain', false);

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

let cpu: CpuMemory;
beforeEach(async () => {
  cpu = await CpuMemory.create(kernels, { shared: false });
});

const put = (values: Float32Array | Uint8Array | Int32Array | Uint16Array) => putValues(cpu, values);

const floats = (address: number, count: number) => Float64Array.from(cpu.floats(address, count));

describe('linear kernels', () => {
  // 7 tokens: a group of four and three single ones; 37 rows: none is a multiple of 4.
  const tokens = 7, rows = 37, cols = 48;
  const x = randomValues(tokens * cols, 1, 2);
  const weight = randomValues(rows * cols, 2, 0.5);
  const bias = randomValues(rows, 3);
  const expected = linearReference(x, weight, bias, tokens, rows, cols);

  it('f32: matches float64, for a row range split in two', () => {
    const out = cpu.allocate(tokens * rows * 4, 'out');
    const args = [out, put(x), put(weight), put(bias), tokens, rows, cols] as const;
    cpu.kernels.linearF32(...args, 0, 13);
    cpu.kernels.linearF32(...args, 13, rows);
    expect(maxAbsDifference(floats(out, tokens * rows), expected)).toBeLessThan(1e-5);
  });

  it('f16: the weights rounded to f16, converted in SIMD, match float64 on the rounded weights', () => {
    const halves = Uint16Array.from(weight, float32ToFloat16Bits);
    const rounded = Float32Array.from(halves, float16BitsToFloat32);
    const xSplit = cpu.allocate(x.byteLength, 'split x');
    cpu.kernels.splitEvenOdd(xSplit, put(x), tokens * cols);
    const out = cpu.allocate(tokens * rows * 4, 'out');
    cpu.kernels.linearF16(out, xSplit, put(halves), put(bias), tokens, rows, cols, 0, rows);
    expect(maxAbsDifference(floats(out, tokens * rows), linearReference(x, rounded, bias, tokens, rows, cols))).toBeLessThan(1e-5);
  });

  it('f16 conversion is exact for subnormal, zero, negative and large halves', () => {
    const special = [0, -0, 5.96e-8, -5.96e-8, 6.1e-5, -1, 0.5, 65504, -65504, 3.14159];
    const values = Float32Array.from({ length: 16 }, (_, i) => special[i % special.length]);
    const halves = Uint16Array.from(values, float32ToFloat16Bits);
    // One row against each unit vector reads every weight back.
    const identity = new Float32Array(16 * 16).map((_, i) => (i % 17 === 0 ? 1 : 0));
    const xSplit = cpu.allocate(identity.byteLength, 'split x');
    cpu.kernels.splitEvenOdd(xSplit, put(identity), 16 * 16);
    const out = cpu.allocate(16 * 4, 'out');
    cpu.kernels.linearF16(out, xSplit, put(halves), put(new Float32Array(1)), 16, 1, 16, 0, 1);
    // (+ 0 turns -0 into 0: a dot product adds the other rows' zeros to a -0 weight.)
    expect(Array.from(cpu.floats(out, 16), (v) => v + 0)).toEqual(Array.from(halves, (h) => float16BitsToFloat32(h) + 0));
  });

  it('int8 (plain SIMD build): quantized rows and their sums, the product within int16 rounding of float64', () => {
    // The relaxed build's is test/browser/cpu-relaxed-kernels.test.ts.
    checkInt8Linear(cpu, 'plain');
  });
});

describe('4-bit linear kernel (groups of 32 columns, one scale each)', () => {
  // The relaxed build's is test/browser/cpu-relaxed-kernels.test.ts.
  for (const [index, shape] of Q4_CHECK_SHAPES.entries()) {
    const { rows, cols, tokens } = shape;
    it(`${rows}×${cols}, ${tokens} token(s), plain SIMD build: quantized within half a step, the product within int16 rounding of float64`, () => {
      checkQ4Linear(cpu, shape, index);
    });
  }
});

describe('element-wise and normalisation kernels', () => {
  it('LayerNorm matches float64 (biased variance, eps 1e-5)', () => {
    const tokens = 3, C = 64;
    const x = randomValues(tokens * C, 7, 5).map((v, i) => v + (i < C ? 10 : -3)); // rows with an offset mean
    const weight = randomValues(C, 8), bias = randomValues(C, 9);
    const out = cpu.allocate(tokens * C * 4, 'out');
    cpu.kernels.layerNorm(out, put(x), put(weight), put(bias), tokens, C);
    const expected = new Float64Array(tokens * C);
    for (let t = 0; t < tokens; t++) {
      const row = Array.from(x.subarray(t * C, (t + 1) * C));
      const mean = row.reduce((a, b) => a + b) / C;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
      row.forEach((v, i) => (expected[t * C + i] = ((v - mean) / Math.sqrt(variance + 1e-5)) * weight[i] + bias[i]));
    }
    expect(maxAbsDifference(floats(out, tokens * C), expected)).toBeLessThan(1e-5);
  });

  it('GELU (tanh form) matches float64 across negative, small and large inputs', () => {
    const x = Float32Array.from({ length: 4096 }, (_, i) => -20 + (40 * i) / 4095);
    const address = put(x);
    cpu.kernels.geluColumns(address, 1, x.length, 0, x.length);
    const got = floats(address, x.length);
    for (let i = 0; i < x.length; i++) expect(Math.abs(got[i] - gelu(x[i]))).toBeLessThan(1e-6 * Math.max(1, Math.abs(x[i])));
    // The negative tail: gelu(-3) is about -0.0036, not its absolute value.
    expect(got[Math.round((17 / 40) * 4095)]).toBeLessThan(0);
  });

  // A thread's share of a linear layer's outputs: columns [start, end) of every token's row, with a
  // tail of fewer than four columns, and nothing outside them touched.
  const tokens = 3, width = 23, start = 4, end = 19;
  const inRange = (i: number) => i % width >= start && i % width < end;

  it('GELU over a range of columns changes those and only those', () => {
    const x = randomValues(tokens * width, 19, 4);
    const address = put(x);
    cpu.kernels.geluColumns(address, tokens, width, start, end);
    const got = floats(address, x.length);
    for (let i = 0; i < x.length; i++) {
      if (inRange(i)) expect(Math.abs(got[i] - gelu(x[i]))).toBeLessThan(1e-6 * Math.max(1, Math.abs(x[i])));
      else expect(got[i]).toBe(x[i]);
    }
  });

  it('adds a range of columns into the residual, and only those', () => {
    const a = randomValues(tokens * width, 10), b = randomValues(tokens * width, 11);
    const address = put(a);
    cpu.kernels.addColumns(address, put(b), tokens, width, start, end);
    const got = floats(address, a.length);
    for (let i = 0; i < a.length; i++) expect(got[i]).toBeCloseTo(inRange(i) ? a[i] + b[i] : a[i], 6);
  });

  it('argmax returns the first of equal largest values', () => {
    const values = randomValues(1001, 12, 3);
    values[500] = 9;
    values[700] = 9;
    expect(cpu.kernels.argmax(put(values), values.length)).toBe(500);
  });

  it('sumF32 reads every float of its range once', () => {
    const values = randomValues(32 * 10, 13);
    const expected = values.subarray(64, 256).reduce((a, b) => a + b, 0);
    expect(cpu.kernels.sumF32(put(values), 64, 256)).toBeCloseTo(expected, 3);
  });
});

describe('embedding', () => {
  const C = 32, vocab = 11, nCtx = 6;
  const wte = randomValues(vocab * C, 14), wpe = randomValues(nCtx * C, 15);
  const tokenIds = Int32Array.of(10, 0, 3);
  const pos0 = 2;
  const expected = (table: ArrayLike<number>) => Float64Array.from({ length: 3 * C }, (_, i) => {
    const t = Math.floor(i / C), c = i % C;
    return table[tokenIds[t] * C + c] + wpe[(pos0 + t) * C + c];
  });

  it('adds token and position rows from f32 tables', () => {
    const out = cpu.allocate(3 * C * 4, 'out');
    cpu.kernels.embed(out, put(tokenIds), 3, pos0, put(wte), 0, WEIGHT_FORMAT_CODES.f32, put(wpe), WEIGHT_FORMAT_CODES.f32, C);
    expect(maxAbsDifference(floats(out, 3 * C), expected(wte))).toBeLessThan(1e-6);
  });

  it('reads f16 and int8 token tables', () => {
    const halves = Uint16Array.from(wte, float32ToFloat16Bits);
    const wpeHalves = Uint16Array.from(wpe, float32ToFloat16Bits);
    const out = cpu.allocate(3 * C * 4, 'out');
    cpu.kernels.embed(out, put(tokenIds), 3, pos0, put(halves), 0, WEIGHT_FORMAT_CODES.f16, put(wpeHalves), WEIGHT_FORMAT_CODES.f16, C);
    const roundedWpe = Float32Array.from(wpeHalves, float16BitsToFloat32);
    const expectedF16 = Float64Array.from({ length: 3 * C }, (_, i) => {
      const t = Math.floor(i / C), c = i % C;
      return float16BitsToFloat32(halves[tokenIds[t] * C + c]) + roundedWpe[(pos0 + t) * C + c];
    });
    expect(maxAbsDifference(floats(out, 3 * C), expectedF16)).toBeLessThan(1e-6);

    const quantized = cpu.allocate(vocab * C, 'int8 wte');
    const scales = cpu.allocate(vocab * 8, 'scales and row sums');
    cpu.kernels.quantizeRowsI8(quantized, scales, put(wte), vocab, C);
    cpu.kernels.embed(out, put(tokenIds), 3, pos0, quantized, scales, WEIGHT_FORMAT_CODES.int8, put(wpe), WEIGHT_FORMAT_CODES.f32, C);
    const q = new Int8Array(cpu.memory.buffer, quantized, vocab * C);
    const rowScales = cpu.floats(scales, 2 * vocab); // scale, row sum, scale, ...
    expect(maxAbsDifference(floats(out, 3 * C), expected(Float64Array.from(q, (v, i) => v * rowScales[2 * Math.floor(i / C)])))).toBeLessThan(1e-6);
  });
});

describe('embedding from a q4 table', () => {
  it('adds the dequantized token row (two groups, each with its own scale) to the position row', () => {
    const C = 64, vocab = 5;
    const wte = randomValues(vocab * C, 16).map((value, i) => value * (i % C < 32 ? 0.1 : 1));
    const wpe = randomValues(4 * C, 17);
    const tokenIds = Int32Array.of(4, 1);
    const out = cpu.allocate(2 * C * 4, 'out');
    const nibbles = cpu.allocate(vocab * C / 2, 'q4 wte');
    const scales = cpu.allocate(vocab * q4RowScaleBytes(C), 'q4 scales');
    cpu.kernels.quantizeRowsQ4(nibbles, scales, put(wte), vocab, C);
    cpu.kernels.embed(out, put(tokenIds), 2, 1, nibbles, scales, WEIGHT_FORMAT_CODES.q4, put(wpe), WEIGHT_FORMAT_CODES.f32, C);
    const table = dequantizeQ4(cpu, nibbles, scales, vocab, C);
    const expected = Float64Array.from({ length: 2 * C }, (_, i) => table[tokenIds[Math.floor(i / C)] * C + (i % C)] + wpe[(1 + Math.floor(i / C)) * C + (i % C)]);
    expect(maxAbsDifference(floats(out, 2 * C), expected)).toBeLessThan(1e-6);
  });
});

/** The bf16 nearest to x (ties to the even one), found by comparing distances in float64. */
function nearestBf16(x: number): number {
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  f[0] = x;
  const truncated = bits[0] & 0xffff0000;
  bits[0] = truncated;
  const towardZero = f[0];
  bits[0] = truncated + 0x10000;
  const awayFromZero = f[0];
  const below = Math.abs(x - towardZero), above = Math.abs(awayFromZero - x);
  return below < above || (below === above && (truncated & 0x10000) === 0) ? towardZero : awayFromZero;
}

const CACHES = [
  { kind: 'f32', bytes: 4, write: 'writeKvCache', attend: 'attention', rounded: (x: number) => Math.fround(x) },
  { kind: 'bf16', bytes: 2, write: 'writeKvCacheBf16', attend: 'attentionBf16', rounded: nearestBf16 },
] as const;

/**
 * Reads value c (of C) at position j from a head-major cache: f32, or bf16 with each 8 values of a
 * head's row stored as [x0 x4 x1 x5 x2 x6 x3 x7] (assembly/cpu/attention.ts).
 */
function cachedValue(cache: (typeof CACHES)[number], address: number, j: number, c: number, headSize: number, nCtx: number): number {
  const h = Math.floor(c / headSize), i = c % headSize;
  const row = (h * nCtx + j) * headSize;
  if (cache.kind === 'f32') return cpu.floats(address + (row + i) * 4, 1)[0];
  const r = i % 8;
  const half = new Uint16Array(cpu.memory.buffer, address, row + headSize)[row + i - r + (r < 4 ? 2 * r : 2 * (r - 4) + 1)];
  return new Float32Array(Uint32Array.of(half << 16).buffer)[0];
}

// 2 heads of 16, and of 48 (a pass of 32 outputs and one of 16); 3 new tokens after 4 cached ones:
// the last sees 7 keys (not a multiple of 4).
for (const cache of CACHES) for (const headSize of [16, 48]) describe(`attention over the KV cache (${cache.kind}), heads of ${headSize}`, () => {
  const nHead = 2, C = nHead * headSize, nCtx = 8, pos0 = 4, tokens = 3;

  it('writes the keys and values, and matches causal softmax attention over them in float64', () => {
    const kCache = cpu.allocate(nCtx * C * cache.bytes, 'key cache');
    const vCache = cpu.allocate(nCtx * C * cache.bytes, 'value cache');
    // The earlier tokens' keys and values, written as an earlier pass would, then this pass's.
    const earlier = randomValues(pos0 * 3 * C, 17, 2);
    cpu.kernels[cache.write](kCache, vCache, put(earlier), pos0, 0, C, nHead, nCtx);
    const qkv = randomValues(tokens * 3 * C, 16, 2);
    const qkvAddress = put(qkv);
    cpu.kernels[cache.write](kCache, vCache, qkvAddress, tokens, pos0, C, nHead, nCtx);
    const written = (j: number) => (j < pos0 ? earlier.subarray(j * 3 * C) : qkv.subarray((j - pos0) * 3 * C));
    const key = (j: number, c: number) => cachedValue(cache, kCache, j, c, headSize, nCtx);
    const value = (j: number, c: number) => cachedValue(cache, vCache, j, c, headSize, nCtx);
    for (let j = 0; j < pos0 + tokens; j++) {
      for (let c = 0; c < C; c++) {
        expect(key(j, c)).toBe(cache.rounded(written(j)[C + c]));
        expect(value(j, c)).toBe(cache.rounded(written(j)[2 * C + c]));
      }
    }
    const out = cpu.allocate(tokens * C * 4, 'out');
    const scores = cpu.allocate(nHead * nCtx * 4, 'scores');
    cpu.kernels[cache.attend](out, qkvAddress, kCache, vCache, scores, tokens, pos0, C, nHead, nCtx, 0, 1);
    cpu.kernels[cache.attend](out, qkvAddress, kCache, vCache, scores, tokens, pos0, C, nHead, nCtx, 1, nHead);

    const expected = new Float64Array(tokens * C);
    for (let t = 0; t < tokens; t++) {
      for (let h = 0; h < nHead; h++) {
        const visible = pos0 + t + 1;
        const logits = Array.from({ length: visible }, (_, j) => {
          let dot = 0;
          for (let i = 0; i < headSize; i++) dot += qkv[t * 3 * C + h * headSize + i] * key(j, h * headSize + i);
          return dot / Math.sqrt(headSize);
        });
        const largest = Math.max(...logits);
        const weights = logits.map((logit) => Math.exp(logit - largest));
        const total = weights.reduce((a, b) => a + b);
        for (let i = 0; i < headSize; i++) {
          expected[t * C + h * headSize + i] = weights.reduce((sum, w, j) => sum + (w / total) * value(j, h * headSize + i), 0);
        }
      }
    }
    expect(maxAbsDifference(floats(out, tokens * C), expected)).toBeLessThan(1e-5);
  });
});

describe('the bf16 KV cache', () => {
  it('rounds each value to the nearest bf16, ties to the even one', () => {
    // bf16 keeps 7 bits of mantissa: between 1 and 2 its step is 2^-7.
    const step = 2 ** -7;
    const cases: Array<[number, number]> = [
      [1 + step / 2, 1], // a tie, to the even 1
      [1 + 3 * step / 2, 1 + 2 * step], // a tie, to the even 1 + 2 steps
      [1 + step / 2 + 2 ** -20, 1 + step], // just past the tie
      [-(1 + 3 * step / 2), -(1 + 2 * step)],
      [3.140625, 3.140625], // exact
      [1e-40, nearestBf16(1e-40)], // subnormal
    ];
    const headSize = 16, C = headSize, nCtx = 1;
    const qkv = new Float32Array(3 * C);
    cases.forEach(([x], i) => {
      qkv[C + i] = x;
      qkv[2 * C + 8 + i] = -x;
    });
    const kCache = cpu.allocate(C * 2, 'key cache'), vCache = cpu.allocate(C * 2, 'value cache');
    cpu.kernels.writeKvCacheBf16(kCache, vCache, put(qkv), 1, 0, C, 1, nCtx);
    cases.forEach(([x, expected], i) => {
      expect(nearestBf16(x)).toBe(expected);
      expect(cachedValue(CACHES[1], kCache, 0, i, headSize, nCtx)).toBe(expected);
      expect(cachedValue(CACHES[1], vCache, 0, 8 + i, headSize, nCtx)).toBe(-expected);
    });
  });
});

describe('the model memory', () => {
  it('refuses more than a WASM memory can address, saying what to do, without growing', () => {
    const before = cpu.memory.buffer.byteLength;
    // GPT-2 XL's f32 weights alone are 6.2 GB.
    expect(() => cpu.allocate(6.2e9, "the model's weights")).toThrow(
      /the model's weights needs 5\.\d\d GiB of CPU memory in all, but the CPU backend can address at most 4\.00 GiB: choose int8 weights or a smaller model/,
    );
    expect(cpu.memory.buffer.byteLength).toBe(before);
    expect(cpu.allocate(1024, 'a small buffer')).toBeGreaterThan(0);
  });
});
