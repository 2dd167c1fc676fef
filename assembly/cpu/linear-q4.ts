// Linear layer with 4-bit weights: out[t, r] = xScale[t] · Σ_g scale[r, g] · (xq[t, g] · Wq[r, g]) + b[r]
// for rows [rowStart, rowEnd) of W [rows, cols], g running over groups of 32 columns.
//
// The format is llama.cpp's q4_0 with the scales kept apart: each group of 32 weights of a row is
// 16 bytes of signed (two's complement) 4-bit values plus one f32 scale. Byte j of a group holds
// weight j in its low nibble and weight j + 16 in its high one. The nibbles of a row sit together
// ([rows, cols / 2] bytes) and the scales beside them ([rows, cols / 32 + 1] f32: the groups' scales,
// then the row's sum Σ_g scale[g] · Σ Wq[g], which the relaxed form needs), so the inner loop reads
// two streams with fixed strides.
//
// The scale is q4_0's: the group's weight of largest magnitude, divided by -8, so that weight is
// exactly -8 and all 16 levels are used (max |w| / 7 would leave -8 unused and make every step
// 8/7 as coarse); a weight of the opposite sign as large is clamped to 7, one step off.
//
// The input is quantized as the int8 layers' is (quantizeInputQ4), so the dot product of a group
// is integer. Its form depends on the build, as linear-int8.ts's does:
// - Without relaxed SIMD the input is int16, and each group's 16 bytes are read as eight i16
//   lanes of four nibbles: shifting a lane's nibble to the top, then arithmetically down by 12,
//   gives it as a signed i16 in two instructions (x86 has 16-bit shifts, where an i8x16 shift costs
//   about five), and i32x4.dot_i16x8_s multiplies and adds pairs. Lane k holds weights 2k, 2k + 16,
//   2k + 1 and 2k + 17 (bytes 2k and 2k + 1), so the four vectors hold the group's even weights
//   0..14, even 16..30, odd 1..15 and odd 17..31, and quantizeInputQ4 orders each group's 32 inputs
//   the same way. A group's sum is at most 8 · 8 · 32767 < 2^21 per lane.
// - With it, the input is int8's relaxed form, u = q + 8192 in two 7-bit halves (hi, lo), and
//   `bytes << 4` (each low nibble times 16, as an i8) and `bytes & 0xf0` (each high one) are
//   relaxed_dot_i8x16_i7x16_add_s's signed operand, weights 0..15 and 16..31 in order; the sums are
//   16× too large, and the 1/16 joins the input scale at the end. A group's 128 · (W · hi) + W · lo is W · u,
//   at most 128 · 130048 + 130048 < 2^24 per lane. W · q = W · u - 8192 · ΣW, and since the scales
//   differ per group, ΣW is the row's scaled sum, kept at load, subtracted once per row in f32 (an
//   f32 rounding of 8192 · |ΣW|, far below the 14-bit input's own). Four dot steps per 32 weights
//   where the plain form takes seven shifts and four dot products; the engine runs it only where
//   it times faster (src/cpu/kernel-build-choice.ts).
// Either way each group goes to f32 on its own (exactly), times its scale. Needs cols % 32 == 0.
//
// Decoding takes one row at a time. A prompt goes in blocks of tokens whose inputs fit in L1,
// every row of the range passing over a block four tokens at a time, as linear-int8.ts does: each
// group's 32 weights are unpacked once for four tokens.
import { quantizeInputI8, quantizeRowsI16 } from './linear-int8';
import { sum4, sumI32x4 } from './simd';

const L1_INPUT_BYTES: usize = 16384;

/** Bytes of a q4 row's scales: one f32 per group of 32 columns, then the row's scaled sum (above). */
@inline export function q4RowScaleBytes(cols: usize): usize {
  return (cols / 32 + 1) << 2;
}

/**
 * Each row of `src` f32 [rows, cols] as 4-bit groups: nibbles in `dst` [rows, cols / 2] bytes, and
 * in `scales` [rows, cols / 32 + 1] f32 one scale per group of 32 and the row's scaled sum (above).
 */
export function quantizeRowsQ4(dst: usize, scales: usize, src: usize, rows: i32, cols: i32): void {
  const groups = <usize>cols / 32;
  const scaleBytes = q4RowScaleBytes(cols);
  for (let r: usize = 0; r < <usize>rows; r++) {
    const rowScales = scales + r * scaleBytes;
    let rowSum: f64 = 0;
    for (let g: usize = 0; g < groups; g++) {
      const s = src + ((r * groups + g) << 7); // 32 f32s = 128 bytes
      // The weight of largest magnitude, with its sign: it becomes -8.
      let extreme: f32 = 0;
      for (let i: usize = 0; i < 32; i++) {
        const w = load<f32>(s + (i << 2));
        if (abs(w) > abs(extreme)) extreme = w;
      }
      const scale: f32 = extreme / -8;
      store<f32>(rowScales + (g << 2), scale);
      const inverse = f32x4.splat(scale != 0 ? 1 / scale : 0);
      const low = quantize16(s, inverse);
      const high = quantize16(s + 64, inverse);
      v128.store(dst + ((r * groups + g) << 4), v128.or(v128.and(low, i8x16.splat(0x0f)), i8x16.shl(high, 4)));
      rowSum += <f64>scale * <f64>(sumI8x16(low) + sumI8x16(high));
    }
    store<f32>(rowScales + (groups << 2), <f32>rowSum);
  }
}

/** The sum of an i8x16's 16 lanes. */
@inline function sumI8x16(v: v128): i32 {
  return sumI32x4(i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v)));
}

/** 16 f32s at `s` times `inverse`, rounded and clamped to [-8, 7], as i8x16. */
@inline function quantize16(s: usize, inverse: v128): v128 {
  const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s), inverse)));
  const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s, 16), inverse)));
  const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s, 32), inverse)));
  const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(s, 48), inverse)));
  const q = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3));
  return i8x16.min_s(i8x16.max_s(q, i8x16.splat(-8)), i8x16.splat(7));
}

/**
 * Each token row of `src` f32 [tokens, cols] in the form linearQ4 takes: quantizeInputI8's with
 * relaxed SIMD; without, int16 (as quantizeInputI8's) with each group of 32 columns reordered to
 * match the plain kernel's nibbles: even columns 0..14, even 16..30, odd 1..15, odd 17..31.
 */
export function quantizeInputQ4(dst: usize, scales: usize, src: usize, tokens: i32, cols: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    quantizeInputI8(dst, scales, src, tokens, cols);
    return;
  }
  quantizeRowsI16(dst, scales, src, tokens, cols);
  const end = dst + ((<usize>tokens * <usize>cols) << 1);
  for (let g = dst; g < end; g += 64) {
    const a = v128.load(g), b = v128.load(g, 16), c = v128.load(g, 32), d = v128.load(g, 48);
    v128.store(g, v128.shuffle<i16>(a, b, 0, 2, 4, 6, 8, 10, 12, 14));
    v128.store(g, v128.shuffle<i16>(c, d, 0, 2, 4, 6, 8, 10, 12, 14), 16);
    v128.store(g, v128.shuffle<i16>(a, b, 1, 3, 5, 7, 9, 11, 13, 15), 32);
    v128.store(g, v128.shuffle<i16>(c, d, 1, 3, 5, 7, 9, 11, 13, 15), 48);
  }
}

/** The plain form's group: nibble `n` (0..3) of each i16 lane of `bytes`, as a signed i16. */
@inline function laneNibble(bytes: v128, n: i32): v128 {
  return n == 3 ? i16x8.shr_s(bytes, 12) : i16x8.shr_s(i16x8.shl(bytes, 12 - 4 * n), 12);
}

/** Weights 0..15 of a group (its bytes' low nibbles) times 16, as i8. */
@inline function lowNibbles(bytes: v128): v128 {
  return i8x16.shl(bytes, 4);
}

/** Weights 16..31 (the high nibbles) times 16. */
@inline function highNibbles(bytes: v128): v128 {
  return v128.and(bytes, i8x16.splat(<i8>0xf0));
}

/** Undoes the nibbles' factor of 16 (exact: a power of two). */
const SIXTEENTH: f32 = 1.0 / 16;

/** One group's 32 weights as i16 in four vectors (laneNibble 0..3), against its 32 reordered i16 inputs at `x`. */
@inline function dotGroup(w0: v128, w1: v128, w2: v128, w3: v128, x: usize): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(x)), i32x4.dot_i16x8_s(w1, v128.load(x, 16))),
    i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(x, 32)), i32x4.dot_i16x8_s(w3, v128.load(x, 48))),
  );
}

/**
 * The relaxed form's W · u for one group: weights 0..15 (`low`) and 16..31 (`high`), times 16, against
 * the 64 bytes of halves at `x` (hi and lo of columns 0..15, then of 16..31).
 */
@inline function dotGroupRelaxed(low: v128, high: v128, x: usize): v128 {
  let h = i32x4.relaxed_dot_i8x16_i7x16_add_s(low, v128.load(x), i32x4.splat(0));
  h = i32x4.relaxed_dot_i8x16_i7x16_add_s(high, v128.load(x, 32), h);
  let u = i32x4.shl(h, 7);
  u = i32x4.relaxed_dot_i8x16_i7x16_add_s(low, v128.load(x, 16), u);
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(high, v128.load(x, 48), u);
}

/** f + the group's integer sum (i32x4) times its scale. */
@inline function addScaled(f: v128, sum: v128, scale: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD
    ? f32x4.relaxed_madd(f32x4.convert_i32x4_s(sum), scale, f)
    : f32x4.add(f, f32x4.mul(f32x4.convert_i32x4_s(sum), scale));
}

/** W · q from the sum of a row's scaled group sums (in the relaxed form 16× too large, and W · u). */
@inline function rowDot(sum: f32, scales: usize, groups: usize): f32 {
  return ASC_FEATURE_RELAXED_SIMD ? sum * SIXTEENTH - 8192 * load<f32>(scales + (groups << 2)) : sum;
}

/** Σ_g scale[g] · (row `w` · token row `x`) over the row's `groups`, in f32 (see rowDot). */
@inline function dotRow(w: usize, scales: usize, x: usize, groups: usize): f32 {
  let f = f32x4.splat(0);
  for (let g: usize = 0; g < groups; g++) {
    const bytes = v128.load(w + (g << 4));
    const scale = f32x4.splat(load<f32>(scales + (g << 2)));
    if (ASC_FEATURE_RELAXED_SIMD) {
      f = addScaled(f, dotGroupRelaxed(lowNibbles(bytes), highNibbles(bytes), x + (g << 6)), scale);
    } else {
      const sum = dotGroup(laneNibble(bytes, 0), laneNibble(bytes, 1), laneNibble(bytes, 2), laneNibble(bytes, 3), x + (g << 6));
      f = addScaled(f, sum, scale);
    }
  }
  return rowDot(sum4(f), scales, groups);
}

/**
 * out[t + j, row] for j < 4: row `w` against four consecutive token rows of `x` (`xStride` bytes
 * apart). Each group is unpacked (and widened) once for the four tokens.
 */
@inline function rowFourTokens(
  o: usize, outStride: usize, w: usize, scales: usize, b: f32, x: usize, xStride: usize, xScales: usize, groups: usize,
): void {
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  for (let g: usize = 0; g < groups; g++) {
    const bytes = v128.load(w + (g << 4));
    const scale = f32x4.splat(load<f32>(scales + (g << 2)));
    const xg = x + (g << 6);
    if (ASC_FEATURE_RELAXED_SIMD) {
      const low = lowNibbles(bytes), high = highNibbles(bytes);
      f0 = addScaled(f0, dotGroupRelaxed(low, high, xg), scale);
      f1 = addScaled(f1, dotGroupRelaxed(low, high, xg + xStride), scale);
      f2 = addScaled(f2, dotGroupRelaxed(low, high, xg + 2 * xStride), scale);
      f3 = addScaled(f3, dotGroupRelaxed(low, high, xg + 3 * xStride), scale);
    } else {
      const w0 = laneNibble(bytes, 0), w1 = laneNibble(bytes, 1), w2 = laneNibble(bytes, 2), w3 = laneNibble(bytes, 3);
      f0 = addScaled(f0, dotGroup(w0, w1, w2, w3, xg), scale);
      f1 = addScaled(f1, dotGroup(w0, w1, w2, w3, xg + xStride), scale);
      f2 = addScaled(f2, dotGroup(w0, w1, w2, w3, xg + 2 * xStride), scale);
      f3 = addScaled(f3, dotGroup(w0, w1, w2, w3, xg + 3 * xStride), scale);
    }
  }
  store<f32>(o, rowDot(sum4(f0), scales, groups) * load<f32>(xScales) + b);
  store<f32>(o + outStride, rowDot(sum4(f1), scales, groups) * load<f32>(xScales, 4) + b);
  store<f32>(o + 2 * outStride, rowDot(sum4(f2), scales, groups) * load<f32>(xScales, 8) + b);
  store<f32>(o + 3 * outStride, rowDot(sum4(f3), scales, groups) * load<f32>(xScales, 12) + b);
}

export function linearQ4(
  out: usize, xq: usize, xScales: usize, weight: usize, weightScales: usize, bias: usize,
  tokens: i32, rows: i32, cols: i32, rowStart: i32, rowEnd: i32,
): void {
  const groups = <usize>cols / 32;
  const rowBytes = groups << 4;
  const rowScaleBytes = q4RowScaleBytes(cols);
  const xStride = <usize>cols << 1;
  const outStride = <usize>rows << 2;
  // Tokens in blocks whose inputs stay in L1 while every row of the range passes over them.
  const blockTokens = max(4, <i32>(L1_INPUT_BYTES / xStride) & ~3);
  for (let first = 0; first < tokens; first += blockTokens) {
    const last = min(tokens, first + blockTokens);
    for (let row = rowStart; row < rowEnd; row++) {
      const w = weight + <usize>row * rowBytes;
      const scales = weightScales + <usize>row * rowScaleBytes;
      const b = load<f32>(bias + (<usize>row << 2));
      const o = out + (<usize>row << 2);
      let t = first;
      for (; t + 4 <= last; t += 4) {
        rowFourTokens(o + <usize>t * outStride, outStride, w, scales, b, xq + <usize>t * xStride, xStride, xScales + (<usize>t << 2), groups);
      }
      for (; t < last; t++) {
        const dot = dotRow(w, scales, xq + <usize>t * xStride, groups);
        store<f32>(o + <usize>t * outStride, dot * load<f32>(xScales + (<usize>t << 2)) + b);
      }
    }
  }
}
