// Linear layer with int8 weights: out[t, r] = xScale[t] · wScale[r] · (xq[t, :] · Wq[r, :]) + b[r]
// for rows [rowStart, rowEnd) of Wq [rows, cols].
//
// Weights are int8 with one scale per row (quantizeRowsI8, at load), which also keeps each row's
// sum. The input row is quantized once per layer input, one scale per token (quantizeInputI8), so
// the dot product is integer. Its form depends on the build:
// - With relaxed SIMD (the "-relaxed" builds, where the browser has it), the input is 14 bits
//   u = q + 8192 (q in ±8191) split into two 7-bit halves, hi = u >> 7 and lo = u & 127, and
//   i32x4.relaxed_dot_i8x16_i7x16_add_s multiplies 16 weights by 16 halves and adds them into four
//   lanes in one step (one vpdpbusd with AVX-VNNI, five instructions without): q = 128 · (hi - 64)
//   + lo, so W · q = 128 · (W · hi - 64 · ΣW) + W · lo, with ΣW the row's sum. Each 16 columns are
//   32 bytes, the 16 hi then the 16 lo. Per lane the sums stay below 2^31 for rows of up to 2^19
//   columns, so they go to f32 once, at the end of a row.
// - Without, the input is int16 and i8 weights widen to i16 for i32x4.dot_i16x8_s, which multiplies
//   and adds pairs. Per lane and 16 columns that adds at most 2 · 2 · 127 · 32767 < 2^24, so the i32
//   sums are moved to f32 every 1024 columns (64 steps) before they could overflow.
// Per 16 weights the relaxed form takes two steps where the plain one takes five (two widening
// loads, two dot products, an add). With AVX-VNNI each relaxed step is one instruction: alone on one
// thread in Chromium 156, a row-by-row kernel read weights 1.2× as fast from memory and 1.4-2.2×
// from L2, and in the app prompts and decoding took ~20% less. Without it V8 spells each step out
// in five, and the plain form is faster (src/cpu/kernel-build-choice.ts times both).
//
// Decoding takes one row at a time, as in linear-f32.ts. A prompt goes in blocks of tokens whose
// inputs fit in L1 (16 KiB: 8 tokens of 768 columns, 4 of 3072), every row of the range passing
// over a block, four tokens at a time: each 16 weights loaded (and widened) serve four tokens.
// (Each row against all of a 128-token prompt read the inputs from L2 for every row: one thread,
// 124M, 4.06 ms per prompt token against 2.85 blocked, the best of 15 runs each.)
// Both forms take 2 bytes per column. Needs cols % 16 == 0.
import { max4, sum4, sumI32x4 } from './simd';

const COLUMNS_PER_FLUSH: usize = 1024;
const L1_INPUT_BYTES: usize = 16384;

/** The largest |v| of the `bytes / 4` f32s at `s`. */
@inline function largestMagnitude(s: usize, bytes: usize): f32 {
  let m = f32x4.splat(0);
  for (let i: usize = 0; i < bytes; i += 16) m = f32x4.max(m, f32x4.abs(v128.load(s + i)));
  return max4(m);
}

/** The four f32s at `s` times `inverse`, rounded to the nearest integer (i32x4). */
@inline function rounded(s: usize, inverse: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s), inverse)));
}

/** Bytes per row of an int8 matrix's scales: the f32 scale, then the i32 sum of the row's int8 values. */
export const INT8_ROW_SCALE_BYTES: usize = 8;

/**
 * Each row of `src` f32 [rows, cols] as int8 in `dst` [rows, cols], scale (max |w| / 127) and the
 * sum of the int8 values in `scales` [rows] (INT8_ROW_SCALE_BYTES each).
 */
export function quantizeRowsI8(dst: usize, scales: usize, src: usize, rows: i32, cols: i32): void {
  const n = <usize>cols;
  for (let r: usize = 0; r < <usize>rows; r++) {
    const s = src + r * (n << 2);
    const d = dst + r * n;
    const scale: f32 = largestMagnitude(s, n << 2) / 127;
    const inverse = f32x4.splat(scale > 0 ? 1 / scale : 0);
    let sum = i32x4.splat(0);
    for (let i: usize = 0; i < n; i += 16) {
      const q0 = rounded(s + (i << 2), inverse), q1 = rounded(s + (i << 2) + 16, inverse);
      const q2 = rounded(s + (i << 2) + 32, inverse), q3 = rounded(s + (i << 2) + 48, inverse);
      sum = i32x4.add(i32x4.add(sum, i32x4.add(q0, q1)), i32x4.add(q2, q3));
      v128.store(d + i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
    const rowScales = scales + r * INT8_ROW_SCALE_BYTES;
    store<f32>(rowScales, scale);
    store<i32>(rowScales, sumI32x4(sum), 4);
  }
}

/** The int8 kernel's input (see above): each token row of `src` f32 [tokens, cols] in `dst`, its scale in `scales` [tokens]. */
export function quantizeInputI8(dst: usize, scales: usize, src: usize, tokens: i32, cols: i32): void {
  if (!ASC_FEATURE_RELAXED_SIMD) {
    quantizeRowsI16(dst, scales, src, tokens, cols);
    return;
  }
  const n = <usize>cols;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const s = src + t * (n << 2);
    const d = dst + t * (n << 1);
    const scale: f32 = largestMagnitude(s, n << 2) / 8191;
    store<f32>(scales + (t << 2), scale);
    const inverse = f32x4.splat(scale > 0 ? 1 / scale : 0);
    const offset = i32x4.splat(8192);
    const low7 = i32x4.splat(127);
    for (let i: usize = 0; i < n; i += 16) {
      const u0 = i32x4.add(rounded(s + (i << 2), inverse), offset), u1 = i32x4.add(rounded(s + (i << 2) + 16, inverse), offset);
      const u2 = i32x4.add(rounded(s + (i << 2) + 32, inverse), offset), u3 = i32x4.add(rounded(s + (i << 2) + 48, inverse), offset);
      const hi = i8x16.narrow_i16x8_u(
        i16x8.narrow_i32x4_u(i32x4.shr_u(u0, 7), i32x4.shr_u(u1, 7)), i16x8.narrow_i32x4_u(i32x4.shr_u(u2, 7), i32x4.shr_u(u3, 7)));
      const lo = i8x16.narrow_i16x8_u(
        i16x8.narrow_i32x4_u(v128.and(u0, low7), v128.and(u1, low7)), i16x8.narrow_i32x4_u(v128.and(u2, low7), v128.and(u3, low7)));
      v128.store(d + (i << 1), hi);
      v128.store(d + (i << 1), lo, 16);
    }
  }
}

/** Each token row of `src` f32 [tokens, cols] as int16 in `dst`, scale (max |x| / 32767) in `scales` [tokens]. */
export function quantizeRowsI16(dst: usize, scales: usize, src: usize, tokens: i32, cols: i32): void {
  const n = <usize>cols;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const s = src + t * (n << 2);
    const d = dst + t * (n << 1);
    const scale: f32 = largestMagnitude(s, n << 2) / 32767;
    store<f32>(scales + (t << 2), scale);
    const inverse = f32x4.splat(scale > 0 ? 1 / scale : 0);
    for (let i: usize = 0; i < n; i += 8) {
      v128.store(d + (i << 1), i16x8.narrow_i32x4_s(rounded(s + (i << 2), inverse), rounded(s + (i << 2) + 16, inverse)));
    }
  }
}

// 16 weights of one row (at `w`) against 16 inputs: each 8 loaded already widened to i16 (one
// pmovsxbw from memory on x86, where a 16-byte load and two extends take three or four
// instructions), two i16x8 dot products, summed per i32 lane.
@inline function dot16(w: usize, x: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(v128.load8x8_s(w), v128.load(x)),
    i32x4.dot_i16x8_s(v128.load8x8_s(w, 8), v128.load(x, 16)),
  );
}

/** Row `w` [n] · token row `x` [n] (i16), as integers moved to f32 every COLUMNS_PER_FLUSH. */
@inline function dotRow(w: usize, x: usize, n: usize): f32 {
  let f = f32x4.splat(0);
  for (let start: usize = 0; start < n; start += COLUMNS_PER_FLUSH) {
    const end = min(start + COLUMNS_PER_FLUSH, n);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0);
    for (let i = start; i < end; i += 32) {
      a0 = i32x4.add(a0, dot16(w + i, x + (i << 1)));
      a1 = i32x4.add(a1, dot16(w + i + 16, x + (i << 1) + 32));
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
      const low = v128.load8x8_s(w + i);
      const high = v128.load8x8_s(w + i, 8);
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

/** W · q for the relaxed form, from a row's sums against the hi and lo halves and its ΣW (see above). */
@inline function relaxedDot(hi: v128, lo: v128, rowSum: i32): f32 {
  return <f32>(sumI32x4(hi) - (rowSum << 6)) * 128 + <f32>sumI32x4(lo);
}

/** Row `w` [n] · one token's relaxed input `x`, 32 columns a step with two sets of sums. */
@inline function dotRowRelaxed(w: usize, x: usize, n: usize, rowSum: i32): f32 {
  let h0 = i32x4.splat(0), l0 = i32x4.splat(0), h1 = i32x4.splat(0), l1 = i32x4.splat(0);
  for (let i: usize = 0; i < n; i += 32) {
    const w0 = v128.load(w + i), w1 = v128.load(w + i, 16);
    const x0 = x + (i << 1);
    h0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, v128.load(x0), h0);
    l0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w0, v128.load(x0, 16), l0);
    h1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, v128.load(x0, 32), h1);
    l1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(w1, v128.load(x0, 48), l1);
  }
  return relaxedDot(i32x4.add(h0, h1), i32x4.add(l0, l1), rowSum);
}

/** rowFourTokens for the relaxed form. */
@inline function rowFourTokensRelaxed(
  o: usize, outStride: usize, w: usize, scale: f32, rowSum: i32, b: f32, x: usize, xStride: usize, xScales: usize, n: usize,
): void {
  let h0 = i32x4.splat(0), l0 = i32x4.splat(0), h1 = i32x4.splat(0), l1 = i32x4.splat(0);
  let h2 = i32x4.splat(0), l2 = i32x4.splat(0), h3 = i32x4.splat(0), l3 = i32x4.splat(0);
  for (let i: usize = 0; i < n; i += 16) {
    const weights = v128.load(w + i);
    const x0 = x + (i << 1);
    h0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(weights, v128.load(x0), h0);
    l0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(weights, v128.load(x0, 16), l0);
    h1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(weights, v128.load(x0 + xStride), h1);
    l1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(weights, v128.load(x0 + xStride, 16), l1);
    h2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(weights, v128.load(x0 + 2 * xStride), h2);
    l2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(weights, v128.load(x0 + 2 * xStride, 16), l2);
    h3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(weights, v128.load(x0 + 3 * xStride), h3);
    l3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(weights, v128.load(x0 + 3 * xStride, 16), l3);
  }
  store<f32>(o, relaxedDot(h0, l0, rowSum) * scale * load<f32>(xScales) + b);
  store<f32>(o + outStride, relaxedDot(h1, l1, rowSum) * scale * load<f32>(xScales, 4) + b);
  store<f32>(o + 2 * outStride, relaxedDot(h2, l2, rowSum) * scale * load<f32>(xScales, 8) + b);
  store<f32>(o + 3 * outStride, relaxedDot(h3, l3, rowSum) * scale * load<f32>(xScales, 12) + b);
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
      const rowScales = weightScales + <usize>row * INT8_ROW_SCALE_BYTES;
      const scale = load<f32>(rowScales);
      const rowSum = load<i32>(rowScales, 4);
      const o = out + (<usize>row << 2);
      let t = first;
      for (; t + 4 <= last; t += 4) {
        const x = xq + <usize>t * xStride;
        if (ASC_FEATURE_RELAXED_SIMD) {
          rowFourTokensRelaxed(o + <usize>t * outStride, outStride, w, scale, rowSum, b, x, xStride, xScales + (<usize>t << 2), n);
        } else {
          rowFourTokens(o + <usize>t * outStride, outStride, w, scale, b, x, xStride, xScales + (<usize>t << 2), n);
        }
      }
      for (; t < last; t++) {
        const x = xq + <usize>t * xStride;
        const dot = ASC_FEATURE_RELAXED_SIMD ? dotRowRelaxed(w, x, n, rowSum) : dotRow(w, x, n);
        store<f32>(o + <usize>t * outStride, dot * scale * load<f32>(xScales + (<usize>t << 2)) + b);
      }
    }
  }
}
