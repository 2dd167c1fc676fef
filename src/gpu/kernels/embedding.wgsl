// Token + position embedding: x[t, c] = wte[tokens[t], c] + wpe[pos0 + t, c].
//
// step:   rows (T, tokens in this pass), pos0 (position of the first)
// tokens: (T) u32, already checked to be < vocab on the CPU
// wte:    (vocab, C)     wpe: (nCtx, C)
// x:      (T, C) out — the residual stream
// One thread per output element.

struct Step { rows: u32, pos0: u32 }

override C: u32;
const WORKGROUP_SIZE = 64u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> wte: array<f32>;
@group(0) @binding(3) var<storage, read> wpe: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid;
  if (i >= step.rows * C) { return; }
  let t = i / C;
  let c = i % C;
  x[i] = wte[tokens[t] * C + c] + wpe[(step.pos0 + t) * C + c];
}
