// Causal self-attention, step 2 of 2: each query's softmax over its scores, and the
// probability-weighted sum of the values.
//
//   out[t, head] = sum_p exp(s_p - m) · V[p, head] / sum_p exp(s_p - m)   for p ≤ pos0 + t,
//   s_p = scores[t, head, p], m = max_p s_p (subtracted so exp cannot overflow)
//
// step:    rows (T), pos0
// scores:  (T, H, N_CTX) — from attention-scores.wgsl
// vCache:  (nCtx, C) — already holding this pass's values; head h uses columns [h·hs, (h+1)·hs)
// out:     (T, C) — the heads side by side, before c_proj
// V and out as vec4. One thread per 16 consecutive features of one (t, head) (HEAD_SIZE is a
// multiple of 16), so each score is loaded once per 4 vec4 of V. Each thread takes the max and
// the exponentials of its query's scores itself, HEAD_SIZE / 16 times over per query, instead of
// a softmax kernel writing probabilities: one dispatch fewer, measured as fast on SwiftShader.
// A decode step has only C / 16 threads (48 for GPT-2 124M): a software adapter runs each
// workgroup on one CPU core, so it gets workgroups of 8 (6 for 124M) to keep every core busy
// (measured there: 25% faster than one workgroup of 64 at contexts 128 and 512).
// Dispatch: ceil(T · C / 16 / WORKGROUP_SIZE) workgroups, folded into x/y.

struct Step { rows: u32, pos0: u32 }

override C: u32;
override H: u32;
override N_CTX: u32;
override WORKGROUP_SIZE: u32 = 64u;
override C4: u32 = C / 4u;
override BLOCKS_PER_ROW: u32 = C / 16u;
override BLOCKS_PER_HEAD: u32 = BLOCKS_PER_ROW / H;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
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

  var maxScore = -3.4e38;
  for (var p = 0u; p < visible; p++) { maxScore = max(maxScore, scores[row + p]); }
  var sum = 0.0;
  var a0 = vec4<f32>();
  var a1 = vec4<f32>();
  var a2 = vec4<f32>();
  var a3 = vec4<f32>();
  for (var p = 0u; p < visible; p++) {
    let weight = exp(scores[row + p] - maxScore);
    sum += weight;
    let value = p * C4 + block * 4u;
    a0 += weight * vCache[value];
    a1 += weight * vCache[value + 1u];
    a2 += weight * vCache[value + 2u];
    a3 += weight * vCache[value + 3u];
  }
  let inverseSum = 1.0 / sum;
  let o = t * C4 + block * 4u;
  out[o] = a0 * inverseSum;
  out[o + 1u] = a1 * inverseSum;
  out[o + 2u] = a2 * inverseSum;
  out[o + 3u] = a3 * inverseSum;
}
