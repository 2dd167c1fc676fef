// Small SIMD helpers shared by the kernels.

/** The sum of an f32x4's four lanes. */
@inline export function sum4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** The sum of an i32x4's four lanes. */
@inline export function sumI32x4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** [sum of a's lanes, of b's, of c's, of d's]: four horizontal sums in six shuffles and three adds. */
@inline export function sum4x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7)); // [a0+a2, b0+b2, a1+a3, b1+b3]
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/** The largest of an f32x4's four lanes. */
@inline export function max4(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// f16 → f32 without a float16 type: with the half's 16 bits in the top of an i32, an arithmetic
// shift right by 3 puts the exponent and mantissa where f32 keeps them (the sign smears into bits
// 28-30, which the mask clears), and multiplying by 2^112 rebiases the exponent (15 → 127). That
// multiply is exact for normal and subnormal halves alike. Weights are checked finite at load, so
// Inf/NaN halves never reach here.
const F16_MASK: i32 = 0x8fffffff;
const F16_REBIAS: f32 = 5.192296858534828e33; // 2^112

/** Converts four halves held in the top 16 bits of each i32 lane to f32. */
@inline export function halvesHighToF32(bits: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shr_s(bits, 3), i32x4.splat(F16_MASK)), f32x4.splat(F16_REBIAS));
}

// exp(x) for four lanes: x = n·ln2 + r with |r| ≤ ln2/2, exp(r) by its Taylor polynomial to r^6
// (relative error ~2e-7, below f32's rounding of the result), and 2^n built in the exponent bits.
// x is clamped to [-87, 88], where f32's 2^n stays a normal number.
const LOG2_E: f32 = 1.4426950408889634;
const LN2_HIGH: f32 = 0.693359375; // ln 2 split in two, so n·LN2_HIGH is exact
const LN2_LOW: f32 = -2.12194440e-4;

@inline export function exp4(x: v128): v128 {
  const clamped = f32x4.min(f32x4.max(x, f32x4.splat(-87)), f32x4.splat(88));
  const n = f32x4.nearest(f32x4.mul(clamped, f32x4.splat(LOG2_E)));
  const r = f32x4.sub(f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(LN2_HIGH))), f32x4.mul(n, f32x4.splat(LN2_LOW)));
  let p = f32x4.splat(1.0 / 720);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  const twoToN = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, twoToN);
}

/** tanh for four lanes: sign(u) · (1 - e) / (1 + e) with e = exp(-2|u|), which never overflows. */
@inline export function tanh4(u: v128): v128 {
  const e = exp4(f32x4.mul(f32x4.abs(u), f32x4.splat(-2)));
  const magnitude = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
  // Copy u's sign bit onto the (non-negative) magnitude.
  return v128.or(magnitude, v128.and(u, i32x4.splat(0x80000000)));
}
