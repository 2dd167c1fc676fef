// Causal self-attention, step 2 of 2: each query's softmax over its scores, and the
// probability-weighted sum of the values.
//
//   out[t, head] = sum_p exp(s_p - m) · V[p, head] / sum_p exp(s_p - m)   for p ≤ pos0 + t,
//   s_p = scores[t, head, p], m = max_p s_p (subtracted so exp cannot overflow)
//
// step:    rows (T), pos0
// scores:  (T, H, N_CTX) — from attention-scores.wgsl; entries past a query's position are stale
// vCache:  (nCtx, C) — already holding this pass's values; head h uses columns [h·hs, (h+1)·hs)
// out:     (T, C) — the heads side by side, before c_proj
// V and out as vec4. Each thread takes the max and the exponentials of its queries' scores
// itself, HEAD_SIZE / 16 times over per query, instead of a softmax kernel writing probabilities:
// one dispatch fewer, measured as fast on SwiftShader. Two entry points:
//   main: one thread per 16 consecutive features of one (t, head) (HEAD_SIZE is a multiple of
//     16), so each score is loaded once per 4 vec4 of V. A decode step has only C / 16 threads
//     (48 for GPT-2 124M): a software adapter runs each workgroup on one CPU core, so it gets
//     workgroups of 8 (6 for 124M) to keep every core busy (measured there: 25% faster than one
//     workgroup of 64 at contexts 128 and 512).
//     Dispatch: ceil(T · C / 16 / WORKGROUP_SIZE) workgroups, folded into x/y.
//   mainFourQueries (prompts): one thread per 16 features of one head for 4 consecutive queries,
//     so each vec4 of V serves 4 queries. The 4 see different numbers of positions: the loop
//     runs to the last one's, and a position past a query's own gets weight 0 (select, so a
//     stale score never reaches the sum). Queries past the last row are computed on the last
//     row again and not stored.
//     Dispatch: ceil(ceil(T / 4) · C / 16 / WORKGROUP_SIZE) workgroups, folded into x/y.

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

/** One query's running softmax-weighted sum of 16 features. */
struct Query {
  row: u32, // start of its scores
  visible: u32,
  maxScore: f32,
  sum: f32,
  a0: vec4<f32>,
  a1: vec4<f32>,
  a2: vec4<f32>,
  a3: vec4<f32>,
}

fn startQuery(t: u32, head: u32) -> Query {
  let row = (t * H + head) * N_CTX;
  let visible = step.pos0 + t + 1u;
  var maxScore = -3.4e38;
  for (var p = 0u; p < visible; p++) { maxScore = max(maxScore, scores[row + p]); }
  return Query(row, visible, maxScore, 0.0, vec4<f32>(), vec4<f32>(), vec4<f32>(), vec4<f32>());
}

fn addPosition(q: ptr<function, Query>, p: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) {
  let weight = select(0.0, exp(scores[(*q).row + p] - (*q).maxScore), p < (*q).visible);
  (*q).sum += weight;
  (*q).a0 += weight * v0;
  (*q).a1 += weight * v1;
  (*q).a2 += weight * v2;
  (*q).a3 += weight * v3;
}

fn storeQuery(q: Query, t: u32, block: u32) {
  if (t >= step.rows) { return; }
  let inverseSum = 1.0 / q.sum;
  let o = t * C4 + block * 4u;
  out[o] = q.a0 * inverseSum;
  out[o + 1u] = q.a1 * inverseSum;
  out[o + 2u] = q.a2 * inverseSum;
  out[o + 3u] = q.a3 * inverseSum;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid;
  if (i >= step.rows * BLOCKS_PER_ROW) { return; }
  let t = i / BLOCKS_PER_ROW;
  let block = i % BLOCKS_PER_ROW; // 16 features, within head block / BLOCKS_PER_HEAD
  var q = startQuery(t, block / BLOCKS_PER_HEAD);
  for (var p = 0u; p < q.visible; p++) {
    let value = p * C4 + block * 4u;
    addPosition(&q, p, vCache[value], vCache[value + 1u], vCache[value + 2u], vCache[value + 3u]);
  }
  storeQuery(q, t, block);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn mainFourQueries(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid;
  let t0 = (i / BLOCKS_PER_ROW) * 4u;
  if (t0 >= step.rows) { return; }
  let block = i % BLOCKS_PER_ROW; // 16 features, within head block / BLOCKS_PER_HEAD
  let head = block / BLOCKS_PER_HEAD;
  let lastRow = step.rows - 1u;
  var q0 = startQuery(t0, head);
  var q1 = startQuery(min(t0 + 1u, lastRow), head);
  var q2 = startQuery(min(t0 + 2u, lastRow), head);
  var q3 = startQuery(min(t0 + 3u, lastRow), head);
  for (var p = 0u; p < q3.visible; p++) {
    let value = p * C4 + block * 4u;
    let v0 = vCache[value];
    let v1 = vCache[value + 1u];
    let v2 = vCache[value + 2u];
    let v3 = vCache[value + 3u];
    addPosition(&q0, p, v0, v1, v2, v3);
    addPosition(&q1, p, v0, v1, v2, v3);
    addPosition(&q2, p, v0, v1, v2, v3);
    addPosition(&q3, p, v0, v1, v2, v3);
  }
  storeQuery(q0, t0, block);
  storeQuery(q1, t0 + 1u, block);
  storeQuery(q2, t0 + 2u, block);
  storeQuery(q3, t0 + 3u, block);
}
