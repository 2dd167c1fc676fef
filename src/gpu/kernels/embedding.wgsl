// Token + position embedding: x[t, c] = wte[tokens[t], c] + wpe[pos0 + t, c].
// matrix-f32.wgsl or matrix-f16.wgsl is prepended: wte and wpe are matrices in the model's dtype.
//
// step:   rows (T, tokens in this pass), pos0 (position of the first)
// tokens: (T) u32, already checked to be < vocab on the CPU
// wte:    (vocab, C)     wpe: (nCtx, C) — as MatrixWords of 8 elements; C is a multiple of 8
// x:      (T, C) out — the residual stream, f32
// One thread per 8 consecutive output elements. Dispatch: ceil(T·C / 8 / 64) workgroups, folded
// into x/y.

struct Step { rows: u32, pos0: u32 }

override C: u32;
override WORDS_PER_ROW: u32 = C / 8u;
const WORKGROUP_SIZE = 64u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> wte: array<MatrixWord>;
@group(0) @binding(3) var<storage, read> wpe: array<MatrixWord>;
@group(0) @binding(4) var<storage, read_write> x: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid;
  if (i >= step.rows * WORDS_PER_ROW) { return; }
  let t = i / WORDS_PER_ROW;
  let word = i % WORDS_PER_ROW;
  let token = matrixWordValues(wte[tokens[t] * WORDS_PER_ROW + word]);
  let position = matrixWordValues(wpe[(step.pos0 + t) * WORDS_PER_ROW + word]);
  x[2u * i] = token[0] + position[0];
  x[2u * i + 1u] = token[1] + position[1];
}
