// Matrix storage, f32 variant: prepended (instead of matrix-f16.wgsl) to every kernel that reads
// a weight matrix, so each kernel is written once for both storage types.
//
// A MatrixWord holds 8 consecutive elements of a row (row lengths are multiples of 8), so element
// e of a matrix lives in word e / 8. Kernels that multiply take a word apart as a Split8 (its even
// and odd elements, the layout packed f16 comes apart into cheaply), split their input the same
// way, and multiply the dot8 total by DOT_SCALE (1 here). A MatrixQuad is half a word, 4 elements,
// taken apart as a Split4 the same way: for kernels that keep many rows in registers at once.

alias MatrixWord = array<vec4<f32>, 2>;

struct Split8 {
  even: vec4<f32>, // elements 0, 2, 4, 6
  odd: vec4<f32>, // elements 1, 3, 5, 7
}

const DOT_SCALE = 1.0;

fn splitMatrixWord(w: MatrixWord) -> Split8 {
  return Split8(vec4<f32>(w[0].xz, w[1].xz), vec4<f32>(w[0].yw, w[1].yw));
}

/** Input elements [8i, 8i + 8), given as two vec4, ready to dot with a split MatrixWord. */
fn splitInput(a: vec4<f32>, b: vec4<f32>) -> Split8 {
  return Split8(vec4<f32>(a.xz, b.xz), vec4<f32>(a.yw, b.yw));
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

/** The word's 8 elements in order, exactly. */
fn matrixWordValues(w: MatrixWord) -> array<vec4<f32>, 2> {
  return w;
}

alias MatrixQuad = vec4<f32>;

struct Split4 {
  even: vec2<f32>, // elements 0, 2
  odd: vec2<f32>, // elements 1, 3
}

fn splitMatrixQuad(q: MatrixQuad) -> Split4 {
  return Split4(q.xz, q.yw);
}

/** Input elements [4i, 4i + 4), ready to dot with a split MatrixQuad. */
fn splitInputQuad(a: vec4<f32>) -> Split4 {
  return Split4(a.xz, a.yw);
}

fn dot4(x: Split4, w: Split4) -> f32 {
  return dot(x.even, w.even) + dot(x.odd, w.odd);
}
