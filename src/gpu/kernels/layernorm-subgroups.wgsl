// LayerNorm over the feature axis, eps 1e-5, biased variance (as PyTorch), on devices with
// subgroups; layernorm.wgsl is the same for devices without them:
//   out[t, :] = (x[t, :] - mean) / sqrt(var + 1e-5) * weight + bias
//
// step:   rows (T)
// x:      (T, C)    weight, bias: (C)    out: (T, C) — all read as vec4; C is a multiple of 4
// One subgroup per row, its lanes striding over the row; subgroupAdd gives the totals, so there
// are no barriers, which a software adapter pays for with a switch between every invocation of
// the workgroup (the workgroup-reduction version took 120 ms for 128 rows on SwiftShader). The
// variance is taken around the mean in a second pass rather than as E[x²] - mean², which loses
// digits when the residual stream grows large. A workgroup covers ROWS_PER_WORKGROUP rows, which
// its subgroups take in turn, so the dispatch does not depend on the subgroup size (set it to the
// number of subgroups a workgroup holds). Subgroups are taken to be consecutive invocations.
// Dispatch: ceil(T / ROWS_PER_WORKGROUP) workgroups, folded into x/y.

enable subgroups;
// Every lane of a subgroup takes the same rows and reaches each subgroupAdd; the analysis cannot
// see that through the lane-strided loops.
diagnostic(off, subgroup_uniformity);

struct Step { rows: u32, pos0: u32 }

override C: u32;
override C4: u32 = C / 4u;
override ROWS_PER_WORKGROUP: u32 = 2u;
const WORKGROUP_SIZE = 64u;
const EPS = 1e-5;

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;

fn total(v: vec4<f32>) -> f32 {
  return v.x + v.y + v.z + v.w;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
  let workgroup = wid.x + wid.y * groups.x;
  for (var slot = lid / subgroupSize; slot < ROWS_PER_WORKGROUP; slot += WORKGROUP_SIZE / subgroupSize) {
    let row = workgroup * ROWS_PER_WORKGROUP + slot;
    if (row >= step.rows) { return; }
    let base = row * C4;

    var sum = vec4<f32>();
    for (var c = lane; c < C4; c += subgroupSize) { sum += x[base + c]; }
    let mean = subgroupAdd(total(sum)) / f32(C);

    var squares = vec4<f32>();
    for (var c = lane; c < C4; c += subgroupSize) {
      let d = x[base + c] - mean;
      squares += d * d;
    }
    let rstd = inverseSqrt(subgroupAdd(total(squares)) / f32(C) + EPS);

    for (var c = lane; c < C4; c += subgroupSize) {
      out[base + c] = (x[base + c] - mean) * rstd * weight[c] + bias[c];
    }
  }
}
