// Small SIMD helpers shared by the kernels.

/** The sum of an f32x4's four lanes. */
@inline export function sum4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
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
