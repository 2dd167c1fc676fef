// The device's own read bandwidth, for the benchmark to hold decoding against: reads a large
// buffer exactly once and sums it. Decoding a token likewise reads every weight once, so this
// kernel's bytes per second is the speed limit for the matrix-vector kernels.
//
// data:     (W) vec4<f32>, W = arrayLength(data)
// partials: (T) f32 out — the sum of what thread t read, T = 64 × the workgroups dispatched
// Grid-stride loop of 16-byte loads: at each step consecutive threads read consecutive words
// (coalesced on GPUs). The first level of the reduction only: each thread writes its own sum, so
// no compiler may skip the reads, and there are no barriers, which a software adapter would pay
// for with a switch between every invocation of the workgroup (measured 4× slower there).
// Dispatch: any number of workgroups, folded into x/y.

const WORKGROUP_SIZE = 64u;

@group(0) @binding(0) var<storage, read> data: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let thread = (wid.x + wid.y * groups.x) * WORKGROUP_SIZE + lid;
  let stride = groups.x * groups.y * WORKGROUP_SIZE;
  let words = arrayLength(&data);
  var sum = vec4<f32>();
  for (var i = thread; i < words; i += stride) {
    sum += data[i];
  }
  partials[thread] = sum.x + sum.y + sum.z + sum.w;
}
