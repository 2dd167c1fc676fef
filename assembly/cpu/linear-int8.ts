// Linear layer with int8 weights: out[t, r] = xScale[t] · wScale[r] · (xq[t, :] · Wq[r, :]) + b[r]
// for rows [rowStart, rowEnd) of Wq [rows, cols].
//
// Decoding takes one row at a time, as in linear-f32.ts. A prompt goes in blocks of tokens whose
// int16 inputs fit in L1 (16 KiB: 8 tokens of 768 columns, 4 of 3072), every row of the range
// passing over a block, four tokens at a time: each 16 weights loaded and widened serve four
// tokens. (Each row against all of a 128-token prompt read the inputs from L2 for every row: one
// thread, 124M, 4.06 ms per prompt token against 2.85 blocked, the best of 15 runs each.)
// Weights are int8 with one scale per row (quantizeRowsI8, at load); the input row is quantized
// to int16 with one scale per token (quantizeRowsI16, once per layer input), so the dot product is
// integer: i8 weights widen to i16 and i32x4.dot_i16x8_s multiplies and adds pairs. Per lane and
// 16 columns that adds at most 2 · 2 · 127 · 32767 < 2^24, so the i32 sums are moved to f32 every
// 1024 columns (64 steps) before they could overflow. Needs cols % 16 == 0.
import { max4, sum4 } from './simd';

const COLUMNS_PER_FLUSH: usize = 1024;
const L1_INPUT_BYTES: usize = 16384;

/** Each row of `src` f32 [rows, cols] as int8 in `dst` [rows, cols], scale (max |w| / 127) in `scales` [rows]. */
export function quantizeRowsI8(dst: usize, scales: usize, src: usize, rows: i32, cols: i32): void {
  const n = <usize>cols;
  for (let r: usize = 0; r < <usize>rows; r++) {
    const s = src + r * (n << 2);
    const d = dst + r * n;
    let m = f32x4.splat(0);
    for (let i: usize = 0; i < n << 2; i += 16) m = f32x4.max(m, f32x4.abs(v128.load(s + i)));
    const largest = max4(m);
    const scale: f32 = largest / 127;
    store<f32>(scales + (r << 2), scale);
    const inverse = f32x4.splat(scale > 0 ? 1 / scale : 0);
    for (let i: usize = 0; i < n; i += 16) {
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s + (i << 2)), inverse)));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s + (i << 2), 16), inverse)));
      const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s + (i << 2), 32), inverse)));
      const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s + (i << 2), 48), inverse)));
      v128.store(d + i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
  }
}

/** Each token row of `src` f32 [tokens, cols] as int16 in `dst`, scale (max |x| / 32767) in `scales` [tokens]. */
export function quantizeRowsI16(dst: usize, scales: usize, src: usize, tokens: i32, cols: i32): void {
  const n = <usize>cols;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const s = src + t * (n << 2);
    const d = dst + t * (n << 1);
    let m = f32x4.splat(0);
    for (let i: usize = 0; i < n << 2; i += 16) m = f32x4.max(m, f32x4.abs(v128.load(s + i)));
    const scale: f32 = max4(m) / 32767;
    store<f32>(scales + (t << 2), scale);
    const inverse = f32x4.splat(scale > 0 ? 1 / scale : 0);
    for (let i: usize = 0; i < n; i += 8) {
      const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s + (i << 2)), inverse)));
      const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s + (i << 2), 16), inverse)));
      v128.store(d + (i << 1), i16x8.narrow_i32x4_s(q0, q1));
    }
  }
}

// 16 weights of one row against 16 inputs: two i16x8 dot products, summed per i32 lane.
@inline function dot16(weights: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(weights), v128.load(x)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(weights), v128.load(x, 16)),
  );
}

/** Row `w` [n] · token row `x` [n] (i16), as integers moved to f32 every COLUMNS_PER_FLUSH. */
@inline function dotRow(w: usize, x: usize, n: usize): f32 {
  let f = f32x4.splat(0);
  for (let start: usize = 0; start < n; start += COLUMNS_PER_FLUSH) {
    const end = min(start + COLUMNS_PER_FLUSH, n);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0);
    for (let i = start; i < end; i += 32) {
      a0 = i32x4.add(a0, dot16(v128.load(w + i), x + (i << 1)));
      a1 = i32x4.add(a1, dot16(v128.load(w + i, 16), x + (i << 1) + 32));
    }
    f = f32x4.add(f, f32x4.convert_i32x4_s(i32x4.add(a0, a1)));
  }
  return sum4(f);
}

// The same with the weights already widened to i16 (low and high halves).
@inline function dot16Widened(low: v128, high: v128, x: usize): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(low, v128.load(x)), i32x4.dot_i16x8_s(high, v128.load(x, 16)));
}

/**
 * out[t + j, row] for j < 4: row `w` [n] against four consecutive token rows of `x` (i16,
 * `xStride` bytes apart). Each 16 weights are loaded and widened once for the four tokens.
 */
@inline function rowFourTokens(
  o: usize, outStride: usize, w: usize, scale: f32, b: f32, x: usize, xStride: usize, xScales: usize, n: usize,
): void {
  let f0: f32 = 0, f1: f32 = 0, f2: f32 = 0, f3: f32 = 0;
  for (let start: usize = 0; start < n; start += COLUMNS_PER_FLUSH) {
    const end = min(start + COLUMNS_PER_FLUSH, n);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let i = start; i < end; i += 16) {
      const weights = v128.load(w + i);
      const low = i16x8.extend_low_i8x16_s(weights);
      const high = i16x8.extend_high_i8x16_s(weights);
      const x0 = x + (i << 1);
      a0 = i32x4.add(a0, dot16Widened(low, high, x0));
      a1 = i32x4.add(a1, dot16Widened(low, high, x0 + xStride));
      a2 = i32x4.add(a2, dot16Widened(low, high, x0 + 2 * xStride));
      a3 = i32x4.add(a3, dot16Widened(low, high, x0 + 3 * xStride));
    }
    f0 += sum4(f32x4.convert_i32x4_s(a0));
    f1 += sum4(f32x4.convert_i32x4_s(a1));
    f2 += sum4(f32x4.convert_i32x4_s(a2));
    f3 += sum4(f32x4.convert_i32x4_s(a3));
  }
  store<f32>(o, f0 * scale * load<f32>(xScales) + b);
  store<f32>(o + outStride, f1 * scale * load<f32>(xScales, 4) + b);
  store<f32>(o + 2 * outStride, f2 * scale * load<f32>(xScales, 8) + b);
  store<f32>(o + 3 * outStride, f3 * scale * load<f32>(xScales, 12) + b);
}

export function linearI8(
  out: usize, xq: usize, xScales: usize, weight: usize, weightScales: usize, bias: usize,
  tokens: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32,
): void {
  const n = <usize>cols;
  const xStride = n << 1;
  const outStride = <usize>rows << 2;
  // Tokens in blocks whose inputs stay in L1 while every row of the range passes over them.
  const blockTokens = max(4, <i32>(L1_INPUT_BYTES / xStride) & ~3);
  for (let first = 0; first < tokens; first += blockTokens) {
    const last = min(tokens, first + blockTokens);
    for (let row = rowStart; row < rowEnd; row++) {
      const w = weight + <usize>row * n;
      const b = load<f32>(bias + (<usize>row << 2));
      const scale = load<f32>(weightScales + (<usize>row << 2));
      const o = out + (<usize>row << 2);
      let t = first;
      for (; t + 4 <= last; t += 4) {
        rowFourTokens(o + <usize>t * outStride, outStride, w, scale, b, xq + <usize>t * xStride, xStride, xScales + (<usize>t << 2), n);
      }
      for (; t < last; t++) {
        const dot = dotRow(w, xq + <usize>t * xStride, n);
        store<f32>(o + <usize>t * outStride, dot * scale * load<f32>(xScales + (<usize>t << 2)) + b);
      }
    }
  }
}
