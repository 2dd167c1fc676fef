// Element conversion over raw memory: finding bad values, changing dtype, transposing. These
// loops see every byte of a multi-GB checkpoint, so the contiguous ones use 128-bit SIMD and
// fall back to the scalar forms of the same bit tricks for the last few elements.

export const SOURCE_F32: i32 = 0;
export const SOURCE_F16: i32 = 1;
export const SOURCE_BF16: i32 = 2;

export function sourceElementBytes(sourceDtype: i32): u32 {
  return sourceDtype == SOURCE_F32 ? 4 : 2;
}

// Bit patterns, with the sign cleared, at or above which a value is rejected: Inf/NaN, and for
// f16 output also every finite value that round-to-nearest-even would turn into Inf (>= 65520).
const F32_NON_FINITE: i32 = 0x7f800000;
const F32_F16_OVERFLOW: i32 = 0x477ff000;
const F16_NON_FINITE: i32 = 0x7c00;
const BF16_NON_FINITE: i32 = 0x7f80;
const BF16_F16_OVERFLOW: i32 = 0x4780; // bf16 values are f32 with the low 16 bits zero

/**
 * Index of the first of `count` source elements that is NaN or ±Inf, or (when `toF16`) too large
 * for f16; -1 if all are fine.
 */
export function findBadValue(source: usize, count: u32, sourceDtype: i32, toF16: bool): i32 {
  if (sourceDtype == SOURCE_F32) return findAtOrAbove32(source, count, toF16 ? F32_F16_OVERFLOW : F32_NON_FINITE);
  if (sourceDtype == SOURCE_F16) return findAtOrAbove16(source, count, F16_NON_FINITE);
  return findAtOrAbove16(source, count, toF16 ? BF16_F16_OVERFLOW : BF16_NON_FINITE);
}

/** One source element as f64, for error messages. */
export function sourceValue(source: usize, index: u32, sourceDtype: i32): f64 {
  if (sourceDtype == SOURCE_F32) return <f64>load<f32>(source + (<usize>index << 2));
  const bits = <u32>load<u16>(source + (<usize>index << 1));
  return <f64>reinterpret<f32>(sourceDtype == SOURCE_F16 ? halfToFloatBits(bits) : bits << 16);
}

/**
 * Converts `count` contiguous source elements to f32 (4 bytes each) or f16 (2 bytes each) at
 * `destination`. F32 -> f32 and F16 -> f16 are plain copies, so no value is rounded twice.
 */
export function convertElements(source: usize, count: u32, sourceDtype: i32, destination: usize, toF16: bool): void {
  if (sourceDtype == SOURCE_F32) {
    if (toF16) narrowF32(source, count, destination);
    else memory.copy(destination, source, <usize>count << 2);
  } else if (sourceDtype == SOURCE_F16) {
    if (toF16) memory.copy(destination, source, <usize>count << 1);
    else widenF16(source, count, destination);
  } else {
    if (toF16) narrowBF16(source, count, destination);
    else widenBF16(source, count, destination);
  }
}

/**
 * Moves `count` elements of `elementBytes` (2 or 4) from `source`, where they are elements
 * `firstIndex`.. of a row-major [sourceRows, sourceCols] matrix, to their places in its
 * transpose [sourceCols, sourceRows] at `destination`.
 */
export function scatterTransposed(
  source: usize,
  count: u32,
  elementBytes: u32,
  destination: usize,
  sourceRows: u32,
  sourceCols: u32,
  firstIndex: u32,
): void {
  let row = firstIndex / sourceCols;
  let col = firstIndex % sourceCols;
  // Consecutive elements of a source row land one output row apart.
  const outputRowBytes = <usize>sourceRows * elementBytes;
  let left = count;
  while (left > 0) {
    const run = min(left, sourceCols - col);
    let to = destination + (<usize>col * sourceRows + row) * elementBytes;
    if (elementBytes == 4) {
      for (let i: u32 = 0; i < run; i++) {
        store<u32>(to, load<u32>(source));
        source += 4;
        to += outputRowBytes;
      }
    } else {
      for (let i: u32 = 0; i < run; i++) {
        store<u16>(to, load<u16>(source));
        source += 2;
        to += outputRowBytes;
      }
    }
    left -= run;
    col = 0;
    row++;
  }
}

function findAtOrAbove32(source: usize, count: u32, threshold: i32): i32 {
  const absMask = i32x4.splat(0x7fffffff);
  const below = i32x4.splat(threshold - 1);
  let i: u32 = 0;
  for (; i + 16 <= count; i += 16) {
    const p = source + (<usize>i << 2);
    const a = i32x4.gt_s(v128.and(v128.load(p), absMask), below);
    const b = i32x4.gt_s(v128.and(v128.load(p, 16), absMask), below);
    const c = i32x4.gt_s(v128.and(v128.load(p, 32), absMask), below);
    const d = i32x4.gt_s(v128.and(v128.load(p, 48), absMask), below);
    if (v128.any_true(v128.or(v128.or(a, b), v128.or(c, d)))) break;
  }
  for (; i < count; i++) {
    if ((load<i32>(source + (<usize>i << 2)) & 0x7fffffff) >= threshold) return <i32>i;
  }
  return -1;
}

function findAtOrAbove16(source: usize, count: u32, threshold: i32): i32 {
  const absMask = i16x8.splat(0x7fff);
  const below = i16x8.splat(<i16>(threshold - 1));
  let i: u32 = 0;
  for (; i + 32 <= count; i += 32) {
    const p = source + (<usize>i << 1);
    const a = i16x8.gt_s(v128.and(v128.load(p), absMask), below);
    const b = i16x8.gt_s(v128.and(v128.load(p, 16), absMask), below);
    const c = i16x8.gt_s(v128.and(v128.load(p, 32), absMask), below);
    const d = i16x8.gt_s(v128.and(v128.load(p, 48), absMask), below);
    if (v128.any_true(v128.or(v128.or(a, b), v128.or(c, d)))) break;
  }
  for (; i < count; i++) {
    if ((<i32>load<u16>(source + (<usize>i << 1)) & 0x7fff) >= threshold) return <i32>i;
  }
  return -1;
}

// f16 -> f32, exact for every input (subnormals, ±0, Inf, NaN payloads): shift exponent and
// mantissa into place and rebias; subnormals go through one exact float subtraction.
// (Fabian Giesen's half_to_float_fast4.)
const REBIAS: i32 = (127 - 15) << 23;
const SHIFTED_EXPONENT: i32 = 0x7c00 << 13;
const MIN_NORMAL_HALF_F32: f32 = 6.103515625e-5; // 2^-14

function halfToFloatBits(half: u32): u32 {
  let bits = (half & 0x7fff) << 13;
  const exponent = bits & SHIFTED_EXPONENT;
  bits += REBIAS;
  if (exponent == SHIFTED_EXPONENT) {
    bits += REBIAS; // Inf/NaN: exponent all ones
  } else if (exponent == 0) {
    bits = reinterpret<u32>(reinterpret<f32>(bits + (1 << 23)) - MIN_NORMAL_HALF_F32);
  }
  return bits | ((half & 0x8000) << 16);
}

function widenHalves(halves: v128): v128 {
  let bits = i32x4.shl(v128.and(halves, i32x4.splat(0x7fff)), 13);
  const exponent = v128.and(bits, i32x4.splat(SHIFTED_EXPONENT));
  bits = i32x4.add(bits, i32x4.splat(REBIAS));
  const isInfOrNaN = i32x4.eq(exponent, i32x4.splat(SHIFTED_EXPONENT));
  bits = i32x4.add(bits, v128.and(isInfOrNaN, i32x4.splat(REBIAS)));
  const subnormal = f32x4.sub(i32x4.add(bits, i32x4.splat(1 << 23)), f32x4.splat(MIN_NORMAL_HALF_F32));
  bits = v128.bitselect(subnormal, bits, i32x4.eq(exponent, i32x4.splat(0)));
  return v128.or(bits, i32x4.shl(v128.and(halves, i32x4.splat(0x8000)), 16));
}

function widenF16(source: usize, count: u32, destination: usize): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(destination + (<usize>i << 2), widenHalves(v128.load16x4_u(source + (<usize>i << 1))));
  }
  for (; i < count; i++) {
    store<u32>(destination + (<usize>i << 2), halfToFloatBits(load<u16>(source + (<usize>i << 1))));
  }
}

function widenBF16(source: usize, count: u32, destination: usize): void {
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    v128.store(destination + (<usize>i << 2), i32x4.shl(v128.load16x4_u(source + (<usize>i << 1)), 16));
  }
  for (; i < count; i++) {
    store<u32>(destination + (<usize>i << 2), (<u32>load<u16>(source + (<usize>i << 1))) << 16);
  }
}

// f32 -> f16 with round-to-nearest-even (Fabian Giesen's float_to_half_fast3_rtne): normal
// results round by adding 0xfff plus the lowest kept mantissa bit; results below 2^-14 let the
// FPU round by adding 0.5, which puts the half's subnormal bits at the bottom of the mantissa.
const F16_MIN_NORMAL_BITS: i32 = 113 << 23; // 2^-14 as f32 bits
const F16_TOO_LARGE_BITS: i32 = (127 + 16) << 23; // 2^16: rounds to Inf even before rounding
const ROUNDING_REBIAS: i32 = ((15 - 127) << 23) + 0xfff;
const HALF_F32: f32 = 0.5;
const HALF_F32_BITS: i32 = 0x3f000000;

function floatBitsToHalf(bits: u32): u32 {
  const sign = bits & 0x80000000;
  const magnitude = bits ^ sign;
  let half: u32;
  if (<i32>magnitude >= F16_TOO_LARGE_BITS) {
    half = magnitude > 0x7f800000 ? 0x7e00 : 0x7c00;
  } else if (<i32>magnitude < F16_MIN_NORMAL_BITS) {
    half = reinterpret<u32>(reinterpret<f32>(magnitude) + HALF_F32) - HALF_F32_BITS;
  } else {
    half = (magnitude + ROUNDING_REBIAS + ((magnitude >> 13) & 1)) >> 13;
  }
  return half | (sign >> 16);
}

function narrowFloats(bits: v128): v128 {
  const sign = v128.and(bits, i32x4.splat(0x80000000));
  const magnitude = v128.xor(bits, sign);
  const lowestKeptBit = v128.and(i32x4.shr_u(magnitude, 13), i32x4.splat(1));
  const normal = i32x4.shr_u(i32x4.add(i32x4.add(magnitude, i32x4.splat(ROUNDING_REBIAS)), lowestKeptBit), 13);
  const subnormal = i32x4.sub(f32x4.add(magnitude, f32x4.splat(HALF_F32)), i32x4.splat(HALF_F32_BITS));
  const infOrNaN = v128.bitselect(
    i32x4.splat(0x7e00),
    i32x4.splat(0x7c00),
    i32x4.gt_s(magnitude, i32x4.splat(0x7f800000)),
  );
  let half = v128.bitselect(subnormal, normal, i32x4.lt_s(magnitude, i32x4.splat(F16_MIN_NORMAL_BITS)));
  half = v128.bitselect(infOrNaN, half, i32x4.ge_s(magnitude, i32x4.splat(F16_TOO_LARGE_BITS)));
  return v128.or(half, i32x4.shr_u(sign, 16));
}

function narrowF32(source: usize, count: u32, destination: usize): void {
  let i: u32 = 0;
  for (; i + 8 <= count; i += 8) {
    const p = source + (<usize>i << 2);
    const low = narrowFloats(v128.load(p));
    const high = narrowFloats(v128.load(p, 16));
    v128.store(destination + (<usize>i << 1), i16x8.narrow_i32x4_u(low, high));
  }
  for (; i < count; i++) {
    store<u16>(destination + (<usize>i << 1), floatBitsToHalf(load<u32>(source + (<usize>i << 2))));
  }
}

function narrowBF16(source: usize, count: u32, destination: usize): void {
  let i: u32 = 0;
  for (; i + 8 <= count; i += 8) {
    const p = source + (<usize>i << 1);
    const low = narrowFloats(i32x4.shl(v128.load16x4_u(p), 16));
    const high = narrowFloats(i32x4.shl(v128.load16x4_u(p, 8), 16));
    v128.store(destination + (<usize>i << 1), i16x8.narrow_i32x4_u(low, high));
  }
  for (; i < count; i++) {
    store<u16>(destination + (<usize>i << 1), floatBitsToHalf((<u32>load<u16>(source + (<usize>i << 1))) << 16));
  }
}
