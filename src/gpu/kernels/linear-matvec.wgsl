// Linear layer for one row at a time (decoding): matrix-vector products. Bindings, shapes and
// epilogue are in linear-common.wgsl, which is prepended. K must be a multiple of 4.
//
// One thread per output feature n walks its weight row with 16-byte vec4 loads and keeps four
// partial sums. There are no barriers and no workgroup memory: on software adapters
// (SwiftShader) a workgroup's fixed cost dominated a workgroup-per-output reduction ~10× over,
// and on GPUs consecutive rows are read by consecutive threads through the cache.
// Rows (usually one) are handled in turn. Dispatch: ceil(N / 64) workgroups, folded into x/y.

@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>;

const WORKGROUP_SIZE = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let n = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (n >= N) { return; }
  let k4 = K / 4u;
  let weightRow = n * k4;
  for (var row = 0u; row < step.rows; row++) {
    var sum = vec4<f32>();
    for (var k = 0u; k < k4; k++) {
      sum += input[row * k4 + k] * weight[weightRow + k];
    }
    storeOutput(row, n, sum.x + sum.y + sum.z + sum.w);
  }
}
