// Causal self-attention, step 3 of 3: each query's probability-weighted sum of the values.
//
//   out[t, head] = sum_p probs[t, head, p] · V[p, head]   for p ≤ pos0 + t
//
// step:    rows (T), pos0
// probs:   (T, H, N_CTX) — from attention-softmax.wgsl
// vCache:  (nCtx, C) — already holding this pass's values; head h uses columns [h·hs, (h+1)·hs)
// out:     (T, C) — the heads side by side, before c_proj
// V and out as vec4. One thread per 16 consecutive features of one (t, head) (HEAD_SIZE is a
// multiple of 16), so each probability is loaded once per 4 vec4 of V.
// Dispatch: ceil(T · C / 16 / 64) workgroups, folded into x/y.

struct Step { rows: u32, pos0: u32 }

override C: u32;
override H: u32;
override N_CTX: u32;
override C4: u32 = C / 4u;
override BLOCKS_PER_ROW: u32 = C / 16u;
override BLOCKS_PER_HEAD: u32 = BLOCKS_PER_ROW / H;
const WORKGROUP_SIZE = 64u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> vCache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid;
  if (i >= step.rows * BLOCKS_PER_ROW) { return; }
  let t = i / BLOCKS_PER_ROW;
  let block = i % BLOCKS_PER_ROW; // 16 features, within head block / BLOCKS_PER_HEAD
  let visible = step.pos0 + t + 1u;
  let row = (t * H + block / BLOCKS_PER_HEAD) * N_CTX;
  var a0 = vec4<f32>();
  var a1 = vec4<f32>();
  var a2 = vec4<f32>();
  var a3 = vec4<f32>();
  for (var p = 0u; p < visible; p++) {
    let weight = probs[row + p];
    let value = p * C4 + block * 4u;
    a0 += weight * vCache[value];
    a1 += weight * vCache[value + 1u];
    a2 += weight * vCache[value + 2u];
    a3 += weight * vCache[value + 3u];
  }
  let o = t * C4 + block * 4u;
  out[o] = a0;
  out[o + 1u] = a1;
  out[o + 2u] = a2;
  out[o + 3u] = a3;
}
