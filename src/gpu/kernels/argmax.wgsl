// Greedy decoding on the GPU: the index of the largest logit in each row, so only 4 bytes per
// row come back to the CPU. Ties go to the lowest index (as numpy's argmax); NaNs never win.
//
// step:    rows (R)
// logits:  (R, VOCAB)    result: (R) u32 out
// One workgroup per row.

struct Step { rows: u32, pos0: u32 }

override VOCAB: u32;
const WORKGROUP_SIZE = 256u;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<u32>;

var<workgroup> bestValue: array<f32, WORKGROUP_SIZE>;
var<workgroup> bestIndex: array<u32, WORKGROUP_SIZE>;

// Whether candidate (value a, index i) beats (value b, index j).
fn beats(a: f32, i: u32, b: f32, j: u32) -> bool {
  return a > b || (a == b && i < j);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  if (row >= step.rows) { return; }
  var value = -3.4e38;
  var index = 0xffffffffu;
  for (var v = lid; v < VOCAB; v += WORKGROUP_SIZE) {
    let logit = logits[row * VOCAB + v];
    if (beats(logit, v, value, index)) {
      value = logit;
      index = v;
    }
  }
  bestValue[lid] = value;
  bestIndex[lid] = index;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride && beats(bestValue[lid + stride], bestIndex[lid + stride], bestValue[lid], bestIndex[lid])) {
      bestValue[lid] = bestValue[lid + stride];
      bestIndex[lid] = bestIndex[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) { result[row] = bestIndex[0]; }
}
