// Causal self-attention, step 1 of 2 (attention-output.wgsl, with the softmax, follows):
// each query's scaled dot product with every key it may see, from the KV cache.
//
//   scores[t, head, p] = q[t, head] · K[p, head] / sqrt(HEAD_SIZE)   for p ≤ pos0 + t
//
// step:    rows (T), pos0
// qkv:     (T, 3C) — this pass's Q in columns [0, C); head h uses columns [h·hs, (h+1)·hs)
// kCache:  (nCtx, C) — already holding this pass's keys
// scores:  (T, H, N_CTX) out; entries past a query's own position are left alone
// All read as vec4 (HEAD_SIZE is a multiple of 16); no barriers, no workgroup memory: splitting
// attention into such kernels keeps every step parallel (a workgroup per query, with barriers for
// its softmax, ran 30× slower on a software adapter). Two entry points:
//   main: one thread per 4 consecutive positions of one (t, head), so each query vec4 is loaded
//     once per 4 keys. Dispatch: (ceil((pos0 + T) / 4 / 64), T · H).
//   mainFourQueries (prompts): one thread per 4 consecutive queries × 4 consecutive positions of
//     one head, so each query vec4 and key vec4 serves 4 dot products (a software adapter pays
//     for every load as a gather). Queries past the last row and positions past the last one
//     the 4 queries see are read again (clamped) and not stored.
//     Dispatch: (ceil((pos0 + T) / 4 / 64), ceil(T / 4) · H).

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

/** Where query t's features of `head` start in qkv. */
fn queryStart(t: u32, head: u32) -> u32 {
  return t * 3u * C4 + head * HEAD4;
}

/** Where the key features of `head` start in kCache for positions p0..p0+3; past `last`, last's. */
fn keyStarts(p0: u32, last: u32, head: u32) -> vec4<u32> {
  return min(p0 + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * C4 + head * HEAD4;
}

fn dotWithKeys(q: vec4<f32>, k0: vec4<f32>, k1: vec4<f32>, k2: vec4<f32>, k3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(q, k0), dot(q, k1), dot(q, k2), dot(q, k3));
}

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
  let t = wid.y / H;
  let head = wid.y % H;
  let visible = step.pos0 + t + 1u;
  let p0 = (wid.x * WORKGROUP_SIZE + lid) * 4u;
  if (t >= step.rows || p0 >= visible) { return; }
  let query = queryStart(t, head);
  let keys = keyStarts(p0, visible - 1u, head);
  var dots = vec4<f32>();
  for (var j = 0u; j < HEAD4; j++) {
    dots += dotWithKeys(qkv[query + j], kCache[keys.x + j], kCache[keys.y + j], kCache[keys.z + j], kCache[keys.w + j]);
  }
  storeScores(t, head, p0, dots);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn mainFourQueries(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t0 = (wid.y / H) * 4u;
  let head = wid.y % H;
  let lastQuery = min(t0 + 3u, step.rows - 1u);
  let visible = step.pos0 + lastQuery + 1u; // positions the block's last query sees
  let p0 = (wid.x * WORKGROUP_SIZE + lid) * 4u;
  if (t0 >= step.rows || p0 >= visible) { return; }
  let query0 = queryStart(t0, head);
  let query1 = queryStart(min(t0 + 1u, lastQuery), head);
  let query2 = queryStart(min(t0 + 2u, lastQuery), head);
  let query3 = queryStart(lastQuery, head);
  let keys = keyStarts(p0, visible - 1u, head);
  var dots0 = vec4<f32>();
  var dots1 = vec4<f32>();
  var dots2 = vec4<f32>();
  var dots3 = vec4<f32>();
  for (var j = 0u; j < HEAD4; j++) {
    let k0 = kCache[keys.x + j];
    let k1 = kCache[keys.y + j];
    let k2 = kCache[keys.z + j];
    let k3 = kCache[keys.w + j];
    dots0 += dotWithKeys(qkv[query0 + j], k0, k1, k2, k3);
    dots1 += dotWithKeys(qkv[query1 + j], k0, k1, k2, k3);
    dots2 += dotWithKeys(qkv[query2 + j], k0, k1, k2, k3);
    dots3 += dotWithKeys(qkv[query3 + j], k0, k1, k2, k3);
  }
  storeScores(t0, head, p0, dots0);
  storeScores(t0 + 1u, head, p0, dots1);
  storeScores(t0 + 2u, head, p0, dots2);
  storeScores(t0 + 3u, head, p0, dots3);
}
