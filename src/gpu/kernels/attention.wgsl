// Causal multi-head self-attention over the KV cache, for this pass's queries.
//
//   out[t, head] = softmax(q[t, head] · K[0..p, head]ᵀ / sqrt(HEAD_SIZE)) · V[0..p, head]
//   where p = pos0 + t: query t sees every cached position up to and including its own.
//
// step:    rows (T), pos0
// qkv:     (T, 3C) — this pass's Q in columns [0, C); head h uses columns [h·hs, (h+1)·hs)
// kCache:  (nCtx, C)    vCache: (nCtx, C) — already holding this pass's keys and values
// out:     (T, C)
// One workgroup per (t, head): dispatch (T, H). Scores for all p live in workgroup memory
// (nCtx floats: 4 KiB at GPT-2's 1024), so any context length up to nCtx is handled exactly.

struct Step { rows: u32, pos0: u32 }

override C: u32;
override H: u32;
override N_CTX: u32;
override HEAD_SIZE: u32 = C / H;
const WORKGROUP_SIZE = 64u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> kCache: array<f32>;
@group(0) @binding(3) var<storage, read> vCache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> query: array<f32, HEAD_SIZE>;
var<workgroup> scores: array<f32, N_CTX>;
var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

fn workgroupReduce(value: f32, lid: u32, isMax: bool) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      let other = partial[lid + stride];
      partial[lid] = select(partial[lid] + other, max(partial[lid], other), isMax);
    }
    workgroupBarrier();
  }
  let result = partial[0];
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let head = wid.y;
  if (t >= step.rows) { return; }
  let visible = step.pos0 + t + 1u;
  let headOffset = head * HEAD_SIZE;
  let scale = 1.0 / sqrt(f32(HEAD_SIZE));

  for (var j = lid; j < HEAD_SIZE; j += WORKGROUP_SIZE) {
    query[j] = qkv[t * 3u * C + headOffset + j] * scale;
  }
  workgroupBarrier();

  var localMax = -3.4e38;
  for (var p = lid; p < visible; p += WORKGROUP_SIZE) {
    var score = 0.0;
    for (var j = 0u; j < HEAD_SIZE; j++) { score += query[j] * kCache[p * C + headOffset + j]; }
    scores[p] = score;
    localMax = max(localMax, score);
  }
  let maxScore = workgroupReduce(localMax, lid, true);

  var localSum = 0.0;
  for (var p = lid; p < visible; p += WORKGROUP_SIZE) {
    let weight = exp(scores[p] - maxScore);
    scores[p] = weight;
    localSum += weight;
  }
  let inverseSum = 1.0 / workgroupReduce(localSum, lid, false);

  for (var j = lid; j < HEAD_SIZE; j += WORKGROUP_SIZE) {
    var acc = 0.0;
    for (var p = 0u; p < visible; p++) { acc += scores[p] * vCache[p * C + headOffset + j]; }
    out[t * C + headOffset + j] = acc * inverseSum;
  }
}
