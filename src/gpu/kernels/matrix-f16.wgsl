// Matrix storage, f16 variant: prepended (instead of matrix-f32.wgsl) to every kernel that reads
// a weight matrix, so each kernel is written once for both storage types.
//
// The parser packs f16 matrices two elements per u32, the even element in the low half. A
// MatrixWord (vec4<u32>, one 16-byte load) holds 8 consecutive elements of a row (row lengths are
// multiples of 8), so element e lives in word e / 8, as with f32; a MatrixQuad (vec2<u32>) holds
// half of one, 4 elements. Everything here is core WGSL:
// every device reads half the bytes, with or without the shader-f16 feature; arithmetic is f32.
// (With shader-f16, the MLP's kernels get matrix-f16-arithmetic.wgsl instead: see kernels.ts.)
//
// Multiplying kernels take a word apart as a Split8 without unpack2x16float, which costs a
// software adapter (SwiftShader) as much as the load itself: an f16's sign, exponent and mantissa
// are moved into an f32's bit positions as they are (2-3 integer ops), which gives the value
// times 2^-112. The input is scaled by 2^56 (splitInput) so products stay in f32's normal range,
// and the total is scaled back by DOT_SCALE = 2^56. Exact for every normal f16; subnormal halves
// (|w| < 6.1e-5) become f32 subnormals, which a device that flushes them to zero reads as 0 — an
// error below 6.1e-5 per such weight, about f16's own rounding step at 0.1.

alias MatrixWord = vec4<u32>;

struct Split8 {
  even: vec4<f32>, // elements 0, 2, 4, 6 (the low halves)
  odd: vec4<f32>, // elements 1, 3, 5, 7 (the high halves)
}

const INPUT_SCALE = 0x1p56f;
const DOT_SCALE = 0x1p56f;
// After an arithmetic shift right by 3: the sign, then an f16's exponent and mantissa in f32's
// exponent and mantissa bits (the shifted-in sign copies and the other half's bits cleared).
const HALF_IN_FLOAT_BITS = 0x8fffe000u;

fn splitMatrixWord(w: MatrixWord) -> Split8 {
  let low = bitcast<vec4<i32>>(w << vec4<u32>(16u)) >> vec4<u32>(3u);
  let high = bitcast<vec4<i32>>(w) >> vec4<u32>(3u);
  return Split8(bitcast<vec4<f32>>(bitcast<vec4<u32>>(low) & vec4<u32>(HALF_IN_FLOAT_BITS)),
                bitcast<vec4<f32>>(bitcast<vec4<u32>>(high) & vec4<u32>(HALF_IN_FLOAT_BITS)));
}

alias MatrixQuad = vec2<u32>;

struct Split4 {
  even: vec2<f32>, // elements 0, 2 (the low halves)
  odd: vec2<f32>, // elements 1, 3 (the high halves)
}

fn splitMatrixQuad(q: MatrixQuad) -> Split4 {
  let low = bitcast<vec2<i32>>(q << vec2<u32>(16u)) >> vec2<u32>(3u);
  let high = bitcast<vec2<i32>>(q) >> vec2<u32>(3u);
  return Split4(bitcast<vec2<f32>>(bitcast<vec2<u32>>(low) & vec2<u32>(HALF_IN_FLOAT_BITS)),
                bitcast<vec2<f32>>(bitcast<vec2<u32>>(high) & vec2<u32>(HALF_IN_FLOAT_BITS)));
}

/** Input elements [8i, 8i + 8), given as two vec4, ready to dot with a split MatrixWord. */
fn splitInput(a: vec4<f32>, b: vec4<f32>) -> Split8 {
  return Split8(vec4<f32>(a.xz, b.xz) * INPUT_SCALE, vec4<f32>(a.yw, b.yw) * INPUT_SCALE);
}

fn dot8(x: Split8, w: Split8) -> f32 {
  return dot(x.even, w.even) + dot(x.odd, w.odd);
}

/** Per-lane products of an input word and a weight word; the four lanes' total, times
 *  DOT_SCALE, is their dot product. */
fn wordProducts(x: Split8, w: MatrixWord) -> vec4<f32> {
  let split = splitMatrixWord(w);
  return x.even * split.even + x.odd * split.odd;
}

/** Input elements [4i, 4i + 4), ready to dot with a split MatrixQuad. */
fn splitInputQuad(a: vec4<f32>) -> Split4 {
  return Split4(a.xz * INPUT_SCALE, a.yw * INPUT_SCALE);
}

fn dot4(x: Split4, w: Split4) -> f32 {
  return dot(x.even, w.even) + dot(x.odd, w.odd);
}

/** The word's 8 elements in order, exactly (subnormals too). */
fn matrixWordValues(w: MatrixWord) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)),
                             vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)));
}
