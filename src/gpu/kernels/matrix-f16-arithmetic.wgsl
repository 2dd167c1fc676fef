// Matrix storage, f16 variant for devices with the shader-f16 feature: used instead of
// matrix-f16.wgsl there, over the same packed f16 matrices (a vec4<f16> is the same 8 bytes as two
// u32 each holding two halves, the even element in the low half), so the weights do not change.
// Only kernels that multiply get it: the embedding, which only reads, keeps matrix-f16.wgsl.
//
// Where it is safe the arithmetic is f16: a word's elements are read as f16 as they are, the input
// is rounded to f16, each product is an f16 multiply and at most four products are added in f16
// before the sum goes on in f32. The rest stays f32: every accumulator, the bias, GELU, the
// residual stream, LayerNorm and attention. The inputs of GPT-2's linear layers (LayerNorm
// outputs, attention outputs, GELU of the up-projection) stay far inside f16's range (±65504).
// Rounding the input to f16 adds a relative error of at most 2^-11 per element, about what
// rounding the weights to f16 does already.

enable f16;

alias MatrixWord = array<vec4<f16>, 2>;

struct Split8 {
  even: vec4<f16>, // elements 0, 2, 4, 6
  odd: vec4<f16>, // elements 1, 3, 5, 7
}

const DOT_SCALE = 1.0;

fn splitMatrixWord(w: MatrixWord) -> Split8 {
  return Split8(vec4<f16>(w[0].xz, w[1].xz), vec4<f16>(w[0].yw, w[1].yw));
}

/** Input elements [8i, 8i + 8), given as two vec4, rounded to f16 to dot with a split MatrixWord. */
fn splitInput(a: vec4<f32>, b: vec4<f32>) -> Split8 {
  return Split8(vec4<f16>(vec4<f32>(a.xz, b.xz)), vec4<f16>(vec4<f32>(a.yw, b.yw)));
}

fn dot8(x: Split8, w: Split8) -> f32 {
  return f32(dot(x.even, w.even)) + f32(dot(x.odd, w.odd));
}

/** Per-lane sums of an input word's and a weight word's products; the four lanes' total is their
 *  dot product. */
fn wordProducts(x: Split8, w: MatrixWord) -> vec4<f32> {
  let split = splitMatrixWord(w);
  return vec4<f32>(x.even * split.even) + vec4<f32>(x.odd * split.odd);
}

alias MatrixQuad = vec4<f16>;

struct Split4 {
  even: vec2<f16>, // elements 0, 2
  odd: vec2<f16>, // elements 1, 3
}

fn splitMatrixQuad(q: MatrixQuad) -> Split4 {
  return Split4(q.xz, q.yw);
}

/** Input elements [4i, 4i + 4), rounded to f16 to dot with a split MatrixQuad. */
fn splitInputQuad(a: vec4<f32>) -> Split4 {
  let half = vec4<f16>(a);
  return Split4(half.xz, half.yw);
}

fn dot4(x: Split4, w: Split4) -> f32 {
  return f32(dot(x.even, w.even)) + f32(dot(x.odd, w.odd));
}
