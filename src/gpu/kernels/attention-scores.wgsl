// Causal self-attention, step 1 of 2 (attention-output.wgsl, with the softmax, follows):
// each query's scaled dot product with every key it may see, from the KV cache.
//
//   scores[t, head, p] = q[t, head] · K[p, head] / sqrt(HEAD_SIZE)   for p ≤ pos0 + t
//
// step:    rows (T), pos0
// qkv:     (T, 3C) — this pass's Q in columns [0, C); head h uses columns [h·hs, (h+1)·hs)
// kCache:  (nCtx, C) — already holding this pass's keys
// scores:  (T, H, N_CTX) out; entries past a query's own position are left alone
// All read as vec4 (HEAD_SIZE is a multiple of 16). One thread per 4 consecutive positions of one
// (t, head), so each query vec4 is loaded once per 4 keys; no barriers, no workgroup memory:
// splitting attention into such kernels keeps every step parallel (a workgroup per query, with
// barriers for its softmax, ran 30× slower on a software adapter).
// Dispatch: (ceil((pos0 + T) / 4 / 64), T · H).

struct Step { rows: u32, pos0: u32 }

override C: u32;
override H: u32;
override N_CTX: u32;
override HEAD_SIZE: u32 = C / H;
override C4: u32 = C / 4u;
override HEAD4: u32 = HEAD_SIZE / 4u;
const WORKGROUP_SIZE = 64u;
const POSITIONS_PER_THREAD = 4u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kCache: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y / H;
  let head = wid.y % H;
  let visible = step.pos0 + t + 1u;
  let p0 = (wid.x * WORKGROUP_SIZE + lid) * POSITIONS_PER_THREAD;
  if (t >= step.rows || p0 >= visible) { return; }
  let query = t * 3u * C4 + head * HEAD4;
  // Past the last visible position, that one is read again and its score not stored.
  let last = visible - 1u;
  let key0 = p0 * C4 + head * HEAD4;
  let key1 = min(p0 + 1u, last) * C4 + head * HEAD4;
  let key2 = min(p0 + 2u, last) * C4 + head * HEAD4;
  let key3 = min(p0 + 3u, last) * C4 + head * HEAD4;
  var dots = vec4<f32>();
  for (var j = 0u; j < HEAD4; j++) {
    let q = qkv[query + j];
    dots += vec4<f32>(dot(q, kCache[key0 + j]), dot(q, kCache[key1 + j]), dot(q, kCache[key2 + j]), dot(q, kCache[key3 + j]));
  }
  dots *= inverseSqrt(f32(HEAD_SIZE));
  let row = (t * H + head) * N_CTX;
  for (var i = 0u; i < POSITIONS_PER_THREAD; i++) {
    if (p0 + i < visible) { scores[row + p0 + i] = dots[i]; }
  }
}
