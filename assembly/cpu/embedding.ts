// The input of the first block: x[t] = wte[token t] + wpe[pos0 + t], for `tokens` token ids (i32).
// Each table is f32, packed f16, int8 with one scale per row (linear-int8.ts) or q4 with one per group of 32
// (linear-q4.ts), as its `*Format` says (wte, the tied LM head, shares the linear layers' format
// or is int8 under q4; wpe is never quantized). Needs C % 8 == 0 (q4: C % 32 == 0).
import { INT8_ROW_SCALE_BYTES } from './linear-int8';
import { q4RowScaleBytes } from './linear-q4';
import { halvesHighToF32 } from './simd';

export const FORMAT_F32: i32 = 0;
export const FORMAT_F16: i32 = 1;
export const FORMAT_INT8: i32 = 2;
export const FORMAT_Q4: i32 = 3;

export function embed(
  out: usize, tokenIds: usize, tokens: i32, pos0: i32,
  wte: usize, wteScales: usize, wteFormat: i32, wpe: usize, wpeFormat: i32, C: i32,
): void {
  const rowBytes = <usize>C << 2;
  for (let t: usize = 0; t < <usize>tokens; t++) {
    const o = out + t * rowBytes;
    memory.fill(o, 0, rowBytes);
    addRow(o, wte, wteScales, wteFormat, load<i32>(tokenIds + (t << 2)), C);
    addRow(o, wpe, 0, wpeFormat, pos0 + <i32>t, C);
  }
}

/** out[0, C) += row `row` of `matrix` [*, C] in `format`. */
function addRow(out: usize, matrix: usize, scales: usize, format: i32, row: i32, C: i32): void {
  const n = <usize>C;
  if (format == FORMAT_F32) {
    const r = matrix + <usize>row * (n << 2);
    for (let i: usize = 0; i < n << 2; i += 16) v128.store(out + i, f32x4.add(v128.load(out + i), v128.load(r + i)));
  } else if (format == FORMAT_F16) {
    const r = matrix + <usize>row * (n << 1);
    for (let i: usize = 0; i < n; i += 4) {
      // Four halves → the top 16 bits of four i32 lanes.
      const high = i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(r + (i << 1))), 16);
      v128.store(out + (i << 2), f32x4.add(v128.load(out + (i << 2)), halvesHighToF32(high)));
    }
  } else if (format == FORMAT_Q4) {
    const groups = n / 32;
    const r = matrix + <usize>row * (groups << 4);
    const rowScales = scales + <usize>row * q4RowScaleBytes(n);
    for (let g: usize = 0; g < groups; g++) {
      const bytes = v128.load(r + (g << 4));
      const scale = f32x4.splat(load<f32>(rowScales + (g << 2)));
      // Low nibbles are the group's weights 0..15, high nibbles 16..31.
      addQ4Sixteen(out + (g << 7), i8x16.shr_s(i8x16.shl(bytes, 4), 4), scale);
      addQ4Sixteen(out + (g << 7) + 64, i8x16.shr_s(bytes, 4), scale);
    }
  } else {
    const r = matrix + <usize>row * n;
    const scale = f32x4.splat(load<f32>(scales + <usize>row * INT8_ROW_SCALE_BYTES));
    for (let i: usize = 0; i < n; i += 4) {
      const q = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(v128.load32_zero(r + i)));
      v128.store(out + (i << 2), f32x4.add(v128.load(out + (i << 2)), f32x4.mul(f32x4.convert_i32x4_s(q), scale)));
    }
  }
}

/** out[0, 16) += 16 i8 weights times `scale`. */
@inline function addQ4Sixteen(out: usize, weights: v128, scale: v128): void {
  const low = i16x8.extend_low_i8x16_s(weights);
  const high = i16x8.extend_high_i8x16_s(weights);
  v128.store(out, f32x4.add(v128.load(out), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(low)), scale)));
  v128.store(out, f32x4.add(v128.load(out, 16), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(low)), scale)), 16);
  v128.store(out, f32x4.add(v128.load(out, 32), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(high)), scale)), 32);
  v128.store(out, f32x4.add(v128.load(out, 48), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(high)), scale)), 48);
}

/** The index of the largest of `count` f32s (the first, on a tie). */
export function argmax(values: usize, count: i32): i32 {
  let best = 0;
  let largest = load<f32>(values);
  for (let i = 1; i < count; i++) {
    const v = load<f32>(values + (<usize>i << 2));
    if (v > largest) {
      largest = v;
      best = i;
    }
  }
  return best;
}
