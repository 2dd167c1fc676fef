// Shared by the linear kernels (linear-matvec*.wgsl, linear-tiled*.wgsl): the bindings and the
// fused epilogue of a GPT-2 linear layer (HF Conv1D, with the weight transposed to [N, K] by the
// parser). Each kernel's source is followed by this file and by the matrix storage type
// (matrix-f32.wgsl, matrix-f16.wgsl, or matrix-f16-arithmetic.wgsl with shader-f16); WGSL
// declarations may come in any order, and kernels.ts moves directives (enable ...) to the top.
//
//   y[r, n] = sum_k input[r, k] * weight[n, k] + bias[n]
//   EPILOGUE 0: out[r, n] = y            (Q|K|V, LM head)
//   EPILOGUE 1: out[r, n] = gelu_new(y)  (MLP up-projection)
//   EPILOGUE 2: out[r, n] += y           (projections back into the residual stream)
//
// step:   rows (R)
// input:  (R, K) f32, read 4 at a time
// weight: (N, K) at binding 2, declared by each kernel: as MatrixWords (K / 8 per row), or as
//         MatrixQuads (K / 4 per row). WEIGHT_ELEMENTS (N·K) is a const that kernels.ts writes
//         into each module (an override cannot size a storage array), for kernels that declare
//         the array with a fixed length: an index into a runtime-sized array is bounds checked
//         against its length, which a software adapter (SwiftShader) divides out of the buffer's
//         size, lane by lane, at every step of a loop, where a fixed length makes the check a min
//         with a constant. On SwiftShader that made the matrix-vector kernel (linear-matvec.wgsl)
//         read 2-8% faster, and the register-tiled prompt kernel 6-10% slower, so only the
//         former uses it.
// bias:   (N), unread when HAS_BIAS is false (tied LM head)
// out:    (R, N)
// K is a multiple of 8.

struct Step { rows: u32, pos0: u32 }

override K: u32;
override N: u32;
override EPILOGUE: u32 = 0u;
override HAS_BIAS: bool = true;
override WORDS_PER_ROW: u32 = K / 8u;
override QUADS_PER_ROW: u32 = K / 4u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

/** input[row, 8·word .. 8·word + 8), split to dot with a MatrixWord. */
fn inputWord(row: u32, word: u32) -> Split8 {
  let i = (row * WORDS_PER_ROW + word) * 2u;
  return splitInput(input[i], input[i + 1u]);
}

fn total(v: vec4<f32>) -> f32 {
  return v.x + v.y + v.z + v.w;
}

// gelu_new, the tanh form GPT-2 was trained with. The cube is written out because pow(x, 3.0) is
// undefined for x < 0 in WGSL. The tanh argument is clamped because some drivers evaluate tanh as
// a ratio of exponentials that overflows to NaN for large inputs; tanh(±15) is ±1 in f32 anyway.
fn geluNew(x: f32) -> f32 {
  let inner = clamp(0.7978845608028654 * (x + 0.044715 * x * x * x), -15.0, 15.0);
  return 0.5 * x * (1.0 + tanh(inner));
}

fn storeOutput(row: u32, n: u32, dot: f32) {
  let index = row * N + n;
  var y = dot;
  if (HAS_BIAS) { y += bias[n]; }
  if (EPILOGUE == 1u) { y = geluNew(y); }
  if (EPILOGUE == 2u) { y += out[index]; }
  out[index] = y;
}
