// LayerNorm over the feature axis, eps 1e-5, biased variance (as PyTorch):
//   out[t, :] = (x[t, :] - mean) / sqrt(var + 1e-5) * weight + bias
//
// step:   rows (T)
// x:      (T, C)    weight, bias: (C)    out: (T, C)
// One workgroup per row. The variance is taken around the mean in a second pass rather than as
// E[x²] - mean², which loses digits when the residual stream grows large.

struct Step { rows: u32, pos0: u32 }

override C: u32;
const WORKGROUP_SIZE = 256u;
const EPS = 1e-5;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

fn workgroupSum(value: f32, lid: u32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  if (row >= step.rows) { return; }
  let base = row * C;

  var sum = 0.0;
  for (var c = lid; c < C; c += WORKGROUP_SIZE) { sum += x[base + c]; }
  let mean = workgroupSum(sum, lid) / f32(C);

  var squares = 0.0;
  for (var c = lid; c < C; c += WORKGROUP_SIZE) {
    let d = x[base + c] - mean;
    squares += d * d;
  }
  let rstd = inverseSqrt(workgroupSum(squares, lid) / f32(C) + EPS);

  for (var c = lid; c < C; c += WORKGROUP_SIZE) {
    out[base + c] = (x[base + c] - mean) * rstd * weight[c] + bias[c];
  }
}
