// Causal self-attention, step 1 of 2, for many queries at once (prompt processing): the scores of
// attention-scores.wgsl, with each thread computing 4 consecutive queries × 4 consecutive
// positions of one head, so that each query vec4 and each key vec4 it loads serves 4 dot
// products instead of 1 and 4 (a software adapter pays for every load as a gather).
//
//   scores[t, head, p] = q[t, head] · K[p, head] / sqrt(HEAD_SIZE)   for p ≤ pos0 + t
//
// step:    rows (T), pos0
// qkv:     (T, 3C) — this pass's Q in columns [0, C); head h uses columns [h·hs, (h+1)·hs)
// kCache:  (nCtx, C) — already holding this pass's keys
// scores:  (T, H, N_CTX) out; entries past a query's own position are left alone
// Queries past the last row and positions past the last one any of the 4 queries sees are read
// again (clamped) and not stored.
// Dispatch: (ceil((pos0 + T) / 4 / 64), ceil(T / 4) · H).

struct Step { rows: u32, pos0: u32 }

override C: u32;
override H: u32;
override N_CTX: u32;
override HEAD_SIZE: u32 = C / H;
override C4: u32 = C / 4u;
override HEAD4: u32 = HEAD_SIZE / 4u;
const WORKGROUP_SIZE = 64u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kCache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

/** Stores query t's scores for positions p0..p0+3 that it may see. */
fn storeScores(t: u32, head: u32, p0: u32, dots: vec4<f32>) {
  if (t >= step.rows) { return; }
  let row = (t * H + head) * N_CTX;
  let scaled = dots * inverseSqrt(f32(HEAD_SIZE));
  for (var i = 0u; i < 4u; i++) {
    if (p0 + i <= step.pos0 + t) { scores[row + p0 + i] = scaled[i]; }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t0 = (wid.y / H) * 4u;
  let head = wid.y % H;
  let lastQuery = min(t0 + 3u, step.rows - 1u);
  let visible = step.pos0 + lastQuery + 1u; // positions the block's last query sees
  let p0 = (wid.x * WORKGROUP_SIZE + lid) * 4u;
  if (t0 >= step.rows || p0 >= visible) { return; }
  let query0 = t0 * 3u * C4 + head * HEAD4;
  let query1 = min(t0 + 1u, lastQuery) * 3u * C4 + head * HEAD4;
  let query2 = min(t0 + 2u, lastQuery) * 3u * C4 + head * HEAD4;
  let query3 = lastQuery * 3u * C4 + head * HEAD4;
  let last = visible - 1u;
  let key0 = p0 * C4 + head * HEAD4;
  let key1 = min(p0 + 1u, last) * C4 + head * HEAD4;
  let key2 = min(p0 + 2u, last) * C4 + head * HEAD4;
  let key3 = min(p0 + 3u, last) * C4 + head * HEAD4;
  // dots_i[j]: query i with key j.
  var dots0 = vec4<f32>();
  var dots1 = vec4<f32>();
  var dots2 = vec4<f32>();
  var dots3 = vec4<f32>();
  for (var j = 0u; j < HEAD4; j++) {
    let k0 = kCache[key0 + j];
    let k1 = kCache[key1 + j];
    let k2 = kCache[key2 + j];
    let k3 = kCache[key3 + j];
    let q0 = qkv[query0 + j];
    dots0 += vec4<f32>(dot(q0, k0), dot(q0, k1), dot(q0, k2), dot(q0, k3));
    let q1 = qkv[query1 + j];
    dots1 += vec4<f32>(dot(q1, k0), dot(q1, k1), dot(q1, k2), dot(q1, k3));
    let q2 = qkv[query2 + j];
    dots2 += vec4<f32>(dot(q2, k0), dot(q2, k1), dot(q2, k2), dot(q2, k3));
    let q3 = qkv[query3 + j];
    dots3 += vec4<f32>(dot(q3, k0), dot(q3, k1), dot(q3, k2), dot(q3, k3));
  }
  storeScores(t0, head, p0, dots0);
  storeScores(t0 + 1u, head, p0, dots1);
  storeScores(t0 + 2u, head, p0, dots2);
  storeScores(t0 + 3u, head, p0, dots3);
}
